"""Ingest: dated articles from files, web pages, feeds and URLs into the `articles` table.

One module per source kind: `files` (text/Markdown with front matter, JSON, JSON Lines, gzip,
and the dispatch of saved pages and feed files), `web` (HTML pages), `feeds` (RSS/Atom),
`fetch` (URLs over HTTP) and `language` (which language an article is in); `records` holds
the rules every record must meet, `dedupe` the duplicate and wire-copy checks, and `articles`
the batched, fault-isolated writes. A bad record is reported with its file and line (or
record number, feed entry or URL) and skipped; nothing already stored is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from stancetrack.errors import IngestError
from stancetrack.ingest.articles import BATCH_SIZE, FetchCounts, IngestResult, store_items
from stancetrack.ingest.dedupe import content_hash, normalise_text
from stancetrack.ingest.feeds import PageLink, feed_items
from stancetrack.ingest.fetch import (
    Failure,
    Fetcher,
    FetchSettings,
    NotModified,
    Response,
    Seen,
    SeenUrls,
    normalise_url,
    read_url_list,
)
from stancetrack.ingest.files import SUPPORTED_SUFFIXES, iter_input_files, iter_records
from stancetrack.ingest.records import (
    ArticleRecord,
    FetchLog,
    Rejection,
    Skipped,
    parse_date,
    record_from_fields,
)
from stancetrack.ingest.web import page_record

__all__ = [
    "BATCH_SIZE",
    "SUPPORTED_SUFFIXES",
    "ArticleRecord",
    "FetchSettings",
    "IngestResult",
    "Rejection",
    "Skipped",
    "WebSources",
    "content_hash",
    "ingest_paths",
    "iter_input_files",
    "iter_path_items",
    "iter_records",
    "normalise_text",
    "parse_date",
    "record_from_fields",
]

Item = ArticleRecord | Rejection | Skipped | FetchLog


@dataclass(frozen=True)
class WebSources:
    """What to read over HTTP besides files: URL lists (`--urls`) and the watchlist's [sources].

    `urls` are pages (or feeds) fetched once; `feeds` are polled on every run.
    """

    url_files: tuple[Path, ...] = ()
    urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.url_files or self.urls or self.feeds)


def iter_path_items(
    paths: Iterable[str | Path],
) -> Iterator[ArticleRecord | Rejection | Skipped | PageLink]:
    """Every record, rejection, skipped file and feed entry's page link under `paths`, in a
    stable order. Nothing is fetched: `PageLink`s are for the caller to resolve."""
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
    sources: WebSources | None = None,
    fetch: FetchSettings | None = None,
) -> IngestResult:
    """Store every good record from `paths` and `sources`; report and skip the bad ones.

    Without `fetch` nothing goes over the network: a summary-only feed entry is stored as its
    summary and `sources` are read with the default `FetchSettings`. With `strict`, a first
    pass validates everything and any bad record aborts before a single article is written
    (what was fetched is held in memory between the passes, so nothing is fetched twice).
    """
    paths = list(paths)
    sources = sources or WebSources()
    web = _Web(session, fetch or FetchSettings()) if (fetch is not None or sources) else None
    result = IngestResult()
    try:
        items = _strict_items(paths, sources, web) if strict else _all_items(paths, sources, web)
        store_items(session, items, result, run_id=run_id, on_record=on_record, on_batch=on_batch)
    finally:
        if web is not None:
            web.close()
    if web is not None and web.used:
        result.fetch = web.counts
    return result


def _all_items(paths: list[str | Path], sources: WebSources, web: _Web | None) -> Iterator[Item]:
    yield from _resolve(iter_path_items(paths), web)
    if web is not None and sources:
        yield from web.source_items(sources)


def _strict_items(paths: list[str | Path], sources: WebSources, web: _Web | None) -> Iterator[Item]:
    """Everything, once all of it has been validated: files are read twice (streamed), what
    came over the network is kept from the first pass."""
    fetched: list[list[Item]] = []  # what each feed entry's page link gave, in order
    for item in iter_path_items(paths):
        if isinstance(item, PageLink):
            resolved: list[Item] = list(_resolve([item], web))
            fetched.append(resolved)
            _refuse_rejections(resolved)
        else:
            _refuse_rejections([item])
    from_sources = list(web.source_items(sources)) if web is not None and sources else []
    _refuse_rejections(from_sources)
    links = iter(fetched)
    return _second_pass(paths, links, from_sources)


def _second_pass(
    paths: list[str | Path], links: Iterator[list[Item]], from_sources: list[Item]
) -> Iterator[Item]:
    for item in iter_path_items(paths):
        if isinstance(item, PageLink):
            yield from next(links)
        else:
            yield item
    yield from from_sources


def _refuse_rejections(items: Iterable[Item | PageLink]) -> None:
    for item in items:
        if isinstance(item, Rejection):
            raise IngestError(f"{item} (--strict: nothing was ingested)")


def _resolve(
    items: Iterable[ArticleRecord | Rejection | Skipped | PageLink], web: _Web | None
) -> Iterator[ArticleRecord | Rejection | Skipped | FetchLog]:
    for item in items:
        if not isinstance(item, PageLink):
            yield item
        elif web is None:
            yield item.fallback
        else:
            yield from web.page_link(item)


class _Web:
    """The HTTP side of one ingest: fetches what is new, remembers what this run saw."""

    def __init__(self, session: Session, settings: FetchSettings) -> None:
        self.settings = settings
        self.fetcher = Fetcher(settings)
        self.seen = SeenUrls(session.get_bind())
        self.this_run: set[str] = set()  # URLs requested (or skipped as known) by this run
        self.counts = FetchCounts()
        self.used = False

    def close(self) -> None:
        self.fetcher.close()

    def source_items(self, sources: WebSources) -> Iterator[Item]:
        for path in sources.url_files:
            for entry in read_url_list(Path(path)):
                if isinstance(entry, Rejection):
                    yield entry
                else:
                    yield from self.url_items(entry)
        for url in sources.urls:
            yield from self.url_items(normalise_url(url))
        for url in sources.feeds:
            yield from self.feed_url_items(normalise_url(url))

    # ------------------------------------------------------------ what to fetch

    def _known(self, url: str, seen: dict[str, Seen] | None = None) -> Seen | None:
        self.used = True
        found = seen if seen is not None else self.seen.lookup([url])
        return found.get(url)

    def _skip(self, url: str, known: Seen | None) -> bool:
        """Whether `url` needs no request: this run had it, or the seen-set settled it."""
        if url in self.this_run or (known is not None and known.settled):
            self.counts.already_fetched += 1
            self.this_run.add(url)
            return True
        self.this_run.add(url)
        return False

    def page_link(self, link: PageLink, seen: dict[str, Seen] | None = None) -> Iterator[Item]:
        """A summary-only feed entry: its page, fetched once; or its summary, without fetching."""
        if not self.settings.fetch_pages:
            yield link.fallback
            return
        url = normalise_url(link.url)
        if self._skip(url, self._known(url, seen)):
            return
        yield self._page(url, self.fetcher.get(url, expect="page"), link.fields)

    def url_items(self, url: str) -> Iterator[Item]:
        """A URL from a list: a page fetched once, or a feed (then polled like [sources] feeds)."""
        known = self._known(url)
        if known is not None and known.kind == "feed":
            yield from self.feed_url_items(url, known)
            return
        if self._skip(url, known):
            return
        outcome = self.fetcher.get(url, expect="any")
        if isinstance(outcome, Response) and outcome.kind == "feed":
            yield from self._feed_response(outcome)
        else:
            yield self._page(url, outcome, None)

    def feed_url_items(self, url: str, known: Seen | None = None) -> Iterator[Item]:
        """A feed, polled with the validators of its last response: a 304 costs nothing."""
        if url in self.this_run:
            return
        self.this_run.add(url)
        known = known or self._known(url)
        outcome = self.fetcher.get(
            url,
            expect="feed",
            etag=known.etag if known else None,
            last_modified=known.last_modified if known else None,
        )
        if isinstance(outcome, NotModified):
            self.counts.not_modified += 1
            yield FetchLog(url, "feed", outcome.final_url, 304)
        elif isinstance(outcome, Failure):
            yield Rejection(url, outcome.reason, fetched=_failed(outcome, "feed"))
        else:
            yield from self._feed_response(outcome)

    # ------------------------------------------------------------ what came back

    def _feed_response(self, response: Response) -> Iterator[Item]:
        self.counts.fetched += 1
        entries = list(feed_items(response.body, response.url, content_type=response.content_type))
        links = [normalise_url(e.url) for e in entries if isinstance(e, PageLink)]
        seen = self.seen.lookup(links) if links and self.settings.fetch_pages else {}
        error = None
        for entry in entries:
            if isinstance(entry, PageLink):
                yield from self.page_link(entry, seen)
            else:
                if isinstance(entry, Rejection) and entry.location == response.url:
                    error = entry.reason  # the feed as a whole, not one of its entries
                yield entry
        # After its entries: the feed's validators are kept only once they are stored.
        yield FetchLog(
            response.url,
            "feed",
            response.final_url,
            response.status,
            response.etag,
            response.last_modified,
            error=error,
        )

    def _page(
        self,
        url: str,
        outcome: Response | NotModified | Failure,
        fields: dict[str, Any] | None,
    ) -> ArticleRecord | Rejection:
        if isinstance(outcome, Failure):
            return Rejection(url, outcome.reason, fetched=_failed(outcome, "page"))
        if isinstance(outcome, NotModified):  # no validators were sent: a broken server
            reason = "HTTP 304 Not Modified to an unconditional request"
            return Rejection(url, reason, fetched=FetchLog(url, "page", url, 304, error=reason))
        self.counts.fetched += 1
        log = FetchLog(
            url, "page", outcome.final_url, outcome.status, outcome.etag, outcome.last_modified
        )
        record = page_record(
            outcome.body, url, url=outcome.final_url, charset=outcome.charset, fallback=fields
        )
        if isinstance(record, Rejection):
            return replace(record, fetched=replace(log, error=record.reason))
        return replace(record, fetched=log)


def _failed(outcome: Failure, kind: str) -> FetchLog:
    return FetchLog(
        outcome.url,
        kind,
        outcome.final_url,
        outcome.status,
        error=outcome.reason,
        retry=outcome.retry,
    )
