"""Detect: stable segments in each track's stance timeline, and the shifts between them.

Articles that report no position of the actor (only a mention, or someone else urging it) are
left out: they say nothing about whether the actor moved. So are article stances with confidence
below `MIN_CONFIDENCE`: they stay on the timeline but cannot start or end a segment. The series
is then one point per independent story: wire copies of one story (near-duplicate text across
outlets) are merged into one point that remembers how many outlets ran it. Points are
cut into runs of equal label; the newest runs wait until one is backed by `min_evidence`
stories; other runs backed by fewer are folded into their neighbours (one odd article is not a
shift), and neighbouring segments whose mean scores
differ by less than `min_score_change` are merged. What is left are stable segments; every
boundary between two of them is a shift.

`reconcile` then compares a run's shifts with those already in the `shifts` table, so a later
run can confirm a shift, move its date, or retract it, and the report can say what changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stancetrack.classify import LABELS
from stancetrack.models import Shift
from stancetrack.watchlist import DEFAULT_POSSIBLE_MIN_CONFIDENCE

MATCH_DAYS = 120  # a re-detected shift within this many days of a stored one is the same shift
# Possible shifts (README, "Possible shifts"): the newest stories disagree with the current
# stance, too few to make a segment yet. Thresholds chosen on the fixture replays; the
# watchlist's [detection] possible_min_confidence overrides the confidence.
POSSIBLE_MIN_CONFIDENCE = DEFAULT_POSSIBLE_MIN_CONFIDENCE  # one of those stories is this sure
POSSIBLE_EXPIRY_DAYS = 90  # unconfirmed this long after its first story (as of the newest article)
NO_POSITION = 0.5  # articles more likely than this to report no position are left out
MIN_CONFIDENCE = 0.6  # article stances less sure than this are shown but do not define segments
LABEL_SCORE = 0.33  # a segment's mean score beyond +/- this is support / oppose, else neutral


@dataclass(frozen=True)
class StancePoint:
    """One article's stance on a track, as detection sees it."""

    article_id: int
    published_at: date
    label: str
    score: float
    confidence: float
    source: str | None = None
    cluster_id: int | None = None  # id of the first copy of a wire story; None = own story
    key_evidence_id: int | None = None
    no_stance: float | None = None  # > 0.5: the article reports no position of the actor

    @property
    def reports_position(self) -> bool:
        return self.no_stance is None or self.no_stance <= NO_POSITION

    @property
    def counts_for_detection(self) -> bool:
        return self.reports_position and self.confidence >= MIN_CONFIDENCE


@dataclass(frozen=True)
class Story:
    """An independent story: one article, or several outlets' copies of one wire story."""

    points: tuple[StancePoint, ...]
    label: str
    score: float
    confidence: float

    @property
    def published_at(self) -> date:
        return self.points[0].published_at

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(p.source or f"article {p.article_id}" for p in self.points)

    @property
    def key_evidence_id(self) -> int | None:
        best = max(self.points, key=lambda p: p.confidence)
        return best.key_evidence_id


@dataclass
class Segment:
    stories: list[Story] = field(default_factory=list)

    @property
    def label(self) -> str:
        labels = {story.label for story in self.stories}
        if len(labels) == 1:
            return labels.pop()
        # A segment that absorbed disagreeing stories is labelled by its mean score, so
        # conflicting evidence reads as neutral rather than as the louder side.
        return label_for_score(self.score)

    @property
    def score(self) -> float:
        total = sum(s.confidence for s in self.stories) or 1.0
        return sum(s.score * s.confidence for s in self.stories) / total

    @property
    def confidence(self) -> float:
        return sum(s.confidence for s in self.stories) / len(self.stories)

    @property
    def start(self) -> date:
        return self.stories[0].published_at

    @property
    def end(self) -> date:
        return self.stories[-1].published_at

    @property
    def sources(self) -> int:
        return len(frozenset().union(*(s.sources for s in self.stories)))


@dataclass(frozen=True)
class DetectedShift:
    from_label: str
    from_score: float
    to_label: str
    to_score: float
    shift_date: date  # first story of the new segment
    window_start: date  # last story of the old segment
    window_end: date
    strength: float
    articles_before: int
    articles_after: int
    sources_before: int
    sources_after: int
    evidence_before_id: int | None
    evidence_after_id: int | None


def label_for_score(score: float) -> str:
    if score >= LABEL_SCORE:
        return "support"
    if score <= -LABEL_SCORE:
        return "oppose"
    return "neutral"


def merge_wire_copies(points: Sequence[StancePoint]) -> list[Story]:
    """One story per wire cluster, in date order (ties broken by article id)."""
    clusters: dict[int, list[StancePoint]] = defaultdict(list)
    for point in points:
        clusters[point.cluster_id or point.article_id].append(point)
    stories = []
    for members in clusters.values():
        members.sort(key=lambda p: (p.published_at, p.article_id))
        weight: dict[str, float] = defaultdict(float)
        for p in members:
            weight[p.label] += p.confidence
        label = max(reversed(LABELS), key=lambda name: weight[name])
        total = sum(p.confidence for p in members) or 1.0
        stories.append(
            Story(
                points=tuple(members),
                label=label,
                score=sum(p.score * p.confidence for p in members) / total,
                confidence=sum(p.confidence for p in members) / len(members),
            )
        )
    stories.sort(key=lambda s: (s.published_at, s.points[0].article_id))
    return stories


def segment(stories: Sequence[Story], min_evidence: int, min_score_change: float) -> list[Segment]:
    """Stable segments of the story series (see the module docstring)."""
    segments: list[Segment] = []
    for story in stories:
        if segments and segments[-1].label == story.label:
            segments[-1].stories.append(story)
        else:
            segments.append(Segment([story]))
    # The newest runs wait for confirmation: a trailing run backed by fewer than `min_evidence`
    # stories is left out rather than folded back, so one new article cannot pull the
    # established segment's mean score and dissolve an earlier, well-supported shift.
    while len(segments) > 1 and len(segments[-1].stories) < min_evidence:
        segments.pop()
    changed = True
    while changed and len(segments) > 1:
        changed = _fold_weakest(segments, min_evidence) or _merge_close(segments, min_score_change)
    return segments


def _fold_weakest(segments: list[Segment], min_evidence: int) -> bool:
    weak = [i for i, s in enumerate(segments) if len(s.stories) < min_evidence]
    if not weak:
        return False
    index = min(weak, key=lambda i: (sum(s.confidence for s in segments[i].stories), i))
    left = segments[index - 1] if index > 0 else None
    right = segments[index + 1] if index + 1 < len(segments) else None
    if left and right and left.label == right.label:
        left.stories += segments[index].stories + right.stories
        del segments[index : index + 2]
        return True
    target = _closer(segments[index], left, right)
    if target is left:
        assert left is not None
        left.stories += segments[index].stories
    else:
        assert right is not None
        right.stories[:0] = segments[index].stories
    del segments[index]
    _join_equal_neighbours(segments)
    return True


def _closer(weak: Segment, left: Segment | None, right: Segment | None) -> Segment | None:
    if left is None:
        return right
    if right is None:
        return left
    return left if abs(left.score - weak.score) <= abs(right.score - weak.score) else right


def _merge_close(segments: list[Segment], min_score_change: float) -> bool:
    gaps = [
        (abs(segments[i].score - segments[i + 1].score), i)
        for i in range(len(segments) - 1)
        if abs(segments[i].score - segments[i + 1].score) < min_score_change
    ]
    if not gaps:
        return False
    _, index = min(gaps)
    segments[index].stories += segments[index + 1].stories
    del segments[index + 1]
    _join_equal_neighbours(segments)
    return True


def _join_equal_neighbours(segments: list[Segment]) -> None:
    index = 0
    while index < len(segments) - 1:
        if segments[index].label == segments[index + 1].label:
            segments[index].stories += segments.pop(index + 1).stories
        else:
            index += 1


def shift_strength(before: Segment, after: Segment) -> float:
    """How sure we are the shift is real, in [0, 1].

    Half the score gap (a full reversal from -1 to +1 gives 1), times n / (n + 1) for the
    smaller side's number of independent stories, times the two sides' mean confidence.
    """
    gap = abs(after.score - before.score) / 2
    smaller = min(len(before.stories), len(after.stories))
    confidence = (before.confidence + after.confidence) / 2
    return round(min(1.0, gap) * smaller / (smaller + 1) * confidence, 3)


def detect_shifts(
    points: Sequence[StancePoint], *, min_evidence: int = 2, min_score_change: float = 0.3
) -> tuple[list[Segment], list[DetectedShift]]:
    """Segments and the shifts between them for one track's article stances."""
    positions = [p for p in points if p.counts_for_detection]
    segments = segment(merge_wire_copies(positions), min_evidence, min_score_change)
    shifts = []
    for before, after in zip(segments, segments[1:], strict=False):
        shifts.append(DetectedShift(**_between(before, after)))
    return segments, shifts


def _between(before: Segment, after: Segment) -> dict[str, Any]:
    """The fields of a shift from segment `before` to segment `after`."""
    return {
        "from_label": before.label,
        "from_score": round(before.score, 3),
        "to_label": after.label,
        "to_score": round(after.score, 3),
        "shift_date": after.start,
        "window_start": before.end,
        "window_end": after.start,
        "strength": shift_strength(before, after),
        "articles_before": sum(len(s.points) for s in before.stories),
        "articles_after": sum(len(s.points) for s in after.stories),
        "sources_before": before.sources,
        "sources_after": after.sources,
        "evidence_before_id": before.stories[-1].key_evidence_id,
        "evidence_after_id": after.stories[0].key_evidence_id,
    }


@dataclass(frozen=True)
class PossibleShift(DetectedShift):
    """The newest stories of a track disagree with its current stance, but are too few (fewer
    than `min_evidence`) to be a segment: reported at once, confirmed or not later. Its
    shift_date, the first story that disagrees, is kept when it is confirmed."""

    last_story: date
    confidence: float  # of the surest disagreeing story


def possible_shift(
    points: Sequence[StancePoint],
    segments: Sequence[Segment],
    *,
    min_evidence: int = 2,
    min_score_change: float = 0.3,
    min_confidence: float | None = None,
) -> PossibleShift | None:
    """A possible shift at the end of the timeline, if the newest stories make one.

    The stories after the current (last) segment, newest first, while they agree with each
    other: if their label differs from the current stance, they are fewer than `min_evidence`
    (more would be a segment), their mean score differs from the segment's by at least
    `min_score_change`, and one of them is at least `min_confidence` sure, they are a possible
    shift. A newer story that agrees with the current stance again means there is none.
    """
    if not segments:
        return None
    if min_confidence is None:
        min_confidence = POSSIBLE_MIN_CONFIDENCE
    current = segments[-1]
    last_in_segment = current.stories[-1].points[0]
    newer = [
        story
        for story in merge_wire_copies([p for p in points if p.counts_for_detection])
        if (story.published_at, story.points[0].article_id)
        > (last_in_segment.published_at, last_in_segment.article_id)
    ]
    if not newer or newer[-1].label == current.label:
        return None
    run: list[Story] = []
    for story in reversed(newer):
        if story.label != newer[-1].label:
            break
        run.insert(0, story)
    if len(run) >= min_evidence or max(s.confidence for s in run) < min_confidence:
        return None
    after = Segment(list(run))
    if abs(after.score - current.score) < min_score_change:
        return None
    return PossibleShift(
        **_between(current, after),
        last_story=after.end,
        confidence=round(max(s.confidence for s in run), 3),
    )


def back_to_current(points: Sequence[StancePoint], segments: Sequence[Segment]) -> date | None:
    """The date of the newest story when it agrees with the current stance again, else None:
    what tells a contradicted possible shift from a withdrawn one (`reconcile_possible`)."""
    if not segments:
        return None
    stories = merge_wire_copies([p for p in points if p.counts_for_detection])
    if not stories or stories[-1].label != segments[-1].label:
        return None
    return stories[-1].published_at


@dataclass
class ReconcileResult:
    new: int = 0
    confirmed: int = 0
    moved: int = 0
    retracted: int = 0
    possible: int = 0  # possible shifts reported for the first time
    possible_confirmed: int = 0  # possible shifts that became shifts (counted in `new` too)
    possible_contradicted: int = 0
    possible_expired: int = 0
    possible_withdrawn: int = 0


def reconcile(
    session: Session,
    actor_id: int,
    policy_id: int,
    model_hash: str,
    detected: Sequence[DetectedShift],
    run_id: int | None,
) -> ReconcileResult:
    """Bring the `shifts` table in line with this run's detection, keeping the history."""
    result = ReconcileResult()
    stored = list(
        session.scalars(
            select(Shift)
            .where(Shift.actor_id == actor_id, Shift.policy_id == policy_id)
            .where(Shift.model_hash == model_hash, Shift.status.in_(("new", "confirmed")))
            .order_by(Shift.shift_date)
        )
    )
    possibles = _stored_possibles(session, actor_id, policy_id, model_hash)
    unmatched = list(stored)
    for shift in detected:
        match = _best_match(shift, unmatched)
        if match is None:
            earlier = _best_match(shift, possibles)
            if earlier is not None:
                # Reported as possible before, confirmed now: the same row, the same date.
                possibles.remove(earlier)
                for name, value in _fields(shift).items():
                    setattr(earlier, name, value)
                earlier.status = "confirmed"
                earlier.last_run_id = earlier.changed_run_id = run_id
                result.new += 1
                result.possible_confirmed += 1
                continue
            session.add(
                Shift(
                    actor_id=actor_id,
                    policy_id=policy_id,
                    model_hash=model_hash,
                    status="new",
                    first_run_id=run_id,
                    last_run_id=run_id,
                    changed_run_id=run_id,
                    **_fields(shift),
                )
            )
            result.new += 1
            continue
        unmatched.remove(match)
        if match.shift_date != shift.shift_date:
            match.previous_shift_date = match.shift_date
            match.changed_run_id = run_id
            result.moved += 1
        for name, value in _fields(shift).items():
            setattr(match, name, value)
        if match.first_run_id != run_id and match.status == "new":
            match.status = "confirmed"
            result.confirmed += 1
        match.last_run_id = run_id
    for gone in unmatched:
        gone.status = "retracted"
        gone.last_run_id = run_id
        gone.changed_run_id = run_id
        result.retracted += 1
    session.flush()
    return result


def _stored_possibles(
    session: Session, actor_id: int, policy_id: int, model_hash: str
) -> list[Shift]:
    return list(
        session.scalars(
            select(Shift)
            .where(Shift.actor_id == actor_id, Shift.policy_id == policy_id)
            .where(Shift.model_hash == model_hash, Shift.status == "possible")
            .order_by(Shift.shift_date)
        )
    )


def reconcile_possible(
    session: Session,
    actor_id: int,
    policy_id: int,
    model_hash: str,
    possible: PossibleShift | None,
    run_id: int | None,
    as_of: date | None,
    result: ReconcileResult,
    back_on: date | None = None,
) -> None:
    """Record this run's possible shift, and close the stored ones it no longer sees.

    A stored possible shift that detection no longer sees (and that `reconcile` did not just
    confirm) is `expired` once its first story is `POSSIBLE_EXPIRY_DAYS` old; else
    `contradicted` when the newest story went back to the current stance on or after its first
    story (`back_on`, from `back_to_current`); else `withdrawn`: nothing newer went back, but the
    thresholds changed or its stories were read again differently.
    """
    stored = _stored_possibles(session, actor_id, policy_id, model_hash)
    match = None
    if possible is not None:
        match = _best_match(possible, stored)
    for row in stored:
        if row is match:
            continue
        age = (as_of - row.shift_date).days if as_of else 0
        if age > POSSIBLE_EXPIRY_DAYS:
            row.status = "expired"
            result.possible_expired += 1
        elif back_on is not None and back_on >= row.shift_date:
            row.status = "contradicted"
            result.possible_contradicted += 1
        else:
            row.status = "withdrawn"
            result.possible_withdrawn += 1
        row.last_run_id = row.changed_run_id = run_id
    if possible is None:
        session.flush()
        return
    fields = _fields(possible)
    if match is not None:
        if as_of and (as_of - possible.shift_date).days > POSSIBLE_EXPIRY_DAYS:
            match.status = "expired"
            match.changed_run_id = run_id
            result.possible_expired += 1
        for name, value in fields.items():
            setattr(match, name, value)
        match.last_run_id = run_id
    elif not (as_of and (as_of - possible.shift_date).days > POSSIBLE_EXPIRY_DAYS):
        session.add(
            Shift(
                actor_id=actor_id,
                policy_id=policy_id,
                model_hash=model_hash,
                status="possible",
                origin="possible",
                first_run_id=run_id,
                last_run_id=run_id,
                changed_run_id=run_id,
                **fields,
            )
        )
        result.possible += 1
    session.flush()


def _best_match(shift: DetectedShift, stored: Sequence[Shift]) -> Shift | None:
    same_kind = [
        s
        for s in stored
        if s.from_label == shift.from_label
        and s.to_label == shift.to_label
        and abs((s.shift_date - shift.shift_date).days) <= MATCH_DAYS
    ]
    return min(same_kind, key=lambda s: abs((s.shift_date - shift.shift_date).days), default=None)


def _fields(shift: DetectedShift) -> dict[str, object]:
    return {name: getattr(shift, name) for name in DetectedShift.__dataclass_fields__}
