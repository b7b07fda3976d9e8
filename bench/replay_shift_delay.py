"""How soon is a shift reported? Replays a gold article set one day at a time, as cron would.

    python bench/replay_shift_delay.py [--sets fixtures unseen extraction] [--model default]
                                      [--confidence 0.7 0.8 0.9]

For each set and each possible-shift confidence threshold: one `run` per publication day over
that day's articles (a fresh database, the real model, loaded once), then, for every shift the
last run reports, the delay between its first story and the first run whose report mentioned
it (as a possible shift or as a shift), and the possible shifts that were never confirmed
(contradicted, expired or withdrawn), per track. Prints a table; not run by the tests.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import defaultdict
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack import runs, shifts, store  # noqa: E402
from stancetrack.ingest import ArticleRecord, iter_path_items  # noqa: E402
from stancetrack.watchlist import load_watchlist  # noqa: E402

SETS = {
    "fixtures": REPO / "fixtures",
    "unseen": REPO / "fixtures" / "unseen",
    "extraction": REPO / "fixtures" / "extraction",
}


def replay(root: Path, model: str, confidence: float) -> dict:
    by_day: dict[date, list[Path]] = defaultdict(list)
    for path in sorted((root / "articles").rglob("*.md")):
        for record in iter_path_items([path]):
            if isinstance(record, ArticleRecord):
                by_day[record.published_at].append(path)
    # The set's watchlist with the threshold under test ([detection] possible_min_confidence).
    text = (root / "watchlist.toml").read_text(encoding="utf-8")
    assert "[detection]" not in text, "replay expects a watchlist without a [detection] table"
    config = Path(tempfile.mkdtemp()) / "watchlist.toml"
    config.write_text(
        text + f"\n[detection]\npossible_min_confidence = {confidence}\n", encoding="utf-8"
    )
    watchlist = load_watchlist(config)
    mentions: dict[tuple, date] = {}  # (actor, policy, to_label, first story) -> first report
    possible_seen: dict[tuple, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "replay.db")
        engine = store.open_engine(db)
        settings = runs.Settings(db=db, config=config, model=model)
        for day in sorted(by_day):
            inbox = Path(folder) / day.isoformat()
            inbox.mkdir()
            for path in by_day[day]:
                shutil.copy(path, inbox / path.name)
            result = runs.run_job(engine, [inbox], settings)
            report = runs.run_report(engine, watchlist, result.run_id)
            runs.mark_delivered(engine, result.run_id, "replay", "json")
            for s in report["shifts"]:
                mentions.setdefault((s["actor"], s["policy"], s["to_label"], s["shift_date"]), day)
            for p in report.get("possible_shifts") or []:
                key = (p["actor"], p["policy"], p["to_label"], p["first_story_date"])
                mentions.setdefault(key, day)
                possible_seen[key] = p["status"]
        final = runs.run_report(engine, watchlist, result.run_id)
        engine.dispose()
    delays = []
    for s in final["shifts"]:
        first_story = date.fromisoformat(s["shift_date"])
        reported = min(
            (
                seen
                for (actor, policy, label, start), seen in mentions.items()
                if (actor, policy, label) == (s["actor"], s["policy"], s["to_label"])
                and abs((date.fromisoformat(start) - first_story).days) <= shifts.MATCH_DAYS
            ),
            default=None,
        )
        delays.append((s["actor"], s["policy"], s["to_label"], (reported - first_story).days))
    unconfirmed: dict[str, int] = defaultdict(int)
    for (actor, policy, _, _), status in possible_seen.items():
        if status in ("contradicted", "expired", "withdrawn"):
            unconfirmed[f"{actor}/{policy}"] += 1
    return {"delays": delays, "unconfirmed": dict(unconfirmed), "tracks": len(watchlist.tracks)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--model", default="default")
    parser.add_argument("--confidence", nargs="*", type=float, default=[0.8])
    args = parser.parse_args()
    loaded: dict[str, object] = {}
    real_loader = runs.load_classifier

    def cached(*a: object, **k: object) -> object:  # load the model once for all runs
        if "model" not in loaded:
            loaded["model"] = real_loader(*a, **k)  # type: ignore[arg-type]
        return loaded["model"]

    runs.load_classifier = cached  # type: ignore[assignment]
    for confidence in args.confidence:
        for name in args.sets:
            result = replay(SETS[name], args.model, confidence)
            delays = [d for *_, d in result["delays"]]
            same_run = sum(d == 0 for d in delays)
            worst = max(result["unconfirmed"].values(), default=0)
            print(
                f"{name} (possible at confidence >= {confidence}): {len(delays)} shifts, "
                f"reported the same day {same_run}, delays in days {sorted(delays)}; "
                f"possible shifts never confirmed: {sum(result['unconfirmed'].values())} over "
                f"{result['tracks']} tracks, at most {worst} on one track "
                f"{result['unconfirmed']}"
            )
            for actor, policy, label, delay in result["delays"]:
                print(f"    {actor}/{policy} -> {label}: {delay} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
