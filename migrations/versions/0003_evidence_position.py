"""evidence position and how it was matched; faster MinHash for wire copies

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 08:40:00

- evidence.paragraph: 0 for the headline (char offsets then point into articles.title),
  1 for the first paragraph of the text, and so on. NULL for evidence stored before.
- evidence.actor_match: how the actor was found (alias, demonym, spokesperson, title, pronoun).
- evidence.policy_match: how the policy was found (keyword, anaphor, paragraph, article).
- articles.minhash and article_bands recomputed with the vectorised MinHash of
  stancetrack.ingest.dedupe (word CRC-32 hashes combined per 5-gram), so stored articles and
  new ones are compared on the same scale. The functions below are frozen copies of it;
  tests/test_store.py checks that they agree.
"""
from collections.abc import Sequence
import hashlib
import re
import unicodedata
import zlib

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERMUTATIONS = 64
LSH_BANDS = 21
LSH_ROWS = 3
_WORD = re.compile(r"\w+")


def normalise_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _fmix32(values):
    import numpy as np

    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def minhash_bytes(normalised: str) -> bytes:
    import numpy as np

    generator = np.random.RandomState(7)
    weights = generator.randint(0, 1 << 31, 5, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    a = generator.randint(0, 1 << 31, PERMUTATIONS, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, PERMUTATIONS, dtype=np.uint32)
    words = _WORD.findall(normalised) or [""]
    hashes = np.fromiter((zlib.crc32(w.encode()) for w in words), np.uint32, len(words))
    with np.errstate(over="ignore"):
        hashes = _fmix32(hashes)
        if len(hashes) < 5:
            shingle = (hashes * weights[: len(hashes)]).sum(dtype=np.uint32).reshape(1)
        else:
            count = len(hashes) - 4
            shingle = np.zeros(count, np.uint32)
            for offset in range(5):
                shingle += hashes[offset : offset + count] * weights[offset]
        permuted = _fmix32(shingle).reshape(-1, 1) * a + b
    return bytes(permuted.min(axis=0).astype("<u8").tobytes())


def band_hashes(minhash: bytes) -> list[int]:
    width = LSH_ROWS * 8
    keys = []
    for band in range(LSH_BANDS):
        chunk = minhash[band * width : (band + 1) * width]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def upgrade() -> None:
    op.add_column('evidence', sa.Column('paragraph', sa.Integer(), nullable=True))
    op.add_column('evidence', sa.Column('actor_match', sa.String(length=16), nullable=True))
    op.add_column('evidence', sa.Column('policy_match', sa.String(length=16), nullable=True))
    bands = sa.table(
        'article_bands',
        sa.column('article_id', sa.Integer),
        sa.column('band', sa.Integer),
        sa.column('band_hash', sa.BigInteger),
    )
    connection = op.get_bind()
    last_id = 0
    while True:  # in slices, so memory stays flat on a large database
        rows = connection.execute(
            sa.text("SELECT id, text FROM articles WHERE id > :last ORDER BY id LIMIT 1000"),
            {"last": last_id},
        ).fetchall()
        if not rows:
            break
        ids = [row[0] for row in rows]
        connection.execute(
            sa.text("DELETE FROM article_bands WHERE article_id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids},
        )
        new_bands = []
        for article_id, text in rows:
            raw = minhash_bytes(normalise_text(text))
            connection.execute(
                sa.text("UPDATE articles SET minhash = :m WHERE id = :id"),
                {"m": raw, "id": article_id},
            )
            new_bands += [
                {"article_id": article_id, "band": band, "band_hash": key}
                for band, key in enumerate(band_hashes(raw))
            ]
        op.bulk_insert(bands, new_bands)
        last_id = ids[-1]


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): no copy of a referenced table.
    # The MinHashes stay in the faster form: wire copies are found either way.
    for column in ('policy_match', 'actor_match', 'paragraph'):
        op.execute(f"ALTER TABLE evidence DROP COLUMN {column}")
