"""ULMFiT for the RNN family (issue 16): the AWD-LSTM pieces, `pretrain --model lstm`, the
classifier started from its encoder, and the classifier recipe every neural model can use
(gradual unfreezing, discriminative rates, slanted-triangular and one-cycle schedules)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from support import one_line_error, run_kagglekit  # noqa: E402
from support.rnn import frames, make_texts  # noqa: E402

TINY_LM = [
    "-p",
    "epochs=3",
    "-p",
    "bptt=12",
    "-p",
    "embedding_dim=16",
    "-p",
    "units=24",
    "-p",
    "min_count=1",
    "-p",
    "learning_rate=0.01",
    "-p",
    "batch_size=16",
    "-p",
    "verbose=0",
]


# ---------------------------------------------------------------------------- schedules
def test_slanted_triangular_and_one_cycle_rates():
    import keras

    from kagglekit.keras.training import OneCycle, SlantedTriangular

    def at(schedule, step):
        return float(keras.ops.convert_to_numpy(schedule(step)))

    stlr = SlantedTriangular(0.32, total_steps=100, cut_frac=0.1, ratio=32)
    assert at(stlr, 0) == pytest.approx(0.01)  # starts at peak / ratio
    assert at(stlr, 5) == pytest.approx(0.01 + 0.5 * 0.31)  # half-way up
    assert at(stlr, 10) == pytest.approx(0.32)  # the peak at the cut
    assert at(stlr, 55) == pytest.approx(0.01 + 0.5 * 0.31)  # half-way down
    assert at(stlr, 100) == pytest.approx(0.01)
    cycle = OneCycle(0.5, total_steps=100, pct_start=0.2, div=25, final_div=1e4)
    assert at(cycle, 0) == pytest.approx(0.02)
    assert at(cycle, 20) == pytest.approx(0.5)
    assert at(cycle, 10) == pytest.approx((0.02 + 0.5) / 2)  # cosine: half-way at the middle
    assert at(cycle, 100) == pytest.approx(0.5 / 25e4, rel=1e-3)
    assert at(cycle, 60) == pytest.approx((0.5 + 0.5 / 25e4) / 2, rel=1e-4)


# ---------------------------------------------------------------------------- layer groups
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_gradual_unfreezing_moves_only_unfrozen_groups(name):
    import keras

    from kagglekit.keras.training import make_optimizer

    start = np.ones(3, np.float32)
    bottom, top, head = (keras.Variable(start, name=n) for n in ("bottom", "top", "head"))
    opt = make_optimizer(
        0.1,
        10,
        optimizer=name,
        weight_decay=0.5,
        lr_scales={id(bottom): 0.25, id(top): 0.5},
        group_of={id(bottom): 0, id(top): 1},
        n_groups=2,
        gradual=True,
    )
    grads = [(keras.ops.ones(3), v) for v in (bottom, top, head)]

    def moved():
        out = [float(1 - keras.ops.convert_to_numpy(v)[0]) for v in (bottom, top, head)]
        for v in (bottom, top, head):
            v.assign(start)
        return out

    opt.apply_gradients(grads)  # stage 0: the head only (no step, no weight decay below)
    b, t, h = moved()
    assert b == 0 and t == 0 and h > 0.09
    opt.set_stage(1)
    opt.apply_gradients(grads)
    b, t, h2 = moved()
    assert b == 0 and t > 0
    opt.set_stage(2)
    opt.apply_gradients(grads)
    b, t, h3 = moved()
    assert b > 0 and t > 0
    assert b == pytest.approx(h3 * 0.25, rel=0.05) and t == pytest.approx(h3 * 0.5, rel=0.05)


def test_llrd_and_gradual_for_the_rnn_family_and_a_family_without_groups():
    from kagglekit import plugins
    from kagglekit.errors import ParamError

    train, _ = frames(120)
    gru = plugins.get_model("gru").from_dict({"llrd": 0.5, "epochs": 1, "verbose": 0}, name="gru")
    gru.fit(train)
    options = gru.group_options(gru.model_)
    groups = gru.layer_groups(gru.model_)
    assert [len(g) for g in groups] == [1, 3]  # embedding; GRU kernel, recurrent, bias
    scales = options["lr_scales"]
    assert {scales[id(v)] for v in groups[0]} == {0.25} and {scales[id(v)] for v in groups[1]} == {
        0.5
    }
    head = gru.model_.get_layer("output").trainable_weights
    assert all(id(v) not in scales for v in head)  # the head trains at the full rate
    assert gru.fit_info_["layer_groups"] == 2 and gru.fit_info_["llrd"] == 0.5
    se = pytest.importorskip("plugins.sentence_encoder")
    model = se.SentenceTransformer.__new__(se.SentenceTransformer)
    model.name = "sentence-encoder"
    model.params = se.SentenceTransformer.Params(llrd=0.5)
    with pytest.raises(ParamError, match="need layer groups"):
        model.group_options(None)


# ---------------------------------------------------------------------------- the LM
def test_weight_dropped_lstm_is_an_lstm_that_drops_connections_while_training(tmp_path):
    import keras

    from kagglekit.keras.awd import WeightDropLSTM

    plain = keras.Sequential([keras.Input((None, 8)), keras.layers.LSTM(6, return_sequences=True)])
    dropped = keras.Sequential([keras.Input((None, 8)), WeightDropLSTM(6, 0.5)])
    dropped.set_weights(plain.get_weights())
    z = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    inference = dropped.predict(z, verbose=0)
    np.testing.assert_allclose(inference, plain.predict(z, verbose=0), atol=1e-5)
    train_a = keras.ops.convert_to_numpy(dropped(z, training=True))
    train_b = keras.ops.convert_to_numpy(dropped(z, training=True))
    assert not np.allclose(train_a, inference) and not np.allclose(train_a, train_b)
    dropped.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(again.predict(z, verbose=0), inference, atol=1e-6)


def test_lm_windows_are_next_word_pairs():
    from kagglekit.keras.language_model import windows

    x, y = windows(np.arange(23), 5, offset=2)
    assert x.shape == y.shape == (4, 5)
    np.testing.assert_array_equal(x[0], [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(y[0], [3, 4, 5, 6, 7])
    np.testing.assert_array_equal(y[-1], [18, 19, 20, 21, 22])


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    """`kagglekit pretrain imdb --sample --model lstm` once for the module (new process)."""
    root = tmp_path_factory.mktemp("ulmfit")
    out = root / "encoder"
    proc = run_kagglekit(
        "pretrain",
        "imdb",
        "--sample",
        "--model",
        "lstm",
        *TINY_LM,
        "--runs-dir",
        root / "runs",
        "--output",
        out,
        "--json",
        cwd=root,
        env={"KAGGLEKIT_CACHE": str(root / "cache")},
    )
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout), proc.stderr


def test_pretrain_lstm_learns_and_writes_an_encoder(encoder_dir):
    out, record, stderr = encoder_dir
    assert {"tokenizer.json", "encoder.json", "encoder.npz", "kagglekit-pretrain.json"} == {
        p.name for p in out.iterdir()
    }
    history = record["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    assert history[-1]["heldout_loss"] < history[0]["heldout_loss"] - 0.05  # it learned
    assert history[-1]["heldout_perplexity"] == pytest.approx(
        np.exp(history[-1]["heldout_loss"]), rel=1e-3
    )
    assert set(record["texts"]) == {"data_dir", "train", "test", "unlabeled"}
    assert record["encoder"]["layer_sizes"] == [24, 16]
    assert "held-out LM loss" in stderr and "perplexity" in stderr and "epoch 3" in stderr
    assert "-m lstm -p encoder=" in stderr
    from kagglekit.keras.language_model import load_encoder

    encoder = load_encoder(out)
    assert encoder.weights["embedding/0"].shape == (record["vocab_size"], 16)


def test_pretrain_lstm_is_cached(encoder_dir, tmp_path):
    out, record, _ = encoder_dir
    cache = Path(str(out.parent / "cache"))
    proc = run_kagglekit(
        "pretrain",
        "imdb",
        "--sample",
        "--model",
        "lstm",
        *TINY_LM,
        "--runs-dir",
        tmp_path / "runs",
        "--output",
        tmp_path / "again",
        "--json",
        cwd=tmp_path,
        env={"KAGGLEKIT_CACHE": str(cache)},
    )
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout)
    assert again["cached"] is True and again["key"] == record["key"]
    assert (tmp_path / "again" / "encoder.npz").read_bytes() == (out / "encoder.npz").read_bytes()
    # the same command to the same --output returns that folder, even with caching off
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = run_kagglekit(
        "pretrain",
        "imdb",
        "--sample",
        "--model",
        "lstm",
        *TINY_LM,
        "--runs-dir",
        out.parent / "runs",
        "--output",
        out,
        "--json",
        cwd=out.parent,
        env={"KAGGLEKIT_CACHE": "off"},
    )
    assert proc.returncode == 0, proc.stderr
    same = json.loads(proc.stdout)
    assert same["cached"] is True and same["path"] == str(out.resolve())
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_the_classifier_starts_from_the_encoder_and_unfreezes_gradually(encoder_dir):
    from kagglekit import plugins
    from kagglekit.keras.language_model import load_encoder

    out, _, _ = encoder_dir
    encoder = load_encoder(out)
    train, valid = frames(120)

    def fitted(epochs):
        model = plugins.get_model("lstm").from_dict(
            {
                "encoder": str(out),
                "unfreeze": "gradual",
                "epochs": epochs,
                "early_stopping": "off",
                "verbose": 0,
                "lr_schedule": "slanted-triangular",
                "learning_rate": 0.05,
            },
            name="lstm",
        )
        return model.fit(train, valid)

    def changed(model, name):
        now = model.model_.get_layer(name).get_weights()
        return [not np.allclose(w, encoder.weights[f"{name}/{i}"]) for i, w in enumerate(now)]

    one = fitted(1)  # epoch 1: the head only
    assert not any(changed(one, "embedding") + changed(one, "lstm_1") + changed(one, "lstm_2"))
    assert one.fit_info_["layer_groups"] == 3 and one.fit_info_["unfreeze"] == "gradual"
    assert one.fit_info_["unfrozen_groups"] == {"of": 3, "last_epoch": 0, "best_epoch": 0}
    assert "trained only the head and the top 0 of 3" in one.fit_info_["notes"][-1]
    assert one.fit_info_["encoder"]["layer_sizes"] == [24, 16]
    # ULMFiT's head (BatchNorm -> Dense(50, relu) -> BatchNorm) trains from epoch 1
    assert one.model_.get_layer("head").units == 50
    for name in ("head_norm_1", "head_norm_2"):
        gamma, _, moving_mean, _ = one.model_.get_layer(name).get_weights()
        assert not np.allclose(gamma, 1.0) and not np.allclose(moving_mean, 0.0)
    two = fitted(2)  # epoch 2: + the top LSTM
    assert all(changed(two, "lstm_2")) and not any(
        changed(two, "lstm_1") + changed(two, "embedding")
    )
    four = fitted(4)  # epoch 4: everything
    assert four.fit_info_["unfrozen_groups"]["last_epoch"] == 3
    assert any(changed(four, "embedding")) and all(changed(four, "lstm_1"))
    pooled = four.model_.get_layer("poolings").input
    assert len(pooled) == 3  # concat pooling: last, max, avg
    p = four.predict(valid)
    assert p.shape == (len(valid), 1) and np.isfinite(p).all()


@pytest.mark.slow  # ~34 s; the encoder CV and reload also run in benchmarks
def test_cv_with_the_encoder_saves_folds_that_reload_in_a_new_process(encoder_dir, tmp_path):
    out, _, _ = encoder_dir
    proc = run_kagglekit(
        "cv",
        "imdb",
        "--sample",
        "-m",
        "lstm",
        "-p",
        f"encoder={out}",
        "-p",
        "unfreeze=gradual",
        "-p",
        "llrd=0.38",
        "-p",
        "epochs=3",
        "-p",
        "verbose=0",
        "--folds",
        "2",
        "--json",
        cwd=tmp_path,
        env={"KAGGLEKIT_CACHE": str(tmp_path / "cache")},
    )
    assert proc.returncode == 0, proc.stderr
    run = Path(json.loads(proc.stdout)["run_dir"])
    assert json.loads((run / "run.json").read_text())["params"]["encoder"] == str(out)
    folds = sorted((run / "models").glob("fold-*"))
    assert len(folds) == 2
    for fold in folds:
        info = json.loads((fold / "state.json").read_text())["fit_info"]
        assert (info["unfreeze"], info["llrd"], info["layer_groups"]) == ("gradual", 0.38, 3)
        assert info["encoder"]["path"] == str(out.resolve())
    from kagglekit import plugins

    texts, _ = make_texts(20, seed=3)
    first = plugins.get_model("lstm").load(folds[0]).predict(texts)
    moved = out.parent / "moved"
    out.rename(moved)  # predicting needs the saved fold only, not the encoder folder
    try:
        code = (
            "import json, numpy as np\nfrom kagglekit import plugins\n"
            "from support.rnn import make_texts\n"
            f"m = plugins.get_model('lstm').load({str(folds[0])!r})\n"
            "print(json.dumps(np.asarray(m.predict(make_texts(20, seed=3)[0]))"
            ".ravel().tolist()))"
        )
        import os
        import subprocess
        import sys

        from support import REPO

        env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
        )
    finally:
        moved.rename(out)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(
        json.loads(proc.stdout.strip().splitlines()[-1]), first.ravel(), atol=1e-6
    )


def test_encoder_errors_are_one_line(encoder_dir, cli, tmp_path):
    out, _, _ = encoder_dir
    args = ["cv", "imdb", "--sample", "--folds", "2", "-p", "verbose=0"]
    line = one_line_error(cli(*args, "-m", "bigru", "-p", f"encoder={out}", expect=2))
    assert "use -m lstm" in line
    # what encoder= points at is checked before any work: no data read, no job started
    afile = tmp_path / "afile"
    afile.write_text("x")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "encoder.json").write_text("{}")
    for where, expected in [
        (tmp_path / "none", "no such folder; make one with kagglekit pretrain"),
        (afile, "is a file; pass the folder that kagglekit pretrain --model lstm wrote"),
        (partial, "not an LSTM encoder folder (missing tokenizer.json, encoder.npz); make one"),
    ]:
        result = cli(*args, "-m", "lstm", "-p", f"encoder={where}", expect=2)
        assert one_line_error(result).startswith(f"Error: encoder={where}: {expected}")
        assert result.stderr.strip().count("\n") == 0, result.stderr  # nothing before it
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    config = json.loads((broken / "encoder.json").read_text())
    config["layer_sizes"] = [32, 16]
    (broken / "encoder.json").write_text(json.dumps(config))
    line = one_line_error(cli(*args, "-m", "lstm", "-p", f"encoder={broken}", expect=2))
    assert "encoder.npz" in line and "lstm_1/0" in line and "damaged" in line
    line = one_line_error(
        cli(*args, "-m", "lstm", "-p", f"encoder={out}", "-p", "embeddings=glove.txt", expect=2)
    )
    assert "exclude each other" in line


def test_shuffled_labels_give_chance_with_an_encoder_pretrained_on_every_text(tmp_path):
    """The language model reads every text, the scored folds' included (as on Kaggle, where
    the test texts are pretrained on), but never a label: OOF AUC stays at chance."""
    from kagglekit import plugins
    from kagglekit.keras.language_model import LmParams, pretrain_lstm
    from support.honesty import null_bound, shuffled_oof

    texts, y = make_texts(400, seed=21)
    encoder, _, _ = pretrain_lstm(
        texts,
        LmParams(epochs=2, bptt=12, embedding_dim=16, units=16, min_count=1, verbose=0),
        tmp_path / "encoder",
    )
    cls = plugins.get_model("lstm")
    params = {
        "encoder": str(encoder),
        "unfreeze": "gradual",
        "llrd": 0.38,
        "epochs": 4,
        "batch_size": 16,
        "learning_rate": 0.01,
        "verbose": 0,
        "tensorboard": False,
    }
    auc, infos, shuffled = shuffled_oof(
        lambda k: cls.from_dict(params, seed=k, name="lstm"), texts, y, folds=3
    )
    assert all(i["early_stopping"] == "inner" and i["layer_groups"] == 3 for i in infos)
    assert abs(auc - 0.5) < null_bound(shuffled), auc
    # control: the same encoder and recipe learn the true labels
    from sklearn.metrics import roc_auc_score

    from kagglekit.frame import TextFrame

    model = cls.from_dict(params, seed=0, name="lstm").fit(
        TextFrame.from_texts(texts[:300], y[:300]), TextFrame.from_texts(texts[300:], y[300:])
    )
    assert roc_auc_score(y[300:, 0], model.predict(texts[300:])[:, 0]) > 0.9


def test_weight_dropped_lstm_ignores_trailing_padding():
    import keras

    from kagglekit.keras.awd import WeightDropLSTM
    from kagglekit.keras.layers import PaddingMask

    ids = keras.Input((None,), dtype="int32")
    mask = PaddingMask()(ids)
    h = WeightDropLSTM(5, 0.5, return_sequences=False)(
        keras.layers.Embedding(20, 4)(ids), mask=mask
    )
    model = keras.Model(ids, h)
    short = np.array([[3, 4, 5]], dtype="int32")
    padded = np.array([[3, 4, 5, 0, 0, 0]], dtype="int32")
    np.testing.assert_allclose(
        model.predict(short, verbose=0), model.predict(padded, verbose=0), atol=1e-6
    )


def test_pretrain_cache_key_covers_texts_params_and_version(monkeypatch):
    from kagglekit.keras import language_model
    from kagglekit.keras.language_model import LmParams, pretrain_key

    texts = ["a b c", "d e f"]
    key = pretrain_key(texts, LmParams())
    assert key == pretrain_key(list(texts), LmParams(verbose=0))  # progress does not count
    assert key != pretrain_key(["a b c", "d e g"], LmParams())
    assert key != pretrain_key(texts, LmParams(weight_drop=0.2))
    monkeypatch.setattr(language_model, "VERSION", "awd-lstm-next")
    assert key != pretrain_key(texts, LmParams())


def test_pretrain_never_replaces_a_users_folder(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEKIT_CACHE", "off")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    line = one_line_error(
        cli(
            "pretrain",
            "imdb",
            "--sample",
            "--model",
            "lstm",
            *TINY_LM,
            "--runs-dir",
            tmp_path / "runs",
            "--output",
            mine,
            expect=2,
        )
    )
    assert str(mine) in line and "not an empty folder" in line
    assert [p.name for p in mine.iterdir()] == ["thesis.txt"]
    assert (mine / "thesis.txt").read_text() == "years of work"
    inside_a_file = mine / "thesis.txt" / "lm"
    line = one_line_error(
        cli(
            "pretrain",
            "imdb",
            "--sample",
            "--model",
            "lstm",
            *TINY_LM,
            "--runs-dir",
            tmp_path / "runs",
            "--output",
            inside_a_file,
            expect=2,
        )
    )
    assert line == (
        f"Error: --output {inside_a_file}: {mine / 'thesis.txt'} is a file, not a "
        f"folder; choose another place"
    )
    assert [p.name for p in mine.iterdir()] == ["thesis.txt"]


def test_encoder_files_are_checked_before_use(encoder_dir, tmp_path):
    import shutil

    from kagglekit.errors import KaggleKitError
    from kagglekit.keras.language_model import load_encoder

    out, _, _ = encoder_dir
    for name, content in (
        ("tokenizer.json", b"\xff\xfe not json"),
        (
            "encoder.json",
            b'{"vocab_size": 5, "embedding_dim": 4, "layer_sizes": [4], "weight_drop": "x"}',
        ),
        ("kagglekit-pretrain.json", b"{broken"),
    ):
        broken = tmp_path / name
        shutil.copytree(out, broken)
        (broken / name).write_bytes(content)
        with pytest.raises(KaggleKitError, match=f"{name}: damaged encoder"):
            load_encoder(broken)
    truncated = tmp_path / "truncated"
    shutil.copytree(out, truncated)
    data = (out / "encoder.npz").read_bytes()
    (truncated / "encoder.npz").write_bytes(data[: len(data) // 3])
    with pytest.raises(KaggleKitError, match=r"encoder.npz: damaged encoder \(BadZipFile"):
        load_encoder(truncated)
    nan = tmp_path / "nan"
    shutil.copytree(out, nan)
    with np.load(out / "encoder.npz") as stored:
        weights = {k: stored[k] for k in stored.files}
    weights["embedding/0"][3, 0] = np.nan
    np.savez(nan / "encoder.npz", **weights)
    with pytest.raises(
        KaggleKitError,
        match=r"encoder.npz: damaged encoder \(non-finite "
        r"weights in embedding/0\)",
    ):
        load_encoder(nan)


def test_ulmfit_options_are_refused_where_they_cannot_apply():
    from kagglekit import plugins
    from kagglekit.errors import ParamError

    with pytest.raises(ParamError, match="llrd and unfreeze do not apply"):
        plugins.get_model("sentence-encoder").from_dict({"unfreeze": "gradual"})
    with pytest.raises(ParamError, match="weight_drop applies to a pretrained encoder"):
        plugins.get_model("lstm").from_dict({"weight_drop": 0.2})
    # what the encoder decides is refused, not recorded-but-ignored
    for key, value in (
        ("embedding_dim", 64),
        ("units", 128),
        ("max_words", 10),
        ("vocab_from_test", True),
    ):
        with pytest.raises(ParamError, match=f"{key} comes from the encoder"):
            plugins.get_model("lstm").from_dict({"encoder": "somewhere", key: value})
    assert plugins.get_model("lstm").from_dict({"encoder": "somewhere", "dense_units": 20})
