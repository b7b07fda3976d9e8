"""Calibration: does a confidence of 0.8 mean right four times in five?

Shift detection trusts confidence (article stances below 0.6 do not count), so it has to mean
what it says. `expected_calibration_error` measures it; `fit_temperature` finds the one number
T that, dividing the model's log-probabilities, makes held-out confidences honest (temperature
scaling: the predicted label never changes, only how sure it is). The packaged adapters carry
their T in `config.json` ("temperature"); the classifier applies it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    confidence: float  # mean confidence in the bin
    accuracy: float  # share right in the bin


def reliability(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS
) -> list[ReliabilityBin]:
    """Equal-width confidence bins with their mean confidence and accuracy."""
    table = []
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        members = [
            (c, r)
            for c, r in zip(confidences, correct, strict=True)
            if low <= c < high or (index == bins - 1 and c == 1.0)
        ]
        if members:
            table.append(
                ReliabilityBin(
                    low,
                    high,
                    len(members),
                    sum(c for c, _ in members) / len(members),
                    sum(r for _, r in members) / len(members),
                )
            )
    return table


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS
) -> float:
    """Mean gap between confidence and accuracy, weighted by how many predictions fall in each
    bin (the usual 10-bin ECE)."""
    total = len(confidences)
    if not total:
        return 0.0
    return sum(
        b.count / total * abs(b.confidence - b.accuracy)
        for b in reliability(confidences, correct, bins)
    )


def scale(probabilities: Sequence[float], temperature: float) -> list[float]:
    """Temperature-scaled probabilities: softmax(log p / T)."""
    logs = [math.log(max(p, 1e-12)) / temperature for p in probabilities]
    top = max(logs)
    weights = [math.exp(value - top) for value in logs]
    total = sum(weights)
    return [w / total for w in weights]


def negative_log_likelihood(
    rows: Sequence[Sequence[float]], gold: Sequence[int], temperature: float
) -> float:
    return -sum(
        math.log(max(scale(row, temperature)[label], 1e-12))
        for row, label in zip(rows, gold, strict=True)
    ) / max(1, len(rows))


def fit_temperature(
    rows: Sequence[Sequence[float]], gold: Sequence[int], low: float = 0.25, high: float = 8.0
) -> float:
    """The T minimising held-out negative log-likelihood (golden-section search on log T)."""
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    for _ in range(60):
        if negative_log_likelihood(rows, gold, math.exp(c)) < negative_log_likelihood(
            rows, gold, math.exp(d)
        ):
            b = d
        else:
            a = c
        c, d = b - ratio * (b - a), a + ratio * (b - a)
    return round(math.exp((a + b) / 2), 3)
