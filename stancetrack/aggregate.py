"""Aggregate: one stance per article x actor x policy from its evidence sentences.

Sentences that carry a position of the actor outweigh sentences that only mention it. With the
default model, which tells "no position reported" (no_stance) apart from "undecided", the
sentences with P(no_stance) below one half carry a position; each counts with weight
1 - P(no_stance). With a three-way model, sentences with P(neutral) below one half do, weighted
by 1 - P(neutral). When no sentence carries a position, all are averaged. Measured against the
plain mean on the fixture gold in the model card.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from stancetrack.classify import ARTICLE_GATES, StanceProbs
from stancetrack.shifts import MIN_CONFIDENCE

CARRIES_POSITION = 0.5
METHODS = ("weighted", "mean")
# A sentence that reports an earlier position of the actor ("had refused for months",
# "initially opposed", "last year"): background that should not outvote the news.
EARLIER_POSITION = re.compile(
    r"\b(?:had (?:long |repeatedly |previously |initially |earlier |already |until now |"
    r"for (?:months|years|weeks) )?(?:\w+ed|been|said|held|kept|sent|given|taken|made|fought)|"
    r"initially|previously|at first|formerly|used to|until (?:then|now|last)|"
    r"earlier this (?:year|month)|last (?:year|month|spring|summer|autumn|winter)|"
    r"as opposition leader|before (?:the|his|her) election)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AggregationRule:
    """How much each evidence sentence counts; the defaults are the plain weighted rule.

    weight = (1 - P(no_stance))^power, times `lead` in the headline and first paragraph,
    `past` for a sentence reporting an earlier position, `reach` for a candidate found only
    through the policy reach; sentences with P(no_stance) >= `carries` count only when none
    is below it.
    """

    power: float = 1.0
    lead: float = 1.0
    past: float = 1.0
    reach: float = 1.0
    carries: float = CARRIES_POSITION

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


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


def aggregate_stance(
    evidence: Sequence[StanceProbs],
    method: str = "weighted",
    *,
    rule: AggregationRule | None = None,
    sentences: Sequence[str] | None = None,
    paragraphs: Sequence[int | None] | None = None,
    policy_matches: Sequence[str | None] | None = None,
    factors: Sequence[float] | None = None,
) -> ArticleStance:
    """Combine one article's evidence probabilities into its stance.

    `sentences`, `paragraphs` and `policy_matches` (one per evidence) let `rule` weigh where
    and how each sentence was found; without them every sentence is weighed alike. `factors`
    (one per evidence) multiply those weights, for rules studied outside the package
    (training/article_rules.py).
    """
    if not evidence:
        raise ValueError("an article stance needs at least one evidence sentence")
    rule = rule or AggregationRule()
    if method == "mean":
        probs = _weighted_mean(evidence, [1.0] * len(evidence))
    elif method == "weighted":
        weights = [
            _weight(
                e,
                rule,
                sentences[i] if sentences else "",
                paragraphs[i] if paragraphs else None,
                policy_matches[i] if policy_matches else None,
            )
            * (factors[i] if factors else 1.0)
            for i, e in enumerate(evidence)
        ]
        carrying = [i for i, e in enumerate(evidence) if _position_mass(e) > 1 - rule.carries]
        # Mentions without a position do not dilute the sentences that carry one.
        pool = carrying or list(range(len(evidence)))
        probs = _weighted_mean([evidence[i] for i in pool], [weights[i] for i in pool])
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


def _weight(
    probs: StanceProbs,
    rule: AggregationRule,
    sentence: str,
    paragraph: int | None,
    policy_match: str | None,
) -> float:
    weight = _position_mass(probs) ** rule.power + 1e-6
    if paragraph is not None and paragraph <= 1:
        weight *= rule.lead
    if rule.past != 1.0 and EARLIER_POSITION.search(sentence):
        weight *= rule.past
    if policy_match in ("paragraph", "article"):
        weight *= rule.reach
    return weight


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


# ---------------------------------------------------------------- the article stage

UNSURE_BELOW = MIN_CONFIDENCE  # a stance below it does not define a segment (shifts.py)


def joined_evidence(sentences: Sequence[str]) -> str:
    """A pair's distinct evidence sentences in article order: what the article stage reads."""
    return " ".join(dict.fromkeys(sentences))


def article_stage_reads(
    stance: ArticleStance, evidence: Sequence[StanceProbs], sentences: Sequence[str], gate: str
) -> bool:
    """Whether `gate` sends this pair, whose rule stance is `stance`, to the article stage."""
    if gate == "unsure":
        return stance.confidence < UNSURE_BELOW
    if gate == "disagree":
        return len({e.label for e in evidence}) > 1
    if gate == "multi":
        return len(set(sentences)) > 1
    if gate == "all":
        return bool(evidence)
    raise ValueError(f"unknown article-stage gate '{gate}' (use {', '.join(ARTICLE_GATES)})")


def blend_article_reading(
    stance: ArticleStance, evidence: Sequence[StanceProbs], joint: StanceProbs, weight: float
) -> ArticleStance:
    """The rule's stance averaged with the article stage's reading (`weight` on the latter)."""

    def mix(a: float, b: float) -> float:
        return (1 - weight) * a + weight * b

    rule = stance.probs
    no_stance = (
        None
        if rule.no_stance is None or joint.no_stance is None
        else mix(rule.no_stance, joint.no_stance)
    )
    probs = StanceProbs(
        mix(rule.support, joint.support),
        mix(rule.oppose, joint.oppose),
        mix(rule.neutral, joint.neutral),
        no_stance,
    )
    label = probs.label
    return ArticleStance(
        label=label,
        score=round(probs.score, 4),
        confidence=round(getattr(probs, label), 4),
        evidence_count=stance.evidence_count,
        key_index=max(range(len(evidence)), key=lambda i: getattr(evidence[i], label)),
        probs=probs,
    )
