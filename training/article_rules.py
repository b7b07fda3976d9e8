"""Round 12 of #15: one-parameter changes to the sentence-to-article step, chosen set by set.

    python training/article_rules.py [--features training/runs/article_features.json]
                                     [--reach paragraph] [--out FILE]

Reads a training/article_features.py dump of the development article sets and tries changes
on top of the shipped aggregation rule, each with few parameters:

- `abstain`: an article whose aggregated support or oppose is the largest of the three but
  below `abstain` is read as neutral (the biggest error kind is a stance read where the gold
  says the article reports none);
- `lead`: the headline and first paragraph weigh `lead` times a later sentence, up to
  dominance (1000: a lead that carries a position decides alone);
- both at once;
- `subject` and `late` (added in `round12.rule_addendum`): a sentence that names another gold
  actor before this one, or names this one only in its second half, weighs less;
- `reliability` (`round12.rule_addendum_2`): a logistic regression over sentence features
  predicts whether a sentence read alone gives its article's gold label, and each sentence
  counts with that probability.

Each change is scored leave one set out: the parameter (or the regression) for a set is the one
that scores best on, or is fitted to, the other sets, so every article is read by a rule chosen
without it. Each rule was written before the result it judges. Research aid; not run by the
tests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

import numpy as np  # noqa: E402
from combiner import L2, macro_f1, probs_of, verdict  # noqa: E402
from combiner import RULE as COMBINER_RULE  # noqa: E402

from stancetrack.aggregate import EARLIER_POSITION, AggregationRule, aggregate_stance  # noqa: E402
from stancetrack.classify import StanceProbs  # noqa: E402

# The shipped value comes first in each grid: on a tie the rule stays as it is.
FAMILIES: dict[str, dict[str, list[float]]] = {
    "abstain": {"abstain": [0.0, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]},
    "lead": {"lead": [1.0, 2.0, 4.0, 8.0, 1000.0]},
    "abstain+lead": {
        "abstain": [0.0, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7],
        "lead": [1.0, 2.0, 4.0, 8.0, 1000.0],
    },
    # Added after the three above failed, before these were computed (round12.rule_addendum).
    "subject": {"subject": [1.0, 0.5, 0.25, 0.1]},
    "late": {"late": [1.0, 0.5, 0.25, 0.1]},
}
SENTENCE_FACTORS = ("subject", "late")
ACTOR_MATCHES = ("alias", "demonym", "spokesperson", "title", "pronoun")
POLICY_MATCHES = ("keyword", "anaphor", "paragraph", "article")
QUOTE = re.compile(r"[\"\u201c\u201d]")
DATELINE = re.compile(r"^[A-Z][A-Z .,/'-]+,\s+\w+\.? \d+\s*(?:\([^)]*\))?\s*[-\u2013\u2014]\s*")
RULE = COMBINER_RULE  # the same ship rule as the combiner of round 9


def _offset(sentence: str, mention: str) -> int:
    """Where `mention` first stands in `sentence` as a whole word (-1: not found)."""
    found = re.search(rf"(?<!\w){re.escape(mention)}(?!\w)", sentence, re.IGNORECASE)
    return found.start() if found else -1


def mark_sentence_factors(dump: dict) -> None:
    """Add `named_after_other` and `late` to every candidate of the dump, in place.

    `named_after_other`: another gold actor of the same article is named earlier in the same
    sentence. `late`: the actor is named only in the second half of the sentence, dateline off.
    """
    for by_reach in dump.values():
        for articles in by_reach.values():
            mentions: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for a in articles:
                for c in a["candidates"]:
                    key = (a["url"], c["sentence"])
                    mentions.setdefault(key, []).append((a["actor"], c["mention"]))
            for a in articles:
                for c in a["candidates"]:
                    body = DATELINE.sub("", c["sentence"])
                    own = _offset(body, c["mention"])
                    others = [
                        _offset(body, m)
                        for actor, m in mentions[(a["url"], c["sentence"])]
                        if actor != a["actor"]
                    ]
                    c["named_after_other"] = own >= 0 and any(0 <= o < own for o in others)
                    c["late"] = own > len(body) / 2


def aggregate_probs(
    article: dict, params: dict[str, float], factors: list[float] | None = None
) -> StanceProbs | None:
    """The article's aggregate under the shipped rule changed by `params` (None: no candidate).

    `subject` and `late` in `params` and `factors` (one per candidate) multiply sentence weights.
    """
    candidates = article["candidates"]
    if not candidates:
        return None
    base = {k: v for k, v in params.items() if k not in ("abstain", *SENTENCE_FACTORS)}
    factors = factors or [1.0] * len(candidates)
    if any(k in params for k in SENTENCE_FACTORS):
        factors = [
            f
            * (params.get("subject", 1.0) if c["named_after_other"] else 1.0)
            * (params.get("late", 1.0) if c["late"] else 1.0)
            for f, c in zip(factors, candidates, strict=True)
        ]
    return aggregate_stance(
        [probs_of(c) for c in candidates],
        rule=replace(AggregationRule(), **base),
        sentences=[c["sentence"] for c in candidates],
        paragraphs=[c["paragraph"] for c in candidates],
        policy_matches=[c["policy_match"] for c in candidates],
        factors=factors,
    ).probs


def label(article: dict, params: dict[str, float]) -> str:
    probs = aggregate_probs(article, params)
    if probs is None:
        return "neutral"
    if probs.label != "neutral" and getattr(probs, probs.label) < params.get("abstain", 0.0):
        return "neutral"
    return probs.label


def sentence_features(c: dict) -> list[float]:
    """What the reliability weight sees of one candidate sentence (round12.rule_addendum_2)."""
    paragraph = c["paragraph"] or 0
    return [
        c["p_support"],
        c["p_oppose"],
        c["p_no_stance"] or 0.0,
        max(c["p_support"], c["p_oppose"]),
        float(paragraph == 0),
        float(paragraph == 1),
        math.log1p(paragraph),
        float(c["named_after_other"]),
        float(c["late"]),
        float(bool(EARLIER_POSITION.search(c["sentence"]))),
        float(bool(QUOTE.search(c["sentence"]))),
        *[float(c["actor_match"] == m) for m in ACTOR_MATCHES],
        *[float(c["policy_match"] == m) for m in POLICY_MATCHES],
    ]


def _sentence_label(c: dict) -> str:
    probs = {"support": c["p_support"], "oppose": c["p_oppose"], "neutral": c["p_neutral"]}
    return max(probs, key=lambda k: probs[k])


def fit_reliability(articles: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logistic regression: does this sentence, read alone, give its article's gold label?"""
    x = np.array([sentence_features(c) for a in articles for c in a["candidates"]])
    y = np.array([_sentence_label(c) == a["label"] for a in articles for c in a["candidates"]])
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.ones_like(w)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(500):
        p = 1 / (1 + np.exp(-(z @ w)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + L2 * penalty * w / len(y))
    return w, mean, std


def reliability_label(article: dict, model: tuple[np.ndarray, np.ndarray, np.ndarray]) -> str:
    """The shipped rule with each sentence's weight times its predicted reliability."""
    candidates = article["candidates"]
    if not candidates:
        return "neutral"
    w, mean, std = model
    x = (np.array([sentence_features(c) for c in candidates]) - mean) / std
    trust = 1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))
    probs = aggregate_probs(article, {}, [float(t) for t in trust])
    return probs.label if probs else "neutral"


def study_reliability(dump: dict, reach: str) -> dict:
    """Leave one set out: the reliability weight for a set is fitted on the other six."""
    sets = {name: by_reach[reach] for name, by_reach in dump.items()}
    per_set, drops, base, new, gold = {}, [], [], [], []
    for held, arts in sets.items():
        model = fit_reliability([a for n in sets if n != held for a in sets[n]])
        shipped = [label(a, {}) for a in arts]
        fitted = [reliability_label(a, model) for a in arts]
        before, after = _f1(arts, shipped), _f1(arts, fitted)
        drops.append(before - after)
        per_set[held] = {"n": len(arts), "shipped": round(before, 4), "cv": round(after, 4)}
        base += shipped
        new += fitted
        gold += [a["label"] for a in arts]
    return {
        "features": 11 + len(ACTOR_MATCHES) + len(POLICY_MATCHES),
        "sets": per_set,
        **verdict(gold, base, new, drops, "cv"),
    }


def _f1(articles: list[dict], labels: list[str]) -> float:
    return macro_f1([a["label"] for a in articles], labels)


def _pooled(sets: dict, labels: dict, names) -> float:
    """Macro-F1 of `labels` over the articles of the sets `names`, pooled."""
    return _f1([a for n in names for a in sets[n]], [x for n in names for x in labels[n]])


def study(dump: dict, reach: str) -> dict:
    sets = {name: by_reach[reach] for name, by_reach in dump.items()}
    shipped = {name: [label(a, {}) for a in arts] for name, arts in sets.items()}
    report: dict = {"reach": reach, "rule": RULE, "sets": list(sets), "families": {}}
    for family, grid in FAMILIES.items():
        options = [
            dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())
        ]
        # Every option's labels once; choosing for a held-out set is then a lookup.
        labels = {
            i: {name: [label(a, option) for a in arts] for name, arts in sets.items()}
            for i, option in enumerate(options)
        }
        chosen, cv_labels, per_set, drops = {}, {}, {}, []
        for held in sets:
            others = [n for n in sets if n != held]
            best = max(range(len(options)), key=lambda i: (_pooled(sets, labels[i], others), -i))
            chosen[held] = options[best]
            cv_labels[held] = labels[best][held]
            before = _f1(sets[held], shipped[held])
            after = _f1(sets[held], cv_labels[held])
            drops.append(before - after)
            per_set[held] = {
                "n": len(sets[held]),
                "shipped": round(before, 4),
                "cv": round(after, 4),
            }
        gold = [a["label"] for n in sets for a in sets[n]]
        base = [x for n in sets for x in shipped[n]]
        new = [x for n in sets for x in cv_labels[n]]
        everywhere = max(range(len(options)), key=lambda i: (_pooled(sets, labels[i], sets), -i))
        report["families"][family] = {
            "chosen_per_held_out_set": chosen,
            "sets": per_set,
            **verdict(gold, base, new, drops, "cv"),
            "chosen_on_all_sets": options[everywhere],
        }
    return report


def ceiling(dump: dict, reach: str) -> dict:
    """What no rule over these sentence readings can beat, and how sure the wrong readings are.

    `any_sentence_f1`: macro-F1 if, whenever some candidate sentence read alone gives the gold
    label, the article took it (an upper bound: it needs the answer). `*_sure_share`: of the
    articles read as support or oppose, right and wrong, the share whose strongest sentence for
    that label is read at 0.9 or more.
    """
    gold, shipped, oracle, sure = [], [], [], {True: [], False: []}
    for by_reach in dump.values():
        for a in by_reach[reach]:
            predicted = label(a, {})
            gold.append(a["label"])
            shipped.append(predicted)
            reachable = a["label"] in {_sentence_label(c) for c in a["candidates"]}
            oracle.append(a["label"] if reachable else predicted)
            if predicted != "neutral":
                strongest = max(c[f"p_{predicted}"] for c in a["candidates"])
                sure[predicted == a["label"]].append(strongest >= 0.9)
    return {
        "wrong": sum(g != p for g, p in zip(gold, shipped, strict=True)),
        "reachable": sum(g != p and g == o for g, p, o in zip(gold, shipped, oracle, strict=True)),
        "shipped_f1": round(macro_f1(gold, shipped), 4),
        "any_sentence_f1": round(macro_f1(gold, oracle), 4),
        "wrong_sure_share": round(sum(sure[False]) / len(sure[False]), 3),
        "right_sure_share": round(sum(sure[True]) / len(sure[True]), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", default=str(REPO / "training/runs/article_features.json"))
    parser.add_argument("--reach", default="paragraph")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    dump = json.loads(Path(args.features).read_text(encoding="utf-8"))
    mark_sentence_factors(dump)
    report = study(dump, args.reach)
    report["families"]["reliability"] = study_reliability(dump, args.reach)
    report["ceiling"] = ceiling(dump, args.reach)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
