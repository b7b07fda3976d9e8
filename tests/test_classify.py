from pathlib import Path

import pytest

from stancetrack.classify import (
    FULL_SETTINGS_FILE,
    StancePair,
    _label_columns,
    load_classifier,
    mark_mention,
    model_identity,
    resolve_model,
)
from stancetrack.errors import ModelError

PAIRS = [
    StancePair("South Korea", "send lethal weapons to Ukraine", "Seoul refused to send weapons."),
    StancePair("Germany", "send Leopard tanks", "Berlin agreed."),
    StancePair(
        "Turkey", "approve Sweden's NATO membership", "Ankara may review it, said an official."
    ),
]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_stance_model_returns_probabilities_in_input_order(
    tiny_stance_model: Path, precision: str
) -> None:
    classifier = load_classifier(str(tiny_stance_model), precision=precision, batch_size=2)
    assert classifier.mode == "stance" and classifier.precision == precision
    probs = classifier.predict(PAIRS)
    assert len(probs) == 3
    for p in probs:
        assert abs(p.support + p.oppose + p.neutral - 1) < 1e-4
    # Batching and length-sorting must not reorder results.
    single = [classifier.predict([pair])[0] for pair in PAIRS]
    for a, b in zip(probs, single, strict=True):
        assert abs(a.support - b.support) < 2e-2


def test_nli_model_maps_entailment_and_contradiction(tiny_nli_model: Path) -> None:
    classifier = load_classifier(str(tiny_nli_model), precision="fp32")
    assert classifier.mode == "nli"
    assert classifier.columns == {"support": [0], "oppose": [2], "neutral": [1]}
    premises, hypotheses = classifier._segments(PAIRS[:1])
    assert premises == ["Seoul refused to send weapons."]
    assert hypotheses == ["South Korea supports the decision to send lethal weapons to Ukraine."]
    assert len(classifier.predict(PAIRS)) == 3


def test_identity_hashes_weights_without_loading(tiny_stance_model: Path) -> None:
    name, digest = model_identity(resolve_model(str(tiny_stance_model)))
    assert name == str(tiny_stance_model) and len(digest) == 64
    assert load_classifier(str(tiny_stance_model)).hash == digest


def test_label_mapping_and_errors(tmp_path: Path) -> None:
    assert _label_columns({0: "AGAINST", 1: "FAVOR", 2: "NONE"}, "m")[1] == {
        "support": [1],
        "oppose": [0],
        "neutral": [2],
    }
    with pytest.raises(ModelError, match="has labels \\['negative', 'positive'\\]"):
        _label_columns({0: "negative", 1: "positive"}, "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no .safetensors weights"):
        model_identity(resolve_model(str(tmp_path / "empty")))
    with pytest.raises(ModelError, match="model path is not a directory: ./missing"):
        resolve_model("./missing")


def test_four_way_labels_keep_no_stance_inside_neutral() -> None:
    mode, columns = _label_columns({0: "support", 1: "oppose", 2: "neutral", 3: "no_stance"}, "m")
    assert mode == "stance"
    assert columns == {"support": [0], "oppose": [1], "neutral": [2, 3], "no_stance": [3]}


def test_mark_mention_brackets_the_word_the_extractor_matched() -> None:
    assert mark_mention("Moscow warned Seoul's move was a mistake", "Seoul") == (
        "Moscow warned [Seoul]'s move was a mistake"
    )
    # "Seoul-based" is not a mention (the extractor's rule); the later whole word is.
    assert mark_mention("A Seoul-based group said Seoul must wait", "Seoul") == (
        "A Seoul-based group said [Seoul] must wait"
    )
    assert mark_mention("Berlin agreed.", "Seoul") == "Berlin agreed."
    assert mark_mention("Berlin agreed.", "") == "Berlin agreed."


def test_only_models_trained_with_marks_see_them(tiny_stance_model: Path, tmp_path: Path) -> None:
    import shutil

    classifier = load_classifier(str(tiny_stance_model))
    pair = StancePair("Germany", "send tanks", "Berlin agreed.", mention="Berlin")
    assert not classifier.mark_actor
    assert classifier._segments([pair]) == (["Germany: send tanks"], ["Berlin agreed."])
    # A full fine-tune says so in the file `stancetrack train --method full` writes beside it.
    full = Path(shutil.copytree(tiny_stance_model, tmp_path / "full"))
    (full / FULL_SETTINGS_FILE).write_text('{"mark_actor": true}')
    classifier = load_classifier(str(full))
    assert classifier.mark_actor
    assert classifier._segments([pair]) == (["Germany: send tanks"], ["[Berlin] agreed."])
