"""Training helpers that run without a model: batching and the labelled-data reader."""

import json
from pathlib import Path

import pytest

from stancetrack.errors import StancetrackError
from stancetrack.train import length_bucketed_batches, load_labelled


def test_length_bucketed_batches_cover_every_example_once_in_full_batches() -> None:
    lengths = [(i * 37) % 500 for i in range(1000)]
    batches = length_bucketed_batches(lengths, batch_size=16, seed=3, window=8)
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(1000))
    assert len(batches) == (1000 + 15) // 16  # the step count the scheduler is built on
    assert sum(len(b) < 16 for b in batches) == 1  # only the last window's tail is short


def test_length_bucketed_batches_keep_lengths_close_and_vary_by_seed() -> None:
    lengths = [(i * 37) % 500 for i in range(1024)]
    batches = length_bucketed_batches(lengths, batch_size=16, seed=3, window=8)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    unsorted_spread = sum(
        max(lengths[i] for i in range(s, s + 16)) - min(lengths[i] for i in range(s, s + 16))
        for s in range(0, 1024, 16)
    )
    assert spread < unsorted_spread / 5  # far less padding than arbitrary batches
    assert batches != length_bucketed_batches(lengths, batch_size=16, seed=4, window=8)
    assert batches == length_bucketed_batches(lengths, batch_size=16, seed=3, window=8)


def test_load_labelled_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(
        '{"actor": "A", "proposition": "p", "text": "t", "label": "support"}\n{"actor": "B"}\n',
        encoding="utf-8",
    )
    with pytest.raises(StancetrackError, match=r"data\.jsonl:2: bad labelled record"):
        load_labelled(path)


def test_a_short_training_run_writes_an_adapter_that_loads_and_marks(tmp_path: Path) -> None:
    """`stancetrack train` end to end on a few records (real base model, no VAST)."""
    from stancetrack.classify import StancePair, load_classifier
    from stancetrack.train import TrainConfig, train

    data = tmp_path / "train.jsonl"
    rows = [
        {
            "actor": "Chile",
            "proposition": "ban plastic bags",
            "label": label,
            "mention": "Santiago",
            "text": f"Santiago {verb} the ban on plastic bags on {day}.",
        }
        for day in ("Monday", "Tuesday", "Friday")
        for verb, label in (
            ("approved", "support"),
            ("rejected", "oppose"),
            ("discussed", "neutral"),
        )
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    config = TrainConfig(
        data=str(data), vast_samples=0, epochs=1, batch_size=4, eval_data=str(data)
    )
    summary = train(config, tmp_path / "adapter", log=lambda _: None)
    assert summary["mark_actor"] is True and len(summary["eval_macro_f1_by_epoch"]) == 1
    classifier = load_classifier(str(tmp_path / "adapter"))
    assert classifier.mark_actor
    [probs] = classifier.predict(
        [StancePair("Chile", "ban plastic bags", rows[0]["text"], "Santiago")]
    )
    assert abs(probs.support + probs.oppose + probs.neutral - 1) < 1e-4
