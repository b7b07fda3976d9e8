import random

from stancetrack.evaluate import macro_f1_interval, score

LABELS = ["support", "oppose", "neutral"]


def noisy(n: int, right: float, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    gold = [rng.choice(LABELS) for _ in range(n)]
    return gold, [g if rng.random() < right else rng.choice(LABELS) for g in gold]


def test_scores_by_hand() -> None:
    gold = ["support", "support", "oppose", "neutral"]
    predicted = ["support", "oppose", "oppose", "neutral"]
    scores = score(gold, predicted, "sentence")
    assert scores.accuracy == 0.75
    assert scores.per_class["support"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.6667,
        "support": 2,
    }
    assert scores.per_class["oppose"]["f1"] == 0.6667
    assert scores.macro_f1 == round((0.6667 + 0.6667 + 1.0) / 3, 4)
    assert scores.confusion["support"] == {"support": 1, "oppose": 1, "neutral": 0}


def test_bootstrap_interval_holds_the_figure_and_narrows_with_more_data() -> None:
    small = score(*noisy(63, 0.8, seed=1), "article")
    large = score(*noisy(2000, 0.8, seed=1), "sentence")
    for scores in (small, large):
        low, high = scores.macro_f1_ci
        assert low <= scores.macro_f1 <= high
    assert large.macro_f1_ci[1] - large.macro_f1_ci[0] < small.macro_f1_ci[1] - small.macro_f1_ci[0]
    assert small.macro_f1_ci == score(*noisy(63, 0.8, seed=1), "article").macro_f1_ci  # seeded
    perfect = list(zip(LABELS * 5, LABELS * 5, strict=True))
    assert macro_f1_interval(perfect) == (1.0, 1.0)
    assert macro_f1_interval([]) == (0.0, 0.0)
