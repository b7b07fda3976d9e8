"""Would a small learned article combiner beat the aggregation rule? Cross-validated by topic.

    python training/combiner.py [--features training/runs/article_features.json]
                                [--reach paragraph] [--out training/runs/combiner.json]

Reads a training/article_features.py dump and fits a multinomial logistic regression over a
handful of article features computed from the sentence probabilities (the current rule's
aggregate, the strongest support and oppose sentence, the lead's and the keyword sentences'
balance, the share of background sentences, the number of sentences). Predictions for each
topic come from a model fitted on the other topics only (leave one topic out, across every
development set), so every article is scored by a combiner that never saw its story.

The ship rule was written before the first result and is printed with the figures: pooled over
all development articles, the 95% paired-bootstrap interval of the macro-F1 gain over the current
rule must lie above zero, and no development set may fall by more than 0.03. Research aid; not
run by the tests.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack.aggregate import (  # noqa: E402
    EARLIER_POSITION,
    AggregationRule,
    aggregate_stance,
)
from stancetrack.classify import StanceProbs  # noqa: E402
from stancetrack.evaluate import _confusion, _per_class, score  # noqa: E402

LABELS = ("support", "oppose", "neutral")
RULE = {"min_pooled_gain_low": 0.0, "max_set_drop": 0.03}
L2 = 1.0  # ridge strength on standardised features; few parameters for ~400 articles


def probs_of(candidate: dict) -> StanceProbs:
    no_stance = candidate["p_no_stance"] or 0.0
    return StanceProbs(
        candidate["p_support"], candidate["p_oppose"], candidate["p_neutral"], no_stance
    )


def current_label(article: dict) -> str:
    candidates = article["candidates"]
    if not candidates:
        return "neutral"
    return aggregate_stance(
        [probs_of(c) for c in candidates],
        rule=AggregationRule(),
        sentences=[c["sentence"] for c in candidates],
        paragraphs=[c["paragraph"] for c in candidates],
        policy_matches=[c["policy_match"] for c in candidates],
    ).label


def _balance(candidates: list[dict]) -> float:
    """Position-weighted P(support) - P(oppose) of `candidates`; 0 when there are none."""
    weights = [1.0 - (c["p_no_stance"] or 0.0) for c in candidates]
    total = sum(weights)
    if not candidates or total <= 0:
        return 0.0
    pairs = zip(weights, candidates, strict=True)
    return sum(w * (c["p_support"] - c["p_oppose"]) for w, c in pairs) / total


FEATURES = (
    "agg_support",
    "agg_oppose",
    "agg_undecided",
    "max_support",
    "max_oppose",
    "lead_balance",
    "keyword_balance",
    "past_share",
    "log_sentences",
)


def features(article: dict) -> list[float]:
    candidates = article["candidates"]
    if not candidates:
        return [0.0] * len(FEATURES)
    agg = aggregate_stance(
        [probs_of(c) for c in candidates],
        sentences=[c["sentence"] for c in candidates],
        paragraphs=[c["paragraph"] for c in candidates],
        policy_matches=[c["policy_match"] for c in candidates],
    ).probs
    mass = [1.0 - (c["p_no_stance"] or 0.0) for c in candidates]
    past = [bool(EARLIER_POSITION.search(c["sentence"])) for c in candidates]
    return [
        agg.support,
        agg.oppose,
        agg.neutral - (agg.no_stance or 0.0),
        max(c["p_support"] for c in candidates),
        max(c["p_oppose"] for c in candidates),
        _balance([c for c in candidates if (c["paragraph"] or 0) <= 1]),
        _balance([c for c in candidates if c["policy_match"] in ("keyword", "anaphor")]),
        sum(m for m, p in zip(mass, past, strict=True) if p) / (sum(mass) or 1.0),
        math.log1p(len(candidates)),
    ]


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 400) -> np.ndarray:
    """Multinomial logistic regression by Newton-free gradient descent; returns weights."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros((d + 1, len(LABELS)))
    onehot = np.eye(len(LABELS))[y]
    penalty = np.ones((d + 1, 1))
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(steps):
        logits = xb @ w
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = xb.T @ (p - onehot) / n + l2 * penalty * w / n
        w -= 0.5 * grad
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    xb = np.hstack([x, np.ones((len(x), 1))])
    return np.argmax(xb @ w, axis=1)


def topic_of(article: dict) -> str:
    return article["policy"]


def cross_validate(articles: list[dict]) -> list[str]:
    """Leave-one-topic-out predictions of the combiner, in the order of `articles`."""
    x = np.array([features(a) for a in articles])
    y = np.array([LABELS.index(a["label"]) for a in articles])
    topics = [topic_of(a) for a in articles]
    out: list[str] = [""] * len(articles)
    for topic in sorted(set(topics)):
        train = np.array([t != topic for t in topics])
        mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-6
        w = fit((x[train] - mean) / std, y[train])
        for i in np.flatnonzero(~train):
            out[i] = LABELS[int(predict(w, ((x[i] - mean) / std)[None, :])[0])]
    return out


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    """Macro-F1 without the bootstrap interval `evaluate.score` adds (thousands of calls here)."""
    per_class = _per_class(_confusion(Counter(zip(gold, predicted, strict=True))))
    return sum(per_class[label]["f1"] for label in LABELS) / len(LABELS)


def paired_gain_interval(
    gold: list[str], base: list[str], new: list[str], rounds: int = 2000, seed: int = 13
) -> tuple[float, float]:
    """95% paired-bootstrap interval of macro-F1(new) - macro-F1(base), articles resampled."""
    rng = random.Random(seed)
    n = len(gold)
    gains = []
    for _ in range(rounds):
        idx = [rng.randrange(n) for _ in range(n)]
        g = [gold[i] for i in idx]
        gains.append(macro_f1(g, [new[i] for i in idx]) - macro_f1(g, [base[i] for i in idx]))
    gains.sort()
    return gains[int(0.025 * rounds)], gains[int(0.975 * rounds)]


def verdict(
    gold: list[str], base: list[str], new: list[str], drops: list[float], new_key: str
) -> dict:
    """Pooled figures, the paired interval of the gain, and whether RULE passes."""
    low, high = paired_gain_interval(gold, base, new)
    return {
        "pooled": {
            "n": len(gold),
            "shipped": round(macro_f1(gold, base), 4),
            new_key: round(macro_f1(gold, new), 4),
            "gain_interval": [round(low, 4), round(high, 4)],
        },
        "passes": low > RULE["min_pooled_gain_low"] and max(drops) <= RULE["max_set_drop"],
    }


def study(features_dump: dict, reach: str) -> dict:
    articles = []
    for name, by_reach in features_dump.items():
        for article in by_reach[reach]:
            articles.append({**article, "set": name})
    base = [current_label(a) for a in articles]
    combined = cross_validate(articles)
    gold = [a["label"] for a in articles]
    report: dict = {"reach": reach, "rule": RULE, "features": list(FEATURES), "sets": {}}
    drops = []
    for name in features_dump:
        idx = [i for i, a in enumerate(articles) if a["set"] == name]
        g = [gold[i] for i in idx]
        before = score(g, [base[i] for i in idx], "a").macro_f1
        after = score(g, [combined[i] for i in idx], "a").macro_f1
        drops.append(before - after)
        report["sets"][name] = {
            "n": len(idx),
            "rule": round(before, 4),
            "combiner": round(after, 4),
        }
    pooled_before = score(gold, base, "a").macro_f1
    pooled_after = score(gold, combined, "a").macro_f1
    low, high = paired_gain_interval(gold, base, combined)
    report["pooled"] = {
        "n": len(articles),
        "rule": round(pooled_before, 4),
        "combiner": round(pooled_after, 4),
        "gain_interval": [round(low, 4), round(high, 4)],
    }
    report["ships"] = low > RULE["min_pooled_gain_low"] and max(drops) <= RULE["max_set_drop"]
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", default=str(REPO / "training/runs/article_features.json"))
    parser.add_argument("--reach", default="paragraph")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    dump = json.loads(Path(args.features).read_text(encoding="utf-8"))
    report = study(dump, args.reach)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
