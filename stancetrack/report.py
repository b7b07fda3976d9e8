"""The change report: what moved, with the sentences that prove it.

`build_report` reads the store into a plain dictionary (the JSON schema, versioned as
`stancetrack.report/1`); the renderers turn it into Markdown, CSV or a rich terminal view.
Dates in the report are "as of" the newest article in the database, not the wall clock, so a
report over the same data reads the same tomorrow.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from stancetrack.errors import NotFoundError
from stancetrack.models import (
    Actor,
    Article,
    Evidence,
    Policy,
    RejectedInput,
    Run,
    Shift,
    Stance,
    Track,
)
from stancetrack.pipeline import thresholds_for, track_points
from stancetrack.shifts import detect_shifts
from stancetrack.store import latest_model_run
from stancetrack.watchlist import DetectionSettings, Watchlist

SCHEMA = "stancetrack.report/1"
LOW_CONFIDENCE = 0.55
TREND_STEP = 0.2
# "Since the previous run": a title and the changes_since_previous_run key, in report order.
CHANGE_KINDS = (
    ("New", "new"),
    ("Confirmed", "confirmed"),
    ("Moved", "moved"),
    ("Retracted", "retracted"),
    ("Possible", "possible_new"),
    ("Possible shift contradicted", "possible_contradicted"),
    ("Possible shift expired", "possible_expired"),
    ("Possible shift withdrawn", "possible_withdrawn"),
)


@dataclass(frozen=True)
class ReportFilter:
    since: date | None = None
    last_run: bool = False
    actor: str | None = None
    policy: str | None = None


def build_report(
    session: Session,
    watchlist: Watchlist | None = None,
    report_filter: ReportFilter | None = None,
    run_id: int | None = None,
    changes_after_run: int | None = None,
) -> dict[str, Any]:
    """The report for the latest run with a model (or `run_id`) as a JSON-ready dict.

    "Changes" are the shifts that runs after `changes_after_run` (default: the run before the
    reported one) made new, moved or retracted; a scheduled run passes the last run whose
    report it delivered, so changes in an undelivered report are reported again.
    """
    flt = report_filter or ReportFilter()
    run = _pick_run(session, run_id)
    after = changes_after_run if changes_after_run is not None else (run.id - 1 if run else 0)
    model_hash = run.model_hash if run else None
    detection = watchlist.detection if watchlist else DetectionSettings()
    as_of = session.scalar(select(func.max(Article.published_at)))
    tracks = _tracks(session, flt)
    shifts = _shifts(session, model_hash, tracks, flt, run, after) if model_hash else []
    possible = (
        _possible_shifts(session, model_hash, tracks, run, after, detection.min_evidence)
        if model_hash
        else []
    )
    matrix = (
        [_track_status(session, track, model_hash, watchlist, as_of) for track in tracks]
        if model_hash
        else []
    )
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "as_of": _iso(as_of),
        "window": {"since": _iso(flt.since), "until": _iso(as_of), "last_run_only": flt.last_run},
        "run": _run_dict(run),
        "model": {"name": run.model_name if run else None, "hash": model_hash},
        "thresholds": {
            "min_evidence": detection.min_evidence,
            "min_score_change": detection.min_score_change,
        },
        "counts": _counts(session, run, model_hash),
        "possible_shifts": possible,
        "headlines": [_headline(s) for s in shifts if s["status"] != "retracted"],
        "changes_since_previous_run": _changes(shifts, run, after, possible),
        "shifts": shifts,
        "tracks": matrix,
        "data_quality": _quality(session, run, model_hash, tracks, flt),
    }
    return report


def _pick_run(session: Session, run_id: int | None) -> Run | None:
    if run_id is not None:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"no run with id {run_id}")
        return run
    return latest_model_run(session)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _run_dict(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "command": run.command,
        "status": run.status,
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
    }


def _tracks(session: Session, flt: ReportFilter) -> list[Track]:
    tracks = list(session.scalars(select(Track).where(Track.active).order_by(Track.id)))
    if flt.actor:
        tracks = [t for t in tracks if flt.actor in (t.actor.key, t.actor.name)]
        if not tracks:
            raise NotFoundError(f"no tracked actor '{flt.actor}'")
    if flt.policy:
        tracks = [t for t in tracks if flt.policy in (t.policy.key, t.policy.name)]
        if not tracks:
            raise NotFoundError(f"no tracked policy '{flt.policy}'")
    return tracks


def _evidence_dict(session: Session, evidence_id: int | None) -> dict[str, Any] | None:
    if evidence_id is None:
        return None
    row = session.execute(
        select(Evidence, Article)
        .join(Article, Article.id == Evidence.article_id)
        .where(Evidence.id == evidence_id)
    ).first()
    if row is None:
        return None
    evidence, article = row
    return {
        "sentence": evidence.sentence,
        "date": article.published_at.isoformat(),
        "source": article.source,
        "title": article.title,
        "url": article.url,
        "p_support": evidence.p_support,
        "p_oppose": evidence.p_oppose,
        "p_neutral": evidence.p_neutral,
    }


def _shifts(
    session: Session,
    model_hash: str,
    tracks: list[Track],
    flt: ReportFilter,
    run: Run | None,
    after: int,
) -> list[dict[str, Any]]:
    pairs = {(t.actor_id, t.policy_id) for t in tracks}
    query = select(Shift).where(Shift.model_hash == model_hash).order_by(Shift.shift_date, Shift.id)
    if run is not None:
        # Retracted shifts appear only in the reports that cover the run that retracted them.
        query = query.where(
            or_(
                Shift.status.in_(("new", "confirmed")),
                (Shift.status == "retracted") & Shift.changed_run_id.between(after + 1, run.id),
            )
        )
    else:
        query = query.where(Shift.status.in_(("new", "confirmed")))
    if flt.since:
        query = query.where(Shift.shift_date >= flt.since)
    if flt.last_run and run is not None:
        query = query.where(or_(Shift.first_run_id == run.id, Shift.changed_run_id == run.id))
    actors = {a.id: a for a in session.scalars(select(Actor))}
    policies = {p.id: p for p in session.scalars(select(Policy))}
    shifts = []
    for shift in session.scalars(query):
        if (shift.actor_id, shift.policy_id) not in pairs:
            continue
        change = None
        if run is not None:
            covered = range(after + 1, run.id + 1)
            if shift.status == "retracted":
                change = "retracted"
            elif shift.first_run_id in covered and shift.origin != "possible":
                change = "new"
            elif shift.origin == "possible" and shift.changed_run_id in covered:
                change = "confirmed"  # reported as possible earlier, confirmed now
            elif shift.changed_run_id in covered and shift.previous_shift_date:
                change = "moved"
        shifts.append(
            {
                "actor": actors[shift.actor_id].key,
                "actor_name": actors[shift.actor_id].name,
                "policy": policies[shift.policy_id].key,
                "policy_name": policies[shift.policy_id].name,
                "from_label": shift.from_label,
                "from_score": shift.from_score,
                "to_label": shift.to_label,
                "to_score": shift.to_score,
                "shift_date": shift.shift_date.isoformat(),
                "window": [shift.window_start.isoformat(), shift.window_end.isoformat()],
                "strength": shift.strength,
                "status": shift.status,
                "change_in_run": change,
                "previous_shift_date": _iso(shift.previous_shift_date),
                "first_reported_as_possible": shift.origin == "possible",
                "articles_before": shift.articles_before,
                "articles_after": shift.articles_after,
                "sources_before": shift.sources_before,
                "sources_after": shift.sources_after,
                "evidence_before": _evidence_dict(session, shift.evidence_before_id),
                "evidence_after": _evidence_dict(session, shift.evidence_after_id),
            }
        )
    return shifts


def _headline(shift: dict[str, Any]) -> str:
    sources = shift["sources_after"]
    return (
        f"{shift['actor_name']} - {shift['policy_name']}: {shift['from_label']} -> "
        f"{shift['to_label']} ({shift['shift_date']}, {sources} source{'s' * (sources != 1)})"
    )


def _possible_shifts(
    session: Session,
    model_hash: str,
    tracks: list[Track],
    run: Run | None,
    after: int,
    min_evidence: int,
) -> list[dict[str, Any]]:
    """Open possible shifts, and those the reported runs contradicted, let expire or withdrew."""
    from stancetrack.shifts import POSSIBLE_EXPIRY_DAYS

    pairs = {(t.actor_id, t.policy_id): t for t in tracks}
    covered = range(after + 1, run.id + 1) if run is not None else range(0)
    query = (
        select(Shift)
        .where(Shift.model_hash == model_hash)
        .where(Shift.status.in_(("possible", "contradicted", "expired", "withdrawn")))
        .order_by(Shift.shift_date, Shift.id)
    )
    found = []
    for shift in session.scalars(query):
        track = pairs.get((shift.actor_id, shift.policy_id))
        if track is None:
            continue
        if shift.status != "possible" and shift.changed_run_id not in covered:
            continue  # closed in an earlier, already reported run
        change = None
        if shift.status == "possible" and shift.first_run_id in covered:
            change = "new"
        elif shift.status in ("contradicted", "expired", "withdrawn"):
            change = shift.status
        expires = shift.shift_date.toordinal() + POSSIBLE_EXPIRY_DAYS
        found.append(
            {
                "actor": track.actor.key,
                "actor_name": track.actor.name,
                "policy": track.policy.key,
                "policy_name": track.policy.name,
                "from_label": shift.from_label,
                "from_score": shift.from_score,
                "to_label": shift.to_label,
                "to_score": shift.to_score,
                "first_story_date": shift.shift_date.isoformat(),
                "status": shift.status,
                "change_in_run": change,
                "strength": shift.strength,
                "articles_after": shift.articles_after,
                "sources_after": shift.sources_after,
                "expires": date.fromordinal(expires).isoformat(),
                "confirmed_by": _confirmation(shift, track.min_evidence or min_evidence),
                "evidence_before": _evidence_dict(session, shift.evidence_before_id),
                "evidence_after": _evidence_dict(session, shift.evidence_after_id),
            }
        )
    return found


def _confirmation(shift: Shift, min_evidence: int) -> str:
    missing = max(1, min_evidence - shift.articles_after)
    stories = "story" if missing == 1 else "stories"
    return f"{missing} more independent {stories} reporting {shift.to_label}"


def _possible_headline(shift: dict[str, Any]) -> str:
    sources = shift["sources_after"]
    return (
        f"{shift['actor_name']} - {shift['policy_name']}: {shift['from_label']} -> "
        f"{shift['to_label']}? (first story {shift['first_story_date']}, {sources} "
        f"source{'s' * (sources != 1)})"
    )


def _changes(
    shifts: list[dict[str, Any]],
    run: Run | None,
    after: int,
    possible: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    possible = possible or []
    return {
        "run_id": run.id if run else None,
        "after_run_id": after,
        "new": [_headline(s) for s in shifts if s["change_in_run"] == "new"],
        "confirmed": [
            f"{_headline(s)} (reported as possible before)"
            for s in shifts
            if s["change_in_run"] == "confirmed"
        ],
        "possible_new": [_possible_headline(p) for p in possible if p["change_in_run"] == "new"],
        "possible_contradicted": [
            _possible_headline(p) for p in possible if p["change_in_run"] == "contradicted"
        ],
        "possible_expired": [
            _possible_headline(p) for p in possible if p["change_in_run"] == "expired"
        ],
        "possible_withdrawn": [
            _possible_headline(p) for p in possible if p["change_in_run"] == "withdrawn"
        ],
        "moved": [
            f"{_headline(s)} (was {s['previous_shift_date']})"
            for s in shifts
            if s["change_in_run"] == "moved"
        ],
        "retracted": [_headline(s) for s in shifts if s["change_in_run"] == "retracted"],
    }


def _track_status(
    session: Session,
    track: Track,
    model_hash: str | None,
    watchlist: Watchlist | None,
    as_of: date | None,
) -> dict[str, Any]:
    points = track_points(session, track.actor_id, track.policy_id, model_hash or "")
    status: dict[str, Any] = {
        "actor": track.actor.key,
        "actor_name": track.actor.name,
        "policy": track.policy.key,
        "policy_name": track.policy.name,
        "articles": len(points),
        "current_label": None,
        "current_score": None,
        "confidence": None,
        "current_since": None,
        "trend": None,
        "last_evidence_date": None,
        "stale_days": None,
    }
    if not points:
        return status
    if watchlist is not None:
        min_evidence, min_change = thresholds_for(track, watchlist, None, None)
    else:
        min_evidence, min_change = (
            DetectionSettings().min_evidence,
            DetectionSettings().min_score_change,
        )
    segments, _ = detect_shifts(points, min_evidence=min_evidence, min_score_change=min_change)
    last = points[-1].published_at
    status.update(
        last_evidence_date=last.isoformat(), stale_days=(as_of - last).days if as_of else None
    )
    if segments:  # none when every article is unsure or reports no position
        current = segments[-1]
        status.update(
            current_label=current.label,
            current_score=round(current.score, 3),
            confidence=round(current.confidence, 3),
            current_since=current.start.isoformat(),
            trend=_trend([s.score for seg in segments for s in seg.stories]),
        )
    return status


def _trend(scores: list[float]) -> str:
    """Recent direction: the last three stories against the three before them."""
    if len(scores) < 4:
        return "steady"
    recent = scores[-3:]
    earlier = scores[-6:-3]
    step = sum(recent) / len(recent) - sum(earlier) / len(earlier)
    if step > TREND_STEP:
        return "towards support"
    if step < -TREND_STEP:
        return "towards oppose"
    return "steady"


def _counts(session: Session, run: Run | None, model_hash: str | None) -> dict[str, int]:
    run_counts = json.loads(run.counts) if run and run.counts else {}
    return {
        "articles_total": session.scalar(select(func.count(Article.id))) or 0,
        "articles_new": run_counts.get("articles_added", 0),
        # New articles not in an analysed language: stored, not sent to the model.
        "articles_not_english": run_counts.get("articles_not_english", 0),
        "evidence_total": session.scalar(
            select(func.count(Evidence.id)).where(Evidence.model_hash == model_hash)
        )
        or 0,
        "stances_total": session.scalar(
            select(func.count(Stance.id)).where(Stance.model_hash == model_hash)
        )
        or 0,
        "duplicates_skipped": run_counts.get("duplicates_skipped", 0),
        "wire_copies": session.scalar(
            select(func.count(Article.id)).where(Article.duplicate_of.is_not(None))
        )
        or 0,
        "rejected_inputs": run_counts.get("rejected_inputs", 0),
    }


def _quality(
    session: Session,
    run: Run | None,
    model_hash: str | None,
    tracks: list[Track],
    flt: ReportFilter,
) -> dict[str, Any]:
    rejected = []
    if run is not None:
        rejected = [
            {"location": r.location, "reason": r.reason}
            for r in session.scalars(
                select(RejectedInput)
                .where(RejectedInput.run_id == run.id)
                .order_by(RejectedInput.id)
            )
        ]
    low = []
    if model_hash:
        pairs = {(t.actor_id, t.policy_id) for t in tracks}
        query = (
            select(Stance, Article, Evidence, Actor, Policy)
            .join(Article, Article.id == Stance.article_id)
            .join(Evidence, Evidence.id == Stance.key_evidence_id)
            .join(Actor, Actor.id == Stance.actor_id)
            .join(Policy, Policy.id == Stance.policy_id)
            .where(Stance.model_hash == model_hash, Stance.confidence < LOW_CONFIDENCE)
            .order_by(Article.published_at, Article.id)
        )
        if flt.since:
            query = query.where(Article.published_at >= flt.since)
        for stance, article, evidence, actor, policy in session.execute(query):
            if (stance.actor_id, stance.policy_id) not in pairs:
                continue
            low.append(
                {
                    "actor": actor.key,
                    "policy": policy.key,
                    "date": article.published_at.isoformat(),
                    "label": stance.label,
                    "confidence": stance.confidence,
                    "sentence": evidence.sentence,
                    "source": article.source,
                    "url": article.url,
                }
            )
    return {"rejected_inputs": rejected, "low_confidence": low}


# ---------------------------------------------------------------- renderers


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


# Everything taken from articles (and file names) is escaped before it reaches Markdown or the
# terminal: a quoted "|" must not break a table, "<script>" must not reach a renderer as HTML,
# and "[red]" must not reach rich as markup.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_SAFE_URL = re.compile(r"https?://[^\s<>\"'`\\]+", re.IGNORECASE)


def md_text(value: Any) -> str:
    """Inline Markdown for untrusted text: one line, no HTML tags, Markdown syntax escaped.

    Only "<" needs escaping to keep raw HTML out (an entity such as "&lt;b&gt;" renders as
    text), so "->" and "AT&T" stay readable in the plain-text mail the report often is.
    """
    flat = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", flat).replace("<", "&lt;")


def md_link(url: str | None) -> str:
    """An autolink for an http(s) URL; any other URL is shown as inert text."""
    if not url:
        return ""
    if _SAFE_URL.fullmatch(url):
        return f" <{url}>"
    return f" ({md_text(url)})"


def _quote(evidence: dict[str, Any] | None) -> str:
    if not evidence:
        return "(no evidence stored)"
    source = md_text(evidence["source"] or "unknown outlet")
    return (
        f'"{md_text(evidence["sentence"])}" ({source}, {evidence["date"]})'
        f"{md_link(evidence['url'])}"
    )


def _plain_quote(evidence: dict[str, Any] | None) -> str:
    """The quote for the terminal: rich markup escaped."""
    from rich.markup import escape

    if not evidence:
        return "(no evidence stored)"
    source = evidence["source"] or "unknown outlet"
    link = f" <{evidence['url']}>" if evidence["url"] else ""
    return escape(f'"{evidence["sentence"]}" ({source}, {evidence["date"]}){link}')


def render_markdown(report: dict[str, Any]) -> str:
    run = report["run"] or {}
    model = report["model"]
    counts = report["counts"]
    thresholds = report["thresholds"]
    lines = [
        "# stancetrack change report",
        "",
        f"- As of: {report['as_of'] or 'no articles'}"
        + (f" (since {report['window']['since']})" if report["window"]["since"] else ""),
        f"- Run: {run.get('id', '-')} ({run.get('command', '-')}, {run.get('status', '-')})",
        f"- Model: {model['name'] or '-'} ({(model['hash'] or '-')[:12]})",
        f"- Thresholds: min evidence {thresholds['min_evidence']} stories per side, "
        f"min score change {thresholds['min_score_change']}",
        f"- Articles: {counts['articles_new']} new ({counts['articles_not_english']} not in "
        f"English), {counts['articles_total']} total; "
        f"evidence {counts['evidence_total']}; duplicates skipped {counts['duplicates_skipped']}; "
        f"wire copies {counts['wire_copies']}; rejected inputs {counts['rejected_inputs']}",
        "",
    ]
    lines += _markdown_possible(report.get("possible_shifts") or [])
    lines += ["## Headline changes", ""]
    lines += [f"- {md_text(h)}" for h in report["headlines"]] or ["- No stance shifts detected."]
    changes = report["changes_since_previous_run"]
    lines += ["", f"## {_changes_heading(changes)}", ""]
    kinds = CHANGE_KINDS
    if any(changes.get(key) for _, key in kinds):
        for title, key in kinds:
            lines += [f"- {title}: {md_text(h)}" for h in changes.get(key) or []]
    else:
        lines.append("- Nothing changed.")
    lines += ["", "## Shifts", ""]
    if not report["shifts"]:
        lines.append("No shifts.")
    for shift in report["shifts"]:
        lines += [
            f"### {md_text(shift['actor_name'])} - {md_text(shift['policy_name'])}: "
            f"{shift['from_label']} -> {shift['to_label']}",
            "",
            f"- Date: {shift['shift_date']} (between {shift['window'][0]} and "
            f"{shift['window'][1]}); status: {shift['status']}; strength {shift['strength']:.2f}",
            f"- Before: {shift['from_label']} (mean score {shift['from_score']:+.2f}, "
            f"{shift['articles_before']} articles, {shift['sources_before']} sources)",
            f"- After: {shift['to_label']} (mean score {shift['to_score']:+.2f}, "
            f"{shift['articles_after']} articles, {shift['sources_after']} sources)",
            f"- Last evidence before: {_quote(shift['evidence_before'])}",
            f"- First evidence after: {_quote(shift['evidence_after'])}",
            "",
        ]
    lines += [
        "## Actor x policy",
        "",
        "| Actor | Policy | Stance | Score | Confidence | Since | Trend | Last evidence "
        "| Stale (days) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in report["tracks"]:
        score = f"{t['current_score']:+.2f}" if t["current_score"] is not None else "-"
        confidence = f"{t['confidence']:.2f}" if t["confidence"] is not None else "-"
        lines.append(
            f"| {md_text(t['actor_name'])} | {md_text(t['policy_name'])} | {_current(t)} | "
            f"{score} | {confidence} | {t['current_since'] or '-'} | {t['trend'] or '-'} | "
            f"{t['last_evidence_date'] or '-'} | "
            f"{t['stale_days'] if t['stale_days'] is not None else '-'} |"
        )
    quality = report["data_quality"]
    lines += ["", "## Data quality", ""]
    lines += [
        f"- Rejected: {md_text(r['location'])}: {md_text(r['reason'])}"
        for r in quality["rejected_inputs"]
    ]
    if not quality["rejected_inputs"]:
        lines.append("- No rejected inputs in this run.")
    if quality["low_confidence"]:
        lines += [
            "",
            f"Low-confidence stances worth a human look (confidence < {LOW_CONFIDENCE}):",
            "",
        ]
        lines += [
            f"- {q['date']} {q['actor']} / {q['policy']}: {q['label']} ({q['confidence']:.2f}) "
            f'"{md_text(q["sentence"])}"'
            for q in quality["low_confidence"]
        ]
    return "\n".join(lines) + "\n"


def _markdown_possible(possible: list[dict[str, Any]]) -> list[str]:
    """The possible shifts section: only when there is one open, so quiet reports stay short."""
    open_ = [p for p in possible if p["status"] == "possible"]
    if not open_:
        return []
    lines = ["## Possible shifts", ""]
    lines.append(
        "The newest stories disagree with the current stance, with high confidence, but are "
        "too few yet to confirm a shift."
    )
    lines.append("")
    for p in open_:
        lines += [
            f"### {md_text(p['actor_name'])} - {md_text(p['policy_name'])}: "
            f"{p['from_label']} -> {p['to_label']}?",
            "",
            f"- First story: {p['first_story_date']}; {p['articles_after']} article(s), "
            f"{p['sources_after']} source(s); strength {p['strength']:.2f}"
            + (" (new in this report)" if p["change_in_run"] == "new" else ""),
            f"- Story: {_quote(p['evidence_after'])}",
            f"- Current stance before it: {_quote(p['evidence_before'])}",
            f"- Confirmed by {md_text(p['confirmed_by'])}; expires {p['expires']} if none.",
            "",
        ]
    return lines


def _changes_heading(changes: dict[str, Any]) -> str:
    after, run_id = changes.get("after_run_id"), changes.get("run_id")
    if after is None or run_id is None or after >= run_id - 1:
        return "Since the previous run"
    return f"Since the last delivered report (run {after})"


def _current(track: dict[str, Any]) -> str:
    if track["current_label"]:
        return str(track["current_label"])
    return "no confident evidence" if track["articles"] else "no evidence"


CSV_FIELDS = (
    "row_type",
    "actor",
    "policy",
    "label",
    "from_label",
    "to_label",
    "score",
    "from_score",
    "to_score",
    "date",
    "window_start",
    "window_end",
    "strength",
    "status",
    "confidence",
    "trend",
    "articles",
    "sources_before",
    "sources_after",
    "evidence_before",
    "evidence_after",
)


def csv_text(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def render_csv(report: dict[str, Any]) -> str:
    """One row per shift and one per track status, told apart by `row_type`.

    Text from articles is defused against spreadsheet formulas (`csv_text`).
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for s in report["shifts"]:
        writer.writerow(
            {
                "row_type": "shift",
                "actor": s["actor"],
                "policy": s["policy"],
                "from_label": s["from_label"],
                "to_label": s["to_label"],
                "from_score": s["from_score"],
                "to_score": s["to_score"],
                "date": s["shift_date"],
                "window_start": s["window"][0],
                "window_end": s["window"][1],
                "strength": s["strength"],
                "status": s["status"],
                "articles": s["articles_before"] + s["articles_after"],
                "sources_before": s["sources_before"],
                "sources_after": s["sources_after"],
                "evidence_before": csv_text((s["evidence_before"] or {}).get("sentence")),
                "evidence_after": csv_text((s["evidence_after"] or {}).get("sentence")),
            }
        )
    for p in report.get("possible_shifts") or []:
        writer.writerow(
            {
                "row_type": "possible_shift",
                "actor": p["actor"],
                "policy": p["policy"],
                "from_label": p["from_label"],
                "to_label": p["to_label"],
                "from_score": p["from_score"],
                "to_score": p["to_score"],
                "date": p["first_story_date"],
                "strength": p["strength"],
                "status": p["status"],
                "articles": p["articles_after"],
                "sources_after": p["sources_after"],
                "evidence_before": csv_text((p["evidence_before"] or {}).get("sentence")),
                "evidence_after": csv_text((p["evidence_after"] or {}).get("sentence")),
            }
        )
    for t in report["tracks"]:
        writer.writerow(
            {
                "row_type": "track",
                "actor": t["actor"],
                "policy": t["policy"],
                "label": t["current_label"],
                "score": t["current_score"],
                "date": t["last_evidence_date"],
                "confidence": t["confidence"],
                "trend": t["trend"],
                "articles": t["articles"],
            }
        )
    return buffer.getvalue()


def render_terminal(report: dict[str, Any], console: Any) -> None:
    """Print the report with rich tables (the default on a terminal)."""
    from rich.markup import escape
    from rich.table import Table

    run = report["run"] or {}
    model = report["model"]
    counts = report["counts"]
    console.print(
        f"[bold]stancetrack change report[/] as of {report['as_of'] or '-'}  "
        f"run {run.get('id', '-')}  model {model['name'] or '-'} ({(model['hash'] or '-')[:12]})"
    )
    console.print(
        f"articles {counts['articles_new']} new ({counts['articles_not_english']} not in English)"
        f" / {counts['articles_total']} total, "
        f"evidence {counts['evidence_total']}, duplicates skipped {counts['duplicates_skipped']}, "
        f"rejected {counts['rejected_inputs']}"
    )
    console.print()
    for p in report.get("possible_shifts") or []:
        if p["status"] == "possible":
            console.print(
                f"[bold yellow]possible[/] {escape(_possible_headline(p))}", highlight=False
            )
            console.print(f"  story: {_plain_quote(p['evidence_after'])}", highlight=False)
    for headline in report["headlines"] or ["No stance shifts detected."]:
        console.print(f"[bold]*[/] {escape(headline)}")
    for shift in report["shifts"]:
        console.print()
        console.print(
            f"[bold]{escape(shift['actor_name'])} - {escape(shift['policy_name'])}[/]: "
            f"{shift['from_label']} -> "
            f"{shift['to_label']} on {shift['shift_date']} (window {shift['window'][0]} .. "
            f"{shift['window'][1]}, strength {shift['strength']:.2f}, {shift['status']})"
        )
        console.print(f"  before: {_plain_quote(shift['evidence_before'])}", highlight=False)
        console.print(f"  after:  {_plain_quote(shift['evidence_after'])}", highlight=False)
    table = Table(title="Actor x policy")
    for column in (
        "Actor",
        "Policy",
        "Stance",
        "Score",
        "Conf.",
        "Since",
        "Trend",
        "Last",
        "Stale",
    ):
        table.add_column(column)
    for t in report["tracks"]:
        table.add_row(
            escape(t["actor_name"]),
            escape(t["policy_name"]),
            _current(t),
            f"{t['current_score']:+.2f}" if t["current_score"] is not None else "-",
            f"{t['confidence']:.2f}" if t["confidence"] is not None else "-",
            t["current_since"] or "-",
            t["trend"] or "-",
            t["last_evidence_date"] or "-",
            str(t["stale_days"]) if t["stale_days"] is not None else "-",
        )
    console.print()
    console.print(table)
    quality = report["data_quality"]
    for r in quality["rejected_inputs"]:
        console.print(
            f"[yellow]rejected[/] {escape(r['location'])}: {escape(r['reason'])}", highlight=False
        )
    if quality["low_confidence"]:
        console.print(
            f"{len(quality['low_confidence'])} low-confidence stances (see --format markdown)"
        )


RENDERERS = {"markdown": render_markdown, "json": render_json, "csv": render_csv}
