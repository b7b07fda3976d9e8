"""Status: what the database holds and what the next run would do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from stancetrack import store
from stancetrack.classify import model_identity, resolve_model
from stancetrack.models import Article, Evidence, Run, Shift, Stance, Track
from stancetrack.pipeline import count_pending
from stancetrack.watchlist import load_watchlist


def database_status(engine: Engine, settings: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "database": engine.url.render_as_string(hide_password=True),
        "schema_revision": store.current_revision(engine),
    }
    model_name, model_hash = model_identity(resolve_model(settings.model))
    info["model"] = f"{model_name} ({model_hash[:12] or 'hash known after loading'})"
    with store.session_scope(engine, read_only=True) as session:
        for label, model in (
            ("articles", Article),
            ("evidence", Evidence),
            ("stances", Stance),
            ("shifts", Shift),
        ):
            info[label] = session.scalar(select(func.count(model.id))) or 0
        info["active_tracks"] = (
            session.scalar(select(func.count(Track.id)).where(Track.active)) or 0
        )
        if Path(settings.config).exists() and model_hash:
            info["pending_article_tracks"] = count_pending(
                session, load_watchlist(settings.config), model_hash
            )
        info["recent_runs"] = [
            f"#{r.id} {r.command} {r.status} {r.started_at:%Y-%m-%d %H:%M} {r.counts}"
            for r in session.scalars(select(Run).order_by(Run.id.desc()).limit(5))
        ]
    return info
