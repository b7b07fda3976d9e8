"""How far the held-out labels can be trusted: a second, blind annotation of a random sample.

    python training/agreement.py

`training/data/second_annotation.jsonl` holds labels that a second annotator gave 300 randomly
drawn held-out records (seed 2026) from the actor, proposition, text and the guide alone, without
seeing our labels or any model output. Records are matched by a hash of actor, proposition and
text, so the file stays valid when the split is rebuilt. Prints agreement and every disagreement.

`fixtures/unseen/second_annotation.jsonl` does the same for the unseen article set: a second
annotator labelled every (article, actor, policy) pair of its gold from the articles and the rules
alone, blind to the gold labels and to the model; `fixtures/fresh/`, `fixtures/fresh2/` and
`fixtures/fresh3/` have one each too.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stancetrack.evaluate import read_labelled_files, score  # noqa: E402

DATA = REPO / "training" / "data"
Pairs = list[tuple[dict[str, Any], dict[str, Any]]]  # (our record, the second annotator's)


def record_key(row: dict[str, Any]) -> str:
    text = f"{row['actor']}\t{row['proposition']}\t{row['text']}"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def agreement(
    heldout: Path = DATA / "heldout.jsonl", second: Path = DATA / "second_annotation.jsonl"
) -> tuple[dict[str, Any], Pairs]:
    """Agreement figures and the (our record, second label) pairs that disagree."""
    ours = {}
    with heldout.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            ours[record_key(row)] = row
    pairs = []
    with second.open(encoding="utf-8") as handle:
        for line in handle:
            other = json.loads(line)
            if other["key"] in ours:
                pairs.append((ours[other["key"]], other))
    return compare(pairs, "sentence")


def compare(pairs: Pairs, level: str) -> tuple[dict[str, Any], Pairs]:
    """Agreement of (our record, second label) pairs, overall and where the second was sure."""
    both = score([r["label"] for r, _ in pairs], [o["label"] for _, o in pairs], level)
    sure = [(r, o) for r, o in pairs if o["sure"]]
    figures = {
        "n": len(pairs),
        "accuracy": round(both.accuracy, 4),
        "macro_f1": round(both.macro_f1, 4),
        "n_sure": len(sure),
        "accuracy_sure": round(sum(r["label"] == o["label"] for r, o in sure) / len(sure), 4),
    }
    return figures, [(r, o) for r, o in pairs if r["label"] != o["label"]]


def article_agreement(
    root: Path = REPO / "fixtures" / "unseen",
) -> tuple[dict[str, Any], Pairs]:
    """The same figures for an article set's gold against its second annotation."""
    gold = read_labelled_files(sorted((root / "gold").glob("*.jsonl")))
    ours = {(row["url"], row["actor"], row["policy"]): row for row in gold}
    pairs = []
    for line in (root / "second_annotation.jsonl").read_text(encoding="utf-8").splitlines():
        other = json.loads(line)
        pairs.append((ours[(other["url"], other["actor"], other["policy"])], other))
    figures, disagreements = compare(pairs, "article")
    return {**figures, "of": len(ours)}, disagreements


def main() -> None:
    figures, disagreements = agreement()
    print(
        f"second annotation: {figures['n']} held-out records, agreement {figures['accuracy']:.3f}"
        f" (macro-F1 {figures['macro_f1']:.3f}); on the {figures['n_sure']} the second annotator"
        f" was sure of: {figures['accuracy_sure']:.3f}"
    )
    for row, other in disagreements:
        print(f"- ours {row['label']}, second {other['label']} ({other['why']})")
        print(f"  {row['actor']}: {row['proposition']}\n  {row['text']}")
    for name in ("unseen", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7"):
        root = REPO / "fixtures" / name
        if not (root / "second_annotation.jsonl").exists():
            continue
        figures, disagreements = article_agreement(root)
        print(
            f"\n{name} articles: {figures['n']} of {figures['of']} gold pairs, agreement "
            f"{figures['accuracy']:.3f} (macro-F1 {figures['macro_f1']:.3f}); on the "
            f"{figures['n_sure']} the second annotator was sure of: {figures['accuracy_sure']:.3f}"
        )
        for row, other in disagreements:
            print(f"- gold {row['label']}, second {other['label']}: {row['url']} {row['actor']}")
            print(f"  gold: {row.get('note', '')}\n  second: {other.get('note', '')}")


if __name__ == "__main__":
    main()
