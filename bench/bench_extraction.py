"""Extraction, analysis and ingest speed on a large corpus, beside one plain regex pass.

    python bench/bench_extraction.py [--articles 10000] [--models fast default]

Builds ~600-word synthetic articles (as bench_pipeline.py: a share of sentences from the
fixture corpus, the rest from the labelled training sentences) and measures, in one run on one
machine:
- one compiled regex of every alias and keyword over every text (the floor);
- extraction alone: `Extractor.candidates` for every tracked pair of the fixture watchlist;
- `analyze` minus the model's forward passes (timed around `predict`), and `analyze` end to end
  with each model, in the same process;
- `ingest` into an empty database and into one already holding the corpus (the wire-copy
  lookup must not slow down as the archive grows), as the CLI runs it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_pipeline import EXE, REPO, write_articles  # noqa: E402

from stancetrack import store  # noqa: E402
from stancetrack.extract import Extractor, fold, keyword_forms  # noqa: E402
from stancetrack.ingest import ArticleRecord, iter_path_items  # noqa: E402
from stancetrack.watchlist import load_watchlist  # noqa: E402

WATCHLIST = REPO / "fixtures/watchlist.toml"


def regex_pass(texts: list[str]) -> float:
    """Seconds for one pass of a single regex of every alias and keyword over every text."""
    watchlist = load_watchlist(WATCHLIST)
    words = {a for actor in watchlist.actors.values() for a in actor.aliases}
    words |= {f for p in watchlist.policies.values() for k in p.keywords for f in keyword_forms(k)}
    pattern = re.compile(
        r"\b(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b"
    )
    start = time.perf_counter()
    hits = sum(1 for text in texts for _ in pattern.finditer(text))
    assert hits
    return time.perf_counter() - start


def extraction_pass(records: list[ArticleRecord]) -> tuple[float, int]:
    watchlist = load_watchlist(WATCHLIST)
    extractor = Extractor(
        [(watchlist.actors[t.actor], watchlist.policies[t.policy]) for t in watchlist.tracks],
        watchlist.extraction.policy_reach,
    )
    start = time.perf_counter()
    found = sum(len(extractor.candidates(r.text, r.published_at, r.title)) for r in records)
    return time.perf_counter() - start, found


def analyze_in_process(db: Path, model: str) -> tuple[float, float, float, int]:
    """(total seconds, seconds loading the model, seconds inside its predict, evidence)."""
    from stancetrack import runs

    spent = {"predict": 0.0, "load": 0.0}
    real_loader = runs.load_classifier

    def timed_loader(*args, **kwargs):  # the real model, with a stopwatch around predict
        started = time.perf_counter()
        classifier = real_loader(*args, **kwargs)
        spent["load"] += time.perf_counter() - started
        real_predict = classifier.predict

        def predict(pairs, progress=None):
            start = time.perf_counter()
            try:
                return real_predict(pairs, progress)
            finally:
                spent["predict"] += time.perf_counter() - start

        classifier.predict = predict
        return classifier

    runs.load_classifier = timed_loader
    try:
        engine = store.open_engine(str(db))
        settings = runs.Settings(db=str(db), config=WATCHLIST, model=model)
        start = time.perf_counter()
        result = runs.analyze_job(engine, settings)
        total = time.perf_counter() - start
        engine.dispose()
    finally:
        runs.load_classifier = real_loader
    return total, spent["load"], spent["predict"], result.counts["evidence_classified"]


def cli_ingest(db: Path, source: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [str(EXE), "--db", str(db), "ingest", str(source)], check=True, capture_output=True
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--tracked-share", type=float, default=0.01)
    parser.add_argument("--models", nargs="*", default=["fast", "default"])
    args = parser.parse_args()
    n = args.articles
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        corpus = root / "corpus.jsonl"
        write_articles(corpus, n, seed=3, tracked_share=args.tracked_share)
        records = [r for r in iter_path_items([corpus]) if isinstance(r, ArticleRecord)]
        texts = [r.text for r in records]
        print(f"{n} articles of ~600 words, {args.tracked_share:.0%} tracked sentences")
        regex = regex_pass(texts)
        print(f"one regex pass:          {regex:6.2f} s  {n / regex:8.0f} articles/s")
        seconds, found = extraction_pass(records)
        print(
            f"extraction (candidates): {seconds:6.2f} s  {n / seconds:8.0f} articles/s  "
            f"{seconds / regex:.1f}x the regex pass, {found} candidates"
        )
        folded = time.perf_counter()
        for text in texts:
            fold(text)
        print(f"  of which folding:      {time.perf_counter() - folded:6.2f} s")
        empty = cli_ingest(root / "a.db", corpus)
        print(f"ingest into an empty database: {empty:6.2f} s  {n / empty:6.0f} articles/s")
        second = root / "more.jsonl"
        write_articles(second, n, seed=4, tracked_share=args.tracked_share)
        grown = cli_ingest(root / "a.db", second)
        print(
            f"ingest {n} more into a database of {n}: {grown:6.2f} s  {n / grown:6.0f} articles/s"
        )
        for model in args.models:
            db = root / f"{model}.db"
            cli_ingest(db, corpus)
            total, load, predict, evidence = analyze_in_process(db, model)
            rest = total - load - predict
            print(
                f"analyze --model {model}: {total:6.2f} s  {n / total:6.0f} articles/s end to "
                f"end ({evidence} evidence; loading the model {load:.1f} s, its forward passes "
                f"{predict:.1f} s); everything else {rest:6.2f} s  {n / rest:6.0f} articles/s "
                f"({rest / regex:.1f}x the regex pass)"
            )


if __name__ == "__main__":
    main()
