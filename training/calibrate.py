"""Fit and measure a model's calibration temperature (temperature scaling).

    python training/calibrate.py [--model default] [--write] [--features FILE]

Splits the held-out sentences by policy into a fitting half and a measuring half, fits T on the
fitting half (four outputs: support, oppose, neutral, no_stance, against the training targets),
and prints the 10-bin expected calibration error (ECE) of the three-way label before and after,
on the measuring half and, from a training/article_features.py dump, on the gold articles.
`--write` stores T in the adapter folder's config.json ("temperature"), where the classifier
reads it. Research aid; not run by the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack.aggregate import aggregate_stance  # noqa: E402
from stancetrack.calibration import (  # noqa: E402
    expected_calibration_error,
    fit_temperature,
    reliability,
    scale,
)
from stancetrack.classify import (  # noqa: E402
    StancePair,
    StanceProbs,
    TransformerClassifier,
    resolve_model,
)
from stancetrack.train import TRAIN_LABELS, load_labelled, training_target  # noqa: E402

HELD_OUT = REPO / "training" / "data" / "heldout.jsonl"


def fitting_half(policy: str) -> bool:
    """Half of the held-out policies fit T, the other half measure it (a fixed split)."""
    return hashlib.sha1(f"calibrate:{policy}".encode()).hexdigest() < "8"


def four_way(p: StanceProbs) -> list[float]:
    no_stance = p.no_stance or 0.0
    return [p.support, p.oppose, max(p.neutral - no_stance, 0.0), no_stance]


def three_way(row: list[float]) -> StanceProbs:
    return StanceProbs(row[0], row[1], row[2] + row[3], row[3])


def sentence_ece(rows: list[list[float]], gold: list[str], temperature: float) -> float:
    confidences, correct = [], []
    for row, label in zip(rows, gold, strict=True):
        probs = three_way(scale(row, temperature))
        confidences.append(getattr(probs, probs.label))
        correct.append(probs.label == label)
    return expected_calibration_error(confidences, correct)


def article_ece(features: dict, reach: str, temperature: float) -> dict[str, float]:
    """ECE of article stance confidence on each gold set, from a features dump."""
    result = {}
    for name, by_reach in features.items():
        confidences, correct = [], []
        for article in by_reach[reach]:
            if not article["candidates"]:
                continue
            stance = aggregate_stance(
                [
                    three_way(
                        scale(
                            four_way(
                                StanceProbs(
                                    c["p_support"], c["p_oppose"], c["p_neutral"], c["p_no_stance"]
                                )
                            ),
                            temperature,
                        )
                    )
                    for c in article["candidates"]
                ]
            )
            confidences.append(stance.confidence)
            correct.append(stance.label == article["label"])
        result[name] = round(expected_calibration_error(confidences, correct), 4)
    return result


def calibrate(
    model: str, precision: str = "fp32", features_path: Path | None = None, reach: str = "paragraph"
) -> dict:
    """Fit T for `model` (its own temperature ignored) and measure ECE before and after."""
    spec = resolve_model(model)
    classifier = TransformerClassifier(spec, precision=precision)
    classifier.temperature = 1.0  # raw outputs: the fit starts from the uncalibrated model
    examples = load_labelled(HELD_OUT)
    probs = classifier.predict(
        [StancePair(e.actor, e.proposition, e.text, e.mention) for e in examples]
    )
    rows = [four_way(p) for p in probs]
    fit = [i for i, e in enumerate(examples) if fitting_half(e.policy)]
    measure = [i for i, e in enumerate(examples) if not fitting_half(e.policy)]
    targets = [TRAIN_LABELS.index(training_target(e.label, e.case)) for e in examples]
    temperature = fit_temperature([rows[i] for i in fit], [targets[i] for i in fit])
    gold = [examples[i].label for i in measure]
    measured = [rows[i] for i in measure]
    report: dict = {
        "model": classifier.name,
        "temperature": temperature,
        "fit_sentences": len(fit),
        "measure_sentences": len(measure),
        "heldout_ece_before": round(sentence_ece(measured, gold, 1.0), 4),
        "heldout_ece_after": round(sentence_ece(measured, gold, temperature), 4),
    }
    for label, t in (("before", 1.0), ("after", temperature)):
        confidences, correct = [], []
        for row, answer in zip(measured, gold, strict=True):
            p = three_way(scale(row, t))
            confidences.append(getattr(p, p.label))
            correct.append(p.label == answer)
        report[f"heldout_reliability_{label}"] = [
            [round(b.low, 1), b.count, round(b.confidence, 3), round(b.accuracy, 3)]
            for b in reliability(confidences, correct)
        ]
    if features_path is not None and features_path.exists():
        features = json.loads(features_path.read_text(encoding="utf-8"))
        report["articles_ece_before"] = article_ece(features, reach, 1.0)
        report["articles_ece_after"] = article_ece(features, reach, temperature)
    return report


def write_setting(folder: Path, key: str, value: object) -> None:
    """Store one setting (temperature, aggregation) in an adapter folder's config.json."""
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config[key] = value
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--write", action="store_true", help="store T in the adapter config")
    parser.add_argument("--features", default=str(REPO / "training/runs/article_features.json"))
    parser.add_argument("--reach", default="paragraph")
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    report = calibrate(args.model, args.precision, Path(args.features), args.reach)
    print(json.dumps(report, indent=1))
    spec = resolve_model(args.model)
    if args.write and spec.path is not None:
        write_setting(spec.path, "temperature", report["temperature"])
        print(f"wrote temperature {report['temperature']} to {spec.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
