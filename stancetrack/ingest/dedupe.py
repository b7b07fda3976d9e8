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
MINHASH_SCHEME = "affine32"  # stored hash values must be read back with the same scheme
# Fixed by migration 0002, which banded the MinHashes already stored; changing them means a
# migration that re-bands every article.
LSH_BANDS = 21
LSH_ROWS = 3
_VALUE_BYTES = 8
_WORD = re.compile(r"\w+")


def normalise_text(text: str) -> str:
    """The form that decides exact duplicates: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode()).hexdigest()


def text_minhash(text: str) -> Any:
    from datasketch import MinHash

    words = _WORD.findall(normalise_text(text))
    shingles = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
    minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=7, scheme=MINHASH_SCHEME)
    minhash.update_batch([s.encode() for s in shingles])
    return minhash


def minhash_bytes(minhash: Any) -> bytes:
    return bytes(minhash.hashvalues.astype("<u8").tobytes())


def minhash_from_bytes(raw: bytes) -> Any:
    import numpy as np
    from datasketch import MinHash

    return MinHash(
        num_perm=MINHASH_PERMUTATIONS,
        seed=7,
        hashvalues=np.frombuffer(raw, "<u8"),
        scheme=MINHASH_SCHEME,
    )


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
    raw = minhash_bytes(text_minhash(text))
    return Fingerprint(content_hash(text), raw, band_hashes(raw), published_at)


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
