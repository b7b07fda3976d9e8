import pytest

from stancetrack.aggregate import aggregate_stance
from stancetrack.classify import StanceProbs

REFUSAL = StanceProbs(0.05, 0.85, 0.10)
MENTION = StanceProbs(0.10, 0.10, 0.80)


def test_stance_sentences_outweigh_mentions() -> None:
    stance = aggregate_stance([MENTION, REFUSAL, MENTION, MENTION])
    assert stance.label == "oppose"
    assert stance.key_index == 1
    assert stance.evidence_count == 4
    assert -1 <= stance.score < -0.5


def test_plain_mean_is_diluted_by_mentions() -> None:
    assert aggregate_stance([MENTION, REFUSAL, MENTION, MENTION], "mean").label == "neutral"


def test_only_mentions_is_neutral_and_mixed_is_balanced() -> None:
    assert aggregate_stance([MENTION, MENTION]).label == "neutral"
    mixed = aggregate_stance([StanceProbs(0.8, 0.1, 0.1), StanceProbs(0.1, 0.8, 0.1)])
    assert abs(mixed.score) < 1e-6


def test_factors_scale_each_sentence_weight() -> None:
    support, oppose = StanceProbs(0.8, 0.1, 0.1), StanceProbs(0.1, 0.8, 0.1)
    assert aggregate_stance([support, oppose], factors=[1.0, 0.25]).label == "support"
    assert aggregate_stance([support, oppose], factors=[0.25, 1.0]).label == "oppose"
    assert aggregate_stance([support, oppose], factors=[1.0, 1.0]) == aggregate_stance(
        [support, oppose]
    )


def test_errors() -> None:
    with pytest.raises(ValueError):
        aggregate_stance([])
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate_stance([MENTION], "max")


def test_undecided_sentence_outweighs_a_mention_with_a_four_way_model() -> None:
    may_review = StanceProbs(0.05, 0.10, 0.85, no_stance=0.10)
    mention = StanceProbs(0.05, 0.05, 0.90, no_stance=0.85)
    stance = aggregate_stance([mention, may_review, mention])
    assert stance.label == "neutral" and stance.key_index in (0, 1, 2)
    assert stance.no_stance is not None and stance.no_stance < 0.5
    only_mentions = aggregate_stance([mention, mention])
    assert only_mentions.no_stance is not None and only_mentions.no_stance > 0.5
