"""Decoder-LLM classifiers: ``-m llm -p preset=<Gemma / Qwen3 / Llama 3 preset or directory>``.

The backbone's hidden state at the last real token (``head=last``; right or left padding,
read from the padding mask) -> the sigmoid head. LoRA is on by default (``lora_rank=8``,
``lora_targets``: KerasHub's default query/value projections): the base weights are frozen
and, with ``base_dtype=auto``, held in bfloat16 on TPUs and mixed-precision GPUs. An
optional ``prompt`` wraps each text (``"Is this tweet about a disaster? {text} Answer:"``).
Long texts keep their last tokens (``truncation=tail``), so the prompt's end and the token
read by the head stay. A saved fold keeps only the LoRA adapters + head
(``trainable.safetensors``) and the preset reference; prediction reloads the base from the
same preset. Everything else is ``kagglekit_plugins.transformer.TransformerClassifier``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kagglekit.hookspecs import hookimpl
from kagglekit_plugins.transformer import TransformerClassifier, TransformerParams


@dataclass
class LLMParams(TransformerParams):
    head: Literal["cls", "mean", "max", "mean-max", "last", "gru", "bigru", "lstm", "bilstm"] = (
        "last"
    )
    truncation: Literal["head", "tail", "head+tail"] = "tail"
    lora_rank: int = 8
    base_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    prompt: str | None = None  # a template with {text}
    dropout: float = 0.0
    batch_size: int = 8
    predict_batch_size: int = 16
    max_length: int | None = 256
    epochs: int = 1
    weight_decay: float = 0.0

    def validate(self):
        TransformerParams.validate(self)
        if self.prompt is not None and "{text}" not in self.prompt:
            raise ValueError(f"prompt must contain {{text}}, got {self.prompt!r}")


class LLMClassifier(TransformerClassifier):
    """A decoder LLM (Gemma, Qwen3, Llama 3, ...) + LoRA as a classifier."""

    name = "llm"
    Params = LLMParams

    def features(self, texts):
        prompt = self.params.prompt
        if prompt:
            texts = [prompt.replace("{text}", str(t)) for t in texts]
        return super().features(texts)


@hookimpl
def register_models(register):
    register("llm", LLMClassifier)
