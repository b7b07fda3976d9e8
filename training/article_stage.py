"""Round 13 of #15: the article stage, gated for speed, trained on all sets, read on a blind set.

    python training/article_stage.py gates --features DUMP ...
    python training/article_stage.py final [--model default|fast] [--seed 13]
    python training/article_stage.py blind --features DUMP [--stages FOLDER ...]
    python training/article_stage.py fast-stage --features DUMP DUMP-FRESH6
    python training/article_stage.py install [--model default] [--stages FOLDER] [--into COPY]

Round 12 found that a second stage reading a pair's candidate sentences joined (training/
article_input.py) and averaged with the shipped rule beats the rule on every group of
development sets, at 1.7 times today's compute. Here, following `round13.rule` in
training/metrics.json (written before any of this was computed):

- `gates`: which pairs the stage reads. Each gate's tokens are counted against today's
  sentence inputs, and its gated reading is scored on the eight development sets with the four
  round-12 fold stages (rebuilt by article_input.train_fold when missing);
- `final`: the stage trained on every development set's article gold, one seed per call;
- `blind`: the shipped rule and the chosen gate with each final stage, on a set scored once;
- `fast-stage`: the default rule with a stage on the `fast` encoder, five folds over nine sets
  (`round13.fast_stage_rule`, a finding for round 14);
- `install`: copy a stage into the packaged adapter folder (or train one first, as
  training/rebuild.py does after training a new adapter) and name it in its config.json.

Research aid, not run by the tests. A fold or a final stage trains for 6-10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

from article_input import (  # noqa: E402
    GROUPS,
    MAX_LENGTH,
    RUNS,
    SENTENCE_MAX_LENGTH,
    article_records,
    classifier_for,
    compare,
    mixed_label,
    read_probs,
    train_fold,
    train_stage,
)
from article_rules import aggregate_probs, label  # noqa: E402
from combiner import RULE, probs_of  # noqa: E402

from stancetrack.classify import PACKAGED_MODELS, StanceProbs, pair_prompt  # noqa: E402

MAX_ADDED_TOKENS = 0.20  # the bound: inference within 20% of today's per pair
UNSURE = 0.6  # shift detection's confidence floor (shifts.py), reused, not tuned
STAGE_FOLDER = "article-stage"  # inside the packaged adapter folder


def _labels(record: dict) -> set[str]:
    return {probs_of(c).label for c in record["article"]["candidates"]}


def _sentences(record: dict) -> set[str]:
    return {c["sentence"] for c in record["article"]["candidates"]}


def _unsure(record: dict) -> bool:
    probs = aggregate_probs(record["article"], {})
    return probs is not None and getattr(probs, probs.label) < UNSURE


# Which pairs the stage reads, cheapest first; the rest keep the rule's stance. `unsure` came in
# the rule's addendum, once the token counts showed the other three add 56-66%.
GATES: dict[str, Callable[[dict], bool]] = {
    "unsure": _unsure,
    "disagree": lambda r: len(_labels(r)) > 1,
    "multi": lambda r: len(_sentences(r)) > 1,
    "all": lambda r: bool(r["text"]),
}


def gated(
    records: list[dict], shipped: list[str], joint: list[StanceProbs], gate: str
) -> list[str]:
    """The mixed label where the gate reads the pair, the shipped rule's elsewhere."""
    chosen = GATES[gate]
    return [
        mixed_label(r, p) if chosen(r) else s
        for r, s, p in zip(records, shipped, joint, strict=True)
    ]


def token_costs(tokenizer, records: list[dict]) -> dict:
    """Tokens each gate's joined inputs add, as a share of today's sentence-input tokens."""
    sentence_tokens = 0
    joined: dict[str, int] = dict.fromkeys(GATES, 0)
    for r in records:
        if not r["text"]:
            continue
        prompt = pair_prompt(r["actor"], r["proposition"])
        for c in r["article"]["candidates"]:
            ids = tokenizer(prompt, c["sentence"])["input_ids"]
            sentence_tokens += min(SENTENCE_MAX_LENGTH, len(ids))
        tokens = min(MAX_LENGTH, len(tokenizer(prompt, r["text"])["input_ids"]))
        for gate, chosen in GATES.items():
            if chosen(r):
                joined[gate] += tokens
    return {
        "sentence_tokens": sentence_tokens,
        "pairs": sum(1 for r in records if r["text"]),
        "gates": {
            gate: {
                "pairs_read": sum(1 for r in records if GATES[gate](r)),
                "tokens": joined[gate],
                "added": round(joined[gate] / sentence_tokens, 3),
            }
            for gate in GATES
        },
    }


def fold_readings(records: list[dict]) -> list[StanceProbs]:
    """Each group of sets read by the round-12 fold stage trained on the other three."""
    joint: list[StanceProbs | None] = [None] * len(records)
    for group, names in GROUPS.items():
        folder = train_fold(group, records, RUNS / "train.log")
        idx = [i for i, r in enumerate(records) if r["set"] in names]
        probs = read_probs(classifier_for(str(folder)), [records[i] for i in idx])
        for i, p in zip(idx, probs, strict=True):
            joint[i] = p
        print(group, "read", flush=True)
    missing = sorted({r["set"] for r, p in zip(records, joint, strict=True) if p is None})
    if missing:
        raise SystemExit(f"sets in no fold group: {', '.join(missing)}")
    return [p for p in joint if p is not None]


def study_gates(records: list[dict]) -> dict:
    from transformers import AutoTokenizer

    from stancetrack.bases import base_model_dir

    shipped = [label(r["article"], {}) for r in records]
    report: dict = {"rule": RULE, "max_added_tokens": MAX_ADDED_TOKENS}
    report["tokens"] = token_costs(AutoTokenizer.from_pretrained(base_model_dir("mpnet")), records)
    joint = fold_readings(records)
    for gate in GATES:
        report[gate] = compare(records, shipped, gated(records, shipped, joint, gate))
        print(gate, json.dumps(report[gate]["pooled"]), flush=True)
    within = [g for g in GATES if report["tokens"]["gates"][g]["added"] <= MAX_ADDED_TOKENS]
    best = max(within, key=lambda g: report[g]["pooled"]["new"], default=None)
    report["chosen"] = best if best and report[best]["passes"] else None
    return report


FAST_GROUPS = {**GROUPS, "e": ("fresh6",)}


def train_fast_fold(group: str, records: list[dict]) -> Path:
    """A stage from the `fast` adapter on the other groups' article gold (fast_stage_rule)."""
    rows = [r for r in records if r["set"] not in FAST_GROUPS[group]]
    name = f"fast-{group}"
    return train_stage(rows, RUNS / name, name, RUNS / "train-fast.log", model="fast")


def study_fast_stage(records: list[dict]) -> dict:
    """The default rule averaged with a `fast`-encoder stage, per gate, over nine sets."""
    shipped = [label(r["article"], {}) for r in records]
    joint: list[StanceProbs | None] = [None] * len(records)
    for group, names in FAST_GROUPS.items():
        folder = train_fast_fold(group, records)
        idx = [i for i, r in enumerate(records) if r["set"] in names]
        probs = read_probs(classifier_for(str(folder)), [records[i] for i in idx])
        for i, p in zip(idx, probs, strict=True):
            joint[i] = p
        print(group, "read", flush=True)
    readings = [p for p in joint if p is not None]
    report: dict = {"rule": RULE, "groups": FAST_GROUPS}
    for gate in GATES:
        report[gate] = compare(records, shipped, gated(records, shipped, readings, gate))
        print(gate, json.dumps(report[gate]["pooled"]), report[gate]["passes"], flush=True)
    return report


def train_final(records: list[dict], model: str, seed: int, out: Path | None = None) -> Path:
    """The stage from `model`'s installed adapter on every development set's article gold."""
    out = out or RUNS / f"final-{model}-s{seed}"
    return train_stage(records, out, "final", RUNS / "train-final.log", model, seed)


def install(
    model: str,
    stage: Path | None = None,
    gate: str = "unsure",
    seed: int = 13,
    into: Path | None = None,
) -> dict:
    """Put an article stage into `model`'s adapter folder and name it in its config; with
    `into`, into a copy of that folder instead (a candidate to benchmark or try).

    Without `stage`, trains one first (what training/rebuild.py does after a new adapter):
    dumps the development sets' candidates with the installed adapter alone, then trains."""
    from article_features import ARTICLE_SETS, BLIND_SETS, dump_features
    from calibrate import write_setting

    model_dir = PACKAGED_MODELS[model]
    if into is not None:
        shutil.rmtree(into, ignore_errors=True)
        shutil.copytree(model_dir, into, ignore=shutil.ignore_patterns("*.md", STAGE_FOLDER))
        model_dir = into
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    config.pop("article_stage", None)  # the dump reads sentences with the adapter alone
    (model_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    if stage is None:
        features = RUNS.parent / f"article_features-{model}-dev.json"
        dev = [name for name in ARTICLE_SETS if name not in BLIND_SETS]
        dump_features(str(model_dir) if into else model, "auto", features, dev)
        out = RUNS / f"install-{model}-s{seed}"
        shutil.rmtree(out, ignore_errors=True)
        stage = train_final(load_records([str(features)]), model, seed, out)
    target = model_dir / STAGE_FOLDER
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    for path in (stage / "config.json", *stage.glob("adapter*.safetensors")):
        shutil.copy2(path, target / path.name)
    settings = {"folder": STAGE_FOLDER, "gate": gate, "weight": 0.5, "max_length": MAX_LENGTH}
    write_setting(model_dir, "article_stage", settings)
    return settings


def read_blind(records: list[dict], gate: str, stages: list[str]) -> dict:
    """The shipped rule and each stage's gated reading on a set scored once, with intervals."""
    from stancetrack.evaluate import score

    gold = [r["label"] for r in records]
    shipped = [label(r["article"], {}) for r in records]
    report: dict = {"gate": gate, "shipped": score(gold, shipped, "article").as_dict()}
    report["stages"] = {}
    for folder in stages:
        joint = read_probs(classifier_for(folder), records)
        new = gated(records, shipped, joint, gate)
        name = Path(folder).name
        report["stages"][name] = {
            "scores": score(gold, new, "article").as_dict(),
            "read": sum(1 for r in records if GATES[gate](r)),
            "changed": sum(1 for a, b in zip(shipped, new, strict=True) if a != b),
            **compare(records, shipped, new),
        }
        print(name, json.dumps(report["stages"][name]["pooled"]), flush=True)
    return report


def load_records(paths: list[str]) -> list[dict]:
    dump: dict = {}
    for path in paths:
        dump.update(json.loads(Path(path).read_text(encoding="utf-8")))
    return article_records(dump)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("gates", "final", "blind", "install", "fast-stage"))
    parser.add_argument(
        "--features", nargs="+", default=[str(RUNS.parent / "article_features-all.json")]
    )
    parser.add_argument("--model", default="default", choices=sorted(PACKAGED_MODELS))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--gate", default="unsure", choices=sorted(GATES))
    parser.add_argument("--stages", nargs="*", default=[])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--into", type=Path, help="install: into a copy of the packaged folder")
    args = parser.parse_args()
    if args.step == "install":
        stage = Path(args.stages[0]) if args.stages else None
        report = install(args.model, stage, args.gate, args.seed, args.into)
    elif args.step == "gates":
        report = study_gates(load_records(args.features))
    elif args.step == "fast-stage":
        report = study_fast_stage(load_records(args.features))
    elif args.step == "final":
        report = {"stage": str(train_final(load_records(args.features), args.model, args.seed))}
    else:
        report = read_blind(load_records(args.features), args.gate, args.stages)
    text = json.dumps(report, indent=1) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
