"""Recorded jobs: an interrupted run keeps its committed batches and is marked failed."""

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from stancetrack import pipeline, runs, store
from stancetrack.classify import load_classifier
from stancetrack.models import Analysis, Run, Stance
from tests.conftest import FIXTURES


def test_interrupted_analysis_keeps_finished_batches_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_stance_model: Path
) -> None:
    engine = store.open_engine(str(tmp_path / "i.db"))
    settings = runs.Settings(
        db=str(tmp_path / "i.db"), config=FIXTURES / "watchlist.toml", model=str(tiny_stance_model)
    )
    runs.ingest_job(engine, [FIXTURES / "articles"], settings)
    monkeypatch.setattr(pipeline, "ARTICLE_BATCH", 10)
    real = load_classifier(str(tiny_stance_model))
    calls = {"n": 0}

    class Interrupting:
        name, hash = real.name, real.hash

        def predict(self, pairs, progress=None):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return real.predict(pairs)

    monkeypatch.setattr(runs, "load_classifier", lambda *a, **k: Interrupting())
    with pytest.raises(KeyboardInterrupt):
        runs.analyze_job(engine, settings)
    with store.session_scope(engine) as session:
        failed = session.scalars(select(Run).order_by(Run.id.desc())).first()
        assert failed is not None
        assert (failed.status, failed.error) == ("failed", "interrupted (Ctrl-C)")
        done = session.scalar(
            select(func.count(func.distinct(Analysis.article_id))).where(Analysis.status == "done")
        )
        assert done == 20  # two batches of ten articles were committed before the interrupt
        kept = session.scalar(select(func.count(Stance.id)))
        assert kept and kept > 0
    result = runs.analyze_job(engine, settings)
    assert result.counts["articles_analysed"] == 44 - 20
    with store.session_scope(engine) as session:
        last = session.scalars(select(Run).order_by(Run.id.desc())).first()
        assert last is not None and last.status == "ok"
        assert json.loads(last.counts)["articles_analysed"] == 24
