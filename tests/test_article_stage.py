"""The article stage: a second adapter reads a pair's evidence joined, for the pairs its gate
picks, and its reading is averaged into the rule's stance (model card, "Round 13")."""

import json
import sqlite3
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from sqlalchemy import select

from stancetrack import runs, store
from stancetrack.aggregate import (
    aggregate_stance,
    article_stage_reads,
    blend_article_reading,
    joined_evidence,
)
from stancetrack.classify import (
    LABELS,
    ArticleStage,
    StancePair,
    StanceProbs,
    load_classifier,
    model_identity,
    resolve_model,
)
from stancetrack.lora import adapter_state, add_adapters
from stancetrack.models import Evidence, Stance
from tests.conftest import FIXTURES

SUPPORT = StanceProbs(0.9, 0.05, 0.05, 0.02)
OPPOSE = StanceProbs(0.05, 0.9, 0.05, 0.02)
UNSURE = StanceProbs(0.45, 0.40, 0.15, 0.05)
MENTION = StanceProbs(0.02, 0.02, 0.96, 0.9)


def test_joined_evidence_keeps_article_order_and_drops_repeats() -> None:
    assert joined_evidence(["B said no.", "A said yes.", "B said no."]) == "B said no. A said yes."


def test_gates_pick_what_they_name() -> None:
    sure = aggregate_stance([SUPPORT, MENTION])
    unsure = aggregate_stance([UNSURE])
    assert sure.confidence >= 0.6 > unsure.confidence
    assert not article_stage_reads(sure, [SUPPORT, MENTION], ["a", "b"], "unsure")
    assert article_stage_reads(unsure, [UNSURE], ["a"], "unsure")
    assert article_stage_reads(sure, [SUPPORT, MENTION], ["a", "b"], "disagree")
    assert not article_stage_reads(sure, [SUPPORT, SUPPORT], ["a", "b"], "disagree")
    assert not article_stage_reads(sure, [SUPPORT, SUPPORT], ["a", "a"], "multi")
    assert article_stage_reads(sure, [SUPPORT], ["a"], "all")
    with pytest.raises(ValueError, match="unknown article-stage gate 'some'"):
        article_stage_reads(sure, [SUPPORT], ["a"], "some")


def test_blend_averages_and_picks_the_sentence_that_best_shows_the_new_label() -> None:
    evidence = [UNSURE, OPPOSE]
    rule = aggregate_stance(evidence)
    blended = blend_article_reading(rule, evidence, StanceProbs(0.02, 0.96, 0.02, 0.01), 0.5)
    assert blended.probs.oppose == pytest.approx((rule.probs.oppose + 0.96) / 2)
    assert blended.label == "oppose" and blended.key_index == 1
    assert blended.score == pytest.approx(blended.probs.support - blended.probs.oppose, abs=1e-4)
    assert blended.evidence_count == 2
    unchanged = blend_article_reading(rule, evidence, StanceProbs(0.0, 1.0, 0.0, 0.0), 0.0)
    assert unchanged.probs == rule.probs


class _StagedFake:
    """Sentence readings by keyword, and an article stage that reads everything as oppose and
    checks, like another run's writer would, that no write lock is held while it reads."""

    name, hash = "staged-fake", "f" * 64

    def __init__(self, gate: str, folder: Path, db: str) -> None:
        self.article_stage = ArticleStage(folder, gate, 0.5, 256)
        self.joined: list[StancePair] = []
        self.db = db

    def predict(self, pairs, progress=None):
        return [UNSURE if "said" in p.text else MENTION for p in pairs]

    def predict_articles(self, pairs):
        other = sqlite3.connect(self.db, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if the pipeline holds it
        other.rollback()
        other.close()
        self.joined.extend(pairs)
        return [StanceProbs(0.01, 0.98, 0.01, 0.0) for _ in pairs]


@pytest.mark.parametrize("gate", ["unsure", "all"])
def test_pipeline_blends_the_stage_into_the_stances_its_gate_picks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gate: str
) -> None:
    db = str(tmp_path / "s.db")
    engine = store.open_engine(db)
    settings = runs.Settings(db=db, config=FIXTURES / "watchlist.toml")
    runs.ingest_job(engine, [FIXTURES / "articles" / "south-korea"], settings)
    fake = _StagedFake(gate, tmp_path, db)
    monkeypatch.setattr(runs, "load_classifier", lambda *a, **k: fake)
    runs.analyze_job(engine, settings)
    with store.session_scope(engine, read_only=True) as session:
        stances = session.scalars(select(Stance)).all()
        evidence = session.scalars(select(Evidence)).all()
    assert stances and fake.joined
    by_pair: dict[tuple[int, int, int], list[Evidence]] = {}
    for e in evidence:
        by_pair.setdefault((e.article_id, e.actor_id, e.policy_id), []).append(e)
    read = {p.text for p in fake.joined}
    outcomes = set()
    for stance in stances:
        items = sorted(
            by_pair[(stance.article_id, stance.actor_id, stance.policy_id)], key=lambda e: e.id
        )
        rule = aggregate_stance([UNSURE if "said" in e.sentence else MENTION for e in items])
        picked = joined_evidence([e.sentence for e in items]) in read
        assert picked == (gate == "all" or rule.confidence < 0.6)
        outcomes.add(picked)
        if picked:  # half the rule, half the stage's certain oppose
            assert stance.label == "oppose"
            assert stance.score == pytest.approx(rule.score / 2 - 0.485, abs=1e-3)
        else:
            assert (stance.label, stance.score) == (rule.label, pytest.approx(rule.score, abs=1e-3))
    assert outcomes == ({True, False} if gate == "unsure" else {True})


def _tiny_adapter(folder: Path, seed: int, extra: dict | None = None) -> None:
    """A LoRA adapter folder over the MiniLM base with a visible (random) update."""
    from stancetrack.bases import base_model_dir
    from stancetrack.classify import base_classifier

    torch.manual_seed(seed)
    model = base_classifier(list(LABELS), "minilm")
    add_adapters(model, rank=4, alpha=8.0)
    for name, param in model.named_parameters():
        if "lora_b" in name or "classifier" in name:
            torch.nn.init.normal_(param, std=0.05)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(adapter_state(model), str(folder / "adapter.safetensors"))
    config = {
        "version": "test",
        "labels": list(LABELS),
        "adapter_file": "adapter.safetensors",
        "lora_rank": 4,
        "lora_alpha": 8.0,
        **(extra or {}),
    }
    (folder / "config.json").write_text(json.dumps(config))
    assert base_model_dir("minilm").exists()


def test_adapter_folder_with_a_stage_loads_it_on_first_use_and_hashes_it(tmp_path: Path) -> None:
    stage = {"folder": "article-stage", "gate": "unsure", "weight": 0.5, "max_length": 256}
    _tiny_adapter(tmp_path / "model", seed=1, extra={"article_stage": stage})
    _tiny_adapter(tmp_path / "model" / "article-stage", seed=2)
    classifier = load_classifier(str(tmp_path / "model"), precision="fp32")
    assert classifier.article_stage is not None and classifier.article_stage.gate == "unsure"
    assert classifier._stage_reader is None  # not loaded until a pair needs it
    pair = StancePair("Germany", "send tanks", "Berlin agreed. Later it said it would wait.", "")
    staged = classifier.predict_articles([pair])[0]
    alone = load_classifier(str(tmp_path / "model" / "article-stage"), precision="fp32")
    direct = alone.predict([pair])[0]
    for label in ("support", "oppose", "neutral"):
        assert getattr(staged, label) == pytest.approx(getattr(direct, label), abs=1e-4)
    assert classifier.predict([pair])[0] != pytest.approx(staged)  # two different adapters
    before = model_identity(resolve_model(str(tmp_path / "model")))[1]
    _tiny_adapter(tmp_path / "model" / "article-stage", seed=3)
    assert model_identity(resolve_model(str(tmp_path / "model")))[1] != before


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"folder": "gone", "gate": "unsure"}, "article stage missing: {dir}/gone (named in "),
        ({"folder": "stage", "gate": "often"}, "unknown article_stage gate 'often' (use unsure,"),
        ({"folder": "stage", "gate": "all", "weight": 2}, "weight must be 0-1"),
        ({"gate": "all"}, "article_stage needs a table with folder, gate"),
        ("stage", "article_stage needs a table with folder, gate"),
    ],
)
def test_a_broken_stage_config_is_a_one_line_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stage, message: str
) -> None:
    from stancetrack.cli import main

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "stage").mkdir()
    (folder / "stage" / "config.json").write_text("{}")
    config = {"version": "t", "labels": list(LABELS), "adapter_file": "a.safetensors"}
    (folder / "config.json").write_text(json.dumps({**config, "article_stage": stage}))
    args = ["--db", str(tmp_path / "d.db"), "--config", str(FIXTURES / "watchlist.toml")]
    args += ["--model", str(folder), "run", str(FIXTURES / "articles" / "leopard")]
    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err.strip()
    assert exited.value.code not in (0, None), err
    assert len(err.splitlines()) == 1 and message.format(dir=folder) in err, err
    assert "unexpected" not in err.lower()
