"""Which way the article errors go, from a training/article_features.py dump.

    python training/article_errors.py [--features training/runs/article_features.json]

Counts, per article set and pooled, the gold articles the current rule gets wrong by kind: a
stance read where the article reports none (gold neutral), the wrong direction (support read
as oppose or back), and a stance missed (read as neutral); and whether any single candidate
sentence, read alone, gives the gold label (when none does, no aggregation rule can fix it).
Research aid; not run by the tests.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

from article_features import main_over_dump  # noqa: E402
from combiner import current_label  # noqa: E402


def kind(gold: str, predicted: str) -> str:
    if gold == "neutral":
        return "stance_read_where_none"
    if predicted == "neutral":
        return "stance_missed"
    return "wrong_direction"


def sentence_labels(article: dict) -> set[str]:
    labels = set()
    for c in article["candidates"]:
        probs = {"support": c["p_support"], "oppose": c["p_oppose"], "neutral": c["p_neutral"]}
        labels.add(max(probs, key=lambda k: probs[k]))
    return labels


def breakdown(features: dict, reach: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    pooled: Counter[str] = Counter()
    for name, by_reach in features.items():
        counts: Counter[str] = Counter()
        for article in by_reach[reach]:
            predicted = current_label(article)
            counts["articles"] += 1
            if predicted == article["label"]:
                continue
            counts["wrong"] += 1
            counts[kind(article["label"], predicted)] += 1
            reachable = article["label"] in sentence_labels(article)
            counts["gold_in_some_sentence" if reachable else "gold_in_no_sentence"] += 1
        out[name] = dict(counts)
        pooled.update(counts)
    out["pooled"] = dict(pooled)
    return out


if __name__ == "__main__":
    sys.exit(main_over_dump(__doc__.splitlines()[0], breakdown))
