"""The change report as one self-contained HTML page: no network, no scripts, no fonts.

The same content as the Markdown report plus a timeline chart per track, inlined as SVG (the
same plot as `timeline --plot`, glyphs drawn as paths). A Content-Security-Policy in the page
forbids every external load; everything taken from articles is HTML-escaped and only http(s)
URLs become links. The layout reads on a phone (one column, tables scroll sideways) and prints
(no backgrounds, charts kept whole on a page).
"""

from __future__ import annotations

import html
import re
from typing import Any

from stancetrack.report import CHANGE_KINDS

SAFE_URL = re.compile(r"https?://[^\s<>\"'`\\]+", re.IGNORECASE)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
:root { --ink: #1d1d1f; --muted: #5f6368; --line: #d9dce1; --support: #1a9850;
  --oppose: #d73027; --neutral: #7f7f7f; --possible: #b35806; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 0 auto; padding: 1rem; max-width: 60rem; }
h1 { font-size: 1.5rem; margin: 0.2rem 0 0.6rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
.meta { color: var(--muted); font-size: 0.9rem; }
.meta div { margin: 0.1rem 0; }
.label { font-weight: 600; }
.support { color: var(--support); } .oppose { color: var(--oppose); }
.neutral { color: var(--neutral); }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.9rem;
  margin: 0.6rem 0; }
.card.possible { border-left: 4px solid var(--possible); }
blockquote { margin: 0.4rem 0; padding: 0.2rem 0.8rem; border-left: 3px solid var(--line); }
blockquote .source { display: block; color: var(--muted); font-size: 0.85rem; }
.table { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line);
  white-space: nowrap; }
.chart { margin: 0.8rem 0 1.4rem; break-inside: avoid; }
.chart svg { width: 100%; height: auto; display: block; }
ul { padding-left: 1.2rem; }
a { color: #1a56db; overflow-wrap: anywhere; }
@media (max-width: 40rem) { body { font-size: 15px; padding: 0.6rem; } h1 { font-size: 1.25rem; } }
@media print { body { max-width: none; padding: 0; } a { color: inherit; }
  .card, .chart, blockquote { break-inside: avoid; } h2 { break-after: avoid; } }
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def link(url: str | None, text: str | None = None) -> str:
    if not url:
        return ""
    if SAFE_URL.fullmatch(url):
        return f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(text or url)}</a>'
    return esc(text or url)  # a javascript: or other URL stays inert text


def _label(label: str | None) -> str:
    if not label:
        return "-"
    return f'<span class="label {esc(label)}">{esc(label)}</span>'


def _quote(evidence: dict[str, Any] | None) -> str:
    if not evidence:
        return "<blockquote>(no evidence stored)</blockquote>"
    source = esc(evidence.get("source") or "unknown outlet")
    url = link(evidence.get("url"), "link") if evidence.get("url") else ""
    return (
        f"<blockquote>{esc(evidence['sentence'])}"
        f'<span class="source">{source}, {esc(evidence["date"])} {url}</span></blockquote>'
    )


def render_html(report: dict[str, Any], charts: dict[tuple[str, str], str] | None = None) -> str:
    """The page; `charts` maps (actor, policy) to an inline SVG of that track's timeline."""
    charts = charts or {}
    run = report.get("run") or {}
    model = report.get("model") or {}
    counts = report.get("counts") or {}
    thresholds = report.get("thresholds") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>stancetrack change report, {esc(report.get('as_of') or 'no articles')}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>stancetrack change report</h1>",
        '<div class="meta">',
        f"<div>As of {esc(report.get('as_of') or 'no articles')}; run {esc(run.get('id', '-'))} "
        f"({esc(run.get('command', '-'))}, {esc(run.get('status', '-'))})</div>",
        f"<div>Model {esc(model.get('name') or '-')} ({esc((model.get('hash') or '-')[:12])});"
        f" min evidence {esc(thresholds.get('min_evidence'))} stories per side, min score "
        f"change {esc(thresholds.get('min_score_change'))}</div>",
        f"<div>Articles {esc(counts.get('articles_new', 0))} new, "
        f"{esc(counts.get('articles_total', 0))} total; evidence "
        f"{esc(counts.get('evidence_total', 0))}; duplicates skipped "
        f"{esc(counts.get('duplicates_skipped', 0))}; wire copies "
        f"{esc(counts.get('wire_copies', 0))}; rejected inputs "
        f"{esc(counts.get('rejected_inputs', 0))}</div>",
        "</div>",
    ]
    parts += _possible(report.get("possible_shifts") or [])
    parts += ["<h2>Headline changes</h2>", "<ul>"]
    parts += [f"<li>{esc(h)}</li>" for h in report.get("headlines") or []] or [
        "<li>No stance shifts detected.</li>"
    ]
    parts.append("</ul>")
    parts += _changes(report.get("changes_since_previous_run") or {})
    parts += _shifts(report.get("shifts") or [])
    parts += _matrix(report.get("tracks") or [])
    parts += _charts(report.get("tracks") or [], charts)
    parts += _quality(report.get("data_quality") or {})
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _possible(possible: list[dict[str, Any]]) -> list[str]:
    open_ = [p for p in possible if p["status"] == "possible"]
    if not open_:
        return []
    parts = [
        "<h2>Possible shifts</h2>",
        "<p>The newest stories disagree with the current stance, with high confidence, but are "
        "too few yet to confirm a shift.</p>",
    ]
    for p in open_:
        parts += [
            '<div class="card possible">',
            f"<h3>{esc(p['actor_name'])} - {esc(p['policy_name'])}: {_label(p['from_label'])} "
            f"&rarr; {_label(p['to_label'])}?</h3>",
            f'<div class="meta">First story {esc(p["first_story_date"])}; '
            f"{esc(p['articles_after'])} article(s), {esc(p['sources_after'])} source(s); "
            f"confirmed by {esc(p['confirmed_by'])}; expires {esc(p['expires'])} if none"
            f"{' (new in this report)' if p['change_in_run'] == 'new' else ''}</div>",
            _quote(p.get("evidence_after")),
            '<div class="meta">The stance before it:</div>',
            _quote(p.get("evidence_before")),
            "</div>",
        ]
    return parts


def _changes(changes: dict[str, Any]) -> list[str]:
    kinds = CHANGE_KINDS
    after, run_id = changes.get("after_run_id"), changes.get("run_id")
    title = (
        "Since the previous run"
        if after is None or run_id is None or after >= run_id - 1
        else f"Since the last delivered report (run {esc(after)})"
    )
    items = [
        f"<li>{esc(name)}: {esc(text)}</li>"
        for name, key in kinds
        for text in changes.get(key) or []
    ]
    return [f"<h2>{title}</h2>", "<ul>", *(items or ["<li>Nothing changed.</li>"]), "</ul>"]


def _shifts(shifts: list[dict[str, Any]]) -> list[str]:
    parts = ["<h2>Shifts</h2>"]
    if not shifts:
        parts.append("<p>No shifts.</p>")
    for s in shifts:
        parts += [
            '<div class="card">',
            f"<h3>{esc(s['actor_name'])} - {esc(s['policy_name'])}: {_label(s['from_label'])} "
            f"&rarr; {_label(s['to_label'])}</h3>",
            f'<div class="meta">{esc(s["shift_date"])} (between {esc(s["window"][0])} and '
            f"{esc(s['window'][1])}); {esc(s['status'])}; strength {s['strength']:.2f}; before "
            f"{esc(s['articles_before'])} articles / {esc(s['sources_before'])} sources, after "
            f"{esc(s['articles_after'])} / {esc(s['sources_after'])}</div>",
            '<div class="meta">Last evidence before:</div>',
            _quote(s.get("evidence_before")),
            '<div class="meta">First evidence after:</div>',
            _quote(s.get("evidence_after")),
            "</div>",
        ]
    return parts


def _matrix(tracks: list[dict[str, Any]]) -> list[str]:
    head = ("Actor", "Policy", "Stance", "Score", "Confidence", "Since", "Trend", "Last", "Stale")
    rows = []
    for t in tracks:
        score = f"{t['current_score']:+.2f}" if t.get("current_score") is not None else "-"
        confidence = f"{t['confidence']:.2f}" if t.get("confidence") is not None else "-"
        cells = (
            esc(t["actor_name"]),
            esc(t["policy_name"]),
            _label(t.get("current_label")),
            score,
            confidence,
            esc(t.get("current_since") or "-"),
            esc(t.get("trend") or "-"),
            esc(t.get("last_evidence_date") or "-"),
            esc(t["stale_days"]) if t.get("stale_days") is not None else "-",
        )
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return [
        "<h2>Actor &times; policy</h2>",
        '<div class="table"><table>',
        "<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>",
        "<tbody>",
        *rows,
        "</tbody></table></div>",
    ]


def _charts(tracks: list[dict[str, Any]], charts: dict[tuple[str, str], str]) -> list[str]:
    parts = ["<h2>Timelines</h2>"] if charts else []
    for t in tracks:
        svg = charts.get((t["actor"], t["policy"]))
        if svg:
            title = f"{t['actor_name']} - {t['policy_name']}"
            parts.append(
                f'<figure class="chart" aria-label="{esc(title)}">{svg}'
                f'<figcaption class="meta">{esc(title)}: article stances (size = confidence), '
                "stable periods and shifts</figcaption></figure>"
            )
    return parts


def _quality(quality: dict[str, Any]) -> list[str]:
    parts = ["<h2>Data quality</h2>", "<ul>"]
    rejected = quality.get("rejected_inputs") or []
    parts += [f"<li>Rejected: {esc(r['location'])}: {esc(r['reason'])}</li>" for r in rejected]
    if not rejected:
        parts.append("<li>No rejected inputs in this run.</li>")
    parts.append("</ul>")
    low = quality.get("low_confidence") or []
    if low:
        parts += ["<p>Low-confidence stances worth a human look:</p>", "<ul>"]
        parts += [
            f"<li>{esc(q['date'])} {esc(q['actor'])} / {esc(q['policy'])}: {_label(q['label'])} "
            f"({q['confidence']:.2f}) &ldquo;{esc(q['sentence'])}&rdquo; "
            f"{link(q.get('url'), 'link')}</li>"
            for q in low
        ]
        parts.append("</ul>")
    return parts


def html_report(engine: Any, report: dict[str, Any], watchlist: Any = None) -> str:
    """The page for a built report, with each track's timeline chart drawn from the store."""
    from stancetrack.timeline import load_timeline, timeline_svg

    charts = {}
    for number, track in enumerate(report.get("tracks") or []):
        if not track.get("articles"):
            continue
        timeline = load_timeline(engine, track["actor"], track["policy"], watchlist)
        charts[(track["actor"], track["policy"])] = timeline_svg(timeline, f"t{number}")
    return render_html(report, charts)
