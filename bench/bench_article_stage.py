"""What the article stage costs: model time per pair on real news, with and without it.

    python bench/bench_article_stage.py [--model default] [--sets fixtures unseen ...]

Runs the real `analyze` over the bundled gold article sets (real articles and watchlists, so the
stage's gate picks pairs at the rate real news makes it; the synthetic articles of the other
benches are shuffled sentences) twice in this process: with the model as it is, and with the
same adapter folder minus its `article_stage` (a copy of its config, the weights linked). Times
the sentence classifier's `predict` and the stage's `predict_articles` separately; the first
call of each pays for loading, so each run first reads one pair to warm up.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack import runs, store  # noqa: E402
from stancetrack.classify import StancePair, load_classifier, resolve_model  # noqa: E402

SETS = ("fixtures", "unseen", "extraction", "fresh", "fresh2", "fresh3", "fresh4", "fresh5")


def without_stage(folder: Path, into: Path) -> Path:
    """The adapter folder `folder` without its article stage: same weights, same rule."""
    config = json.loads((folder / "config.json").read_text())
    config.pop("article_stage", None)
    into.mkdir()
    (into / "config.json").write_text(json.dumps(config))
    for path in folder.glob("*.safetensors"):
        (into / path.name).symlink_to(path.resolve())
    return into


def timed_run(model: str, sets: list[str], folder: Path) -> dict:
    spent = {"predict": 0.0, "stage": 0.0, "pairs": 0, "stage_pairs": 0, "analyze": 0.0}
    classifier = load_classifier(model)
    warm = [StancePair("Germany", "send tanks", "Berlin agreed to send tanks.", "Berlin")]
    classifier.predict(warm)
    if classifier.article_stage is not None:
        classifier.predict_articles(warm)
    real_predict, real_stage = classifier.predict, classifier.predict_articles

    def predict(pairs, progress=None):
        start = time.perf_counter()
        try:
            return real_predict(pairs, progress)
        finally:
            spent["predict"] += time.perf_counter() - start

    def predict_articles(pairs):
        start = time.perf_counter()
        try:
            return real_stage(pairs)
        finally:
            spent["stage"] += time.perf_counter() - start
            spent["stage_pairs"] += len(pairs)

    classifier.predict = predict  # type: ignore[method-assign]
    classifier.predict_articles = predict_articles  # type: ignore[method-assign]
    runs.load_classifier = lambda *a, **k: classifier  # type: ignore[assignment]
    for name in sets:
        root = REPO / "fixtures" if name == "fixtures" else REPO / "fixtures" / name
        db = folder / f"{name}-{time.monotonic_ns()}.db"
        settings = runs.Settings(db=str(db), config=root / "watchlist.toml", model=model)
        engine = store.open_engine(str(db))
        runs.ingest_job(engine, [root / "articles"], settings)
        start = time.perf_counter()
        result = runs.analyze_job(engine, settings)
        spent["analyze"] += time.perf_counter() - start
        spent["pairs"] += result.counts["stances"]
        engine.dispose()
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    args = parser.parse_args()
    spec = resolve_model(args.model)
    if spec.path is None:
        raise SystemExit(f"--model {args.model}: an adapter folder is needed")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = without_stage(spec.path, folder / "no-stage")
        without = timed_run(str(plain), args.sets, folder)
        with_stage = timed_run(args.model, args.sets, folder)
    model_without = without["predict"]
    model_with = with_stage["predict"] + with_stage["stage"]
    print(f"sets: {', '.join(args.sets)}; {with_stage['pairs']} (actor, policy, article) pairs")
    per_pair = 1000 * model_without / without["pairs"]
    print(
        f"without the stage: model {model_without:6.1f} s ({per_pair:.0f} ms/pair), "
        f"analyze {without['analyze']:.1f} s"
    )
    print(
        f"with the stage:    model {model_with:6.1f} s "
        f"({1000 * model_with / with_stage['pairs']:.0f} ms/pair; the stage read "
        f"{with_stage['stage_pairs']} pairs in {with_stage['stage']:.1f} s), "
        f"analyze {with_stage['analyze']:.1f} s"
    )
    print(
        f"ratio: model time {model_with / model_without:.2f}x, "
        f"analyze {with_stage['analyze'] / without['analyze']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
