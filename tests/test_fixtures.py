"""The bundled article sets are well formed: every gold label points at a real article and a
tracked pair, and every article ingests. Article-level figures in the model card rest on this."""

import json
from pathlib import Path

import pytest

from stancetrack.classify import LABELS
from stancetrack.ingest import ArticleRecord, iter_input_files, iter_records
from stancetrack.watchlist import load_watchlist
from tests.conftest import FIXTURES

# The demo corpus, the unseen set, the extraction gold set (#12) and the fresh sets written
# blind while the round-7, round-8, round-9, round-11, round-12, round-13 and round-14 recipes
# were built (#15).
FRESH_SETS = ("fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7")
SETS = [FIXTURES, FIXTURES / "unseen", FIXTURES / "extraction"] + [
    FIXTURES / name for name in FRESH_SETS
]


@pytest.mark.parametrize("root", SETS, ids=lambda p: p.name)
def test_gold_points_at_articles_and_tracked_pairs(root: Path) -> None:
    watchlist = load_watchlist(root / "watchlist.toml")
    tracked = {(t.actor, t.policy) for t in watchlist.tracks}
    records = [r for f in iter_input_files([root / "articles"]) for r in iter_records(f)]
    assert records and all(isinstance(r, ArticleRecord) for r in records), [
        r for r in records if not isinstance(r, ArticleRecord)
    ]
    urls = {r.url for r in records if isinstance(r, ArticleRecord)}
    assert len(urls) == len(records)  # one url per article
    seen = set()
    single = root / "gold.jsonl"
    for path in [single] if single.exists() else sorted((root / "gold").glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            row = json.loads(line)
            where = f"{path.name}:{number}"
            assert row["url"] in urls, where
            assert (row["actor"], row["policy"]) in tracked, where
            assert row["label"] in LABELS, where
            key = (row["url"], row["actor"], row["policy"])
            assert key not in seen, f"{where}: duplicate label"
            seen.add(key)
    assert len(seen) >= 50
    second = root / "second_annotation.jsonl"
    if second.exists():  # a blind second labelling of the same pairs (training/agreement.py)
        rows = [json.loads(line) for line in second.read_text(encoding="utf-8").splitlines()]
        assert {(r["url"], r["actor"], r["policy"]) for r in rows} == seen
        assert all(r["label"] in LABELS and isinstance(r["sure"], bool) for r in rows)
