"""Training helpers that run without a model: batching and the labelled-data reader."""

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
