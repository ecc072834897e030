"""Heads on a backbone's sequence output, masked so that padding never reaches the result.

``cls``        the first token's vector
``mean``       mean over real tokens
``max``        max over real tokens (padding set to a large negative value first)
``mean-max``   both, concatenated
``gru``, ``bigru``, ``lstm``, ``bilstm``   an RNN over real tokens (Keras masking), last state

Importing this module imports Keras; the models import it inside fit/load only.
"""

from __future__ import annotations

import keras
from keras import ops

POOLINGS = ("cls", "mean", "max", "mean-max")
_ALL_POOLINGS = POOLINGS + ("mean-sqrt-len",)  # sentence-transformers' pooling_mode_mean_sqrt_len_tokens
RNNS = ("gru", "bigru", "lstm", "bilstm")
HEADS = POOLINGS + RNNS


@keras.saving.register_keras_serializable(package="kagglekit")
class MaskedPooling(keras.layers.Layer):
    """(sequence (b, t, h), padding_mask (b, t)) -> (b, h) or (b, 2h) for ``mean-max``."""

    def __init__(self, mode: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in _ALL_POOLINGS:
            raise ValueError(f"pooling mode must be one of {', '.join(_ALL_POOLINGS)}, got {mode!r}")
        self.mode = mode
        self.supports_masking = False

    def call(self, sequence, padding_mask):
        if self.mode == "cls":
            return sequence[:, 0, :]
        mask = ops.cast(padding_mask, sequence.dtype)[:, :, None]
        parts = []
        if self.mode in ("mean", "mean-max", "mean-sqrt-len"):
            total = ops.sum(sequence * mask, axis=1)
            count = ops.maximum(ops.sum(mask, axis=1), ops.cast(1.0, sequence.dtype))
            parts.append(total / (ops.sqrt(count) if self.mode == "mean-sqrt-len" else count))
        if self.mode in ("max", "mean-max"):
            low = -6.0e4 if str(sequence.dtype) == "float16" else -1.0e9
            parts.append(ops.max(ops.where(mask > 0, sequence, ops.cast(low, sequence.dtype)),
                                 axis=1))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, sequence_shape, padding_mask_shape=None):
        width = sequence_shape[-1]
        if self.mode == "mean-max" and width is not None:
            width *= 2
        return (sequence_shape[0], width)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="kagglekit")
class L2Normalize(keras.layers.Layer):
    """Unit-length rows (sentence-transformers' Normalize module)."""

    def call(self, x):
        return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True)),
                               ops.cast(1e-12, x.dtype))


def rnn_layer(kind: str, units: int):
    if kind not in RNNS:
        raise ValueError(f"RNN head must be one of {', '.join(RNNS)}, got {kind!r}")
    cell = keras.layers.GRU if kind.endswith("gru") else keras.layers.LSTM
    layer = cell(units, name=f"head_{kind}")
    return keras.layers.Bidirectional(layer, name=f"head_bi{kind[2:]}") if kind.startswith("bi") \
        else layer


def sequence_output(outputs):
    """The (b, t, h) tensor of a backbone call (BERT returns a dict, DistilBERT a tensor)."""
    if isinstance(outputs, dict):
        return outputs["sequence_output"]
    return outputs


def backbone_inputs(backbone) -> list[str]:
    spec = backbone.input
    names = list(spec) if isinstance(spec, dict) else [t.name for t in keras.tree.flatten(spec)]
    if "token_ids" not in names or "padding_mask" not in names:
        raise ValueError(f"the backbone takes inputs {names}; kagglekit needs token_ids and "
                         f"padding_mask (KerasHub's text backbones)")
    return names


def pooled(sequence, padding_mask, head: str, rnn_units: int = 64):
    """Apply ``head`` to a symbolic sequence output; returns the pooled tensor."""
    if head in _ALL_POOLINGS:
        return MaskedPooling(head, name=f"pool_{head}")(sequence, padding_mask)
    mask = ops.cast(padding_mask, "bool")
    return rnn_layer(head, rnn_units)(sequence, mask=mask)


def _freeze_unused_pooler(backbone) -> None:
    """BERT's pooled output (a dense layer on [CLS]) is not used by these heads; freezing it
    keeps the optimizer from warning about variables without gradients."""
    try:
        backbone.get_layer("pooled_dense").trainable = False
    except ValueError:
        pass


def build_classifier(backbone, *, n_targets: int, head: str = "mean", dropout: float = 0.1,
                     rnn_units: int = 64, freeze_backbone: bool = False):
    """inputs (token_ids, padding_mask[, segment_ids]) -> backbone -> head -> sigmoid."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    names = backbone_inputs(backbone)
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in names}
    _freeze_unused_pooler(backbone)
    if freeze_backbone:
        backbone.trainable = False
        outputs = backbone(inputs, training=False)
    else:
        outputs = backbone(inputs)
    x = pooled(sequence_output(outputs), inputs["padding_mask"], head, rnn_units)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    probs = keras.layers.Dense(n_targets, activation="sigmoid", dtype="float32",
                               name="classifier")(x)
    return keras.Model(inputs, probs, name="kagglekit_transformer")


def build_encoder(backbone, *, poolings=("mean",), normalize: bool = False):
    """inputs -> backbone (inference) -> masked pooling(s), concatenated in the order given
    [-> L2 normalisation]: sentence vectors."""
    names = backbone_inputs(backbone)
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in names}
    backbone.trainable = False
    sequence = sequence_output(backbone(inputs, training=False))
    parts = [pooled(sequence, inputs["padding_mask"], mode) for mode in poolings]
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="poolings")(parts)
    if normalize:
        x = L2Normalize(name="normalize")(x)
    model = keras.Model(inputs, x, name="kagglekit_encoder")
    model.jit_compile = False  # bucketed batches have many shapes; XLA would recompile each
    return model
