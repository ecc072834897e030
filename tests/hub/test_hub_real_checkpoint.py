"""The real all-MiniLM-L6-v2 checkpoint in ../shared (Hugging Face + sentence-transformers
layout); skipped when ../shared is absent."""

from __future__ import annotations

import numpy as np
import pytest

from support import SHARED  # noqa: E402 - the one place ../shared is found

MINILM = SHARED / "models" / "all-MiniLM-L6-v2"
TWEETS = SHARED / "data" / "nlp-getting-started" / "train.csv"

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not MINILM.is_dir(), reason="../shared/models/all-MiniLM-L6-v2 is absent"),
]


@pytest.fixture(autouse=True)
def cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))


def test_loads_through_the_hugging_face_directory_path(monkeypatch):
    pytest.importorskip("keras_hub")
    from kagglekit.hub import backbone as backbone_module
    from kagglekit.hub.presets import resolve

    used = []
    original = backbone_module.load_hf_backbone
    monkeypatch.setattr(
        backbone_module,
        "load_hf_backbone",
        lambda path, **kw: used.append(path) or original(path, **kw),
    )
    preset = resolve(str(MINILM))
    assert preset.layout == "sentence-transformers" and not preset.downloaded
    model = backbone_module.load_backbone(preset.path)
    assert used == [preset.path]
    assert type(model).__name__ == "BertBackbone" and model.num_layers == 6
    assert model.count_params() == 22_713_216  # the published 22.7M parameters


def test_paraphrases_are_closer_than_unrelated_sentences():
    pytest.importorskip("keras_hub")
    from kagglekit.hub import encoders

    encoders.clear_memory()
    enc = encoders.load_encoder(MINILM, kind="transformer")
    assert enc.config["poolings"] == ["mean"] and enc.config["normalize"]
    assert enc.max_length == 256
    v = encoders.embed(
        enc,
        [
            "A man is playing a guitar.",
            "Someone is playing an acoustic guitar.",
            "The stock market fell sharply on Monday.",
            "Forest fire near La Ronge Sask. Canada",
            "Wildfire spreading close to a town in Saskatchewan",
            "I love this new song so much",
        ],
    )
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] + 0.3
    assert sim[3, 4] > max(sim[3, 5], sim[3, 2]) + 0.2
    encoders.clear_memory()


# tracing a 6-layer train step costs ~40 s of CPU; the tiny-model tests cover the loop
@pytest.mark.slow
def test_a_few_fine_tuning_steps_lower_the_loss():
    keras = pytest.importorskip("keras")
    pd = pytest.importorskip("pandas")
    if not TWEETS.is_file():
        pytest.skip("../shared Disaster Tweets data is absent")
    from kagglekit.hub.backbone import backbone_inputs, load_backbone, sequence_head
    from kagglekit.hub.tokenizer import SubwordTokenizer
    from kagglekit.keras.data import Batches, predict_batches
    from kagglekit.keras.layers import classifier
    from kagglekit.keras.training import make_optimizer

    keras.utils.set_random_seed(0)
    df = pd.read_csv(TWEETS).sample(n=64, random_state=0)
    y = df["target"].to_numpy(dtype=np.float32)[:, None]
    enc = SubwordTokenizer.from_directory(MINILM).encode(df["text"], 32)
    backbone = load_backbone(MINILM)
    model = classifier(*sequence_head(backbone, head="mean"), n_targets=1, dropout=0.0)
    model.compile(
        optimizer=make_optimizer(
            1e-4,
            6,
            schedule="warmup-linear",
            optimizer="adamw",
            weight_decay=0.01,
            warmup_ratio=0.0,
            clipnorm=1.0,
        ),
        loss="binary_crossentropy",
    )
    names = backbone_inputs(backbone)

    def loss():  # one fixed shape everywhere: a single trace of each function
        prob = predict_batches(model, enc, inputs=names, maxlen=32, batch_size=64, bucket=False)
        p = np.clip(prob, 1e-7, 1 - 1e-7)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    before = loss()
    data = Batches(enc, y, batch_size=32, maxlen=32, shuffle=True, bucket=False, inputs=names)
    model.fit(data, epochs=3, verbose=0, shuffle=False)  # 2 batches an epoch, reshuffled
    after = loss()  # after 6 steps of 32 tweets
    assert after < before - 0.05, (before, after)
