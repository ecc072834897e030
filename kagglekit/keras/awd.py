"""AWD-LSTM's pieces (Merity et al. 2017, the encoder of ULMFiT), written with ``keras.ops``.

``WeightDropLSTM``  an LSTM whose hidden-to-hidden weights are dropped (DropConnect) once per
                    batch while training, the same dropped matrix at every time step
``WordDropout``     drops whole words from the embedding matrix while training (one draw of
                    the vocabulary per batch), scaling the kept rows by ``1 / (1 - rate)``
``TiedLogits``      next-word logits from the embedding matrix itself (tied input/output)

Locked ("variational") dropout is Keras' ``SpatialDropout1D``: one mask per sequence and
channel, the same at every step. ``WeightDropLSTM`` and ``WordDropout`` are registered as
serializable, so a classifier built on a pretrained encoder saves to ``.keras`` and loads
with ``safe_mode=True`` once this module is imported.
"""

from __future__ import annotations

import keras
from keras import ops


def _forget_bias_one(shape, dtype=None):
    units = shape[0] // 4
    return ops.concatenate(
        [ops.zeros((units,), dtype), ops.ones((units,), dtype), ops.zeros((2 * units,), dtype)]
    )


@keras.saving.register_keras_serializable(package="kagglekit")
class WeightDropLSTMCell(keras.layers.Layer):
    """A plain LSTM cell (gates i, f, g, o; forget bias 1) that uses ``step_kernel`` as its
    recurrent kernel when the enclosing layer has set one for this call."""

    def __init__(self, units: int, weight_drop: float = 0.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units, self.weight_drop, self.seed = int(units), float(weight_drop), seed
        self.state_size = [self.units, self.units]
        self.output_size = self.units
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.step_kernel = None

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], 4 * u), name="kernel", initializer="glorot_uniform"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(u, 4 * u), name="recurrent_kernel", initializer="orthogonal"
        )
        self.bias = self.add_weight(shape=(4 * u,), name="bias", initializer=_forget_bias_one)

    def dropped_kernel(self, training: bool):
        """The recurrent kernel for one call: DropConnect'ed while training."""
        kernel = ops.convert_to_tensor(self.recurrent_kernel)
        if training and self.weight_drop > 0:
            return keras.random.dropout(kernel, self.weight_drop, seed=self.seed_generator)
        return kernel

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        kernel = self.step_kernel if self.step_kernel is not None else self.recurrent_kernel
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h, kernel) + self.bias
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        h = ops.sigmoid(o) * ops.tanh(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype) for _ in range(2)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "weight_drop": self.weight_drop,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="kagglekit")
class WeightDropLSTM(keras.layers.RNN):
    """``keras.layers.RNN`` over a ``WeightDropLSTMCell``; masks as any Keras RNN."""

    def __init__(
        self,
        units: int,
        weight_drop: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = True,
        **kwargs,
    ):
        kwargs.pop("cell", None)
        cell = WeightDropLSTMCell(units, weight_drop, seed, name="cell")
        super().__init__(cell, return_sequences=return_sequences, **kwargs)
        self.units, self.weight_drop, self.seed = int(units), float(weight_drop), seed

    def inner_loop(self, sequences, initial_state, mask, training=False):
        self.cell.step_kernel = self.cell.dropped_kernel(bool(training))
        try:
            return super().inner_loop(sequences, initial_state, mask, training=training)
        finally:
            self.cell.step_kernel = None

    def get_config(self):
        config = super().get_config()
        config.pop("cell", None)
        return {**config, "units": self.units, "weight_drop": self.weight_drop, "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="kagglekit")
class WordDropout(keras.layers.Layer):
    """Embedding dropout: ``call(ids, embedded)`` zeroes the vectors of a random ``rate`` of
    the vocabulary (the same words everywhere in the batch) while training."""

    def __init__(self, rate: float, vocab_size: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.vocab_size, self.seed = float(rate), int(vocab_size), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, embedded, training=False):
        if not training or self.rate <= 0:
            return embedded
        keep = keras.random.dropout(
            ops.ones((self.vocab_size,), embedded.dtype), self.rate, seed=self.seed_generator
        )
        return embedded * ops.expand_dims(ops.take(keep, ids, axis=0), -1)

    def compute_output_shape(self, ids_shape, embedded_shape):
        return embedded_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "vocab_size": self.vocab_size,
            "seed": self.seed,
        }


class TiedLogits(keras.layers.Layer):
    """``h @ embeddings.T + bias``: next-word logits tied to ``embedding``'s matrix (the
    language model's output layer; only the encoder is saved, so it is not serializable)."""

    def __init__(self, embedding, **kwargs):
        super().__init__(**kwargs)
        self.embedding = embedding

    def build(self, input_shape):
        self.bias = self.add_weight(
            shape=(self.embedding.input_dim,), name="bias", initializer="zeros"
        )

    def call(self, h):
        matrix = ops.cast(self.embedding.embeddings, h.dtype)
        return ops.matmul(h, ops.transpose(matrix)) + ops.cast(self.bias, h.dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.embedding.input_dim)
