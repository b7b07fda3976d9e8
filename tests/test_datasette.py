"""The database opens in Datasette, and the shipped canned queries answer from the views."""

import asyncio
import json
from pathlib import Path

import pytest

from stancetrack.canned import QUERIES, datasette_metadata
from stancetrack.cli import main
from tests.conftest import FIXTURES


def cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0)


def test_datasette_serves_the_canned_queries(tmp_path: Path, tiny_stance_model: Path) -> None:
    datasette_app = pytest.importorskip("datasette.app")
    db = tmp_path / "news.db"
    base = ["--db", str(db), "--config", str(FIXTURES / "watchlist.toml")]
    cli(
        *base,
        "--model",
        str(tiny_stance_model),
        "run",
        str(FIXTURES / "articles/leopard"),
        "--report",
        str(tmp_path / "r.json"),
    )
    assert cli(*base, "db", "datasette", "--output", str(tmp_path / "metadata.json")) == 0
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    assert metadata == datasette_metadata("news")

    async def fetch() -> dict[str, list[dict]]:
        ds = datasette_app.Datasette(files=[str(db)], metadata=metadata)
        rows = {}
        for name in QUERIES:
            query = (
                "?actor=germany&policy=leopard-tanks-ukraine" if name == "track_timeline" else ""
            )
            separator = "&" if query else "?"
            response = await ds.client.get(f"/news/{name}.json{query}{separator}_shape=array")
            assert response.status_code == 200, response.text
            rows[name] = response.json()
        return rows

    rows = asyncio.run(fetch())
    assert {r["actor_name"] for r in rows["latest_stance"]} == {"Germany", "Poland"}
    assert rows["track_timeline"] and all(r["label"] for r in rows["track_timeline"])
    assert isinstance(rows["shifts_with_evidence"], list)
