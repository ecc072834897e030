"""Fine-tuned transformers on KerasHub: ``transformer`` (any preset), ``distilbert``, ``bert``.

``-p preset=`` takes a local directory (KerasHub preset, Hugging Face layout), an alias
(``distilbert``, ``distilbert-multilingual``, ``bert``), a KerasHub preset name or a
``kaggle://`` / ``hf://`` handle; see ``kagglekit.hub.presets``. Texts are tokenized with
the checkpoint's own tokenizer (``tokenizers``), batched by length with dynamic padding,
and fed to the backbone + a masked head (``-p head=cls|mean|max|mean-max|gru|bigru|lstm|bilstm``).
Training: AdamW, warmup + linear decay, no weight decay on biases/LayerNorm, gradient
clipping, mixed precision and distribution strategy from ``kagglekit.accelerator``, early
stopping on a held-out share of the *training* rows (``early_stopping=inner``, the default;
``valid`` uses the fold's validation rows instead, ``off`` trains all epochs), best weights
kept. Keras and TensorFlow are imported inside fit/predict/load only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kagglekit.errors import ParamError
from kagglekit.hookspecs import hookimpl
from kagglekit.model import Model

HEADS = ("cls", "mean", "max", "mean-max", "gru", "bigru", "lstm", "bilstm")
_ACCELERATORS: dict[str, object] = {}


def _accelerator(requested: str):
    """Detect once per process: a TPU system must not be re-initialised for every fold."""
    if requested not in _ACCELERATORS:
        from kagglekit.accelerator import detect

        _ACCELERATORS[requested] = detect(requested)
    return _ACCELERATORS[requested]


class TransformerClassifier(Model):
    """Fine-tunes any KerasHub / Hugging Face transformer (-p preset=...) with a masked head."""

    name = "transformer"

    @dataclass
    class Params:
        preset: str | None = None
        head: Literal["cls", "mean", "max", "mean-max", "gru", "bigru", "lstm", "bilstm"] = "mean"
        max_length: int | None = None  # tokens per text; None: 128, or the backbone's limit
        dropout: float = 0.1
        rnn_units: int = 64
        freeze_backbone: bool = False
        epochs: int = 3
        batch_size: int = 32
        learning_rate: float | None = None  # 3e-5 fine-tuning, 1e-3 with freeze_backbone
        weight_decay: float = 0.01
        warmup_ratio: float = 0.1
        clipnorm: float = 1.0
        early_stopping: Literal["inner", "valid", "off"] = "inner"
        inner_fraction: float = 0.1
        patience: int = 2
        monitor: str = "auto"
        bucketing: bool = True
        predict_batch_size: int = 64
        accelerator: Literal["auto", "cpu", "gpu", "tpu"] = "auto"
        mixed_precision: bool = True
        jit_compile: bool = False  # XLA recompiles for every new batch shape bucketing makes
        verbose: int = 0

        def validate(self):
            if self.max_length is not None and self.max_length < 4:
                raise ValueError(f"max_length must be >= 4, got {self.max_length}")
            if not 0 <= self.dropout < 1:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
            if self.epochs < 1 or self.batch_size < 1 or self.predict_batch_size < 1:
                raise ValueError("epochs, batch_size and predict_batch_size must be >= 1")
            if not 0 < self.inner_fraction < 1:
                raise ValueError(f"inner_fraction must be in (0, 1), got {self.inner_fraction}")
            if not 0 <= self.warmup_ratio < 1:
                raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
            if self.learning_rate is not None and self.learning_rate <= 0:
                raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
            if self.patience < 1:
                raise ValueError(f"patience must be >= 1, got {self.patience}")

    # -- fitting --------------------------------------------------------------------------------
    def _learning_rate(self) -> float:
        p = self.params
        if p.learning_rate is not None:
            return p.learning_rate
        return 1e-3 if p.freeze_backbone else 3e-5

    def fit(self, train, valid=None):
        import keras

        from kagglekit.hub import heads, training
        from kagglekit.hub.backbone import load_backbone
        from kagglekit.hub.presets import resolve
        from kagglekit.hub.tokenizer import SubwordTokenizer

        p = self.params
        preset = resolve(p.preset, what=f"model {self.name}")
        accelerator = _accelerator(p.accelerator)
        accelerator.apply(p.mixed_precision)
        keras.utils.set_random_seed(self.seed)
        y = np.asarray(train.y, dtype=np.float32)
        y = y[:, None] if y.ndim == 1 else y

        # rows for fitting and rows for early stopping (never the rows being predicted in CV
        # unless early_stopping=valid is asked for)
        fit_text, fit_y, stop_text, stop_y = train.text, y, None, None
        if p.early_stopping == "inner" and p.epochs > 1 and len(y) >= 20:
            fit_idx, stop_idx = training.holdout_split(y, p.inner_fraction, self.seed)
            fit_text, fit_y = train.text[fit_idx], y[fit_idx]
            stop_text, stop_y = train.text[stop_idx], y[stop_idx]
        elif p.early_stopping == "valid" and valid is not None and valid.y is not None:
            stop_text, stop_y = valid.text, np.asarray(valid.y, dtype=np.float32).reshape(
                len(valid), -1)

        tokenizer = SubwordTokenizer.from_directory(preset.path)
        with accelerator.scope():
            backbone = load_backbone(preset.path)
            limit = getattr(backbone, "max_sequence_length", None)
            max_length = p.max_length or min(128, int(limit or 128))
            if limit is not None and max_length > int(limit):
                raise ParamError(f"{self.name}: max_length={max_length} is longer than the "
                                 f"backbone's max_sequence_length={limit}")
            if tokenizer.vocab_size > int(getattr(backbone, "vocabulary_size", 1 << 30)):
                raise ParamError(f"{self.name}: the tokenizer has {tokenizer.vocab_size} tokens but "
                                 f"the backbone only {backbone.vocabulary_size}; "
                                 f"preset {preset.path} mixes two checkpoints")
            model = heads.build_classifier(backbone, n_targets=y.shape[1], head=p.head,
                                           dropout=p.dropout, rnn_units=p.rnn_units,
                                           freeze_backbone=p.freeze_backbone)
            names = heads.backbone_inputs(backbone)
            per_step = accelerator.global_batch_size(p.batch_size)
            steps = int(np.ceil(len(fit_y) / per_step)) * p.epochs
            optimizer = training.make_optimizer(self._learning_rate(), steps,
                                                warmup_ratio=p.warmup_ratio,
                                                weight_decay=p.weight_decay, clipnorm=p.clipnorm)
            model.compile(optimizer=optimizer, loss="binary_crossentropy",
                          jit_compile=p.jit_compile)

        fit_enc = tokenizer.encode(fit_text, max_length)
        stop_enc = tokenizer.encode(stop_text, max_length) if stop_text is not None else None
        score, greater, monitor_name = training.monitor(p.monitor, y.shape[1])

        def run_epoch(epoch):
            batches = training.train_batches(fit_enc.lengths, per_step, bucketing=p.bucketing,
                                             seed=self.seed * 1000 + epoch)
            ds = training.token_dataset(fit_enc, batches, input_names=names,
                                        max_length=max_length, y=fit_y, fixed=not p.bucketing)
            history = model.fit(ds, epochs=1, verbose=p.verbose, shuffle=False)
            return history.history["loss"][-1]

        def evaluate():
            prob = training.predict_tokens(model, stop_enc, input_names=names,
                                           max_length=max_length,
                                           batch_size=p.predict_batch_size,
                                           bucketing=p.bucketing)
            return score(stop_y, prob)

        log = training.train_epochs(model, run_epoch, epochs=p.epochs,
                                    evaluate=evaluate if stop_enc is not None else None,
                                    greater_is_better=greater, patience=p.patience)
        model.optimizer = None  # frees the AdamW moments; predict does not need them
        self.model_ = model
        self.tokenizer_ = tokenizer
        self.input_names_ = names
        self.max_length_ = int(max_length)
        self.n_targets_ = int(y.shape[1])
        self.history_ = {**log, "monitor": monitor_name if stop_enc is not None else None,
                         "n_fit": int(len(fit_y)),
                         "n_early_stopping": 0 if stop_y is None else int(len(stop_y)),
                         "preset": str(preset.path), "precision": accelerator.precision,
                         "accelerator": accelerator.kind}
        return self

    def predict(self, frame):
        from kagglekit.hub import training

        p = self.params
        encoded = self.tokenizer_.encode(frame.text, self.max_length_)
        return training.predict_tokens(self.model_, encoded, input_names=self.input_names_,
                                       max_length=self.max_length_, batch_size=p.predict_batch_size,
                                       bucketing=p.bucketing).astype(np.float64)

    # -- persistence: architecture + weights + tokenizer.json; no preset needed to reload -------
    def save(self, directory) -> None:
        directory = self.save_params(directory)
        import keras

        config = keras.saving.serialize_keras_object(self.model_)
        config.pop("compile_config", None)  # an inference model: no optimizer to restore
        (directory / "model.json").write_text(json.dumps(config))
        self.model_.save_weights(directory / "model.weights.h5")
        self.tokenizer_.save(directory)
        (directory / "fit.json").write_text(json.dumps(
            {"input_names": self.input_names_, "n_targets": self.n_targets_,
             "max_length": self.max_length_,
             "history": self.history_}, indent=2, default=str))

    @classmethod
    def load(cls, directory):
        import keras
        import keras_hub  # noqa: F401 - registers the backbone classes

        from kagglekit.hub import heads, training  # noqa: F401 - register kagglekit layers
        from kagglekit.hub.tokenizer import SubwordTokenizer

        directory = Path(directory)
        model = cls.from_saved_params(directory)
        fit = json.loads((directory / "fit.json").read_text())
        model.model_ = keras.saving.deserialize_keras_object(
            json.loads((directory / "model.json").read_text()))
        model.model_.load_weights(directory / "model.weights.h5")
        model.model_.jit_compile = model.params.jit_compile
        model.tokenizer_ = SubwordTokenizer.load(directory)
        model.input_names_ = list(fit["input_names"])
        model.n_targets_ = int(fit["n_targets"])
        model.max_length_ = int(fit["max_length"])
        model.history_ = fit.get("history", {})
        return model


class DistilBert(TransformerClassifier):
    """DistilBERT fine-tuning (-p preset=distilbert by default; any DistilBERT-family preset)."""

    name = "distilbert"

    @dataclass
    class Params(TransformerClassifier.Params):
        preset: str | None = "distilbert"


class Bert(TransformerClassifier):
    """BERT fine-tuning (-p preset=bert by default; any BERT-family preset)."""

    name = "bert"

    @dataclass
    class Params(TransformerClassifier.Params):
        preset: str | None = "bert"


@hookimpl
def register_models(register):
    register("transformer", TransformerClassifier)
    register("distilbert", DistilBert)
    register("bert", Bert)
