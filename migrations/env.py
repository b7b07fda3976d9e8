"""Alembic environment. The app passes its engine through `config.attributes["engine"]`."""

from alembic import context
from sqlalchemy import text

import stancetrack.models as models  # every model, so the metadata is complete

config = context.config
target_metadata = models.Base.metadata
# Two processes upgrading one PostgreSQL database take turns; SQLite's BEGIN IMMEDIATE (store.py)
# does the same there. The second finds the schema at head and does nothing.
MIGRATION_LOCK = 0x5374616E  # "Stan"


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        # Plain `alembic` on the command line: -x db=PATH_OR_URL, else the default file.
        from stancetrack.store import open_engine

        engine = open_engine(context.get_x_argument(as_dictionary=True).get("db"), upgrade=False)
    # One transaction for all pending migrations: a run killed half-way leaves the schema as it
    # was (SQLite and PostgreSQL both have transactional DDL).
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite can only ALTER tables in batch mode
            compare_type=True,
            transaction_per_migration=False,
        )
        context.run_migrations()


run_migrations()
