import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from stancetrack.classify import LABELS, load_adapter_model, model_identity, resolve_model
from stancetrack.lora import adapter_state, add_adapters


def test_merged_adapter_reproduces_the_trained_lora_model(tmp_path: Path) -> None:
    """What training computes (base + LoRA branch) is what inference loads (merged weights)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from stancetrack.bases import base_model_dir

    torch.manual_seed(0)
    base = base_model_dir("minilm")
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=3, id2label=dict(enumerate(LABELS)), use_safetensors=True
    )
    wrapped = add_adapters(model, rank=4, alpha=8.0)
    assert len(wrapped) == 6 * 6  # six projections in each of six layers
    for name, param in model.named_parameters():
        if "lora_b" in name:  # trained B is non-zero; make the update visible
            torch.nn.init.normal_(param, std=0.02)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(base)
    batch = tokenizer(["Germany: send tanks"], ["Berlin agreed on Wednesday."], return_tensors="pt")
    with torch.inference_mode():
        expected = model(**batch).logits
    save_file(adapter_state(model), str(tmp_path / "adapter.safetensors"))
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "version": "test",
                "labels": list(LABELS),
                "adapter_file": "adapter.safetensors",
                "lora_rank": 4,
                "lora_alpha": 8.0,
            }
        )
    )
    merged, _ = load_adapter_model(tmp_path)
    merged.eval()
    with torch.inference_mode():
        actual = merged(**batch).logits
    assert torch.allclose(actual, expected, atol=1e-4), (actual, expected)
    spec = resolve_model(str(tmp_path))
    assert spec.adapter and len(model_identity(spec)[1]) == 64
