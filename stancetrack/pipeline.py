"""The pipeline over the store: sync the watchlist, analyse new work, detect shifts.

Each stage takes a session and returns plain data. Work is incremental: an article is
analysed for a track once per (watchlist fingerprint of that track, model); a changed actor
or policy redoes only its own tracks, and a re-run over unchanged input classifies nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Insert, delete, func, select, update
from sqlalchemy.orm import Session

from stancetrack.aggregate import (
    AggregationRule,
    ArticleStance,
    aggregate_stance,
    article_stage_reads,
    blend_article_reading,
    joined_evidence,
)
from stancetrack.classify import ArticleStage, Classifier, StancePair, StanceProbs
from stancetrack.extract import EXTRACTION_VERSION, Candidate, Extractor
from stancetrack.models import (
    Actor,
    ActorAlias,
    Analysis,
    Article,
    Evidence,
    Policy,
    Run,
    Stance,
    Track,
)
from stancetrack.shifts import (
    ReconcileResult,
    StancePoint,
    back_to_current,
    detect_shifts,
    possible_shift,
    reconcile,
    reconcile_possible,
)
from stancetrack.store import dead_run_ids, serialize
from stancetrack.watchlist import (
    DEFAULT_LANGUAGES,
    ActorSpec,
    PolicySpec,
    Watchlist,
    track_fingerprint,
)

ARTICLE_BATCH = 64  # articles per classify-and-commit batch: bounds memory and lost work


# ---------------------------------------------------------------- watchlist sync


@dataclass
class SyncResult:
    actors_changed: list[str] = field(default_factory=list)
    policies_changed: list[str] = field(default_factory=list)
    tracks_added: int = 0
    tracks_removed: int = 0


def sync_watchlist(session: Session, watchlist: Watchlist) -> SyncResult:
    """Mirror the watchlist into actors, aliases, policies and tracks."""
    serialize(session, "watchlist")  # two first runs must not both insert the same actor
    result = SyncResult()
    actors = {a.key: a for a in session.scalars(select(Actor))}
    for spec in watchlist.actors.values():
        actor = actors.get(spec.key)
        if actor is None:
            actor = Actor(key=spec.key, name=spec.name, fingerprint="")
            session.add(actor)
            actors[spec.key] = actor
        if actor.fingerprint != spec.fingerprint:
            actor.name = spec.name
            actor.fingerprint = spec.fingerprint
            actor.aliases = _alias_rows(spec)
            result.actors_changed.append(spec.key)
    policies = {p.key: p for p in session.scalars(select(Policy))}
    for pspec in watchlist.policies.values():
        policy = policies.get(pspec.key)
        if policy is None:
            policy = Policy(
                key=pspec.key, name=pspec.name, proposition="", keywords="[]", fingerprint=""
            )
            session.add(policy)
            policies[pspec.key] = policy
        policy.name = pspec.name
        if policy.fingerprint != pspec.fingerprint:
            policy.proposition = pspec.proposition
            policy.keywords = json.dumps(list(pspec.keywords))
            policy.fingerprint = pspec.fingerprint
            result.policies_changed.append(pspec.key)
    session.flush()
    wanted = {(t.actor, t.policy): t for t in watchlist.tracks}
    existing = {(t.actor.key, t.policy.key): t for t in session.scalars(select(Track))}
    for key, track in existing.items():
        active = key in wanted
        if track.active and not active:
            result.tracks_removed += 1
        track.active = active
    for key, track_spec in wanted.items():
        row = existing.get(key)
        if row is None:
            row = Track(actor_id=actors[key[0]].id, policy_id=policies[key[1]].id, active=True)
            session.add(row)
            result.tracks_added += 1
        row.min_evidence = track_spec.min_evidence
        row.min_score_change = track_spec.min_score_change
    session.flush()
    return result


def _alias_rows(spec: ActorSpec) -> list[ActorAlias]:
    rows = [ActorAlias(alias=a, kind="alias") for a in spec.aliases]
    rows += [ActorAlias(alias=d, kind="demonym") for d in spec.demonyms]
    for person in spec.spokespeople:
        rows += [
            ActorAlias(
                alias=name,
                kind="spokesperson",
                valid_from=person.valid_from,
                valid_to=person.valid_to,
            )
            for name in person.names()
        ]
    return rows


# ---------------------------------------------------------------- analyse


@dataclass
class AnalyzeResult:
    articles_analysed: int = 0
    evidence: int = 0
    stances: int = 0
    tracks_invalidated: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "articles_analysed": self.articles_analysed,
            "evidence_classified": self.evidence,
            "stances": self.stances,
            "tracks_redone": self.tracks_invalidated,
        }


@dataclass(frozen=True)
class _TrackWork:
    track_id: int
    actor_id: int
    policy_id: int
    fingerprint: str
    actor: ActorSpec
    policy: PolicySpec


def extraction_rules(watchlist: Watchlist) -> str:
    """What decides which sentences are evidence, besides the actor and the policy."""
    return f"extract-v{EXTRACTION_VERSION}:{watchlist.extraction.policy_reach}"


def _active_tracks(session: Session, watchlist: Watchlist) -> list[_TrackWork]:
    work = []
    for track in session.scalars(select(Track).where(Track.active).order_by(Track.id)):
        actor = watchlist.actors[track.actor.key]
        policy = watchlist.policies[track.policy.key]
        work.append(
            _TrackWork(
                track.id,
                track.actor_id,
                track.policy_id,
                track_fingerprint(actor, policy, extraction_rules(watchlist)),
                actor,
                policy,
            )
        )
    return work


def invalidate_changed_tracks(session: Session, tracks: list[_TrackWork], model_hash: str) -> int:
    """Drop evidence and stances made under an older definition of a track's actor or policy."""
    redone = 0
    for work in tracks:
        stale = session.scalar(
            select(Analysis.id)
            .where(
                Analysis.track_id == work.track_id,
                Analysis.model_hash == model_hash,
                Analysis.track_fingerprint != work.fingerprint,
            )
            .limit(1)
        )
        if stale is None:
            continue
        redone += 1
        same_track = (
            (Stance.actor_id == work.actor_id)
            & (Stance.policy_id == work.policy_id)
            & (Stance.model_hash == model_hash)
        )
        session.execute(delete(Stance).where(same_track))
        session.execute(
            delete(Evidence).where(
                Evidence.actor_id == work.actor_id,
                Evidence.policy_id == work.policy_id,
                Evidence.model_hash == model_hash,
            )
        )
        session.execute(
            delete(Analysis).where(
                Analysis.track_id == work.track_id, Analysis.model_hash == model_hash
            )
        )
    session.flush()
    return redone


def pending_work(
    session: Session,
    tracks: list[_TrackWork],
    model_hash: str,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> dict[int, list[_TrackWork]]:
    """Article id -> the tracks it still has to be analysed for.

    Only articles in `languages` (the watchlist's [extraction] languages, English by default):
    the packaged models read English, and an article in another language waits, stored, for
    a run whose watchlist lists its language.
    """
    pending: dict[int, list[_TrackWork]] = defaultdict(list)
    for work in tracks:
        done = select(Analysis.article_id).where(
            Analysis.track_id == work.track_id, Analysis.model_hash == model_hash
        )
        wanted = select(Article.id).where(
            Article.id.not_in(done), Article.language.in_(list(languages))
        )
        for article_id in session.scalars(wanted):
            pending[article_id].append(work)
    return dict(sorted(pending.items()))


def count_pending(session: Session, watchlist: Watchlist, model_hash: str) -> int:
    tracks = _active_tracks(session, watchlist)
    languages = watchlist.extraction.languages
    return sum(len(v) for v in pending_work(session, tracks, model_hash, languages).values())


def release_dead_claims(session: Session, model_hash: str) -> int:
    """Work claimed by runs that ended (failed, killed, crashed) becomes pending again."""
    dead = dead_run_ids(session)
    ended = select(Run.id).where(Run.status != "running")
    released = session.execute(
        delete(Analysis).where(
            Analysis.status == "claimed",
            Analysis.model_hash == model_hash,
            Analysis.run_id.in_(dead) | Analysis.run_id.in_(ended) | Analysis.run_id.is_(None),
        )
    )
    return int(getattr(released, "rowcount", 0) or 0)


def _insert_ignoring_conflicts(session: Session) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(Analysis).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(Analysis).on_conflict_do_nothing()


def claim_work(
    session: Session,
    work: dict[int, list[_TrackWork]],
    model_hash: str,
    run_id: int | None,
) -> dict[int, list[_TrackWork]]:
    """Claim (article, track) pairs for this run; returns those no other run got first.

    The claim is a row in `analyses` with status "claimed", inserted with ON CONFLICT DO
    NOTHING: of two runs that reach the same article, exactly one inserts it, on SQLite and on
    PostgreSQL alike, so overlapping runs and parallel `analyze` processes share the work.
    """
    rows: list[dict[str, object]] = [
        {
            "article_id": article_id,
            "track_id": w.track_id,
            "track_fingerprint": w.fingerprint,
            "model_hash": model_hash,
            "run_id": run_id,
            "status": "claimed",
        }
        for article_id, works in work.items()
        for w in works
    ]
    if not rows:
        return {}
    # One statement executed for many rows: compiled once, batched by the driver.
    statement = _insert_ignoring_conflicts(session).returning(
        Analysis.article_id, Analysis.track_id
    )
    won = {(a, t) for a, t in session.execute(statement, rows)}
    claimed: dict[int, list[_TrackWork]] = {}
    for article_id, works in work.items():
        mine = [w for w in works if (article_id, w.track_id) in won]
        if mine:
            claimed[article_id] = mine
    return claimed


def _still_claimed(
    session: Session, claimed: dict[int, list[_TrackWork]], model_hash: str, run_id: int | None
) -> set[tuple[int, int]]:
    """The claims this run still holds (a run taken for dead may have lost them)."""
    rows = session.execute(
        select(Analysis.article_id, Analysis.track_id).where(
            Analysis.article_id.in_(list(claimed)),
            Analysis.model_hash == model_hash,
            Analysis.status == "claimed",
            Analysis.run_id.is_(None) if run_id is None else Analysis.run_id == run_id,
        )
    )
    return {(a, t) for a, t in rows}


def analyze(
    session: Session,
    watchlist: Watchlist,
    model_name: str,
    model_hash: str,
    load_classifier: Callable[[], Classifier],
    *,
    run_id: int | None = None,
    aggregation: str = "weighted",
    progress: Callable[[int, int], None] | None = None,
    on_batch: Callable[[], None] | None = None,
) -> AnalyzeResult:
    """Extract, classify and aggregate everything not yet done for the current model.

    `load_classifier` is called only if some article has candidate evidence, so a re-run over
    unchanged input never loads torch. Work goes in batches: claim a batch (one short write
    transaction), extract and classify it with no transaction open, then store its evidence
    and stances (another short one). An interruption loses at most the batch in hand; its
    claims are released when a later run finds this one dead.
    """
    result = AnalyzeResult()
    tracks = _active_tracks(session, watchlist)
    serialize(session, "invalidate")
    result.tracks_invalidated = invalidate_changed_tracks(session, tracks, model_hash)
    release_dead_claims(session, model_hash)
    pending = pending_work(session, tracks, model_hash, watchlist.extraction.languages)
    session.commit()
    extractor = Extractor([(w.actor, w.policy) for w in tracks], watchlist.extraction.policy_reach)
    classifier: Classifier | None = None
    article_ids = list(pending)
    for start in range(0, len(article_ids), ARTICLE_BATCH):
        batch_ids = article_ids[start : start + ARTICLE_BATCH]
        claimed = claim_work(session, {a: pending[a] for a in batch_ids}, model_hash, run_id)
        articles = {
            a.id: a for a in session.scalars(select(Article).where(Article.id.in_(list(claimed))))
        }
        session.commit()  # the claim is made; classify with no transaction (and no lock) held
        found: list[tuple[Article, _TrackWork, Candidate]] = []
        for article_id, works in claimed.items():
            article = articles[article_id]
            by_key = {(w.actor.key, w.policy.key): w for w in works}
            for candidate in extractor.candidates(
                article.text, article.published_at, article.title, by_key
            ):
                found.append((article, by_key[(candidate.actor, candidate.policy)], candidate))
        if found and classifier is None:
            classifier = load_classifier()
        probs = (
            classifier.predict(
                [
                    StancePair(w.actor.name, w.policy.proposition, c.sentence, c.matched_alias)
                    for _, w, c in found
                ]
            )
            if found and classifier is not None
            else []
        )
        # Stances too, with the article stage's reading where it has one, are made before the
        # store transaction: no lock is held while a model runs.
        stances = _article_stances(found, probs, classifier, aggregation)
        if claimed:
            ours = _still_claimed(session, claimed, model_hash, run_id)
            kept = [
                (item, p)
                for item, p in zip(found, probs, strict=True)
                if (item[0].id, item[1].track_id) in ours
            ]
            _store_batch(
                session,
                [item for item, _ in kept],
                [p for _, p in kept],
                model_name,
                model_hash,
                run_id,
                result,
                stances,
            )
            session.execute(
                update(Analysis)
                .where(
                    Analysis.article_id.in_(list(claimed)),
                    Analysis.model_hash == model_hash,
                    Analysis.status == "claimed",
                    Analysis.run_id.is_(None) if run_id is None else Analysis.run_id == run_id,
                )
                .values(status="done")
            )
            result.articles_analysed += len({a for a, _ in ours})
        if on_batch:
            on_batch()
        session.commit()
        if progress:
            progress(min(start + ARTICLE_BATCH, len(article_ids)), len(article_ids))
    return result


def _store_batch(
    session: Session,
    found: list[tuple[Article, _TrackWork, Candidate]],
    probs: list[StanceProbs],
    model_name: str,
    model_hash: str,
    run_id: int | None,
    result: AnalyzeResult,
    stances: dict[tuple[int, int], ArticleStance],
) -> None:
    """Write the evidence of our claimed pairs and their stances (from _article_stances, whose
    key_index counts the same evidence in the same order)."""
    grouped: dict[tuple[int, int], list[Evidence]] = defaultdict(list)
    for (article, work, candidate), p in zip(found, probs, strict=True):
        evidence = Evidence(
            article_id=article.id,
            actor_id=work.actor_id,
            policy_id=work.policy_id,
            sentence=candidate.sentence,
            char_start=candidate.char_start,
            char_end=candidate.char_end,
            context_before=candidate.context_before,
            context_after=candidate.context_after,
            matched_alias=candidate.matched_alias[:300],
            paragraph=candidate.paragraph,
            actor_match=candidate.actor_match,
            policy_match=candidate.policy_match,
            p_support=round(p.support, 5),
            p_oppose=round(p.oppose, 5),
            p_neutral=round(p.neutral, 5),
            p_no_stance=None if p.no_stance is None else round(p.no_stance, 5),
            model_name=model_name,
            model_hash=model_hash,
            run_id=run_id,
        )
        session.add(evidence)
        grouped[(article.id, work.track_id)].append(evidence)
        result.evidence += 1
    session.flush()
    tracks = {w.track_id: w for _, w, _ in found}
    for (article_id, track_id), items in grouped.items():
        work = tracks[track_id]
        stance = stances[(article_id, track_id)]
        session.add(
            Stance(
                article_id=article_id,
                actor_id=work.actor_id,
                policy_id=work.policy_id,
                label=stance.label,
                score=stance.score,
                confidence=stance.confidence,
                evidence_count=stance.evidence_count,
                no_stance=stance.no_stance,
                key_evidence_id=items[stance.key_index].id,
                model_name=model_name,
                model_hash=model_hash,
                run_id=run_id,
            )
        )
        result.stances += 1


def _article_stances(
    found: list[tuple[Article, _TrackWork, Candidate]],
    probs: list[StanceProbs],
    classifier: Classifier | None,
    aggregation: str,
) -> dict[tuple[int, int], ArticleStance]:
    """One stance per (article, track): the rule over its sentences and, where the model has an
    article stage and its gate picks the pair, that stage's reading of them joined, blended in."""
    rule = AggregationRule(**getattr(classifier, "aggregation", {}) or {})
    grouped: dict[tuple[int, int], list[tuple[_TrackWork, Candidate, StanceProbs]]]
    grouped = defaultdict(list)
    for (article, work, candidate), p in zip(found, probs, strict=True):
        grouped[(article.id, work.track_id)].append((work, candidate, p))
    stances = {
        key: aggregate_stance(
            [p for _, _, p in items],
            aggregation,
            rule=rule,
            sentences=[c.sentence for _, c, _ in items],
            paragraphs=[c.paragraph for _, c, _ in items],
            policy_matches=[c.policy_match for _, c, _ in items],
        )
        for key, items in grouped.items()
    }
    stage: ArticleStage | None = getattr(classifier, "article_stage", None)
    read_articles = getattr(classifier, "predict_articles", None)
    if stage is None or read_articles is None:
        return stances
    picked = [
        key
        for key, items in grouped.items()
        if article_stage_reads(
            stances[key], [p for _, _, p in items], [c.sentence for _, c, _ in items], stage.gate
        )
    ]
    pairs = []
    for key in picked:
        work, first, _ = grouped[key][0]
        joined = joined_evidence([c.sentence for _, c, _ in grouped[key]])
        mention = first.matched_alias
        pairs.append(StancePair(work.actor.name, work.policy.proposition, joined, mention))
    readings = read_articles(pairs) if pairs else []
    for key, reading in zip(picked, readings, strict=True):
        evidence = [p for _, _, p in grouped[key]]
        stances[key] = blend_article_reading(stances[key], evidence, reading, stage.weight)
    return stances


# ---------------------------------------------------------------- detect


@dataclass
class DetectResult:
    tracks: int = 0
    shifts: int = 0
    changes: ReconcileResult = field(default_factory=ReconcileResult)

    def counts(self) -> dict[str, int]:
        return {
            "shifts_current": self.shifts,
            "shifts_new": self.changes.new,
            "shifts_confirmed": self.changes.confirmed,
            "shifts_moved": self.changes.moved,
            "shifts_retracted": self.changes.retracted,
            "possible_shifts_new": self.changes.possible,
            "possible_shifts_confirmed": self.changes.possible_confirmed,
            "possible_shifts_contradicted": self.changes.possible_contradicted,
            "possible_shifts_expired": self.changes.possible_expired,
            "possible_shifts_withdrawn": self.changes.possible_withdrawn,
        }


def track_points(
    session: Session,
    actor_id: int,
    policy_id: int,
    model_hash: str,
    until: date | None = None,
) -> list[StancePoint]:
    """The article stances of one track, oldest first."""
    query = (
        select(Stance, Article)
        .join(Article, Article.id == Stance.article_id)
        .where(
            Stance.actor_id == actor_id,
            Stance.policy_id == policy_id,
            Stance.model_hash == model_hash,
        )
        .order_by(Article.published_at, Article.id)
    )
    if until is not None:
        query = query.where(Article.published_at <= until)
    return [
        StancePoint(
            article_id=article.id,
            published_at=article.published_at,
            label=stance.label,
            score=stance.score,
            confidence=stance.confidence,
            source=article.source,
            cluster_id=article.duplicate_of,
            no_stance=stance.no_stance,
            key_evidence_id=stance.key_evidence_id,
        )
        for stance, article in session.execute(query)
    ]


def detect(
    session: Session,
    watchlist: Watchlist,
    model_hash: str,
    *,
    run_id: int | None = None,
    min_evidence: int | None = None,
    min_score_change: float | None = None,
) -> DetectResult:
    """Detect shifts on every active track and reconcile them with the `shifts` table.

    Thresholds: the flag if given, else the track's own, else the watchlist's [detection].
    """
    result = DetectResult()
    track_ids = list(session.scalars(select(Track.id).where(Track.active).order_by(Track.id)))
    # Dates are as of the newest article, not the wall clock: replaying old news ages the same.
    as_of = session.scalar(select(func.max(Article.published_at)))
    session.commit()
    for track_id in track_ids:
        # One short transaction per track; PostgreSQL writers take turns per track, so two
        # overlapping runs never both record the same new shift.
        serialize(session, f"detect:{track_id}")
        track = session.get(Track, track_id, populate_existing=True)
        if track is None or not track.active:
            continue
        evidence_needed, change_needed = thresholds_for(
            track, watchlist, min_evidence, min_score_change
        )
        points = track_points(session, track.actor_id, track.policy_id, model_hash)
        segments, shifts = detect_shifts(
            points, min_evidence=evidence_needed, min_score_change=change_needed
        )
        changes = reconcile(session, track.actor_id, track.policy_id, model_hash, shifts, run_id)
        possible = possible_shift(
            points,
            segments,
            min_evidence=evidence_needed,
            min_score_change=change_needed,
            min_confidence=watchlist.detection.possible_min_confidence,
        )
        reconcile_possible(
            session,
            track.actor_id,
            track.policy_id,
            model_hash,
            possible,
            run_id,
            as_of,
            changes,
            back_on=back_to_current(points, segments),
        )
        result.tracks += 1
        result.shifts += len(shifts)
        for name in ReconcileResult.__dataclass_fields__:
            setattr(result.changes, name, getattr(result.changes, name) + getattr(changes, name))
        session.commit()
    return result


def thresholds_for(
    track: Track, watchlist: Watchlist, min_evidence: int | None, min_score_change: float | None
) -> tuple[int, float]:
    evidence_needed = min_evidence or track.min_evidence or watchlist.detection.min_evidence
    change_needed = (
        min_score_change
        if min_score_change is not None
        else track.min_score_change
        if track.min_score_change is not None
        else watchlist.detection.min_score_change
    )
    return evidence_needed, change_needed
