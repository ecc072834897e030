"""A KerasHub backbone from a local preset directory (KerasHub or Hugging Face layout).

KerasHub layout: ``keras_hub.models.Backbone.from_preset(directory)``.

Hugging Face layout (``config.json`` with ``model_type`` + ``model.safetensors``): KerasHub's
own ``from_preset`` expects the weight names of the original ``*ForPreTraining`` checkpoints
(``bert.embeddings.LayerNorm.gamma``) and fails on the many checkpoints saved by
``BertModel``/sentence-transformers (``embeddings.LayerNorm.weight``, no ``bert.`` prefix;
all-MiniLM-L6-v2 is one). So the backbone is built from KerasHub's converter for that
``model_type`` (``keras_hub/src/utils/transformers/convert_<type>.py``) and the converter
ports the weights through a reader that accepts either naming.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from kagglekit.hub.presets import PresetError, preset_layout


def load_backbone(path: Path, **kwargs):
    """The backbone stored in ``path`` (KerasHub or Hugging Face layout)."""
    path = Path(path)
    layout = preset_layout(path)
    if layout == "keras":
        import keras_hub

        try:
            return keras_hub.models.Backbone.from_preset(str(path), **kwargs)
        except (ValueError, FileNotFoundError) as exc:
            raise PresetError(f"{path}: not a loadable KerasHub preset ({exc})") from None
    if layout in ("hf", "sentence-transformers"):
        return load_hf_backbone(path, **kwargs)
    raise PresetError(
        f"{path}: holds no transformer backbone (layout {layout!r}); expected a "
        f"KerasHub preset or a Hugging Face config.json + model.safetensors directory"
    )


def hf_config(path: Path) -> dict:
    return json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))


def load_hf_backbone(path: Path, **kwargs):
    """Build the KerasHub backbone for a Hugging Face layout directory and port its weights."""
    import inspect

    from keras_hub.src.utils.transformers.preset_loader import TransformersPresetLoader

    path = Path(path)
    config = hf_config(path)
    try:
        loader = TransformersPresetLoader(str(path), config)
    except ValueError as exc:
        raise PresetError(f"{path}: {exc}") from None
    cls = loader.check_backbone_class()
    accepted = inspect.signature(cls.__init__).parameters
    # converters leave some sizes at the class defaults; take them from config.json
    extra = {}
    if "max_sequence_length" in accepted and "max_position_embeddings" in config:
        extra["max_sequence_length"] = int(config["max_position_embeddings"])
    if "num_segments" in accepted and "type_vocab_size" in config:
        extra["num_segments"] = int(config["type_vocab_size"])
    extra.update(kwargs)
    backbone = loader.load_backbone(cls, load_weights=False, **extra)
    with SafetensorsReader(path, config.get("model_type", "")) as reader:
        loader.converter.convert_weights(backbone, reader, config)
    return backbone


class SafetensorsReader(contextlib.ExitStack):
    """The ``loader`` a KerasHub converter expects (``get_tensor``, ``port_weight``), reading
    ``model.safetensors`` (or the shards of ``model.safetensors.index.json``) and matching
    names with or without the ``<model_type>.`` prefix, ``gamma``/``beta`` or
    ``weight``/``bias``."""

    def __init__(self, path: Path, model_type: str):
        super().__init__()
        self.path = Path(path)
        self.preset = str(path)
        self.prefix = ""
        self.safetensor_config: dict | None = None
        self._model_prefix = f"{model_type}." if model_type else ""
        self._index: dict[str, tuple[str, str]] = {}
        self._files: dict[str, Any] = {}  # safetensors' open files

    def __enter__(self):
        super().__enter__()
        try:
            from safetensors import safe_open
        except ImportError:
            raise ImportError(
                "loading a Hugging Face layout checkpoint needs safetensors: "
                "pip install safetensors"
            ) from None
        index_file = self.path / "model.safetensors.index.json"
        if index_file.is_file():
            self.safetensor_config = json.loads(index_file.read_text(encoding="utf-8"))
            names = sorted(set(self.safetensor_config["weight_map"].values()))
        elif (self.path / "model.safetensors").is_file():
            names = ["model.safetensors"]
        else:
            others = sorted(p.name for p in self.path.glob("*.bin")) + sorted(
                p.name for p in self.path.glob("*.h5")
            )
            hint = (
                f" (it has {', '.join(others)}: re-save it with transformers' "
                f"save_pretrained(dir, safe_serialization=True))"
                if others
                else ""
            )
            raise PresetError(f"{self.path}: no model.safetensors{hint}")
        for name in names:
            handle = self.enter_context(safe_open(str(self.path / name), framework="np"))
            self._files[name] = handle
            for key in handle.keys():
                self._index.setdefault(self._normalise(key), (name, key))
        return self

    def _normalise(self, key: str) -> str:
        if self._model_prefix and key.startswith(self._model_prefix):
            key = key[len(self._model_prefix) :]
        if key.endswith(".gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith(".beta"):
            key = key[: -len("beta")] + "bias"
        return key

    def get_tensor(self, hf_weight_key: str):
        found = self._index.get(self._normalise(hf_weight_key))
        if found is None:
            sample = ", ".join(sorted(self._index)[:5])
            raise PresetError(
                f"{self.path}: the checkpoint has no weight {hf_weight_key!r} "
                f"(it holds e.g. {sample}); is config.json's model_type right?"
            )
        name, key = found
        return self._files[name].get_tensor(key)

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        tensor = self.get_tensor(hf_weight_key)
        if hook_fn:
            tensor = hook_fn(tensor, list(keras_variable.shape))
        if tuple(tensor.shape) != tuple(keras_variable.shape):
            raise PresetError(
                f"{self.path}: weight {hf_weight_key!r} has shape {tuple(tensor.shape)}"
                f", the backbone expects {tuple(keras_variable.shape)}"
            )
        keras_variable.assign(tensor)


# -- a backbone inside a Keras model (import Keras; called from fit/encode only) -----------------
def backbone_inputs(backbone) -> list[str]:
    """The backbone's input names (token_ids, padding_mask[, segment_ids])."""
    import keras

    spec = backbone.input
    names = list(spec) if isinstance(spec, dict) else [t.name for t in keras.tree.flatten(spec)]
    if "token_ids" not in names or "padding_mask" not in names:
        raise PresetError(
            f"the backbone takes inputs {names}; kagglekit needs token_ids and "
            f"padding_mask (KerasHub's text backbones)"
        )
    return names


def sequence_output(outputs):
    """The (b, t, h) tensor of a backbone call (BERT returns a dict, DistilBERT a tensor)."""
    if isinstance(outputs, dict):
        return outputs["sequence_output"]
    return outputs


def _freeze_unused_pooler(backbone) -> None:
    """BERT's pooled output (a dense layer on [CLS]) is not used by these heads; freezing it
    keeps the optimizer from warning about variables without gradients."""
    try:
        backbone.get_layer("pooled_dense").trainable = False
    except ValueError:
        pass


def _no_dropout(backbone) -> None:
    """Keras 3 passes the outer model's ``training`` flag through a functional model,
    overriding ``backbone(..., training=False)``: a frozen backbone would drop out while the
    head trains and not at prediction. Its dropout layers are set to rate 0 instead."""
    import keras

    for layer in backbone._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0


def sequence_head(
    backbone,
    *,
    head: str = "mean",
    rnn_units: int = 64,
    freeze_backbone: bool = False,
    normalize: bool = False,
    pool_layers: int = 1,
):
    """(inputs, pooled): symbolic inputs -> backbone -> masked ``head`` (a pooling, an RNN,
    or several poolings ``+``-joined, concatenated) [-> L2 normalisation]. ``pool_layers``
    > 1: the head reads the mean of the last N blocks' outputs instead of the last one."""
    import keras

    from kagglekit.keras.layers import L2Normalize, pool

    names = backbone_inputs(backbone)
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in names}
    _freeze_unused_pooler(backbone)
    if pool_layers > 1:
        from kagglekit.hub.adapters import hidden_states

        backbone = hidden_states(backbone, pool_layers)
    if freeze_backbone:
        backbone.trainable = False
        _no_dropout(backbone)
        outputs = backbone(inputs, training=False)
    else:
        outputs = backbone(inputs)
    if pool_layers > 1:
        outputs = keras.layers.Average(name="pool_layers")(list(outputs))
    x = pool(sequence_output(outputs), inputs["padding_mask"], head.split("+"), rnn_units=rnn_units)
    if normalize:
        x = L2Normalize(name="normalize")(x)
    return inputs, x
