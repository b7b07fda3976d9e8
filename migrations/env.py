"""Alembic environment. The app passes its engine through `config.attributes["engine"]`."""

from alembic import context
from sqlalchemy import create_engine

import stancetrack.models as models  # every model, so the metadata is complete

config = context.config
target_metadata = models.Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        # Plain `alembic` on the command line: -x db=PATH_OR_URL, else the default file.
        from stancetrack.store import database_url

        engine = create_engine(database_url(context.get_x_argument(as_dictionary=True).get("db")))
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite can only ALTER tables in batch mode
            compare_type=True,
        )
        context.run_migrations()


run_migrations()
