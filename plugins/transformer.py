"""Fine-tuned transformers on KerasHub: ``transformer`` (any preset), ``distilbert``, ``bert``.

``-p preset=`` takes a local directory (KerasHub preset, Hugging Face layout), an alias
(``distilbert``, ``distilbert-multilingual``, ``bert``), a KerasHub preset name or a
``kaggle://`` / ``hf://`` handle; see ``kagglekit.hub.presets``. What differs from the other
Keras families: texts are tokenized with the checkpoint's own tokenizer (``tokenizers``)
and fed to the backbone + a masked head (``-p head=cls|mean|max|mean-max|gru|bigru|lstm|bilstm``);
the recipe is AdamW (no weight decay on biases/LayerNorm), warmup + linear decay and
gradient clipping. Everything else (length bucketing with dynamic padding, early stopping
on an inner 10% of the training rows, mixed precision, accelerator, saved fold) is
``kagglekit.keras.model.KerasModel``'s. Keras is imported inside fit/predict/load only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kagglekit.errors import ParamError
from kagglekit.hookspecs import hookimpl
from kagglekit.keras.model import KerasModel, KerasParams

HEADS = ("cls", "mean", "max", "mean-max", "gru", "bigru", "lstm", "bilstm")


@dataclass
class TransformerParams(KerasParams):
    preset: str | None = None
    head: Literal["cls", "mean", "max", "mean-max", "gru", "bigru", "lstm", "bilstm"] = "mean"
    max_length: int | None = None  # tokens per text; None: 128, or the backbone's limit
    dropout: float = 0.1
    rnn_units: int = 64
    freeze_backbone: bool = False
    epochs: int = 3
    learning_rate: float | None = None  # 3e-5 fine-tuning, 1e-3 with freeze_backbone
    lr_schedule: Literal["constant", "plateau", "exponential", "cosine", "warmup-linear"] = \
        "warmup-linear"
    optimizer: Literal["adam", "adamw"] = "adamw"
    weight_decay: float = 0.01
    clipnorm: float | None = 1.0
    predict_batch_size: int = 64
    jit_compile: bool | None = False  # XLA recompiles for every new batch shape bucketing makes

    def validate(self):
        KerasParams.validate(self)
        if self.max_length is not None and self.max_length < 4:
            raise ValueError(f"max_length must be >= 4, got {self.max_length}")


class TransformerClassifier(KerasModel):
    """Fine-tunes any KerasHub / Hugging Face transformer (-p preset=...) with a masked head."""

    name = "transformer"
    Params = TransformerParams
    keras_modules = ("keras_hub",)  # registers the backbone classes for loading
    saved_files = ("tokenizer.json",)

    def default_learning_rate(self) -> float:
        return 1e-3 if self.params.freeze_backbone else 3e-5

    def fit_encoder(self, train, valid):
        from kagglekit.hub.backbone import backbone_inputs, load_backbone
        from kagglekit.hub.presets import resolve
        from kagglekit.hub.tokenizer import SubwordTokenizer

        p = self.params
        preset = resolve(p.preset, what=f"model {self.name}")
        self.preset_ = str(preset.path)
        self.tokenizer_ = SubwordTokenizer.from_directory(preset.path)
        with self.accelerator().scope():
            self._backbone = load_backbone(preset.path)
        limit = getattr(self._backbone, "max_sequence_length", None)
        self.maxlen_ = int(p.max_length or min(128, int(limit or 128)))
        if limit is not None and self.maxlen_ > int(limit):
            raise ParamError(f"{self.name}: max_length={self.maxlen_} is longer than the "
                             f"backbone's max_sequence_length={limit}")
        if self.tokenizer_.vocab_size > int(getattr(self._backbone, "vocabulary_size", 1 << 30)):
            raise ParamError(f"{self.name}: the tokenizer has {self.tokenizer_.vocab_size} "
                             f"tokens but the backbone only {self._backbone.vocabulary_size}; "
                             f"preset {preset.path} mixes two checkpoints")
        self.model_inputs = backbone_inputs(self._backbone)
        return self.features(train.text)

    def features(self, texts):
        return self.tokenizer_.encode(texts, self.maxlen_)

    def body(self, keras):
        from kagglekit.hub.backbone import sequence_head

        p = self.params
        return sequence_head(self._backbone, head=p.head, rnn_units=p.rnn_units,
                             freeze_backbone=p.freeze_backbone)

    def describe(self) -> dict:
        return {"preset": self.preset_, "max_length": self.maxlen_, "head": self.params.head}

    def save_extra(self, directory: Path) -> None:
        self.tokenizer_.save(directory)

    def restore(self, state: dict, directory: Path) -> None:
        from kagglekit.hub.tokenizer import SubwordTokenizer

        self.tokenizer_ = SubwordTokenizer.load(directory)


class DistilBert(TransformerClassifier):
    """DistilBERT fine-tuning (-p preset=distilbert by default; any DistilBERT-family preset)."""

    name = "distilbert"

    @dataclass
    class Params(TransformerParams):
        preset: str | None = "distilbert"


class Bert(TransformerClassifier):
    """BERT fine-tuning (-p preset=bert by default; any BERT-family preset)."""

    name = "bert"

    @dataclass
    class Params(TransformerParams):
        preset: str | None = "bert"


@hookimpl
def register_models(register):
    register("transformer", TransformerClassifier)
    register("distilbert", DistilBert)
    register("bert", Bert)
