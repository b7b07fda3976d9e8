"""Round 12 of #15: read the actor across the whole article at once, trained on article labels.

    python training/article_input.py [--features DUMP ...] [--out FILE] [--skip-train]

Every earlier model read one sentence at a time and a rule combined the readings. Here one input
carries all of an article's candidate sentences for the (actor, policy) pair, in article order,
against the usual "actor: proposition" prompt (up to 256 tokens). Two readings, each compared
with the shipped rule on the same articles:

- `joint_untrained`: the shipped adapter reads the joined sentences as they are;
- `joint_trained`: a second stage from the shipped adapter on the article gold (2 epochs,
  learning rate 3e-4, no VAST), in four folds by group of sets, each group read by a stage
  trained on the other three (training/runs/article-input/<group>/).

The rule (`training/metrics.json`, `round12.article_input_rule`) was written before the first
result. Reads training/article_features.py dumps (all eight sets); research aid, not run by the
tests. Each fold trains for a few minutes to a quarter of an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "training"))

from article_features import ARTICLE_SETS  # noqa: E402
from article_rules import label, macro_f1, paired_gain_interval  # noqa: E402

from stancetrack.classify import (  # noqa: E402
    PACKAGED_MODELS,
    StancePair,
    TransformerClassifier,
    resolve_model,
)
from stancetrack.train import TrainConfig, train  # noqa: E402
from stancetrack.watchlist import load_watchlist  # noqa: E402

GROUPS = {
    "a": ("fixtures", "unseen", "extraction"),
    "b": ("fresh", "fresh2"),
    "c": ("fresh3", "fresh4"),
    "d": ("fresh5",),
}
RULE = {"min_pooled_gain_low": 0.0, "max_set_drop": 0.03}
MAX_LENGTH = 256
RUNS = REPO / "training" / "runs" / "article-input"


def article_records(dump: dict, reach: str = "paragraph") -> list[dict]:
    """One record per gold article: the pair's candidate sentences joined, in article order."""
    records = []
    for name, by_reach in dump.items():
        watchlist = load_watchlist(ARTICLE_SETS[name] / "watchlist.toml")
        for article in by_reach[reach]:
            sentences: list[str] = []
            for c in article["candidates"]:
                if c["sentence"] not in sentences:
                    sentences.append(c["sentence"])
            records.append(
                {
                    "set": name,
                    "article": article,
                    "actor": watchlist.actors[article["actor"]].name,
                    "policy": article["policy"],
                    "proposition": watchlist.policies[article["policy"]].proposition,
                    "text": " ".join(sentences),
                    "mention": article["candidates"][0]["mention"] if sentences else "",
                    "label": article["label"],
                }
            )
    return records


def read(classifier: TransformerClassifier, records: list[dict]) -> list[str]:
    """The classifier's label for each record; an article with no candidate reads neutral."""
    with_text = [r for r in records if r["text"]]
    probs = classifier.predict(
        [StancePair(r["actor"], r["proposition"], r["text"], r["mention"]) for r in with_text]
    )
    by_id = {id(r): p.label for r, p in zip(with_text, probs, strict=True)}
    return [by_id.get(id(r), "neutral") for r in records]


def classifier_for(model: str) -> TransformerClassifier:
    return TransformerClassifier(resolve_model(model), max_length=MAX_LENGTH)


def train_fold(group: str, records: list[dict], log_path: Path) -> Path:
    """A second stage from the shipped adapter on the other groups' article gold."""
    out = RUNS / group
    if (out / "config.json").exists():
        return out
    rows = [r for r in records if r["text"] and r["set"] not in GROUPS[group]]
    data = RUNS / f"train-{group}.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    keys = ("actor", "policy", "proposition", "text", "label", "mention")
    data.write_text("".join(json.dumps({k: r[k] for k in keys}) + "\n" for r in rows))
    config = replace(
        TrainConfig(),
        data=str(data),
        vast_samples=0,
        epochs=2,
        learning_rate=3e-4,
        max_length=MAX_LENGTH,
        init_from=str(PACKAGED_MODELS["default"]),
    )
    with log_path.open("a", encoding="utf-8") as log:
        train(config, out, log=lambda line: print(line, file=log, flush=True))
    return out


def compare(records: list[dict], shipped: list[str], new: list[str]) -> dict:
    gold = [r["label"] for r in records]
    per_set, drops = {}, []
    for name in dict.fromkeys(r["set"] for r in records):
        idx = [i for i, r in enumerate(records) if r["set"] == name]
        g = [gold[i] for i in idx]
        before = macro_f1(g, [shipped[i] for i in idx])
        after = macro_f1(g, [new[i] for i in idx])
        drops.append(before - after)
        per_set[name] = {"n": len(idx), "shipped": round(before, 4), "new": round(after, 4)}
    low, high = paired_gain_interval(gold, shipped, new)
    return {
        "sets": per_set,
        "pooled": {
            "n": len(gold),
            "shipped": round(macro_f1(gold, shipped), 4),
            "new": round(macro_f1(gold, new), 4),
            "gain_interval": [round(low, 4), round(high, 4)],
        },
        "passes": low > RULE["min_pooled_gain_low"] and max(drops) <= RULE["max_set_drop"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--features", nargs="+", default=[str(REPO / "training/runs/article_features.json")]
    )
    parser.add_argument("--out", type=Path, default=RUNS / "report.json")
    parser.add_argument("--skip-train", action="store_true", help="only the untrained reading")
    args = parser.parse_args()
    dump: dict = {}
    for path in args.features:
        dump.update(json.loads(Path(path).read_text(encoding="utf-8")))
    records = article_records(dump)
    shipped = [label(r["article"], {}) for r in records]
    untrained = read(classifier_for("default"), records)
    report: dict = {"rule": RULE, "max_length": MAX_LENGTH}
    report["joint_untrained"] = compare(records, shipped, untrained)
    print(json.dumps(report["joint_untrained"]["pooled"]), flush=True)
    if not args.skip_train:
        trained = ["" for _ in records]
        for group, names in GROUPS.items():
            folder = train_fold(group, records, RUNS / "train.log")
            idx = [i for i, r in enumerate(records) if r["set"] in names]
            labels = read(classifier_for(str(folder)), [records[i] for i in idx])
            for i, value in zip(idx, labels, strict=True):
                trained[i] = value
            print(group, "done", flush=True)
        report["joint_trained"] = compare(records, shipped, trained)
        print(json.dumps(report["joint_trained"]["pooled"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
