import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stancetrack import store
from stancetrack.cli import app, main
from tests.conftest import FIXTURES, article_md, write

runner = CliRunner()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the real entry point (with its error handling) and capture what it prints."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_every_command_has_help() -> None:
    import typer.main

    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        for sub_name, sub in (subcommands or {name: command}).items():
            assert sub.help and "Example:" in sub.help, f"{sub_name} lacks help with an example"
            names.append(sub_name)
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, result.output
    assert {"run", "report", "ingest", "analyze", "evaluate", "timeline", "upgrade"} <= set(names)


def test_help_does_not_import_torch() -> None:
    """Nor the web stack: page extraction, feeds, HTTP and language detection load on use."""
    heavy = (
        "torch",
        "transformers",
        "matplotlib",
        "trafilatura",
        "htmldate",
        "feedparser",
        "httpx",
        "py3langid",
        "lxml",
    )
    code = (
        "import sys\nfrom stancetrack.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


def test_missing_date_is_reported_with_file_and_exit_1(capsys, tmp_path: Path) -> None:
    bad = write(tmp_path / "in/nodate.md", "---\ntitle: x\n---\nSeoul said no.\n")
    write(tmp_path / "in/good.md", article_md("Good", "2024-01-01", "Seoul said no."))
    code, out, err = cli(capsys, "ingest", str(tmp_path / "in"))
    assert code == 1
    assert err.strip() == (
        f"Error: {bad}: missing publication date (set 'date: YYYY-MM-DD' in the front matter)"
    )
    assert "articles added 1" in out


def test_malformed_json_line_and_non_utf8(capsys, tmp_path: Path) -> None:
    feed = write(tmp_path / "feed.jsonl", '{"text": "ok", "date": "2024-01-01"}\n{"text": oops}\n')
    latin = write(tmp_path / "latin.txt", b"---\ndate: 2024-01-01\n---\nCaf\xe9\n")
    code, _, err = cli(capsys, "ingest", str(feed), str(latin))
    assert code == 1
    assert err.splitlines() == [
        f"Error: {feed}:2: malformed JSON (Expecting value at column 10)",
        f"Error: {latin}: not UTF-8 text (invalid continuation byte at byte 28)",
    ]


def test_strict_and_missing_path(capsys, tmp_path: Path) -> None:
    write(tmp_path / "x.json", "[1]")
    code, _, err = cli(capsys, "ingest", "--strict", str(tmp_path / "x.json"))
    assert (code, err.strip()) == (
        1,
        f"Error: {tmp_path / 'x.json'}[record 1]: a record must be a JSON object "
        "(--strict: nothing was ingested)",
    )
    code, _, err = cli(capsys, "ingest", "missing-folder")
    assert (code, err.strip()) == (1, "Error: missing-folder: no such file or directory")


def test_unknown_actor_in_track(capsys, tmp_path: Path) -> None:
    text = (
        (FIXTURES / "watchlist.toml").read_text().replace('actor = "hungary"', 'actor = "hungry"')
    )
    config = write(tmp_path / "broken.toml", text)
    line = text.splitlines().index('actor = "hungry"') + 1
    code, _, err = cli(capsys, "--config", str(config), "analyze")
    assert code == 1
    assert err.strip() == (
        f"Error: {config}:{line}: tracks[5]: unknown actor 'hungry' "
        "(known: germany, hungary, poland, south-korea, turkey)"
    )


def test_bad_option_exits_2(capsys) -> None:
    code, _, err = cli(capsys, "report", "--since", "2024-13-01")
    assert code == 2 and "not a date (YYYY-MM-DD): 2024-13-01" in err


def test_init_and_db_commands(capsys, tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "init")
    assert code == 0 and "wrote a starter watchlist" in out
    assert (tmp_path / "stancetrack.toml").exists() and (tmp_path / "stancetrack.db").exists()
    code, out, _ = cli(capsys, "db", "current")
    head = store.head_revision()
    assert code == 0 and out.startswith(f"current {head}, head {head}")


def test_init_checks_an_existing_watchlist(capsys, tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "--config", str(FIXTURES / "watchlist.toml"), "init")
    assert code == 0 and "watchlist already exists" in out and "5 actors" in out
    broken = tmp_path / "broken.toml"
    broken.write_text('[actors.x\nname = "X"\n', encoding="utf-8")
    code, out, err = cli(capsys, "--config", str(broken), "init")
    assert code == 1 and "database ready" in out
    assert err.strip().startswith(f"Error: {broken}: invalid TOML") and len(err.splitlines()) == 1


def test_run_report_timeline_with_a_tiny_model(
    capsys, tmp_path: Path, tiny_stance_model: Path
) -> None:
    base = ["--config", str(FIXTURES / "watchlist.toml"), "--model", str(tiny_stance_model)]
    code, out, err = cli(capsys, *base, "run", str(FIXTURES / "articles"), "--report", "r.json")
    assert code == 0, err
    assert "articles added 44" in out and "wire copies 1" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "stancetrack.report/1"
    assert report["counts"]["articles_total"] == 44
    assert {t["actor"] for t in report["tracks"]} == {
        "south-korea",
        "germany",
        "poland",
        "turkey",
        "hungary",
    }
    # A second run over the same input classifies nothing new.
    code, out, _ = cli(capsys, *base, "run", str(FIXTURES / "articles"))
    assert code == 0 and "duplicates skipped 44" in out and "evidence classified 0" in out
    for fmt in ("markdown", "csv", "json"):
        code, out, _ = cli(capsys, *base, "report", "--format", fmt)
        assert code == 0 and out
    code, out, _ = cli(
        capsys, *base, "timeline", "south-korea", "lethal-aid-ukraine", "--plot", "sk.png"
    )
    assert code == 0 and (tmp_path / "sk.png").stat().st_size > 10_000
    code, _, err = cli(capsys, *base, "timeline", "mars", "lethal-aid-ukraine")
    assert (code, err.strip()) == (1, "Error: no actor 'mars' in the database")
    code, out, _ = cli(capsys, *base, "status")
    assert code == 0 and "articles: 44" in out and "pending article tracks: 0" in out


def test_evaluate_sentences_with_a_tiny_model(
    capsys, tmp_path: Path, tiny_stance_model: Path
) -> None:
    rows = [
        {"actor": "Seoul", "proposition": "send arms", "text": "Seoul refused.", "label": "oppose"},
        {
            "actor": "Berlin",
            "proposition": "send tanks",
            "text": "Berlin agreed.",
            "label": "support",
        },
        {
            "actor": "Ankara",
            "proposition": "approve",
            "text": "Ankara may review.",
            "label": "neutral",
        },
    ]
    labelled = write(tmp_path / "gold.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    code, out, _ = cli(
        capsys, "--model", str(tiny_stance_model), "evaluate", str(labelled), "--format", "json"
    )
    assert code == 0
    scores = json.loads(out)
    assert scores["level"] == "sentence" and scores["n"] == 3
    low, high = scores["macro_f1_ci"]
    assert 0.0 <= low <= scores["macro_f1"] <= high <= 1.0
    assert sum(sum(row.values()) for row in scores["confusion"].values()) == 3
    two = cli(capsys, "--model", str(tiny_stance_model), "evaluate", str(labelled), str(labelled))
    assert two[0] == 0 and "sentence level, n=6" in two[1]
    articles = write(tmp_path / "articles.jsonl", '{"url": "u", "actor": "x", "label": "oppose"}\n')
    code, _, err = cli(capsys, "evaluate", str(labelled), str(articles))
    assert (code, err.strip()) == (
        1,
        f"Error: {articles}: article-level records, but {labelled} holds sentence-level ones; "
        "evaluate them separately",
    )
    bad = write(tmp_path / "bad.jsonl", '{"actor": "x", "text": "y", "label": "maybe"}\n')
    code, _, err = cli(capsys, "evaluate", str(bad))
    assert (code, err.strip()) == (
        1,
        f"Error: {bad}:1: needs a 'label' of support, oppose, neutral",
    )


def test_report_filters_reject_unknown_names(capsys, tiny_stance_model: Path) -> None:
    base = ["--config", str(FIXTURES / "watchlist.toml"), "--model", str(tiny_stance_model)]
    assert cli(capsys, *base, "run", str(FIXTURES / "articles/leopard"), "--report", "r.md")[0] == 0
    code, out, _ = cli(capsys, *base, "report", "--actor", "germany", "--format", "json")
    assert code == 0 and {t["actor"] for t in json.loads(out)["tracks"]} == {"germany"}
    code, _, err = cli(capsys, *base, "report", "--policy", "moon-base")
    assert (code, err.strip()) == (1, "Error: no tracked policy 'moon-base'")
    code, out, _ = cli(capsys, *base, "report", "--last-run", "--format", "csv")
    assert code == 0 and out.startswith("row_type,actor,policy")


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stancetrack", "--version"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout.strip()) == (0, "stancetrack 0.1.0")


def test_global_options_work_after_the_command_too(capsys, tmp_path: Path) -> None:
    import typer.main

    from stancetrack.cli import _COMMAND_NAMES, hoist_global_options

    group = typer.main.get_command(app)
    assert _COMMAND_NAMES == set(group.commands)  # type: ignore[attr-defined]
    assert hoist_global_options(["report", "--db", "x.db", "--format", "json"]) == [
        "--db",
        "x.db",
        "report",
        "--format",
        "json",
    ]
    assert hoist_global_options(["--config", "run", "run", "--db=y.db", "in/"]) == [
        "--config",
        "run",
        "--db=y.db",
        "run",
        "in/",
    ]
    code, out, _ = cli(capsys, "db", "upgrade", "--db", str(tmp_path / "after.db"))
    assert code == 0 and (tmp_path / "after.db").exists()
    code, out, _ = cli(capsys, "status", "--db", str(tmp_path / "after.db"))
    assert code == 0 and str(tmp_path / "after.db") in out
