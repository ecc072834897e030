"""Recipe pieces for fine-tuning a KerasHub backbone: layer-wise learning-rate scales, LoRA,
the last N hidden layers, and a saved fold that keeps only the trainable variables.

``weights.safetensors`` holds a list of variables (a LoRA model's trainable ones: adapters +
head; or all of a model rebuilt from its preset) in order under their paths; loading checks
every path and shape.
safetensors is a plain tensor format: nothing read back executes code.
"""

from __future__ import annotations

from pathlib import Path

from kagglekit.hub.presets import PresetError

WEIGHTS_FILE = "weights.safetensors"
LORA_VARIABLES = ("lora_kernel_a", "lora_kernel_b")


def blocks(backbone) -> list:
    """The backbone's repeated transformer blocks, bottom to top (KerasHub's
    ``transformer_layers``: BERT, DeBERTa-v3, Gemma, Qwen3, Llama 3, ...)."""
    found = getattr(backbone, "transformer_layers", None)
    if not found:
        raise PresetError(
            f"{type(backbone).__name__} exposes no transformer_layers; layer-wise "
            f"options (llrd, pool_layers) need them"
        )
    return list(found)


def layer_groups(backbone) -> list[list]:
    """The backbone's variables in layer groups, bottom to top: the embeddings, then each
    transformer block. The rest (final norms, pooler) is left to train with the head."""
    layers = blocks(backbone)
    in_blocks = {id(v) for layer in layers for v in layer.weights}
    embeddings = [v for v in backbone.weights if "embed" in v.path and id(v) not in in_blocks]
    return [embeddings, *[list(layer.weights) for layer in layers]]


def layerwise_scales(backbone, decay: float) -> dict:
    """``id(variable)`` -> learning-rate factor: block i of L gets ``decay ** (L - i)``,
    the embeddings ``decay ** (L + 1)``, the rest of the backbone (final norms, pooler) and
    the head 1 (what ``KerasModel.group_options`` gives for ``layer_groups``)."""
    groups = layer_groups(backbone)
    n = len(groups)
    return {id(v): decay ** (n - j) for j, group in enumerate(groups) for v in group}


def enable_lora(backbone, rank: int, targets: str | None = None) -> None:
    """Freeze the backbone and add rank-``rank`` adapters to ``targets`` (comma-separated
    layer names; default: KerasHub's choice, the attention query and value projections)."""
    names = [t.strip() for t in targets.split(",") if t.strip()] if targets else None
    backbone.enable_lora(int(rank), target_layer_names=names)
    for v in backbone.trainable_variables:  # Keras leaves the adapted layers' biases trainable
        if not v.path.endswith(LORA_VARIABLES):
            v.trainable = False
    if not any(v.path.endswith(LORA_VARIABLES) for v in backbone.trainable_variables):
        raise PresetError(
            f"lora_targets={targets!r}: no layer of {type(backbone).__name__} "
            f"with that name takes LoRA (default: "
            f"{', '.join(backbone.default_lora_layer_names())})"
        )


def hidden_states(backbone, n: int):
    """A Keras model: the backbone's inputs -> the outputs of its last ``n`` blocks."""
    import keras

    layers = blocks(backbone)
    if n > len(layers):
        raise PresetError(f"pool_layers={n} but the backbone has {len(layers)} layers")
    outputs = []
    for layer in layers[-n:]:
        out = layer.output
        outputs.append(out[0] if isinstance(out, (list, tuple)) else out)
    return keras.Model(backbone.input, outputs, name="hidden_states")


def kept(variables) -> list:
    """The variables worth saving: not random-seed states (their paths are numbered per
    process and they do not affect prediction)."""
    return [v for v in variables if "seed_generator" not in v.path]


def save_variables(variables, directory: Path) -> int:
    """Write ``variables`` to ``directory/weights.safetensors``; returns its size in bytes."""
    import keras
    from safetensors.numpy import save_file

    variables = kept(variables)
    arrays = {
        f"{i:04d}:{v.path}": keras.ops.convert_to_numpy(v).astype(
            "float32" if "float" in str(v.dtype) else str(v.dtype)
        )
        for i, v in enumerate(variables)
    }
    path = Path(directory) / WEIGHTS_FILE
    tmp = path.with_suffix(".tmp")
    save_file(arrays, str(tmp))
    tmp.replace(path)
    return path.stat().st_size


def load_variables(variables, directory: Path) -> None:
    from safetensors.numpy import load_file

    path = Path(directory) / WEIGHTS_FILE
    arrays = load_file(str(path))
    variables = kept(variables)
    if len(arrays) != len(variables):
        raise PresetError(
            f"{path}: {len(arrays)} saved variables, the rebuilt model has "
            f"{len(variables)} (was the preset changed?)"
        )
    for (key, array), v in zip(sorted(arrays.items()), variables):
        # paths of auto-named layers differ between processes: the variable's own name
        # (the last part of its path) and shape must match
        if key.rsplit("/", 1)[-1] != v.path.rsplit("/", 1)[-1] or tuple(array.shape) != tuple(
            v.shape
        ):
            raise PresetError(
                f"{path}: saved variable {key} {tuple(array.shape)} does not fit "
                f"{v.path} {tuple(v.shape)} (was the preset changed?)"
            )
        v.assign(array.astype(str(v.dtype)) if "bfloat" not in str(v.dtype) else array)


def remat_blocks(backbone) -> int:
    """Gradient checkpointing of every block (``keras.remat``: the block's activations are
    recomputed in the backward pass instead of kept). ``keras.RematScope`` cannot do it with
    KerasHub 0.29: its blocks are called with keyword and non-array arguments (``training``,
    masks that may be None), which TensorFlow's ``recompute_grad`` refuses in a graph and
    JAX's ``checkpoint`` cannot trace. So each block's ``call`` is wrapped: the array
    arguments go to the rematerialised function positionally, the rest stay in its closure.
    Gradients equal those without remat on JAX (dropout included: its seeds are state passed
    in) and on TensorFlow for blocks without dropout; on TensorFlow the recomputation draws
    new dropout masks (measured on DeBERTa-v3), so callers refuse that case
    (``has_dropout``). Returns the number of blocks wrapped."""
    import keras

    layers = blocks(backbone)
    for layer in layers:
        layer.call = _rematerialised(layer.call, keras)
    return len(layers)


def has_dropout(backbone) -> bool:
    """Whether the backbone's config sets a dropout rate above 0."""
    config = backbone.get_config()
    return any(float(config.get(k) or 0) > 0 for k in ("dropout", "attention_dropout"))


def _is_array(value) -> bool:
    return (
        hasattr(value, "shape")
        and hasattr(value, "dtype")
        and not isinstance(value, (bool, int, float, str))
    )


def _rematerialised(call, keras):
    def wrapped(*args, **kwargs):
        leaves = keras.tree.flatten((args, kwargs))
        where = [i for i, leaf in enumerate(leaves) if _is_array(leaf)]

        def inner(*arrays):
            filled = list(leaves)
            for i, array in zip(where, arrays):
                filled[i] = array
            a, k = keras.tree.pack_sequence_as((args, kwargs), filled)
            return call(*a, **k)

        return keras.remat(inner)(*[leaves[i] for i in where])

    wrapped.rematerialised = True  # type: ignore[attr-defined]  # a marker on the function
    return wrapped
