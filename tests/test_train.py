"""Training helpers that run without a model: batching and the labelled-data reader."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from stancetrack.errors import StancetrackError
from stancetrack.train import Example, length_bucketed_batches, load_labelled


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


def test_a_short_training_run_writes_an_ensemble_that_loads_and_marks(tmp_path: Path) -> None:
    """`stancetrack train` end to end on a few records (real base model, no VAST), with two
    ensemble members."""
    from stancetrack.classify import StancePair, load_classifier
    from stancetrack.train import TrainConfig, combine_adapters, member_folder, train

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
        data=str(data),
        base="minilm",  # the small base keeps the test quick; bases.py tests cover MPNet's
        vast_samples=0,
        epochs=1,
        batch_size=4,
        eval_data=str(data),
        members=2,
    )
    summary = train(config, tmp_path / "adapter", log=lambda _: None)
    assert summary["mark_actor"] is True and len(summary["eval_macro_f1_by_epoch"]) == 1
    assert [m["seed"] for m in summary["members"]] == [13, 14]
    classifier = load_classifier(str(tmp_path / "adapter"))
    assert classifier.mark_actor and len(classifier.models) == 2
    pair = StancePair("Chile", "ban plastic bags", rows[0]["text"], "Santiago")
    [probs] = classifier.predict([pair])
    assert abs(probs.support + probs.oppose + probs.neutral - 1) < 1e-4

    # Each member alone, as a one-adapter folder; the ensemble is their average.
    singles = [member_folder(tmp_path / "adapter", i, tmp_path / f"single-{i}") for i in (0, 1)]
    [first], [second] = (load_classifier(str(f)).predict([pair]) for f in singles)
    assert abs(probs.support - (first.support + second.support) / 2) < 1e-4
    assert first.support != second.support  # the seeds really differ

    # Members trained apart and combined make the same folder as training them together.
    combine_adapters(singles, tmp_path / "combined")
    combined = load_classifier(str(tmp_path / "combined"))
    assert combined.hash == classifier.hash


def test_a_second_stage_starts_from_the_adapter_it_is_given(tmp_path: Path) -> None:
    """`--init-from`: with nothing to learn (learning rates 0) a second stage saves exactly the
    adapter it started from; an adapter of another shape is refused with its reason."""
    from stancetrack.classify import load_classifier
    from stancetrack.errors import ModelError
    from stancetrack.train import TrainConfig, train

    data = tmp_path / "train.jsonl"
    rows = [
        {"actor": "Chile", "proposition": "ban plastic bags", "label": label, "text": text}
        for label, text in (
            ("support", "Chile approved the ban on plastic bags."),
            ("oppose", "Chile rejected the ban on plastic bags."),
            ("neutral", "Chile discussed the ban on plastic bags."),
        )
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    first = TrainConfig(data=str(data), base="minilm", vast_samples=0, epochs=1, batch_size=4)
    train(first, tmp_path / "first", log=lambda _: None)
    frozen = replace(
        first,
        init_from=str(tmp_path / "first"),
        learning_rate=0.0,
        head_learning_rate=0.0,
        seed=99,  # a fresh adapter with this seed would differ
    )
    train(frozen, tmp_path / "second", log=lambda _: None)
    assert load_classifier(str(tmp_path / "second")).hash == (
        load_classifier(str(tmp_path / "first")).hash
    )
    with pytest.raises(ModelError, match="lora_rank"):
        train(replace(frozen, lora_rank=8), tmp_path / "third", log=lambda _: None)


def _example(label: str, target: str = "") -> Example:
    text = "Santiago approved the ban."
    return Example("Chile", "ban plastic bags", text, label, target or label)


def test_negated_examples_flip_support_and_oppose_but_keep_neutral() -> None:
    import random

    from stancetrack.train import NO_STANCE, negated

    rng = random.Random(1)
    flipped = negated(_example("support"), rng)
    assert flipped.label == flipped.target == "oppose"
    assert flipped.proposition != "ban plastic bags" and "ban plastic bags" in flipped.proposition
    assert negated(_example("oppose"), rng).target == "support"
    assert negated(_example("neutral"), rng).target == "neutral"
    assert negated(_example("neutral", NO_STANCE), rng).target == NO_STANCE


def test_negated_examples_take_the_written_opposite_of_their_policy(tmp_path: Path) -> None:
    import random

    from stancetrack.train import load_opposites, negated

    path = tmp_path / "opposites.jsonl"
    path.write_text('{"policy": "bags", "opposite": "let shops keep handing out plastic bags"}\n')
    opposites = load_opposites(path)
    rng = random.Random(1)
    bags = replace(_example("support"), policy="bags")
    flipped = negated(bags, rng, opposites)
    assert (flipped.proposition, flipped.target) == (
        "let shops keep handing out plastic bags",
        "oppose",
    )
    # A policy without a written opposite falls back to a template.
    assert "ban plastic bags" in negated(_example("support"), rng, opposites).proposition
    path.write_text('{"policy": "bags"}\n')
    with pytest.raises(StancetrackError, match="opposites.jsonl:1: bad opposite record"):
        load_opposites(path)


def test_epoch_examples_reword_a_share_in_the_same_direction(tmp_path: Path) -> None:
    from stancetrack.train import Sources, TrainConfig, epoch_examples, load_paraphrases

    path = tmp_path / "paraphrases.jsonl"
    path.write_text('{"policy": "bags", "paraphrases": ["outlaw plastic bags", "prohibit bags"]}\n')
    ours = [replace(_example("support"), policy="bags") for _ in range(400)]
    sources = Sources(ours, [], list(range(400)), paraphrases=load_paraphrases(path))
    config = TrainConfig(vast_samples=0, paraphrase_share=0.5)
    shown = epoch_examples(sources, config, 0)
    reworded = [e for e in shown if e.proposition != "ban plastic bags"]
    assert 0.4 < len(reworded) / 400 < 0.6
    assert {e.proposition for e in reworded} == {"outlaw plastic bags", "prohibit bags"}
    assert all(e.target == "support" for e in shown)  # rewording never flips the label
    path.write_text('{"policy": "bags", "paraphrases": 3}\n')
    with pytest.raises(StancetrackError, match="paraphrases.jsonl:1: bad paraphrase record"):
        load_paraphrases(path)


def test_epoch_examples_negate_a_share_and_walk_through_vast() -> None:
    from stancetrack.train import Sources, TrainConfig, epoch_examples

    ours = [_example("support") for _ in range(400)]
    vast = [Example("The author", f"topic {i}", "post", "oppose", "oppose") for i in range(10)]
    sources = Sources(ours, vast, list(range(404)))
    config = TrainConfig(vast_samples=4, vast_resample=True, negate_share=0.25)
    first = epoch_examples(sources, config, 0)
    assert len(first) == 404
    share = sum(e.label == "oppose" and e.actor == "Chile" for e in first) / 400
    assert 0.15 < share < 0.35
    topics = [[e.proposition for e in epoch_examples(sources, config, k)[400:]] for k in (0, 1)]
    assert topics == [[f"topic {i}" for i in range(4)], [f"topic {i}" for i in range(4, 8)]]
    fixed = TrainConfig(vast_samples=4, negate_share=0.0)
    assert epoch_examples(sources, fixed, 1)[:400] == ours
    assert [e.proposition for e in epoch_examples(sources, fixed, 1)[400:]] == topics[0]
    reversed_order = Sources(ours, vast, list(range(403, -1, -1)))
    assert epoch_examples(reversed_order, fixed, 1)[0].proposition == "topic 3"


def test_the_train_command_defaults_to_the_recipe_that_ships() -> None:
    """`stancetrack train` without options must rebuild the shipped default model's recipe."""
    import inspect

    from stancetrack import cli
    from stancetrack.classify import PACKAGED_MODEL_DIR
    from stancetrack.train import TrainConfig

    recipe = TrainConfig()
    shipped = json.loads((PACKAGED_MODEL_DIR / "config.json").read_text())["recipe"]
    for name in ("base", "epochs", "seed", "learning_rate", "lora_rank", "vast_samples"):
        assert shipped[name] == getattr(recipe, name), name
    checked = 0
    for name, parameter in inspect.signature(cli.train).parameters.items():
        if not hasattr(recipe, name):
            continue
        default = parameter.default
        default = str(default) if isinstance(default, Path) else default
        default = "" if default is None else default  # an unset path option
        assert default == getattr(recipe, name), name
        checked += 1
    assert checked >= 8


def test_written_opposites_cover_the_training_policies_and_no_held_out_one() -> None:
    """Contrast training reads opposites.jsonl: a held-out policy's opposite there would leak
    its wording. The held-out opposites live apart and only training/reads_proposition.py
    reads them."""
    from stancetrack.train import load_opposites, load_paraphrases

    data = Path(__file__).parent.parent / "training" / "data"
    opposites = load_opposites(data / "opposites.jsonl")
    propositions = {}
    for name in ("train", "heldout"):
        for line in (data / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            propositions[row["policy"]] = (name, row["proposition"])
    trained = {p for p, (name, _) in propositions.items() if name == "train"}
    assert set(opposites) == trained
    assert all(opposites[p] != propositions[p][1] for p in trained)
    held_out = load_opposites(data / "heldout_opposites.jsonl")
    assert set(held_out) == set(propositions) - trained
    # Rewordings likewise: training policies only, never the proposition itself.
    paraphrases = load_paraphrases(data / "paraphrases.jsonl")
    assert set(paraphrases) == trained
    assert all(propositions[p][1] not in paraphrases[p] for p in trained)
