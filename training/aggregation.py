"""Choose article-level aggregation rules by cross-validation on the gold articles.

    python training/aggregation.py [--features training/runs/article_features.json]
                                   [--temperature 1.0] [--reach paragraph]

Reads a training/article_features.py dump (every candidate sentence of the gold sets with the
model's probabilities), and scores a small family of aggregation rules: sentence weight =
(1 - P(no_stance))^a, times `lead` for the headline and first paragraph, `past` for a sentence
that reports an earlier position ("had refused", "initially", "last year"), `reach` for a
candidate found through the policy reach rather than a keyword or anaphor; sentences with
P(no_stance) >= t do not count unless none is left. The rule is chosen by 5-fold
cross-validation over the development articles (fixtures and fixtures/extraction, folds by
topic), and kept only if it beats the current rule by more than the folds' spread; the unseen
set is reported beside it for information. Research aid; not run by the tests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack.aggregate import AggregationRule, aggregate_stance  # noqa: E402
from stancetrack.calibration import scale  # noqa: E402
from stancetrack.classify import StanceProbs  # noqa: E402
from stancetrack.evaluate import score  # noqa: E402

GRID = {
    "power": [1.0, 2.0],
    "lead": [1.0, 2.0],
    "past": [0.25, 0.5, 1.0],
    "reach": [0.5, 1.0],
    "carries": [0.5, 0.7],
}
DEV = ("fixtures", "extraction")


def probs_of(candidate: dict, temperature: float) -> StanceProbs:
    no_stance = candidate["p_no_stance"] or 0.0
    row = [
        candidate["p_support"],
        candidate["p_oppose"],
        max(candidate["p_neutral"] - no_stance, 0.0),
        no_stance,
    ]
    if temperature != 1.0:
        row = scale(row, temperature)
    return StanceProbs(row[0], row[1], row[2] + row[3], row[3])


def predict(article: dict, rule: AggregationRule, temperature: float) -> str:
    candidates = article["candidates"]
    if not candidates:
        return "neutral"
    stance = aggregate_stance(
        [probs_of(c, temperature) for c in candidates],
        rule=rule,
        sentences=[c["sentence"] for c in candidates],
        paragraphs=[c["paragraph"] for c in candidates],
        policy_matches=[c["policy_match"] for c in candidates],
    )
    return stance.label


def macro_f1(articles: list[dict], rule: AggregationRule, temperature: float) -> float:
    return score(
        [a["label"] for a in articles], [predict(a, rule, temperature) for a in articles], "a"
    ).macro_f1


def topic_of(article: dict) -> str:
    return article["url"].split("/")[2] + ":" + article["policy"]


def choose_rule(features: dict, temperature: float = 1.0, reach: str = "paragraph") -> dict:
    """Cross-validate the rule family on the development articles; see the module docstring."""
    dev = [a for name in DEV for a in features[name][reach]]
    rules = [
        AggregationRule(**dict(zip(GRID, values, strict=True)))
        for values in itertools.product(*GRID.values())
    ]
    baseline = AggregationRule()
    # Folds by policy: articles on one policy never sit on both sides.
    policies = sorted({a["policy"] for a in dev})
    folds = [policies[i::5] for i in range(5)]
    chosen, fold_scores, base_scores = [], [], []
    for held in folds:
        train = [a for a in dev if a["policy"] not in held]
        test = [a for a in dev if a["policy"] in held]
        best = max(rules, key=lambda r: macro_f1(train, r, temperature))
        chosen.append(best)
        fold_scores.append(macro_f1(test, best, temperature))
        base_scores.append(macro_f1(test, baseline, temperature))
    best_overall = max(rules, key=lambda r: macro_f1(dev, r, temperature))
    gain = statistics.mean(fold_scores) - statistics.mean(base_scores)
    spread = statistics.pstdev([f - b for f, b in zip(fold_scores, base_scores, strict=True)])
    keep = gain > spread
    report = {
        "temperature": temperature,
        "reach": reach,
        "cv_chosen_rule_f1": round(statistics.mean(fold_scores), 4),
        "cv_current_rule_f1": round(statistics.mean(base_scores), 4),
        "cv_gain": round(gain, 4),
        "cv_gain_spread": round(spread, 4),
        "rules_chosen_in_folds": [r.as_dict() for r in chosen],
        "best_on_all_dev": best_overall.as_dict(),
        "rule": best_overall.as_dict() if keep else baseline.as_dict(),
        "kept": "best_on_all_dev" if keep else "current rule",
    }
    rule = best_overall if keep else baseline
    for name, by_reach in features.items():
        report[f"{name}_current"] = round(macro_f1(by_reach[reach], baseline, temperature), 4)
        report[f"{name}_rule"] = round(macro_f1(by_reach[reach], rule, temperature), 4)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", default=str(REPO / "training/runs/article_features.json"))
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--reach", default="paragraph")
    args = parser.parse_args()
    features = json.loads(Path(args.features).read_text(encoding="utf-8"))
    print(json.dumps(choose_rule(features, args.temperature, args.reach), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
