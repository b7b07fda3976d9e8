"""Merge the hand-written labelled parts, deduplicate, and split by policy.

    python training/build_data.py

Writes training/data/train.jsonl and training/data/heldout.jsonl (the policies whose id hashes
below a fixed cut, about 23%, never seen in training; the split is stable as policies are added)
and prints the counts that go into the model card. Each record gets a `mention` (the words that
name the actor, from mentions.jsonl or the actor's own name) for actor marking.
"""

import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

DATA = Path(__file__).parent / "data"
KEYS = ("actor", "policy", "proposition", "text", "label", "case")
LABELS = {"support", "oppose", "neutral"}
EASY_CASES = {"plain_support", "plain_oppose", "mention_only"}
# A policy is held out when the SHA-1 of its id sorts below this prefix (about 23% of ids).
# A fixed cut, not a share of the current ids, so adding policies never moves an old one
# across the split and figures on the old held-out policies stay comparable.
HELDOUT_BELOW = "3c"


def norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def load_mentions() -> dict[tuple[str, str], str]:
    """(actor, text) -> the words in the text that name the actor, for texts that use an
    alias ("Tbilisi" for Georgia). Written by hand in mentions.jsonl; "" = not named."""
    path = DATA / "mentions.jsonl"
    if not path.exists():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return {(r["actor"], r["text"]): r["mention"] for r in rows}


def mention_of(row: dict, mentions: dict[tuple[str, str], str]) -> str:
    if "mention" in row:  # newer parts carry it inline
        return row["mention"]
    if (row["actor"], row["text"]) in mentions:
        return mentions[(row["actor"], row["text"])]
    return row["actor"] if row["actor"] in row["text"] else ""


def main() -> int:
    records, seen, problems = [], set(), []
    mentions = load_mentions()
    for part in sorted((DATA / "raw").glob("part-*.jsonl")):
        for number, line in enumerate(part.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{part.name}:{number}: {exc}")
                continue
            if set(row) - {"mention"} != set(KEYS) or row["label"] not in LABELS:
                problems.append(f"{part.name}:{number}: bad keys or label")
                continue
            if row.get("mention") and row["mention"] not in row["text"]:
                problems.append(f"{part.name}:{number}: mention not in text")
                continue
            key = (norm(row["text"]), row["actor"].lower(), row["policy"])
            if key in seen:
                continue  # same text, actor and policy: keep the first
            seen.add(key)
            records.append({**{k: row[k] for k in KEYS}, "mention": mention_of(row, mentions)})
    policies = sorted({r["policy"] for r in records})
    heldout = {p for p in policies if hashlib.sha1(p.encode()).hexdigest() < HELDOUT_BELOW}
    train = [r for r in records if r["policy"] not in heldout]
    test = [r for r in records if r["policy"] in heldout]
    for name, rows in (("train", train), ("heldout", test)):
        with (DATA / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    hard = sum(r["case"] not in EASY_CASES for r in records)
    stats = {
        "records": len(records),
        "actors": len({r["actor"] for r in records}),
        "policies": len(policies),
        "labels": dict(Counter(r["label"] for r in records)),
        "hard_share": round(hard / len(records), 3),
        "with_mention": sum(bool(r["mention"]) for r in records),
        "cases": dict(Counter(r["case"] for r in records).most_common()),
        "train": len(train),
        "heldout": len(test),
        "heldout_policies": sorted(heldout),
        "problems": problems,
    }
    (DATA / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(json.dumps({k: v for k, v in stats.items() if k != "cases"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
