"""Frozen sentence encoders + a small dense head: ``use`` and ``sentence-encoder``.

``use`` loads a Universal Sentence Encoder SavedModel directory (Kaggle Models / TF Hub layout;
``-p preset=use`` looks for the Kaggle mount and only then downloads) with
``tf.saved_model.load``. ``sentence-encoder`` loads a sentence-transformers directory (its
pooling config and Normalize module honoured; e.g. all-MiniLM-L6-v2: mean pooling + L2) or
any transformer preset (mean pooling). The texts' embeddings are computed once per run and
cached (``kagglekit.hub.encoders.embed``); each fold trains only the head: Dense(64, relu)
+ sigmoid by default, the head of the popular TensorFlow course's USE model. Early stopping
uses a held-out share of the training rows by default, best weights kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kagglekit.hookspecs import hookimpl
from kagglekit.model import Model


class EncoderHeadModel(Model):
    """Base: frozen encoder (-p preset=...) -> cached embeddings -> dense head trained per fold."""

    name = "encoder-head"
    encoder_kind = "transformer"

    @dataclass
    class Params:
        preset: str | None = None
        hidden_units: int = 64  # 0: logistic regression on the embeddings
        dropout: float = 0.0
        epochs: int = 10
        batch_size: int = 32
        learning_rate: float = 1e-3
        early_stopping: Literal["inner", "valid", "off"] = "inner"
        inner_fraction: float = 0.1
        patience: int = 2
        monitor: str = "auto"
        max_length: int | None = None  # tokens per text (sentence-encoder); None: the model's
        verbose: int = 0

        def validate(self):
            if self.hidden_units < 0:
                raise ValueError(f"hidden_units must be >= 0, got {self.hidden_units}")
            if not 0 <= self.dropout < 1:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
            if self.epochs < 1 or self.batch_size < 1:
                raise ValueError("epochs and batch_size must be >= 1")
            if not 0 < self.inner_fraction < 1:
                raise ValueError(f"inner_fraction must be in (0, 1), got {self.inner_fraction}")
            if self.patience < 1:
                raise ValueError(f"patience must be >= 1, got {self.patience}")

    def _encoder(self):
        from kagglekit.hub.encoders import load_encoder
        from kagglekit.hub.presets import resolve

        if getattr(self, "encoder_path_", None) is None:
            self.encoder_path_ = str(resolve(self.params.preset, what=f"model {self.name}").path)
        return load_encoder(Path(self.encoder_path_), kind=self.encoder_kind,
                            max_length=self.params.max_length)

    def embed(self, texts) -> np.ndarray:
        from kagglekit.hub.encoders import embed

        return embed(self._encoder(), texts)

    def _head(self, dim: int, n_targets: int):
        import keras

        p = self.params
        layers = [keras.Input(shape=(dim,), name="embedding")]
        if p.hidden_units:
            layers.append(keras.layers.Dense(p.hidden_units, activation="relu", name="hidden"))
        if p.dropout:
            layers.append(keras.layers.Dropout(p.dropout))
        layers.append(keras.layers.Dense(n_targets, activation="sigmoid", dtype="float32",
                                         name="classifier"))
        model = keras.Sequential(layers, name="encoder_head")
        model.compile(optimizer=keras.optimizers.Adam(p.learning_rate), loss="binary_crossentropy")
        return model

    def fit(self, train, valid=None):
        import keras

        from kagglekit.hub import training
        from kagglekit.hub.bucketing import sequential_batches

        p = self.params
        y = np.asarray(train.y, dtype=np.float32)
        y = y[:, None] if y.ndim == 1 else y
        x = self.embed(train.text)
        keras.utils.set_random_seed(self.seed)
        fit_x, fit_y, stop_x, stop_y = x, y, None, None
        if p.early_stopping == "inner" and p.epochs > 1 and len(y) >= 20:
            fit_idx, stop_idx = training.holdout_split(y, p.inner_fraction, self.seed)
            fit_x, fit_y, stop_x, stop_y = x[fit_idx], y[fit_idx], x[stop_idx], y[stop_idx]
        elif p.early_stopping == "valid" and valid is not None and valid.y is not None:
            stop_x = self.embed(valid.text)
            stop_y = np.asarray(valid.y, dtype=np.float32).reshape(len(valid), -1)
        model = self._head(x.shape[1], y.shape[1])
        score, greater, monitor_name = training.monitor(p.monitor, y.shape[1])

        def run_epoch(epoch):
            batches = sequential_batches(len(fit_y), p.batch_size, shuffle=True,
                                         seed=self.seed * 1000 + epoch)
            history = model.fit(training.array_dataset(fit_x, batches, fit_y), epochs=1,
                                verbose=p.verbose, shuffle=False)
            return history.history["loss"][-1]

        def evaluate():
            return score(stop_y, self._predict_x(model, stop_x))

        log = training.train_epochs(model, run_epoch, epochs=p.epochs,
                                    evaluate=evaluate if stop_x is not None else None,
                                    greater_is_better=greater, patience=p.patience)
        self.head_ = model
        self.n_targets_ = int(y.shape[1])
        self.history_ = {**log, "monitor": monitor_name if stop_x is not None else None,
                         "n_fit": int(len(fit_y)), "dim": int(x.shape[1]),
                         "n_early_stopping": 0 if stop_y is None else int(len(stop_y))}
        return self

    def _predict_x(self, model, x) -> np.ndarray:
        from kagglekit.hub import training
        from kagglekit.hub.bucketing import sequential_batches

        batches = sequential_batches(len(x), 1024)
        return np.asarray(model.predict(training.array_dataset(x, batches), verbose=0))

    def predict(self, frame):
        return self._predict_x(self.head_, self.embed(frame.text)).astype(np.float64)

    def save(self, directory) -> None:
        directory = self.save_params(directory)
        self.head_.save(directory / "head.keras")
        (directory / "fit.json").write_text(json.dumps(
            {"encoder_path": self.encoder_path_, "n_targets": self.n_targets_,
             "history": self.history_}, indent=2, default=str))

    @classmethod
    def load(cls, directory):
        import keras

        directory = Path(directory)
        model = cls.from_saved_params(directory)
        fit = json.loads((directory / "fit.json").read_text())
        model.head_ = keras.saving.load_model(directory / "head.keras", compile=False)
        model.encoder_path_ = fit["encoder_path"]
        model.n_targets_ = int(fit["n_targets"])
        model.history_ = fit.get("history", {})
        return model


class UniversalSentenceEncoder(EncoderHeadModel):
    """Frozen Universal Sentence Encoder SavedModel (-p preset=use or a directory) + dense head."""

    name = "use"
    encoder_kind = "savedmodel"

    @dataclass
    class Params(EncoderHeadModel.Params):
        preset: str | None = "use"


class SentenceTransformer(EncoderHeadModel):
    """Frozen sentence-transformers encoder (-p preset=<dir or hf:// handle>) + dense head."""

    name = "sentence-encoder"
    encoder_kind = "transformer"


@hookimpl
def register_models(register):
    register("use", UniversalSentenceEncoder)
    register("sentence-encoder", SentenceTransformer)
