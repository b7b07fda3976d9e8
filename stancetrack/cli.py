"""The command line: parse, call one core function, render. No SQL and no torch here."""

from __future__ import annotations

import os
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from stancetrack import __version__

app = typer.Typer(
    help="Track how political actors' stances on policies shift over time in the news.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create, upgrade and inspect the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)

EXIT_ERROR = 1
EXIT_SHIFT = 3  # --fail-on-shift: a new, confirmed or retracted shift was reported
EXIT_POSSIBLE = 4  # --fail-on-possible: a new possible shift (and no shift) was reported
EXIT_INTERRUPTED = 130
# Options of the main callback that may also be given after the command name.
GLOBAL_OPTIONS = ("--db", "--config", "--model", "--device", "--precision")


class ReportFormat(StrEnum):
    terminal = "terminal"
    markdown = "markdown"
    json = "json"
    csv = "csv"
    html = "html"


# Detection thresholds, shared by `analyze` and `run` (they override the watchlist's).
MinEvidence = Annotated[
    int | None, typer.Option(min=1, help="Stories needed on each side of a shift.")
]
MinScoreChange = Annotated[
    float | None,
    typer.Option(min=0, max=2, help="Smallest mean-score change that counts as a shift."),
]
# Reading from the web, shared by `ingest` and `run`.
UrlFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--urls",
        help="A file of URLs (pages or feeds), one a line; blank lines and # comments skipped.",
    ),
]
IgnoreRobots = Annotated[
    bool, typer.Option("--ignore-robots", help="Fetch pages even where robots.txt disallows it.")
]
FetchPages = Annotated[
    bool,
    typer.Option(
        "--fetch-pages/--no-fetch-pages",
        help="Fetch the page of a feed entry that carries only a summary, or store the summary "
        "(marked summary-only).",
    ),
]
FetchDelay = Annotated[
    float | None,
    typer.Option(
        min=0,
        envvar="STANCETRACK_FETCH_DELAY",
        help="Seconds between two requests to one host (default: the watchlist's sources "
        "delay, else 1).",
    ),
]
UserAgent = Annotated[
    str | None,
    typer.Option(
        envvar="STANCETRACK_USER_AGENT",
        help="User-Agent for fetching (default: the watchlist's sources user_agent, else "
        "stancetrack/VERSION with a project link).",
    ),
]


def _fetch_overrides(
    ignore_robots: bool, fetch_pages: bool, fetch_delay: float | None, user_agent: str | None
) -> dict[str, Any]:
    return {
        "respect_robots": not ignore_robots,
        "fetch_pages": fetch_pages,
        "fetch_delay": fetch_delay,
        "user_agent": user_agent,
    }


class State:
    """Global options, resolved once (flag > environment variable > default)."""

    def __init__(
        self, db: str | None, config: str, model: str | None, device: str, precision: str
    ) -> None:
        self.db = db
        self.config = config
        self.model = model
        self.device = device
        self.precision = precision

    def settings(self, **overrides: Any) -> Any:
        from stancetrack.runs import Settings

        return Settings(
            db=self.db,
            config=self.config,
            model=self.model,
            device=self.device,
            precision=self.precision,
            **overrides,
        )

    def engine(self) -> Any:
        from stancetrack.store import open_engine

        return open_engine(self.db)


def _version(value: bool) -> None:
    if value:
        stdout.print(f"stancetrack {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            envvar="STANCETRACK_DB",
            help="Database file or SQLAlchemy URL (default: stancetrack.db).",
        ),
    ] = None,
    config: Annotated[
        str, typer.Option(envvar="STANCETRACK_CONFIG", help="Watchlist TOML file.")
    ] = "stancetrack.toml",
    model: Annotated[
        str | None,
        typer.Option(
            envvar="STANCETRACK_MODEL",
            help="'default' (the packaged stance model), 'fast' (the packaged MiniLM model, "
            "about 5x faster, less accurate), a local model folder or a hub id.",
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="torch device: cpu, cuda, cuda:1 ...")] = "cpu",
    precision: Annotated[
        str, typer.Option(help="auto (bf16 where the CPU supports it), fp32 or bf16.")
    ] = "auto",
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Track how political actors' stances on policies shift over time in the news.

    Example: stancetrack --config watchlist.toml run news/ --report report.md
    """
    ctx.obj = State(db, config, model, device, precision)


def _progress() -> tuple[Any, Any]:
    """A rich progress bar on stderr, or nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=stderr,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total or None)
        bar.update(tasks[stage], completed=done, total=total or None)

    return bar, update


def _run_with_progress(call: Any) -> Any:
    bar, update = _progress()
    if bar is None:
        return call(None)
    with bar:
        return call(update)


def _report_rejections(result: Any) -> None:
    for rejection in result.rejected:
        stderr.print(f"Error: {rejection}", highlight=False, markup=False)


def _print_counts(counts: dict[str, int]) -> None:
    stdout.print(
        ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()), highlight=False
    )


# ---------------------------------------------------------------- commands


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the database and a starter watchlist if none exists, or check the one that does.

    Example: stancetrack init
    """
    from stancetrack.store import current_revision
    from stancetrack.watchlist import load_watchlist
    from stancetrack.watchlist_template import STARTER_WATCHLIST

    state: State = ctx.obj
    engine = state.engine()
    stdout.print(f"database ready at revision {current_revision(engine)}: {engine.url}")
    config = Path(state.config)
    if config.exists():
        # Checked here so that a broken watchlist fails at setup, with its one-line error, and
        # not at the first scheduled run (ingest alone never reads it).
        watchlist = load_watchlist(config)
        stdout.print(
            f"watchlist already exists: {config} ({len(watchlist.actors)} actors, "
            f"{len(watchlist.policies)} policies, {len(watchlist.tracks)} tracks)"
        )
    else:
        config.write_text(STARTER_WATCHLIST, encoding="utf-8")
        stdout.print(f"wrote a starter watchlist: {config}")


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the database schema (the app also does this on first use).

    Example: stancetrack --db news.db db upgrade
    """
    from stancetrack.store import current_revision, open_engine, upgrade_schema

    engine = open_engine(ctx.obj.db, upgrade=False)
    upgrade_schema(engine, revision)
    stdout.print(f"database at revision {current_revision(engine)}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Show the database's schema revision and the newest one this version knows.

    Example: stancetrack db current
    """
    from stancetrack.store import current_revision, head_revision, open_engine

    engine = open_engine(ctx.obj.db, upgrade=False)
    stdout.print(f"current {current_revision(engine) or '(empty)'}, head {head_revision()}")


@db_app.command("datasette")
def db_datasette(
    ctx: typer.Context,
    output: Annotated[
        Path | None, typer.Option(help="Write the metadata here instead of stdout.")
    ] = None,
) -> None:
    """Print Datasette metadata with canned queries for this database (latest stance per
    track, one track's timeline, shifts with evidence).

    Example: stancetrack --db news.db db datasette --output metadata.json && datasette news.db
    --metadata metadata.json
    """
    import json

    from stancetrack.canned import datasette_metadata
    from stancetrack.deliver import write_atomically
    from stancetrack.store import database_url

    url = database_url(ctx.obj.db)
    name = Path(url.rsplit("/", 1)[-1]).stem if url.startswith("sqlite") else "stancetrack"
    text = json.dumps(datasette_metadata(name), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text, "metadata")
        stderr.print(f"metadata written to {output}")


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of articles, pages and feeds.")
    ] = None,
    urls: UrlFiles = None,
    sources: Annotated[
        bool,
        typer.Option("--sources", help="Also read the feeds and urls of the watchlist's sources."),
    ] = False,
    strict: Annotated[bool, typer.Option(help="Abort on the first bad record.")] = False,
    ignore_robots: IgnoreRobots = False,
    fetch_pages: FetchPages = True,
    fetch_delay: FetchDelay = None,
    user_agent: UserAgent = None,
) -> None:
    """Store dated articles without analysing: .md/.txt with front matter, .json, .jsonl,
    saved web pages (.html), feeds (.xml, .rss, .atom) and URLs.

    Example: stancetrack ingest fixtures/articles

    Example: stancetrack ingest --urls links.txt saved-pages/
    """
    from stancetrack.runs import ingest_job

    state: State = ctx.obj
    fetching = _fetch_overrides(ignore_robots, fetch_pages, fetch_delay, user_agent)
    settings = state.settings(**fetching)
    engine = state.engine()
    result = _run_with_progress(
        lambda progress: ingest_job(
            engine,
            paths or [],
            settings,
            strict=strict,
            progress=progress,
            url_files=urls or [],
            use_sources=sources,
        )
    )
    _print_counts(result.counts)
    _report_skipped(result)
    _report_rejections(result)
    if result.rejected:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def analyze(
    ctx: typer.Context,
    min_evidence: MinEvidence = None,
    min_score_change: MinScoreChange = None,
) -> None:
    """Find evidence, classify stances and detect shifts for everything not yet done.

    Example: stancetrack analyze
    """
    from stancetrack.runs import analyze_job

    state: State = ctx.obj
    engine = state.engine()
    settings = state.settings(min_evidence=min_evidence, min_score_change=min_score_change)
    result = _run_with_progress(lambda progress: analyze_job(engine, settings, progress=progress))
    _print_counts(result.counts)


@app.command()
def run(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders of new articles, besides the watchlist's sources."),
    ] = None,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", help="Write the change report here (.md, .json, .csv or .html)."),
    ] = None,
    fail_on_shift: Annotated[
        bool,
        typer.Option(
            help=f"Exit {EXIT_SHIFT} when the report has a new, confirmed or retracted shift."
        ),
    ] = False,
    fail_on_possible: Annotated[
        bool,
        typer.Option(
            help=f"Exit {EXIT_POSSIBLE} when the report has a new possible shift (a shift "
            f"still exits {EXIT_SHIFT} with --fail-on-shift)."
        ),
    ] = False,
    strict: Annotated[bool, typer.Option(help="Abort on the first bad record.")] = False,
    min_evidence: MinEvidence = None,
    min_score_change: MinScoreChange = None,
    urls: UrlFiles = None,
    ignore_robots: IgnoreRobots = False,
    fetch_pages: FetchPages = True,
    fetch_delay: FetchDelay = None,
    user_agent: UserAgent = None,
) -> None:
    """Ingest, analyse, detect shifts and report in one recorded run (for cron).

    Reads the files and folders given, the --urls lists, and the feeds and URLs in the
    watchlist's sources table (pages fetched once; feeds polled with conditional requests).
    The report lists what changed since the last report a run delivered, so an alert whose
    report could not be written is reported again by the next run.

    Example: stancetrack run inbox/ --report today.md --fail-on-shift

    Example: stancetrack run --report today.md   (polls the watchlist's sources only)
    """
    from stancetrack.deliver import check_writable
    from stancetrack.runs import run_job

    state: State = ctx.obj
    fmt = _format_for(report_file) if report_file is not None else None
    if report_file is not None:
        check_writable(report_file)  # before any work: a bad target must not cost the alert
    engine = state.engine()
    settings = state.settings(
        min_evidence=min_evidence,
        min_score_change=min_score_change,
        **_fetch_overrides(ignore_robots, fetch_pages, fetch_delay, user_agent),
    )
    result = _run_with_progress(
        lambda progress: run_job(
            engine, paths or [], settings, strict=strict, progress=progress, url_files=urls or []
        )
    )
    _print_counts(result.counts)
    _report_skipped(result)
    _report_rejections(result)
    changes = _deliver_run_report(state, engine, result.run_id, report_file, fmt)
    if result.rejected:
        raise typer.Exit(EXIT_ERROR)
    if fail_on_shift and (changes["new"] or changes["confirmed"] or changes["retracted"]):
        raise typer.Exit(EXIT_SHIFT)
    if fail_on_possible and changes["possible_new"]:
        raise typer.Exit(EXIT_POSSIBLE)


def _deliver_run_report(
    state: State, engine: Any, run_id: int, target: Path | None, fmt: ReportFormat | None
) -> dict[str, Any]:
    """Write the run's report and record the delivery; returns its changes."""
    from stancetrack.deliver import STDOUT, write_atomically
    from stancetrack.report import render_terminal
    from stancetrack.runs import mark_delivered, run_report

    watchlist = _load_watchlist_if_present(state)
    report = run_report(engine, watchlist, run_id)
    if target is not None and fmt is not None:
        write_atomically(target, _render(report, fmt, engine, watchlist))
        mark_delivered(engine, run_id, str(target), fmt.value)
        stdout.print(f"report written to {target}", highlight=False)
    else:
        render_terminal(report, stdout)
        mark_delivered(engine, run_id, STDOUT, ReportFormat.terminal.value)
    return dict(report["changes_since_previous_run"])


def _report_skipped(result: Any) -> None:
    if not result.skipped:
        return
    shown = ", ".join(s.location for s in result.skipped[:3])
    more = f" and {len(result.skipped) - 3} more" if len(result.skipped) > 3 else ""
    stderr.print(
        f"skipped {len(result.skipped)} files that are not articles ({shown}{more})",
        highlight=False,
        markup=False,
    )


def _format_for(path: Path) -> ReportFormat:
    suffix = path.suffix.lower()
    formats = {
        ".md": ReportFormat.markdown,
        ".markdown": ReportFormat.markdown,
        ".json": ReportFormat.json,
        ".csv": ReportFormat.csv,
        ".html": ReportFormat.html,
        ".htm": ReportFormat.html,
    }
    if suffix not in formats:
        raise typer.BadParameter(f"report file must end in .md, .json, .csv or .html: {path}")
    return formats[suffix]


def _render(report: dict[str, Any], fmt: ReportFormat, engine: Any, watchlist: Any) -> str:
    """The report as text in a file format; HTML draws each track's chart from the store."""
    if fmt is ReportFormat.html:
        from stancetrack.report_html import html_report

        return html_report(engine, report, watchlist)
    from stancetrack.report import RENDERERS

    return RENDERERS[fmt.value](report)


def _load_watchlist_if_present(state: State) -> Any:
    from stancetrack.watchlist import load_watchlist

    return load_watchlist(state.config) if Path(state.config).exists() else None


def _build_report(
    state: State, engine: Any, *, run_id: int | None = None, report_filter: Any = None
) -> dict[str, Any]:
    from stancetrack.report import build_report
    from stancetrack.store import session_scope

    watchlist = _load_watchlist_if_present(state)
    with session_scope(engine, read_only=True) as session:
        return build_report(session, watchlist, report_filter, run_id=run_id)


def _write_report(
    report: dict[str, Any],
    fmt: ReportFormat,
    output: Path | None,
    engine: Any = None,
    watchlist: Any = None,
) -> None:
    from stancetrack.deliver import write_atomically
    from stancetrack.report import render_terminal

    if fmt is ReportFormat.terminal:
        render_terminal(report, stdout)
        return
    text = _render(report, fmt, engine, watchlist)
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text)


@app.command()
def report(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only shifts on or after this date (YYYY-MM-DD).")
    ] = None,
    last_run: Annotated[bool, typer.Option(help="Only what the last run changed.")] = False,
    actor: Annotated[str | None, typer.Option(help="Only this actor (id or name).")] = None,
    policy: Annotated[str | None, typer.Option(help="Only this policy (id or name).")] = None,
    fmt: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            help="terminal (default on a terminal), markdown, json, csv or html (one "
            "self-contained page with a chart per track).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file instead of stdout.")
    ] = None,
    run_id: Annotated[int | None, typer.Option("--run", help="Report as of this run id.")] = None,
) -> None:
    """Print or write the change report.

    Example: stancetrack report --since 2024-01-01 --format markdown --output report.md

    Example: stancetrack report --format html --output today.html
    """
    from stancetrack.report import ReportFilter

    state: State = ctx.obj
    try:
        since_date = date.fromisoformat(since) if since else None
    except ValueError:
        raise typer.BadParameter(
            f"not a date (YYYY-MM-DD): {since}", param_hint="--since"
        ) from None
    if output is not None:
        from stancetrack.deliver import check_writable

        check_writable(output)
    engine = state.engine()
    flt = ReportFilter(since=since_date, last_run=last_run, actor=actor, policy=policy)
    data = _build_report(state, engine, run_id=run_id, report_filter=flt)
    if fmt is None:
        fmt = (
            ReportFormat.terminal
            if sys.stdout.isatty() and output is None
            else ReportFormat.markdown
        )
    _write_report(data, fmt, output, engine, _load_watchlist_if_present(state))
    if output is not None:
        stderr.print(f"report written to {output}")


@app.command()
def shifts(
    ctx: typer.Context,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="terminal, markdown, json or csv.")
    ] = ReportFormat.terminal,
) -> None:
    """List the shifts currently detected (same data as the report's shift section).

    Example: stancetrack shifts --format json
    """
    state: State = ctx.obj
    data = _build_report(state, state.engine())
    if fmt is ReportFormat.terminal:
        for headline in data["headlines"] or ["No stance shifts detected."]:
            stdout.print(headline, highlight=False)
        return
    if fmt is ReportFormat.json:
        import json

        sys.stdout.write(json.dumps(data["shifts"], indent=2, ensure_ascii=False) + "\n")
        return
    _write_report(data, fmt, None, state.engine(), _load_watchlist_if_present(state))


@app.command()
def timeline(
    ctx: typer.Context,
    actor: Annotated[str, typer.Argument(help="Actor id or name.")],
    policy: Annotated[str, typer.Argument(help="Policy id or name.")],
    plot: Annotated[Path | None, typer.Option(help="Write a .png or .svg plot.")] = None,
) -> None:
    """Show one track's article stances over time, and optionally plot them.

    Example: stancetrack timeline south-korea lethal-aid-ukraine --plot sk.png
    """
    from stancetrack.timeline import check_plot_target, load_timeline

    state: State = ctx.obj
    if plot is not None:
        check_plot_target(plot)
    watchlist = _load_watchlist_if_present(state)
    data = load_timeline(state.engine(), actor, policy, watchlist)
    from rich.table import Table

    table = Table(title=data.title)
    for column in ("Date", "Stance", "Score", "Conf.", "Source"):
        table.add_column(column)
    for point in data.points:
        table.add_row(
            point.published_at.isoformat(),
            point.label if point.reports_position else f"{point.label} (no position)",
            f"{point.score:+.2f}",
            f"{point.confidence:.2f}",
            point.source or "-",
        )
    stdout.print(table)
    for shift in data.shifts:
        stdout.print(
            f"shift {shift.from_label} -> {shift.to_label} on {shift.shift_date}", highlight=False
        )
    if plot is not None:
        from stancetrack.timeline import plot_timeline

        plot_timeline(data, plot)
        stdout.print(f"plot written to {plot}")


@app.command()
def evaluate(
    ctx: typer.Context,
    labelled: Annotated[
        list[Path],
        typer.Argument(help="Labelled JSON Lines files, all sentence or all article level."),
    ],
    articles: Annotated[
        list[Path] | None,
        typer.Option(help="Article-level only: ingest these into a temporary database first."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    extraction: Annotated[
        bool,
        typer.Option(
            help="Score evidence extraction alone (no model): gold lines with an 'evidence' "
            "list of sentences; needs --articles."
        ),
    ] = False,
) -> None:
    """Score the model on labelled sentences or articles: accuracy, macro-F1, confusion.

    Example: stancetrack evaluate training/data/heldout.jsonl --format json

    Example: stancetrack --config fixtures/unseen/watchlist.toml evaluate
    fixtures/unseen/gold/*.jsonl --articles fixtures/unseen/articles

    Example: stancetrack --config fixtures/extraction/watchlist.toml evaluate
    fixtures/extraction/gold.jsonl --articles fixtures/extraction/articles --extraction
    """
    from stancetrack.evaluate import evaluate_file

    state: State = ctx.obj
    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    if extraction:
        from stancetrack.evaluate import extraction_file, render_extraction

        found = extraction_file(labelled, state.config, articles or [])
        if fmt == "json":
            import json

            sys.stdout.write(json.dumps(found.as_dict(), indent=2) + "\n")
        else:
            sys.stdout.write(render_extraction(found))
        return
    scores = evaluate_file(labelled, state.settings(), articles=articles)
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(scores.as_dict(), indent=2) + "\n")
    else:
        from stancetrack.evaluate import render_scores

        sys.stdout.write(render_scores(scores))


@app.command()
def status(ctx: typer.Context) -> None:
    """Show the database, its schema revision, counts, recent runs and pending work.

    Example: stancetrack status
    """
    from stancetrack.status import database_status

    state: State = ctx.obj
    info = database_status(state.engine(), state.settings())
    for key, value in info.items():
        if key == "recent_runs":
            stdout.print("recent runs:")
            for line in value:
                stdout.print(f"  {line}", highlight=False)
        else:
            stdout.print(f"{key.replace('_', ' ')}: {value}", highlight=False)


@app.command()
def train(
    output: Annotated[Path, typer.Option(help="Folder for the adapter and its config.")] = Path(
        "training/runs/latest"
    ),
    data: Annotated[Path, typer.Option(help="Labelled training JSON Lines.")] = Path(
        "training/data/train.jsonl"
    ),
    vast_dir: Annotated[
        Path, typer.Option(help="VAST folder (research use, read in place).")
    ] = Path("../shared/data/vast"),
    vast_samples: Annotated[
        int, typer.Option(help="VAST examples mixed into each epoch (0 for none).")
    ] = 1500,
    vast_resample: Annotated[
        bool, typer.Option(help="Draw fresh VAST examples every epoch instead of the same ones.")
    ] = False,
    negate_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of examples shown each epoch against the opposite proposition.",
        ),
    ] = 0.0,
    opposites: Annotated[
        Path | None,
        typer.Option(
            help="Hand-written opposite propositions (JSON Lines: policy, opposite) used by "
            "--negate-share instead of templates where a policy has one."
        ),
    ] = None,
    paraphrase_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of examples shown each epoch with a reworded proposition (--paraphrases).",
        ),
    ] = 0.0,
    paraphrases: Annotated[
        Path | None,
        typer.Option(help="Hand-written rewordings (JSON Lines: policy, paraphrases)."),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 3,
    seed: Annotated[int, typer.Option(help="Random seed (data order, initialisation).")] = 13,
    learning_rate: Annotated[
        float, typer.Option(min=0.0, help="Peak learning rate of the LoRA weights.")
    ] = 6e-4,
    members: Annotated[
        int,
        typer.Option(
            min=1, help="Adapters to train (seeds seed, seed+1, ...); inference averages them."
        ),
    ] = 1,
    method: Annotated[
        str,
        typer.Option(
            help="lora (what ships: a small adapter) or full (all weights, fp16; for comparison)."
        ),
    ] = "lora",
    base: Annotated[
        str,
        typer.Option(
            help="Base encoder: mpnet (all-mpnet-base-v2, the default model) or minilm "
            "(all-MiniLM-L6-v2, the fast model: --base minilm --epochs 6)."
        ),
    ] = "mpnet",
    mark_actor: Annotated[
        bool,
        typer.Option(help="Bracket the actor's mention in the evidence (needs `mention` in data)."),
    ] = True,
    eval_data: Annotated[
        Path | None,
        typer.Option(help="Labelled JSON Lines scored after each epoch (e.g. the held-out split)."),
    ] = None,
    init_from: Annotated[
        Path | None,
        typer.Option(
            help="Continue from this trained adapter folder (a second stage) instead of "
            "starting a fresh adapter."
        ),
    ] = None,
) -> None:
    """Fine-tune a stance model: LoRA over all-mpnet-base-v2 (the default; about an hour on
    2 cores) or all-MiniLM-L6-v2 (the fast model; half an hour).

    Example: stancetrack train --output stancetrack/model

    Example: stancetrack train --base minilm --epochs 6 --output stancetrack/model-fast
    """
    from stancetrack.train import TrainConfig
    from stancetrack.train import train as train_model

    config = TrainConfig(
        data=str(data),
        vast_dir=str(vast_dir),
        vast_samples=vast_samples,
        vast_resample=vast_resample,
        negate_share=negate_share,
        opposites=str(opposites) if opposites else "",
        paraphrase_share=paraphrase_share,
        paraphrases=str(paraphrases) if paraphrases else "",
        epochs=epochs,
        seed=seed,
        learning_rate=learning_rate,
        members=members,
        method=method,
        base=base,
        eval_data=str(eval_data) if eval_data else "",
        mark_actor=mark_actor,
        init_from=str(init_from) if init_from else "",
    )
    train_model(config, output, log=lambda line: stderr.print(line, highlight=False))


def _on_signal(signum: int, _frame: Any) -> None:
    import signal

    from stancetrack.errors import Interrupted

    if signum == signal.SIGINT:
        raise Interrupted("interrupted (Ctrl-C)", EXIT_INTERRUPTED)
    raise Interrupted(f"terminated ({signal.Signals(signum).name})", 128 + signum)


def _install_signal_handlers() -> dict[int, Any]:
    """SIGINT, SIGTERM and SIGHUP unwind the command: the run is recorded as failed with the
    reason, work committed so far is kept, and the exit code is 128 + the signal number.

    Ctrl-C gets its own exception rather than KeyboardInterrupt, which Typer would turn into a
    silent exit 130. A signal ignored at start (a background job's SIGINT) stays ignored.
    """
    import signal

    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, _on_signal)
    return previous


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move `--db`, `--config`, `--model`, `--device`, `--precision` given after the command
    name to before it, where Typer reads them: `stancetrack report --db x.db` works too."""
    command_at = next(
        (i for i, arg in enumerate(argv) if arg in _COMMAND_NAMES and not _is_value(argv, i)),
        None,
    )
    if command_at is None:
        return argv
    head, tail, moved = argv[:command_at], [], []
    index = command_at
    while index < len(argv):
        arg = argv[index]
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in arg:
                moved.append(arg)
            else:
                moved += argv[index : index + 2]
                index += 1
        elif arg == "--":
            tail += argv[index:]
            break
        else:
            tail.append(arg)
        index += 1
    return head + moved + tail


def _is_value(argv: list[str], index: int) -> bool:
    """Whether argv[index] is the value of the option before it (`--config run`)."""
    return index > 0 and argv[index - 1] in GLOBAL_OPTIONS


_COMMAND_NAMES = {
    "init",
    "db",
    "ingest",
    "analyze",
    "run",
    "report",
    "shifts",
    "timeline",
    "evaluate",
    "status",
    "train",
}


def main(argv: list[str] | None = None) -> None:
    """Entry point: one place turns errors into exit codes and one-line messages."""
    import signal

    argv = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    previous = _install_signal_handlers()
    try:
        _main(argv)
    finally:  # a caller embedding the CLI (tests, notebooks) gets its own handlers back
        for number, handler in previous.items():
            signal.signal(number, handler)


def _main(argv: list[str] | None) -> None:
    from stancetrack.errors import Interrupted, StancetrackError

    debug = os.environ.get("STANCETRACK_DEBUG") == "1"
    try:
        code = app(args=argv, standalone_mode=False)
    except StancetrackError as exc:
        if debug:
            raise
        stderr.print(f"Error: {exc}", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    except (KeyboardInterrupt, typer.Abort):
        stderr.print("Interrupted; everything committed before now is kept.")
        sys.exit(EXIT_INTERRUPTED)
    except Interrupted as exc:
        if exc.exit_code == EXIT_INTERRUPTED:
            stderr.print("Interrupted; everything committed before now is kept.")
        else:
            stderr.print(f"Stopped: {exc}; everything committed before now is kept.", markup=False)
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        sys.exit(getattr(exc, "exit_code", 2))
    except BrokenPipeError:
        # stdout was closed early (`stancetrack report | head`): nothing left to say.
        sys.stderr.close()
        sys.exit(EXIT_ERROR)
    except OSError as exc:
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        stderr.print(f"Error: {where}{exc.strerror or exc}", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        if debug:
            raise
        stderr.print(
            f"Error: unexpected {type(exc).__name__}: {exc} (set STANCETRACK_DEBUG=1 for a "
            "traceback)",
            highlight=False,
            markup=False,
        )
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)
