"""Aggregate: one stance per article x actor x policy from its evidence sentences.

Sentences that carry a position of the actor outweigh sentences that only mention it. With the
default model, which tells "no position reported" (no_stance) apart from "undecided", the
sentences with P(no_stance) below one half carry a position; each counts with weight
1 - P(no_stance). With a three-way model, sentences with P(neutral) below one half do, weighted
by 1 - P(neutral). When no sentence carries a position, all are averaged. Measured against the
plain mean on the fixture gold in the model card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stancetrack.classify import StanceProbs

CARRIES_POSITION = 0.5
METHODS = ("weighted", "mean")


@dataclass(frozen=True)
class ArticleStance:
    label: str
    score: float  # P(support) - P(oppose), in [-1, 1]
    confidence: float  # probability of the chosen label
    evidence_count: int
    key_index: int  # which evidence sentence best shows the chosen label
    probs: StanceProbs

    @property
    def no_stance(self) -> float | None:
        """How sure we are the article reports no position of the actor at all."""
        return None if self.probs.no_stance is None else round(self.probs.no_stance, 4)


def _position_mass(probs: StanceProbs) -> float:
    if probs.no_stance is not None:
        return 1.0 - probs.no_stance
    return 1.0 - probs.neutral


def aggregate_stance(evidence: Sequence[StanceProbs], method: str = "weighted") -> ArticleStance:
    """Combine one article's evidence probabilities into its stance."""
    if not evidence:
        raise ValueError("an article stance needs at least one evidence sentence")
    if method == "mean":
        probs = _weighted_mean(evidence, [1.0] * len(evidence))
    elif method == "weighted":
        carrying = [e for e in evidence if _position_mass(e) > CARRIES_POSITION]
        # Mentions without a position do not dilute the sentences that carry one.
        pool = carrying or list(evidence)
        probs = _weighted_mean(pool, [_position_mass(e) + 1e-6 for e in pool])
    else:
        raise ValueError(f"unknown aggregation method '{method}' (use {', '.join(METHODS)})")
    label = probs.label
    key_index = max(range(len(evidence)), key=lambda i: getattr(evidence[i], label))
    return ArticleStance(
        label=label,
        score=round(probs.score, 4),
        confidence=round(getattr(probs, label), 4),
        evidence_count=len(evidence),
        key_index=key_index,
        probs=probs,
    )


def _weighted_mean(evidence: Sequence[StanceProbs], weights: Sequence[float]) -> StanceProbs:
    total = sum(weights) or 1.0

    def mean(values: Sequence[float]) -> float:
        return sum(w * v for w, v in zip(weights, values, strict=True)) / total

    no_stance = [e.no_stance for e in evidence]
    return StanceProbs(
        mean([e.support for e in evidence]),
        mean([e.oppose for e in evidence]),
        mean([e.neutral for e in evidence]),
        None if any(v is None for v in no_stance) else mean([v or 0.0 for v in no_stance]),
    )
