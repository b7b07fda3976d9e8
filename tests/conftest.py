"""Shared test fixtures: a temp working directory per test and tiny real transformer models."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
WATCHLIST = FIXTURES / "watchlist.toml"

TINY_WORDS = (
    "south korea seoul germany berlin turkey ankara poland warsaw hungary send lethal weapons "
    "ammunition ukraine tanks leopard sweden nato membership approve refused agreed will not "
    "may review rule out backs rejects said government officials the a to of and on in for "
    "is has long resisted calls it would consider support oppose neutral : . , ' s"
).split()


def _write_tiny_model(folder: Path, labels: list[str], seed: int) -> Path:
    """A 2-layer random-weight BERT with a 100-word vocabulary, saved as safetensors."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(TINY_WORDS)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=256,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_stance_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_tiny_model(
        tmp_path_factory.mktemp("tiny-stance"), ["support", "oppose", "neutral"], seed=1
    )


@pytest.fixture(scope="session")
def tiny_nli_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_tiny_model(
        tmp_path_factory.mktemp("tiny-nli"), ["entailment", "neutral", "contradiction"], seed=2
    )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session (see tests/postgres.py), or a skip."""
    from tests import postgres

    if os.environ.get("STANCETRACK_TEST_POSTGRES"):
        yield os.environ["STANCETRACK_TEST_POSTGRES"]
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install -e '.[postgres]')")
    if postgres.find_binaries() is None:
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: an SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield str(tmp_path / "test.db")
        return
    from tests import postgres

    server = request.getfixturevalue("postgres_server_url")
    with postgres.fresh_database(server) as url:
        yield url


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test works in its own folder with its own database and no inherited settings."""
    for name in (
        "STANCETRACK_DB",
        "STANCETRACK_CONFIG",
        "STANCETRACK_MODEL",
        "STANCETRACK_DEBUG",
        "STANCETRACK_FETCH_DELAY",
        "STANCETRACK_USER_AGENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def watchlist_file(tmp_path: Path) -> Path:
    target = tmp_path / "stancetrack.toml"
    shutil.copy(WATCHLIST, target)
    return target


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def article_md(
    title: str, day: str, body: str, source: str = "Test Wire", url: str | None = None
) -> str:
    url = url or f"https://wire.example.com/{day}/{hashlib.md5(body.encode()).hexdigest()[:8]}"
    return f"---\ntitle: {title}\ndate: {day}\nsource: {source}\nurl: {url}\n---\n{body}\n"


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
