"""Rebuild the default stance model: LoRA over all-MiniLM-L6-v2, fine-tuned as a pair classifier.

Data: our labelled actor-stance sentences (`training/data/train.jsonl`) plus a sample of VAST
(`../shared/data/vast`, research use, read in place) so the model keeps general topic stance.
Writes the adapter (safetensors), its config and the training log into `output_dir`.
Not part of the test suite or CI: it takes minutes on 2 cores.
"""

from __future__ import annotations

import csv
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from stancetrack.bases import UNNAMED_BASE, base_encoder, base_model_dir
from stancetrack.classify import (
    FULL_SETTINGS_FILE,
    LABELS,
    NO_STANCE,
    mark_mention,
    pair_prompt,
)
from stancetrack.errors import ModelError, StancetrackError

T = TypeVar("T")
VAST_LABELS = {"0": "oppose", "1": "support", "2": "neutral"}
# The model learns four outputs; neutral records whose case says the actor took no position
# become no_stance, the rest (undecided, conditional, weighing it) stay neutral.
TRAIN_LABELS = (*LABELS, NO_STANCE)
UNDECIDED_CASES = {
    "might_change",
    "not_rule_out",
    "condition",
    "past_vs_present",
    "long_resisted",
    "reversal_reported",
    "reluctance",  # hedged reluctance ("appeared reluctant") is undecided, not a mere mention
}
VAST_ACTOR = "The author"
# Opposite propositions for contrast training: the same evidence against "refuse to X" flips
# support and oppose, so the model must read the proposition, not the sentence's mood.
NEGATION_TEMPLATES = (
    "not {p}",
    "refuse to {p}",
    "reject calls to {p}",
    "hold off on plans to {p}",
    "block moves to {p}",
    "decline to {p}",
)
FLIPPED = {"support": "oppose", "oppose": "support"}


@dataclass
class TrainConfig:
    data: str = "training/data/train.jsonl"
    vast_dir: str = "../shared/data/vast"
    vast_samples: int = 1500  # VAST rows per epoch
    vast_resample: bool = False  # draw fresh VAST rows every epoch (more of VAST, same cost)
    negate_share: float = 0.0  # share of our examples shown each epoch against the opposite
    opposites: str = ""  # JSON Lines of hand-written opposite propositions (policy, opposite)
    paraphrase_share: float = 0.0  # share of our examples shown with a reworded proposition
    paraphrases: str = ""  # JSON Lines of hand-written rewordings (policy, paraphrases)
    members: int = 1  # adapters trained with seeds seed, seed+1, ...; inference averages them
    include_ours: bool = True
    epochs: int = 3  # the default (MPNet) recipe; the fast MiniLM model trains 6
    batch_size: int = 16
    learning_rate: float = 6e-4
    head_learning_rate: float = 1e-3
    warmup_ratio: float = 0.06
    lora_rank: int = 16
    lora_alpha: float = 32.0
    max_length: int = 128
    seed: int = 13
    bf16: bool = True
    method: str = "lora"  # "lora" (what ships) or "full" (all weights; for comparison)
    base: str = "mpnet"  # the base encoder (stancetrack.bases): mpnet (default) or minilm (fast)
    full_learning_rate: float = 5e-5
    mark_actor: bool = True  # bracket the actor's mention in the evidence (needs `mention`)
    eval_data: str = ""  # labelled JSON Lines scored after every epoch (the held-out split)
    init_from: str = ""  # an adapter folder to start from (a second stage), not a fresh adapter


@dataclass(frozen=True)
class Example:
    actor: str
    proposition: str
    text: str
    label: str  # support / oppose / neutral, as labelled
    target: str = ""  # what the model learns: the label, or no_stance for stance-less neutrals
    mention: str = ""  # the words in `text` that name the actor ("Berlin" for Germany)
    policy: str = ""  # the policy id and case tag, for reports on the data (not trained on)
    case: str = ""

    @property
    def train_label(self) -> str:
        return self.target or self.label

    def evidence(self, mark_actor: bool) -> str:
        """The second segment as the model sees it, marked as inference will mark it."""
        return mark_mention(self.text, self.mention) if mark_actor else self.text


def training_target(label: str, case: str | None) -> str:
    if label == "neutral" and case not in UNDECIDED_CASES:
        return NO_STANCE
    return label


def _json_lines(path: str | Path, what: str, build: Callable[[dict[str, Any]], T]) -> list[T]:
    """build(row) for each non-blank line of a JSON Lines file; a bad line is an error that
    names the file and line."""
    built = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                built.append(build(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise StancetrackError(f"{path}:{number}: bad {what} record ({exc})") from None
    return built


def load_labelled(path: str | Path) -> list[Example]:
    """Our JSON Lines: actor, proposition, text, label per line."""
    return _json_lines(
        path,
        "labelled",
        lambda row: Example(
            row["actor"],
            row["proposition"],
            row["text"],
            row["label"],
            training_target(row["label"], row.get("case")),
            row.get("mention", ""),
            row.get("policy", ""),
            row.get("case", ""),
        ),
    )


def load_vast(vast_dir: str | Path, split: str = "train") -> list[tuple[Example, str]]:
    """VAST rows as examples, with their zero-shot (0) / few-shot (1) flag."""
    path = Path(vast_dir) / f"vast_{split}.csv"
    if not path.exists():
        raise StancetrackError(f"VAST not found: {path} (it lives in ../shared/data/vast)")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = VAST_LABELS[row["label"]]
            rows.append(
                (
                    Example(
                        VAST_ACTOR,
                        row["topic_str"],
                        row["post"],
                        label,
                        training_target(label, None),
                    ),
                    row.get("seen?", "1"),
                )
            )
    return rows


def load_opposites(path: str | Path) -> dict[str, str]:
    """Hand-written opposite propositions by policy id ("ban fur farming" ->
    "allow fur farming to continue")."""
    return dict(_json_lines(path, "opposite", lambda row: (row["policy"], str(row["opposite"]))))


def load_paraphrases(path: str | Path) -> dict[str, list[str]]:
    """Hand-written rewordings of each policy's proposition, same direction ("ban fur farming"
    -> "outlaw fur farms")."""
    return dict(
        _json_lines(
            path, "paraphrase", lambda row: (row["policy"], [str(p) for p in row["paraphrases"]])
        )
    )


def reworded(example: Example, rng: random.Random, paraphrases: dict[str, list[str]]) -> Example:
    """The same example with one of its policy's rewordings as the proposition (if any)."""
    options = paraphrases.get(example.policy)
    return replace(example, proposition=rng.choice(options)) if options else example


def negated(
    example: Example, rng: random.Random, opposites: dict[str, str] | None = None
) -> Example:
    """The same evidence against the opposite proposition: support and oppose swap. The
    hand-written opposite of the example's policy where there is one, else a template."""
    written = (opposites or {}).get(example.policy)
    return replace(
        example,
        proposition=written or rng.choice(NEGATION_TEMPLATES).format(p=example.proposition),
        label=FLIPPED.get(example.label, example.label),
        target=FLIPPED.get(example.target, example.target),
    )


@dataclass(frozen=True)
class Sources:
    """What epochs draw from: our examples, the shuffled VAST pool, and the order in which
    the mixed examples are laid out (the same every epoch)."""

    ours: list[Example]
    vast: list[Example]
    order: list[int]
    opposites: dict[str, str] = field(default_factory=dict)
    paraphrases: dict[str, list[str]] = field(default_factory=dict)

    @property
    def per_epoch(self) -> int:
        return len(self.order)


def load_sources(config: TrainConfig) -> Sources:
    ours = load_labelled(config.data) if config.include_ours else []
    rng = random.Random(config.seed)
    vast: list[Example] = []
    if config.vast_samples:
        vast = [e for e, _ in load_vast(config.vast_dir)]
        rng.shuffle(vast)
    # One shuffle of the mixed list, from the same generator: the order every model so far
    # was trained on, so a seed still rebuilds the same weights.
    order = list(range(len(ours) + min(config.vast_samples, len(vast))))
    rng.shuffle(order)
    opposites = load_opposites(config.opposites) if config.opposites else {}
    paraphrases = load_paraphrases(config.paraphrases) if config.paraphrases else {}
    return Sources(ours, vast, order, opposites, paraphrases)


def epoch_examples(sources: Sources, config: TrainConfig, epoch: int) -> list[Example]:
    """What one epoch trains on: our examples, a `negate_share` of them against the opposite
    proposition and a `paraphrase_share` of the rest against a rewording (drawn anew each
    epoch), and `vast_samples` VAST rows (the same rows every epoch, or the next slice of the
    pool with `vast_resample`)."""
    rng = random.Random(config.seed * 1009 + epoch)
    chosen = []
    for e in sources.ours:
        # No draws when a share is 0, so a seed rebuilds the weights of earlier recipes.
        if config.negate_share and rng.random() < config.negate_share:
            e = negated(e, rng, sources.opposites)
        elif config.paraphrase_share and rng.random() < config.paraphrase_share:
            e = reworded(e, rng, sources.paraphrases)
        chosen.append(e)
    vast = sources.vast
    take = min(config.vast_samples, len(vast))
    start = (epoch * take) % len(vast) if config.vast_resample and vast else 0
    chosen += [vast[(start + i) % len(vast)] for i in range(take)]
    return [chosen[i] for i in sources.order]


def length_bucketed_batches(
    lengths: list[int], batch_size: int, seed: int, window: int = 64
) -> list[list[int]]:
    """Shuffled batches of similar length: sort within windows of `window` batches, then shuffle
    the batches. Padding per batch then stays short when long VAST posts are mixed with our
    one-line sentences (measured: see the model card)."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch_size * window
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _encode(tokenizer: Any, batch: list[Example], config: TrainConfig) -> Any:
    """One padded batch of pairs, worded and marked as inference will see them."""
    return tokenizer(
        [pair_prompt(e.actor, e.proposition) for e in batch],
        [e.evidence(config.mark_actor) for e in batch],
        padding=True,
        truncation="longest_first",
        max_length=config.max_length,
        return_tensors="pt",
    )


def _epoch_macro_f1(model: Any, tokenizer: Any, config: TrainConfig) -> float:
    """Score the model being trained on `config.eval_data` (no_stance counts as neutral)."""
    import torch

    from stancetrack.evaluate import score

    examples = load_labelled(config.eval_data)
    predicted = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(examples), 64):
            batch = examples[start : start + 64]
            encoded = _encode(tokenizer, batch, config)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                probs = torch.softmax(model(**encoded).logits.float(), dim=-1)
            for row in probs.tolist():
                by_label = dict(zip(TRAIN_LABELS, row, strict=True))
                by_label["neutral"] += by_label.pop(NO_STANCE)
                predicted.append(max(LABELS, key=by_label.__getitem__))
    model.train()
    return score([e.label for e in examples], predicted, "sentence").macro_f1


def _fit(config: TrainConfig, log: Callable[[str], None]) -> tuple[Any, Any, dict[str, Any]]:
    """Fine-tune one model with `config.seed`; returns it, its tokenizer and training stats."""
    import torch
    from transformers import AutoTokenizer

    from stancetrack.classify import base_classifier
    from stancetrack.lora import FULL_PREFIXES, add_adapters
    from stancetrack.quiet import quiet_transformers

    quiet_transformers()
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    sources = load_sources(config)
    base = base_model_dir(config.base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = base_classifier(TRAIN_LABELS, config.base)
    if config.method == "full":
        groups = [
            {
                "params": [
                    p for n, p in model.named_parameters() if not n.startswith(FULL_PREFIXES)
                ],
                "lr": config.full_learning_rate,
            },
            {
                "params": [p for n, p in model.named_parameters() if n.startswith(FULL_PREFIXES)],
                "lr": config.head_learning_rate,
            },
        ]
    else:
        add_adapters(model, config.lora_rank, config.lora_alpha)
        if config.init_from:
            start_from_adapter(model, config)
        groups = [
            {
                "params": [
                    p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n
                ],
                "lr": config.learning_rate,
            },
            {
                "params": [
                    p for n, p in model.named_parameters() if p.requires_grad and "lora_" not in n
                ],
                "lr": config.head_learning_rate,
            },
        ]
    optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
    # Exact for every epoch: windows are multiples of the batch size, only the last is short.
    steps_per_epoch = (sources.per_epoch + config.batch_size - 1) // config.batch_size
    total_steps = steps_per_epoch * config.epochs
    warmup = max(1, int(total_steps * config.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(
            (step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup))
        ),
    )
    label_ids = {label: i for i, label in enumerate(TRAIN_LABELS)}
    started = time.time()
    model.train()
    history = []
    epoch_scores: list[float] = []
    for epoch in range(config.epochs):
        running = 0.0
        examples = epoch_examples(sources, config, epoch)
        lengths = [len(e.proposition) + len(e.actor) + len(e.text) for e in examples]
        plan = length_bucketed_batches(lengths, config.batch_size, config.seed + epoch)
        for step, indices in enumerate(plan):
            batch = [examples[i] for i in indices]
            encoded = _encode(tokenizer, batch, config)
            labels = torch.tensor([label_ids[e.train_label] for e in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                logits = model(**encoded).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            running += loss.item()
            if (step + 1) % 50 == 0:
                log(
                    f"epoch {epoch + 1} step {step + 1}/{steps_per_epoch} "
                    f"loss {running / 50:.4f} ({time.time() - started:.0f} s)"
                )
                history.append(round(running / 50, 4))
                running = 0.0
        if config.eval_data:
            f1 = _epoch_macro_f1(model, tokenizer, config)
            log(f"epoch {epoch + 1} macro-F1 on {config.eval_data}: {f1:.3f}")
            epoch_scores.append(round(f1, 4))
    stats = {
        "seed": config.seed,
        "train_examples": sources.per_epoch,
        "train_seconds": round(time.time() - started, 1),
        "loss_history": history,
        "eval_macro_f1_by_epoch": epoch_scores,
    }
    return model, tokenizer, stats


def start_from_adapter(model: Any, config: TrainConfig) -> None:
    """Load a trained adapter (its first member) into freshly wrapped LoRA layers, so a second
    stage continues from it instead of from zero."""
    import torch
    from safetensors.torch import load_file

    from stancetrack.classify import adapter_config, adapter_files

    folder = Path(config.init_from)
    if not (folder / "config.json").is_file():
        raise ModelError(f"--init-from {folder}: not an adapter folder (no config.json)")
    card = with_base(adapter_config(folder))
    expected = {"base": config.base, "lora_rank": config.lora_rank, "lora_alpha": config.lora_alpha}
    found = {key: card.get(key) for key in expected}
    if found != expected:
        raise ModelError(f"--init-from {folder}: adapter has {found}, this run needs {expected}")
    state = load_file(str(folder / adapter_files(card)[0]))
    params = dict(model.named_parameters())
    missing = sorted(set(state) - set(params))
    if missing:
        raise ModelError(
            f"--init-from {folder}: {len(missing)} tensors fit no layer, such as {missing[0]}"
        )
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor.to(params[name].dtype))


def member_file(index: int) -> str:
    """File of the index-th (0-based) ensemble member: adapter.safetensors, adapter-2..."""
    return "adapter.safetensors" if index == 0 else f"adapter-{index + 1}.safetensors"


def train(
    config: TrainConfig, output_dir: str | Path, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """Fine-tune and save the adapter (or `config.members` adapters with seeds seed, seed+1,
    ... whose probabilities inference averages); returns the summary written beside them."""
    from safetensors.torch import save_file

    from stancetrack.lora import adapter_state

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if config.method == "full":
        model, tokenizer, stats = _fit(config, log)
        # A plain transformers folder in fp16: loadable with --model like any local model.
        model.half().save_pretrained(output, safe_serialization=True)
        tokenizer.save_pretrained(output)
        settings = {"mark_actor": config.mark_actor, **stats, "recipe": asdict(config)}
        (output / FULL_SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n")
        log(f"saved full fine-tuned model to {output} in {time.time() - started:.0f} s")
        return {"train_seconds": round(time.time() - started, 1), "method": "full"}
    members = []
    for index in range(config.members):
        member_config = replace(config, seed=config.seed + index)
        if config.members > 1:
            log(f"member {index + 1}/{config.members}: seed {member_config.seed}")
        model, _, stats = _fit(member_config, log)
        # fp16 halves the file; the merge happens in fp32, so accuracy is unchanged (model card).
        state = {k: v.half() for k, v in adapter_state(model).items()}
        save_file(state, str(output / member_file(index)))
        members.append({"adapter_file": member_file(index), **stats})
    summary = write_adapter_config(
        output, adapter_settings(config), members, asdict(config), time.time() - started
    )
    log(f"saved {len(members)} adapter(s) to {output} in {summary['train_seconds']} s")
    return summary


def adapter_settings(config: TrainConfig) -> dict[str, Any]:
    """What inference needs to know about adapters trained with `config`."""
    base = base_encoder(config.base)
    return {
        "version": time.strftime("%Y.%m.%d"),
        "base": base.key,
        "base_model": f"{base.name} (PyPI {' + '.join(base.packages)})",
        "labels": list(TRAIN_LABELS),
        "lora_rank": config.lora_rank,
        "lora_alpha": config.lora_alpha,
        "max_length": config.max_length,
        "input": base.pair_input,
        "mark_actor": config.mark_actor,
    }


SHARED_SETTINGS = ("base", "labels", "lora_rank", "lora_alpha", "mark_actor", "max_length")


def write_adapter_config(
    output: Path,
    settings: dict[str, Any],
    members: list[dict[str, Any]],
    recipe: dict[str, Any],
    train_seconds: float,
) -> dict[str, Any]:
    """The config.json of an adapter folder: settings, members (file, seed, training stats) and
    recipe. The first member's stats also sit at the top, where one-adapter readers look."""
    summary = {
        **settings,
        "adapter_file": members[0]["adapter_file"],
        "adapter_files": [m["adapter_file"] for m in members],
        "train_examples": members[0]["train_examples"],
        "train_seconds": round(train_seconds, 1),
        "loss_history": members[0]["loss_history"],
        "eval_macro_f1_by_epoch": members[0]["eval_macro_f1_by_epoch"],
        "members": members,
        "recipe": {**recipe, "members": len(members)},
    }
    (output / "config.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _members(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The members a folder's config lists (configs older than ensembles list none)."""
    if card.get("members"):
        return list(card["members"])
    return [
        {
            "adapter_file": card["adapter_file"],
            "seed": card["recipe"]["seed"],
            "train_examples": card["train_examples"],
            "train_seconds": card["train_seconds"],
            "loss_history": card["loss_history"],
            "eval_macro_f1_by_epoch": card.get("eval_macro_f1_by_epoch", []),
        }
    ]


def _settings(card: dict[str, Any]) -> dict[str, Any]:
    """The adapter settings part of a folder's config (what `adapter_settings` wrote)."""
    card = with_base(card)
    return {k: card[k] for k in ("version", "base_model", "input", *SHARED_SETTINGS)}


def with_base(card: dict[str, Any]) -> dict[str, Any]:
    """A folder's config with its base key (configs from before the MPNet base are MiniLM)."""
    return {"base": UNNAMED_BASE, **card}


def combine_adapters(folders: list[str | Path], output_dir: str | Path) -> dict[str, Any]:
    """One ensemble folder from adapter folders trained separately with the same settings
    (e.g. `stancetrack train --seed 13` and `--seed 14`): the same files and config that
    `train` with `members=len(folders)` writes. An ensemble folder adds all its members."""
    import shutil

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    cards = [with_base(json.loads((Path(f) / "config.json").read_text())) for f in folders]
    for folder, card in zip(folders, cards, strict=True):
        if any(card.get(k) != cards[0].get(k) for k in SHARED_SETTINGS):
            raise StancetrackError(
                f"{folder}: adapter settings differ from {folders[0]} ({SHARED_SETTINGS})"
            )
    members: list[dict[str, Any]] = []
    for folder, card in zip(folders, cards, strict=True):
        for member in _members(card):
            name = member_file(len(members))
            shutil.copy(Path(folder) / member["adapter_file"], output / name)
            members.append({**member, "adapter_file": name})
    settings = _settings(cards[0])
    total = sum(m["train_seconds"] for m in members)
    return write_adapter_config(output, settings, members, cards[0]["recipe"], total)


def member_folder(folder: str | Path, index: int, output_dir: str | Path) -> Path:
    """The index-th (0-based) member of an ensemble folder alone, as a one-adapter folder
    (to measure what the ensemble adds)."""
    import shutil

    source, output = Path(folder), Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    card = json.loads((source / "config.json").read_text())
    member = _members(card)[index]
    shutil.copy(source / member["adapter_file"], output / member_file(0))
    settings = _settings(card)
    recipe = {**card["recipe"], "seed": member["seed"]}
    single = {**member, "adapter_file": member_file(0)}
    write_adapter_config(output, settings, [single], recipe, member["train_seconds"])
    return output
