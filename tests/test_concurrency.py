"""Real processes meeting real databases: overlapping runs, kills at random points, signals.

Every test here starts `stancetrack` as separate processes (the tiny random-weight model keeps
them quick) and then checks the database against a clean, undisturbed run: the same articles,
each analysed exactly once per track, the same stances and shifts, no run left "running".
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stancetrack import store
from stancetrack.models import Actor, Analysis, Article, Policy, Run, Shift, Stance
from tests.conftest import FIXTURES, REPO

WATCHLIST = FIXTURES / "watchlist.toml"
TRACKS = 5  # in the fixture watchlist


def synthetic_corpus(folder: Path, copies: int) -> Path:
    """`copies` variants of every fixture article (distinct texts, so none is a duplicate)."""
    for number in range(copies):
        for path in sorted((FIXTURES / "articles").rglob("*.md")):
            text = path.read_text(encoding="utf-8")
            header, _, body = text.partition("\n---\n")
            header = header.replace("url: https://", f"url: https://copy{number}.")
            # One paragraph of its own makes each copy a new text; sharing the rest, the copies
            # are linked as wire copies, as syndicated stories are.
            lines = body.split("\n\n")
            lines.insert(1, f"Copy {number} of this story adds paragraph {number} of its own.")
            target = folder / f"c{number}" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(header + "\n---\n" + "\n\n".join(lines), encoding="utf-8")
    return folder


def stancetrack(db: str, *args: str, model: Path | None = None) -> list[str]:
    command = [sys.executable, "-m", "stancetrack", "--db", db, "--config", str(WATCHLIST)]
    if model is not None:
        # fp32: batches of different articles must give each sentence the same probabilities.
        command += ["--model", str(model), "--precision", "fp32"]
    return [*command, *args]


def run_all(commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once; wait for all."""
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        for c in commands
    ]
    results = []
    for command, process in zip(commands, processes, strict=True):
        out, err = process.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def snapshot(db: str) -> dict[str, object]:
    """What a run leaves that must not depend on how it was scheduled or interrupted."""
    engine = store.open_engine(db, upgrade=False)
    with store.session_scope(engine, read_only=True) as session:
        urls = dict(session.execute(select(Article.id, Article.url)).all())
        actors = dict(session.execute(select(Actor.id, Actor.key)).all())
        policies = dict(session.execute(select(Policy.id, Policy.key)).all())
        stances = sorted(
            (
                urls[s.article_id],
                actors[s.actor_id],
                policies[s.policy_id],
                s.label,
                round(s.score, 3),
            )
            for s in session.scalars(select(Stance))
        )
        analyses = session.execute(
            select(Analysis.status, func.count()).group_by(Analysis.status)
        ).all()
        shifts = sorted(
            (
                actors[s.actor_id],
                policies[s.policy_id],
                s.from_label,
                s.to_label,
                s.shift_date.isoformat(),
            )
            for s in session.scalars(select(Shift).where(Shift.status != "retracted"))
        )
        running = session.scalar(select(func.count()).where(Run.status == "running"))
        duplicates = session.scalar(
            select(func.count()).select_from(
                select(Analysis.article_id, Analysis.track_id)
                .group_by(Analysis.article_id, Analysis.track_id, Analysis.model_hash)
                .having(func.count() > 1)
                .subquery()
            )
        )
    engine.dispose()
    return {
        "articles": sorted(urls.values()),
        "stances": stances,
        "analyses": dict(analyses),
        "shifts": shifts,
        "running": running,
        "duplicate_analyses": duplicates,
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_corpus(tmp_path_factory.mktemp("corpus"), copies=4)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, corpus: Path, tiny_stance_model: Path):
    """One undisturbed run over the corpus: what every other schedule must end up with."""
    db = str(tmp_path_factory.mktemp("clean") / "clean.db")
    done = subprocess.run(
        stancetrack(db, "run", str(corpus), "--report", f"{db}.json", model=tiny_stance_model),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return snapshot(db)


def test_overlapping_runs_share_the_work(
    db_url: str, corpus: Path, clean: dict, tiny_stance_model: Path
) -> None:
    """Two cron jobs over different folders, then two ingests of one folder, then two analyses
    of one backlog, each pair at the same moment: no errors, nothing done twice or lost."""
    first = run_all(
        [
            stancetrack(db_url, "run", str(corpus / "c0"), model=tiny_stance_model),
            stancetrack(db_url, "run", str(corpus / "c1"), model=tiny_stance_model),
        ]
    )
    for result in first:
        assert result.returncode == 0, result.stderr
    both = run_all([stancetrack(db_url, "ingest", str(corpus)) for _ in range(2)])
    for result in both:
        assert result.returncode == 0, result.stderr
    added = [int(r.stdout.split("articles added ")[1].split(",")[0]) for r in both]
    assert sum(added) == 44 * 2  # c2 and c3: each article stored by exactly one of the two
    analyses = run_all([stancetrack(db_url, "analyze", model=tiny_stance_model) for _ in range(2)])
    for result in analyses:
        assert result.returncode == 0, result.stderr
    analysed = [int(r.stdout.split("articles analysed ")[1].split(",")[0]) for r in analyses]
    assert sum(analysed) == 44 * 2  # shared, not doubled
    state = snapshot(db_url)
    assert state["running"] == 0 and state["duplicate_analyses"] == 0
    assert state["analyses"] == {"done": 44 * 4 * TRACKS}
    assert state["articles"] == clean["articles"]
    assert state["stances"] == clean["stances"]
    assert state["shifts"] == clean["shifts"]


def test_killed_at_random_points_the_database_matches_a_clean_run(
    tmp_path: Path, corpus: Path, clean: dict, tiny_stance_model: Path
) -> None:
    """SIGKILL a run at random moments (schema creation, ingest, analysis, detection) again
    and again on one database; the next run finishes the work and nothing is lost or doubled."""
    db = str(tmp_path / "crash.db")
    rng = random.Random(16)
    command = stancetrack(db, "run", str(corpus), model=tiny_stance_model)
    start = time.perf_counter()
    reference = subprocess.run(
        stancetrack(str(tmp_path / "timing.db"), "run", str(corpus), model=tiny_stance_model),
        capture_output=True,
        cwd=REPO,
    )
    assert reference.returncode == 0
    duration = time.perf_counter() - start
    kills, window = 0, duration
    for _ in range(30):  # until 8 kills: each run has less left to do than the one before
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
        )
        pause = rng.uniform(0.05, window)
        time.sleep(pause)
        if process.poll() is None:
            process.kill()
            kills += 1
        else:  # it finished first: aim the next kills inside the shorter run
            window = max(0.1, pause * 0.8)
        process.wait()
        if kills == 8:
            break
    assert kills >= 4
    final = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert final.returncode == 0, final.stderr
    state = snapshot(db)
    assert state["running"] == 0 and state["duplicate_analyses"] == 0
    assert state["analyses"] == clean["analyses"]
    assert (state["articles"], state["stances"], state["shifts"]) == (
        clean["articles"],
        clean["stances"],
        clean["shifts"],
    )


def test_a_kill_during_schema_creation_never_bricks_the_database(
    db_url: str, tmp_path: Path
) -> None:
    """The first command on a new database creates the schema in one transaction: killed in
    that window, the next command starts again from an empty database."""
    rng = random.Random(3)
    timing = subprocess.run(
        stancetrack(str(tmp_path / "t.db"), "db", "upgrade"), capture_output=True, cwd=REPO
    )
    assert timing.returncode == 0
    for attempt in range(10):
        url = db_url if db_url.startswith("postgresql") else str(tmp_path / f"s{attempt}.db")
        if attempt and db_url.startswith("postgresql"):
            _reset_postgres(url)
        process = subprocess.Popen(
            stancetrack(url, "db", "upgrade"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        time.sleep(rng.uniform(0.2, 1.0))
        process.kill()
        process.wait()
        after = subprocess.run(stancetrack(url, "status"), capture_output=True, text=True, cwd=REPO)
        assert after.returncode == 0, f"attempt {attempt}: {after.stderr}"
        assert f"schema revision: {store.head_revision()}" in after.stdout


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.mark.parametrize(
    ("signum", "code", "message", "error"),
    [
        (
            signal.SIGTERM,
            143,
            "Stopped: terminated (SIGTERM); everything committed before now is kept.",
            "terminated (SIGTERM)",
        ),
        (
            signal.SIGINT,
            130,
            "Interrupted; everything committed before now is kept.",
            "interrupted (Ctrl-C)",
        ),
    ],
    ids=["SIGTERM", "SIGINT"],
)
def test_signals_stop_a_run_cleanly(
    tmp_path: Path,
    corpus: Path,
    clean: dict,
    tiny_stance_model: Path,
    signum: int,
    code: int,
    message: str,
    error: str,
) -> None:
    db = str(tmp_path / "sig.db")
    command = stancetrack(db, "run", str(corpus), model=tiny_stance_model)

    def as_from_a_terminal() -> None:
        # A test runner started in the background (`cmd &` without job control) passes SIGINT
        # on ignored, and stancetrack rightly keeps it ignored: give the child Ctrl-C back.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        preexec_fn=as_from_a_terminal,
    )
    _wait_for_analysis(Path(db), process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err.strip().splitlines()[-1]) == (code, message)
    engine = store.open_engine(db, upgrade=False)
    with store.session_scope(engine, read_only=True) as session:
        run = session.scalars(select(Run)).one()
        assert (run.status, run.error) == ("failed", error)
    engine.dispose()
    again = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0, again.stderr
    assert snapshot(db)["stances"] == clean["stances"]


def _wait_for_analysis(db: Path, process: subprocess.Popen[str]) -> None:
    """Until the run has stored some analyses (so it is mid-way), or give up after a minute."""
    import sqlite3

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
                if connection.execute("SELECT count(*) FROM analyses").fetchone()[0]:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the run never reached analysis: {process.poll()}")
