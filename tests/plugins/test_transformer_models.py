"""The transformer / distilbert / bert / use / sentence-encoder models through the model
contract and the CLI, on tiny random-weight checkpoints built offline."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from kagglekit.frame import TextFrame
from kagglekit.params import build_params
from support.hub import HIDDEN, hf_dir, keras_preset, offline_hub, texts_and_labels, use_savedmodel

pytest.importorskip("keras_hub")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {
        "keras": keras_preset(root / "keras"),
        "hf": hf_dir(root / "hf"),
        "st": hf_dir(root / "st", sentence_transformers=True),
        "use": use_savedmodel(root / "use"),
    }


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    offline_hub(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def frames():
    texts, y = texts_and_labels(160, seed=2)
    return TextFrame.from_texts(texts[:120], y[:120]), TextFrame.from_texts(texts[120:], y[120:])


def auc(frame, prob):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(frame.y[:, 0], prob[:, 0])


def test_plugin_modules_do_not_import_keras():
    code = (
        "import sys, kagglekit_plugins.transformer, kagglekit_plugins.sentence_encoder, "
        "kagglekit.hub.presets, kagglekit.hub.tokenizer, kagglekit.keras.batching, "
        "kagglekit.keras.ragged, kagglekit.keras.stopping, kagglekit.keras, "
        "kagglekit.hub.encoders, kagglekit.hub.backbone\n"
        "from kagglekit import plugins; plugins.models().get('distilbert')\n"
        "bad = [m for m in ('tensorflow', 'keras', 'keras_hub') if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_are_registered_with_their_default_presets():
    from kagglekit import plugins

    for name, preset in (
        ("distilbert", "distilbert"),
        ("bert", "bert"),
        ("transformer", None),
        ("use", "use"),
        ("sentence-encoder", None),
    ):
        cls = plugins.get_model(name)
        assert cls.Params().preset == preset
    params = build_params(
        plugins.get_model("distilbert").Params,
        {"head": "bigru", "freeze_backbone": "true", "max_length": "64"},
        "distilbert",
    )
    assert params.head == "bigru" and params.freeze_backbone is True and params.max_length == 64


def test_bad_params_are_refused():
    from kagglekit import plugins
    from kagglekit.errors import ParamError

    cls = plugins.get_model("transformer")
    with pytest.raises(ParamError, match="head"):
        build_params(cls.Params, {"head": "attention"}, "transformer")
    with pytest.raises(ParamError, match="inner_fraction"):
        build_params(cls.Params, {"inner_fraction": "1.5"}, "transformer")


def test_transformer_learns_saves_and_reloads(presets, frames, tmp_path):
    from kagglekit_plugins.transformer import TransformerClassifier

    train, test = frames
    model = TransformerClassifier.from_dict(
        {
            "preset": str(presets["keras"]),
            "head": "mean",
            "epochs": 3,
            "learning_rate": 1e-2,
            "batch_size": 16,
            "max_length": 24,
        },
        seed=0,
    )
    assert model.fit(train, test) is model
    prob = model.predict(test)
    assert prob.shape == (40, 1) and np.all((prob >= 0) & (prob <= 1))
    assert auc(test, prob) > 0.8
    history = model.fit_info_
    assert history["n_fit"] == 108 and history["n_early_stopping"] == 12  # inner 10% held out
    assert history["early_stopping"] == "inner"
    assert history["monitor"] == "auc" and 1 <= history["best_epoch"] <= 3
    assert (
        history["history"][-1]["loss"] < history["history"][0]["loss"] or history["best_epoch"] == 1
    )
    model.save(tmp_path / "saved")
    assert {p.name for p in (tmp_path / "saved").iterdir()} >= {
        "params.json",
        "model.keras",
        "tokenizer.json",
        "state.json",
    }
    again = TransformerClassifier.load(tmp_path / "saved")
    np.testing.assert_allclose(again.predict(test), prob, atol=1e-6)


def test_frozen_backbone_trains_only_the_head(presets, frames):
    """The backbone inside the model (feature_cache=false; the cached path's head trains on
    features alone: tests/plugins/test_frozen_features.py)."""
    from kagglekit.hub.backbone import load_backbone
    from kagglekit_plugins.transformer import TransformerClassifier

    train, test = frames
    model = TransformerClassifier.from_dict(
        {
            "preset": str(presets["hf"]),
            "head": "max",
            "epochs": 1,
            "feature_cache": False,
            "freeze_backbone": True,
            "batch_size": 32,
            "max_length": 24,
            "bucketing": False,
        }
    ).fit(train)
    import keras_hub

    fresh = load_backbone(presets["hf"])
    (trained,) = [
        layer for layer in model.model_.layers if isinstance(layer, keras_hub.models.Backbone)
    ]
    for a, b in zip(fresh.get_weights(), trained.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.model_.get_layer("output").trainable
    assert model.predict(test).shape == (40, 1)


def test_a_frozen_backbone_never_drops_out_while_the_head_trains(tmp_path):
    """Keras 3 overrides ``backbone(..., training=False)`` with the outer training flag; the
    frozen backbone's features must be the same in training and at prediction."""
    import keras

    from kagglekit.hub.backbone import load_backbone, sequence_head

    backbone = load_backbone(keras_preset(tmp_path / "dropout", dropout=0.5))
    inputs, pooled = sequence_head(backbone, head="gru", freeze_backbone=True)
    features = keras.Model(inputs, backbone(inputs))
    ids = np.array([[2, 5, 6, 7, 3, 0]], dtype="int32")
    x = {"token_ids": ids, "padding_mask": ids > 0, "segment_ids": np.zeros_like(ids)}
    x = {k: v for k, v in x.items() if k in inputs}
    trained = keras.ops.convert_to_numpy(features(x, training=True)["sequence_output"])
    predicted = keras.ops.convert_to_numpy(features(x, training=False)["sequence_output"])
    np.testing.assert_allclose(trained, predicted, atol=1e-6)


def test_max_length_beyond_the_backbone_is_refused(presets, frames):
    from kagglekit.errors import ParamError
    from kagglekit_plugins.transformer import TransformerClassifier

    model = TransformerClassifier.from_dict({"preset": str(presets["keras"]), "max_length": 512})
    with pytest.raises(ParamError, match="max_sequence_length=64"):
        model.fit(frames[0])


def test_distilbert_offline_names_the_fix(monkeypatch, frames):
    from kagglekit.errors import KaggleKitError
    from kagglekit_plugins.transformer import DistilBert

    monkeypatch.setenv("KAGGLEKIT_OFFLINE", "1")
    with pytest.raises(KaggleKitError, match="-p preset="):
        DistilBert().fit(frames[0])


def test_use_model_on_a_savedmodel(presets, frames, tmp_path, monkeypatch):
    from kagglekit.hub import encoders
    from kagglekit_plugins.sentence_encoder import UniversalSentenceEncoder

    train, test = frames
    calls = []
    original = encoders.SavedModelEncoder.encode

    def counting(self, texts):
        calls.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(encoders.SavedModelEncoder, "encode", counting)
    model = UniversalSentenceEncoder.from_dict(
        {"preset": str(presets["use"]), "epochs": 30, "learning_rate": 0.02}, seed=1
    )
    model.fit(train)
    prob = model.predict(test)
    # another fold on some of the same texts: nothing is encoded again
    UniversalSentenceEncoder.from_dict({"preset": str(presets["use"]), "epochs": 1}).fit(
        train.take(np.arange(60))
    )
    assert calls == [len(set(train.text)), len(set(test.text))]
    assert prob.shape == (40, 1) and auc(test, prob) > 0.8
    assert model.fit_info_["dim"] == 16
    model.save(tmp_path / "use")
    again = UniversalSentenceEncoder.load(tmp_path / "use")
    np.testing.assert_allclose(again.predict(test), prob, atol=1e-6)


def test_embeddings_are_cached_across_processes(presets, tmp_path):
    from kagglekit.hub import encoders

    enc = encoders.load_encoder(presets["use"], kind="savedmodel")
    first = encoders.embed(enc, ["fire flood", "love music"])
    encoders.clear_memory()
    enc = encoders.load_encoder(presets["use"], kind="savedmodel")
    enc.encode = lambda texts: pytest.fail("should come from the disk cache")
    again = encoders.embed(enc, ["love music", "fire flood"])
    np.testing.assert_array_equal(again, first[::-1])
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)


def test_sentence_encoder_honours_pooling_and_normalize(presets, tmp_path):
    from kagglekit.hub import encoders
    from kagglekit.hub.backbone import load_backbone
    from kagglekit.hub.tokenizer import SubwordTokenizer

    texts = ["fire and flood", "love music happy party the the the", "storm"]
    enc = encoders.load_encoder(presets["st"], kind="transformer")
    assert enc.config["poolings"] == ["mean"] and enc.config["normalize"]
    assert enc.max_length == 32  # sentence_bert_config.json
    vectors = encoders.embed(enc, texts)
    assert vectors.shape == (3, HIDDEN)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the same by hand: backbone -> mean over real tokens -> unit length
    tok = SubwordTokenizer.from_directory(presets["st"]).encode(texts, 32)
    batch = tok.inputs([0, 1, 2], 32)
    seq = np.asarray(load_backbone(presets["st"])(batch, training=False)["sequence_output"])
    mask = batch["padding_mask"][:, :, None]
    mean = (seq * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(
        vectors, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5
    )
    cls_dir = hf_dir(tmp_path / "cls", sentence_transformers=True, pooling="cls", normalize=False)
    cls_vectors = encoders.embed(encoders.load_encoder(cls_dir, kind="transformer"), texts)
    np.testing.assert_allclose(cls_vectors, seq[:, 0], atol=1e-5)


def test_sentence_encoder_model_and_wrong_layout(presets, frames):
    from kagglekit.hub.presets import PresetError
    from kagglekit_plugins.sentence_encoder import SentenceTransformer, UniversalSentenceEncoder

    train, test = frames
    model = SentenceTransformer.from_dict({"preset": str(presets["st"]), "epochs": 2}).fit(train)
    assert model.predict(test).shape == (40, 1) and model.fit_info_["dim"] == HIDDEN
    with pytest.raises(PresetError, match="SavedModel"):
        UniversalSentenceEncoder.from_dict({"preset": str(presets["st"])}).fit(train)


def test_cli_fit_distilbert_with_a_local_preset(presets, tmp_path):
    from click.testing import CliRunner

    from kagglekit.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "fit",
            "disaster-tweets",
            "--sample",
            "--model",
            "distilbert",
            "-p",
            f"preset={presets['keras']}",
            "-p",
            "epochs=1",
            "-p",
            "max_length=32",
            "-p",
            "head=cls",
            "--threshold",
            "0.5",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model"] == "distilbert"
    run_dir = next((tmp_path / "runs" / "nlp-getting-started").glob("*/run.json")).parent
    assert (run_dir / "models" / "full" / "model.keras").is_file()
    predictions = (run_dir / "test_predictions.csv").read_text().splitlines()
    assert predictions[0] == "id,target" and len(predictions) == 201


def test_cli_cv_use_with_a_local_savedmodel(presets, tmp_path):
    from click.testing import CliRunner

    from kagglekit.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "cv",
            "disaster-tweets",
            "--sample",
            "--model",
            "use",
            "--folds",
            "3",
            "-p",
            f"preset={presets['use']}",
            "-p",
            "learning_rate=0.01",
            "-p",
            "epochs=20",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # a 97-bucket hashed bag of words is a weak encoder, but it beats chance
    assert payload["model"] == "use" and payload["scores"]["auc"] > 0.6
    saved = list((tmp_path / "runs" / "nlp-getting-started").glob("*/models/fold-*/model.keras"))
    assert len(saved) == 3


def test_cli_offline_error_is_one_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from kagglekit.cli import cli

    monkeypatch.setenv("KAGGLEKIT_OFFLINE", "1")
    result = CliRunner().invoke(
        cli,
        [
            "fit",
            "disaster-tweets",
            "--sample",
            "--model",
            "bert",
            "--threshold",
            "0.5",
            "--runs-dir",
            str(tmp_path / "runs"),
        ],
    )
    assert result.exit_code == 2
    assert "kaggle://keras/bert/keras/bert_base_en_uncased" in result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "runs").glob("nlp-getting-started/*/run.json"))


@pytest.mark.slow  # ~10 s; the CLI fit of a local preset stays
def test_cli_cv_transformer_records_fit_info_per_fold(presets, tmp_path):
    """Like an RNN's, a transformer CV run's run.json holds each fold's fit_info."""
    from click.testing import CliRunner

    from kagglekit.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "cv",
            "disaster-tweets",
            "--sample",
            "--model",
            "transformer",
            "--folds",
            "2",
            "-p",
            f"preset={presets['keras']}",
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
    run_dir = next((tmp_path / "runs" / "nlp-getting-started").glob("*/run.json")).parent
    folds = json.loads((run_dir / "run.json").read_text())["fold_scores"]
    assert len(folds) == 2
    for fold in folds:
        info = fold["fit_info"]
        assert info["best_epoch"] in (1, 2) and info["epochs_run"] in (1, 2)
        assert info["early_stopping"] == "inner" and info["monitor"] == "auc"
        assert [e["epoch"] for e in info["history"]] == list(range(1, info["epochs_run"] + 1))
        assert all({"loss", "auc", "lr"} <= set(e) for e in info["history"])
        assert isinstance(info["stopped_early"], bool)
    assert list((run_dir / "logs" / "fold-1").rglob("events.out.tfevents.*"))
    assert (run_dir / "models" / "fold-0" / "tokenizer.json").is_file()
