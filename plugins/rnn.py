"""Keras 3 text models on word embeddings: ``dense``, ``conv1d``, ``simplernn``, ``lstm``,
``gru``, ``bilstm`` and ``bigru`` (BiGRU + concatenated max/avg pooling, the classic
Quora/Jigsaw architecture).

Every model: a word-level vocabulary learned from the fold's training texts only
(``kagglekit.text.tokenizer``), max length from a length percentile, sequence bucketing,
pretrained embeddings (``-p embeddings=glove.840B.300d.txt,wiki.vec``) or random ones,
one sigmoid per target column, built under the accelerator's strategy scope.

Training: after each epoch a callback predicts the validation fold and computes
``monitor`` (any registered metric such as ``auc``, ``f1``, ``mean_auc``, or ``loss``;
default ``auto``: ``auc`` for one target, ``mean_auc`` for several. The model is not told
the competition's metric (``fit`` gets two TextFrames), and AUC needs no threshold, so it
is the default; ``-p monitor=f1`` scores F1 at the threshold that is best on that fold).
Early stopping restores the best epoch's weights, the learning rate is halved when the
monitored value plateaus (or follows a cosine/exponential schedule), class weights are
optional, seeds are set with ``keras.utils.set_random_seed``.
Without a validation fold (``kagglekit fit``) the model trains ``epochs`` epochs;
``fit_info_["best_epoch"]`` of a CV run tells how many to ask for.

Keras and TensorFlow are imported inside ``fit``/``predict``/``load`` only, so registering
these models costs nothing. Keras' progress bars go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.model import Model
from kagglekit.text.tokenizer import KERAS_FILTERS, PAD_ID, WordTokenizer, choose_maxlen

POOLINGS = ("last", "max", "avg", "attention")


@dataclass
class TextParams:
    # vocabulary and sequences
    max_words: int | None = 50_000
    min_count: int = 1
    lowercase: bool = True
    filters: str = KERAS_FILTERS
    vocab_from_test: bool = False
    maxlen: int | None = None
    maxlen_percentile: float = 99.0
    truncating: Literal["pre", "post"] = "post"
    bucketing: bool = True
    bucket_multiple: int = 8
    bucket_pow2: bool | None = None
    # embeddings
    embeddings: tuple[str, ...] = ()
    embeddings_combine: Literal["concat", "mean"] = "concat"
    embedding_dim: int = 128
    trainable_embeddings: bool | None = None
    case_fallbacks: bool = True
    # network
    units: int = 64
    spatial_dropout: float = 0.2
    pooling: tuple[str, ...] | None = None
    dense_units: int = 0
    dropout: float = 0.0
    # training
    batch_size: int = 32
    epochs: int = 10
    learning_rate: float = 1e-3
    lr_schedule: Literal["constant", "plateau", "cosine", "exponential"] = "plateau"
    lr_decay: float = 0.5
    monitor: str = "auto"
    early_stopping_patience: int = 2
    class_weight: str | None = None
    clipnorm: float | None = None
    accelerator: Literal["auto", "cpu", "gpu", "tpu"] = "auto"
    mixed_precision: bool = True
    verbose: int = 1
    tensorboard: bool = True
    progress: bool = True
    cache: bool = True

    def validate(self):
        checks = [
            (self.units >= 1, f"units must be >= 1, got {self.units}"),
            (self.embedding_dim >= 1, f"embedding_dim must be >= 1, got {self.embedding_dim}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay}"),
            (0 <= self.spatial_dropout < 1,
             f"spatial_dropout must be in [0, 1), got {self.spatial_dropout}"),
            (0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.maxlen is None or self.maxlen >= 1, f"maxlen must be >= 1, got {self.maxlen}"),
            (0 < self.maxlen_percentile <= 100,
             f"maxlen_percentile must be in (0, 100], got {self.maxlen_percentile}"),
            (self.bucket_multiple >= 1,
             f"bucket_multiple must be >= 1, got {self.bucket_multiple}"),
            (self.max_words is None or self.max_words >= 1,
             f"max_words must be >= 1 or none, got {self.max_words}"),
            (self.min_count >= 1, f"min_count must be >= 1, got {self.min_count}"),
            (self.early_stopping_patience >= 0,
             f"early_stopping_patience must be >= 0, got {self.early_stopping_patience}"),
            (self.class_weight in (None, "balanced"),
             f"class_weight must be balanced or none, got {self.class_weight!r}"),
            (self.verbose in (0, 1, 2), f"verbose must be 0, 1 or 2, got {self.verbose}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        for name in self.pooling or ():
            if name not in POOLINGS:
                raise ValueError(f"pooling must be a comma list of {', '.join(POOLINGS)}; "
                                 f"got {name!r}")
        if self.pooling is not None and not self.pooling:
            raise ValueError("pooling must name at least one of " + ", ".join(POOLINGS))
        if self.pooling and "last" in self.pooling and len(self.pooling) > 1:
            raise ValueError("pooling 'last' (the recurrent layer's final output) cannot be "
                             f"combined with others; got {','.join(self.pooling)}")


class KerasTextModel(Model):
    """Base class: tokenizer + embedding + ``body`` + one sigmoid per target."""

    name = "keras-text"
    Params = TextParams
    default_pooling: tuple[str, ...] = ("max",)
    recurrent = False

    def __init__(self, params=None, *, seed: int = 0):
        super().__init__(params, seed=seed)
        self.log_dir = None  # set by the CV loop through set_context
        self.unlabelled_texts = None
        self._accelerator = None
        self._notes = []

    # -- hooks -------------------------------------------------------------------------
    def set_context(self, log_dir=None, unlabelled=None, **_):
        """Called by the CV/fit loop: where TensorBoard logs go, and unlabelled test texts
        (used only with ``vocab_from_test=true``)."""
        self.log_dir = log_dir
        self.unlabelled_texts = None if unlabelled is None else getattr(unlabelled, "text",
                                                                        unlabelled)

    def body(self, keras, x, mask):  # pragma: no cover - interface
        raise NotImplementedError

    def pooling(self) -> tuple[str, ...]:
        chosen = tuple(self.params.pooling or self.default_pooling)
        if "last" in chosen and not self.recurrent:
            raise KaggleKitError(f"{self.name}: pooling 'last' needs a recurrent layer; "
                                 f"use max, avg or attention")
        return chosen

    def pool(self, keras, h, mask):
        from kagglekit.text.layers import AttentionPool, MaskedGlobalPool

        make = {"max": lambda: MaskedGlobalPool("max"), "avg": lambda: MaskedGlobalPool("avg"),
                "attention": lambda: AttentionPool()}
        pooled = [make[name]()(h, mask=mask) for name in self.pooling()]
        return pooled[0] if len(pooled) == 1 else keras.layers.Concatenate()(pooled)

    # -- building ----------------------------------------------------------------------
    def build_model(self, keras, vocab_size: int, embedding_dim: int, n_targets: int,
                    trainable: bool):
        from kagglekit.text.layers import PaddingMask

        p = self.params
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        mask = PaddingMask(name="padding_mask")(ids)
        x = keras.layers.Embedding(vocab_size, embedding_dim, trainable=trainable,
                                   name="embedding")(ids)
        if p.spatial_dropout:
            x = keras.layers.SpatialDropout1D(p.spatial_dropout, name="spatial_dropout")(x)
        x = self.body(keras, x, mask)
        if p.dense_units:
            x = keras.layers.Dense(p.dense_units, activation="relu", name="head")(x)
        if p.dropout:
            x = keras.layers.Dropout(p.dropout, name="dropout")(x)
        out = keras.layers.Dense(n_targets, activation="sigmoid", dtype="float32",
                                 name="output")(x)
        return keras.Model(ids, out, name=self.name.replace("-", "_"))

    # -- training ----------------------------------------------------------------------
    def fit(self, train, valid=None):
        from kagglekit.accelerator import detect
        from kagglekit.text import require

        keras = require("keras")
        from kagglekit.text.keras_data import BucketedSequence

        start = time.perf_counter()
        p = self.params
        if train.y is None:
            raise KaggleKitError(f"{self.name}: the training rows have no labels")
        acc = detect(p.accelerator)
        acc.apply(mixed_precision=p.mixed_precision)
        self._accelerator = acc
        keras.utils.set_random_seed(int(self.seed))
        y = np.asarray(train.y, dtype=np.float32)
        if y.ndim == 1:
            y = y[:, None]

        tok = WordTokenizer(lowercase=p.lowercase, filters=p.filters, max_words=p.max_words,
                            min_count=p.min_count)
        extra = []
        if p.vocab_from_test:
            extra += list(valid.text) if valid is not None else []
            extra += list(self.unlabelled_texts) if self.unlabelled_texts is not None else []
        if extra:
            tok.fit(list(train.text) + extra)
            encoded = tok.encode(train.text, cache=p.cache)
        else:  # the fold's training texts only: one pass fits and encodes
            encoded = tok.fit_encode(train.text, cache=p.cache)
        self.tokenizer_ = tok
        lengths = encoded.lengths
        self.maxlen_ = int(p.maxlen or choose_maxlen(lengths, p.maxlen_percentile))
        vocab = tok.vocabulary()
        counts = encoded.token_counts(len(vocab))

        embedding_report = None
        matrix = None
        if p.embeddings:
            from kagglekit.text.embeddings import embedding_matrix

            result = embedding_matrix(p.embeddings, vocab, counts, combine=p.embeddings_combine,
                                      seed=int(self.seed), skip_rows=2, pad_row=PAD_ID,
                                      fallbacks=p.case_fallbacks, progress=p.progress,
                                      cache=p.cache)
            matrix, embedding_report = result.matrix, result.report
        dim = matrix.shape[1] if matrix is not None else p.embedding_dim
        trainable = p.trainable_embeddings if p.trainable_embeddings is not None \
            else matrix is None

        on_tpu = acc.kind == "tpu"
        bucket = p.bucketing and not on_tpu  # a TPU needs static shapes
        batch = acc.global_batch_size(p.batch_size)
        with acc.scope():
            model = self.build_model(keras, len(vocab), dim, y.shape[1], trainable)
            if matrix is not None:
                model.get_layer("embedding").set_weights([matrix])
            steps = -(-len(train) // batch)
            lr = p.learning_rate
            if p.lr_schedule == "cosine":
                lr = keras.optimizers.schedules.CosineDecay(p.learning_rate, p.epochs * steps,
                                                            alpha=0.05)
            optimizer = keras.optimizers.Adam(learning_rate=lr, clipnorm=p.clipnorm)
            model.compile(optimizer=optimizer, loss="binary_crossentropy")

        truncated = encoded.truncate(self.maxlen_, p.truncating)
        data = BucketedSequence(truncated, y, self._sample_weight(y), batch_size=batch,
                                maxlen=self.maxlen_, shuffle=True, bucket=bucket,
                                seed=int(self.seed), multiple=p.bucket_multiple,
                                drop_remainder=self._fixed_batches(acc) and len(train) >= batch,
                                pow2=self._pow2(acc))
        callbacks, monitor = self._callbacks(keras, valid)
        timer = _epoch_timer(keras)
        with contextlib.redirect_stdout(sys.stderr):  # Keras' progress bars -> stderr
            history = model.fit(data, epochs=p.epochs, callbacks=[timer, *callbacks],
                                verbose=p.verbose)
        self.model_ = model
        self.n_targets_ = int(y.shape[1])

        epochs = [{"epoch": i + 1, **{k: round(float(v[i]), 6) for k, v in history.history.items()
                                      if i < len(v)},
                   "train_seconds": round(timer.seconds[i], 3) if i < len(timer.seconds) else None}
                  for i in range(len(history.history.get("loss", [])))]
        info = {
            "backend": acc.backend, "accelerator": acc.summary(),
            "vocab_size": len(vocab), "maxlen": self.maxlen_,
            "train_length_percentiles": {str(q): float(np.percentile(lengths, q))
                                         for q in (50, 90, 99, 100)} if len(lengths) else {},
            "truncated_rows": int((lengths > self.maxlen_).sum()),
            "global_batch_size": batch, "bucketing": bucket,
            "padding_efficiency": round(float(np.minimum(lengths, self.maxlen_).sum()) /
                                        max(1, data.plan.padded_tokens()), 4),
            "trainable_embeddings": bool(trainable), "embedding_dim": int(dim),
            "embeddings": embedding_report, "epochs": epochs,
            "seconds": round(time.perf_counter() - start, 3),
        }
        if monitor is not None:
            info.update(monitor.summary())
        if self._notes:
            info["notes"] = list(self._notes)
        self.fit_info_ = info
        return self

    def _sample_weight(self, y):
        if self.params.class_weight != "balanced":
            return None
        n = len(y)
        pos = np.clip(y.sum(axis=0), 1, None)
        neg = np.clip(n - y.sum(axis=0), 1, None)
        w = np.where(y > 0.5, n / (2 * pos), n / (2 * neg))
        return w.mean(axis=1).astype(np.float32)

    def _callbacks(self, keras, valid):
        p = self.params
        callbacks, monitor = [], None
        if valid is not None and len(valid) and valid.y is not None:
            name = p.monitor
            if name == "auto":  # AUC needs no threshold and suits every competition's labels
                name = "mean_auc" if np.asarray(valid.y).ndim == 2 and \
                    np.asarray(valid.y).shape[1] > 1 else "auc"
            monitor = _validation_monitor(keras, self, valid, name)
            callbacks.append(monitor)
            key, mode = monitor.key, monitor.mode
            if p.early_stopping_patience:
                callbacks.append(keras.callbacks.EarlyStopping(
                    monitor=key, mode=mode, patience=p.early_stopping_patience,
                    restore_best_weights=True, verbose=0))
            else:  # still keep the best epoch's weights
                callbacks.append(keras.callbacks.EarlyStopping(
                    monitor=key, mode=mode, patience=p.epochs + 1,
                    restore_best_weights=True, verbose=0))
            if p.lr_schedule == "plateau":
                callbacks.append(keras.callbacks.ReduceLROnPlateau(
                    monitor=key, mode=mode, factor=p.lr_decay, patience=1, min_lr=1e-5,
                    verbose=0))
        if p.lr_schedule == "exponential":
            base, decay = p.learning_rate, p.lr_decay
            callbacks.append(keras.callbacks.LearningRateScheduler(
                lambda epoch, lr: base * decay ** epoch))
        self._notes = []
        if self.log_dir is not None and p.tensorboard:
            tensorboard, note = _tensorboard(keras, self.log_dir)
            if tensorboard is not None:
                callbacks.append(tensorboard)
            else:
                self._notes.append(note)
        return callbacks, monitor

    # -- prediction --------------------------------------------------------------------
    def _predict_ids(self, texts) -> np.ndarray:
        from kagglekit.text.keras_data import predict_ragged

        p = self.params
        if self._accelerator is None:
            from kagglekit.accelerator import detect

            self._accelerator = detect(p.accelerator)
        acc = self._accelerator
        encoded = self.tokenizer_.encode(texts, cache=p.cache).truncate(self.maxlen_,
                                                                       p.truncating)
        batch = acc.global_batch_size(max(p.batch_size, 128))
        on_tpu = acc.kind == "tpu"
        return predict_ragged(self.model_, encoded, batch_size=batch, maxlen=self.maxlen_,
                              bucket=p.bucketing and not on_tpu, multiple=p.bucket_multiple,
                              pad_rows_to=batch if self._fixed_batches(acc) else acc.replicas,
                              pow2=self._pow2(acc))

    @staticmethod
    def _fixed_batches(acc) -> bool:
        """Whether every batch must have the full batch size: on TPUs, with several
        replicas, and on JAX (one compiled program per shape). Training then drops the
        last partial batch (other rows each epoch, as they are reshuffled); prediction
        pads it with repeated rows."""
        return acc.kind == "tpu" or acc.replicas > 1 or acc.backend != "tensorflow"

    def _pow2(self, acc) -> bool:
        """Power-of-two bucket widths: default on JAX, which compiles one program per shape
        (TensorFlow traces one graph with a free length dimension)."""
        p = self.params
        return p.bucket_pow2 if p.bucket_pow2 is not None else acc.backend != "tensorflow"

    def predict(self, frame):
        texts = getattr(frame, "text", frame)
        return self._predict_ids(list(texts)).astype(np.float64)

    # -- persistence -------------------------------------------------------------------
    def save(self, directory) -> None:
        directory = self.save_params(directory)
        self.model_.save(directory / "model.keras")
        (directory / "tokenizer.json").write_text(self.tokenizer_.to_json(), encoding="utf-8")
        (directory / "state.json").write_text(json.dumps(
            {"maxlen": self.maxlen_, "n_targets": self.n_targets_,
             "fit_info": getattr(self, "fit_info_", None)}, indent=2, default=_jsonable))

    @classmethod
    def load(cls, directory):
        from kagglekit.text import require

        keras = require("keras")
        import kagglekit.text.layers  # noqa: F401 - registers the custom layers

        directory = Path(directory)
        missing = [f for f in ("params.json", "model.keras", "tokenizer.json", "state.json")
                   if not (directory / f).is_file()]
        if missing:
            raise KaggleKitError(f"{directory}: not a saved {cls.name} model (missing "
                                 f"{', '.join(missing)})")
        model = cls.from_saved_params(directory)
        state = json.loads((directory / "state.json").read_text())
        model.maxlen_ = int(state["maxlen"])
        model.n_targets_ = int(state["n_targets"])
        model.fit_info_ = state.get("fit_info")
        model.tokenizer_ = WordTokenizer.from_json(
            (directory / "tokenizer.json").read_text(encoding="utf-8"))
        model.model_ = keras.saving.load_model(directory / "model.keras", compile=False)
        return model


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _tensorboard(keras, log_dir):
    """Keras' TensorBoard callback, or None (with the reason) when it cannot write."""
    import importlib.util

    missing = [m for m in ("tensorflow", "tensorboard") if importlib.util.find_spec(m) is None]
    if missing:  # the callback writes with tf.summary, implemented by the tensorboard package
        return None, (f"no TensorBoard logs: {' and '.join(missing)} not installed "
                      f"(pip install {' '.join(missing)})")
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False,
                                       profile_batch=0), None


def _epoch_timer(keras):
    """Seconds spent in each epoch's training steps (before the validation callbacks)."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []
            self._start = None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def _validation_monitor(keras, owner: KerasTextModel, valid, monitor: str):
    """A callback that scores the validation fold after every epoch (logs ``val_<monitor>``)."""
    from kagglekit import plugins
    from kagglekit.metrics import best_threshold

    metric = None if monitor == "loss" else plugins.get_metric(monitor)
    y_valid = np.asarray(valid.y)
    y_valid = y_valid[:, None] if y_valid.ndim == 1 else y_valid
    texts = list(valid.text)

    class ValidationMonitor(keras.callbacks.Callback):
        key = f"val_{monitor}"
        mode = "min" if metric is None or not metric.greater_is_better else "max"

        def __init__(self):
            super().__init__()
            self.values = []

        def on_epoch_end(self, epoch, logs=None):
            owner.model_ = self.model
            prob = owner._predict_ids(texts)
            p = np.clip(prob.astype(np.float64), 1e-7, 1 - 1e-7)
            loss = float(-np.mean(y_valid * np.log(p) + (1 - y_valid) * np.log(1 - p)))
            if metric is None:
                value = loss
            else:
                threshold = best_threshold(metric, y_valid, prob) if metric.needs_threshold \
                    else 0.5
                value = float(metric(y_valid, prob, threshold))
            if logs is not None:
                logs["val_loss"] = loss
                logs[self.key] = value
            self.values.append(value)

        def summary(self) -> dict:
            if not self.values:
                return {"monitor": self.key}
            values = np.asarray(self.values)
            best = int(np.nanargmin(values) if self.mode == "min" else np.nanargmax(values))
            return {"monitor": self.key, "best_epoch": best + 1,
                    f"best_{self.key}": round(float(values[best]), 6)}

    return ValidationMonitor()


class DenseText(KerasTextModel):
    """Embedding + global average pooling + sigmoid (the course's 'dense' model)."""

    name = "dense"
    default_pooling = ("avg",)

    @dataclass
    class Params(TextParams):
        spatial_dropout: float = 0.0

    def body(self, keras, x, mask):
        return self.pool(keras, x, mask)


class Conv1DText(KerasTextModel):
    """Embedding + Conv1D(units, kernel_size, relu) + global max pooling."""

    name = "conv1d"
    default_pooling = ("max",)

    @dataclass
    class Params(TextParams):
        kernel_size: int = 5

        def validate(self):
            TextParams.validate(self)
            if self.kernel_size < 1:
                raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")

    def body(self, keras, x, mask):
        h = keras.layers.Conv1D(self.params.units, self.params.kernel_size, padding="same",
                                activation="relu", name="conv")(x)
        return self.pool(keras, h, mask)


class RecurrentText(KerasTextModel):
    """A recurrent layer (``layer_name``), optionally bidirectional, then pooling."""

    recurrent = True
    layer_name = "GRU"
    bidirectional = False
    default_pooling = ("last",)

    def body(self, keras, x, mask):
        pooling = self.pooling()
        sequences = pooling != ("last",)
        layer = getattr(keras.layers, self.layer_name)(self.params.units,
                                                      return_sequences=sequences,
                                                      name=self.layer_name.lower())
        if self.bidirectional:
            layer = keras.layers.Bidirectional(layer, name="bidirectional")
        h = layer(x, mask=mask)
        return self.pool(keras, h, mask) if sequences else h


class SimpleRNNText(RecurrentText):
    """Embedding + SimpleRNN(units) (final output)."""

    name = "simplernn"
    layer_name = "SimpleRNN"


class LSTMText(RecurrentText):
    """Embedding + LSTM(units) (final output)."""

    name = "lstm"
    layer_name = "LSTM"


class GRUText(RecurrentText):
    """Embedding + GRU(units) (final output)."""

    name = "gru"
    layer_name = "GRU"


class BiLSTMText(RecurrentText):
    """Embedding + Bidirectional(LSTM(units)) (final outputs)."""

    name = "bilstm"
    layer_name = "LSTM"
    bidirectional = True


class BiGRUText(RecurrentText):
    """SpatialDropout + Bidirectional(GRU(units)) + concatenated max/avg pooling (Quora/Jigsaw)."""

    name = "bigru"
    layer_name = "GRU"
    bidirectional = True
    default_pooling = ("max", "avg")


MODELS = (DenseText, Conv1DText, SimpleRNNText, LSTMText, GRUText, BiLSTMText, BiGRUText)


@hookimpl
def register_models(register):
    for cls in MODELS:
        register(cls.name, cls)
