"""Pages per second for saved-page extraction: decoding, date, main text, record, language.

In-process, over the dated fixture pages in fixtures/web/pages (the undated one is left out:
it stops at the date), each read from memory `--rounds` times, after one warm-up round that
loads trafilatura and the language model.

python bench/bench_web.py [--rounds 25]
"""

import argparse
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack.ingest.language import detect_language  # noqa: E402
from stancetrack.ingest.records import ArticleRecord  # noqa: E402
from stancetrack.ingest.web import extractor_name, page_record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    pages = {
        path.name: path.read_bytes()
        for path in sorted((REPO / "fixtures/web/pages").glob("*.html"))
        if path.name != "05-no-date.html"
    }

    def one_round() -> tuple[int, dict[str, float]]:
        chars = 0
        times = {}
        for name, raw in pages.items():
            start = time.perf_counter()
            record = page_record(raw, name)
            assert isinstance(record, ArticleRecord), record
            detect_language(record.text, record.language_hint)
            times[name] = time.perf_counter() - start
            chars += len(record.text)
        return chars, times

    one_round()  # warm-up: imports and the language model
    per_page: dict[str, float] = dict.fromkeys(pages, 0.0)
    start = time.perf_counter()
    chars = 0
    for _ in range(args.rounds):
        got, times = one_round()
        chars += got
        for name, seconds in times.items():
            per_page[name] += seconds
    elapsed = time.perf_counter() - start
    count = len(pages) * args.rounds
    print(
        f"{extractor_name()}, Python {platform.python_version()}, "
        f"{len(pages)} dated fixture pages x {args.rounds} rounds"
    )
    print(
        f"pages {count}, seconds {elapsed:.2f}, pages/s {count / elapsed:.1f}, "
        f"text {chars / count:,.0f} characters a page"
    )
    slowest = max(per_page, key=lambda n: per_page[n])
    print(f"slowest page: {slowest}, {per_page[slowest] / args.rounds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
