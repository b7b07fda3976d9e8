"""Rebuild a shipped stance model and the model card, with every figure the card reports.

    python training/rebuild.py                 # train the default (about 95 min on 2 cores)
    python training/rebuild.py --model fast    # train the fast MiniLM model (about 31 min)
    python training/rebuild.py --skip-train    # re-measure the shipped model only
    python training/rebuild.py --baselines     # also the VAST-only model, TF-IDF, untrained head

Reads ../shared/data/vast in place (research use); writes the adapter and config.json into
stancetrack/model/ (default) or stancetrack/model-fast/ (fast), its figures into
training/metrics.json ("shipped" or "fast") and stancetrack/model/MODEL_CARD.md, which covers
both. Not run by the tests or CI.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregation import choose_rule  # noqa: E402
from agreement import agreement, article_agreement  # noqa: E402  (training/ is on sys.path)
from article_features import ARTICLE_SETS, dump_features, gold_files  # noqa: E402
from article_stage import install as install_stage  # noqa: E402
from calibrate import calibrate, write_setting  # noqa: E402
from stage_data import policies_of  # noqa: E402

from stancetrack.classify import (  # noqa: E402
    PACKAGED_MODELS,
    StancePair,
    TransformerClassifier,
    adapter_config,
    adapter_files,
    resolve_model,
)
from stancetrack.evaluate import score  # noqa: E402
from stancetrack.train import (  # noqa: E402
    TrainConfig,
    combine_adapters,
    load_labelled,
    load_opposites,
    load_vast,
    member_folder,
    negated,
    train,
)

DATA = REPO / "training" / "data"
METRICS = REPO / "training" / "metrics.json"
# Where each packaged model lives, the recipe that rebuilds it and its key in metrics.json.
RECIPES = {"default": TrainConfig(), "fast": TrainConfig(base="minilm", epochs=6)}
# Parts trained on, measured and not shipped (rounds 7 to 10, model card): the shipped models
# were trained on parts a-u, so a rebuild leaves these policies out unless told otherwise.
UNSHIPPED_PARTS = ("za", "zb", "zc", "zd", "ze", "zf", "zg")
METRICS_KEY = {"default": "shipped", "fast": "fast"}


# The data was written in rounds; held-out figures per round keep models comparable on the
# policies an earlier model was measured on (the held-out cut is fixed, see build_data.py).
ROUNDS = {
    "parts a-k": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"],
    "parts l-q": ["l", "m", "n", "o", "p", "q"],
    "parts r-u": ["r", "s", "t", "u"],
    "parts za-zb": ["za", "zb"],
}


def predict_labels(classifier, examples) -> list[str]:
    pairs = [StancePair(e.actor, e.proposition, e.text, e.mention) for e in examples]
    return [p.label for p in classifier.predict(pairs)]


def sentence_scores(classifier, examples) -> dict:
    predicted = predict_labels(classifier, examples)
    return score([e.label for e in examples], predicted, "sentence").as_dict()


def opposite_scores(classifier, heldout) -> dict:
    """The held-out sentences against their written opposite (support and oppose swapped in
    the gold): a model that reads the proposition scores as on the originals."""
    opposites = load_opposites(DATA / "heldout_opposites.jsonl")
    rng = random.Random(0)  # only for a policy without a written opposite (a test rules it out)
    flipped = [negated(e, rng, opposites) for e in heldout]
    return sentence_scores(classifier, flipped)


def heldout_scores(classifier, examples) -> tuple[dict, dict]:
    """Held-out scores overall and per round of parts that introduced the policy, from one
    pass of the model."""
    predicted = predict_labels(classifier, examples)
    overall = score([e.label for e in examples], predicted, "sentence").as_dict()
    round_of: dict[str, str] = {}
    for name, letters in ROUNDS.items():
        for letter in letters:
            for example in load_labelled(DATA / "raw" / f"part-{letter}.jsonl"):
                round_of.setdefault(example.policy, name)
    by_round = {}
    groups = {**{name: [name] for name in ROUNDS}, "parts a-u": list(ROUNDS)[:-1]}
    for name, members in groups.items():
        idx = [i for i, e in enumerate(examples) if round_of.get(e.policy) in members]
        if idx:
            scores = score(
                [examples[i].label for i in idx], [predicted[i] for i in idx], "sentence"
            )
            by_round[name] = {"n": scores.n, "macro_f1": scores.macro_f1}
    return overall, by_round


def vast_scores(classifier, vast_dir: str) -> dict:
    rows = load_vast(vast_dir, "test")
    pairs = [StancePair(e.actor, e.proposition, e.text) for e, _ in rows]
    predicted = [p.label for p in classifier.predict(pairs)]
    out = {"all": score([e.label for e, _ in rows], predicted, "sentence").macro_f1}
    for flag, name in (("0", "zero_shot"), ("1", "few_shot")):
        idx = [i for i, (_, seen) in enumerate(rows) if seen == flag]
        out[name] = score(
            [rows[i][0].label for i in idx], [predicted[i] for i in idx], "sentence"
        ).macro_f1
    return out


@contextmanager
def analysed_gold(model: str, aggregation: str = "weighted", corpus: str = "fixtures"):
    """A gold article set run through the whole path (ingest, extract, classify, aggregate)
    in a temporary database; yields the session, the gold rows and the predicted labels."""
    from stancetrack import store
    from stancetrack.evaluate import evaluate_articles, read_labelled_files
    from stancetrack.runs import Settings, analyze_job, ingest_job

    root = ARTICLE_SETS[corpus]
    rows = read_labelled_files(gold_files(root))
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "gold.db")
        engine = store.open_engine(db)
        settings = Settings(
            db=db,
            config=str(root / "watchlist.toml"),
            model=model,
            aggregation=aggregation,
        )
        ingest_job(engine, [root / "articles"], settings)
        analyze_job(engine, settings)
        with store.session_scope(engine) as session:
            run = store.latest_model_run(session)
            model_hash = run.model_hash if run and run.model_hash else ""
            scores, predicted = evaluate_articles(session, rows, model_hash)
            yield session, rows, predicted, scores
        engine.dispose()


def article_scores(model: str, aggregation: str, corpus: str = "fixtures") -> dict:
    with analysed_gold(model, aggregation, corpus) as (_, _, _, scores):
        return scores.as_dict()


def member_scores(model_dir: Path, heldout) -> list[dict]:
    """Each ensemble member of a shipped model on its own, so the ensemble's gain shows."""
    members = adapter_config(model_dir).get("members") or []
    if len(members) < 2:
        return []
    results = []
    for index, member in enumerate(members):
        with tempfile.TemporaryDirectory() as folder:
            member_folder(model_dir, index, folder)
            model = TransformerClassifier(resolve_model(folder), precision="fp32")
            results.append(
                {
                    "seed": member["seed"],
                    "heldout": sentence_scores(model, heldout),
                    "articles_weighted": article_scores(folder, "weighted"),
                    "articles_unseen": article_scores(folder, "weighted", "unseen"),
                }
            )
    return results


def tfidf_baseline(train_examples, test_examples) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def joined(e):
        return f"{e.actor} {e.proposition} || {e.text}"

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    features = vectorizer.fit_transform([joined(e) for e in train_examples])
    model = LogisticRegression(max_iter=2000, C=4.0).fit(
        features, [e.label for e in train_examples]
    )
    predicted = model.predict(vectorizer.transform([joined(e) for e in test_examples]))
    return score([e.label for e in test_examples], list(predicted), "sentence").as_dict()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(RECIPES), default="default")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--baselines", action="store_true")
    parser.add_argument("--vast-dir", default=str(REPO.parent / "shared" / "data" / "vast"))
    parser.add_argument(
        "--from-dir",
        action="append",
        help="install already trained adapters: one folder, or one per ensemble member in order",
    )
    parser.add_argument("--vast-only-dir", help="reuse a VAST-only adapter trained earlier")
    parser.add_argument("--full-dir", help="reuse a full fine-tune trained earlier")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="also score the fresh sets (fixtures/fresh/ to fixtures/fresh7/, each blind until "
        "its round's decision and development since)",
    )
    parser.add_argument(
        "--seed-dirs",
        nargs="*",
        default=[],
        help="trained runs of the same recipe with other seeds, measured for the spread",
    )
    parser.add_argument(
        "--all-parts",
        action="store_true",
        help="train on every part, including the rounds that did not ship (UNSHIPPED_PARTS)",
    )
    parser.add_argument(
        "--keep-settings",
        action="store_true",
        help="keep the installed temperature and aggregation rule instead of fitting them",
    )
    parser.add_argument(
        "--compare-full",
        action="store_true",
        help="also fine-tune all weights (fp16 folder) to compare size and accuracy",
    )
    args = parser.parse_args()
    metrics = json.loads(METRICS.read_text()) if METRICS.exists() else {}
    config = replace(
        RECIPES[args.model],
        data=str(DATA / "train.jsonl") if args.all_parts else str(shipped_training_data()),
        vast_dir=args.vast_dir,
        eval_data=str(DATA / "heldout.jsonl"),  # logged per epoch only; never trained on
    )
    model_dir = PACKAGED_MODELS[args.model]
    # A new adapter needs a new article stage: the stage is trained from the adapter it sits on.
    staged = "article_stage" in adapter_config(model_dir) if model_dir.exists() else False
    if args.from_dir or not args.skip_train:
        for stale in model_dir.glob("adapter*.safetensors"):
            stale.unlink()  # an ensemble may be replaced by fewer members
    if args.from_dir:
        combine_adapters(args.from_dir, model_dir)
    elif not args.skip_train:
        train(config, model_dir)
    settings = {}
    if not args.keep_settings:
        settings = fit_settings(args.model, model_dir)
    if staged and (args.from_dir or not args.skip_train):
        started = time.time()
        stage = install_stage(args.model)
        settings["article_stage"] = {**stage, "seconds": round(time.time() - started, 1)}
    heldout = load_labelled(DATA / "heldout.jsonl")
    shipped = TransformerClassifier(resolve_model(args.model), precision="fp32")
    heldout_overall, heldout_by_round = heldout_scores(shipped, heldout)
    metrics[METRICS_KEY[args.model]] = {
        "name": shipped.name,
        "hash": shipped.hash,
        "size_mb": round(
            sum(f.stat().st_size for f in model_dir.glob("adapter*.safetensors")) / 1e6, 2
        ),
        "members": len(adapter_files(adapter_config(model_dir))),
        "heldout": heldout_overall,
        "heldout_by_round": heldout_by_round,
        "heldout_opposites": opposite_scores(shipped, heldout),
        "vast_test": vast_scores(shipped, args.vast_dir),
        "articles_weighted": article_scores(args.model, "weighted"),
        "articles_mean": article_scores(args.model, "mean"),
        "articles_unseen": article_scores(args.model, "weighted", "unseen"),
        "articles_extraction": article_scores(args.model, "weighted", "extraction"),
        "each_member": member_scores(model_dir, heldout),
    }
    entry = metrics[METRICS_KEY[args.model]]
    # What was not fitted or trained this time is kept: carry its figures over.
    previous = json.loads(METRICS.read_text()).get(METRICS_KEY[args.model], {})
    kept = ("calibration", "aggregation", "article_stage")
    entry.update({k: previous[k] for k in kept if k in previous and k not in settings})
    entry.update(settings)
    if args.fresh:
        entry["articles_fresh"] = article_scores(args.model, "weighted", "fresh")
        entry["articles_fresh2"] = article_scores(args.model, "weighted", "fresh2")
        entry["articles_fresh3"] = article_scores(args.model, "weighted", "fresh3")
        entry["articles_fresh4"] = article_scores(args.model, "weighted", "fresh4")
        entry["articles_fresh5"] = article_scores(args.model, "weighted", "fresh5")
        entry["articles_fresh6"] = article_scores(args.model, "weighted", "fresh6")
        entry["articles_fresh7"] = article_scores(args.model, "weighted", "fresh7")
        if "calibration" in entry:
            entry["calibration"].update(fresh_ece(args.model, model_dir))
    if args.seed_dirs:
        metrics["seeds"] = [seed_scores(Path(d), model_dir, heldout) for d in args.seed_dirs]
    if args.baselines:
        metrics["baselines"] = baselines(config, heldout, args.vast_dir, args.vast_only_dir)
    if args.compare_full:
        metrics["full_finetune"] = compare_full(config, heldout, args.full_dir)
    metrics["machine"] = (
        f"{platform.processor() or platform.machine()}, 2 cores, Python {platform.python_version()}"
    )
    metrics["date"] = time.strftime("%Y-%m-%d")
    metrics["data"] = json.loads((DATA / "stats.json").read_text())
    metrics["second_annotation"] = agreement()[0]
    metrics["second_annotation_unseen"] = article_agreement()[0]
    for name in ("fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7"):
        if (ARTICLE_SETS[name] / "second_annotation.jsonl").exists():
            metrics[f"second_annotation_{name}"] = article_agreement(ARTICLE_SETS[name])[0]
    METRICS.write_text(json.dumps(metrics, indent=2) + "\n")
    subprocess.run([sys.executable, str(REPO / "training" / "write_card.py")], check=True)
    print(json.dumps({k: v for k, v in metrics.items() if k != "data"}, indent=2)[:4000])
    return 0


def shipped_training_data() -> Path:
    """training/data/train.jsonl without the policies of UNSHIPPED_PARTS: the shipped models'
    training data, record for record (written to training/runs/shipped-train.jsonl)."""
    left_out = policies_of(list(UNSHIPPED_PARTS))
    lines = (DATA / "train.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    path = REPO / "training" / "runs" / "shipped-train.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(line for line in lines if json.loads(line)["policy"] not in left_out),
        encoding="utf-8",
    )
    return path


def seed_scores(run_dir: Path, model_dir: Path, heldout) -> dict:
    """One trained run of the recipe, with the shipped temperature and aggregation rule."""
    shipped = adapter_config(model_dir)
    with tempfile.TemporaryDirectory() as folder:
        member_folder(run_dir, 0, folder)
        config_path = Path(folder) / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        for key in ("temperature", "aggregation"):
            if key in shipped:
                config[key] = shipped[key]
        config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        model = TransformerClassifier(resolve_model(folder), precision="fp32")
        overall, by_round = heldout_scores(model, heldout)
        return {
            "seed": json.loads((run_dir / "config.json").read_text())["recipe"]["seed"],
            "heldout": overall,
            "heldout_original": by_round.get("parts a-u"),
            "articles_weighted": article_scores(folder, "weighted"),
            "articles_unseen": article_scores(folder, "weighted", "unseen"),
            "articles_extraction": article_scores(folder, "weighted", "extraction"),
        }


def fresh_ece(model: str, model_dir: Path) -> dict:
    """Article-level ECE on the fresh set without and with the shipped temperature."""
    from calibrate import article_ece

    path = REPO / "training" / "runs" / f"article_features-{model}-fresh.json"
    dump_features(model, "fp32", path, ["fresh"])
    features = json.loads(path.read_text(encoding="utf-8"))
    temperature = float(adapter_config(model_dir).get("temperature", 1.0))
    # The dump holds the shipped model's probabilities, temperature applied; scaling by 1/T
    # undoes it (softmax of log-probabilities), giving the raw model's.
    return {
        "fresh_articles_ece_before": article_ece(features, "paragraph", 1 / temperature)["fresh"],
        "fresh_articles_ece_after": article_ece(features, "paragraph", 1.0)["fresh"],
    }


def fit_settings(model: str, model_dir: Path) -> dict:
    """Fit the calibration temperature on half the held-out policies and choose the article
    aggregation rule by cross-validation on the development articles, then store both in the
    adapter's config.json (figures: training/calibrate.py, training/aggregation.py)."""
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    for key in ("temperature", "aggregation"):
        config.pop(key, None)  # fitted on the raw model
    config_path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    features_path = REPO / "training" / "runs" / f"article_features-{model}.json"
    dump_features(model, "fp32", features_path, ["fixtures", "unseen", "extraction"])
    calibration = calibrate(model, "fp32", features_path)
    write_setting(model_dir, "temperature", calibration["temperature"])
    features = json.loads(features_path.read_text(encoding="utf-8"))
    aggregation = choose_rule(features, calibration["temperature"])
    if aggregation["kept"] != "current rule":
        write_setting(model_dir, "aggregation", aggregation["rule"])
    return {"calibration": calibration, "aggregation": aggregation}


def compare_full(config: TrainConfig, heldout, full_dir: str | None) -> dict:
    """The same data and schedule with every weight trained, saved in fp16."""
    folder = Path(full_dir) if full_dir else REPO / "training" / "runs" / "full-finetune"
    if not full_dir:
        train(replace(config, method="full"), folder)
    model = TransformerClassifier(resolve_model(str(folder)), precision="fp32")
    return {
        "size_mb": round((folder / "model.safetensors").stat().st_size / 1e6, 1),
        "heldout": sentence_scores(model, heldout),
        "articles_weighted": article_scores(str(folder), "weighted"),
        "articles_unseen": article_scores(str(folder), "weighted", "unseen"),
    }


def baselines(config: TrainConfig, heldout, vast_dir: str, vast_only_dir: str | None) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from stancetrack.bases import base_model_dir
    from stancetrack.classify import LABELS

    out: dict = {"base": config.base}
    train_examples = load_labelled(DATA / "train.jsonl")
    out["tfidf_logreg_ours"] = {"heldout": tfidf_baseline(train_examples, heldout)}
    vast_train = [e for e, _ in load_vast(vast_dir, "train")]
    vast_test = [e for e, _ in load_vast(vast_dir, "test")]
    out["tfidf_logreg_vast"] = {"vast_test": tfidf_baseline(vast_train, vast_test)["macro_f1"]}
    # The untrained head: the base encoder with a freshly initialised classifier (seeded).
    torch.manual_seed(config.seed)
    with tempfile.TemporaryDirectory() as folder:
        base = base_model_dir(config.base)
        model = AutoModelForSequenceClassification.from_pretrained(
            base, num_labels=3, id2label=dict(enumerate(LABELS)), use_safetensors=True
        )
        model.save_pretrained(folder, safe_serialization=True)
        AutoTokenizer.from_pretrained(base).save_pretrained(folder)
        untrained = TransformerClassifier(resolve_model(folder), precision="fp32")
        out["untrained_head"] = {"heldout": sentence_scores(untrained, heldout)}
    # The same recipe on VAST alone (no actor-stance data), one pass over 4,000 examples.
    with tempfile.TemporaryDirectory() as scratch:
        folder = vast_only_dir or scratch
        if not vast_only_dir:
            vast_only = TrainConfig(
                base=config.base,
                data=config.data,
                vast_dir=vast_dir,
                include_ours=False,
                vast_samples=4000,
                epochs=1,
                seed=config.seed,
            )
            train(vast_only, folder)
        model = TransformerClassifier(resolve_model(folder), precision="fp32")
        out["vast_only"] = {
            "heldout": sentence_scores(model, heldout),
            "vast_test": vast_scores(model, vast_dir),
            "articles_weighted": article_scores(folder, "weighted"),
            "articles_unseen": article_scores(folder, "weighted", "unseen"),
        }
    return out


if __name__ == "__main__":
    sys.exit(main())
