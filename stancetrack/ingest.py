"""Ingest: dated articles from text/Markdown, JSON and JSON Lines into the `articles` table.

Input is streamed record by record and committed in batches, so memory stays flat on large
inputs. A bad record is reported with its file and line (or record number) and skipped;
exact duplicates (same normalised text) are skipped and counted; wire copies (near-duplicate
text from another outlet) are stored but linked to the first copy through `duplicate_of`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stancetrack.errors import IngestError
from stancetrack.models import Article, RejectedInput
from stancetrack.store import utcnow

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES
BATCH_SIZE = 200
NEAR_DUPLICATE_THRESHOLD = 0.6  # estimated Jaccard of word 5-gram shingles
NEAR_DUPLICATE_DAYS = 3  # wire copies run within days of each other
MINHASH_PERMUTATIONS = 64
MINHASH_SCHEME = "affine32"  # stored hash values must be read back with the same scheme

DATE_FIELDS = ("published_at", "date", "published", "pubdate")
TEXT_FIELDS = ("text", "body", "content")


@dataclass(frozen=True)
class ArticleRecord:
    """One parsed input record, before it is stored."""

    location: str
    text: str
    published_at: date
    title: str | None = None
    source: str | None = None
    url: str | None = None
    language: str = "en"


@dataclass(frozen=True)
class Rejection:
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass
class IngestResult:
    read: int = 0
    added: int = 0
    duplicates: int = 0
    wire_copies: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "articles_read": self.read,
            "articles_added": self.added,
            "duplicates_skipped": self.duplicates,
            "wire_copies": self.wire_copies,
            "rejected_inputs": len(self.rejected),
        }


def normalise_text(text: str) -> str:
    """The form that decides exact duplicates: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(text: str) -> str:
    return hashlib.sha256(normalise_text(text).encode()).hexdigest()


# ---------------------------------------------------------------- reading records


def iter_input_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files to read, in a stable order; folders are walked recursively."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
        elif path.exists():
            yield path
        else:
            raise IngestError(f"{path}: no such file or directory")


def iter_records(path: Path) -> Iterator[ArticleRecord | Rejection]:
    """Parse one file into records; problems come out as `Rejection`s, never exceptions."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Rejection(
            str(path),
            f"unsupported file type '{suffix or '(none)'}' "
            f"(use {', '.join(sorted(SUPPORTED_SUFFIXES))})",
        )
        return
    if suffix in JSONL_SUFFIXES:
        yield from _iter_jsonl(path)
        return
    text = _read_text(path)
    if isinstance(text, Rejection):
        yield text
    elif suffix in JSON_SUFFIXES:
        yield from _iter_json(path, text)
    else:
        yield _text_record(path, text)


def _read_text(path: Path) -> str | Rejection:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Rejection(str(path), f"cannot read file ({exc.strerror})")
    return _decode(raw, str(path))


def _decode(raw: bytes, location: str) -> str | Rejection:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Rejection(location, f"not UTF-8 text ({exc.reason} at byte {exc.start})")


def _text_record(path: Path, text: str) -> ArticleRecord | Rejection:
    import frontmatter

    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # YAML errors come in several types
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Rejection(str(path), f"malformed front matter ({first_line})")
    fields = dict(post.metadata)
    fields["text"] = post.content
    return record_from_fields(
        fields, str(path), date_hint="set 'date: YYYY-MM-DD' in the front matter"
    )


def _iter_json(path: Path, text: str) -> Iterator[ArticleRecord | Rejection]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Rejection(f"{path}:{exc.lineno}", f"malformed JSON ({exc.msg} at column {exc.colno})")
        return
    items = data if isinstance(data, list) else [data]
    for number, item in enumerate(items, start=1):
        location = f"{path}[record {number}]" if isinstance(data, list) else str(path)
        if not isinstance(item, dict):
            yield Rejection(location, "a record must be a JSON object")
            continue
        yield record_from_fields(item, location)


def _iter_jsonl(path: Path) -> Iterator[ArticleRecord | Rejection]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield Rejection(str(path), f"cannot read file ({exc.strerror})")
        return
    with handle:
        for number, raw_line in enumerate(handle, start=1):
            location = f"{path}:{number}"
            line = _decode(raw_line, location)
            if isinstance(line, Rejection):
                yield line
                continue
            if not line.strip():
                continue
            try:
                item = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield Rejection(location, f"malformed JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(item, dict):
                yield Rejection(location, "a record must be a JSON object")
                continue
            yield record_from_fields(item, location)


def record_from_fields(
    fields: dict[str, Any], location: str, date_hint: str = "add a 'date' field (YYYY-MM-DD)"
) -> ArticleRecord | Rejection:
    """Validate one record's fields: text and a publication date are required."""
    text = next((fields[k] for k in TEXT_FIELDS if fields.get(k) is not None), None)
    if not isinstance(text, str) or not text.strip():
        return Rejection(location, "empty text")
    raw_date = next((fields[k] for k in DATE_FIELDS if fields.get(k) not in (None, "")), None)
    if raw_date is None:
        return Rejection(location, f"missing publication date ({date_hint})")
    published = parse_date(raw_date)
    if published is None:
        return Rejection(
            location, f"unreadable publication date {str(raw_date)!r} (use YYYY-MM-DD)"
        )
    return ArticleRecord(
        location=location,
        text=text.strip(),
        published_at=published,
        title=_optional(fields.get("title")),
        source=_optional(fields.get("source") or fields.get("outlet")),
        url=_optional(fields.get("url")),
        language=_optional(fields.get("language")) or "en",
    )


def _optional(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_date(value: Any) -> date | None:
    """A date from a YAML/TOML date, an ISO date or an ISO timestamp (its own calendar day)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


# ---------------------------------------------------------------- near duplicates


_WORD = re.compile(r"\w+")


def text_minhash(text: str) -> Any:
    from datasketch import MinHash

    words = _WORD.findall(normalise_text(text))
    shingles = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
    minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=7, scheme=MINHASH_SCHEME)
    minhash.update_batch([s.encode() for s in shingles])
    return minhash


def _minhash_bytes(minhash: Any) -> bytes:
    return bytes(minhash.hashvalues.astype("<u8").tobytes())


def _minhash_from_bytes(raw: bytes) -> Any:
    import numpy as np
    from datasketch import MinHash

    return MinHash(
        num_perm=MINHASH_PERMUTATIONS,
        seed=7,
        hashvalues=np.frombuffer(raw, "<u8"),
        scheme=MINHASH_SCHEME,
    )


def find_wire_original(session: Session, minhash: Any, published: date) -> int | None:
    """The earliest stored article whose text is a near copy of this one, if any."""
    window = timedelta(days=NEAR_DUPLICATE_DAYS)
    rows = session.execute(
        select(Article.id, Article.duplicate_of, Article.minhash)
        .where(Article.published_at.between(published - window, published + window))
        .where(Article.minhash.is_not(None))
        .order_by(Article.published_at, Article.id)
    )
    for article_id, duplicate_of, raw in rows:
        if raw and minhash.jaccard(_minhash_from_bytes(raw)) >= NEAR_DUPLICATE_THRESHOLD:
            return int(duplicate_of or article_id)
    return None


# ---------------------------------------------------------------- storing


def ingest_paths(
    session: Session,
    paths: Iterable[str | Path],
    *,
    run_id: int | None = None,
    strict: bool = False,
    on_record: Callable[[], None] | None = None,
) -> IngestResult:
    """Store every good record from `paths`; report and skip the bad ones.

    With `strict`, a first pass validates everything and any bad record aborts before a
    single article is written.
    """
    files = list(iter_input_files(paths))
    if strict:
        for path in files:
            for item in iter_records(path):
                if isinstance(item, Rejection):
                    raise IngestError(f"{item} (--strict: nothing was ingested)")
    result = IngestResult()
    pending = 0
    for path in files:
        for item in iter_records(path):
            result.read += 1
            if on_record:
                on_record()
            if isinstance(item, Rejection):
                result.rejected.append(item)
                session.add(
                    RejectedInput(
                        run_id=run_id,
                        location=item.location,
                        reason=item.reason,
                        created_at=utcnow(),
                    )
                )
            else:
                _store_record(session, item, result, run_id)
            pending += 1
            if pending >= BATCH_SIZE:
                session.commit()
                pending = 0
    session.commit()
    return result


def _store_record(
    session: Session, record: ArticleRecord, result: IngestResult, run_id: int | None
) -> None:
    digest = content_hash(record.text)
    if session.scalar(select(Article.id).where(Article.content_hash == digest)) is not None:
        result.duplicates += 1
        return
    minhash = text_minhash(record.text)
    original = find_wire_original(session, minhash, record.published_at)
    if original is not None:
        result.wire_copies += 1
    session.add(
        Article(
            url=record.url,
            title=record.title,
            source=record.source,
            published_at=record.published_at,
            language=record.language,
            text=record.text,
            content_hash=digest,
            origin=record.location,
            ingested_at=utcnow(),
            run_id=run_id,
            duplicate_of=original,
            minhash=_minhash_bytes(minhash),
        )
    )
    # Flush so later records in the same batch see this one (duplicates, wire copies).
    session.flush()
    result.added += 1
