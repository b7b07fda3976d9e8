from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from stancetrack import store
from stancetrack.models import Actor, Policy, Run, Shift
from stancetrack.shifts import StancePoint, detect_shifts, reconcile

SCORES = {"support": 0.8, "oppose": -0.8, "neutral": 0.0}


def series(
    labels: str, start: date = date(2023, 1, 1), step_days: int = 7, evidence: bool = True
) -> list[StancePoint]:
    """Points from a compact string: S = support, O = oppose, N = neutral."""
    names = {"S": "support", "O": "oppose", "N": "neutral"}
    return [
        StancePoint(
            article_id=i + 1,
            published_at=start + timedelta(days=step_days * i),
            label=names[c],
            score=SCORES[names[c]],
            confidence=0.8,
            source=f"outlet {i}",
            key_evidence_id=100 + i if evidence else None,
        )
        for i, c in enumerate(labels)
    ]


def kinds(points: list[StancePoint], **kw) -> list[tuple[str, str]]:
    return [(s.from_label, s.to_label) for s in detect_shifts(points, **kw)[1]]


def test_clean_reversal() -> None:
    points = series("OOOOSSSS")
    _, shifts = detect_shifts(points)
    [shift] = shifts
    assert (shift.from_label, shift.to_label) == ("oppose", "support")
    assert shift.shift_date == points[4].published_at
    assert (shift.window_start, shift.window_end) == (
        points[3].published_at,
        points[4].published_at,
    )
    assert shift.evidence_before_id == 103 and shift.evidence_after_id == 104
    assert (shift.articles_before, shift.articles_after) == (4, 4)
    assert (shift.sources_before, shift.sources_after) == (4, 4)
    assert 0.4 < shift.strength <= 1


def test_single_outlier_is_not_a_shift() -> None:
    assert kinds(series("OOOSOOO")) == []
    assert kinds(series("OOOOOOS")) == []  # a lone latest article waits for confirmation


def test_a_lone_latest_article_does_not_dissolve_an_earlier_shift() -> None:
    # Without the wait, the last oppose story would fold into the neutral segment, pull its
    # mean towards oppose and merge it back: the real oppose -> neutral move would vanish.
    points = series("OOOONNNO")
    points[4] = StancePoint(**{**points[4].__dict__, "score": -0.25})
    assert kinds(points) == [("oppose", "neutral")]
    segments, _ = detect_shifts(points)
    assert segments[-1].end == points[6].published_at  # the newest story is not in a segment


def test_gradual_drift_steps_through_neutral() -> None:
    labels = "OOONNNSSS"
    points = [
        StancePoint(
            i + 1, date(2023, 1, 1) + timedelta(days=30 * i), label, -0.8 + 0.2 * i, 0.7, f"o{i}"
        )
        for i, label in enumerate(["oppose"] * 3 + ["neutral"] * 3 + ["support"] * 3)
    ]
    assert len(labels) == len(points)
    assert kinds(points) == [("oppose", "neutral"), ("neutral", "support")]


def test_reversal_and_return() -> None:
    assert kinds(series("OOONNNOOO")) == [("oppose", "neutral"), ("neutral", "oppose")]


def test_two_outlets_copying_one_story_count_once() -> None:
    points = series("OOOS") + [
        StancePoint(99, date(2023, 1, 22), "support", 0.8, 0.8, "copy outlet", cluster_id=4)
    ]
    # Two copies of one wire story are one story: still not enough for a shift.
    assert kinds(points) == []
    more = points + series("S", start=date(2023, 3, 1))[:1]
    more[-1] = StancePoint(50, date(2023, 3, 1), "support", 0.8, 0.8, "outlet x")
    [shift] = detect_shifts(more)[1]
    assert shift.articles_after == 3 and shift.sources_after == 3


def test_sparse_monthly_data() -> None:
    assert kinds(series("OOSS", step_days=31)) == [("oppose", "support")]


def test_ties_and_equal_dates_are_deterministic() -> None:
    same_day = [
        StancePoint(i, date(2023, 5, 1), label, SCORES[label], 0.8, f"o{i}")
        for i, label in enumerate(["oppose", "support", "oppose", "support"], start=1)
    ]
    first = detect_shifts(same_day)
    assert first == detect_shifts(list(reversed(same_day)))


def test_small_score_change_is_not_a_shift() -> None:
    points = [
        StancePoint(i, date(2023, 1, i), label, score, 0.6, f"o{i}")
        for i, (label, score) in enumerate(
            [("oppose", -0.30), ("oppose", -0.32), ("neutral", -0.15), ("neutral", -0.12)], 1
        )
    ]
    assert kinds(points) == []
    assert kinds(points, min_score_change=0.1) == [("oppose", "neutral")]


def test_reconcile_new_confirmed_moved_retracted(tmp_path: Path) -> None:
    engine = store.open_engine(str(tmp_path / "t.db"))
    with store.session_scope(engine) as session:
        actor = Actor(key="a", name="A", fingerprint="x")
        policy = Policy(key="p", name="P", proposition="do", keywords="[]", fingerprint="y")
        session.add_all([actor, policy])
        runs = [store.start_run(session, f"run {i}") for i in range(4)]
        ids = [r.id for r in runs]
        _, shifts = detect_shifts(series("OOOSSS", evidence=False))
        first = reconcile(session, actor.id, policy.id, "m", shifts, ids[0])
        assert (first.new, first.confirmed) == (1, 0)
        again = reconcile(session, actor.id, policy.id, "m", shifts, ids[1])
        assert (again.new, again.confirmed, again.moved) == (0, 1, 0)
        _, later = detect_shifts(series("OOOOSSS", evidence=False))
        moved = reconcile(session, actor.id, policy.id, "m", later, ids[2])
        assert moved.moved == 1
        gone = reconcile(session, actor.id, policy.id, "m", [], ids[3])
        assert gone.retracted == 1
        [row] = session.scalars(select(Shift))
        assert row.status == "retracted" and row.first_run_id == ids[0]
        assert row.previous_shift_date is not None and row.changed_run_id == ids[3]
        assert session.get(Run, ids[0]) is not None


def test_articles_without_a_position_do_not_make_a_segment() -> None:
    points = series("OOOO")
    quiet = [
        StancePoint(
            20 + i,
            date(2023, 3, 1) + timedelta(days=7 * i),
            "neutral",
            0.0,
            0.9,
            f"q{i}",
            no_stance=0.9,
        )
        for i in range(3)
    ]
    assert kinds(points + quiet + series("OO", start=date(2023, 5, 1))) == []
    undecided = [
        StancePoint(p.article_id, p.published_at, "neutral", 0.0, 0.9, p.source, no_stance=0.1)
        for p in quiet
    ]
    assert kinds(points + undecided) == [("oppose", "neutral")]


def test_low_confidence_stories_do_not_define_segments() -> None:
    unsure = [
        StancePoint(30 + i, date(2023, 3, 1) + timedelta(days=7 * i), "support", 0.2, 0.55, f"u{i}")
        for i in range(3)
    ]
    assert kinds(series("OOOO") + unsure) == []


def test_a_segment_of_disagreeing_stories_is_labelled_by_its_mean_score() -> None:
    from stancetrack.shifts import Segment, Story

    def story(label: str, score: float) -> Story:
        point = StancePoint(1, date(2023, 1, 1), label, score, 0.9, "x")
        return Story((point,), label, score, 0.9)

    assert Segment([story("support", 0.9), story("oppose", -0.7)]).label == "neutral"
    assert Segment([story("support", 0.9), story("support", 0.5)]).label == "support"


# ---------------------------------------------------------------- possible shifts (#14)


def later_story(points: list[StancePoint], label: str, days: int) -> list[StancePoint]:
    """One more story, `days` after the last, from a new article and outlet."""
    extra = series(label, start=points[-1].published_at + timedelta(days=days), evidence=False)[0]
    return [
        *points,
        StancePoint(**{**extra.__dict__, "article_id": 900 + len(points), "source": "late"}),
    ]


def sure(points: list[StancePoint], index: int, confidence: float) -> list[StancePoint]:
    points[index] = StancePoint(**{**points[index].__dict__, "confidence": confidence})
    return points


def test_a_sure_lone_latest_story_is_a_possible_shift() -> None:
    from stancetrack.shifts import POSSIBLE_MIN_CONFIDENCE, possible_shift

    points = sure(series("OOOOS"), 4, 0.9)
    segments, shifts = detect_shifts(points)
    assert shifts == []
    found = possible_shift(points, segments)
    assert found is not None
    assert (found.from_label, found.to_label) == ("oppose", "support")
    assert found.shift_date == points[4].published_at and found.articles_after == 1
    assert found.evidence_after_id == 104 and found.evidence_before_id == 103
    unsure = sure(series("OOOOS"), 4, POSSIBLE_MIN_CONFIDENCE - 0.05)
    assert possible_shift(unsure, detect_shifts(unsure)[0]) is None
    back = sure(series("OOOOSO"), 4, 0.9)  # the newest story agrees with the stance again
    assert possible_shift(back, detect_shifts(back)[0]) is None
    two = series("OOOOSS")  # enough stories: a shift, not a possible one
    segments, shifts = detect_shifts(two)
    assert len(shifts) == 1 and possible_shift(two, segments) is None


def _track(session) -> tuple[int, int]:
    actor = Actor(key="a", name="A", fingerprint="")
    policy = Policy(key="p", name="P", proposition="x", keywords="[]", fingerprint="")
    session.add_all([actor, policy])
    session.flush()
    return actor.id, policy.id


def _runs(session, count: int) -> list[int]:
    """Ids of `count` finished runs, for reconciling as successive runs."""
    runs = [Run(started_at=store.utcnow(), command="t", status="ok") for _ in range(count)]
    session.add_all(runs)
    session.flush()
    return [run.id for run in runs]


def test_possible_shifts_are_confirmed_contradicted_withdrawn_or_expire(tmp_path: Path) -> None:
    """Confirmed: the same row becomes the shift, keeping its date. Contradicted: a newer story
    returns to the stance. Withdrawn: no story went back, but a raised confidence floor no
    longer sees it. Expired: nothing confirms it for POSSIBLE_EXPIRY_DAYS."""
    from stancetrack.shifts import (
        POSSIBLE_EXPIRY_DAYS,
        ReconcileResult,
        back_to_current,
        possible_shift,
        reconcile_possible,
    )

    def step(session, ids, points, run, as_of=None, floor=None) -> ReconcileResult:
        segments, shifts = detect_shifts(points)
        result = reconcile(session, *ids, "h", shifts, run)
        found = possible_shift(points, segments, min_confidence=floor)
        as_of = as_of or points[-1].published_at
        back_on = back_to_current(points, segments)
        reconcile_possible(session, *ids, "h", found, run, as_of, result, back_on=back_on)
        return result

    engine = store.open_engine(str(tmp_path / "p.db"))
    with store.session_scope(engine) as session:
        runs = _runs(session, 6)
        ids = _track(session)
        first = sure(series("OOOOS", evidence=False), 4, 0.9)
        assert step(session, ids, first, runs[0]).possible == 1
        [row] = session.scalars(select(Shift)).all()
        assert (row.status, row.origin, row.shift_date) == (
            "possible",
            "possible",
            first[4].published_at,
        )
        confirmed = step(
            session,
            ids,
            later_story(first, "S", 2),
            runs[1],
        )
        assert (confirmed.new, confirmed.possible_confirmed) == (1, 1)
        [row] = session.scalars(select(Shift)).all()
        assert (row.status, row.origin, row.shift_date) == (
            "confirmed",
            "possible",
            first[4].published_at,
        )

    engine = store.open_engine(str(tmp_path / "q.db"))
    with store.session_scope(engine) as session:
        run_ids = _runs(session, 3)
        ids = _track(session)
        points = sure(series("OOOOS", evidence=False), 4, 0.9)
        step(session, ids, points, run_ids[0])
        back = later_story(points, "O", 3)
        assert step(session, ids, back, run_ids[1]).possible_contradicted == 1
        assert session.scalars(select(Shift.status)).all() == ["contradicted"]
        later = sure(series("OOOOS", start=date(2024, 1, 1), evidence=False), 4, 0.9)
        step(session, ids, later, run_ids[2])
        expired = step(
            session,
            ids,
            later,
            run_ids[2],
            as_of=later[4].published_at + timedelta(days=POSSIBLE_EXPIRY_DAYS + 1),
        )
        assert expired.possible_expired == 1

    engine = store.open_engine(str(tmp_path / "w.db"))
    with store.session_scope(engine) as session:
        run_ids = _runs(session, 2)
        ids = _track(session)
        points = sure(series("OOOOS", evidence=False), 4, 0.9)
        assert step(session, ids, points, run_ids[0]).possible == 1
        # The same stories, with the watchlist's possible_min_confidence raised above 0.9.
        raised = step(session, ids, points, run_ids[1], floor=0.95)
        assert (raised.possible_withdrawn, raised.possible_contradicted) == (1, 0)
        assert session.scalars(select(Shift.status)).all() == ["withdrawn"]
