"""A frozen backbone with a pooling head (``-p freeze_backbone=true``): its pooled features are
computed once per distinct text, cached by content hash, and reused by every fold and by
test-time prediction; the head trained on them predicts what the backbone-in-the-model path
predicts. Tiny random-weight presets built offline (support/hub.py, support/finetune.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kagglekit.frame import TextFrame
from support.hub import keras_preset, offline_hub, texts_and_labels

pytest.importorskip("keras_hub")
pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("frozen-presets")
    # without dropout in the backbone: the path that keeps the backbone in the model runs it
    # with training=True while the head trains (Keras 3's functional call overrides the
    # training=False it was built with), so only then do the two paths see the same features
    out = {"bert": keras_preset(root / "bert", dropout=0.0)}
    try:
        import sentencepiece  # noqa: F401

        from support.finetune import deberta_preset

        out["deberta"] = deberta_preset(root / "deberta", dropout=0.0)
    except ImportError:
        pass
    return out


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    from kagglekit.hub import encoders

    offline_hub(monkeypatch, tmp_path)
    yield
    encoders.clear_memory()


@pytest.fixture(scope="module")
def frames():
    texts, y = texts_and_labels(100, seed=3)
    return TextFrame.from_texts(texts[:80], y[:80]), TextFrame.from_texts(texts[80:], y[80:])


def has_backbone(model) -> bool:
    """Whether the trained model holds a backbone (a nested Keras model: the backbone, or the
    model of its last hidden layers with pool_layers > 1)."""
    import keras

    return any(isinstance(layer, keras.Model) for layer in model.model_.layers)


@pytest.mark.parametrize(
    "kind, head, pool_layers",
    [("bert", "mean-max", 1), pytest.param("deberta", "cls", 2, marks=pytest.mark.slow)],
)
def test_cached_features_train_the_same_head_as_the_backbone_in_the_model(
    presets, frames, kind, head, pool_layers
):
    from kagglekit_plugins.transformer import TransformerClassifier

    if kind not in presets:
        pytest.skip("needs sentencepiece")
    train, test = frames
    params = {
        "preset": str(presets[kind]),
        "head": head,
        "pool_layers": pool_layers,
        "freeze_backbone": True,
        "epochs": 2,
        "learning_rate": 1e-2,
        "batch_size": 16,
        "max_length": 16,
        "bucketing": False,
        "dropout": 0.0,
        "verbose": 0,
    }
    cached = TransformerClassifier.from_dict(params, seed=1).fit(train, test)
    inline = TransformerClassifier.from_dict({**params, "feature_cache": False}, seed=1).fit(
        train, test
    )
    assert not has_backbone(cached) and has_backbone(inline)
    assert cached.fit_info_["frozen_features"] is True
    assert inline.fit_info_["frozen_features"] is False
    assert cached.fit_info_["parameters"]["total"] < inline.fit_info_["parameters"]["total"]
    assert (
        cached.fit_info_["parameters"]["trainable"] == inline.fit_info_["parameters"]["trainable"]
    )
    losses = [[e["loss"] for e in m.fit_info_["history"]] for m in (cached, inline)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    np.testing.assert_allclose(cached.predict(test), inline.predict(test), atol=1e-5)


def test_rnn_heads_keep_the_backbone_in_the_model(presets, frames):
    from kagglekit_plugins.transformer import TransformerClassifier

    model = TransformerClassifier.from_dict(
        {
            "preset": str(presets["bert"]),
            "head": "gru",
            "freeze_backbone": True,
            "epochs": 1,
            "batch_size": 32,
            "max_length": 16,
            "verbose": 0,
        }
    ).fit(frames[0])
    assert has_backbone(model) and model.fit_info_["frozen_features"] is False


def predict_in_new_process(directory: Path, texts, tmp_path: Path, cache: str) -> np.ndarray:
    (tmp_path / "texts.json").write_text(json.dumps([str(t) for t in texts]))
    code = (
        "import json, numpy as np\n"
        "from kagglekit_plugins.transformer import TransformerClassifier\n"
        f"m = TransformerClassifier.load({str(directory)!r})\n"
        f"texts = json.loads(open({str(tmp_path / 'texts.json')!r}).read())\n"
        f"np.save({str(tmp_path / 'pred.npy')!r}, m.predict(texts))\n"
    )
    env = {**os.environ, "KAGGLEKIT_CACHE": cache}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(tmp_path / "pred.npy")


@pytest.mark.slow  # ~17 s; the cached-features tests stay
def test_a_saved_frozen_fold_holds_the_head_and_reloads_in_a_new_process(presets, frames, tmp_path):
    from kagglekit_plugins.transformer import TransformerClassifier

    train, test = frames
    model = TransformerClassifier.from_dict(
        {
            "preset": str(presets["bert"]),
            "head": "mean",
            "freeze_backbone": True,
            "epochs": 2,
            "learning_rate": 1e-2,
            "batch_size": 16,
            "max_length": 16,
            "verbose": 0,
        },
        seed=0,
    ).fit(train, test)
    prob = model.predict(test)
    model.save(tmp_path / "fold")
    state = json.loads((tmp_path / "fold" / "state.json").read_text())
    assert state["dim"] == 8 and state["inputs"] is None
    # the backbone's weights are not in the fold: model.keras holds the head alone
    assert (tmp_path / "fold" / "model.keras").stat().st_size < (
        presets["bert"] / "model.weights.h5"
    ).stat().st_size
    # recomputed from the preset (no cache), and read from the cache the fit filled
    fresh = predict_in_new_process(tmp_path / "fold", test.text, tmp_path, "off")
    np.testing.assert_allclose(fresh, prob, atol=1e-5)
    cached = predict_in_new_process(
        tmp_path / "fold", test.text, tmp_path, os.environ["KAGGLEKIT_CACHE"]
    )
    np.testing.assert_allclose(cached, prob, atol=1e-6)


def test_cv_runs_the_backbone_over_each_text_at_most_once(presets, tmp_path, monkeypatch):
    """3-fold CV + the test set's prediction by every fold: every text the backbone sees is
    tokenized first, and no text is tokenized twice; no fold's model holds the backbone."""
    from click.testing import CliRunner

    from kagglekit.cli import cli
    from kagglekit.hub import encoders
    from kagglekit.hub.tokenizer import SubwordTokenizer

    seen: list[str] = []
    encoded_rows = []
    original = SubwordTokenizer.encode
    original_encode = encoders.PooledEncoder.encode

    def counting(self, texts, *args, **kwargs):
        seen.extend(str(t) for t in texts)
        return original(self, texts, *args, **kwargs)

    def counting_encode(self, texts):
        out = original_encode(self, texts)
        encoded_rows.append(len(out))
        return out

    monkeypatch.setattr(SubwordTokenizer, "encode", counting)
    monkeypatch.setattr(encoders.PooledEncoder, "encode", counting_encode)
    result = CliRunner().invoke(
        cli,
        [
            "cv",
            "disaster-tweets",
            "--sample",
            "--model",
            "transformer",
            "--folds",
            "3",
            "-p",
            f"preset={presets['bert']}",
            "-p",
            "freeze_backbone=true",
            "-p",
            "head=max",
            "-p",
            "epochs=2",
            "-p",
            "max_length=16",
            "-p",
            "batch_size=32",
            "-p",
            "verbose=0",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen and len(seen) == len(set(seen))
    assert sum(encoded_rows) == len(seen)
    run = json.loads(next((tmp_path / "runs").rglob("run.json")).read_text())
    assert '"feature_cache": true' in json.dumps(run)
    assert len(run["fold_scores"]) == 3
    for fold in run["fold_scores"]:
        assert fold["fit_info"]["frozen_features"] is True
        counts = fold["fit_info"]["parameters"]  # the head alone (+ the dropout's seed state)
        assert counts["trainable"] == 8 + 1 and counts["total"] <= counts["trainable"] + 2
    run_dir = next((tmp_path / "runs").rglob("run.json")).parent

    def data_rows(path):
        with open(path) as fh:
            return sum(1 for _ in fh) - 1

    n_test = (
        data_rows(run_dir / "test_predictions.csv")
        if (run_dir / "test_predictions.csv").is_file()
        else 0
    )
    n_oof = data_rows(run_dir / "oof.csv")
    assert n_oof > 0 and len(seen) <= n_oof + n_test
