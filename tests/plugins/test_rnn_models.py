"""Keras text models (plugins/rnn.py): tiny fits of every architecture, multilabel,
repeatability, save/load in a new process, embeddings, vocabulary leakage, the CV run's
TensorBoard logs and fit info, early stopping modes, the fit recipe, lazy imports, and the
JAX backend."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kagglekit.errors import KaggleKitError, ParamError
from support import REPO
from support.rnn import frames, write_glove

pytest.importorskip("keras")
pytest.importorskip("tokenizers")

ROOT = REPO
TINY = {
    "units": 8,
    "embedding_dim": 8,
    "epochs": 1,
    "verbose": 0,
    "progress": False,
    "tensorboard": False,
    "batch_size": 16,
}


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def model(name, seed=0, **params):
    from kagglekit import plugins

    return plugins.get_model(name).from_dict({**TINY, **params}, seed=seed, name=name)


def auc(y, p):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y[:, 0], p[:, 0])


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "tests") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


# ---------------------------------------------------------------------------- no keras needed
def test_models_register_without_importing_keras():
    code = (
        "import sys\nfrom kagglekit import plugins\n"
        "names = sorted(plugins.models().items)\n"
        "from kagglekit.cli import cli\n"
        "import kagglekit.text.tokenizer, kagglekit.text.embeddings, kagglekit.keras.batching\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]\n"
        "print(names, heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    ).stdout
    for name in ("dense", "conv1d", "simplernn", "lstm", "gru", "bilstm", "bigru"):
        assert f"'{name}'" in out
    assert out.strip().endswith("[]"), out


def test_params_are_checked():
    from kagglekit import plugins

    cls = plugins.get_model("bigru")
    p = cls.from_dict(
        {"pooling": "max,avg,attention", "embeddings": "a.txt,fasttext:b.vec"}, name="bigru"
    ).params
    assert p.pooling == ("max", "avg", "attention")
    assert p.embeddings == ("a.txt", "fasttext:b.vec")
    with pytest.raises(ParamError, match="pooling must be a comma list of last, max"):
        cls.from_dict({"pooling": "max,mean"}, name="bigru")
    with pytest.raises(ParamError, match="cannot be combined"):
        cls.from_dict({"pooling": "last,max"}, name="bigru")
    with pytest.raises(ParamError, match="units must be >= 1, got 0"):
        cls.from_dict({"units": 0}, name="bigru")
    with pytest.raises(ParamError, match="kernel_size"):
        plugins.get_model("conv1d").from_dict({"kernel_size": 0}, name="conv1d")
    with pytest.raises(ParamError, match="has no parameter 'kernel_size'"):
        cls.from_dict({"kernel_size": 3}, name="bigru")


def test_balanced_class_weights():
    from kagglekit import plugins

    m = plugins.get_model("gru").from_dict({"class_weight": "balanced"}, name="gru")
    y = np.array([[1], [0], [0], [0]], dtype=np.float32)
    assert m._sample_weight(y).tolist() == [2.0, pytest.approx(4 / 6)] + [pytest.approx(4 / 6)] * 2
    assert plugins.get_model("gru")()._sample_weight(y) is None


def test_bucketed_sequence_and_prediction_order():
    from types import SimpleNamespace

    from kagglekit.keras.data import Batches, predict_batches
    from kagglekit.keras.ragged import Ragged

    lengths = [3, 1, 7, 2, 5, 4, 6, 1, 3]
    ids = np.concatenate([np.full(n, i + 1) for i, n in enumerate(lengths)]).astype(np.int32)
    r = Ragged(ids, np.concatenate([[0], np.cumsum(lengths)]))
    y = np.arange(9, dtype=np.float32)[:, None]
    seq = Batches(r, y, batch_size=4, maxlen=6, shuffle=True, multiple=2)
    seen = []
    for i in range(len(seq)):
        x, yb = seq[i]
        assert x.shape[1] == seq.plan.widths[i] and x.shape[1] <= 6
        assert np.array_equal(x[:, 0], yb[:, 0] + 1)  # rows and labels stay together
        seen += yb[:, 0].tolist()
    assert sorted(seen) == list(range(9))
    first = seq.plan.order.copy()
    seq.on_epoch_end()
    assert not np.array_equal(first, seq.plan.order)  # reshuffled each epoch

    class Echo:  # predicts each row's first id
        outputs = [SimpleNamespace(shape=(None, 1))]

        def predict(self, data, verbose=0):
            return np.concatenate([data[i][0][:, :1] for i in range(len(data))]).astype(float)

    out = predict_batches(Echo(), r, batch_size=4, maxlen=6, pad_rows_to=3)
    assert out[:, 0].tolist() == list(range(1, 10))
    for chunk in (1, 4, 5, 100):  # a few batches per model.predict: the same outputs
        chunked = predict_batches(Echo(), r, batch_size=2, maxlen=6, chunk_rows=chunk)
        assert chunked[:, 0].tolist() == list(range(1, 10))


# ---------------------------------------------------------------------------- fits
@pytest.mark.parametrize(
    "name,extra",
    [
        ("dense", {}),
        ("conv1d", {}),
        ("simplernn", {}),
        ("lstm", {"bucketing": False, "maxlen": 24}),
        ("gru", {"lr_schedule": "cosine"}),
        ("bilstm", {"class_weight": "balanced"}),
    ],
)
def test_every_model_fits_and_predicts(name, extra):
    # bigru: see the multilabel, repeatability and save/load tests
    train, valid = frames(160, seed=1)
    m = model(name, epochs=2, learning_rate=0.01, **extra).fit(train, valid)
    p = m.predict(valid)
    assert p.shape == (len(valid), 1) and p.dtype == np.float64
    assert np.all((p >= 0) & (p <= 1))
    assert auc(valid.y, p) > 0.75  # the words carry the label: it learns something
    info = m.fit_info_
    assert info["monitor"] == "auc" and info["best_epoch"] in (1, 2)
    assert info["early_stopping"] == "inner" and info["n_early_stopping"] == 12  # 10% of 120
    assert [e["epoch"] for e in info["history"]] == [1, 2]
    assert {"loss", "auc", "lr"} <= set(info["history"][0])
    assert info["maxlen"] >= 1 and info["vocab_size"] > 10
    assert info["accelerator"]["kind"] == "cpu" and info["global_batch_size"] == 16
    assert m.model_.outputs[0].shape[-1] == 1
    if extra.get("bucketing") is False:  # every batch padded to maxlen
        from kagglekit.keras.stopping import holdout_split

        fit_rows, _ = holdout_split(train.y, 0.1, 0)  # the rows trained on (seed 0)
        lengths = np.minimum(m.tokenizer_.encode(train.text).lengths, 24)[fit_rows]
        assert info["maxlen"] == 24 and info["bucketing"] is False
        assert info["padding_efficiency"] == pytest.approx(
            lengths.sum() / (24 * len(fit_rows)), abs=1e-4
        )
    else:
        assert info["padding_efficiency"] > 0.7


def test_multilabel_has_one_sigmoid_per_label_and_monitors_mean_auc():
    train, valid = frames(160, seed=2, n_targets=3)
    m = model("bigru", epochs=2, learning_rate=0.01, pooling="max,avg,attention").fit(train, valid)
    p = m.predict(valid)
    assert p.shape == (len(valid), 3)
    assert m.model_.get_layer("output").activation.__name__ == "sigmoid"
    assert m.fit_info_["monitor"] == "mean_auc"
    assert not np.allclose(p[:, 0], p[:, 1])


def test_cpu_fits_are_repeatable():
    train, valid = frames(120, seed=3)
    a = model("gru", seed=7, pooling="max").fit(train, valid).predict(valid)
    b = model("gru", seed=7, pooling="max").fit(train, valid).predict(valid)
    np.testing.assert_array_equal(a, b)
    import keras  # fit seeds with keras.utils.set_random_seed(seed): another seed, other weights

    weights = {}
    for seed in (7, 8, 7):
        keras.utils.set_random_seed(seed)
        m = model("gru")
        m.vocab_size_, m.embedding_dim_, m.trainable_embeddings_ = 50, 8, True
        built = m.build(keras, 1).get_weights()
        assert weights.setdefault(seed, built) is built or all(
            np.array_equal(x, y) for x, y in zip(weights[seed], built)
        )
    assert any(not np.array_equal(x, y) for x, y in zip(weights[7], weights[8]))


def test_vocabulary_from_training_fold_only_unless_asked():
    train, valid = frames(80, seed=4)
    valid.text[0] = valid.text[0] + " zebra"
    m = model("dense").fit(train, valid)
    assert "zebra" not in m.tokenizer_.vocabulary()
    leaky = model("dense", vocab_from_test=True)
    leaky.set_context(unlabelled=np.array(["unicorn says hi"], dtype=object))
    leaky.fit(train, valid)
    vocab = leaky.tokenizer_.vocabulary()
    assert "zebra" in vocab and "unicorn" in vocab


def test_pretrained_embeddings_frozen_by_default(tmp_path):
    train, valid = frames(80, seed=6)
    words = ["fire", "flood", "Love", "MUSIC", "storm"]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(words), 6)).round(5)
    path = write_glove(tmp_path / "tiny.6d.txt", words, vectors)
    m = model("dense", embeddings=str(path)).fit(train, valid)
    vocab = m.tokenizer_.vocabulary()
    layer = m.model_.get_layer("embedding")
    weights = np.asarray(layer.get_weights()[0])
    assert weights.shape == (len(vocab), 6) and not layer.trainable
    for word, vector in zip(words, vectors):
        np.testing.assert_allclose(weights[vocab.index(word.lower())], vector, rtol=1e-5)
    report = m.fit_info_["embeddings"]
    assert report["vocab_found"] == 5 and report["files"][0]["found_by"]["title"] == 1
    assert 0 < report["token_coverage"] < 1 and m.fit_info_["embedding_dim"] == 6
    both = model("dense", embeddings=f"{path},{path}", trainable_embeddings=True).fit(train, valid)
    assert both.fit_info_["embedding_dim"] == 12
    assert both.model_.get_layer("embedding").trainable


def test_missing_embedding_file_is_one_clear_error(tmp_path):
    train, valid = frames(40, seed=7)
    with pytest.raises(KaggleKitError, match="embedding file .*nope.txt not found"):
        model("dense", embeddings=str(tmp_path / "nope.txt")).fit(train, valid)


def test_conv1d_cannot_pool_last():
    train, valid = frames(40, seed=8)
    with pytest.raises(KaggleKitError, match="'last' needs a recurrent layer"):
        model("conv1d", pooling="last").fit(train, valid)


def test_save_and_load_in_a_new_process(tmp_path):
    train, valid = frames(120, seed=9)
    m = model("bigru", pooling="max,attention").fit(train, valid)
    expected = m.predict(valid)
    assert m.fit_info_["best_epoch"] == 1
    m.save(tmp_path / "saved")
    assert {"model.keras", "tokenizer.json", "params.json", "state.json"} <= {
        p.name for p in (tmp_path / "saved").iterdir()
    }
    (tmp_path / "texts.json").write_text(json.dumps(list(valid.text)))
    code = (
        "import json, sys\nfrom kagglekit import plugins\nfrom kagglekit.frame import TextFrame\n"
        f"texts = json.load(open({str(tmp_path / 'texts.json')!r}))\n"
        f"m = plugins.get_model('bigru').load({str(tmp_path / 'saved')!r})\n"
        "print(json.dumps(m.predict(TextFrame.from_texts(texts)).tolist()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(KaggleKitError, match="not a saved bigru model"):
        type(m).load(tmp_path)


def test_cv_run_records_fit_info_and_tensorboard_logs(tmp_path):
    from click.testing import CliRunner

    from kagglekit.cli import cli

    runner = CliRunner()
    args = [
        "cv",
        "disaster-tweets",
        "--sample",
        "--model",
        "dense",
        "--folds",
        "2",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--json",
        *[f"-p{k}={v}" for k, v in {**TINY, "tensorboard": True, "epochs": 2}.items()],
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    run = Path(payload["run_dir"]) if "run_dir" in payload else Path(payload["path"])
    info = json.loads((run / "run.json").read_text())
    folds = info["fold_scores"]
    assert len(folds) == 2 and all("fit_info" in f for f in folds)
    assert folds[0]["fit_info"]["monitor"] == "auc"
    assert all(
        f["fit_info"]["best_epoch"] in (1, 2) and f["fit_info"]["early_stopping"] == "inner"
        for f in folds
    )
    for k in (0, 1):
        assert list((run / "logs" / f"fold-{k}").rglob("events.out.tfevents.*"))
        assert (run / "models" / f"fold-{k}" / "model.keras").is_file()
    test_csv = tmp_path / "runs" / "_samples"
    csv = next(test_csv.rglob("test.csv"))
    out = runner.invoke(cli, ["predict", str(run), "--input", str(csv)])
    assert out.exit_code == 0, out.output
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "id,target,target_label" and len(lines) > 10


def test_kagglekit_fit_replays_the_cv_runs_epochs_and_learning_rates(tmp_path):
    """cv then fit (no --from: the newest CV run of the same recipe is found)."""
    from click.testing import CliRunner

    from kagglekit.cli import cli
    from kagglekit.keras import recipe_from_fold_infos

    runner = CliRunner()
    common = [
        "disaster-tweets",
        "--sample",
        "--model",
        "dense",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--json",
        *[f"-p{k}={v}" for k, v in {**TINY, "epochs": 3, "lr_decay": 0.5}.items()],
    ]
    cv = runner.invoke(cli, ["cv", *common, "--folds", "2"])
    assert cv.exit_code == 0, cv.output
    cv_dir = Path(json.loads(cv.stdout)["run_dir"])
    cv_info = json.loads((cv_dir / "run.json").read_text())
    fit = runner.invoke(cli, ["fit", *common])
    assert fit.exit_code == 0, fit.output
    assert f"reproducing CV run {cv_dir.name}" in fit.stderr
    info = json.loads((Path(json.loads(fit.stdout)["run_dir"]) / "run.json").read_text())
    expected = recipe_from_fold_infos([f["fit_info"] for f in cv_info["fold_scores"]])
    assert info["recipe"] == expected and info["from_run"] == cv_dir.name
    assert info["fit_info"]["epochs_run"] == expected["epochs"]
    assert [e["lr"] for e in info["fit_info"]["history"]] == pytest.approx(
        expected["learning_rates"]
    )


def test_early_stopping_modes_say_which_rows_they_watched():
    train, valid = frames(160, seed=12)
    valid_mode = model("dense", epochs=3, early_stopping="valid").fit(train, valid).fit_info_
    assert valid_mode["early_stopping"] == "valid" and valid_mode["n_early_stopping"] == 40
    assert valid_mode["n_fit"] == 120 and valid_mode["monitor"] == "auc"
    assert {"auc", "lr", "loss"} <= set(valid_mode["history"][0])
    off = model("dense", epochs=3, early_stopping="off").fit(train, valid).fit_info_
    assert off["early_stopping"] == "off" and off["n_early_stopping"] == 0
    assert off["epochs_run"] == 3 and off["best_epoch"] == 3 and off["monitor"] is None
    assert off["stopped_early"] is False
    json.dumps(off)  # the record is JSON as it is


def test_fit_without_a_fold_trains_epochs_or_replays_the_recipe():
    train, _ = frames(160, seed=13)
    plain = model("dense", epochs=3).fit(train).fit_info_
    assert plain["epochs_run"] == 3 and plain["early_stopping"] == "off"
    assert plain["n_fit"] == len(train) == 120 and plain["recipe"] is None
    replay = model("dense", epochs=5)
    replay.set_context(recipe={"epochs": 2, "learning_rates": [0.01, 0.0025]})
    info = replay.fit(train).fit_info_
    assert info["epochs_run"] == 2 and info["best_epoch"] == 2 and info["n_fit"] == 120
    assert [e["lr"] for e in info["history"]] == [0.01, 0.0025]  # plateau rates replayed
    assert info["recipe"] == {"epochs": 2, "learning_rates": [0.01, 0.0025]}
    cosine = model("dense", epochs=4, lr_schedule="cosine")
    cosine.set_context(recipe={"epochs": 2, "learning_rates": [1.0, 1.0]})
    fold = (
        model("dense", epochs=4, lr_schedule="cosine", early_stopping="off")
        .fit(train, train)
        .fit_info_
    )
    got = cosine.fit(train).fit_info_
    # a step schedule is built as in a CV fold (over `epochs`), not from the given rates
    assert [e["lr"] for e in got["history"]] == [e["lr"] for e in fold["history"][:2]]
    assert got["history"][1]["lr"] < got["history"][0]["lr"] < 1.0


# ---------------------------------------------------------------------------- JAX
JAX_SCRIPT = r"""
import json, os, sys, tempfile
import numpy as np
from support.rnn import frames
from kagglekit import plugins
name = sys.argv[1]
train, valid = frames(120, seed=11)
tiny = {"units": 8, "embedding_dim": 8, "epochs": 2, "verbose": 0, "progress": False,
        "tensorboard": False, "batch_size": 16, "maxlen": 16,
        "pooling": "max,avg,attention"}
cls = plugins.get_model(name)
m = cls.from_dict(tiny, seed=0, name=name).fit(train, valid)
p = m.predict(valid)
d = tempfile.mkdtemp()
m.save(d)
q = cls.load(d).predict(valid)
import keras
print(json.dumps({"backend": keras.backend.backend(), "info_backend": m.fit_info_["backend"],
                  "shape": list(p.shape), "finite": bool(np.isfinite(p).all()),
                  "reload_close": bool(np.allclose(p, q, atol=1e-5)),
                  "replicas": m.fit_info_["accelerator"]["replicas"],
                  "epochs": len(m.fit_info_["history"])}))
"""


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
@pytest.mark.parametrize(
    "name,devices",
    [
        ("dense", 1),  # quick: the pipeline, custom layers and save/load on JAX
        pytest.param("bigru", 1, marks=pytest.mark.slow),  # XLA compiles of a BiGRU: ~1 min
        pytest.param("bigru", 2, marks=pytest.mark.slow),  # keras DataParallel over 2 CPU devices
    ],
)
def test_jax_backend(tmp_path, name, devices):
    env = _env()
    env["KERAS_BACKEND"] = "jax"
    env["KAGGLEKIT_CACHE"] = str(tmp_path / "cache")
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    out = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, name],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "backend": "jax",
        "info_backend": "jax",
        "shape": [30, 1],
        "finite": True,
        "reload_close": True,
        "replicas": devices,
        "epochs": 2,
    }
