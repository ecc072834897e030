"""Backbones from tiny KerasHub presets and Hugging Face directories; masked heads; recipe."""

from __future__ import annotations

import numpy as np
import pytest

from helpers_hub import (VOCAB, bert_reference, distilbert_hf_dir, hf_dir, hf_weights,
                         keras_preset, texts_and_labels)

keras = pytest.importorskip("keras")
pytest.importorskip("keras_hub")

from kagglekit.hub import heads, training  # noqa: E402
from kagglekit.hub.backbone import load_backbone  # noqa: E402
from kagglekit.hub.presets import PresetError  # noqa: E402
from kagglekit.hub.tokenizer import SubwordTokenizer  # noqa: E402


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {"keras": keras_preset(root / "keras"), "hf": hf_dir(root / "hf")}


@pytest.fixture(autouse=True)
def cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))


def test_hf_directory_weights_land_in_the_right_places(presets):
    backbone = load_backbone(presets["hf"])
    assert type(backbone).__name__ == "BertBackbone"
    assert backbone.vocabulary_size == len(VOCAB) and backbone.max_sequence_length == 64
    enc = SubwordTokenizer.from_directory(presets["hf"]).encode(
        ["fire and flood", "love music happy party the the the"], 16)
    batch = enc.batch([0, 1], 12)
    out = backbone(batch, training=False)["sequence_output"]
    expected = bert_reference(hf_weights(), batch["token_ids"], batch["padding_mask"])
    real = batch["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(out)[real], expected[real], atol=2e-4)


def test_distilbert_hf_directory_loads_and_masks(tmp_path):
    d = distilbert_hf_dir(tmp_path / "distilbert")
    backbone = load_backbone(d)
    assert type(backbone).__name__ == "DistilBertBackbone"
    assert heads.backbone_inputs(backbone) == ["token_ids", "padding_mask"]  # no segment ids
    embedding = backbone.get_layer("token_and_position_embedding").token_embedding.embeddings
    from safetensors.numpy import load_file

    np.testing.assert_array_equal(np.asarray(embedding),
                                  load_file(str(d / "model.safetensors"))[
                                      "embeddings.word_embeddings.weight"])
    model = heads.build_classifier(backbone, n_targets=1, head="mean")
    enc = SubwordTokenizer.from_directory(d).encode(["fire flood", "love the music"], 16)
    names = heads.backbone_inputs(backbone)
    batches = [{k: v for k, v in enc.batch([0, 1], w).items() if k in names} for w in (8, 48)]
    short, long = (model.predict(b, verbose=0) for b in batches)
    np.testing.assert_allclose(short, long, atol=1e-5)


def test_keras_preset_directory_loads(presets):
    backbone = load_backbone(presets["keras"])
    assert type(backbone).__name__ == "BertBackbone" and backbone.num_layers == 1


def test_hf_directory_without_safetensors(tmp_path):
    d = hf_dir(tmp_path / "hf")
    (d / "model.safetensors").rename(d / "pytorch_model.bin")
    with pytest.raises(PresetError, match="safe_serialization=True"):
        load_backbone(d)


def test_unknown_model_type(tmp_path):
    import json

    d = hf_dir(tmp_path / "hf")
    (d / "config.json").write_text(json.dumps({"model_type": "not-a-model"}))
    with pytest.raises(PresetError, match="not-a-model"):
        load_backbone(d)


@pytest.mark.parametrize("head", heads.HEADS)
def test_padding_never_leaks_into_the_head(presets, head):
    """The same texts padded to 16 or to 64 give the same predictions (inference)."""
    keras.utils.set_random_seed(1)
    backbone = load_backbone(presets["hf"])
    model = heads.build_classifier(backbone, n_targets=2, head=head, dropout=0.5, rnn_units=4)
    enc = SubwordTokenizer.from_directory(presets["hf"]).encode(
        ["fire", "love music happy party the the storm", "flood in the the a"], 16)
    short = model.predict(enc.batch([0, 1, 2], 16), verbose=0)
    long = model.predict(enc.batch([0, 1, 2], 64), verbose=0)
    np.testing.assert_allclose(short, long, atol=1e-5)
    assert np.ptp(short[:, 0]) > 1e-4  # the texts get different scores: the check has teeth


def test_unmasked_pooling_would_leak(presets):
    """Control for the test above: averaging over all positions does depend on padding."""
    backbone = load_backbone(presets["hf"])
    enc = SubwordTokenizer.from_directory(presets["hf"]).encode(["fire", "love music"], 16)
    seq = [np.asarray(backbone(enc.batch([0, 1], w), training=False)["sequence_output"])
           for w in (16, 64)]
    assert np.abs(seq[0].mean(axis=1) - seq[1].mean(axis=1)).max() > 1e-3


def test_bucketed_and_fixed_inference_agree(presets):
    backbone = load_backbone(presets["keras"])
    model = heads.build_classifier(backbone, n_targets=1, head="mean-max")
    texts, _ = texts_and_labels(50)
    enc = SubwordTokenizer.from_directory(presets["keras"]).encode(texts, 32)
    names = heads.backbone_inputs(backbone)
    bucketed = training.predict_tokens(model, enc, input_names=names, max_length=32,
                                       batch_size=8, bucketing=True)
    fixed = training.predict_tokens(model, enc, input_names=names, max_length=32, batch_size=8,
                                    bucketing=False)
    np.testing.assert_allclose(bucketed, fixed, atol=1e-5)
    assert bucketed.shape == (50, 1)


def test_weight_decay_skips_biases_and_layer_norms(presets):
    backbone = load_backbone(presets["keras"])
    model = heads.build_classifier(backbone, n_targets=1)
    optimizer = training.make_optimizer(3e-5, 100)
    decayed = {v.path for v in model.trainable_variables if optimizer._use_weight_decay(v)}
    skipped = {v.path for v in model.trainable_variables} - decayed
    assert any(p.endswith("embeddings_layer_norm/gamma") for p in skipped)
    assert any(p.endswith("query/bias") for p in skipped)
    assert all(p.split("/")[-1] in ("bias", "gamma", "beta") for p in skipped)
    assert any(p.endswith("query/kernel") for p in decayed)
    assert any(p.endswith("token_embedding/embeddings") for p in decayed)
    assert optimizer.global_clipnorm == 1.0


def test_warmup_then_linear_decay():
    schedule = training.WarmupLinearDecay(1.0, warmup_steps=10, total_steps=110)
    lr = [float(schedule(s)) for s in (0, 4, 9, 10, 60, 110, 200)]
    np.testing.assert_allclose(lr, [0.1, 0.5, 1.0, 1.0, 0.5, 0.0, 0.0], atol=1e-6)
    again = training.WarmupLinearDecay(**schedule.get_config())
    assert float(again(60)) == pytest.approx(0.5)


def test_early_stopping_restores_the_best_epoch():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    scores = iter([0.6, 0.8, 0.7, 0.65, 0.9])
    seen = []

    def run_epoch(epoch):
        model.layers[0].kernel.assign([[float(epoch + 1)]])
        return 1.0 / (epoch + 1)

    def evaluate():
        seen.append(float(np.asarray(model.layers[0].kernel)[0, 0]))
        return next(scores)

    log = training.train_epochs(model, run_epoch, epochs=5, evaluate=evaluate, patience=2)
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3, 4]  # stopped after 2 worse epochs
    assert log["best_epoch"] == 2 and log["best_score"] == 0.8
    assert float(np.asarray(model.layers[0].kernel)[0, 0]) == 2.0  # epoch 2's weights back
    lower = training.train_epochs(model, run_epoch, epochs=3, evaluate=iter([3.0, 2.0, 1.0]).__next__,
                                  greater_is_better=False, patience=1)
    assert lower["best_epoch"] == 3


def test_holdout_split_is_stratified_and_disjoint():
    y = np.r_[np.zeros(80), np.ones(20)][:, None]
    fit_idx, stop_idx = training.holdout_split(y, 0.2, seed=0)
    assert len(stop_idx) == 20 and set(fit_idx).isdisjoint(stop_idx)
    assert len(fit_idx) + len(stop_idx) == 100 and y[stop_idx].sum() == 4
