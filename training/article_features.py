"""Dump every candidate sentence of the gold article sets with the model's probabilities.

    python training/article_features.py [--model default] [--out FILE]

Analyses each gold set once (fixtures/, fixtures/unseen/, fixtures/extraction/ and, when it
exists, fixtures/fresh/) with the widest policy reach, then re-runs extraction alone for each
reach and looks the probabilities up, so aggregation rules can be compared offline
(training/aggregation.py) without classifying again. Research aid; not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack import store  # noqa: E402
from stancetrack.evaluate import read_labelled_files  # noqa: E402
from stancetrack.extract import Extractor  # noqa: E402
from stancetrack.ingest import ArticleRecord, iter_path_items  # noqa: E402
from stancetrack.models import Actor, Article, Evidence, Policy  # noqa: E402
from stancetrack.runs import Settings, analyze_job, ingest_job  # noqa: E402
from stancetrack.watchlist import POLICY_REACH, ExtractionSettings, load_watchlist  # noqa: E402

# Article-level gold: the demo fixtures; the unseen set, written after the first model was
# frozen (other topics, its own watchlist; nothing in it shaped the data, the recipe or the
# rules); the extraction gold set of issue #12, whose gold has articles' labels too; the fresh
# set, written after the round-7 recipe was frozen, labelled blind twice and measured once (its
# errors then shaped the round-8 data, so it is a development set now); the second fresh set,
# written during round 8 and kept blind until the round-8 recipe was fixed (development since);
# the third fresh set, written during round 9, kept blind until the round-9 decision and scored
# once after it (development since); the fourth and fifth fresh sets, likewise for rounds 11 and
# 12, the sixth for round 13 and the seventh for round 14. None is blind now: a next round
# names its new set in BLIND_SETS until its decision.
ARTICLE_SETS = {
    "fixtures": REPO / "fixtures",
    "unseen": REPO / "fixtures" / "unseen",
    "extraction": REPO / "fixtures" / "extraction",
    "fresh": REPO / "fixtures" / "fresh",
    "fresh2": REPO / "fixtures" / "fresh2",
    "fresh3": REPO / "fixtures" / "fresh3",
    "fresh4": REPO / "fixtures" / "fresh4",
    "fresh5": REPO / "fixtures" / "fresh5",
    "fresh6": REPO / "fixtures" / "fresh6",
    "fresh7": REPO / "fixtures" / "fresh7",
}
BLIND_SETS: tuple[str, ...] = ()  # scored only when named, once the recipe is fixed


def gold_files(root: Path) -> list[Path]:
    single = root / "gold.jsonl"
    return [single] if single.exists() else sorted((root / "gold").glob("*.jsonl"))


def probabilities(root: Path, model: str, precision: str) -> dict[tuple, dict]:
    """(url, actor, policy, paragraph, char_start) -> the evidence row, widest reach."""

    # Classify the union of what every reach extracts: paragraph and article reach differ.
    def union(self: Extractor, number: int, named: dict[int, bool], established: bool) -> bool:
        return established or bool(named.get(number) or (number > 1 and named.get(number - 1)))

    original = Extractor._topical
    Extractor._topical = union  # type: ignore[method-assign]
    try:
        return _classify(root, model, precision)
    finally:
        Extractor._topical = original  # type: ignore[method-assign]


def _classify(root: Path, model: str, precision: str) -> dict[tuple, dict]:
    from sqlalchemy import select

    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "watchlist.toml"
        text = (root / "watchlist.toml").read_text(encoding="utf-8")
        config.write_text(text + '\n[extraction]\npolicy_reach = "article"\n', encoding="utf-8")
        db = str(Path(folder) / "a.db")
        settings = Settings(db=db, config=config, model=model, precision=precision)
        engine = store.open_engine(db)
        ingest_job(engine, [root / "articles"], settings)
        analyze_job(engine, settings)
        rows = {}
        with store.session_scope(engine, read_only=True) as session:
            query = (
                select(Evidence, Article.url, Actor.key, Policy.key)
                .join(Article, Article.id == Evidence.article_id)
                .join(Actor, Actor.id == Evidence.actor_id)
                .join(Policy, Policy.id == Evidence.policy_id)
            )
            for e, url, actor, policy in session.execute(query):
                rows[(url, actor, policy, e.paragraph, e.char_start)] = {
                    "p_support": e.p_support,
                    "p_oppose": e.p_oppose,
                    "p_neutral": e.p_neutral,
                    "p_no_stance": e.p_no_stance,
                }
        engine.dispose()
    return rows


def main_over_dump(description: str, analyse: Callable[[dict, str], dict]) -> int:
    """The command line of the scripts that read a dump: `--features FILE --reach REACH`, and
    `analyse(dump, reach)` printed as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--features", default=str(REPO / "training/runs/article_features.json"))
    parser.add_argument("--reach", default="paragraph")
    args = parser.parse_args()
    features = json.loads(Path(args.features).read_text(encoding="utf-8"))
    print(json.dumps(analyse(features, args.reach), indent=1))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--out", default=str(REPO / "training/runs/article_features.json"))
    parser.add_argument(
        "--sets", nargs="*", default=[s for s in ARTICLE_SETS if s not in BLIND_SETS]
    )
    args = parser.parse_args()
    dump_features(args.model, args.precision, Path(args.out), args.sets)
    return 0


def dump_features(model: str, precision: str, path: Path, sets: list[str]) -> None:
    """Write the dump for `sets` (never a blind set unless named) to `path`."""
    out: dict = {}
    for name in sets:
        root = ARTICLE_SETS[name]
        if not root.exists():
            continue
        watchlist = load_watchlist(root / "watchlist.toml")
        gold = read_labelled_files(gold_files(root))
        probs = probabilities(root, model, precision)
        records = {
            r.url: r for r in iter_path_items([root / "articles"]) if isinstance(r, ArticleRecord)
        }
        out[name] = {}
        for reach in POLICY_REACH:
            spec = replace(watchlist, extraction=ExtractionSettings(reach))
            pairs = [(spec.actors[t.actor], spec.policies[t.policy]) for t in spec.tracks]
            extractor = Extractor(pairs, reach)
            articles = []
            for row in gold:
                record = records[row["url"]]
                candidates = []
                for c in extractor.candidates(
                    record.text, record.published_at, record.title, [(row["actor"], row["policy"])]
                ):
                    p = probs.get((row["url"], c.actor, c.policy, c.paragraph, c.char_start))
                    if p is None:
                        continue
                    candidates.append(
                        {
                            "paragraph": c.paragraph,
                            "actor_match": c.actor_match,
                            "policy_match": c.policy_match,
                            "mention": c.matched_alias,
                            "sentence": c.sentence,
                            **p,
                        }
                    )
                articles.append(
                    {
                        "url": row["url"],
                        "actor": row["actor"],
                        "policy": row["policy"],
                        "label": row["label"],
                        "date": record.published_at.isoformat(),
                        "candidates": candidates,
                    }
                )
            out[name][reach] = articles
        print(name, {reach: len(v) for reach, v in out[name].items()}, file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
