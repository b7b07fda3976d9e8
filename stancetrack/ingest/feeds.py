"""Feeds: RSS 2.0, RSS 1.0 and Atom, read with feedparser, as records or pages to fetch.

An entry that carries the article (`content:encoded`, Atom `<content>`) is an article. An entry
with only a summary points at its page: the caller fetches it when fetching is allowed, and
otherwise stores the summary as a short article marked summary-only. feedparser copies
`content` into `summary` when an entry has no separate summary, so "full text" is decided by
`content`, never by the length of `summary`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stancetrack.ingest.records import (
    ArticleRecord,
    BadField,
    Rejection,
    location_of,
    parse_date,
    record_from_fields,
)
from stancetrack.ingest.web import html_to_text

EXTRACTOR = "feed"
NO_DATE = "no publication date in the feed entry"
TITLE_IN_LOCATION = 60  # characters of an entry's title shown in its location


@dataclass(frozen=True, eq=False)
class PageLink:
    """A feed entry whose article is on its page: fetch `url`, or store `fallback` instead.

    `fields` (the entry's title and date) fill in what the fetched page lacks.
    """

    url: str
    location: str  # the entry, as rejections name it
    fallback: ArticleRecord | Rejection
    fields: dict[str, Any] = field(default_factory=dict)


def read_feed_file(path: Path, raw: bytes) -> Iterator[ArticleRecord | Rejection | PageLink]:
    """The entries of one feed file (already read within its size limit)."""
    yield from feed_items(raw, location_of(path))


def feed_items(
    raw: bytes, location: str, *, content_type: str | None = None
) -> Iterator[ArticleRecord | Rejection | PageLink]:
    """Every entry of a feed as a record, a rejection naming the entry, or a page to fetch."""
    import feedparser

    headers = {"content-type": content_type} if content_type else None
    try:
        # A stream, never bytes: feedparser opens bytes that name a file ("/etc/passwd").
        parsed = feedparser.parse(io.BytesIO(raw), response_headers=headers)
    except Exception as exc:  # noqa: BLE001 - the parser's failure on one feed is that feed's
        yield Rejection(location, f"not a feed ({type(exc).__name__}: {exc})")
        return
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        detail = f" ({_first_line(problem)})" if problem else ""
        yield Rejection(location, f"not a feed: no RSS or Atom document{detail}")
        return
    channel = parsed.get("feed", {})
    source = _text(channel.get("title"))
    language = channel.get("language")
    for number, entry in enumerate(parsed.entries, start=1):
        yield _entry_item(entry, number, location, source, language)


def _entry_item(
    entry: Any, number: int, feed_location: str, source: str | None, language: str | None
) -> ArticleRecord | Rejection | PageLink:
    title = _text(entry.get("title"))
    shown = title if not title or len(title) <= TITLE_IN_LOCATION else title[:59] + "…"
    location = f"{feed_location}[entry {number}{': ' + shown if shown else ''}]"
    raw_link = entry.get("link")
    link = raw_link.strip() if isinstance(raw_link, str) else ""
    fetchable = link.lower().startswith(("http://", "https://"))
    fields: dict[str, Any] = {
        "title": title,
        "date": _entry_date(entry),
        "url": link if fetchable else None,
        "source": _text((entry.get("source") or {}).get("title")) or source,
    }
    content = _content(entry)
    if content is not None:
        if not fields["date"]:
            # The feed's text is the article: its page is not fetched just for a date.
            return Rejection(location, NO_DATE)
        fields["text"] = content
        return record_from_fields(
            fields, location, date_hint=NO_DATE, extractor=EXTRACTOR, language_hint=language
        )
    summary = _summary(entry)
    if fields["date"] and summary:
        fallback: ArticleRecord | Rejection = record_from_fields(
            {**fields, "text": summary},
            location,
            extractor=EXTRACTOR,
            summary_only=True,
            language_hint=language,
        )
    elif fields["date"]:
        fallback = Rejection(location, "the feed entry has neither text nor a summary")
    else:
        fallback = Rejection(location, f"{NO_DATE} (and its page was not fetched)")
    if fetchable:
        return PageLink(link, location, fallback, {"title": title, "date": fields["date"]})
    if not fields["date"]:
        return Rejection(location, f"{NO_DATE} and no link to its page")
    return fallback


def _entry_date(entry: Any) -> str | None:
    """The entry's date as the feed wrote it (its offset kept), else feedparser's UTC reading.

    RSS 1.0's `dc:date` arrives as `updated`; an Atom entry may have only `updated`.
    """
    for name in ("published", "updated", "created"):
        raw = entry.get(name)
        if not raw:
            continue
        try:
            parse_date(str(raw))
            return str(raw)
        except BadField:
            parsed = entry.get(f"{name}_parsed")
            if parsed:
                year, month, day, hour, minute, second = parsed[:6]
                return datetime(year, month, day, hour, minute, second, tzinfo=UTC).isoformat()
            return str(raw)  # record_from_fields rejects it with the reason
    return None


def _content(entry: Any) -> str | None:
    """The article text the entry carries, or None for a summary-only entry."""
    bodies = [c for c in entry.get("content") or [] if isinstance(c.get("value"), str)]
    if not bodies:
        return None
    best = max(bodies, key=lambda c: len(c["value"]))
    text = _as_text(best["value"], best.get("type"))
    return text or None


def _summary(entry: Any) -> str | None:
    detail = entry.get("summary_detail") or {}
    value = entry.get("summary")
    if not isinstance(value, str):
        return None
    return _as_text(value, detail.get("type")) or None


def _as_text(value: str, kind: str | None) -> str:
    if kind and "html" not in kind and "xml" not in kind:
        return value.strip()
    return html_to_text(value)


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _first_line(problem: Any) -> str:
    text = str(problem).strip()
    return text.splitlines()[0] if text else type(problem).__name__
