"""web sources: saved pages, feeds and URLs; the fetched-URL seen-set

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 10:00:00

- articles.extractor: what turned the input into text ("front-matter", "json", "feed",
  "trafilatura 2.3.1"); NULL for articles stored before.
- articles.summary_only: a feed entry's summary stored because its page was not fetched.
- fetched_urls: every URL requested over HTTP, with its final URL after redirects, the last
  status, ETag and Last-Modified (conditional re-polls of feeds), the article it gave or why
  not, and whether a later run should try it again.

Written alongside 0004 (possible shifts) and placed after it, so the history stays one line.

Columns are added in place (no table copies): on SQLite a copied `articles` table would be
dropped with foreign keys on, and its ON DELETE CASCADE would empty the tables that refer to it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('articles', sa.Column('extractor', sa.String(length=100), nullable=True))
    op.add_column(
        'articles',
        sa.Column('summary_only', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table('fetched_urls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('final_url', sa.String(length=2000), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('etag', sa.String(length=300), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('retry', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_fetched_urls_article_id_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_fetched_urls_run_id_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fetched_urls')),
    sa.UniqueConstraint('url', name=op.f('uq_fetched_urls_url'))
    )


def downgrade() -> None:
    op.drop_table('fetched_urls')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): see the module docstring.
    for column in ('summary_only', 'extractor'):
        op.execute(f"ALTER TABLE articles DROP COLUMN {column}")
