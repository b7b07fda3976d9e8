"""Timelines: one track's article stances over time, its segments and shifts, and its plot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from stancetrack import store
from stancetrack.errors import NotFoundError, StancetrackError
from stancetrack.models import Actor, Policy, Track
from stancetrack.pipeline import thresholds_for, track_points
from stancetrack.shifts import (
    DetectedShift,
    PossibleShift,
    Segment,
    StancePoint,
    detect_shifts,
    possible_shift,
)
from stancetrack.watchlist import DetectionSettings, Watchlist

LABEL_COLOURS = {"support": "#1a9850", "oppose": "#d73027", "neutral": "#7f7f7f"}


@dataclass(frozen=True)
class Timeline:
    title: str
    points: list[StancePoint]
    segments: list[Segment]
    shifts: list[DetectedShift]
    possible: PossibleShift | None = None


def load_timeline(
    engine: Engine, actor: str, policy: str, watchlist: Watchlist | None = None
) -> Timeline:
    """The current model's timeline for one track, found by id or name."""
    with store.session_scope(engine, read_only=True) as session:
        actor_row = session.scalars(
            select(Actor).where((Actor.key == actor) | (Actor.name == actor))
        ).first()
        if actor_row is None:
            raise NotFoundError(f"no actor '{actor}' in the database")
        policy_row = session.scalars(
            select(Policy).where((Policy.key == policy) | (Policy.name == policy))
        ).first()
        if policy_row is None:
            raise NotFoundError(f"no policy '{policy}' in the database")
        track = session.scalars(
            select(Track).where(Track.actor_id == actor_row.id, Track.policy_id == policy_row.id)
        ).first()
        if track is None:
            raise NotFoundError(f"{actor_row.key} x {policy_row.key} is not tracked")
        run = store.latest_model_run(session)
        model_hash = run.model_hash if run else None
        points = track_points(session, actor_row.id, policy_row.id, model_hash or "")
        if watchlist is not None:
            min_evidence, min_change = thresholds_for(track, watchlist, None, None)
        else:
            defaults = DetectionSettings()
            min_evidence, min_change = defaults.min_evidence, defaults.min_score_change
        segments, shifts = detect_shifts(
            points, min_evidence=min_evidence, min_score_change=min_change
        )
        possible = possible_shift(
            points, segments, min_evidence=min_evidence, min_score_change=min_change
        )
        return Timeline(f"{actor_row.name} - {policy_row.name}", points, segments, shifts, possible)


def check_plot_target(output: Path) -> None:
    """Refuse a plot path before any work: wrong suffix, missing folder, not writable."""
    from stancetrack.deliver import check_writable

    if output.suffix.lower() not in (".png", ".svg"):
        raise StancetrackError(f"plot file must end in .png or .svg: {output}")
    check_writable(output, "plot")


def plot_timeline(timeline: Timeline, output: str | Path) -> Path:
    """Write a PNG or SVG of the timeline; the format follows the file suffix."""
    output = Path(output)
    check_plot_target(output)
    from stancetrack.deliver import write_atomically

    write_atomically(output, render_timeline(timeline, output.suffix.lower().lstrip(".")), "plot")
    return output


def timeline_svg(timeline: Timeline, salt: str) -> str:
    """The plot as an SVG element to inline in an HTML page (glyphs drawn as paths, so no
    fonts are needed; `salt` keeps element ids apart when several charts share a page)."""
    svg = render_timeline(timeline, "svg", salt=salt).decode("utf-8")
    return svg[svg.index("<svg") :]


def render_timeline(timeline: Timeline, fmt: str, salt: str = "") -> bytes:
    """The plot as PNG or SVG bytes."""
    import io

    import matplotlib

    matplotlib.use("Agg")  # no display on servers and in cron
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = salt or "stancetrack"  # stable ids: same data, same file
    plt.rcParams["svg.fonttype"] = "path"
    fig, ax = plt.subplots(figsize=(11.5, 4.2), dpi=120)

    def num(day: date) -> float:
        return float(mdates.date2num(day))

    for seg in timeline.segments:
        start = num(seg.stories[0].published_at)
        end = num(seg.stories[-1].published_at)
        colour = LABEL_COLOURS[seg.label]
        ax.axvspan(start, end, color=colour, alpha=0.12, lw=0)
        ax.hlines(seg.score, start, end, colors=colour, linestyles="-", lw=2, alpha=0.8)
    silent = [p for p in timeline.points if not p.reports_position]
    if silent:
        ax.scatter(
            [num(p.published_at) for p in silent],
            [p.score for p in silent],
            s=40,
            facecolors="none",
            edgecolors="#999999",
            label="no position reported",
            zorder=2,
        )
    for label, colour in LABEL_COLOURS.items():
        chosen = [p for p in timeline.points if p.label == label and p.reports_position]
        if chosen:
            ax.scatter(
                [num(p.published_at) for p in chosen],
                [p.score for p in chosen],
                s=[30 + 170 * p.confidence for p in chosen],
                c=colour,
                alpha=0.75,
                edgecolors="white",
                linewidths=0.8,
                label=label,
                zorder=3,
            )
    if timeline.possible is not None:
        possible = timeline.possible
        ax.axvline(num(possible.shift_date), color="#b35806", ls=":", lw=1.2)
        ax.annotate(
            f"possible: {possible.from_label} -> {possible.to_label}\n"
            f"{possible.shift_date.isoformat()}",
            xy=(num(possible.shift_date), 0.12),
            xycoords=("data", "axes fraction"),
            xytext=(4, 0),
            textcoords="offset points",
            fontsize=8,
            color="#b35806",
            va="bottom",
        )
    for shift in timeline.shifts:
        ax.axvline(num(shift.shift_date), color="#333333", ls="--", lw=1)
        ax.annotate(
            f"{shift.from_label} -> {shift.to_label}\n{shift.shift_date.isoformat()}",
            xy=(num(shift.shift_date), 0.92),
            xycoords=("data", "axes fraction"),
            xytext=(4, 0),
            textcoords="offset points",
            fontsize=8,
            va="top",
        )
    ax.set_ylim(-1.1, 1.1)
    ax.axhline(0, color="#999999", lw=0.6)
    ax.set_ylabel("stance score (support - oppose)")
    ax.set_title(timeline.title)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.legend(  # outside the axes, so it never hides a point
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
        title="article stance (size = confidence)",
        title_fontsize=8,
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    plt.close(fig)
    return buffer.getvalue()
