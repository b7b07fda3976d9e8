"""Web inputs: saved pages, feeds and URLs, against `fixtures/web/expected.json`.

Everything fetched comes from a server these tests start on 127.0.0.1 (tests/web_server.py),
which counts its requests, so "nothing fetched twice" is checked by counting.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from stancetrack import store
from stancetrack.cli import main
from stancetrack.ingest import FetchSettings, IngestResult, WebSources, ingest_paths
from stancetrack.ingest.fetch import Failure, Fetcher, check_url, read_url_list, sniff_kind
from stancetrack.ingest.language import detect_language
from stancetrack.ingest.records import ArticleRecord, Rejection
from stancetrack.ingest.web import page_record
from tests.conftest import FIXTURES, WATCHLIST, write
from tests.web_server import FixtureServer, fixture_server

WEB = FIXTURES / "web"
EXPECTED = json.loads((WEB / "expected.json").read_text(encoding="utf-8"))
PAGES = EXPECTED["pages"]
FEEDS = EXPECTED["feeds"]
# Fast and impatient: no politeness delay or backoff against our own test server.
QUICK = {"delay": 0.0, "backoff": 0.0, "retries": 1, "read_timeout": 0.5}


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with fixture_server() as running:
        yield running


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "web.db"


def ingest(
    db: Path,
    paths: list[Path] | tuple[()] = (),
    *,
    urls: tuple[str, ...] = (),
    feeds: tuple[str, ...] = (),
    url_files: tuple[Path, ...] = (),
    fetch: bool = True,
    **settings: object,
) -> IngestResult:
    engine = store.open_engine(str(db))
    try:
        with store.session_scope(engine) as session:
            return ingest_paths(
                session,
                list(paths),
                sources=WebSources(url_files, urls, feeds),
                fetch=FetchSettings(**{**QUICK, **settings}) if fetch else None,  # type: ignore[arg-type]
            )
    finally:
        engine.dispose()


def rows(db: Path, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query, params).fetchall()


def flat(text: str) -> str:
    return " ".join(text.split())


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


# ---------------------------------------------------------------- saved pages


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_text_and_metadata_match_the_manifest(name: str) -> None:
    """Every article paragraph and none of the boilerplate; title, UTC date, outlet, canonical
    URL and language as the manifest says. The undated page is rejected, never dated today."""
    expected = PAGES[name]
    record = page_record((WEB / "pages" / name).read_bytes(), name)
    if expected["reject"]:
        assert isinstance(record, Rejection)
        assert record.reason == "no publication date found in the page"
        return
    assert isinstance(record, ArticleRecord), record
    text = flat(record.text)
    for prefix in expected["paragraphs"]:
        assert prefix in text, prefix
    paragraphs = [flat(p) for p in record.text.split("\n\n")]
    assert [p for p in expected["paragraphs"] if not any(q.startswith(p) for q in paragraphs)] == []
    for phrase in expected["boilerplate"]:
        assert phrase not in record.text, phrase
    assert record.title == expected["title"]
    assert record.published_at.isoformat() == expected["date"]
    assert record.source == expected["source"]
    assert record.url == expected["url"]
    assert detect_language(record.text, record.language_hint) == expected["language"]
    assert record.extractor and record.extractor.startswith("trafilatura ")
    declared = expected["declared_datetime"]
    if declared:  # the page's own timestamp, offset kept
        assert record.published_time == declared.replace("Z", "+00:00")


def test_a_copyright_year_is_not_a_publication_date() -> None:
    page = (
        "<html><head><title>Seoul holds the line</title></head><body><article>"
        "<h1>Seoul holds the line</h1>"
        + "<p>South Korean officials said again on Monday that Seoul would not send lethal "
        "weapons to Ukraine, citing its long-standing rules on arms exports.</p>"
        * 4
        + "</article><footer>© 2023 Meridian Media. All rights reserved.</footer></body></html>"
    )
    record = page_record(page.encode(), "copyright.html")
    assert record == Rejection("copyright.html", "no publication date found in the page")


def test_saved_pages_folder_is_ingested_with_language_dates_and_extractor(
    db: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "pages"
    shutil.copytree(WEB / "pages", folder)
    # A saved page may be compressed too.
    raw = (folder / "08-timezone.html").read_bytes()
    (folder / "08-timezone.html").unlink()
    (folder / "08-timezone.html.gz").write_bytes(gzip.compress(raw))
    result = ingest(db, [folder], fetch=False)
    assert (result.added, result.not_english, len(result.rejected)) == (8, 2, 1)
    assert str(result.rejected[0]) == (
        f"{folder / '05-no-date.html'}: no publication date found in the page"
    )
    stored = {
        Path(origin).name: (day, stamp, language, extractor, summary_only)
        for origin, day, stamp, language, extractor, summary_only in rows(
            db,
            "SELECT origin, published_at, published_time, language, extractor, summary_only "
            "FROM articles",
        )
    }
    assert stored["08-timezone.html.gz"][:2] == ("2023-01-25", "2023-01-24T21:30:00-05:00")
    assert stored["06-german.html"][2] == "de" and stored["09-french.html"][2] == "fr"
    assert {v[2] for k, v in stored.items() if k not in ("06-german.html", "09-french.html")} == {
        "en"
    }
    assert {v[3] for v in stored.values()} == {"trafilatura 2.3.1"}
    assert {v[4] for v in stored.values()} == {0}


# ---------------------------------------------------------------- feed files, no fetching


def _entries(db: Path) -> dict[str, tuple]:
    return {
        title: (day, url, text, summary_only)
        for title, day, url, text, summary_only in rows(
            db, "SELECT title, published_at, url, text, summary_only FROM articles"
        )
    }


def test_feed_files_full_text_summaries_bad_entries_and_a_non_feed(
    db: Path, tmp_path: Path
) -> None:
    """Without fetching, a summary-only entry is stored as its summary, marked as such."""
    feeds = tmp_path / "feeds"
    shutil.copytree(WEB / "feeds", feeds)
    result = ingest(db, [feeds], fetch=False)
    stored = _entries(db)
    for name, entries in FEEDS.items():
        for entry in entries:
            if entry["reject"] or entry.get("duplicate_of"):
                continue
            day, url, text, summary_only = stored[entry["title"]]
            assert day == entry["date"], entry["title"]
            assert url == entry["link"], entry["title"]
            if entry["full_text"]:
                assert text.startswith(entry["first_paragraph_prefix"]) and not summary_only
                assert "\n\n" in text  # paragraphs kept
            else:
                assert (text, summary_only) == (entry["summary"], 1), name
    assert (result.added, result.duplicates) == (13, 1)
    assert sorted(str(r) for r in result.rejected) == [
        f"{feeds / 'bad-entries.xml'}[entry 2: Correction]: no publication date in the feed "
        "entry and no link to its page",
        f"{feeds / 'bad-entries.xml'}[entry 3: Morawiecki says Poland will ask Berlin to approve "
        "Leopard t…]: no publication date in the feed entry",
        f"{feeds / 'not-a-feed.xml'}: not a feed: no RSS or Atom document (<unknown>:2:0: "
        "syntax error)",
    ]
    # Timestamps keep their offsets; the timeline date is the UTC day.
    assert rows(
        db,
        "SELECT published_at, published_time FROM articles WHERE title = ?",
        "Sweden becomes NATO's 32nd member",
    ) == [("2024-03-08", "2024-03-07T19:30:00-05:00")]
    assert {e for (e,) in rows(db, "SELECT DISTINCT extractor FROM articles")} == {"feed"}


# ---------------------------------------------------------------- feeds over HTTP


def test_feeds_over_http_fetch_summary_only_pages_once(db: Path, server: FixtureServer) -> None:
    feeds = tuple(server.url(f"/feeds/{n}") for n in ("rss2.xml", "rss1.xml", "atom.xml"))
    result = ingest(db, feeds=feeds)
    assert result.rejected == [] and result.added == 12
    stored = _entries(db)
    for name in ("rss2.xml", "rss1.xml", "atom.xml"):
        for entry in FEEDS[name]:
            day, url, text, summary_only = stored[entry["title"]]
            # A page may open with its standfirst (03 does), then the first body paragraph.
            opening = text.split("\n\n")[:2]
            assert any(p.startswith(entry["first_paragraph_prefix"]) for p in opening), text
            assert (day, summary_only) == (entry["date"], 0), entry["title"]
            if not entry["full_text"]:  # the fetched page: its canonical URL, its own text
                assert url == PAGES[entry["linked_page"]]["url"]
                assert server.hits[f"/pages/{entry['linked_page']}"] == 1
            else:  # the feed's text is used: its (missing) page is never requested
                assert server.hits[entry["link"].split("PORT", 1)[1]] == 0
    fetched = rows(db, "SELECT url, kind, status, article_id IS NOT NULL FROM fetched_urls")
    assert sorted(k for _, k, _, _ in fetched) == ["feed"] * 3 + ["page"] * 4
    assert all(status == 200 and linked for _, kind, status, linked in fetched if kind == "page")
    counts = result.counts()
    assert (counts["urls_fetched"], counts["urls_not_modified"]) == (7, 0)


def test_nothing_is_fetched_twice_across_feeds_and_runs(db: Path, server: FixtureServer) -> None:
    """The same links in two feeds, then a second and third run: each page is requested once,
    an unchanged feed costs one conditional request answered 304."""
    feeds = (server.url("/feeds/rss2.xml"), server.url("/mirror/rss2.xml"))
    first = ingest(db, feeds=feeds)
    assert first.added == 5 and first.duplicates == 3  # the mirror's full-text copies
    assert (
        server.hits["/pages/01-jsonld.html"] == 1
        and server.hits["/pages/03-time-element.html"] == 1
    )
    second = ingest(db, feeds=feeds)
    assert (second.added, second.read, second.counts()["urls_not_modified"]) == (0, 0, 2)
    assert server.headers_seen["/feeds/rss2.xml"][-1]["If-None-Match"].startswith('"')
    # A feed that changed lists pages this database already has: they are not requested.
    server.extra["/feeds/other.xml"] = (
        200,
        "application/rss+xml",
        server.fixture("feeds/rss2.xml").replace(b"Continental Wire", b"Other Wire"),  # type: ignore[union-attr]
    )
    third = ingest(db, feeds=(server.url("/feeds/other.xml"),))
    assert third.added == 0 and third.counts()["urls_already_fetched"] == 2
    assert (
        server.hits["/pages/01-jsonld.html"] == 1
        and server.hits["/pages/03-time-element.html"] == 1
    )
    assert server.hits["/feeds/rss2.xml"] == 2 and server.hits["/mirror/rss2.xml"] == 2


def test_feed_entries_with_fetching_off_and_a_bad_feed_url(db: Path, server: FixtureServer) -> None:
    result = ingest(
        db,
        feeds=(
            server.url("/feeds/atom.xml"),
            server.url("/feeds/not-a-feed.xml"),
            server.url("/pages/01-jsonld.html"),
        ),
        fetch_pages=False,
    )
    assert result.added == 4 and server.hits["/pages/02-opengraph.html"] == 0
    assert rows(
        db, "SELECT summary_only, published_at FROM articles WHERE url LIKE '%02-opengraph%'"
    ) == [(1, "2024-02-23")]
    assert [str(r) for r in result.rejected] == [
        f"{server.url('/feeds/not-a-feed.xml')}: not a feed: no RSS or Atom document "
        "(<unknown>:2:0: syntax error)",
        f"{server.url('/pages/01-jsonld.html')}: not a feed (an HTML page)",
    ]


# ---------------------------------------------------------------- URLs and failures


def test_every_http_failure_is_a_rejected_input_and_the_rest_goes_on(
    db: Path, server: FixtureServer, tmp_path: Path
) -> None:
    refused = FixtureServer()  # bound, then closed: nothing listens on its port any more
    closed_port_url = f"http://127.0.0.1:{refused.server_address[1]}/page"
    refused.server_close()
    links = {
        "/redirect/3": None,
        "/missing": "HTTP 404 Not Found",
        "/flaky": None,
        "/always-500": "HTTP 503 Service Unavailable (2 tries)",
        "/slow": "timed out waiting for data (2 tries)",
        "/image": "not an HTML page or feed (content type image/png)",
        "/binary.html": "not an HTML page (binary data)",
        "/nodate": "no publication date found in the page",
        "/huge": "response is 50.0 MB, over the 20 MB limit",
        "/huge-stream": "response is larger, over the 20 MB limit",
        "/latin1-as-utf8": "page declares charset UTF-8 but its bytes are not valid UTF-8 "
        "(invalid continuation byte at byte",
        "/gzip": None,
        "/private/03-time-element.html": "robots.txt of "
        f"{server.base} disallows it (--ignore-robots to fetch anyway)",
    }
    listed = write(
        tmp_path / "urls.txt",
        "\n".join([server.url(path) for path in links] + [closed_port_url]) + "\n",
    )
    result = ingest(db, url_files=(listed,))
    reasons = dict(rows(db, "SELECT location, reason FROM rejected_inputs"))
    for path, reason in links.items():
        if reason is None:
            assert server.url(path) not in reasons, reasons[server.url(path)]
        else:
            assert reasons[server.url(path)].startswith(reason), (path, reasons[server.url(path)])
    assert reasons[closed_port_url].startswith("cannot connect (")
    assert result.added == 3  # the redirect's target, the retried page, the gzip page
    assert server.hits["/flaky"] == 2 and server.hits["/private/03-time-element.html"] == 0
    final = rows(db, "SELECT final_url FROM fetched_urls WHERE url = ?", server.url("/redirect/3"))
    assert final == [(server.url("/pages/02-opengraph.html"),)]
    assert rows(db, "SELECT published_at FROM articles WHERE origin = ?", server.url("/gzip")) == [
        ("2023-01-25",)
    ]
    # The next run asks again only where asking again may help.
    before = dict(server.hits)
    again = ingest(db, url_files=(listed,))
    asked = {p for p in links if server.hits[p] > before.get(p, 0)}
    assert asked == {"/always-500", "/slow"}  # robots.txt still refuses /private/
    assert again.added == 0 and len(again.rejected) == 4  # 500, slow, robots, refused port


def test_url_list_with_garbage_lines_robots_and_ignore_robots(
    capsys, server: FixtureServer, tmp_path: Path, watchlist_file: Path
) -> None:
    listed = write(
        tmp_path / "urls.txt",
        "# pages to read\n\n"
        f"{server.url('/pages/04-url-date.html')}\n"
        "not a url\n"
        "ftp://files.example.com/a.html\n"
        f"   {server.url('/private/06-german.html')}   \n"
        f"{server.url('/pages/04-url-date.html')}#comments\n",
    )
    base = ["--db", str(tmp_path / "cli.db"), "ingest", "--urls", str(listed), "--fetch-delay", "0"]
    code, out, err = cli(capsys, *base)
    assert code == 1
    assert err.splitlines() == [
        f"Error: {listed}:4: not an http(s) URL: 'not a url'",
        f"Error: {listed}:5: not an http(s) URL: 'ftp://files.example.com/a.html'",
        f"Error: {server.url('/private/06-german.html')}: robots.txt of {server.base} disallows "
        "it (--ignore-robots to fetch anyway)",
    ]
    assert "articles added 1," in out and "urls already fetched 1" in out
    assert server.hits["/pages/04-url-date.html"] == 1
    code, out, err = cli(capsys, *base, "--ignore-robots")
    assert "articles added 1," in out and "articles not english 1" in out
    assert (
        server.hits["/private/06-german.html"] == 1 and server.hits["/pages/04-url-date.html"] == 1
    )
    assert code == 1 and "robots" not in err  # the garbage lines are still there


def test_fetcher_details() -> None:
    import httpx

    assert sniff_kind(b'<?xml version="1.0"?>\n<rss version="2.0">') == "feed"
    assert sniff_kind(b"\n<!DOCTYPE html><html>") == "page"
    assert sniff_kind(b"502 Bad Gateway") is None
    assert check_url("https://example.com/a b") == "not an http(s) URL: 'https://example.com/a b'"
    assert check_url("http://example.com:99999/") is not None
    assert check_url("https://example.com/2024/01/01/story") is None

    def no_dns(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with Fetcher(FetchSettings(**QUICK), transport=httpx.MockTransport(no_dns)) as fetcher:  # type: ignore[arg-type]
        outcome = fetcher.get("http://no-such-host.invalid/story", expect="page")
    # Its robots.txt got no answer: per RFC 9309 nothing on the host is fetched (until later).
    assert isinstance(outcome, Failure) and outcome.retry
    assert outcome.reason == "cannot connect ([Errno -2] Name or service not known) (2 tries)"
    assert fetcher.requests == 2


def test_a_feed_body_naming_a_file_is_not_opened(tmp_path: Path) -> None:
    from stancetrack.ingest.feeds import feed_items

    secret = write(tmp_path / "secret.xml", (WEB / "feeds" / "rss1.xml").read_bytes())
    items = list(feed_items(str(secret).encode(), "https://feeds.example.com/x"))
    assert len(items) == 1 and isinstance(items[0], Rejection)
    assert items[0].reason.startswith("not a feed")


def test_url_list_lines(tmp_path: Path) -> None:
    listed = write(tmp_path / "u.txt", b"\xef\xbb\xbfhttps://a.example.com/x\n#c\n\xff\n")
    assert [str(e) for e in read_url_list(listed)] == [
        "https://a.example.com/x",
        f"{listed}:3: not UTF-8 text (invalid start byte)",
    ]


# ---------------------------------------------------------------- bad saved inputs


def test_bad_pages_and_feeds_one_line_each_nothing_good_lost(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copy(WEB / "pages" / "01-jsonld.html", write(folder / "good.html", ""))
    write(folder / "binary.html", b"\x89PNG\r\n\x1a\n" + bytes(2000))
    with (folder / "big.html").open("wb") as handle:
        handle.truncate(50 * 2**20)  # sparse: 50 MB on paper, no disk used
    page = (WEB / "pages" / "02-opengraph.html").read_text(encoding="utf-8")
    latin1 = page.encode("latin-1", "replace")
    write(folder / "latin1.html", latin1)
    bad_byte = len(page[: page.index("á")].encode("latin-1"))
    write(
        folder / "cp1252.html",
        page.replace('charset="UTF-8"', 'charset="windows-1252"').encode("cp1252", "replace"),
    )
    write(folder / "feed.xml", "502 Bad Gateway\n\nThe upstream server did not answer.\n")
    code, out, err = cli(capsys, "--db", str(tmp_path / "d.db"), "ingest", str(folder))
    assert code == 1 and "articles added 2," in out
    assert sorted(err.splitlines()) == sorted(
        [
            f"Error: {folder / 'big.html'}: file is 50.0 MB, over the 20 MB limit for one input "
            "file",
            f"Error: {folder / 'binary.html'}: not an HTML page (binary data)",
            f"Error: {folder / 'feed.xml'}: not a feed: no RSS or Atom document (<unknown>:2:0: "
            "syntax error)",
            f"Error: {folder / 'latin1.html'}: page declares charset UTF-8 but its bytes are not "
            f"valid UTF-8 (invalid continuation byte at byte {bad_byte})",
        ]
    )
    titles = {t for (t,) in rows(tmp_path / "d.db", "SELECT title FROM articles")}
    assert titles == {PAGES["01-jsonld.html"]["title"], PAGES["02-opengraph.html"]["title"]}


# ---------------------------------------------------------------- languages


def test_non_english_articles_are_stored_counted_and_not_analysed(
    capsys, tmp_path: Path, watchlist_file: Path, tiny_stance_model: Path
) -> None:
    folder = tmp_path / "pages"
    for name in ("01-jsonld.html", "06-german.html", "08-timezone.html", "09-french.html"):
        write(folder / name, (WEB / "pages" / name).read_bytes())
    # A declared language wins over detection, both ways.
    german = (
        "Die Bundesregierung hat am Mittwoch beschlossen, Leopard-2-Panzer an die Ukraine zu "
        "liefern."
    )
    write(
        folder / "declared.jsonl",
        json.dumps({"date": "2023-01-26", "text": german, "language": "en", "title": "Declared"})
        + "\n"
        + json.dumps({"date": "2023-01-26", "text": german + " Berlin.", "title": "Detected"})
        + "\n",
    )
    db = tmp_path / "lang.db"
    base = ["--db", str(db), "--config", str(watchlist_file), "--model", str(tiny_stance_model)]
    code, out, err = cli(capsys, *base, "run", str(folder), "--report", str(tmp_path / "r.md"))
    assert code in (0, 3), err
    assert "articles added 6," in out and "articles not english 3," in out
    languages = dict(rows(db, "SELECT title, language FROM articles"))
    assert languages["Declared"] == "en" and languages["Detected"] == "de"
    analysed = {
        language
        for (language,) in rows(
            db, "SELECT DISTINCT a.language FROM analyses n JOIN articles a ON a.id = n.article_id"
        )
    }
    assert analysed == {"en"}
    assert "- Articles: 6 new (3 not in English), 6 total;" in (tmp_path / "r.md").read_text()
    # A watchlist that lists German (with a multilingual --model) analyses the German ones.
    watchlist_file.write_text(
        watchlist_file.read_text(encoding="utf-8") + '\n[extraction]\nlanguages = ["en", "de"]\n'
    )
    assert cli(capsys, *base, "analyze")[0] == 0
    analysed = {
        language
        for (language,) in rows(
            db, "SELECT DISTINCT a.language FROM analyses n JOIN articles a ON a.id = n.article_id"
        )
    }
    assert analysed == {"en", "de"}


def test_short_or_unsure_text_stays_english_or_declared() -> None:
    assert detect_language("Body.") == "en"
    assert detect_language("NATO chief Jens Stoltenberg met Ulf Kristersson in Ankara.") == "en"
    assert detect_language("Seoul said no.", hint="ko") == "ko"
    assert (
        detect_language("Le gouvernement polonais a livré les premiers chars à l'Ukraine.") == "fr"
    )


# ---------------------------------------------------------------- the watchlist's [sources]


def _with_sources(watchlist_file: Path, table: str) -> Path:
    watchlist_file.write_text(watchlist_file.read_text(encoding="utf-8") + "\n" + table)
    return watchlist_file


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        (
            '[sources]\nfeed = ["https://a.example.com/rss"]\n',
            "unknown key 'feed' (did you mean 'feeds'?)",
        ),
        (
            '[sources]\nfeeds = ["ftp://a.example.com/rss"]\n',
            "sources.feeds: not an http(s) URL: 'ftp://a.example.com/rss'",
        ),
        ('[sources]\ndelay = "fast"\n', "'delay' must be a number of seconds between 0 and 3600"),
        (
            '[sources]\nurls = "https://a.example.com/x"\n',
            "'urls' must be a list of non-empty strings",
        ),
    ],
)
def test_sources_table_is_validated(watchlist_file: Path, table: str, problem: str) -> None:
    from stancetrack.errors import WatchlistError
    from stancetrack.watchlist import load_watchlist

    with pytest.raises(WatchlistError) as caught:
        load_watchlist(_with_sources(watchlist_file, table))
    assert str(caught.value).startswith(f"{watchlist_file}:") and problem in str(caught.value)


def test_run_with_no_path_polls_the_sources(
    capsys, server: FixtureServer, tmp_path: Path, watchlist_file: Path, tiny_stance_model: Path
) -> None:
    _with_sources(
        watchlist_file,
        f'[sources]\nfeeds = ["{server.url("/feeds/atom.xml")}"]\n'
        f'urls = ["{server.url("/pages/08-timezone.html")}"]\ndelay = 0\n'
        'user_agent = "stancetrack-test/1 (+mailto:desk@example.com)"\n',
    )
    base = [
        "--db",
        str(tmp_path / "s.db"),
        "--config",
        str(watchlist_file),
        "--model",
        str(tiny_stance_model),
    ]
    code, out, err = cli(capsys, *base, "run", "--report", str(tmp_path / "r.json"))
    assert code in (0, 3), err
    assert "articles added 5," in out and "urls fetched 3," in out
    assert (
        server.headers_seen["/feeds/atom.xml"][0]["User-Agent"]
        == "stancetrack-test/1 (+mailto:desk@example.com)"
    )
    code, out, err = cli(capsys, *base, "run", "--report", str(tmp_path / "r2.json"))
    assert code == 0, err
    assert "articles added 0," in out and "urls not modified 1, urls already fetched 1" in out
    assert (
        server.hits["/pages/08-timezone.html"] == 1 and server.hits["/pages/02-opengraph.html"] == 1
    )
    assert server.hits["/feeds/atom.xml"] == 2
    watchlist_file.write_text(WATCHLIST.read_text(encoding="utf-8"))
    code, _, err = cli(capsys, *base, "run")
    assert code == 1 and err.startswith("Error: nothing to read: give files or folders, --urls")


# ---------------------------------------------------------------- end to end, real model


@pytest.mark.e2e
def test_feed_and_pages_to_report_with_the_real_model(
    capsys, server: FixtureServer, tmp_path: Path
) -> None:
    folder = tmp_path / "pages"
    shutil.copytree(WEB / "pages", folder)
    db = tmp_path / "e2e.db"
    config = tmp_path / "watchlist.toml"
    config.write_text(
        WATCHLIST.read_text(encoding="utf-8")
        + f'\n[sources]\nfeeds = ["{server.url("/feeds/rss2.xml")}"]\ndelay = 0\n'
    )
    report = tmp_path / "report.json"
    base = ["--db", str(db), "--config", str(config), "--precision", "fp32"]
    code, out, err = cli(capsys, *base, "run", str(folder), "--report", str(report))
    assert code == 1  # the undated page is a rejected input; everything else was stored
    assert err.strip().endswith("05-no-date.html: no publication date found in the page")
    data = json.loads(report.read_text())
    assert data["counts"]["articles_new"] == 11 and data["counts"]["articles_not_english"] == 2
    analysed = rows(
        db,
        "SELECT a.language, count(DISTINCT a.id) FROM analyses n JOIN articles a "
        "ON a.id = n.article_id GROUP BY a.language",
    )
    assert analysed == [("en", 9)]
    sentences = {s for (s,) in rows(db, "SELECT sentence FROM evidence")}
    assert any("Orbán" in s or "Hungar" in s for s in sentences)
    assert data["tracks"] and data["counts"]["evidence_total"] > 0


def test_strict_with_urls_fetches_once_and_stores_nothing_on_a_bad_page(
    capsys, server: FixtureServer, tmp_path: Path
) -> None:
    listed = write(
        tmp_path / "u.txt", f"{server.url('/pages/01-jsonld.html')}\n{server.url('/nodate')}\n"
    )
    db = tmp_path / "strict.db"
    base = ["--db", str(db), "ingest", "--strict", "--fetch-delay", "0", "--urls", str(listed)]
    code, _, err = cli(capsys, *base)
    assert code == 1 and err.strip() == (
        f"Error: {server.url('/nodate')}: no publication date found in the page (--strict: "
        "nothing was ingested)"
    )
    assert rows(db, "SELECT count(*) FROM articles") == [(0,)]
    assert rows(db, "SELECT count(*) FROM fetched_urls") == [(0,)]
    assert server.hits["/pages/01-jsonld.html"] == 1


def test_strict_feed_file_keeps_its_fetched_pages_between_the_passes(
    db: Path, server: FixtureServer, tmp_path: Path
) -> None:
    feed = write(tmp_path / "in" / "rss1.xml", server.fixture("feeds/rss1.xml") or b"")
    engine = store.open_engine(str(db))
    with store.session_scope(engine) as session:
        result = ingest_paths(session, [feed], strict=True, fetch=FetchSettings(**QUICK))  # type: ignore[arg-type]
    engine.dispose()
    assert (result.added, result.rejected) == (3, [])
    assert server.hits["/pages/04-url-date.html"] == 1
    assert rows(db, "SELECT origin, summary_only FROM articles WHERE url LIKE '%balticwire%'") == [
        (server.url("/pages/04-url-date.html"), 0)
    ]


def test_english_prose_skips_the_identifier_and_other_languages_do_not() -> None:
    """The function-word shortcut answers English alone; Dutch, whose "in" and "is" are English
    words too, still goes to the identifier and is recognised."""
    from stancetrack.ingest import language

    english = (
        "The German government said on Wednesday that it would send more tanks to Ukraine, and "
        "the chancellor told reporters in Berlin that the decision had been agreed with the "
        "allies. The opposition said that the government had waited too long and that it was "
        "now up to the defence ministry to deliver the vehicles before the spring."
    )
    dutch = (
        "De Nederlandse regering heeft woensdag besloten dat het land meer steun aan Oekraïne "
        "zal geven. De premier zei in Den Haag dat het besluit in overleg met de bondgenoten is "
        "genomen en dat er geen sprake is van een alleingang. De oppositie vindt dat het kabinet "
        "te lang heeft gewacht en dat is een probleem voor de soldaten in het veld."
    )
    language._IDENTIFIER = None
    assert detect_language(english) == "en"
    assert language._IDENTIFIER is None  # answered without loading the identifier
    assert detect_language(dutch) == "nl"
    assert language._IDENTIFIER is not None
