"""Fetching over HTTP, politely: robots.txt, a delay per host, retries, limits, a seen-set.

One `Fetcher` per run, over one httpx client: a clear user-agent, connect and read timeouts
and a deadline for a whole response, a few retries with exponential backoff on timeouts,
refused connections, 5xx, 408 and 429, redirects followed one hop at a time (each hop
checked against robots.txt and the politeness delay), bodies streamed and cut off past the
size limit, only HTML pages and RSS/Atom feeds accepted. Nothing here raises on a bad URL or
a bad server: every failure comes back as a `Failure` with a one-line reason and whether a
later run should try again.

`SeenUrls` reads the `fetched_urls` seen-set (and the stored articles' URLs), so a page is
fetched once, ever, and a feed is re-polled with its ETag / Last-Modified.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from stancetrack import __version__
from stancetrack.ingest.records import (
    MAX_DOCUMENT_BYTES,
    MAX_URL_CHARS,
    Rejection,
    location_of,
)

# No contact address of ours to give: the README asks users to set one ([sources] user_agent).
DEFAULT_USER_AGENT = f"stancetrack/{__version__} (news stance tracker; python-httpx)"
DEFAULT_DELAY = 1.0  # seconds between two requests to one host
MAX_ROBOTS_BYTES = 500 * 1024  # what RFC 9309 asks crawlers to read at least
MAX_CRAWL_DELAY = 30.0  # a robots.txt Crawl-delay is honoured up to this
MAX_RETRY_AFTER = 60.0  # a server's Retry-After is honoured up to this
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/xml",
        "text/xml",
    }
)
# Served for both by misconfigured servers: the first bytes decide.
SNIFF_TYPES = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream"})
_TRANSIENT_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class FetchSettings:
    """How to fetch. The CLI sets these from flags, environment and the watchlist's [sources]."""

    user_agent: str = DEFAULT_USER_AGENT
    delay: float = DEFAULT_DELAY
    respect_robots: bool = True
    fetch_pages: bool = True  # fetch the pages of feed entries that carry only a summary
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # between two bytes
    deadline: float = 120.0  # one whole response, however slowly it trickles in
    retries: int = 2  # after the first try
    backoff: float = 1.0  # seconds before the first retry, doubled for each next one
    max_bytes: int = MAX_DOCUMENT_BYTES
    max_redirects: int = 5


@dataclass(frozen=True)
class Response:
    """A page or feed that came back whole."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    body: bytes  # decoded from gzip/deflate/br, within the size limit
    kind: str  # "page" or "feed"
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class NotModified:
    """A conditional request answered 304: nothing new."""

    url: str
    final_url: str


@dataclass(frozen=True)
class Failure:
    """Why a URL gave nothing, and whether trying again later may help."""

    url: str
    reason: str
    status: int | None = None
    final_url: str | None = None
    retry: bool = False


@dataclass(frozen=True)
class Seen:
    """What the seen-set knows of a URL."""

    kind: str
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry: bool = False
    stored: bool = False  # an article with this URL is stored

    @property
    def settled(self) -> bool:
        """A page that needs no new request: stored, or failed for good."""
        return self.stored or (self.kind == "page" and not self.retry)


def normalise_url(url: str) -> str:
    """The URL as requested and remembered: without its #fragment, which servers never see."""
    return url.strip().split("#", 1)[0]


def check_url(text: str) -> str | None:
    """Why `text` is not a fetchable http(s) URL, or None when it is one."""
    shown = text if len(text) <= 80 else text[:80] + "..."
    if len(text) > MAX_URL_CHARS:
        return f"URL is {len(text):,} characters, over the limit of {MAX_URL_CHARS:,}"
    if any(c.isspace() for c in text):
        return f"not an http(s) URL: {shown!r}"
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return f"not an http(s) URL: {shown!r}"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        return f"not an http(s) URL: {shown!r}"
    return None


def read_url_list(path: Path) -> Iterator[str | Rejection]:
    """URLs from a file, one a line; blank lines and `#` comments skipped; bad lines rejected."""
    where = location_of(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        yield Rejection(where, f"cannot read URL list ({exc.strerror or exc})")
        return
    if len(raw) > MAX_DOCUMENT_BYTES:
        yield Rejection(where, f"URL list is over the {MAX_DOCUMENT_BYTES // 2**20} MB limit")
        return
    for number, raw_line in enumerate(raw.splitlines(), start=1):
        try:
            line = raw_line.decode("utf-8-sig" if number == 1 else "utf-8").strip()
        except UnicodeDecodeError as exc:
            yield Rejection(f"{where}:{number}", f"not UTF-8 text ({exc.reason})")
            continue
        if not line or line.startswith("#"):
            continue
        problem = check_url(line)
        if problem:
            yield Rejection(f"{where}:{number}", problem)
        else:
            yield normalise_url(line)


class SeenUrls:
    """Reads the seen-set on a read-only connection, so no write lock is held while fetching."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def lookup(self, urls: Iterable[str]) -> dict[str, Seen]:
        from sqlalchemy import select

        from stancetrack.models import Article, FetchedUrl
        from stancetrack.store import session_scope

        wanted = list(dict.fromkeys(urls))
        found: dict[str, Seen] = {}
        with session_scope(self.engine, read_only=True) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                for row in session.scalars(select(FetchedUrl).where(FetchedUrl.url.in_(chunk))):
                    found[row.url] = Seen(
                        row.kind,
                        row.status,
                        row.etag,
                        row.last_modified,
                        row.retry,
                        stored=row.article_id is not None,
                    )
                for url in session.scalars(
                    select(Article.url).where(Article.url.in_(chunk)).distinct()
                ):
                    if url is not None:
                        previous = found.get(url)
                        kind = previous.kind if previous else "page"
                        found[url] = Seen(kind, stored=kind == "page")
        return found


@dataclass
class _Robots:
    parser: Any | None  # urllib.robotparser.RobotFileParser; None: everything allowed
    refusal: str | None = None  # robots.txt could not be read: nothing on the host is fetched
    crawl_delay: float = 0.0


@dataclass
class Fetcher:
    """Fetches URLs one at a time; reuse it for a whole run (connections, robots.txt, delays)."""

    settings: FetchSettings = field(default_factory=FetchSettings)
    transport: Any = None  # an httpx transport, for tests
    requests: int = 0  # HTTP requests sent, robots.txt included
    _client: Any = None
    _robots: dict[str, _Robots] = field(default_factory=dict)
    _last_request: dict[str, float] = field(default_factory=dict)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        expect: str = "any",
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Response | NotModified | Failure:
        """Fetch `url` (expecting a "page", a "feed" or "any" of them), following redirects."""
        return self._follow(url, expect, etag, last_modified, check_robots=True)

    def _follow(
        self,
        url: str,
        expect: str,
        etag: str | None,
        last_modified: str | None,
        *,
        check_robots: bool,
    ) -> Response | NotModified | Failure:
        problem = check_url(url)
        if problem:
            return Failure(url, problem)
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            refusal = self._robots_refusal(current) if check_robots else None
            if refusal is not None:
                return Failure(url, refusal, final_url=current, retry=True)
            headers = {}
            if current == url and etag:
                headers["If-None-Match"] = etag
            if current == url and last_modified:
                headers["If-Modified-Since"] = last_modified
            outcome = self._request(current, expect, headers)
            if isinstance(outcome, str):  # a redirect: the next hop
                target = urljoin(current, outcome)
                problem = check_url(target)
                if problem:
                    return Failure(url, f"redirected to {problem}", final_url=current)
                current = normalise_url(target)
                continue
            if isinstance(outcome, Failure):
                return Failure(url, outcome.reason, outcome.status, current, outcome.retry)
            if isinstance(outcome, NotModified):
                return NotModified(url, current)
            return Response(
                url,
                current,
                outcome.status,
                outcome.body,
                outcome.kind,
                outcome.content_type,
                outcome.charset,
                outcome.etag,
                outcome.last_modified,
            )
        return Failure(url, f"more than {self.settings.max_redirects} redirects", final_url=current)

    # ------------------------------------------------------------ one request, with retries

    def _client_for(self) -> Any:
        if self._client is None:
            import httpx

            s = self.settings
            self._client = httpx.Client(
                headers={"User-Agent": s.user_agent},
                timeout=httpx.Timeout(
                    connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=None
                ),
                follow_redirects=False,  # one hop at a time: robots.txt and delays per hop
                transport=self.transport,
                trust_env=False,  # no proxy or .netrc credentials picked up from the machine
            )
        return self._client

    def _request(
        self, url: str, expect: str, headers: dict[str, str]
    ) -> str | Response | NotModified | Failure:
        """One URL without following redirects: the redirect target, or the outcome."""
        settings = self.settings
        outcome: str | Response | NotModified | Failure = Failure(url, "not tried")
        for attempt in range(settings.retries + 1):
            outcome, wait = self._attempt(url, expect, headers)
            if not (isinstance(outcome, Failure) and outcome.retry) or attempt == settings.retries:
                break
            time.sleep(max(settings.backoff * 2**attempt, wait))
        if isinstance(outcome, Failure) and outcome.retry and settings.retries:
            tries = settings.retries + 1
            outcome = Failure(url, f"{outcome.reason} ({tries} tries)", outcome.status, url, True)
        return outcome

    def _attempt(
        self, url: str, expect: str, headers: dict[str, str]
    ) -> tuple[str | Response | NotModified | Failure, float]:
        """One try: (its outcome, seconds the server asked us to wait before the next)."""
        import httpx

        self._wait_for_host(url)
        self.requests += 1
        deadline = time.monotonic() + self.settings.deadline
        try:
            with self._client_for().stream("GET", url, headers=headers) as response:
                return self._read(url, expect, response, deadline)
        except httpx.TimeoutException as exc:
            kind = {
                httpx.ConnectTimeout: "connecting",
                httpx.ReadTimeout: "waiting for data",
                httpx.WriteTimeout: "sending the request",
            }.get(type(exc), "")
            return Failure(url, f"timed out{' ' + kind if kind else ''}", retry=True), 0.0
        except httpx.ConnectError as exc:
            return Failure(url, f"cannot connect ({_reason(exc)})", retry=True), 0.0
        except httpx.DecodingError as exc:
            return Failure(url, f"corrupt compressed body ({_reason(exc)})"), 0.0
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Failure(url, f"not a URL that can be fetched ({_reason(exc)})"), 0.0
        except httpx.HTTPError as exc:  # a dropped connection, a protocol error
            return Failure(url, f"{type(exc).__name__} ({_reason(exc)})", retry=True), 0.0
        finally:
            self._last_request[_host(url)] = time.monotonic()

    def _read(
        self, url: str, expect: str, response: Any, deadline: float
    ) -> tuple[str | Response | NotModified | Failure, float]:
        status = int(response.status_code)
        if 300 <= status < 400 and status != 304 and response.headers.get("location"):
            return str(response.headers["location"]), 0.0
        if status == 304:
            return NotModified(url, url), 0.0
        phrase = f"HTTP {status} {response.reason_phrase}".strip()
        if status >= 500 or status in _TRANSIENT_STATUS:
            return Failure(url, phrase, status, retry=True), _retry_after(response)
        if status >= 400 or status < 200 or status == 204:
            return Failure(url, phrase, status), 0.0
        media, charset = _content_type(response.headers.get("content-type", ""))
        kind = "robots" if expect == "robots" else _kind_of(media)
        if kind is None:
            return Failure(url, _wrong_type(expect, media), status), 0.0
        length = response.headers.get("content-length", "")
        limit = self.settings.max_bytes
        if length.isdigit() and int(length) > limit:
            return Failure(url, _too_large(int(length), limit), status), 0.0
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                return Failure(url, _too_large(None, limit), status), 0.0
            if time.monotonic() > deadline:
                return (
                    Failure(url, f"timed out (over {self.settings.deadline:g} s)", retry=True),
                    0.0,
                )
            chunks.append(chunk)
        body = b"".join(chunks)
        if kind == "sniff":
            kind = sniff_kind(body)
            if kind is None:
                return Failure(url, _wrong_type(expect, media), status), 0.0
        if expect in ("page", "feed") and kind != expect:
            wanted = "an HTML page" if expect == "page" else "a feed"
            got = "a feed" if kind == "feed" else "an HTML page"
            return Failure(url, f"not {wanted} ({got})", status), 0.0
        return (
            Response(
                url,
                url,
                status,
                body,
                kind,
                media or None,
                charset,
                response.headers.get("etag"),
                response.headers.get("last-modified"),
            ),
            0.0,
        )

    # ------------------------------------------------------------ politeness

    def _wait_for_host(self, url: str) -> None:
        host = _host(url)
        last = self._last_request.get(host)
        robots = self._robots.get(_origin(url))
        delay = max(self.settings.delay, robots.crawl_delay if robots else 0.0)
        if last is not None and delay > 0:
            pause = last + delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def _robots_refusal(self, url: str) -> str | None:
        """Why robots.txt keeps us from `url`, or None when we may fetch it."""
        if not self.settings.respect_robots:
            return None
        origin = _origin(url)
        robots = self._robots.get(origin)
        if robots is None:
            robots = self._robots[origin] = self._read_robots(origin)
        if robots.refusal is not None:
            return robots.refusal
        if robots.parser is not None and not robots.parser.can_fetch(self.settings.user_agent, url):
            return f"robots.txt of {origin} disallows it (--ignore-robots to fetch anyway)"
        return None

    def _read_robots(self, origin: str) -> _Robots:
        """RFC 9309: a missing robots.txt (4xx) allows everything; an unreachable one (5xx,
        no connection) allows nothing for now."""
        from urllib.robotparser import RobotFileParser

        outcome = self._follow(origin + "/robots.txt", "robots", None, None, check_robots=False)
        if isinstance(outcome, Failure):
            if outcome.status is None:  # no answer at all: the host is unreachable for now
                return _Robots(None, outcome.reason)
            if 400 <= outcome.status < 500:
                return _Robots(None)
            return _Robots(None, f"robots.txt of {origin} could not be read ({outcome.reason})")
        if not isinstance(outcome, Response):
            return _Robots(None)
        parser = RobotFileParser()
        parser.parse(outcome.body[:MAX_ROBOTS_BYTES].decode("utf-8", "replace").splitlines())
        delay = parser.crawl_delay(self.settings.user_agent)
        crawl_delay = min(float(delay), MAX_CRAWL_DELAY) if delay else 0.0
        return _Robots(parser, crawl_delay=crawl_delay)


def sniff_kind(body: bytes) -> str | None:
    """A body's kind, page or feed, from its first bytes, for servers that do not say."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "page"
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")):
        if any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf")):
            return "feed"
        return "page" if b"<html" in head else None
    return None


def _kind_of(media: str) -> str | None:
    if media in PAGE_TYPES:
        return "page"
    if media in FEED_TYPES or media.endswith("+xml"):
        return "feed"
    if media in SNIFF_TYPES:
        return "sniff"
    return None


def _wrong_type(expect: str, media: str) -> str:
    wanted = {"page": "an HTML page", "feed": "a feed"}.get(expect, "an HTML page or feed")
    return f"not {wanted} (content type {media or 'missing'})"


def _content_type(header: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return media.strip().lower(), charset


def _too_large(size: int | None, limit: int) -> str:
    shown = f"response is {size / 2**20:.1f} MB" if size is not None else "response is larger"
    return f"{shown}, over the {limit / 2**20:g} MB limit"


def _retry_after(response: Any) -> float:
    value = str(response.headers.get("retry-after", "")).strip()
    return min(float(value), MAX_RETRY_AFTER) if value.isdigit() else 0.0


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
