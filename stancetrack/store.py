"""The database: engine, sessions, schema upgrades and the `runs` bookkeeping.

Writers on one SQLite file serialise on its write lock: every writing transaction starts with
`BEGIN IMMEDIATE`, so a transaction that reads and then writes (is this article new? insert
it) cannot be overtaken by another process in between, and waits for the lock instead of
failing. PostgreSQL serialises the few steps that need it with advisory locks (`serialize`).
Migrations run in one transaction on both, so a run killed while creating the schema leaves
the database as it was.
"""

from __future__ import annotations

import json
import os
import socket
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from stancetrack.errors import DatabaseLockedError, StoreError
from stancetrack.models import Run

DEFAULT_DB = "stancetrack.db"
# Overlapping cron jobs wait for each other's write transactions, which are kept short (a batch
# of articles, one claim of work); a transaction still holding the lock after this is reported.
BUSY_TIMEOUT_MS = 30_000
SQLITE_HEADER = b"SQLite format 3\x00"
_READ_OPTION = "stancetrack_read"


def utcnow() -> datetime:
    """Naive UTC timestamp: SQLite has no time zones, so we store UTC everywhere."""
    return datetime.now(UTC).replace(tzinfo=None)


def database_url(db: str | None) -> str:
    """A SQLAlchemy URL from a path or URL (`--db`, `STANCETRACK_DB`, or the default file).

    A PostgreSQL URL without a driver uses psycopg 3 (the `postgres` extra), not psycopg2.
    """
    db = db or os.environ.get("STANCETRACK_DB") or DEFAULT_DB
    if "://" in db:
        for prefix in ("postgresql://", "postgres://"):
            if db.startswith(prefix):
                return "postgresql+psycopg://" + db[len(prefix) :]
        return db
    return f"sqlite:///{Path(db).expanduser()}"


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def is_read_only(engine: Engine) -> bool:
    """Whether this engine opened its SQLite file read-only (no write permission)."""
    return is_sqlite(engine) and engine.url.query.get("mode") == "ro"


def _sqlite_on_connect(read_only: bool) -> Any:
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite opens transactions lazily, only before the first INSERT/UPDATE, so a read
        # and the write that depends on it would not be atomic; the "begin" event opens them.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not read_only:
            # WAL lets analysts read while a run writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return configure


def _begin_sqlite(connection: Connection) -> None:
    read = connection.get_execution_options().get(_READ_OPTION) or is_read_only(connection.engine)
    connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def open_engine(db: str | None = None, *, upgrade: bool = True) -> Engine:
    """Open the database and (by default) bring its schema to the latest migration.

    A SQLite file this user may not write is opened read-only: reports, timelines and status
    work; anything that would write says the database is read-only.
    """
    url = database_url(db)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database path or SQLAlchemy URL: {url}") from exc
    if parsed.get_backend_name() == "sqlite":
        parsed = _check_sqlite_file(parsed)
    try:
        engine = create_engine(parsed)
    except ModuleNotFoundError as exc:
        hint = (
            " (pip install 'stancetrack[postgres]')"
            if parsed.get_backend_name() == "postgresql"
            else ""
        )
        raise StoreError(f"no database driver for {parsed.drivername}: {exc.name}{hint}") from None
    if is_sqlite(engine):
        event.listen(engine, "connect", _sqlite_on_connect(is_read_only(engine)))
        event.listen(engine, "begin", _begin_sqlite)
    if upgrade:
        ensure_schema(engine)
    return engine


def _check_sqlite_file(url: URL) -> URL:
    """Refuse what is not an SQLite database; open a file we may not write read-only."""
    if url.database in (None, "", ":memory:") or url.query.get("mode"):
        return url
    path = Path(url.database)
    if not path.parent.exists():
        raise StoreError(f"folder for database does not exist: {path.parent}")
    if path.is_dir():
        raise StoreError(f"database path is a folder, not a file: {path}")
    if not path.exists():
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"cannot create database in {path.parent}: permission denied")
        return url
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read database {path}: {exc.strerror}") from None
    if header and header != SQLITE_HEADER:
        raise StoreError(f"not an SQLite database: {path}")
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        return url
    # Read-only: SQLite's URI form; `immutable` when the folder cannot hold the WAL index.
    query = {"mode": "ro", "uri": "true"}
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists():
        query["immutable"] = "1"
    return url.set(database=f"file:{path.resolve()}").update_query_dict(query)


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


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    return {rev.revision for rev in script.walk_revisions()}


def ensure_schema(engine: Engine) -> None:
    """Upgrade to head unless already there; refuse a schema newer than this version knows."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is not None and current not in known_revisions():
        raise StoreError(
            f"{describe(engine)} has schema revision {current}, newer than this stancetrack "
            f"knows (up to {head}): upgrade stancetrack"
        )
    if is_read_only(engine):
        raise StoreError(
            f"{describe(engine)} is read-only and at schema revision {current or '(empty)'}; "
            f"this stancetrack needs {head}: ask its owner to run `stancetrack db upgrade`"
        )
    upgrade_schema(engine)


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run Alembic migrations up to `revision` on this engine, in one transaction."""
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), revision)
    except DBAPIError as exc:
        raise translate_db_error(exc, engine) from exc


def downgrade_schema(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with engine.execution_options(**{_READ_OPTION: True}).connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as exc:
        raise translate_db_error(exc, engine) from exc


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    if head is None:
        raise StoreError("no migrations found")
    return head


def describe(engine: Engine) -> str:
    """The database as users name it: the file path, or the URL without its password."""
    if is_sqlite(engine) and engine.url.database:
        return engine.url.database.removeprefix("file:")
    return engine.url.render_as_string(hide_password=True)


def translate_db_error(exc: DBAPIError, engine: Engine) -> Exception:
    """Turn the driver's errors into one-line messages naming the database."""
    raw = str(exc.orig) if exc.orig is not None else str(exc)
    first = raw.strip().splitlines()[0] if raw.strip() else type(exc).__name__
    where = describe(engine)
    if "locked" in raw or "busy" in raw:
        return DatabaseLockedError(
            f"database is locked by another process: {where} "
            f"(waited {BUSY_TIMEOUT_MS / 1000:g} s; is another stancetrack run still going?)"
        )
    if "readonly" in raw or "read-only" in raw:
        return StoreError(f"database is read-only: {where}")
    if "not a database" in raw:
        return StoreError(f"not an SQLite database: {where}")
    if "disk" in raw and "full" in raw:
        return StoreError(f"disk full while writing {where}")
    return StoreError(f"database error on {where}: {first}")


# Kept under its old name for callers outside the package.
translate_operational_error = translate_db_error


@contextmanager
def session_scope(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error.

    `read_only` sessions never take the write lock (reports, status, timelines).
    """
    bind = engine.execution_options(**{_READ_OPTION: True}) if read_only else engine
    factory = sessionmaker(bind, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except DBAPIError as exc:
        _quiet_rollback(session)
        raise translate_db_error(exc, engine) from exc
    except BaseException:
        _quiet_rollback(session)
        raise
    finally:
        session.close()


def _quiet_rollback(session: Session) -> None:
    # A rollback that fails (the connection is gone) must not hide the error that caused it.
    try:
        session.rollback()
    except Exception:  # noqa: BLE001
        pass


def serialize(session: Session, name: str) -> None:
    """Hold a database-wide lock named `name` until the transaction ends.

    SQLite needs nothing: its writers already take the one write lock up front. PostgreSQL
    writers otherwise only wait for each other row by row, which is not enough for steps that
    read a set of rows and then decide (syncing the watchlist, reconciling shifts).
    """
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"stancetrack:{name}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


# ---------------------------------------------------------------- runs


HOST = socket.gethostname()[:255]
STALE_AFTER_S = 30 * 60  # a run whose heartbeat is older than this is taken for dead
_ACTIVE_RUNS: set[int] = set()  # runs of this process that are still working


def start_run(session: Session, command: str, **fields: Any) -> Run:
    """Record a run as `running` and commit, so an interrupted run stays visible."""
    now = utcnow()
    run = Run(
        started_at=now,
        command=command[:200],
        status="running",
        host=HOST,
        pid=os.getpid(),
        heartbeat_at=now,
        **fields,
    )
    session.add(run)
    session.commit()
    _ACTIVE_RUNS.add(run.id)
    return run


def heartbeat(run: Run) -> None:
    """Mark the run alive; its session commits it with the next batch."""
    run.heartbeat_at = utcnow()


def finish_run(
    session: Session, run: Run, counts: dict[str, int], error: str | None = None
) -> None:
    _ACTIVE_RUNS.discard(run.id)
    run.finished_at = utcnow()
    run.status = "failed" if error else "ok"
    run.error = error
    run.counts = json.dumps(counts, sort_keys=True)
    session.commit()


def forget_run(run: Run) -> None:
    """This process no longer works on the run (it failed and could not be recorded)."""
    _ACTIVE_RUNS.discard(run.id)


def run_is_alive(run: Run, now: datetime | None = None) -> bool:
    """Whether a `running` run is still working: its process lives and its heartbeat is fresh.

    A run of this host is alive while its process exists (a run of this very process only
    while it is active); a run of another host while its heartbeat is recent.
    """
    now = now or utcnow()
    beat = run.heartbeat_at or run.started_at
    if (now - beat).total_seconds() > STALE_AFTER_S:
        return False
    if run.host != HOST or run.pid is None:
        return run.host != HOST
    if run.pid == os.getpid():
        return run.id in _ACTIVE_RUNS
    try:
        os.kill(run.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def dead_run_ids(session: Session) -> list[int]:
    """Runs recorded as running whose process has gone (killed, crashed, machine restarted)."""
    running = session.scalars(select(Run).where(Run.status == "running"))
    return [run.id for run in running if not run_is_alive(run)]


def latest_model_run(session: Session) -> Run | None:
    """The newest successful run that classified: its model is the one reports and views use."""
    query = (
        select(Run)
        .where(Run.status == "ok", Run.model_hash.is_not(None))
        .order_by(Run.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
