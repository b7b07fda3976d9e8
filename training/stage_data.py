"""Write the data of a second training stage: the new parts' records plus a replay sample.

    python training/stage_data.py --new zc zd ze --skip za zb --replay 1800 \
        --out training/runs/stage/train.jsonl

A second stage (`stancetrack train --init-from ADAPTER --data OUT --epochs 1`) teaches a trained
adapter the patterns of a few new part files without the full hour of a retrain; with no `--new`
it is replay only, for a stage that changes how records are shown rather than which (round 14:
`--negate-share` against the written opposites). It trains on
the training-side records of the new parts' policies (from training/data/train.jsonl, so the
held-out split and the mentions are the ones build_data.py made) and a seeded random sample of
the records the adapter was first trained on, so it does not forget them: every training
policy except those of the new parts and of `--skip` (parts the first stage did not see).
Research aid; not run by the tests.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def policies_of(parts: list[str]) -> set[str]:
    found: set[str] = set()
    for part in parts:
        path = DATA / "raw" / f"part-{part}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.add(json.loads(line)["policy"])
    return found


def stage_records(
    new: list[str], skip: list[str], replay: int, seed: int
) -> tuple[list[dict], int]:
    """The stage's records, shuffled, and how many of them are replayed."""
    records = [
        json.loads(line)
        for line in (DATA / "train.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    fresh_policies = policies_of(new)
    unseen_by_first_stage = fresh_policies | policies_of(skip)
    fresh = [r for r in records if r["policy"] in fresh_policies]
    old = [r for r in records if r["policy"] not in unseen_by_first_stage]
    rng = random.Random(seed)
    replayed = rng.sample(old, min(replay, len(old)))
    chosen = fresh + replayed
    rng.shuffle(chosen)
    return chosen, len(replayed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--new", nargs="*", default=[], help="part names, e.g. zc zd (none: replay only)"
    )
    parser.add_argument("--skip", nargs="*", default=[], help="parts the first stage did not see")
    parser.add_argument("--replay", type=int, default=1800, help="records of the first stage")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    chosen, replayed = stage_records(args.new, args.skip, args.replay, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen))
    print(
        f"{len(chosen)} records ({len(chosen) - replayed} new, {replayed} replayed) -> {args.out}:",
        dict(Counter(r["label"] for r in chosen)),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
