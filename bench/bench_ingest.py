"""Ingest at scale: a big JSON Lines file and a folder of many small files, with peak memory.

    python bench/bench_ingest.py [--lines 200000] [--files 20000]

Runs the real CLI in a fresh process for each input and prints articles per second overall and
per quarter of the input (a database that slows as it grows shows falling quarters), and the
process's peak resident memory. Texts are short synthetic news items with unique wording, so
nothing is a duplicate; a tenth are near copies of an earlier item (wire copies).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

EXE = Path(sys.executable).with_name("stancetrack")
WORDS = (
    "government minister said officials talks plan budget vote parliament support oppose "
    "weapons trade tariff energy bank court election coalition region city port aid deal "
    "agreement delivery request decision week month statement reporters agency market"
).split()


def item(rng: random.Random, number: int, previous: list[str]) -> tuple[str, str]:
    if previous and rng.random() < 0.1:  # a lightly edited copy of an earlier story
        text = rng.choice(previous).replace("said", "told reporters", 1) + " Updated."
    else:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 140)))
        text = f"Story {number}: {text}."
        previous.append(text)
        if len(previous) > 200:
            previous.pop(0)
    day = date(2020, 1, 1) + timedelta(days=rng.randrange(1500))
    return text, day.isoformat()


def run(db: Path, source: Path) -> tuple[float, float]:
    command = ["/usr/bin/time", "-f", "%M", str(EXE), "--db", str(db), "ingest", str(source)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def summary(label: str, count: int, unit: str, times: list[tuple[float, float]]) -> None:
    """One line: total time and rate, the rate of each quarter, the peak memory."""
    total = sum(t for t, _ in times)
    print(
        f"{label}: {total:.1f} s, {count / total:.0f} {unit}/s; per quarter "
        + ", ".join(f"{count / 4 / t:.0f}/s" for t, _ in times)
        + f"; peak RSS {max(m for _, m in times):.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        previous: list[str] = []
        quarters = []
        for quarter in range(4):
            path = root / f"lines-{quarter}.jsonl"
            with path.open("w") as handle:
                for number in range(args.lines // 4):
                    text, day = item(rng, quarter * args.lines + number, previous)
                    handle.write(json.dumps({"text": text, "date": day}) + "\n")
            quarters.append(path)
        times = [run(root / "lines.db", path) for path in quarters]
        summary(
            f"JSON Lines, {args.lines} lines in four files into one database",
            args.lines,
            "lines",
            times,
        )
        folders = []
        for quarter in range(4):
            target = root / f"files-{quarter}"
            target.mkdir()
            for number in range(args.files // 4):
                text, day = item(rng, 10_000_000 + quarter * args.files + number, previous)
                (target / f"{number:06d}.md").write_text(f"---\ndate: {day}\n---\n{text}\n")
            folders.append(target)
        times = [run(root / "files.db", target) for target in folders]
        label = f"a folder of {args.files} small files, in four quarters into one database"
        summary(label, args.files, "files", times)


if __name__ == "__main__":
    main()
