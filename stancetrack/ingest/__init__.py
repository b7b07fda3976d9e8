"""Ingest: dated articles from files, web pages, feeds and URLs into the `articles` table.

One module per source kind: `files` (text/Markdown with front matter, JSON, JSON Lines, gzip),
`web` (saved HTML pages), `feeds` (RSS/Atom), `fetch` (URLs over HTTP); `records` holds the
rules every record must meet, `dedupe` the duplicate and wire-copy checks, and `articles` the
batched, fault-isolated writes. A bad record is reported with its file and line (or record
number, or URL) and skipped; nothing already stored is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sqlalchemy.orm import Session

from stancetrack.errors import IngestError
from stancetrack.ingest.articles import BATCH_SIZE, IngestResult, store_items
from stancetrack.ingest.dedupe import content_hash, normalise_text
from stancetrack.ingest.files import SUPPORTED_SUFFIXES, iter_input_files, iter_records
from stancetrack.ingest.records import (
    ArticleRecord,
    Rejection,
    Skipped,
    parse_date,
    record_from_fields,
)

__all__ = [
    "BATCH_SIZE",
    "SUPPORTED_SUFFIXES",
    "ArticleRecord",
    "IngestResult",
    "Rejection",
    "Skipped",
    "content_hash",
    "ingest_paths",
    "iter_input_files",
    "iter_path_items",
    "iter_records",
    "normalise_text",
    "parse_date",
    "record_from_fields",
]


def iter_path_items(
    paths: Iterable[str | Path],
) -> Iterator[ArticleRecord | Rejection | Skipped]:
    """Every record, rejection and skipped file under `paths`, in a stable order."""
    for entry in iter_input_files(paths):
        if isinstance(entry, Rejection | Skipped):
            yield entry
        else:
            yield from iter_records(entry)


def ingest_paths(
    session: Session,
    paths: Iterable[str | Path],
    *,
    run_id: int | None = None,
    strict: bool = False,
    on_record: Callable[[], None] | None = None,
    on_batch: Callable[[], None] | None = None,
) -> IngestResult:
    """Store every good record from `paths`; report and skip the bad ones.

    With `strict`, a first pass validates everything and any bad record aborts before a
    single article is written.
    """
    paths = list(paths)
    if strict:
        for item in iter_path_items(paths):
            if isinstance(item, Rejection):
                raise IngestError(f"{item} (--strict: nothing was ingested)")
    result = IngestResult()
    store_items(
        session,
        iter_path_items(paths),
        result,
        run_id=run_id,
        on_record=on_record,
        on_batch=on_batch,
    )
    return result
