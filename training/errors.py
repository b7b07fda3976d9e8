"""Where the model still fails: held-out errors by case tag, and fixture articles it gets wrong.

    python training/errors.py [--model training/runs/latest] [--show 20] [--articles unseen]

Prints the error rate per case tag on training/data/heldout.jsonl, the confusion pairs, a
sample of wrong held-out sentences, and each fixture gold article the whole pipeline gets
wrong with the evidence sentences and their probabilities. Research aid; not run by the tests.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rebuild import ARTICLE_SETS, analysed_gold, predict_labels  # noqa: E402  (training/ is on sys.path)

from stancetrack.classify import load_classifier  # noqa: E402
from stancetrack.train import load_labelled  # noqa: E402


def heldout_errors(model: str | None, show: int) -> None:
    examples = load_labelled(REPO / "training" / "data" / "heldout.jsonl")
    predicted = predict_labels(load_classifier(model), examples)
    total, wrong, pairs, misses = Counter(), Counter(), Counter(), []
    for example, label in zip(examples, predicted, strict=True):
        total[example.case] += 1
        if label != example.label:
            wrong[example.case] += 1
            pairs[(example.label, label)] += 1
            misses.append((example, label))
    print(f"held-out: {sum(wrong.values())} wrong of {len(examples)}")
    for case in sorted(total, key=lambda c: -wrong[c]):
        print(f"  {case:24} {wrong[case]:4d} / {total[case]:4d}")
    print("  gold -> predicted: " + ", ".join(f"{g}->{p} {n}" for (g, p), n in pairs.items()))
    for example, label in random.Random(0).sample(misses, min(show, len(misses))):
        print(f"  [{example.case}; gold {example.label}, got {label}] {example.actor}: ", end="")
        print(f"{example.proposition}\n      {example.text}")


def article_errors(model: str, corpus: str) -> None:
    from sqlalchemy import select

    from stancetrack.models import Actor, Article, Evidence

    with analysed_gold(model, corpus=corpus) as (session, rows, predicted, scores):
        print(
            f"\narticles ({corpus}): macro-F1 {scores.macro_f1:.3f}, accuracy {scores.accuracy:.3f}"
        )
        for row, label in zip(rows, predicted, strict=True):
            if label == row["label"]:
                continue
            print(f"  {row['url']} {row['actor']}: gold {row['label']}, got {label}")
            evidence = session.scalars(
                select(Evidence)
                .join(Article, Article.id == Evidence.article_id)
                .join(Actor, Actor.id == Evidence.actor_id)
                .where(Article.url == row["url"], Actor.key == row["actor"])
            )
            for e in evidence:
                print(
                    f"      S{e.p_support:.2f} O{e.p_oppose:.2f} N{e.p_neutral:.2f} "
                    f"none{e.p_no_stance or 0:.2f} | {e.sentence}"
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: the packaged model")
    parser.add_argument("--show", type=int, default=20, help="wrong held-out sentences to print")
    parser.add_argument("--articles", choices=sorted(ARTICLE_SETS), default="fixtures")
    parser.add_argument("--no-heldout", action="store_true", help="only the article set")
    args = parser.parse_args()
    if not args.no_heldout:
        heldout_errors(args.model, args.show)
    article_errors(args.model or "default", args.articles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
