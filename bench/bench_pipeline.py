"""Throughput of `stancetrack run`, the cost of a re-run, and peak memory.

    python bench/bench_pipeline.py [--model default|fast] [--articles 300] [--rerun-articles 10000]

Builds synthetic ~600-word articles (paragraphs of 1-4 sentences) from shuffled sentences: 20%
from the fixture corpus
(tracked actors and policies), the rest from the labelled training sentences (other actors).
Runs the real CLI with the default model on them, then times a second run over the same input
(nothing new to classify), each in a fresh process.
"""

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).with_name("stancetrack")


def corpus_sentences() -> list[str]:
    sentences = []
    for path in sorted((REPO / "fixtures/articles").rglob("*.md")):
        body = path.read_text().split("---", 2)[2]
        sentences += [s for s in re.split(r"(?<=[.!?])\s+", body.replace("\n", " ")) if s.strip()]
    return sentences


def filler_sentences() -> list[str]:
    rows = (REPO / "training/data/train.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in rows]


def write_articles(path: Path, count: int, seed: int, tracked_share: float) -> None:
    """Articles whose sentences come from the fixtures with probability `tracked_share`,
    in paragraphs of one to four sentences, as news copy is written."""
    rng = random.Random(seed)
    sentences = corpus_sentences()
    filler = filler_sentences()
    with path.open("w") as handle:
        for i in range(count):
            words, body, paragraph = 0, [], []
            while words < 600:
                pool = sentences if rng.random() < tracked_share else filler
                sentence = rng.choice(pool)
                paragraph.append(sentence)
                words += len(sentence.split())
                if len(paragraph) >= rng.randint(1, 4):
                    body.append(" ".join(paragraph))
                    paragraph = []
            body.append(" ".join(paragraph))
            day = date(2022, 1, 1) + timedelta(days=rng.randrange(1200))
            handle.write(
                json.dumps(
                    {
                        "text": "\n\n".join(p for p in body if p) + f" (Item {seed}-{i}.)",
                        "date": day.isoformat(),
                        "source": f"Outlet {i % 7}",
                        "url": f"https://bench.example.com/{seed}/{i}",
                    }
                )
                + "\n"
            )


def timed_run(db: Path, inputs: Path, model: str) -> tuple[float, str, float]:
    command = [
        "/usr/bin/time",
        "-f",
        "%M",
        str(EXE),
        "--db",
        str(db),
        "--model",
        model,
        "--config",
        str(REPO / "fixtures/watchlist.toml"),
        "run",
        str(inputs),
        "--report",
        str(db.with_suffix(".md")),
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    peak_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
    return elapsed, done.stdout.splitlines()[0], peak_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rerun-articles", type=int, default=10000)
    parser.add_argument("--model", default="default", help="default, fast or a model folder")
    parser.add_argument(
        "--tracked-share",
        type=float,
        default=0.2,
        help="share of sentences drawn from the fixture corpus",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        inputs = root / "articles.jsonl"
        write_articles(inputs, args.articles, seed=1, tracked_share=args.tracked_share)
        elapsed, counts, peak = timed_run(root / "a.db", inputs, args.model)
        print(
            f"first run, {args.articles} articles: {elapsed:.1f} s "
            f"({args.articles / elapsed:.1f} articles/s incl. start-up and model load), "
            f"peak RSS {peak:.0f} MB"
        )
        print(f"  {counts}")
        big = root / "big.jsonl"
        write_articles(big, args.rerun_articles, seed=2, tracked_share=0.01)
        start = time.perf_counter()
        subprocess.run(
            [str(EXE), "--db", str(root / "b.db"), "ingest", str(big)],
            capture_output=True,
            check=True,
        )
        ingest_seconds = time.perf_counter() - start
        print(f"ingest {args.rerun_articles} articles: {ingest_seconds:.1f} s")
        elapsed, counts, peak = timed_run(root / "b.db", big, args.model)
        print(
            f"analyse {args.rerun_articles} stored articles: {elapsed:.1f} s, "
            f"peak RSS {peak:.0f} MB"
        )
        elapsed, counts, peak = timed_run(root / "b.db", big, args.model)
        print(
            f"re-run over the same {args.rerun_articles} articles: {elapsed:.1f} s, "
            f"peak RSS {peak:.0f} MB"
        )
        print(f"  {counts}")


if __name__ == "__main__":
    main()
