"""Duplicates: exact copies by a hash of the normalised text, wire copies by MinHash + LSH.

A wire copy is the same story run by another outlet, lightly edited: MinHash over word 5-gram
shingles, estimated Jaccard >= 0.6, published within 3 days. Candidates are found through LSH
bands stored in `article_bands` (21 bands of 3 values: a pair at Jaccard 0.6 shares a band with
probability 0.99), an indexed lookup whose cost does not grow with the archive, and then
confirmed on the full MinHash.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stancetrack.models import Article, ArticleBand

NEAR_DUPLICATE_THRESHOLD = 0.6  # estimated Jaccard of word 5-gram shingles
NEAR_DUPLICATE_DAYS = 3  # wire copies run within days of each other
MINHASH_PERMUTATIONS = 64
# Fixed by the migrations that banded the MinHashes already stored (0002, 0003); changing
# them, or the MinHash itself, means a migration that re-hashes every article.
LSH_BANDS = 21
LSH_ROWS = 3
_VALUE_BYTES = 8
_WORD = re.compile(r"\w+")


def normalise_text(text: str) -> str:
    """The form that decides exact duplicates: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode()).hexdigest()


def _constants() -> tuple[Any, Any, Any]:
    """Fixed random constants: 5 odd word weights and 64 affine permutations (seed 7)."""
    import numpy as np

    generator = np.random.RandomState(7)
    weights = generator.randint(0, 1 << 31, 5, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    a = generator.randint(0, 1 << 31, MINHASH_PERMUTATIONS, dtype=np.uint32)
    a = a * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, MINHASH_PERMUTATIONS, dtype=np.uint32)
    return weights, a, b


_CONSTANTS: tuple[Any, Any, Any] | None = None


def _fmix32(values: Any) -> Any:
    """MurmurHash3's 32-bit finalizer: spreads the bits of weakly mixed hashes."""
    import numpy as np

    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def minhash_values(normalised: str) -> Any:
    """64 MinHash values (uint32) of the text's word 5-gram shingles.

    Each word is hashed once (CRC-32) and a shingle's hash is a weighted sum of its five word
    hashes, all in numpy: about 5x faster than hashing every shingle with SHA-1 as datasketch
    does, which made MinHash most of ingest's cost. Then the usual affine permutations
    h -> a * h + b modulo 2^32 and a minimum per permutation. Migration 0003 re-hashed the
    articles stored before with this function's copy; keep the two identical (a test checks).
    """
    import numpy as np

    global _CONSTANTS
    if _CONSTANTS is None:
        _CONSTANTS = _constants()
    weights, a, b = _CONSTANTS
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
    return permuted.min(axis=0)


def minhash_bytes_of(normalised: str) -> bytes:
    """The stored form: 64 little-endian uint64 values."""
    return bytes(minhash_values(normalised).astype("<u8").tobytes())


def band_hashes(minhash_raw: bytes) -> list[int]:
    """The LSH band keys of a stored MinHash: signed 64-bit, so PostgreSQL's BIGINT holds them."""
    width = LSH_ROWS * _VALUE_BYTES
    keys = []
    for band in range(LSH_BANDS):
        chunk = minhash_raw[band * width : (band + 1) * width]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def jaccard(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two stored MinHashes (share of equal values)."""
    import numpy as np

    left, right = np.frombuffer(a, "<u8"), np.frombuffer(b, "<u8")
    return float(np.count_nonzero(left == right)) / len(left)


@dataclass
class Fingerprint:
    """What a new article brings to the duplicate checks."""

    content_hash: str
    minhash: bytes
    bands: list[int]
    published_at: date


def fingerprint(text: str, published_at: date) -> Fingerprint:
    normalised = normalise_text(text)
    raw = minhash_bytes_of(normalised)
    digest = hashlib.sha256(normalised.encode()).hexdigest()
    return Fingerprint(digest, raw, band_hashes(raw), published_at)


@dataclass(frozen=True)
class StoredCandidate:
    article_id: int
    duplicate_of: int | None
    published_at: date
    minhash: bytes
    bands: frozenset[int]


def stored_candidates(session: Session, prints: Sequence[Fingerprint]) -> list[StoredCandidate]:
    """Stored articles sharing at least one LSH band with any of `prints` (one query)."""
    keys = {key for p in prints for key in p.bands}
    if not keys:
        return []
    rows = session.execute(
        select(
            ArticleBand.article_id,
            ArticleBand.band_hash,
            Article.duplicate_of,
            Article.published_at,
            Article.minhash,
        )
        .join(Article, Article.id == ArticleBand.article_id)
        .where(ArticleBand.band_hash.in_(keys))
    )
    found: dict[int, tuple[int | None, date, bytes | None, set[int]]] = {}
    for article_id, key, duplicate_of, published_at, minhash in rows:
        entry = found.setdefault(article_id, (duplicate_of, published_at, minhash, set()))
        entry[3].add(key)
    return [
        StoredCandidate(article_id, dup, day, bytes(raw), frozenset(keys_))
        for article_id, (dup, day, raw, keys_) in sorted(found.items())
        if raw
    ]


def wire_original(
    print_: Fingerprint, candidates: Iterable[StoredCandidate]
) -> StoredCandidate | None:
    """The earliest candidate that is a near copy of this article within the date window."""
    window = timedelta(days=NEAR_DUPLICATE_DAYS)
    bands = set(print_.bands)
    matches = [
        c
        for c in candidates
        if abs(c.published_at - print_.published_at) <= window
        and not bands.isdisjoint(c.bands)
        and jaccard(print_.minhash, c.minhash) >= NEAR_DUPLICATE_THRESHOLD
    ]
    return min(matches, key=lambda c: (c.published_at, c.article_id), default=None)
