"""Keras layers for text models, written with ``keras.ops`` so they run on every backend.

All take an explicit boolean ``mask`` (True = real token) computed from the ids by
``PaddingMask``; they are registered as serializable so saved ``.keras`` files load in a
new process once this module is imported.
"""

from __future__ import annotations

import keras
from keras import ops

_NEG = -1e4  # representable in float16 and bfloat16


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
class MaskedGlobalPool(keras.layers.Layer):
    """Max or mean over the real (unmasked) steps; 0 for a row with none."""

    def __init__(self, mode: str = "max", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "avg"):
            raise ValueError(f"mode must be max or avg, got {mode!r}")
        self.mode = mode
        self.supports_masking = True  # consumes the mask; the pooled output has none

    def compute_mask(self, inputs, mask=None):
        return None

    def call(self, x, mask=None):
        if mask is None:
            return ops.max(x, axis=1) if self.mode == "max" else ops.mean(x, axis=1)
        m = ops.expand_dims(ops.cast(mask, "bool"), -1)
        if self.mode == "max":
            pooled = ops.max(ops.where(m, x, ops.cast(_NEG, x.dtype)), axis=1)
            return ops.where(ops.any(m, axis=1), pooled, ops.zeros_like(pooled))
        w = ops.cast(m, x.dtype)
        total = ops.sum(x * w, axis=1)
        return total / ops.maximum(ops.sum(w, axis=1), ops.cast(1.0, x.dtype))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

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
            scores = ops.where(ops.cast(mask, "bool"), scores, ops.cast(_NEG, scores.dtype))
        weights = ops.softmax(ops.cast(scores, "float32"), axis=1)
        if mask is not None:
            weights = weights * ops.cast(mask, "float32")
        return ops.sum(x * ops.cast(ops.expand_dims(weights, -1), x.dtype), axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}
