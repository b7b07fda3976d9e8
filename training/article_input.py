"""Round 12 of #15: read the actor across the whole article at once, trained on article labels.

    python training/article_input.py [--features DUMP ...] [--out FILE] [--skip-train] [--mix]

Every earlier model read one sentence at a time and a rule combined the readings. Here one input
carries all of an article's candidate sentences for the (actor, policy) pair, in article order,
against the usual "actor: proposition" prompt (up to 256 tokens). Readings, each compared with
the shipped rule on the same articles:

- `joint_untrained`: the shipped adapter reads the joined sentences as they are;
- `joint_trained`: a second stage from the shipped adapter on the article gold (2 epochs,
  learning rate 3e-4, no VAST), in four folds by group of sets, each group read by a stage
  trained on the other three (training/runs/article-input/<group>/; kept, so a rerun reads them
  again without training);
- `joint_trained_mix` (`--mix`): that reading averaged with the shipped rule's aggregate.

It also counts the tokens the joined inputs would add to today's sentence inputs (`tokens`).

The rules (`training/metrics.json`, `round12.article_input_rule` and
`round12.article_input_mix_rule`) were written before the results they judge. Reads
training/article_features.py dumps (all eight sets); research aid, not run by the tests. Each
fold trains for six to eight minutes on 2 cores.
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
from article_rules import aggregate_probs, label  # noqa: E402
from combiner import RULE, macro_f1, verdict  # noqa: E402

from stancetrack.classify import (  # noqa: E402
    PACKAGED_MODELS,
    StancePair,
    StanceProbs,
    TransformerClassifier,
    pair_prompt,
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
MAX_LENGTH = 256
SENTENCE_MAX_LENGTH = 128  # what the pipeline's classifier reads (TransformerClassifier default)
RUNS = REPO / "training" / "runs" / "article-input"
NO_CANDIDATE = StanceProbs(0.0, 0.0, 1.0, 1.0)


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


def read_probs(classifier: TransformerClassifier, records: list[dict]) -> list[StanceProbs]:
    """The classifier's probabilities for each record; no candidate reads as certain neutral."""
    with_text = [r for r in records if r["text"]]
    probs = classifier.predict(
        [StancePair(r["actor"], r["proposition"], r["text"], r["mention"]) for r in with_text]
    )
    by_id = {id(r): p for r, p in zip(with_text, probs, strict=True)}
    return [by_id.get(id(r), NO_CANDIDATE) for r in records]


def read(classifier: TransformerClassifier, records: list[dict]) -> list[str]:
    return [p.label for p in read_probs(classifier, records)]


def mixed_label(record: dict, joint: StanceProbs) -> str:
    """Equal-weight average of the joined reading and the shipped rule's aggregate."""
    rule = aggregate_probs(record["article"], {})
    if rule is None:
        return "neutral"
    mean = {k: (getattr(rule, k) + getattr(joint, k)) / 2 for k in ("support", "oppose", "neutral")}
    return max(mean, key=lambda k: mean[k])


def token_counts(classifier: TransformerClassifier, records: list[dict]) -> dict:
    """Tokens the joined inputs add to the sentence inputs the pipeline reads today."""
    joined = sentences = inputs = 0
    for r in records:
        if not r["text"]:
            continue
        prompt = pair_prompt(r["actor"], r["proposition"])
        joined += min(MAX_LENGTH, len(classifier.tokenizer(prompt, r["text"])["input_ids"]))
        for c in r["article"]["candidates"]:
            ids = classifier.tokenizer(prompt, c["sentence"])["input_ids"]
            sentences += min(SENTENCE_MAX_LENGTH, len(ids))
            inputs += 1
    return {
        "joined": joined,
        "sentences": sentences,
        "sentence_inputs": inputs,
        "ratio": round(joined / sentences, 2),
    }


def classifier_for(model: str) -> TransformerClassifier:
    return TransformerClassifier(resolve_model(model), max_length=MAX_LENGTH)


def train_stage(
    rows: list[dict], out: Path, name: str, log_path: Path, model: str = "default", seed: int = 13
) -> Path:
    """A second stage from `model`'s packaged adapter on article records `rows` with the round-12
    recipe (2 epochs, learning rate 3e-4, no VAST, 256 tokens); an existing `out` is kept."""
    if (out / "config.json").exists():
        return out
    data = RUNS / f"train-{name}.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    keys = ("actor", "policy", "proposition", "text", "label", "mention")
    data.write_text("".join(json.dumps({k: r[k] for k in keys}) + "\n" for r in rows if r["text"]))
    config = replace(
        TrainConfig(),
        data=str(data),
        vast_samples=0,
        epochs=2,
        learning_rate=3e-4,
        max_length=MAX_LENGTH,
        seed=seed,
        base="mpnet" if model == "default" else "minilm",
        init_from=str(PACKAGED_MODELS[model]),
    )
    with log_path.open("a", encoding="utf-8") as log:
        train(config, out, log=lambda line: print(line, file=log, flush=True))
    return out


def train_fold(group: str, records: list[dict], log_path: Path) -> Path:
    """A second stage from the shipped adapter on the other groups' article gold."""
    rows = [r for r in records if r["set"] not in GROUPS[group]]
    return train_stage(rows, RUNS / group, group, log_path)


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
    return {"sets": per_set, **verdict(gold, shipped, new, drops, "new")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--features", nargs="+", default=[str(REPO / "training/runs/article_features.json")]
    )
    parser.add_argument("--out", type=Path, default=RUNS / "report.json")
    parser.add_argument("--skip-train", action="store_true", help="only the untrained reading")
    parser.add_argument(
        "--mix",
        action="store_true",
        help="also average each fold's reading with the shipped rule (article_input_mix_rule)",
    )
    args = parser.parse_args()
    dump: dict = {}
    for path in args.features:
        dump.update(json.loads(Path(path).read_text(encoding="utf-8")))
    records = article_records(dump)
    shipped = [label(r["article"], {}) for r in records]
    shipped_adapter = classifier_for("default")
    untrained = read(shipped_adapter, records)
    report: dict = {"rule": RULE, "max_length": MAX_LENGTH}
    report["tokens"] = token_counts(shipped_adapter, records)
    report["joint_untrained"] = compare(records, shipped, untrained)
    print(json.dumps(report["joint_untrained"]["pooled"]), flush=True)
    if not args.skip_train:
        trained, mixed = ["" for _ in records], ["" for _ in records]
        for group, names in GROUPS.items():
            folder = train_fold(group, records, RUNS / "train.log")
            idx = [i for i, r in enumerate(records) if r["set"] in names]
            probs = read_probs(classifier_for(str(folder)), [records[i] for i in idx])
            for i, p in zip(idx, probs, strict=True):
                trained[i] = p.label
                mixed[i] = mixed_label(records[i], p)
            print(group, "done", flush=True)
        report["joint_trained"] = compare(records, shipped, trained)
        print(json.dumps(report["joint_trained"]["pooled"]), flush=True)
        if args.mix:
            report["joint_trained_mix"] = compare(records, shipped, mixed)
            print(json.dumps(report["joint_trained_mix"]["pooled"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
