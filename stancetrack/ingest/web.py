"""Web pages, saved or fetched: main text, title, publication date, outlet, URL, language.

trafilatura finds the main text, without navigation, ads, cookie banners, related-article lists
and reader comments, and the title, site name and canonical URL. htmldate (which trafilatura
brings) decides which date on the page is the publication date; the full timestamp with its
offset is then taken from the page's own markup, so the stored date is the publication date in
UTC (a story filed at 21:30 in New York on 24 January is dated 25 January). A page without a
date is rejected, never dated today.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stancetrack.ingest.records import (
    MAX_DOCUMENT_BYTES,
    ArticleRecord,
    Rejection,
    language_code,
    location_of,
    record_from_fields,
)

NO_DATE = "no publication date found in the page"
NO_TEXT = "no article text found in the page"
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$"
)
# Browsers read these declarations as windows-1252 (WHATWG Encoding Standard).
_WINDOWS_1252 = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "us-ascii", "ascii", "cp1252"}
_BINARY_SAMPLE = 8192
_QUIET_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext", "charset_normalizer")


def extractor_name() -> str:
    """The extractor recorded on each article read from HTML, with its version."""
    from importlib.metadata import version

    return f"trafilatura {version('trafilatura')}"


def read_page_file(path: Path, raw: bytes) -> Iterator[ArticleRecord | Rejection]:
    """One saved page (already read within its size limit) as one record or rejection."""
    yield page_record(raw, location_of(path))


def page_record(
    raw: bytes,
    location: str,
    *,
    url: str | None = None,
    charset: str | None = None,
    fallback: dict[str, Any] | None = None,
) -> ArticleRecord | Rejection:
    """The article on one HTML page, or why there is none.

    `url` is where the page was fetched from (after redirects), `charset` what the HTTP
    response declared, and `fallback` the fields of the feed entry that linked to it (title,
    date), used where the page has none.
    """
    if len(raw) > MAX_DOCUMENT_BYTES:
        return Rejection(location, f"page is over the {MAX_DOCUMENT_BYTES // 2**20} MB limit")
    text = decode_page(raw, location, charset)
    if isinstance(text, Rejection):
        return text
    try:
        fields = _extract(text, url)
    except Exception as exc:  # noqa: BLE001 - a parser's failure on one page must not end the run
        return Rejection(location, f"cannot extract the page ({type(exc).__name__}: {exc})")
    if fields is None:
        return Rejection(location, NO_TEXT)
    hint = fields.pop("language_hint", None)
    for key, value in (fallback or {}).items():
        if not fields.get(key):
            fields[key] = value
    if not fields.get("date"):
        return Rejection(location, NO_DATE)
    return record_from_fields(
        fields, location, extractor=extractor_name(), language_hint=hint, date_hint=NO_DATE
    )


def decode_page(raw: bytes, location: str, charset: str | None = None) -> str | Rejection:
    """The page as text, in the charset it declares (HTTP header, BOM, `<meta charset>`).

    Bytes that are not valid in the declared charset reject the page rather than fill it with
    replacement characters; a page declaring Latin-1 whose bytes are valid UTF-8 (a common
    server default over UTF-8 files) is read as UTF-8. An undeclared page is UTF-8, else
    windows-1252, as browsers read it.
    """
    boms = (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    for bom, codec in boms:
        if raw.startswith(bom):
            return _decode(raw, codec, location, declared=True)
    if b"\x00" in raw[:_BINARY_SAMPLE]:
        return Rejection(location, "not an HTML page (binary data)")
    declared = charset
    if not declared:
        match = _META_CHARSET.search(raw[:4096])
        declared = match.group(1).decode("ascii") if match else None
    if declared:
        name = declared.strip().lower()
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            return Rejection(location, f"page declares an unknown charset {declared!r}")
        if name in _WINDOWS_1252 or codec in ("iso8859-1", "latin-1", "ascii", "cp1252"):
            if _is_utf8(raw):
                return raw.decode("utf-8")
            codec = "cp1252"
        return _decode(raw, codec, location, declared=True, shown=declared)
    if _is_utf8(raw):
        return raw.decode("utf-8")
    return _decode(raw, "cp1252", location, declared=False)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(
    raw: bytes, codec: str, location: str, *, declared: bool, shown: str | None = None
) -> str | Rejection:
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        if declared:
            reason = (
                f"page declares charset {shown or codec} but its bytes are not valid "
                f"{shown or codec} ({exc.reason} at byte {exc.start})"
            )
        else:
            reason = (
                "page declares no charset and is neither UTF-8 nor windows-1252 text "
                f"(byte {exc.start})"
            )
        return Rejection(location, reason)


def _extract(html: str, url: str | None) -> dict[str, Any] | None:
    """Fields of the page's main article for `record_from_fields`, or None without text."""
    import trafilatura
    from lxml.etree import ParserError

    _quiet()
    try:
        tree = trafilatura.load_html(html)
    except (ParserError, ValueError):
        tree = None
    if tree is None:
        return None
    hint = _declared_language(tree)
    published = publication_time(tree)
    # bare_extraction prunes the tree it is given: the date and language are read first.
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        with_metadata=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if document is None:
        return None
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    title = _one_line(data.get("title"))
    body = _paragraphs(data.get("text") or "", title)
    if not body:
        return None
    canonical = data.get("url") or url
    return {
        "text": body,
        "title": title,
        "date": published,
        "source": _one_line(data.get("sitename")) or _domain(canonical),
        "url": canonical if canonical and canonical.startswith(("http://", "https://")) else None,
        "language_hint": hint,
    }


def _quiet() -> None:
    # The parsers log what they could not find at WARNING; one bad page is already a
    # rejection with its reason, so their log lines would only repeat it on stderr.
    for name in _QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
            logger.propagate = False


def publication_time(tree: Any) -> str | None:
    """The publication timestamp with its offset where the page has one, else its date.

    htmldate picks the date (JSON-LD, `article:published_time`, `<time datetime>`, the URL
    path ...), without its extensive search of the text, which dates a page by its copyright
    line. Where it finds only the day (a `<time>` element, say), the first timestamp with an
    offset on that day in the page's markup supplies the time.
    """
    from htmldate import find_date

    found = find_date(
        tree,
        outputformat="%Y-%m-%dT%H:%M:%S%z",
        original_date=True,
        extensive_search=False,
    )
    if not found:
        return None
    day, _, rest = found.partition("T")
    if rest and rest != "00:00:00":
        return found  # a time, with its offset when the page gave one
    for value in tree.xpath(
        "//time/@datetime | //*[@itemprop='datePublished']/@content"
        " | //*[@itemprop='datePublished']/@datetime"
    ):
        candidate = str(value).strip()
        match = _TIMESTAMP.match(candidate)
        if match and match.group(1) == day:
            return candidate
    return day


def _declared_language(tree: Any) -> str | None:
    for value in tree.xpath(
        "/html/@lang | /html/@xml:lang | //meta[@property='og:locale']/@content"
        " | //meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
        "='content-language']/@content"
    ):
        code = language_code(str(value))
        if code:
            return code
    return None


def _paragraphs(text: str, title: str | None) -> str:
    """trafilatura's lines as blank-line separated paragraphs, without a repeated headline.

    The headline is stored as the title and read as evidence once (paragraph 0); left in the
    text it would be classified twice.
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    return "\n\n".join(lines)


def _one_line(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def html_to_text(fragment: str) -> str:
    """Feed content (an HTML fragment) as plain paragraphs separated by blank lines."""
    from lxml import html as lxml_html

    if "<" not in fragment:
        return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", fragment) if p.strip())
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # noqa: BLE001 - lxml raises several types on broken markup
        return " ".join(re.sub(r"<[^>]*>", " ", fragment).split())
    for bad in root.xpath("//script | //style"):
        bad.drop_tree()
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        joined = " ".join(" ".join(current).split())
        if joined:
            blocks.append(joined)
        current.clear()

    def walk(element: Any) -> None:
        block = isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS
        if block:
            flush()
        if element.text:
            current.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                current.append(child.tail)
        if block:
            flush()

    walk(root)
    flush()
    return "\n\n".join(blocks)


_BLOCK_TAGS = frozenset(
    "p div li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article br hr "
    "figure figcaption header footer dd dt".split()
)
