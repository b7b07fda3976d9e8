"""Article-level calibration: one temperature on the aggregated article stance, fitted by topic.

    python training/article_calibration.py [--features training/runs/article_features.json]

Sentence-level temperature scaling made held-out sentences honest but article confidences worse
(training/calibrate.py, model card), because an article's confidence is a weighted mean of
sentence probabilities, not a probability the model produced. This fits one temperature T_a on
the aggregated three-way article probabilities (support, oppose, neutral) instead, by negative
log-likelihood against the gold labels, leaving one topic out at a time across every
development set, and prints the 10-bin ECE of article confidence before and after, per set and
pooled, with the reliability table. Temperature scaling never changes a label, only how sure it
is. For comparison it fits a straight line from confidence to the share right the same way
(`affine_cv`), which can bend confidence both ways. Research aid; not run by the tests.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

from article_features import main_over_dump  # noqa: E402

from stancetrack.aggregate import aggregate_stance  # noqa: E402
from stancetrack.calibration import (  # noqa: E402
    expected_calibration_error,
    fit_temperature,
    reliability,
    scale,
)
from stancetrack.classify import StanceProbs  # noqa: E402

LABELS = ("support", "oppose", "neutral")


def article_rows(features: dict, reach: str) -> list[dict]:
    """Every gold article with candidates: its set, topic, gold and aggregated 3-way probs."""
    rows = []
    for name, by_reach in features.items():
        for article in by_reach[reach]:
            candidates = article["candidates"]
            if not candidates:
                continue
            probs = aggregate_stance(
                [
                    StanceProbs(c["p_support"], c["p_oppose"], c["p_neutral"], c["p_no_stance"])
                    for c in candidates
                ],
                sentences=[c["sentence"] for c in candidates],
                paragraphs=[c["paragraph"] for c in candidates],
                policy_matches=[c["policy_match"] for c in candidates],
            ).probs
            rows.append(
                {
                    "set": name,
                    "topic": article["policy"],
                    "gold": LABELS.index(article["label"]),
                    "probs": [probs.support, probs.oppose, probs.neutral],
                }
            )
    return rows


def ece(rows: list[dict], temperatures: list[float]) -> tuple[float, list]:
    confidences, correct = [], []
    for row, t in zip(rows, temperatures, strict=True):
        scaled = scale(row["probs"], t)
        best = max(range(3), key=lambda i: scaled[i])
        confidences.append(scaled[best])
        correct.append(best == row["gold"])
    table = [
        [round(b.low, 1), b.count, round(b.confidence, 3), round(b.accuracy, 3)]
        for b in reliability(confidences, correct)
    ]
    return round(expected_calibration_error(confidences, correct), 4), table


def line_fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares intercept and slope of y on x."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points) or 1e-12
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / var
    return mean_y - slope * mean_x, slope


def affine_cv(rows: list[dict]) -> list[tuple[float, bool]]:
    """(calibrated confidence, right) per row, the line fitted without the row's topic."""
    points = [
        (max(r["probs"]), max(range(3), key=lambda i: r["probs"][i]) == r["gold"]) for r in rows
    ]
    out = []
    for topic in sorted({r["topic"] for r in rows}):
        a, b = line_fit(
            [(c, float(ok)) for (c, ok), r in zip(points, rows, strict=True) if r["topic"] != topic]
        )
        for (c, ok), r in zip(points, rows, strict=True):
            if r["topic"] == topic:
                out.append((id(r), min(1.0, max(0.0, a + b * c)), ok))
    by_row = {key: (c, ok) for key, c, ok in out}
    return [by_row[id(r)] for r in rows]


def study(features: dict, reach: str) -> dict:
    rows = article_rows(features, reach)
    topics = sorted({r["topic"] for r in rows})
    by_topic = {}
    for topic in topics:
        fit_rows = [r for r in rows if r["topic"] != topic]
        by_topic[topic] = fit_temperature(
            [r["probs"] for r in fit_rows], [r["gold"] for r in fit_rows]
        )
    held_out_t = [by_topic[r["topic"]] for r in rows]
    line = affine_cv(rows)
    everything = fit_temperature([r["probs"] for r in rows], [r["gold"] for r in rows])
    report: dict = {
        "reach": reach,
        "articles": len(rows),
        "topics": len(topics),
        "temperature_all": everything,
        "temperature_folds": [
            min(by_topic.values()),
            statistics.median(by_topic.values()),
            max(by_topic.values()),
        ],
        "line_all": [
            round(v, 3)
            for v in line_fit(
                [
                    (
                        max(r["probs"]),
                        float(max(range(3), key=lambda i: r["probs"][i]) == r["gold"]),
                    )
                    for r in rows
                ]
            )
        ],
        "sets": {},
        "affine_cv": {},
    }
    for name in [*features, "pooled"]:
        idx = [i for i, r in enumerate(rows) if name in ("pooled", r["set"])]
        before, table_before = ece([rows[i] for i in idx], [1.0] * len(idx))
        after, table_after = ece([rows[i] for i in idx], [held_out_t[i] for i in idx])
        report["sets"][name] = {"n": len(idx), "ece_before": before, "ece_after_cv": after}
        report["affine_cv"][name] = round(
            expected_calibration_error([line[i][0] for i in idx], [line[i][1] for i in idx]), 4
        )
        if name == "pooled":
            report["reliability_before"] = table_before
            report["reliability_after_cv"] = table_after
    return report


if __name__ == "__main__":
    sys.exit(main_over_dump(__doc__.splitlines()[0], study))
