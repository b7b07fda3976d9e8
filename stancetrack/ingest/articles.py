"""Storing parsed records as articles: duplicates skipped, wire copies linked, batches committed.

A batch is one short write transaction: the exact-duplicate check, the wire-copy lookup and the
inserts of up to `BATCH_SIZE` records, so an interrupted ingest keeps every finished batch and
a concurrent writer waits at most one batch. If the batch cannot be written as a whole (another
process stored the same article a moment earlier, or the database refuses one value), it is
written again record by record, each in its own savepoint, so one bad record never costs the
good ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from stancetrack.ingest.dedupe import (
    Fingerprint,
    StoredCandidate,
    fingerprint,
    stored_candidates,
    wire_original,
)
from stancetrack.ingest.records import ArticleRecord, Rejection, Skipped
from stancetrack.models import Article, ArticleBand, RejectedInput
from stancetrack.store import utcnow

BATCH_SIZE = 200


@dataclass
class IngestResult:
    read: int = 0
    added: int = 0
    duplicates: int = 0
    wire_copies: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "articles_read": self.read,
            "articles_added": self.added,
            "duplicates_skipped": self.duplicates,
            "wire_copies": self.wire_copies,
            "rejected_inputs": len(self.rejected),
            "files_skipped": len(self.skipped),
        }


def store_items(
    session: Session,
    items: Iterable[ArticleRecord | Rejection | Skipped],
    result: IngestResult,
    *,
    run_id: int | None = None,
    on_record: Callable[[], None] | None = None,
    on_batch: Callable[[], None] | None = None,
) -> None:
    """Store every record, record every rejection, count every skipped file."""
    batch: list[ArticleRecord | Rejection] = []
    for item in items:
        if isinstance(item, Skipped):
            result.skipped.append(item)
            continue
        result.read += 1
        if on_record:
            on_record()
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            _write_batch(session, batch, result, run_id, on_batch)
            batch = []
    if batch:
        _write_batch(session, batch, result, run_id, on_batch)


def _write_batch(
    session: Session,
    batch: list[ArticleRecord | Rejection],
    result: IngestResult,
    run_id: int | None,
    on_batch: Callable[[], None] | None,
) -> None:
    # Fingerprints are pure CPU work: done before the transaction so the lock is held briefly.
    prints = {
        id(item): fingerprint(item.text, item.published_at)
        for item in batch
        if isinstance(item, ArticleRecord)
    }
    outcome = _BatchOutcome()
    try:
        _insert_batch(session, batch, prints, outcome, run_id, savepoints=False)
        if on_batch:
            on_batch()
        session.commit()
    except (IntegrityError, DBAPIError) as exc:
        if not isinstance(exc, IntegrityError) and _connection_problem(exc):
            raise
        session.rollback()
        outcome = _BatchOutcome()
        _insert_batch(session, batch, prints, outcome, run_id, savepoints=True)
        if on_batch:
            on_batch()
        session.commit()
    result.added += outcome.added
    result.duplicates += outcome.duplicates
    result.wire_copies += outcome.wire_copies
    result.rejected += outcome.rejected


def _connection_problem(exc: DBAPIError) -> bool:
    """Errors about the database as a whole (locked, read-only, gone), not about one record."""
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return bool(exc.connection_invalidated) or any(
        word in text for word in ("locked", "readonly", "read-only", "disk", "connection")
    )


@dataclass
class _BatchOutcome:
    added: int = 0
    duplicates: int = 0
    wire_copies: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _insert_batch(
    session: Session,
    batch: list[ArticleRecord | Rejection],
    prints: dict[int, Fingerprint],
    outcome: _BatchOutcome,
    run_id: int | None,
    *,
    savepoints: bool,
) -> None:
    hashes = {p.content_hash for p in prints.values()}
    stored = set(
        session.scalars(select(Article.content_hash).where(Article.content_hash.in_(hashes)))
    )
    candidates = stored_candidates(session, list(prints.values()))
    new: list[tuple[ArticleRecord, Fingerprint, int | None]] = []
    for item in batch:
        if isinstance(item, Rejection):
            outcome.rejected.append(item)
            _add_rejection(session, item, run_id)
            continue
        print_ = prints[id(item)]
        if print_.content_hash in stored:
            outcome.duplicates += 1
            continue
        stored.add(print_.content_hash)
        if not savepoints:
            new.append(_plan_article(item, print_, candidates, len(new)))
            continue
        try:
            with session.begin_nested():
                _add_article(session, item, print_, candidates, outcome, run_id)
        except IntegrityError:
            # Another process stored the same text between our check and our insert.
            outcome.duplicates += 1
        except DBAPIError as exc:
            if _connection_problem(exc):
                raise
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            rejection = Rejection(item.location, f"the database refused the record ({reason})")
            outcome.rejected.append(rejection)
            _add_rejection(session, rejection, run_id)
    if new:
        _insert_planned(session, new, outcome, run_id)
    session.flush()


def _plan_article(
    record: ArticleRecord, print_: Fingerprint, candidates: list[StoredCandidate], index: int
) -> tuple[ArticleRecord, Fingerprint, int | None]:
    """Decide the article's wire original now; an original earlier in this batch gets the
    placeholder id -(its index + 1) until the batch is inserted."""
    original = wire_original(print_, candidates)
    duplicate_of = (original.duplicate_of or original.article_id) if original else None
    candidates.append(
        StoredCandidate(
            -(index + 1), duplicate_of, print_.published_at, print_.minhash, frozenset(print_.bands)
        )
    )
    return record, print_, duplicate_of


def _insert_planned(
    session: Session,
    planned: list[tuple[ArticleRecord, Fingerprint, int | None]],
    outcome: _BatchOutcome,
    run_id: int | None,
) -> None:
    """Insert a batch's new articles in two statements (originals, then copies of originals in
    the same batch) and all their bands in one."""
    now = utcnow()
    ids: dict[int, int] = {}
    first = [i for i, (_, _, dup) in enumerate(planned) if dup is None or dup > 0]
    later = [i for i, (_, _, dup) in enumerate(planned) if dup is not None and dup < 0]
    for group in (first, later):
        if not group:
            continue
        rows = []
        for i in group:
            record, print_, dup = planned[i]
            rows.append(
                {
                    "url": record.url,
                    "title": record.title,
                    "source": record.source,
                    "published_at": record.published_at,
                    "published_time": record.published_time,
                    "language": record.language,
                    "text": record.text,
                    "content_hash": print_.content_hash,
                    "origin": record.location[:2000],
                    "ingested_at": now,
                    "run_id": run_id,
                    "duplicate_of": ids[-dup - 1] if dup is not None and dup < 0 else dup,
                    "minhash": print_.minhash,
                }
            )
        inserted = session.scalars(
            insert(Article).returning(Article.id, sort_by_parameter_order=True), rows
        ).all()
        ids.update(zip(group, inserted, strict=True))
    session.execute(
        insert(ArticleBand),
        [
            {"article_id": ids[i], "band": band, "band_hash": key}
            for i, (_, print_, _) in enumerate(planned)
            for band, key in enumerate(print_.bands)
        ],
    )
    outcome.added += len(planned)
    outcome.wire_copies += sum(dup is not None for _, _, dup in planned)


def _add_article(
    session: Session,
    record: ArticleRecord,
    print_: Fingerprint,
    candidates: list[StoredCandidate],
    outcome: _BatchOutcome,
    run_id: int | None,
) -> None:
    original = wire_original(print_, candidates)
    article = Article(
        url=record.url,
        title=record.title,
        source=record.source,
        published_at=record.published_at,
        published_time=record.published_time,
        language=record.language,
        text=record.text,
        content_hash=print_.content_hash,
        origin=record.location[:2000],
        ingested_at=utcnow(),
        run_id=run_id,
        duplicate_of=(original.duplicate_of or original.article_id) if original else None,
        minhash=print_.minhash,
    )
    session.add(article)
    session.flush()  # its id: later records of this batch may be its wire copies
    session.execute(
        insert(ArticleBand),
        [
            {"article_id": article.id, "band": band, "band_hash": key}
            for band, key in enumerate(print_.bands)
        ],
    )
    candidates.append(
        StoredCandidate(
            article.id,
            article.duplicate_of,
            record.published_at,
            print_.minhash,
            frozenset(print_.bands),
        )
    )
    outcome.added += 1
    if original is not None:
        outcome.wire_copies += 1


def _add_rejection(session: Session, rejection: Rejection, run_id: int | None) -> None:
    session.add(
        RejectedInput(
            run_id=run_id,
            location=rejection.location[:2000],
            reason=rejection.reason,
            created_at=utcnow(),
        )
    )
