"""Storing parsed records as articles: duplicates skipped, wire copies linked, batches committed.

A batch is one short write transaction: the exact-duplicate check, the wire-copy lookup and the
inserts of up to `BATCH_SIZE` records, so an interrupted ingest keeps every finished batch and
a concurrent writer waits at most one batch. If the batch cannot be written as a whole (another
process stored the same article a moment earlier, or the database refuses one value), it is
written again record by record, each in its own savepoint, so one bad record never costs the
good ones.

Records that do not declare their language get it detected here, before the transaction and
only for articles not stored yet, so a re-run over unchanged input never loads the detector.
URLs fetched for the records are written to the `fetched_urls` seen-set in the same
transaction as the articles they gave, so a run killed in between fetches them again rather
than losing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from stancetrack import store
from stancetrack.ingest.dedupe import (
    Fingerprint,
    StoredCandidate,
    fingerprint,
    stored_candidates,
    wire_original,
)
from stancetrack.ingest.language import DEFAULT_LANGUAGE, detect_language
from stancetrack.ingest.records import ArticleRecord, FetchLog, Rejection, Skipped
from stancetrack.models import Article, ArticleBand, FetchedUrl, RejectedInput
from stancetrack.store import utcnow

BATCH_SIZE = 200
Batched = ArticleRecord | Rejection | FetchLog


@dataclass
class FetchCounts:
    """What the HTTP side of an ingest did (only reported when it fetched anything)."""

    fetched: int = 0  # responses with a body: pages and feeds
    not_modified: int = 0  # feeds answered 304: nothing new, nothing parsed
    already_fetched: int = 0  # URLs the seen-set (or this run) already had: not requested


@dataclass
class IngestResult:
    read: int = 0
    added: int = 0
    duplicates: int = 0
    wire_copies: int = 0
    not_english: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    fetch: FetchCounts | None = None  # set when URLs, feeds or linked pages were involved

    def counts(self) -> dict[str, int]:
        counts = {
            "articles_read": self.read,
            "articles_added": self.added,
            "articles_not_english": self.not_english,
            "duplicates_skipped": self.duplicates,
            "wire_copies": self.wire_copies,
            "rejected_inputs": len(self.rejected),
            "files_skipped": len(self.skipped),
        }
        if self.fetch is not None:
            counts["urls_fetched"] = self.fetch.fetched
            counts["urls_not_modified"] = self.fetch.not_modified
            counts["urls_already_fetched"] = self.fetch.already_fetched
        return counts


def store_items(
    session: Session,
    items: Iterable[ArticleRecord | Rejection | Skipped | FetchLog],
    result: IngestResult,
    *,
    run_id: int | None = None,
    on_record: Callable[[], None] | None = None,
    on_batch: Callable[[], None] | None = None,
) -> None:
    """Store every record, record every rejection, count every skipped file.

    A `FetchLog` on its own (a polled feed) is written with the batch it falls in, after the
    entries before it: a feed's new ETag is only kept once its entries are.
    """
    batch: list[Batched] = []
    for item in items:
        if isinstance(item, Skipped):
            result.skipped.append(item)
            continue
        if not isinstance(item, FetchLog):
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
    batch: list[Batched],
    result: IngestResult,
    run_id: int | None,
    on_batch: Callable[[], None] | None,
) -> None:
    # Fingerprints and languages are pure CPU work: done before the transaction so the lock
    # is held briefly.
    prints = {
        id(item): fingerprint(item.text, item.published_at)
        for item in batch
        if isinstance(item, ArticleRecord)
    }
    languages = _detect_new_languages(session, batch, prints)
    outcome = _BatchOutcome()
    try:
        _insert_batch(session, batch, prints, languages, outcome, run_id, savepoints=False)
        if on_batch:
            on_batch()
        session.commit()
    except (IntegrityError, DBAPIError) as exc:
        if not isinstance(exc, IntegrityError) and _connection_problem(exc):
            raise
        session.rollback()
        outcome = _BatchOutcome()
        _insert_batch(session, batch, prints, languages, outcome, run_id, savepoints=True)
        if on_batch:
            on_batch()
        session.commit()
    result.added += outcome.added
    result.duplicates += outcome.duplicates
    result.wire_copies += outcome.wire_copies
    result.not_english += outcome.not_english
    result.rejected += outcome.rejected


def _detect_new_languages(
    session: Session, batch: list[Batched], prints: dict[int, Fingerprint]
) -> dict[int, str]:
    """The language of each record that declares none and is not stored yet, by record id.

    The stored texts are looked up on a read-only connection, which takes no write lock.
    """
    undeclared = [
        item for item in batch if isinstance(item, ArticleRecord) and item.language is None
    ]
    if not undeclared:
        return {}
    hashes = {prints[id(item)].content_hash for item in undeclared}
    with store.session_scope(session.get_bind(), read_only=True) as reader:  # type: ignore[arg-type]
        stored = set(
            reader.scalars(select(Article.content_hash).where(Article.content_hash.in_(hashes)))
        )
    return {
        id(item): _language_of(item)
        for item in undeclared
        if prints[id(item)].content_hash not in stored
    }


def _language_of(record: ArticleRecord, detected: dict[int, str] | None = None) -> str:
    if record.language:
        return record.language
    if detected and id(record) in detected:
        return detected[id(record)]
    return detect_language(record.text, record.language_hint)


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
    not_english: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def _insert_batch(
    session: Session,
    batch: list[Batched],
    prints: dict[int, Fingerprint],
    languages: dict[int, str],
    outcome: _BatchOutcome,
    run_id: int | None,
    *,
    savepoints: bool,
) -> None:
    hashes = {p.content_hash for p in prints.values()}
    stored: dict[str, int | None] = dict(
        session.execute(
            select(Article.content_hash, Article.id).where(Article.content_hash.in_(hashes))
        ).all()
    )
    candidates = stored_candidates(session, list(prints.values()))
    new: list[tuple[ArticleRecord, Fingerprint, int | None, str]] = []
    # URLs fetched for this batch's items, with the record whose article they gave.
    fetches: list[tuple[FetchLog, ArticleRecord | None]] = []
    for item in batch:
        if isinstance(item, FetchLog):
            fetches.append((item, None))
            continue
        if isinstance(item, Rejection):
            outcome.rejected.append(item)
            _add_rejection(session, item, run_id)
            if item.fetched is not None:
                fetches.append((item.fetched, None))
            continue
        if item.fetched is not None:
            fetches.append((item.fetched, item))
        print_ = prints[id(item)]
        if print_.content_hash in stored:
            outcome.duplicates += 1
            continue
        stored[print_.content_hash] = None  # a later copy in this batch is a duplicate
        language = _language_of(item, languages)
        if not savepoints:
            new.append((*_plan_article(item, print_, candidates, len(new)), language))
            continue
        try:
            with session.begin_nested():
                _add_article(session, item, print_, language, candidates, outcome, run_id)
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
    if fetches:
        _log_fetches(session, fetches, prints, run_id)


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
    planned: list[tuple[ArticleRecord, Fingerprint, int | None, str]],
    outcome: _BatchOutcome,
    run_id: int | None,
) -> None:
    """Insert a batch's new articles in two statements (originals, then copies of originals in
    the same batch) and all their bands in one."""
    now = utcnow()
    ids: dict[int, int] = {}
    first = [i for i, (_, _, dup, _) in enumerate(planned) if dup is None or dup > 0]
    later = [i for i, (_, _, dup, _) in enumerate(planned) if dup is not None and dup < 0]
    for group in (first, later):
        if not group:
            continue
        rows = []
        for i in group:
            record, print_, dup, language = planned[i]
            rows.append(
                {
                    "url": record.url,
                    "title": record.title,
                    "source": record.source,
                    "published_at": record.published_at,
                    "published_time": record.published_time,
                    "language": language,
                    "text": record.text,
                    "content_hash": print_.content_hash,
                    "origin": record.location[:2000],
                    "extractor": record.extractor,
                    "summary_only": record.summary_only,
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
            for i, (_, print_, _, _) in enumerate(planned)
            for band, key in enumerate(print_.bands)
        ],
    )
    outcome.added += len(planned)
    outcome.wire_copies += sum(dup is not None for _, _, dup, _ in planned)
    outcome.not_english += sum(language != DEFAULT_LANGUAGE for *_, language in planned)


def _add_article(
    session: Session,
    record: ArticleRecord,
    print_: Fingerprint,
    language: str,
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
        language=language,
        text=record.text,
        content_hash=print_.content_hash,
        origin=record.location[:2000],
        extractor=record.extractor,
        summary_only=record.summary_only,
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
    outcome.not_english += language != DEFAULT_LANGUAGE
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


def _log_fetches(
    session: Session,
    fetches: list[tuple[FetchLog, ArticleRecord | None]],
    prints: dict[int, Fingerprint],
    run_id: int | None,
) -> None:
    """Upsert the batch's fetched URLs into the seen-set, linked to the articles they gave."""
    hashes = {prints[id(record)].content_hash for _, record in fetches if record is not None}
    article_ids: dict[str, int] = dict(
        session.execute(
            select(Article.content_hash, Article.id).where(Article.content_hash.in_(hashes))
        ).all()
    )
    now = utcnow()
    rows: dict[str, dict[str, object]] = {}
    for log, record in fetches:
        rows[log.url] = {
            "url": log.url[:2000],
            "final_url": (log.final_url or "")[:2000] or None,
            "kind": log.kind,
            "status": log.status,
            "etag": (log.etag or "")[:300] or None,
            "last_modified": (log.last_modified or "")[:100] or None,
            "fetched_at": now,
            "article_id": (
                article_ids.get(prints[id(record)].content_hash) if record is not None else None
            ),
            "error": log.error,
            "retry": log.retry,
            "run_id": run_id,
        }
    statement = _upsert(session)
    excluded = statement.excluded
    kept = FetchedUrl.__table__.c
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[FetchedUrl.url],
            set_={
                "final_url": func.coalesce(excluded.final_url, kept.final_url),
                "kind": excluded.kind,
                "status": excluded.status,
                # A failed poll keeps the validators of the last good response.
                "etag": func.coalesce(excluded.etag, kept.etag),
                "last_modified": func.coalesce(excluded.last_modified, kept.last_modified),
                "fetched_at": excluded.fetched_at,
                "article_id": func.coalesce(excluded.article_id, kept.article_id),
                "error": excluded.error,
                "retry": excluded.retry,
                "run_id": excluded.run_id,
            },
        ),
        list(rows.values()),
    )


def _upsert(session: Session) -> Any:  # the dialect's Insert, with ON CONFLICT
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(FetchedUrl)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(FetchedUrl)
