"""Bad input, bad outputs, bad databases: a one-line error naming what and where, a documented
exit code, and nothing already stored lost. Each case here failed before (issue #16)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from stancetrack.cli import main
from tests.conftest import FIXTURES, REPO, article_md, write

EXE = [sys.executable, "-m", "stancetrack"]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def rows(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def unprivileged(command: list[str]) -> list[str]:
    """Run as this user would without root's power to ignore file permissions."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]


# ---------------------------------------------------------------- records


def test_one_bad_record_never_costs_the_good_ones(capsys, tmp_path: Path) -> None:
    """The records that each used to abort the whole ingest with 'unexpected ...'."""
    feed = write(
        tmp_path / "in/t.jsonl",
        "\n".join(
            [
                '{"date":"9999-12-31","text":"x"}',
                '{"date":"2023-01-05","text":"good one"}',
                '{"date":"0001-01-01","text":"ancient"}',
                '{"date":"2023-01-05","text":"\\ud800 lone"}',
                "[" * 100_000 + "]" * 100_000,
                '{"date":"2023-01-05garbage","text":"g"}',
                '{"date":"2023-01-05T25:00:00","text":"h"}',
                '{"date":"2023-01-06","text":{"nested":"object"}}',
                '{"date":"2023-01-06","text":"good two"}',
            ]
        )
        + "\n",
    )
    bad_name = tmp_path / "in" / os.fsdecode(b"caf\xe9-\xff.md")
    write(bad_name, article_md("Name", "2023-01-07", "A file whose name is not UTF-8."))
    bomb = "\n".join(
        ["---", "date: 2023-01-08", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}" + f",*{chr(97 + i)}" * 8 + "]"
            for i in range(9)
        ]
        + ["title: *j", "---", "Body."]
    )
    write(tmp_path / "in/bomb.md", bomb)
    code, out, err = cli(capsys, "--db", str(tmp_path / "d.db"), "ingest", str(tmp_path / "in"))
    assert code == 1 and "articles added 3" in out
    texts = {t for (t,) in rows(tmp_path / "d.db", "SELECT text FROM articles")}
    assert texts == {"good one", "good two", "A file whose name is not UTF-8."}
    reasons = dict(rows(tmp_path / "d.db", "SELECT location, reason FROM rejected_inputs"))
    assert reasons == {
        f"{feed}:1": "publication date 9999-12-31 is in the future",
        f"{feed}:3": "publication date 0001-01-01 is before 1990",
        f"{feed}:4": "text holds an unpaired surrogate (\\ud800 at character 0): not valid Unicode",
        f"{feed}:5": "malformed JSON (nested too deeply at column 1)",
        f"{feed}:6": "unreadable publication date '2023-01-05garbage' (use YYYY-MM-DD or an "
        "ISO 8601 timestamp)",
        f"{feed}:7": "unreadable publication date '2023-01-05T25:00:00' (hour must be in 0..23)",
        f"{feed}:8": "text must be a string, not an object",
        f"{tmp_path}/in/bomb.md": "malformed front matter (YAML aliases are not allowed (line 4))",
    }
    assert len(err.strip().splitlines()) == len(reasons)
    assert all(line.startswith("Error: ") for line in err.strip().splitlines())


def test_time_zones_are_kept_and_the_timeline_date_is_utc(capsys, tmp_path: Path) -> None:
    write(
        tmp_path / "t.jsonl",
        '{"date": "2023-01-24T21:30:00-05:00", "text": "Evening in Washington."}\n'
        '{"date": "2023-01-25", "text": "A bare date."}\n'
        '{"date": "Tue, 24 Jan 2023 23:10:00 +0100", "text": "An RFC 2822 date."}\n',
    )
    code, _, _ = cli(capsys, "--db", str(tmp_path / "d.db"), "ingest", str(tmp_path / "t.jsonl"))
    assert code == 0
    assert rows(
        tmp_path / "d.db", "SELECT published_at, published_time FROM articles ORDER BY id"
    ) == [
        ("2023-01-25", "2023-01-24T21:30:00-05:00"),
        ("2023-01-25", None),
        ("2023-01-24", "2023-01-24T23:10:00+01:00"),
    ]


def test_limits_and_strange_files(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder / "good.md", article_md("Good", "2024-01-01", "Seoul said no."))
    with (folder / "huge.md").open("wb") as handle:  # 50 MB, sparse: rejected by its size
        handle.truncate(50 * 2**20)
    long_line = json.dumps({"date": "2024-01-02", "text": "word " * 2_200_000})
    write(folder / "long.jsonl", long_line + "\n" + '{"date": "2024-01-03", "text": "after"}\n')
    write(folder / "big-article.json", json.dumps({"date": "2024-01-04", "text": "w " * 300_000}))
    with gzip.open(folder / "packed.jsonl.gz", "wt") as handle:
        handle.write('{"date": "2024-01-05", "text": "from a gzip file"}\n')
    write(folder / "README", "no suffix")
    write(folder / ".hidden.md", article_md("Hidden", "2024-01-06", "Not read."))
    (folder / "dangling.md").symlink_to(folder / "gone.md")
    os.mkfifo(folder / "pipe.md")
    code, out, err = cli(capsys, "--db", str(tmp_path / "d.db"), "ingest", str(folder), "/dev/zero")
    assert code == 1
    assert "articles added 3" in out and "files skipped 2" in out
    reasons = dict(rows(tmp_path / "d.db", "SELECT location, reason FROM rejected_inputs"))
    assert reasons == {
        f"{folder}/big-article.json": "article text is 600,000 characters, over the limit of "
        "500,000",
        f"{folder}/dangling.md": "broken symbolic link",
        f"{folder}/huge.md": "file is 50.0 MB, over the 20 MB limit for one input file",
        f"{folder}/long.jsonl:1": "line longer than 10 MB (one record)",
        f"{folder}/pipe.md": "not a regular file (a FIFO)",
        "/dev/zero": "not a regular file (a character device)",
    }
    assert "skipped 2 files that are not articles" in err


def test_an_unreadable_folder_is_reported_and_the_rest_stored(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder / "a/good.md", article_md("Good", "2024-01-01", "Seoul said no."))
    write(folder / "b/secret.md", article_md("Secret", "2024-01-02", "Hidden away."))
    (folder / "b").chmod(0)
    try:
        done = subprocess.run(
            unprivileged([*EXE, "--db", str(tmp_path / "d.db"), "ingest", str(folder)]),
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    finally:
        (folder / "b").chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == f"Error: {folder}/b: cannot read folder (Permission denied)"
    assert rows(tmp_path / "d.db", "SELECT title FROM articles") == [("Good",)]


# ---------------------------------------------------------------- outputs


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "missing/report.md",
            "cannot write report to missing/report.md: folder missing does not exist",
        ),
        ("somefolder", None),
    ],
)
def test_report_target_is_checked_before_any_work(
    capsys, tmp_path: Path, target: str, message: str | None
) -> None:
    (tmp_path / "somefolder").mkdir()
    if target == "somefolder":
        target, message = "somefolder.md", None
        (tmp_path / "somefolder.md").mkdir()
        message = "cannot write report to somefolder.md: it is a folder"
    code, out, err = cli(
        capsys,
        "--db",
        "d.db",
        "--config",
        str(FIXTURES / "watchlist.toml"),
        "run",
        str(FIXTURES / "articles/leopard"),
        "--report",
        target,
    )
    assert (code, err.strip()) == (1, f"Error: {message}")
    assert not (tmp_path / "d.db").exists()  # nothing was done


def test_a_bad_report_suffix_is_a_usage_error_before_any_work(capsys, tmp_path: Path) -> None:
    code, _, err = cli(
        capsys,
        "--config",
        str(FIXTURES / "watchlist.toml"),
        "run",
        str(FIXTURES / "articles/leopard"),
        "--report",
        "x.txt",
        "--fail-on-shift",
    )
    assert code == 2 and "report file must end in .md, .json, .csv or .html: x.txt" in err
    assert not (tmp_path / "stancetrack.db").exists()


@pytest.mark.e2e
def test_an_undelivered_alert_is_reported_again(capsys, tmp_path: Path) -> None:
    """A report that could not be written (here: a full disk) leaves its shifts 'new' for the
    next run, which reports them and exits 3 again; only a delivered report clears them.
    Uses the packaged `fast` model: shifts need a model that reads stances."""
    base = ["--db", "d.db", "--config", str(FIXTURES / "watchlist.toml"), "--model", "fast"]
    articles = str(FIXTURES / "articles")
    (tmp_path / "full.md").symlink_to("/dev/full")  # a disk that fills up as the report is written
    code, _, err = cli(capsys, *base, "run", articles, "--report", "full.md", "--fail-on-shift")
    assert (code, err.strip()) == (
        1,
        "Error: cannot write report to full.md: No space left on device",
    )
    code, _, err = cli(capsys, "report", "--format", "json", "--output", "/dev/full")
    assert (code, err.strip()) == (
        1,
        "Error: cannot write report to /dev/full: No space left on device",
    )
    code, _, _ = cli(capsys, *base, "run", articles, "--report", "r.json", "--fail-on-shift")
    report = json.loads((tmp_path / "r.json").read_text())
    assert code == 3 and report["changes_since_previous_run"]["new"]
    assert report["changes_since_previous_run"]["after_run_id"] == 0
    code, _, _ = cli(capsys, *base, "run", articles, "--report", "r2.json", "--fail-on-shift")
    again = json.loads((tmp_path / "r2.json").read_text())
    assert code == 0 and not again["changes_since_previous_run"]["new"]
    assert again["changes_since_previous_run"]["after_run_id"] == 2


# ---------------------------------------------------------------- databases


def test_not_a_database_and_a_newer_schema(capsys, tmp_path: Path) -> None:
    write(tmp_path / "notes.db", "these are my notes, not a database\n")
    code, _, err = cli(capsys, "--db", "notes.db", "status")
    assert (code, err.strip()) == (1, "Error: not an SQLite database: notes.db")
    code, _, _ = cli(capsys, "--db", "new.db", "db", "upgrade")
    with sqlite3.connect(tmp_path / "new.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0999'")
    code, _, err = cli(capsys, "--db", "new.db", "status")
    assert code == 1
    assert err.strip().startswith(
        "Error: new.db has schema revision 0999, newer than this stancetrack knows (up to "
    ) and err.strip().endswith("): upgrade stancetrack")


def test_a_read_only_database_can_be_reported_on(tmp_path: Path, tiny_stance_model) -> None:
    db = tmp_path / "ro/d.db"
    db.parent.mkdir()
    base = [*EXE, "--db", str(db), "--config", str(FIXTURES / "watchlist.toml")]
    subprocess.run(
        [
            *base,
            "--model",
            str(tiny_stance_model),
            "run",
            str(FIXTURES / "articles/leopard"),
            "--report",
            str(tmp_path / "first.md"),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    subprocess.run(  # fold the WAL into the file, as a copy handed to an analyst would be
        ["sqlite3", str(db), "PRAGMA wal_checkpoint(TRUNCATE);"], capture_output=True
    ) if shutil.which("sqlite3") else sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        report = subprocess.run(
            unprivileged([*base, "report", "--format", "json"]),
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        write_attempt = subprocess.run(
            unprivileged([*base, "ingest", str(FIXTURES / "articles/sweden-nato")]),
            capture_output=True,
            text=True,
            cwd=REPO,
        )
    finally:
        db.parent.chmod(0o755)
        db.chmod(0o644)
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["counts"]["articles_total"] == 15
    assert write_attempt.returncode == 1
    assert write_attempt.stderr.strip() == f"Error: database is read-only: {db}"


# ---------------------------------------------------------------- the Markdown report


def test_markdown_escapes_everything_taken_from_articles(
    capsys, tmp_path: Path, tiny_stance_model
) -> None:
    from stancetrack.report import md_link, md_text

    assert md_text("a | b\nc <script>x</script> [y](z) *w*") == (
        "a \\| b c &lt;script>x&lt;/script> \\[y\\](z) \\*w\\*"
    )
    assert md_link("javascript:alert(1)") == " (javascript:alert(1))"
    assert md_link("https://x.example.com/a?b=1") == " <https://x.example.com/a?b=1>"
    hostile = (
        "Seoul said it would not send lethal weapons | <img src=x onerror=alert(1)>\n"
        "| forged | table | row |"
    )
    write(
        tmp_path / "in/x.md",
        article_md("T", "2024-01-01", hostile, source="<b>Wire</b>", url="javascript:alert(1)"),
    )
    base = ["--config", str(FIXTURES / "watchlist.toml"), "--model", str(tiny_stance_model)]
    cli(capsys, *base, "run", str(tmp_path / "in"), "--report", "r.md")
    markdown = (tmp_path / "r.md").read_text()
    assert "<img" not in markdown and "<b>" not in markdown and "](javascript" not in markdown
    assert "\n| forged" not in markdown
