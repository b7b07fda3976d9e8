"""Score candidate models side by side on the development evidence, for a ship decision.

    python training/compare.py MODEL [MODEL ...] [--sets fixtures unseen extraction fresh]

For each model: held-out sentence macro-F1 overall, on the policies of the rounds before 8 (the
split the shipped figures use), on the round-8, round-9 and round-10 policies, then article
macro-F1 with its interval on each article set (never a blind set unless named). One JSON line
per model, so a shell loop can collect them. Research aid; not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

from article_features import ARTICLE_SETS, BLIND_SETS  # noqa: E402
from rebuild import article_scores, predict_labels  # noqa: E402
from stage_data import policies_of  # noqa: E402

from stancetrack.classify import load_classifier  # noqa: E402
from stancetrack.evaluate import score  # noqa: E402
from stancetrack.train import load_labelled  # noqa: E402

ROUND_8 = ("zc", "zd", "ze")
ROUND_9 = ("zf",)
ROUND_10 = ("zg",)


def compare(model: str, sets: list[str]) -> dict:
    heldout = load_labelled(REPO / "training" / "data" / "heldout.jsonl")
    predicted = predict_labels(load_classifier(model, precision="fp32"), heldout)
    round8, round9 = policies_of(list(ROUND_8)), policies_of(list(ROUND_9))
    round10 = policies_of(list(ROUND_10))
    out: dict = {"model": model}
    for name, keep in (
        ("heldout", lambda e: True),
        ("heldout_before_round8", lambda e: e.policy not in round8 | round9 | round10),
        ("heldout_round8", lambda e: e.policy in round8),
        ("heldout_round9", lambda e: e.policy in round9),
        ("heldout_round10", lambda e: e.policy in round10),
    ):
        rows = [(e.label, p) for e, p in zip(heldout, predicted, strict=True) if keep(e)]
        result = score([g for g, _ in rows], [p for _, p in rows], "sentence")
        out[name] = {"n": len(rows), "macro_f1": round(result.macro_f1, 4)}
    for name in sets:
        scores = article_scores(model, "weighted", name)
        out[f"articles_{name}"] = {k: scores[k] for k in ("n", "macro_f1", "macro_f1_ci")}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument(
        "--sets", nargs="*", default=[s for s in ARTICLE_SETS if s not in BLIND_SETS]
    )
    args = parser.parse_args()
    for model in args.models:
        print(json.dumps(compare(model, args.sets)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
