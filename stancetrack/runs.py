"""Recorded jobs: each opens a row in `runs`, does its stages, and closes the row.

These are the functions the CLI calls, one per command, and the ones to call from Python or a
scheduler of your own. An interrupted or failed job leaves its row as `failed` with the error;
everything committed before the failure stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from stancetrack import pipeline, store
from stancetrack.classify import Classifier, load_classifier, model_identity, resolve_model
from stancetrack.errors import IngestError, Interrupted
from stancetrack.ingest import (
    FetchSettings,
    IngestResult,
    Rejection,
    Skipped,
    WebSources,
    ingest_paths,
)
from stancetrack.models import Run
from stancetrack.watchlist import SourceSettings, Watchlist, load_watchlist

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Settings:
    db: str | None = None
    config: str | Path = "stancetrack.toml"
    model: str | None = None
    device: str = "cpu"
    precision: str = "auto"
    batch_size: int = 32
    aggregation: str = "weighted"
    min_evidence: int | None = None
    min_score_change: float | None = None
    # Fetching: None leaves the value to the watchlist's [sources], then to the default.
    user_agent: str | None = None
    fetch_delay: float | None = None
    respect_robots: bool = True
    fetch_pages: bool = True  # fetch the pages of feed entries that carry only a summary

    def fetch_settings(self, sources: SourceSettings | None = None) -> FetchSettings:
        """How to fetch: these settings (flags, environment), then [sources], then defaults."""
        sources = sources or SourceSettings()
        defaults = FetchSettings()
        delay = self.fetch_delay if self.fetch_delay is not None else sources.delay
        return FetchSettings(
            user_agent=self.user_agent or sources.user_agent or defaults.user_agent,
            delay=delay if delay is not None else defaults.delay,
            respect_robots=self.respect_robots,
            fetch_pages=self.fetch_pages,
        )


NOTHING_TO_READ = (
    "nothing to read: give files or folders, --urls FILE, or feeds/urls under [sources] in "
    "the watchlist"
)


@dataclass
class JobResult:
    run_id: int
    counts: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    new_or_retracted_shifts: int = 0


def _mark_dead_runs(session: Session) -> None:
    # A run still `running` whose process is gone was killed; a live one (an overlapping cron
    # job, another machine) is left alone. Its claimed work is released by the next analysis.
    dead = store.dead_run_ids(session)
    if dead:
        session.execute(
            update(Run)
            .where(Run.id.in_(dead), Run.status == "running")
            .values(
                status="failed",
                error="interrupted (its process was gone when a later run started)",
                finished_at=store.utcnow(),
            )
        )
    session.commit()


def _failure_message(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, Interrupted):
        return str(exc)
    return str(exc) or type(exc).__name__


def _job(
    engine: Engine,
    command: str,
    settings: Settings,
    body: Callable[[Session, Run], JobResult],
    *,
    watchlist_hash: str | None = None,
    with_model: bool = False,
) -> JobResult:
    with store.session_scope(engine) as session:
        _mark_dead_runs(session)
        model_name = model_hash = None
        if with_model:
            model_name, model_hash = model_identity(resolve_model(settings.model))
        run = store.start_run(
            session,
            command,
            model_name=model_name,
            model_hash=model_hash or None,
            watchlist_hash=watchlist_hash,
        )
        try:
            result = body(session, run)
        except BaseException as exc:
            _record_failure(session, run, _failure_message(exc))
            raise
        store.finish_run(session, run, result.counts)
        return result


def _record_failure(session: Session, run: Run, message: str) -> None:
    """Mark the run failed; if even that fails (database gone), the next run will."""
    try:
        session.rollback()
        store.finish_run(session, run, {}, error=message)
    except Exception:  # noqa: BLE001 - never hide the error that ended the run
        store.forget_run(run)


def ingest_job(
    engine: Engine,
    paths: Sequence[str | Path],
    settings: Settings,
    *,
    strict: bool = False,
    command: str = "ingest",
    progress: Progress | None = None,
    url_files: Sequence[str | Path] = (),
    use_sources: bool = False,
) -> JobResult:
    """Store articles from files, URL lists and (with `use_sources`) the watchlist's [sources]."""
    source_settings = load_watchlist(settings.config).sources if use_sources else None
    sources = _web_sources(url_files, source_settings)
    if not paths and not sources:
        raise IngestError(NOTHING_TO_READ)

    def body(session: Session, run: Run) -> JobResult:
        tick = _ticker(progress, "ingest")
        result = ingest_paths(
            session,
            paths,
            run_id=run.id,
            strict=strict,
            on_record=tick,
            on_batch=lambda: store.heartbeat(run),
            sources=sources,
            fetch=settings.fetch_settings(source_settings),
        )
        return JobResult(run.id, result.counts(), result.rejected, result.skipped)

    return _job(engine, command, settings, body)


def _web_sources(url_files: Sequence[str | Path], sources: SourceSettings | None) -> WebSources:
    return WebSources(
        tuple(Path(f) for f in url_files),
        sources.urls if sources else (),
        sources.feeds if sources else (),
    )


def _ticker(progress: Progress | None, stage: str) -> Callable[[], None] | None:
    if progress is None:
        return None
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        progress(stage, count, 0)

    return tick


def _classifier_loader(settings: Settings) -> Callable[[], Classifier]:
    def load() -> Classifier:
        return load_classifier(
            settings.model,
            device=settings.device,
            precision=settings.precision,
            batch_size=settings.batch_size,
        )

    return load


def _analyze_and_detect(
    session: Session,
    run: Run,
    watchlist: Watchlist,
    settings: Settings,
    progress: Progress | None,
) -> dict[str, int]:
    sync = pipeline.sync_watchlist(session, watchlist)
    session.commit()
    model_hash = run.model_hash
    model_name = run.model_name or ""
    if not model_hash:
        # A hub id: the hash is known only once the weights are loaded.
        classifier = _classifier_loader(settings)()
        model_name, model_hash = classifier.name, classifier.hash
        run.model_name, run.model_hash = model_name, model_hash

        def loader() -> Classifier:
            return classifier
    else:
        loader = _classifier_loader(settings)
    analysed = pipeline.analyze(
        session,
        watchlist,
        model_name,
        model_hash,
        loader,
        run_id=run.id,
        aggregation=settings.aggregation,
        progress=(lambda done, total: progress("analyze", done, total)) if progress else None,
        on_batch=lambda: store.heartbeat(run),
    )
    detected = pipeline.detect(
        session,
        watchlist,
        model_hash,
        run_id=run.id,
        min_evidence=settings.min_evidence,
        min_score_change=settings.min_score_change,
    )
    counts = {**analysed.counts(), **detected.counts()}
    counts["tracks_added"] = sync.tracks_added
    counts["tracks_removed"] = sync.tracks_removed
    return counts


def analyze_job(
    engine: Engine,
    settings: Settings,
    *,
    progress: Progress | None = None,
    command: str = "analyze",
) -> JobResult:
    watchlist = load_watchlist(settings.config)

    def body(session: Session, run: Run) -> JobResult:
        counts = _analyze_and_detect(session, run, watchlist, settings, progress)
        return JobResult(
            run.id,
            counts,
            new_or_retracted_shifts=counts["shifts_new"] + counts["shifts_retracted"],
        )

    return _job(
        engine, command, settings, body, watchlist_hash=watchlist.fingerprint, with_model=True
    )


def run_job(
    engine: Engine,
    paths: Sequence[str | Path],
    settings: Settings,
    *,
    strict: bool = False,
    command: str = "run",
    progress: Progress | None = None,
    url_files: Sequence[str | Path] = (),
) -> JobResult:
    """Ingest (files, URL lists, the watchlist's [sources]), analyse and detect in one recorded
    run: the scheduled one-shot."""
    watchlist = load_watchlist(settings.config)  # fail on a broken watchlist before any work
    sources = _web_sources(url_files, watchlist.sources)
    if not paths and not sources:
        raise IngestError(NOTHING_TO_READ)

    def body(session: Session, run: Run) -> JobResult:
        tick = _ticker(progress, "ingest")
        ingested: IngestResult = ingest_paths(
            session,
            paths,
            run_id=run.id,
            strict=strict,
            on_record=tick,
            on_batch=lambda: store.heartbeat(run),
            sources=sources,
            fetch=settings.fetch_settings(watchlist.sources),
        )
        counts = {
            **ingested.counts(),
            **_analyze_and_detect(session, run, watchlist, settings, progress),
        }
        return JobResult(
            run.id,
            counts,
            ingested.rejected,
            ingested.skipped,
            counts["shifts_new"] + counts["shifts_retracted"],
        )

    return _job(
        engine, command, settings, body, watchlist_hash=watchlist.fingerprint, with_model=True
    )


def run_report(engine: Engine, watchlist: Watchlist | None, run_id: int) -> dict[str, Any]:
    """The report of a scheduled run: changes since the last report a run delivered."""
    from stancetrack.deliver import last_delivered_run
    from stancetrack.report import build_report

    with store.session_scope(engine, read_only=True) as session:
        after = last_delivered_run(session)
        return build_report(session, watchlist, run_id=run_id, changes_after_run=after)


def mark_delivered(engine: Engine, run_id: int, target: str, fmt: str) -> None:
    """Record that the run's report reached its target (see deliver.py)."""
    from stancetrack.deliver import record_delivery

    with store.session_scope(engine) as session:
        record_delivery(session, run_id, target, fmt)
