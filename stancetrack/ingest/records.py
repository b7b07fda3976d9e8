"""Input records: what one article must carry, checked field by field, and the limits we set.

Every reader (files, web pages, feeds) turns its input into fields and calls
`record_from_fields`, so every source gets the same rules and the same one-line reasons.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

# Documented limits (README, "Input formats"): past them an input is rejected with its reason.
MAX_ARTICLE_CHARS = 500_000  # about 80,000 words; longer "articles" are dumps, not news
MAX_DOCUMENT_BYTES = 20 * 2**20  # one .md/.txt/.html file (a saved page carries its markup)
MAX_JSON_BYTES = 200 * 2**20  # one .json file (a list of records is read whole)
MAX_LINE_BYTES = 10 * 2**20  # one JSON Lines record
MAX_FRONT_MATTER_BYTES = 64 * 2**10
MAX_NESTING = 32  # levels of JSON objects/lists inside one record
EARLIEST_DATE = date(1990, 1, 1)  # before the web; a date before it is a broken field
FUTURE_SLACK = timedelta(days=1)  # time zones ahead of UTC

DATE_FIELDS = ("published_at", "date", "published", "pubdate")
TEXT_FIELDS = ("text", "body", "content")
FIELD_LIMITS = {"title": 1000, "source": 300}
MAX_URL_CHARS = 2000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
)


@dataclass(frozen=True)
class FetchLog:
    """One URL requested over HTTP, as the `fetched_urls` seen-set records it."""

    url: str
    kind: str  # "page" or "feed"
    final_url: str | None = None
    status: int | None = None  # HTTP status; None when no response came
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    retry: bool = False  # a failure that may pass (timeout, 5xx, robots.txt): try next run


@dataclass(frozen=True)
class ArticleRecord:
    """One parsed input record, before it is stored."""

    location: str
    text: str
    published_at: date  # publication date in UTC
    title: str | None = None
    source: str | None = None
    url: str | None = None
    # As the record declares it; None: detected from the text when the article is stored.
    language: str | None = None
    published_time: str | None = None  # ISO 8601 timestamp with its offset, if the source had one
    extractor: str | None = None  # "front-matter", "json", "feed", "trafilatura 2.3.1"
    summary_only: bool = False  # a feed entry's summary standing in for its unfetched page
    language_hint: str | None = None  # a page's <html lang>: used when detection is unsure
    fetched: FetchLog | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Rejection:
    location: str
    reason: str
    fetched: FetchLog | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass(frozen=True)
class Skipped:
    """A file met while walking a folder that is not an input (unsupported type, hidden)."""

    location: str
    reason: str


class BadField(ValueError):
    """A field that cannot be used; its message is the rejection reason."""


def location_of(path: os.PathLike[str] | str) -> str:
    """A printable, storable name for a path, even one whose bytes are not valid UTF-8."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def parse_date(value: Any, today: date | None = None) -> tuple[date, str | None]:
    """(publication date in UTC, the timestamp as given with its offset, or None).

    Takes YAML/TOML dates and timestamps, ISO 8601 dates and timestamps, and RFC 2822 dates
    (feeds, e-mail). A timestamp without an offset is read as UTC. Anything else, a date in
    the future or before 1990 raises `BadField` with the reason.
    """
    moment: datetime | None = None
    day: date
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        moment, day = _parse_date_text(value.strip())
    else:
        raise BadField(f"publication date must be text like YYYY-MM-DD, not {_kind(value)}")
    stamp = None
    if moment is not None:
        if moment.tzinfo is not None:
            stamp = moment.isoformat()
            moment = moment.astimezone(UTC)
        else:
            stamp = moment.isoformat()
        day = moment.date()
    _check_range(day, today)
    return day, stamp


def _parse_date_text(text: str) -> tuple[datetime | None, date]:
    shown = text if len(text) <= 40 else text[:40] + "..."
    if _ISO_DATE.fullmatch(text):
        try:
            if len(text) == 10:
                return None, date.fromisoformat(text)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(",", "."))
            return moment, moment.date()
        except ValueError as exc:
            raise BadField(f"unreadable publication date {shown!r} ({exc})") from None
    if re.match(r"^[A-Za-z]{3},? ", text) or re.match(r"^\d{1,2} [A-Za-z]{3} \d{4}", text):
        try:
            parsed: datetime | None = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is not None:
            return parsed, parsed.date()
    raise BadField(
        f"unreadable publication date {shown!r} (use YYYY-MM-DD or an ISO 8601 timestamp)"
    )


def _check_range(day: date, today: date | None) -> None:
    today = today or datetime.now(UTC).date()
    if day < EARLIEST_DATE:
        raise BadField(f"publication date {day.isoformat()} is before {EARLIEST_DATE.year}")
    if day > today + FUTURE_SLACK:
        raise BadField(f"publication date {day.isoformat()} is in the future")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true/false"}.get(
        type(value), f"a {type(value).__name__}"
    )


def clean_text(value: str, field: str) -> str:
    """NFC-normalised text without control characters; unpaired surrogates are refused.

    NFC makes "Mu\\u0308ller" and "Müller" the same string, so matching and offsets agree.
    """
    bad = _SURROGATE.search(value)
    if bad:
        raise BadField(
            f"{field} holds an unpaired surrogate ({bad.group(0).encode('unicode_escape').decode()}"
            f" at character {bad.start()}): not valid Unicode"
        )
    return unicodedata.normalize("NFC", _CONTROL.sub("", value))


def _optional_text(fields: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise BadField(f"'{name}' must be text, not {_kind(value)}")
        text = " ".join(clean_text(str(value), f"'{name}'").split())
        if text:
            return text
    return None


def depth_of(value: Any, limit: int = MAX_NESTING) -> int:
    """Nesting depth of a parsed JSON value, counting no further than `limit + 1`."""
    if isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return 0
    if limit <= 0:
        return 1
    return 1 + max((depth_of(child, limit - 1) for child in children), default=0)


def record_from_fields(
    fields: dict[str, Any],
    location: str,
    date_hint: str = "add a 'date' field (YYYY-MM-DD)",
    today: date | None = None,
    *,
    extractor: str | None = None,
    summary_only: bool = False,
    language_hint: str | None = None,
) -> ArticleRecord | Rejection:
    """Validate one record's fields: text and a publication date are required."""
    try:
        record = _record(fields, location, date_hint, today)
    except BadField as exc:
        return Rejection(location, str(exc))
    return replace(
        record,
        extractor=extractor,
        summary_only=summary_only,
        language_hint=language_code(language_hint),
    )


def language_code(value: Any) -> str | None:
    """The ISO 639 code of "en", "EN-us" or "en_GB"; None for what is not a language code."""
    if not isinstance(value, str):
        return None
    code = re.split(r"[-_]", value.strip().lower())[0]
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def _record(
    fields: dict[str, Any], location: str, date_hint: str, today: date | None
) -> ArticleRecord:
    if depth_of(fields) > MAX_NESTING:
        raise BadField(f"record nested deeper than {MAX_NESTING} levels")
    raw_text = next((fields[k] for k in TEXT_FIELDS if fields.get(k) is not None), None)
    if raw_text is not None and not isinstance(raw_text, str):
        raise BadField(f"text must be a string, not {_kind(raw_text)}")
    if not raw_text or not raw_text.strip():
        raise BadField("empty text")
    if len(raw_text) > MAX_ARTICLE_CHARS:
        raise BadField(
            f"article text is {len(raw_text):,} characters, over the limit of {MAX_ARTICLE_CHARS:,}"
        )
    text = clean_text(raw_text, "text").strip()
    if not text:
        raise BadField("empty text")
    raw_date = next((fields[k] for k in DATE_FIELDS if fields.get(k) not in (None, "")), None)
    if raw_date is None:
        raise BadField(f"missing publication date ({date_hint})")
    published, stamp = parse_date(raw_date, today)
    url = _optional_text(fields, "url", "link")
    if url and len(url) > MAX_URL_CHARS:
        raise BadField(f"url is {len(url):,} characters, over the limit of {MAX_URL_CHARS:,}")
    title = _truncate(_optional_text(fields, "title"), FIELD_LIMITS["title"])
    source = _truncate(_optional_text(fields, "source", "outlet"), FIELD_LIMITS["source"])
    declared = _optional_text(fields, "language", "lang")
    language = language_code(declared) if declared else None
    if declared and language is None:
        shown = re.split(r"[-_]", declared.lower())[0]
        raise BadField(f"language {shown!r} is not a language code such as 'en'")
    return ArticleRecord(
        location=location,
        text=text,
        published_at=published,
        title=title,
        source=source,
        url=url,
        language=language,
        published_time=stamp,
    )


def _truncate(value: str | None, limit: int) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"
