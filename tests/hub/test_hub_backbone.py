"""Backbones from tiny KerasHub presets and Hugging Face directories; masked heads on them."""

from __future__ import annotations

import numpy as np
import pytest

from support.hub import (
    VOCAB,
    bert_reference,
    distilbert_hf_dir,
    hf_dir,
    hf_weights,
    keras_preset,
    texts_and_labels,
)

keras = pytest.importorskip("keras")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")
pytest.importorskip("keras_hub")

from kagglekit.hub.backbone import backbone_inputs, load_backbone, sequence_head  # noqa: E402
from kagglekit.hub.presets import PresetError  # noqa: E402
from kagglekit.hub.tokenizer import SubwordTokenizer  # noqa: E402
from kagglekit.keras.data import predict_batches  # noqa: E402
from kagglekit.keras.layers import HEADS, classifier  # noqa: E402


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {"keras": keras_preset(root / "keras"), "hf": hf_dir(root / "hf")}


def build_classifier(backbone, *, n_targets, head="mean", dropout=0.1, rnn_units=64):
    """What the transformer family builds: backbone -> masked head -> sigmoid."""
    inputs, pooled = sequence_head(backbone, head=head, rnn_units=rnn_units)
    return classifier(inputs, pooled, n_targets=n_targets, dropout=dropout)


@pytest.fixture(autouse=True)
def cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))


def test_hf_directory_weights_land_in_the_right_places(presets):
    backbone = load_backbone(presets["hf"])
    assert type(backbone).__name__ == "BertBackbone"
    assert backbone.vocabulary_size == len(VOCAB) and backbone.max_sequence_length == 64
    enc = SubwordTokenizer.from_directory(presets["hf"]).encode(
        ["fire and flood", "love music happy party the the the"], 16
    )
    batch = enc.inputs([0, 1], 12)
    out = backbone(batch, training=False)["sequence_output"]
    expected = bert_reference(hf_weights(), batch["token_ids"], batch["padding_mask"])
    real = batch["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(out)[real], expected[real], atol=2e-4)


def test_distilbert_hf_directory_loads_and_masks(tmp_path):
    d = distilbert_hf_dir(tmp_path / "distilbert")
    backbone = load_backbone(d)
    assert type(backbone).__name__ == "DistilBertBackbone"
    assert backbone_inputs(backbone) == ["token_ids", "padding_mask"]  # no segment ids
    embedding = backbone.get_layer("token_and_position_embedding").token_embedding.embeddings
    from safetensors.numpy import load_file

    np.testing.assert_array_equal(
        np.asarray(embedding),
        load_file(str(d / "model.safetensors"))["embeddings.word_embeddings.weight"],
    )
    model = build_classifier(backbone, n_targets=1, head="mean")
    enc = SubwordTokenizer.from_directory(d).encode(["fire flood", "love the music"], 16)
    names = backbone_inputs(backbone)
    batches = [{k: v for k, v in enc.inputs([0, 1], w).items() if k in names} for w in (8, 48)]
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


@pytest.mark.parametrize("head", HEADS)
def test_padding_never_leaks_into_the_head(presets, head):
    """The same texts padded to 16 or to 64 give the same predictions (inference)."""
    keras.utils.set_random_seed(1)
    backbone = load_backbone(presets["hf"])
    model = build_classifier(backbone, n_targets=2, head=head, dropout=0.5, rnn_units=4)
    enc = SubwordTokenizer.from_directory(presets["hf"]).encode(
        ["fire", "love music happy party the the storm", "flood in the the a"], 16
    )
    short = model.predict(enc.inputs([0, 1, 2], 16), verbose=0)
    long = model.predict(enc.inputs([0, 1, 2], 64), verbose=0)
    np.testing.assert_allclose(short, long, atol=1e-5)
    assert np.ptp(short[:, 0]) > 1e-4  # the texts get different scores: the check has teeth


def test_unmasked_pooling_would_leak(presets):
    """Control for the test above: averaging over all positions does depend on padding."""
    backbone = load_backbone(presets["hf"])
    enc = SubwordTokenizer.from_directory(presets["hf"]).encode(["fire", "love music"], 16)
    seq = [
        np.asarray(backbone(enc.inputs([0, 1], w), training=False)["sequence_output"])
        for w in (16, 64)
    ]
    assert np.abs(seq[0].mean(axis=1) - seq[1].mean(axis=1)).max() > 1e-3


def test_bucketed_and_fixed_inference_agree(presets):
    backbone = load_backbone(presets["keras"])
    model = build_classifier(backbone, n_targets=1, head="mean-max")
    texts, _ = texts_and_labels(50)
    enc = SubwordTokenizer.from_directory(presets["keras"]).encode(texts, 32)
    names = backbone_inputs(backbone)
    bucketed = predict_batches(model, enc, inputs=names, maxlen=32, batch_size=8, bucket=True)
    fixed = predict_batches(model, enc, inputs=names, maxlen=32, batch_size=8, bucket=False)
    np.testing.assert_allclose(bucketed, fixed, atol=1e-5)
    assert bucketed.shape == (50, 1)


def test_weight_decay_skips_biases_and_layer_norms(presets):
    from kagglekit.keras.training import make_optimizer

    backbone = load_backbone(presets["keras"])
    model = build_classifier(backbone, n_targets=1)
    optimizer = make_optimizer(
        3e-5, 100, schedule="warmup-linear", optimizer="adamw", weight_decay=0.01, clipnorm=1.0
    )
    decayed = {v.path for v in model.trainable_variables if optimizer._use_weight_decay(v)}
    skipped = {v.path for v in model.trainable_variables} - decayed
    assert any(p.endswith("embeddings_layer_norm/gamma") for p in skipped)
    assert any(p.endswith("query/bias") for p in skipped)
    assert all(p.split("/")[-1] in ("bias", "gamma", "beta") for p in skipped)
    assert any(p.endswith("query/kernel") for p in decayed)
    assert any(p.endswith("token_embedding/embeddings") for p in decayed)
    assert optimizer.global_clipnorm == 1.0
