"""Pairs per second of a packaged model, fp32 against bf16, on real evidence-length text.

python bench/bench_inference.py [--model default|fast] [--pairs 512] [--batch 32]
"""

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack.classify import StancePair, load_classifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=512)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--model", default="default", help="default, fast or a model folder")
    args = parser.parse_args()
    rows = [json.loads(line) for line in (REPO / "training/data/heldout.jsonl").open()]
    pairs = [
        StancePair(r["actor"], r["proposition"], r["text"], r.get("mention", "")) for r in rows
    ]
    pairs = (pairs * (args.pairs // len(pairs) + 1))[: args.pairs]
    import torch

    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"bf16 supported {torch.ops.mkldnn._is_mkldnn_bf16_supported()}"
    )
    results = {}
    for precision in ("fp32", "bf16"):
        classifier = load_classifier(args.model, precision=precision, batch_size=args.batch)
        classifier.predict(pairs[: args.batch])  # warm-up
        start = time.perf_counter()
        probs = classifier.predict(pairs)
        elapsed = time.perf_counter() - start
        results[precision] = probs
        print(
            f"{precision}: {len(pairs) / elapsed:.1f} pairs/s ({len(pairs)} pairs, "
            f"batch {args.batch})"
        )
    agree = sum(a.label == b.label for a, b in zip(results["fp32"], results["bf16"], strict=True))
    print(f"fp32 and bf16 labels agree on {agree}/{len(pairs)} pairs")


if __name__ == "__main__":
    main()
