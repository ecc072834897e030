"""``-p remat=true``: every backbone block rematerialised (``kagglekit.hub.adapters.remat_blocks``,
``keras.remat`` around a positional wrapper of the block's call). The blocks really are
recomputed in the backward pass, the gradients equal those without remat, and a model
trained with remat predicts what one trained without it does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kagglekit.frame import TextFrame
from support.hub import keras_preset, texts_and_labels

keras = pytest.importorskip("keras")
pytest.importorskip("keras_hub")
pytest.importorskip("sentencepiece")
if not hasattr(keras, "remat"):
    pytest.skip("the installed Keras has no keras.remat", allow_module_level=True)


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    from support.finetune import deberta_preset, gemma_preset

    root = tmp_path_factory.mktemp("remat-presets")
    return {
        "gemma": gemma_preset(root / "gemma"),
        "deberta": deberta_preset(root / "deberta"),
        "bert": keras_preset(root / "bert"),
    }


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KAGGLEKIT_PRESET_DIRS", str(tmp_path / "no-mounts"))


GRADIENTS = r"""
import sys, numpy as np, keras
from kagglekit.hub.adapters import blocks, remat_blocks
from kagglekit.hub.backbone import load_backbone

def gradients(path, remat):
    keras.utils.set_random_seed(0)
    backbone = load_backbone(path)
    runs = []
    for layer in blocks(backbone):
        def counted(*a, _call=layer.call, **k):
            runs.append(1)
            return _call(*a, **k)
        layer.call = counted
    if remat:
        remat_blocks(backbone)
    rng = np.random.default_rng(0)
    x = {"token_ids": rng.integers(5, 30, (4, 12)).astype("int32"),
         "padding_mask": np.ones((4, 12), "int32")}
    x["padding_mask"][:, 9:] = 0
    if "segment_ids" in [t.name for t in keras.tree.flatten(backbone.input)]:
        x["segment_ids"] = np.zeros((4, 12), "int32")
    training = sys.argv[2] == "train"
    if keras.backend.backend() == "jax":
        import jax
        trainable = [v.value for v in backbone.trainable_variables]
        fixed = [v.value for v in backbone.non_trainable_variables]
        def loss(trainable):
            out, _ = backbone.stateless_call(trainable, fixed, x, training=training)
            out = out["sequence_output"] if isinstance(out, dict) else out
            return (out.astype("float32") ** 2).mean()
        jaxpr = str(jax.make_jaxpr(jax.grad(loss))(trainable))
        # Python runs a block once; each checkpoint in the program is recomputed by XLA
        runs.extend([1] * (jaxpr.count("checkpoint[") + jaxpr.count("remat2[")))
        traced = len(runs)
        grads = jax.jit(jax.grad(loss))(trainable)
        del runs[traced:]
    else:
        import tensorflow as tf
        @tf.function
        def step():
            with tf.GradientTape() as tape:
                out = backbone(x, training=training)
                out = out["sequence_output"] if isinstance(out, dict) else out
                loss = tf.reduce_mean(tf.cast(out, "float32") ** 2)
            return tape.gradient(loss, [v.value for v in backbone.trainable_variables])
        grads = [None if g is None else tf.convert_to_tensor(g) for g in step()]
    return [None if g is None else np.asarray(g) for g in grads], len(runs), len(blocks(backbone))

plain, plain_runs, n = gradients(sys.argv[1], False)
remat, remat_runs, _ = gradients(sys.argv[1], True)
worst = max(float(np.abs(a - b).max()) for a, b in zip(plain, remat) if a is not None)
scale = max(float(np.abs(a).max()) for a in plain if a is not None)
print(n, plain_runs, remat_runs, worst / scale)
"""


def gradients_check(path: Path, backend: str, mode: str, tmp_path: Path):
    script = tmp_path / "gradients.py"
    script.write_text(GRADIENTS)
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, str(script), str(path), mode], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    n, plain_runs, remat_runs, relative = result.stdout.split()[-4:]
    return int(n), int(plain_runs), int(remat_runs), float(relative)


@pytest.mark.parametrize(
    "backend, kind, mode",
    [
        pytest.param("tensorflow", "gemma", "train", marks=pytest.mark.slow),  # ~12 s
        ("tensorflow", "bert", "infer"),
        pytest.param("jax", "deberta", "train", marks=pytest.mark.slow),  # ~32 s
    ],
)
def test_remat_recomputes_every_block_and_keeps_the_gradients(
    presets, tmp_path, backend, kind, mode
):
    """Each block runs once without remat and twice with it (TensorFlow: forward, then again
    in the backward pass; JAX: once, plus one checkpoint in the program per block); the
    gradients agree. On JAX with dropout on (DeBERTa, training)."""
    if backend == "jax":
        pytest.importorskip("jax")
    n, plain_runs, remat_runs, relative = gradients_check(presets[kind], backend, mode, tmp_path)
    assert n >= 1 and plain_runs == n and remat_runs == 2 * n
    assert relative < 1e-5


def frames():
    texts, y = texts_and_labels(100, seed=3)
    return TextFrame.from_texts(texts[:80], y[:80]), TextFrame.from_texts(texts[80:], y[80:])


@pytest.mark.slow  # ~20 s; remat gradients are checked by the test above
def test_a_model_trained_with_remat_predicts_what_one_without_does(presets, tmp_path):
    from kagglekit.hub.adapters import blocks
    from kagglekit_plugins.transformer import TransformerClassifier

    train, test = frames()
    params = {
        "preset": str(presets["gemma"]),
        "head": "last",
        "epochs": 2,
        "learning_rate": 1e-2,
        "batch_size": 16,
        "max_length": 16,
        "dropout": 0.0,
        "verbose": 0,
    }
    plain = TransformerClassifier.from_dict(params, seed=0).fit(train, test)
    remat = TransformerClassifier.from_dict({**params, "remat": True}, seed=0).fit(train, test)
    backbone = next(layer for layer in remat.model_.layers if hasattr(layer, "transformer_layers"))
    assert all(getattr(b.call, "rematerialised", False) for b in blocks(backbone))
    assert remat.fit_info_["recipe_options"]["remat"] is True
    prob = remat.predict(test)
    np.testing.assert_allclose(prob, plain.predict(test), atol=1e-4)
    remat.save(tmp_path / "fold")
    np.testing.assert_allclose(
        TransformerClassifier.load(tmp_path / "fold").predict(test), prob, atol=1e-6
    )


def test_remat_with_dropout_on_tensorflow_is_refused_in_one_line(presets):
    from kagglekit.errors import ParamError
    from kagglekit_plugins.transformer import TransformerClassifier

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the refusal is TensorFlow's")
    model = TransformerClassifier.from_dict(
        {
            "preset": str(presets["deberta"]),
            "epochs": 1,
            "max_length": 16,
            "remat": True,
            "verbose": 0,
        }
    )
    with pytest.raises(
        ParamError, match="remat=true on TensorFlow needs a backbone without dropout"
    ) as err:
        model.fit(frames()[0])
    assert "\n" not in str(err.value)
