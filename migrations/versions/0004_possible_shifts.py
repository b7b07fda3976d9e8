"""possible shifts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 10:00:00

shifts.origin: "possible" for a shift first reported as a possible shift (the newest stories
disagree with the current stance, too few yet to make a segment). Possible shifts live in the
same table with status possible / contradicted / expired, or confirmed once detection finds the
shift (same row, same date). Existing rows keep origin NULL.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('shifts', sa.Column('origin', sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): no copy of the table.
    op.execute("ALTER TABLE shifts DROP COLUMN origin")
