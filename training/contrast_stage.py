"""Round 14 of #15: a contrast second stage over the shipped default adapter, and its decision.

    python training/contrast_stage.py train --seed 13        # about 25 min alone on 2 cores
    python training/compare.py default STAGE --sets fixtures unseen extraction fresh fresh2 \
        fresh3 fresh4 fresh5 fresh6 > training/runs/round14/compare-NAME.jsonl
    python training/reads_proposition.py --model STAGE > training/runs/round14/reads-NAME.txt
    python training/contrast_stage.py decide                 # rules 1-4 of `round14.rule`
    (NAME: default, stage-s13, stage-s14; STAGE: training/runs/contrast14/stage-sSEED)
    python training/contrast_stage.py blind --set fresh7     # rule 5: one reading, once

The stage (`round14.rule` in training/metrics.json, written before any figure) trains one epoch
from the shipped adapter over 3,600 replayed records of the shipped model's own training data,
each shown with probability 0.5 against the hand-written opposite of its policy's proposition
with support and oppose swapped, so that the direction of the reported action alone predicts
nothing and the model has to read it against the proposition. Research aid, not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

from article_features import ARTICLE_SETS  # noqa: E402
from combiner import macro_f1, paired_gain_interval  # noqa: E402
from rebuild import analysed_gold  # noqa: E402
from stage_data import stage_records  # noqa: E402

METRICS = REPO / "training" / "metrics.json"
RUNS = REPO / "training" / "runs"
FIGURES = RUNS / "round14"  # compare-NAME.jsonl and reads-NAME.txt, NAME in NAMES
STAGES = RUNS / "contrast14"
NAMES = {"shipped": "default", "stage_s13": "stage-s13", "stage_s14": "stage-s14"}
BLIND = "fresh7"  # the round's blind set; every other article set is a development set
DEV_SETS = tuple(name for name in ARTICLE_SETS if name != BLIND)
UNSHIPPED = ["za", "zb", "zc", "zd", "ze", "zf", "zg"]  # the shipped adapter never saw them
# The rule's thresholds, as written in round14.rule before any figure.
MAX_HELDOUT_DROP = 0.011
MIN_OPPOSITE_GAIN = 0.05
MIN_DEV_GAIN = 0.02
FIXTURE_FLOOR = 0.851


def train(seed: int) -> None:
    """The stage's data (a seeded replay sample) and one epoch of `stancetrack train` over it."""
    records, _ = stage_records([], UNSHIPPED, 3600, seed)
    data = STAGES / f"train-s{seed}.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    start = time.monotonic()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("stancetrack")),
            "train",
            "--init-from",
            str(REPO / "stancetrack" / "model"),
            "--data",
            str(data),
            "--epochs",
            "1",
            "--learning-rate",
            "1.5e-4",
            "--vast-samples",
            "300",
            "--negate-share",
            "0.5",
            "--opposites",
            str(REPO / "training" / "data" / "opposites.jsonl"),
            "--seed",
            str(seed),
            "--output",
            str(STAGES / f"stage-s{seed}"),
        ],
        check=True,
    )
    print(f"seed {seed}: {time.monotonic() - start:.0f} s")


def opposite_figure(path: Path) -> dict:
    """Held-out macro-F1 against their own and their written opposite propositions, as
    training/reads_proposition.py prints them (three decimals)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"(own proposition|written opposite)\s+n=(\d+) .*macro-F1 ([\d.]+)", line)
        if match:
            key = "own" if match[1].startswith("own") else "opposite"
            found[key] = {"n": int(match[2]), "macro_f1": float(match[3])}
    return found


def dev_mean(block: dict) -> float:
    return sum(block[f"articles_{name}"]["macro_f1"] for name in DEV_SETS) / len(DEV_SETS)


def decide() -> dict:
    """Rules 1-4 from the saved figures; writes them into round14 of metrics.json."""
    blocks = {}
    for key, name in NAMES.items():
        blocks[key] = json.loads((FIGURES / f"compare-{name}.jsonl").read_text().splitlines()[0])
        blocks[key]["heldout_opposite"] = opposite_figure(FIGURES / f"reads-{name}.txt")["opposite"]
        blocks[key]["dev_mean"] = round(dev_mean(blocks[key]), 4)
    shipped = blocks["shipped"]
    stages = [blocks["stage_s13"], blocks["stage_s14"]]

    def heldout(b: dict) -> float:
        return b["heldout_before_round8"]["macro_f1"]

    def opposite(b: dict) -> float:
        return b["heldout_opposite"]["macro_f1"]

    mean_gain = sum(b["dev_mean"] for b in stages) / len(stages) - shipped["dev_mean"]
    rules = {
        "1_heldout": all(heldout(shipped) - heldout(b) <= MAX_HELDOUT_DROP for b in stages),
        "2_opposites": all(opposite(b) - opposite(shipped) >= MIN_OPPOSITE_GAIN for b in stages),
        "3_dev_mean": mean_gain >= MIN_DEV_GAIN
        and all(b["dev_mean"] >= shipped["dev_mean"] for b in stages),
        "4_fixtures": all(b["articles_fixtures"]["macro_f1"] > FIXTURE_FLOOR for b in stages),
    }
    metrics = json.loads(METRICS.read_text())
    round14 = metrics.setdefault("round14", {})
    round14.update(blocks)
    round14["rules"] = {**rules, "dev_mean_gain": round(mean_gain, 4)}
    METRICS.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    return round14["rules"]


def blind(corpus: str) -> dict:
    """The shipped model and both stages on a blind set, with each stage's paired gain."""
    readings: dict[str, list[str]] = {}
    out: dict = {}
    gold: list[str] = []
    for key, name in NAMES.items():
        model = "default" if name == "default" else str(STAGES / name)
        with analysed_gold(model, "weighted", corpus) as (_, rows, predicted, scores):
            gold = [row["label"] for row in rows]
            readings[key] = list(predicted)
            out[key] = {k: scores.as_dict()[k] for k in ("n", "macro_f1", "macro_f1_ci")}
    for key in ("stage_s13", "stage_s14"):
        low, high = paired_gain_interval(gold, readings["shipped"], readings[key])
        out[key]["gain_interval"] = [round(low, 4), round(high, 4)]
        out[key]["labels_changed"] = sum(
            a != b for a, b in zip(readings["shipped"], readings[key], strict=True)
        )
        assert abs(macro_f1(gold, readings[key]) - out[key]["macro_f1"]) < 1e-3
    metrics = json.loads(METRICS.read_text())
    metrics.setdefault("round14", {})[corpus] = out
    METRICS.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("train", "decide", "blind"))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--set", default=BLIND)
    args = parser.parse_args()
    if args.step == "train":
        train(args.seed)
    elif args.step == "decide":
        print(json.dumps(decide(), indent=2))
    else:
        print(json.dumps(blind(args.set), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
