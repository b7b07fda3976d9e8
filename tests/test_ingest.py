import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stancetrack import store
from stancetrack.errors import IngestError
from stancetrack.ingest import ingest_paths, iter_records
from stancetrack.models import Article, RejectedInput
from tests.conftest import article_md, write

BODY = "Seoul said on Monday it would not send lethal weapons to Ukraine, officials said."


@pytest.fixture
def session(tmp_path: Path):
    engine = store.open_engine(str(tmp_path / "t.db"))
    with store.session_scope(engine) as s:
        yield s


def test_text_json_and_jsonl_records(tmp_path: Path, session) -> None:
    write(tmp_path / "in/a.md", article_md("A", "2024-11-07", BODY))
    write(tmp_path / "in/b.json", json.dumps([{"text": BODY + " Again.", "date": "2024-11-08"}]))
    write(
        tmp_path / "in/c.jsonl",
        json.dumps({"text": "Other news.", "published_at": "2024-11-09T08:00:00Z", "source": "X"})
        + "\n",
    )
    result = ingest_paths(session, [tmp_path / "in"])
    assert (result.added, result.duplicates, len(result.rejected)) == (3, 0, 0)
    dates = sorted(session.scalars(select(Article.published_at)))
    assert dates == [date(2024, 11, 7), date(2024, 11, 8), date(2024, 11, 9)]


def test_bad_records_are_reported_and_skipped(tmp_path: Path, session) -> None:
    jsonl = write(
        tmp_path / "feed.jsonl",
        json.dumps({"text": BODY, "date": "2024-01-02"})
        + "\n"
        + '{"text": "broken", "date": \n'
        + json.dumps({"text": "No date here."})
        + "\n"
        + json.dumps({"text": "   ", "date": "2024-01-02"})
        + "\n"
        + json.dumps({"text": "Bad date.", "date": "yesterday"})
        + "\n",
    )
    latin = write(tmp_path / "latin.md", article_md("L", "2024-01-01", "Caf\xe9").encode("latin-1"))
    result = ingest_paths(session, [jsonl, latin])
    assert result.added == 1
    assert [str(r) for r in result.rejected] == [
        f"{jsonl}:2: malformed JSON (Expecting value at column 28)",
        f"{jsonl}:3: missing publication date (add a 'date' field (YYYY-MM-DD))",
        f"{jsonl}:4: empty text",
        f"{jsonl}:5: unreadable publication date 'yesterday' (use YYYY-MM-DD or an ISO 8601 "
        "timestamp)",
        f"{latin}: not UTF-8 text (invalid continuation byte at byte 105)",
    ]
    assert session.scalar(select(func.count(RejectedInput.id))) == 5


def test_missing_date_in_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "x.md", "---\ntitle: No date\n---\nSome text.\n")
    [rejection] = list(iter_records(path))
    assert str(rejection) == (
        f"{path}: missing publication date (set 'date: YYYY-MM-DD' in the front matter)"
    )


def test_exact_duplicates_skipped_and_wire_copies_linked(tmp_path: Path, session) -> None:
    long_body = " ".join(f"Sentence {i} about Seoul and its weapons policy." for i in range(40))
    write(tmp_path / "a.md", article_md("A", "2024-11-07", long_body, source="Wire A"))
    write(tmp_path / "b.md", article_md("B", "2024-11-07", long_body.upper(), source="Wire B"))
    edited = "A fresh first line from the second outlet. " + long_body.replace("Sentence 3 ", "")
    write(tmp_path / "c.md", article_md("C", "2024-11-08", edited, source="Outlet C"))
    result = ingest_paths(session, [tmp_path])
    assert (result.added, result.duplicates, result.wire_copies) == (2, 1, 1)
    first, copy = session.scalars(select(Article).order_by(Article.id))
    assert copy.duplicate_of == first.id and first.duplicate_of is None


def test_strict_aborts_before_writing(tmp_path: Path, session) -> None:
    write(tmp_path / "good.md", article_md("G", "2024-01-01", BODY))
    bad = write(tmp_path / "zbad.md", "---\ntitle: t\n---\nno date\n")
    with pytest.raises(
        IngestError, match=f"^{bad}: missing publication date .*nothing was ingested"
    ):
        ingest_paths(session, [tmp_path], strict=True)
    assert session.scalar(select(func.count(Article.id))) == 0


def test_missing_path_is_a_rejection_and_the_rest_is_stored(tmp_path: Path, session) -> None:
    write(tmp_path / "good.md", article_md("G", "2024-01-01", BODY))
    result = ingest_paths(session, ["nowhere", tmp_path / "good.md"])
    assert [str(r) for r in result.rejected] == ["nowhere: no such file or directory"]
    assert result.added == 1
