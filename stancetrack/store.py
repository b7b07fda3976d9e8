"""The database: engine, sessions, schema upgrades and the `runs` bookkeeping."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from stancetrack.errors import DatabaseLockedError, StoreError
from stancetrack.models import Run

DEFAULT_DB = "stancetrack.db"
BUSY_TIMEOUT_MS = 5000


def utcnow() -> datetime:
    """Naive UTC timestamp: SQLite has no time zones, so we store UTC everywhere."""
    return datetime.now(UTC).replace(tzinfo=None)


def database_url(db: str | None) -> str:
    """A SQLAlchemy URL from a path or URL (`--db`, `STANCETRACK_DB`, or the default file)."""
    db = db or os.environ.get("STANCETRACK_DB") or DEFAULT_DB
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets analysts read while a run writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_engine(db: str | None = None, *, upgrade: bool = True) -> Engine:
    """Open the database and (by default) bring its schema to the latest migration."""
    url = database_url(db)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database path or SQLAlchemy URL: {url}") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.exists():
            raise StoreError(f"folder for database does not exist: {folder}")
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _configure_sqlite)
    if upgrade:
        upgrade_schema(engine)
    return engine


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def migrations_dir() -> Path:
    """The Alembic scripts: inside the wheel, or at the top of a source checkout."""
    packaged = Path(__file__).parent / "_migrations"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "migrations"
    if checkout.is_dir():
        return checkout
    raise StoreError("the migrations folder is missing from this installation")


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` on this engine."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), revision)
    except OperationalError as exc:
        raise translate_operational_error(exc, engine) from exc


def downgrade_schema(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    if head is None:
        raise StoreError("no migrations found")
    return head


def translate_operational_error(exc: OperationalError, engine: Engine) -> Exception:
    """Turn the driver's locked/readonly errors into one-line messages naming the database."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    where = engine.url.render_as_string(hide_password=True)
    if "locked" in text or "busy" in text:
        return DatabaseLockedError(
            f"database is locked by another process: {where} "
            f"(waited {BUSY_TIMEOUT_MS // 1000} s; is another stancetrack run still going?)"
        )
    return StoreError(f"database error on {where}: {text}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise translate_operational_error(exc, engine) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def start_run(session: Session, command: str, **fields: Any) -> Run:
    """Record a run as `running` and commit, so an interrupted run stays visible."""
    run = Run(started_at=utcnow(), command=command[:200], status="running", **fields)
    session.add(run)
    session.commit()
    return run


def finish_run(
    session: Session, run: Run, counts: dict[str, int], error: str | None = None
) -> None:
    run.finished_at = utcnow()
    run.status = "failed" if error else "ok"
    run.error = error
    run.counts = json.dumps(counts, sort_keys=True)
    session.commit()


def latest_model_run(session: Session) -> Run | None:
    """The newest successful run that classified: its model is the one reports and views use."""
    query = (
        select(Run)
        .where(Run.status == "ok", Run.model_hash.is_not(None))
        .order_by(Run.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
