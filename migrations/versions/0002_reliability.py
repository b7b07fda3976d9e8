"""reliability: live-run tracking, shared work claims, delivered reports, LSH bands, timestamps

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 08:10:00

- runs.host / pid / heartbeat_at: a later run tells a live run from a killed one.
- analyses.status: "claimed" while a run works on an article, "done" after; existing rows are done.
- deliveries: the change reports `run` wrote out, so an undelivered alert is reported again.
- article_bands: LSH bands of each article's MinHash, filled here from the stored MinHashes,
  so the wire-copy lookup is an indexed query instead of a scan of the date window.
- articles.published_time: the source's timestamp with its UTC offset.

Columns are added in place (no table copies): on SQLite a copied `articles` table would be
dropped with foreign keys on, and its ON DELETE CASCADE would empty the tables that refer to it.
"""
from collections.abc import Sequence
import hashlib

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Fixed by this migration: stancetrack.ingest.dedupe must band MinHashes the same way
# (tests/test_store.py checks that it does).
LSH_BANDS = 21
LSH_ROWS = 3
VALUE_BYTES = 8  # MinHash values are stored as little-endian uint64


def band_hashes(minhash: bytes) -> list[int]:
    hashes = []
    width = LSH_ROWS * VALUE_BYTES
    for band in range(LSH_BANDS):
        chunk = minhash[band * width : (band + 1) * width]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        hashes.append(int.from_bytes(digest, "little", signed=True))
    return hashes


def upgrade() -> None:
    op.add_column('runs', sa.Column('host', sa.String(length=255), nullable=True))
    op.add_column('runs', sa.Column('pid', sa.Integer(), nullable=True))
    op.add_column('runs', sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
    op.add_column(
        'analyses',
        sa.Column('status', sa.String(length=16), server_default='done', nullable=False),
    )
    op.add_column('articles', sa.Column('published_time', sa.String(length=40), nullable=True))
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=2000), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_deliveries_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    op.create_index(op.f('ix_deliveries_run_id'), 'deliveries', ['run_id'], unique=False)
    bands = op.create_table('article_bands',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('band', sa.Integer(), nullable=False),
    sa.Column('band_hash', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_bands_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'band', name=op.f('pk_article_bands'))
    )
    op.create_index(op.f('ix_article_bands_band_hash'), 'article_bands', ['band_hash'], unique=False)
    # Existing articles get their bands from the MinHash stored with them, in slices so
    # memory stays flat on a large database.
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, minhash FROM articles WHERE minhash IS NOT NULL AND id > :last "
                "ORDER BY id LIMIT 2000"
            ),
            {"last": last_id},
        ).fetchall()
        if not rows:
            break
        op.bulk_insert(
            bands,
            [
                {"article_id": article_id, "band": band, "band_hash": value}
                for article_id, minhash in rows
                for band, value in enumerate(band_hashes(bytes(minhash)))
            ],
        )
        last_id = rows[-1][0]


def downgrade() -> None:
    op.drop_index(op.f('ix_article_bands_band_hash'), table_name='article_bands')
    op.drop_table('article_bands')
    op.drop_index(op.f('ix_deliveries_run_id'), table_name='deliveries')
    op.drop_table('deliveries')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): see the module docstring.
    for table, column in (
        ('articles', 'published_time'),
        ('analyses', 'status'),
        ('runs', 'heartbeat_at'),
        ('runs', 'pid'),
        ('runs', 'host'),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
