"""The HTML report: one self-contained, escaped page, rendered in a real headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from stancetrack.cli import main
from stancetrack.report_html import render_html
from tests.conftest import FIXTURES, article_md, write

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=1",  # console messages (errors, blocked loads) reach stderr as CONSOLE lines
]


def cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    pytest.skip("no headless Chromium installed (apt-get install chromium; .ci/run does)")


def render(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            *extra,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def test_the_console_check_catches_errors_and_blocked_loads(tmp_path: Path) -> None:
    """The checks below are not vacuous: a script error and an external load both show."""
    broken = write(
        tmp_path / "broken.html",
        "<html><body><script>console.error('boom')</script><p>x</p></body></html>",
    )
    assert any(
        "boom" in line for line in console_messages(render(broken, tmp_path, "--dump-dom").stderr)
    )
    page = render_html({"tracks": [], "shifts": []}).replace(
        "</body>", '<img src="https://example.com/x.png"></body>'
    )
    leaky = write(tmp_path / "leaky.html", page)
    assert any(
        "Content Security Policy" in line
        for line in console_messages(render(leaky, tmp_path, "--dump-dom").stderr)
    )


def test_html_report_renders_in_chromium_with_charts_and_no_errors(
    tmp_path: Path, tiny_stance_model: Path
) -> None:
    hostile = (
        "Seoul said it would not send lethal weapons <script>alert(1)</script> "
        "<img src=x onerror=alert(2)>."
    )
    write(
        tmp_path / "in/hostile.md",
        article_md("<b>Seoul</b> says no", "2024-12-01", hostile, url="javascript:alert(3)"),
    )
    for folder in ("leopard", "south-korea"):
        shutil.copytree(FIXTURES / "articles" / folder, tmp_path / "in" / folder)
    base = ["--config", str(FIXTURES / "watchlist.toml"), "--model", str(tiny_stance_model)]
    assert cli(*base, "run", str(tmp_path / "in"), "--report", str(tmp_path / "today.html")) == 0
    page = (tmp_path / "today.html").read_text()
    assert "<script" not in page and "javascript:alert" not in page.split("<body>")[0]
    assert 'href="javascript' not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<svg") == 3  # a chart per track with evidence
    dom = render(tmp_path / "today.html", tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_messages(dom.stderr) == []
    assert dom.stdout.count("<svg") == 3 and "Actor × policy" in dom.stdout
    shot = tmp_path / "today.png"
    done = render(
        tmp_path / "today.html", tmp_path, f"--screenshot={shot}", "--window-size=420,2400"
    )
    assert done.returncode == 0 and shot.stat().st_size > 20_000


def test_report_format_html_writes_the_same_page(tmp_path: Path, tiny_stance_model: Path) -> None:
    base = ["--config", str(FIXTURES / "watchlist.toml"), "--model", str(tiny_stance_model)]
    cli(*base, "run", str(FIXTURES / "articles/leopard"), "--report", str(tmp_path / "a.html"))
    assert cli(*base, "report", "--format", "html", "--output", str(tmp_path / "b.html")) == 0
    page = (tmp_path / "b.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 2
