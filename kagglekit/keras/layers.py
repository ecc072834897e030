"""The one set of masked layers and heads, written with ``keras.ops`` (every backend).

All pooling layers take the mask as ``mask=`` (True/1 = real token): ``PaddingMask`` makes
it from word ids (0 = padding), a transformer backbone's ``padding_mask`` input is one.
They are registered as serializable so saved ``.keras`` files load in a new process (with
``safe_mode=True``) once this module is imported.

``cls``        the first token's vector
``mean``       mean over real tokens (``avg`` is accepted as a synonym)
``max``        max over real tokens (0 for a row without any)
``mean-max``   both, concatenated
``last``       the last real token's vector (decoder LLMs; left or right padding)
``attention``  feed-forward attention pooling over real tokens
``gru``, ``bigru``, ``lstm``, ``bilstm``   an RNN over real tokens (Keras masking), last state
"""

from __future__ import annotations

import keras
from keras import ops

POOLINGS = ("cls", "mean", "max", "mean-max")
_MODES = POOLINGS + ("mean-sqrt-len", "last")  # sentence-transformers' mean_sqrt_len_tokens
RNNS = ("gru", "bigru", "lstm", "bilstm")
HEADS = POOLINGS + RNNS


def _low(dtype) -> float:
    return -6.0e4 if str(dtype) == "float16" else -1.0e9


@keras.saving.register_keras_serializable(package="kagglekit")
class PaddingMask(keras.layers.Layer):
    """ids (batch, steps) -> bool mask, True where the id is not padding (0)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = False

    def call(self, ids):
        return ops.not_equal(ids, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(ids.shape, dtype="bool")


@keras.saving.register_keras_serializable(package="kagglekit")
class MaskedPooling(keras.layers.Layer):
    """(sequence (b, t, h), mask (b, t)) -> (b, h), or (b, 2h) for ``mean-max``."""

    def __init__(self, mode: str = "mean", **kwargs):
        super().__init__(**kwargs)
        mode = "mean" if mode == "avg" else mode
        if mode not in _MODES:
            raise ValueError(f"pooling mode must be one of {', '.join(_MODES)}, got {mode!r}")
        self.mode = mode
        self.supports_masking = True  # consumes the mask; the pooled output has none

    def compute_mask(self, inputs, mask=None):
        return None

    def call(self, sequence, mask=None):
        if self.mode == "cls":
            return sequence[:, 0, :]
        if mask is None:
            mask = ops.ones(ops.shape(sequence)[:2], dtype="bool")
        if self.mode == "last":
            steps = ops.arange(ops.shape(sequence)[1], dtype="int32")
            last = ops.max(ops.where(ops.cast(mask, "bool"), steps[None, :], 0), axis=1)
            index = ops.expand_dims(ops.expand_dims(last, -1), -1)
            return ops.squeeze(ops.take_along_axis(sequence, index, axis=1), 1)
        real = ops.expand_dims(ops.cast(mask, "bool"), -1)
        weight = ops.cast(real, sequence.dtype)
        parts = []
        if self.mode in ("mean", "mean-max", "mean-sqrt-len"):
            total = ops.sum(sequence * weight, axis=1)
            count = ops.maximum(ops.sum(weight, axis=1), ops.cast(1.0, sequence.dtype))
            parts.append(total / (ops.sqrt(count) if self.mode == "mean-sqrt-len" else count))
        if self.mode in ("max", "mean-max"):
            pooled = ops.max(
                ops.where(real, sequence, ops.cast(_low(sequence.dtype), sequence.dtype)), axis=1
            )
            parts.append(ops.where(ops.any(real, axis=1), pooled, ops.zeros_like(pooled)))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, sequence_shape, mask_shape=None):
        width = sequence_shape[-1]
        if self.mode == "mean-max" and width is not None:
            width *= 2
        return (sequence_shape[0], width)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="kagglekit")
class AttentionPool(keras.layers.Layer):
    """Feed-forward attention pooling (Raffel & Ellis 2015), as in the Quora kernels:
    score_t = v . tanh(W h_t + b), weights = softmax over the real steps, out = sum w_t h_t."""

    def __init__(self, units: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def build(self, input_shape):
        dim = int(input_shape[-1])
        hidden = self.units or dim
        self.w = self.add_weight(shape=(dim, hidden), initializer="glorot_uniform", name="w")
        self.b = self.add_weight(shape=(hidden,), initializer="zeros", name="b")
        self.v = self.add_weight(shape=(hidden, 1), initializer="glorot_uniform", name="v")

    def call(self, x, mask=None):
        scores = ops.squeeze(ops.matmul(ops.tanh(ops.matmul(x, self.w) + self.b), self.v), -1)
        if mask is not None:
            scores = ops.where(ops.cast(mask, "bool"), scores, ops.cast(-1e4, scores.dtype))
        weights = ops.softmax(ops.cast(scores, "float32"), axis=1)
        if mask is not None:
            weights = weights * ops.cast(mask, "float32")
        return ops.sum(x * ops.cast(ops.expand_dims(weights, -1), x.dtype), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="kagglekit")
class L2Normalize(keras.layers.Layer):
    """Unit-length rows (sentence-transformers' Normalize module)."""

    def call(self, x):
        return x / ops.maximum(
            ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True)), ops.cast(1e-12, x.dtype)
        )


def rnn_layer(kind: str, units: int, *, return_sequences: bool = False, name: str | None = None):
    """GRU / LSTM, ``bi`` prefix for a bidirectional one."""
    if kind not in RNNS:
        raise ValueError(f"RNN head must be one of {', '.join(RNNS)}, got {kind!r}")
    cell = keras.layers.GRU if kind.endswith("gru") else keras.layers.LSTM
    layer = cell(units, return_sequences=return_sequences, name=name or f"head_{kind}")
    return (
        keras.layers.Bidirectional(layer, name=f"{name or 'head'}_bi")
        if kind.startswith("bi")
        else layer
    )


def pool(sequence, mask, modes, *, rnn_units: int = 64):
    """Apply each of ``modes`` (poolings, ``attention`` or an RNN head) to a symbolic
    sequence with its mask; several results are concatenated in the order given."""
    parts = []
    for mode in modes:
        if mode == "attention":
            parts.append(AttentionPool(name="pool_attention")(sequence, mask=mask))
        elif mode in RNNS:
            parts.append(rnn_layer(mode, rnn_units)(sequence, mask=ops.cast(mask, "bool")))
        else:
            name = "mean" if mode == "avg" else mode
            parts.append(MaskedPooling(mode, name=f"pool_{name}")(sequence, mask=mask))
    return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="poolings")(parts)


def classifier(
    inputs, features, *, n_targets: int, dropout: float = 0.0, name: str = "model", msd: int = 1
):
    """inputs -> features [-> Dropout] -> Dense(n_targets, sigmoid, float32) named ``output``.
    ``msd`` > 1: multi-sample dropout, the same Dense on ``msd`` dropout samples of the
    features, logits averaged (identical samples at inference)."""
    x = features
    if msd > 1:
        dense = keras.layers.Dense(n_targets, dtype="float32", name="logits")
        logits = [dense(keras.layers.Dropout(dropout, name=f"msd_{i}")(x)) for i in range(msd)]
        mean = keras.layers.Average(name="msd_mean", dtype="float32")(logits)
        out = keras.layers.Activation("sigmoid", dtype="float32", name="output")(mean)
        return keras.Model(inputs, out, name=name.replace("-", "_"))
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(n_targets, activation="sigmoid", dtype="float32", name="output")(x)
    return keras.Model(inputs, out, name=name.replace("-", "_"))
