"""Does the model read the proposition, or only the sentence's direction?

    python training/reads_proposition.py [--model training/runs/latest]

Scores the held-out sentences twice: against their own proposition, and against the opposite
in training/data/heldout_opposites.jsonl (written from the propositions alone, never trained
on) with support and oppose swapped in the gold. A model that reads the proposition scores
alike on both; one that labels the sentence's mood ("approved", "refused") falls towards chance
on the opposites.
Research aid; not run by the tests.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rebuild import DATA, opposite_scores, sentence_scores  # noqa: E402  (training/ on sys.path)

from stancetrack.classify import load_classifier  # noqa: E402
from stancetrack.train import load_labelled  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the packaged model")
    args = parser.parse_args()
    heldout = load_labelled(DATA / "heldout.jsonl")
    classifier = load_classifier(args.model)
    for name, scores in (
        ("own proposition", sentence_scores(classifier, heldout)),
        ("written opposite", opposite_scores(classifier, heldout)),
    ):
        figures = f"accuracy {scores['accuracy']:.3f} macro-F1 {scores['macro_f1']:.3f}"
        print(f"{name:17} n={scores['n']} {figures}")


if __name__ == "__main__":
    main()
