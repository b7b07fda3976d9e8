import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from stancetrack import store
from stancetrack.errors import DatabaseLockedError, StoreError
from tests.conftest import REPO


def test_fresh_database_upgrades_to_head_and_matches_models(db_url: str) -> None:
    """On SQLite and on PostgreSQL: the migrations build exactly what the models declare."""
    db = db_url
    engine = store.open_engine(db)
    assert store.current_revision(engine) == store.head_revision()
    engine.dispose()
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(REPO / "migrations/alembic.ini"),
            "-x",
            f"db={db}",
            "check",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_single_head_and_round_trip(db_url: str) -> None:
    from alembic.script import ScriptDirectory

    from stancetrack.store import _alembic_config

    engine = store.open_engine(db_url)
    script = ScriptDirectory.from_config(_alembic_config(engine))
    assert len(script.get_heads()) == 1
    store.downgrade_schema(engine, "base")
    assert store.current_revision(engine) is None
    store.upgrade_schema(engine)
    assert store.current_revision(engine) == store.head_revision()
    engine.dispose()


def _migration(name: str):
    from importlib import util

    spec = util.spec_from_file_location(name, REPO / "migrations/versions" / f"{name}.py")
    assert spec and spec.loader
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migrations_hash_and_band_stored_articles_as_ingest_does(tmp_path: Path) -> None:
    """Articles stored under an older MinHash get, on upgrade, the MinHash and LSH bands that
    ingest computes now, so old and new articles are compared on one scale."""
    from stancetrack.ingest import dedupe

    body = "Seoul said on Monday it would not send lethal weapons to Ukraine, officials said."
    raw = dedupe.minhash_bytes_of(dedupe.normalise_text(body))
    assert _migration("0002_reliability").band_hashes(raw) == dedupe.band_hashes(raw)
    frozen = _migration("0003_evidence_position")
    for sample in (body, "x", "", " ".join(f"word{i}" for i in range(300))):
        normalised = dedupe.normalise_text(sample)
        assert frozen.minhash_bytes(normalised) == dedupe.minhash_bytes_of(normalised)
    db = tmp_path / "old.db"
    engine = store.open_engine(str(db), upgrade=False)
    store.upgrade_schema(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO articles (published_at, language, text, content_hash, ingested_at, "
                "minhash) VALUES ('2024-01-01', 'en', :t, 'h', '2024-01-01', :m)"
            ),
            {"t": body, "m": b"\x00" * 512},  # an old-style MinHash
        )
    store.upgrade_schema(engine)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT minhash FROM articles")).scalar_one()
        bands = connection.execute(
            text("SELECT band_hash FROM article_bands ORDER BY band")
        ).scalars()
        assert stored == raw and list(bands) == dedupe.band_hashes(raw)
    engine.dispose()


def test_sqlite_pragmas_and_views(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    engine = store.open_engine(str(db))
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == store.BUSY_TIMEOUT_MS
    plain = sqlite3.connect(db)
    views = {row[0] for row in plain.execute("SELECT name FROM sqlite_master WHERE type='view'")}
    assert views == {"v_stance_timeline", "v_latest_stance", "v_shifts"}
    for view in views:
        assert plain.execute(f"SELECT * FROM {view}").fetchall() == []


def test_locked_database_is_a_one_line_error(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "locked.db"
    engine = store.open_engine(str(db))
    monkeypatch.setattr(store, "BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(db)
    blocker.execute("BEGIN EXCLUSIVE")
    fast = store.open_engine(str(db), upgrade=False)
    with pytest.raises(
        DatabaseLockedError, match=rf"^database is locked by another process: {db} \(waited 0.1 s"
    ):
        with store.session_scope(fast) as session:
            store.start_run(session, "test")
    blocker.rollback()
    engine.dispose()


def test_bad_url_and_missing_folder() -> None:
    with pytest.raises(StoreError, match="folder for database does not exist: /no/such"):
        store.open_engine("/no/such/folder/x.db")
    with pytest.raises(StoreError, match="not a database path or SQLAlchemy URL"):
        store.open_engine("not a url://x")


def test_database_url_from_env(monkeypatch) -> None:
    monkeypatch.setenv("STANCETRACK_DB", "postgresql://u@h/db")
    assert store.database_url(None) == "postgresql+psycopg://u@h/db"
    assert store.database_url("x.db") == "sqlite:///x.db"
