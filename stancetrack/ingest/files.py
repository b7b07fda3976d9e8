"""Input files: walking folders, reading within limits, and the text, JSON and JSON Lines formats.

Saved web pages (.html, .htm) go to `web` and feed files (.xml, .rss, .atom) to `feeds`.

Nothing here raises on bad input: every problem comes out as a `Rejection` naming the file
(and line or record), and files met in folders that are not inputs come out as `Skipped`.
Large inputs are streamed; no file is read past its documented limit (records.py).
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import tomllib
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from stancetrack.ingest.feeds import PageLink, read_feed_file
from stancetrack.ingest.records import (
    MAX_DOCUMENT_BYTES,
    MAX_FRONT_MATTER_BYTES,
    MAX_JSON_BYTES,
    MAX_LINE_BYTES,
    ArticleRecord,
    Rejection,
    Skipped,
    location_of,
    record_from_fields,
)
from stancetrack.ingest.web import read_page_file

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
HTML_SUFFIXES = {".html", ".htm"}
FEED_SUFFIXES = {".xml", ".rss", ".atom"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES
FRONT_MATTER_HINT = "set 'date: YYYY-MM-DD' in the front matter"
FRONT_MATTER_EXTRACTOR = "front-matter"
JSON_EXTRACTOR = "json"

Item = ArticleRecord | Rejection | Skipped


def format_of(path: Path) -> tuple[str, bool]:
    """(the suffix that picks the reader, whether the file is gzip-compressed)."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), compressed


def _unsupported(suffix: str) -> str:
    return (
        f"unsupported file type '{suffix or '(none)'}' "
        f"(use {', '.join(sorted(SUPPORTED_SUFFIXES))}, optionally .gz)"
    )


# ---------------------------------------------------------------- walking


def iter_input_files(paths: Iterable[str | Path]) -> Iterator[Path | Rejection | Skipped]:
    """Files to read, in a stable order; folders are walked recursively.

    A path named on the command line that is missing, unreadable or not a regular file is a
    rejection; inside folders, files of other types and hidden files are skipped and counted.
    """
    for raw in paths:
        path = Path(raw)
        where = location_of(path)
        if path.is_symlink() and not path.exists():
            yield Rejection(where, "broken symbolic link")
        elif path.is_dir():
            yield from _walk(path)
        elif not path.exists():
            yield Rejection(where, "no such file or directory")
        else:
            yield _regular_file(path) or path


def _regular_file(path: Path) -> Rejection | None:
    """None for a regular file; otherwise why it cannot be read as one (FIFO, device, ...)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return Rejection(location_of(path), f"cannot read file ({exc.strerror})")
    if stat.S_ISREG(mode):
        return None
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a character device"
        if stat.S_ISCHR(mode)
        else "a block device"
        if stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a file"
    )
    return Rejection(location_of(path), f"not a regular file ({kind})")


def _walk(root: Path) -> Iterator[Path | Rejection | Skipped]:
    errors: list[OSError] = []
    for folder, dirnames, filenames in os.walk(root, onerror=errors.append):
        while errors:
            error = errors.pop()
            yield Rejection(
                location_of(error.filename or folder), f"cannot read folder ({error.strerror})"
            )
        base = Path(folder)
        for name in sorted(dirnames):
            if name.startswith("."):
                yield Skipped(location_of(base / name), "hidden folder")
            elif (base / name).is_symlink():
                yield Skipped(location_of(base / name), "symbolic link to a folder (not followed)")
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not (base / d).is_symlink()
        )
        for name in sorted(filenames):
            path = base / name
            if name.startswith("."):
                yield Skipped(location_of(path), "hidden file")
                continue
            if path.is_symlink() and not path.exists():
                yield Rejection(location_of(path), "broken symbolic link")
                continue
            suffix, _ = format_of(path)
            if suffix not in SUPPORTED_SUFFIXES:
                yield Skipped(location_of(path), _unsupported(suffix))
                continue
            yield _regular_file(path) or path
    while errors:  # the root itself could not be listed
        error = errors.pop()
        yield Rejection(
            location_of(error.filename or root), f"cannot read folder ({error.strerror})"
        )


# ---------------------------------------------------------------- reading


def _open(path: Path, compressed: bool) -> IO[bytes]:
    if compressed:
        return gzip.open(path, "rb")  # type: ignore[return-value]  # GzipFile reads bytes
    return path.open("rb")


def read_limited(path: Path, limit: int) -> bytes | Rejection:
    """The file's bytes (decompressed for .gz), or a rejection past `limit` or on a read error."""
    _, compressed = format_of(path)
    where = location_of(path)
    try:
        if not compressed and path.stat().st_size > limit:
            return Rejection(where, _too_large(path.stat().st_size, limit))
        with _open(path, compressed) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        return Rejection(where, f"cannot read file ({exc.strerror or exc})")
    except (EOFError, zlib.error) as exc:
        return Rejection(where, f"corrupt gzip data ({exc})")
    if len(data) > limit:
        return Rejection(where, _too_large(None, limit))
    return data


def _too_large(size: int | None, limit: int) -> str:
    shown = f"file is {size / 2**20:.1f} MB" if size is not None else "file is larger"
    return f"{shown}, over the {limit / 2**20:.0f} MB limit for one input file"


def decode(raw: bytes, location: str) -> str | Rejection:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Rejection(location, f"not UTF-8 text ({exc.reason} at byte {exc.start})")


def iter_records(path: Path) -> Iterator[ArticleRecord | Rejection | PageLink]:
    """Parse one file into records; problems come out as `Rejection`s, never exceptions.

    A feed entry whose article is on its page comes out as a `PageLink` for the caller to
    fetch (or to store as its summary).
    """
    suffix, _ = format_of(path)
    where = location_of(path)
    if suffix in JSONL_SUFFIXES:
        yield from _iter_jsonl(path)
        return
    if suffix not in SUPPORTED_SUFFIXES:
        yield Rejection(where, _unsupported(suffix))
        return
    limit = MAX_JSON_BYTES if suffix in JSON_SUFFIXES else MAX_DOCUMENT_BYTES
    raw = read_limited(path, limit)
    if isinstance(raw, Rejection):
        yield raw
        return
    if suffix in HTML_SUFFIXES:
        yield from read_page_file(path, raw)
        return
    if suffix in FEED_SUFFIXES:
        yield from read_feed_file(path, raw)
        return
    text = decode(raw, where)
    if isinstance(text, Rejection):
        yield text
    elif suffix in JSON_SUFFIXES:
        yield from _iter_json(where, text)
    else:
        yield text_record(where, text)


# ---------------------------------------------------------------- text with front matter


class _NoAliasLoader:
    """Built lazily: PyYAML's SafeLoader refusing anchors and aliases (a "billion laughs")."""

    loader: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls.loader is None:
            import yaml

            class Loader(yaml.SafeLoader):
                def compose_node(self, parent: Any, index: Any) -> Any:
                    if self.check_event(yaml.AliasEvent):
                        event = self.peek_event()
                        raise yaml.YAMLError(
                            f"YAML aliases are not allowed (line {event.start_mark.line + 1})"
                        )
                    return super().compose_node(parent, index)

            cls.loader = Loader
        return cls.loader


def split_front_matter(text: str) -> tuple[str | None, str, str]:
    """(front matter or None, its kind 'yaml' / 'toml' or '' for none, the body).

    A header opens with a `---` (YAML) or `+++` (TOML) line and closes with the same line
    (YAML also with `...`) within `MAX_FRONT_MATTER_BYTES`; an unclosed one returns None with
    its kind, so the caller can say so.
    """
    first_end = text.find("\n")
    opening = text[: first_end if first_end >= 0 else len(text)].strip()
    kind = {"---": "yaml", "+++": "toml"}.get(opening, "")
    if not kind or first_end < 0:
        return None, kind, text
    closings = {opening, "..."} if kind == "yaml" else {opening}
    position = first_end + 1
    while position - first_end <= MAX_FRONT_MATTER_BYTES:
        end = text.find("\n", position)
        line = text[position : end if end >= 0 else len(text)].strip()
        if line in closings:
            return text[first_end + 1 : position], kind, text[end + 1 :] if end >= 0 else ""
        if end < 0:
            break
        position = end + 1
    return None, kind, text


def _front_matter_fields(header: str, kind: str) -> dict[str, Any]:
    if len(header.encode()) > MAX_FRONT_MATTER_BYTES:
        raise ValueError(f"front matter over {MAX_FRONT_MATTER_BYTES // 1024} KB")
    header = "\n" + header  # line numbers in parser errors then count from the file's first line
    if kind == "toml":
        data = tomllib.loads(header)
    else:
        import yaml

        data = yaml.load(header, Loader=_NoAliasLoader.get())  # noqa: S506 - safe loader
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("front matter must be a mapping of fields")
    return data


def text_record(location: str, text: str) -> ArticleRecord | Rejection:
    """A text or Markdown article with a front-matter header (title, date, source, url)."""
    header, kind, body = split_front_matter(text)
    fields: dict[str, Any] = {}
    if header is not None:
        try:
            fields = _front_matter_fields(header, kind)
        except Exception as exc:  # noqa: BLE001 - YAML and TOML errors come in many types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return Rejection(location, f"malformed front matter ({first})")
    elif kind:
        return Rejection(
            location,
            f"front matter is not closed (no closing line within "
            f"{MAX_FRONT_MATTER_BYTES // 1024} KB)",
        )
    fields = {str(k): v for k, v in fields.items() if k not in ("text", "body", "content")}
    fields["text"] = body
    return record_from_fields(
        fields, location, date_hint=FRONT_MATTER_HINT, extractor=FRONT_MATTER_EXTRACTOR
    )


# ---------------------------------------------------------------- JSON and JSON Lines


def _loads(text: str) -> Any:
    """json.loads that reports absurd nesting as a JSON error, not a RecursionError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


def _iter_json(where: str, text: str) -> Iterator[ArticleRecord | Rejection]:
    try:
        data = _loads(text)
    except json.JSONDecodeError as exc:
        yield Rejection(
            f"{where}:{exc.lineno}", f"malformed JSON ({exc.msg} at column {exc.colno})"
        )
        return
    items = data if isinstance(data, list) else [data]
    for number, item in enumerate(items, start=1):
        location = f"{where}[record {number}]" if isinstance(data, list) else where
        if not isinstance(item, dict):
            yield Rejection(location, "a record must be a JSON object")
            continue
        yield record_from_fields(item, location, extractor=JSON_EXTRACTOR)


def _iter_jsonl(path: Path) -> Iterator[ArticleRecord | Rejection]:
    _, compressed = format_of(path)
    where = location_of(path)
    try:
        handle = _open(path, compressed)
    except OSError as exc:
        yield Rejection(where, f"cannot read file ({exc.strerror})")
        return
    number = 0
    try:
        with handle:
            while True:
                raw_line = handle.readline(MAX_LINE_BYTES + 1)
                if not raw_line:
                    break
                number += 1
                location = f"{where}:{number}"
                if len(raw_line) > MAX_LINE_BYTES and not raw_line.endswith(b"\n"):
                    _skip_rest_of_line(handle)
                    yield Rejection(
                        location, f"line longer than {MAX_LINE_BYTES // 2**20} MB (one record)"
                    )
                    continue
                yield from _jsonl_line(raw_line, location)
    except OSError as exc:
        yield Rejection(f"{where}:{number + 1}", f"cannot read file ({exc.strerror or exc})")
    except (EOFError, zlib.error) as exc:
        yield Rejection(f"{where}:{number + 1}", f"corrupt gzip data ({exc})")


def _skip_rest_of_line(handle: IO[bytes]) -> None:
    while True:
        chunk = handle.readline(MAX_LINE_BYTES)
        if not chunk or chunk.endswith(b"\n"):
            return


def _jsonl_line(raw_line: bytes, location: str) -> Iterator[ArticleRecord | Rejection]:
    line = decode(raw_line, location)
    if isinstance(line, Rejection):
        yield line
        return
    if not line.strip():
        return
    try:
        item = _loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        yield Rejection(location, f"malformed JSON ({exc.msg} at column {exc.colno})")
        return
    if not isinstance(item, dict):
        yield Rejection(location, "a record must be a JSON object")
        return
    yield record_from_fields(item, location, extractor=JSON_EXTRACTOR)
