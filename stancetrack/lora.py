"""Low-rank adapters (LoRA) over a base encoder (BERT or MPNet), without a PEFT dependency.

Training wraps the attention and feed-forward projections in `LoRALinear`; shipping saves only
the low-rank matrices plus the freshly trained classifier head (and BERT's pooler). Loading merges
`W + scale * B @ A` into the base weights once, so inference runs the plain encoder graph.
torch is imported inside the functions: this module is imported only by code that classifies.
"""

from __future__ import annotations

from typing import Any

# The attention and feed-forward projections of each layer, as BERT (MiniLM) and MPNet name them.
LAYER_PREFIXES = ("bert.encoder.layer.", "mpnet.encoder.layer.")
TARGET_SUFFIXES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "attention.attn.q",
    "attention.attn.k",
    "attention.attn.v",
    "attention.attn.o",
    "intermediate.dense",
    "output.dense",
)
# Trained in full and shipped as they are: they have no pre-trained values to adapt.
FULL_PREFIXES = ("bert.pooler.", "classifier.")


def is_target(module_name: str) -> bool:
    return module_name.startswith(LAYER_PREFIXES) and module_name.endswith(TARGET_SUFFIXES)


def add_adapters(model: Any, rank: int, alpha: float, dropout: float = 0.1) -> list[str]:
    """Freeze the base model and wrap every target Linear in a trainable LoRA layer."""
    import torch
    from torch import nn

    class LoRALinear(nn.Module):
        def __init__(self, base: nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
            self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
            nn.init.kaiming_uniform_(self.lora_a, a=5**0.5)
            self.scale = alpha / rank
            self.dropout = nn.Dropout(dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            update = self.dropout(x) @ self.lora_a.T @ self.lora_b.T
            return self.base(x) + update * self.scale

    for param in model.parameters():
        param.requires_grad = False
    wrapped = []
    for name, module in list(model.named_modules()):
        if is_target(name) and isinstance(module, nn.Linear):
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, LoRALinear(module))
            wrapped.append(name)
    for name, param in model.named_parameters():
        if name.startswith(FULL_PREFIXES):
            param.requires_grad = True
    return wrapped


def adapter_state(model: Any) -> dict[str, Any]:
    """The tensors to ship: LoRA matrices, pooler and classifier head."""
    state = {}
    for name, tensor in model.state_dict().items():
        if ".lora_a" in name or ".lora_b" in name or name.startswith(FULL_PREFIXES):
            state[name] = tensor.detach().to("cpu").contiguous()
    return state


def merge_adapter(model: Any, state: dict[str, Any], scale: float) -> None:
    """Fold shipped LoRA matrices into a plain model's weights and load the head."""
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in state.items():
            if name.endswith(".lora_a"):
                module = name[: -len(".lora_a")]
                lora_b = state[f"{module}.lora_b"]
                weight = params[f"{module}.base.weight".replace(".base.weight", ".weight")]
                weight += scale * (lora_b.float() @ tensor.float()).to(weight.dtype)
            elif name.startswith(FULL_PREFIXES):
                params[name].copy_(tensor.to(params[name].dtype))
