"""How long `stancetrack --help` takes (target: well under 0.5 s; no torch import).

python bench/bench_cli_startup.py
"""

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 7


def main() -> None:
    exe = Path(sys.executable).with_name("stancetrack")
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    print(
        f"stancetrack --help: median {statistics.median(times):.3f} s, "
        f"min {min(times):.3f} s over {RUNS} runs"
    )


if __name__ == "__main__":
    main()
