"""Fine-tuning recipes (issue 15): recipe options, DeBERTa-v3 through ``transformer`` with a
SentencePiece tokenizer, decoder-LLM classifiers with LoRA, on tiny random-weight presets
built by the tests (support/finetune.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kagglekit.frame import TextFrame
from kagglekit.params import build_params
from support.finetune import predict_in_new_process
from support.hub import hf_dir, keras_preset, offline_hub, texts_and_labels

pytest.importorskip("keras_hub")
pytest.importorskip("tokenizers")
pytest.importorskip("safetensors")
pytest.importorskip("sentencepiece")


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    from support.finetune import deberta_preset, gemma_preset

    root = tmp_path_factory.mktemp("ft-presets")
    return {
        "deberta": deberta_preset(root / "deberta"),
        "gemma": gemma_preset(root / "gemma"),
        "bert": keras_preset(root / "bert"),
        "hf": hf_dir(root / "hf"),
    }


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    offline_hub(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def frames():
    texts, y = texts_and_labels(100, seed=3)
    return TextFrame.from_texts(texts[:80], y[:80]), TextFrame.from_texts(texts[80:], y[80:])


# -- options -----------------------------------------------------------------------------------
def test_recipe_options_default_off_and_are_validated():
    from kagglekit import plugins
    from kagglekit.errors import ParamError

    for name in ("transformer", "deberta-v3", "distilbert", "bert", "llm"):
        p = plugins.get_model(name).Params()
        assert (p.llrd, p.msd, p.grad_accum, p.ema, p.remat, p.pool_layers) == (
            1.0,
            1,
            1,
            0.0,
            False,
            1,
        )
    assert plugins.get_model("deberta-v3").Params().preset == "deberta_v3_base_en"
    llm = plugins.get_model("llm").Params()
    assert (llm.lora_rank, llm.head, llm.truncation, llm.base_dtype) == (8, "last", "tail", "auto")
    assert plugins.get_model("transformer").Params().lora_rank == 0
    cls = plugins.get_model("transformer")
    p = build_params(
        cls.Params,
        {
            "llrd": "0.9",
            "msd": "5",
            "grad_accum": "4",
            "ema": "0.999",
            "pool_layers": "4",
            "truncation": "head+tail",
            "lora_rank": "8",
            "remat": "true",
        },
        "transformer",
    )
    assert (
        p.llrd,
        p.msd,
        p.grad_accum,
        p.ema,
        p.pool_layers,
        p.truncation,
        p.lora_rank,
        p.remat,
    ) == (0.9, 5, 4, 0.999, 4, "head+tail", 8, True)
    for bad, match in (
        ({"llrd": "1.5"}, "llrd"),
        ({"msd": "0"}, "msd"),
        ({"ema": "1"}, "ema"),
        ({"truncation": "middle"}, "truncation"),
        ({"lora_rank": "4", "freeze_backbone": "true"}, "lora_rank"),
    ):
        with pytest.raises(ParamError, match=match):
            build_params(cls.Params, bad, "transformer")
    with pytest.raises(ParamError, match="prompt"):
        build_params(plugins.get_model("llm").Params, {"prompt": "no slot"}, "llm")


@pytest.mark.parametrize("kind", ["hf", "deberta"])
def test_truncation_keeps_special_tokens_and_the_chosen_end(presets, kind):
    from kagglekit.hub.tokenizer import SubwordTokenizer

    tok = SubwordTokenizer.from_directory(presets[kind])
    text = "fire flood storm crash killed love music happy party movie song coffee"
    full = tok.encode([text], 512, cache=False).row(0)
    body = list(full[1:-1])
    assert len(body) >= 10
    for mode, expect in (
        ("head", body[:6]),
        ("tail", body[-6:]),
        ("head+tail", body[:1] + body[-5:]),
    ):
        row = tok.encode([text], 8, cache=False, truncation=mode).row(0)
        assert list(row) == [full[0], *expect, full[-1]], mode
    short = tok.encode(["fire"], 8, cache=False, truncation="tail").row(0)
    np.testing.assert_array_equal(short, tok.encode(["fire"], 8, cache=False).row(0))


def test_layerwise_rates_scale_each_variables_step():
    import keras

    from kagglekit.keras.training import make_optimizer

    a = keras.Variable(np.zeros(3, np.float32), name="a")
    b = keras.Variable(np.zeros(3, np.float32), name="b")
    for name in ("adam", "adamw"):
        a.assign(np.zeros(3)), b.assign(np.zeros(3))
        opt = make_optimizer(0.1, 10, optimizer=name, lr_scales={id(b): 0.25})
        opt.apply_gradients([(keras.ops.ones(3), a), (keras.ops.ones(3), b)])
        step_a, step_b = -keras.ops.convert_to_numpy(a), -keras.ops.convert_to_numpy(b)
        np.testing.assert_allclose(step_a, 0.1, rtol=1e-3)
        np.testing.assert_allclose(step_b, 0.025, rtol=1e-3)


def test_layerwise_scales_decay_with_depth(presets):
    from kagglekit.hub.adapters import blocks, layerwise_scales
    from kagglekit.hub.backbone import load_backbone

    backbone = load_backbone(presets["deberta"])
    scales = layerwise_scales(backbone, 0.5)
    layers = blocks(backbone)
    assert len(layers) == 2
    assert {scales[id(v)] for v in layers[0].weights} == {0.25}
    assert {scales[id(v)] for v in layers[1].weights} == {0.5}
    embedding = [v for v in backbone.weights if "token_embedding" in v.path]
    assert embedding and {scales[id(v)] for v in embedding} == {0.125}


def test_last_token_pooling_handles_left_and_right_padding():
    import keras

    from kagglekit.keras.layers import MaskedPooling

    seq = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    mask = np.array([[1, 1, 0, 0], [0, 1, 1, 1]], bool)  # right-padded, left-padded
    out = keras.ops.convert_to_numpy(MaskedPooling("last")(seq, mask=mask))
    np.testing.assert_array_equal(out, np.stack([seq[0, 1], seq[1, 3]]))


# -- DeBERTa-v3 --------------------------------------------------------------------------------
def test_deberta_v3_with_recipe_options_saves_and_reloads_in_a_new_process(
    presets, frames, tmp_path
):
    from kagglekit_plugins.transformer import DebertaV3

    train, test = frames
    model = DebertaV3.from_dict(
        {
            "preset": str(presets["deberta"]),
            "epochs": 1,
            "learning_rate": 1e-2,
            "batch_size": 16,
            "max_length": 16,
            "llrd": 0.8,
            "msd": 3,
            "grad_accum": 2,
            "ema": 0.5,
            "truncation": "head+tail",
            "verbose": 0,
        },
        seed=0,
    )
    model.fit(train, test)
    info = model.fit_info_
    assert info["recipe_options"] == {
        "llrd": 0.8,
        "unfreeze": "none",
        "msd": 3,
        "grad_accum": 2,
        "ema": 0.5,
        "remat": False,
        "pool_layers": 1,
        "lora_rank": 0,
        "lora_targets": None,
    }
    assert info["layer_groups"] == 3 and info["llrd"] == 0.8  # embeddings + 2 blocks
    assert info["truncation"] == "head+tail" and info["history"][0]["loss"] > 0
    assert {layer.name for layer in model.model_.layers} >= {"msd_0", "msd_2", "logits", "output"}
    prob = model.predict(test)
    assert prob.shape == (20, 1) and np.all((prob > 0) & (prob < 1))
    model.save(tmp_path / "fold")
    assert (tmp_path / "fold" / "model.keras").is_file()
    again = predict_in_new_process(
        "kagglekit_plugins.transformer.DebertaV3", tmp_path / "fold", test.text, tmp_path
    )
    np.testing.assert_allclose(again, prob, atol=1e-5)


@pytest.mark.slow  # ~13 s
def test_pool_layers_reads_the_last_hidden_layers_and_reloads(presets, frames, tmp_path):
    from kagglekit_plugins.transformer import TransformerClassifier

    train, test = frames
    model = TransformerClassifier.from_dict(
        {
            "preset": str(presets["deberta"]),
            "epochs": 1,
            "batch_size": 32,
            "max_length": 16,
            "pool_layers": 2,
            "verbose": 0,
        },
        seed=0,
    ).fit(train)
    assert model.model_.get_layer("pool_layers") is not None
    prob = model.predict(test)
    model.save(tmp_path / "fold")
    assert (tmp_path / "fold" / "weights.safetensors").is_file()
    np.testing.assert_allclose(
        TransformerClassifier.load(tmp_path / "fold").predict(test), prob, atol=1e-6
    )


@pytest.mark.slow  # ~18 s; ULMFiT gradual unfreezing stays in the suite
def test_gradual_unfreezing_trains_the_head_first_then_the_top_block(presets, frames):
    """ULMFiT's gradual unfreezing on a transformer: epoch 1 leaves the whole backbone as
    loaded; epoch 2 also trains the top block, not the embeddings or the lower block."""
    from kagglekit.hub.adapters import blocks
    from kagglekit.hub.backbone import load_backbone
    from kagglekit_plugins.transformer import TransformerClassifier

    train, _ = frames
    original = load_backbone(presets["deberta"])

    def weights(backbone):
        layers = blocks(backbone)
        return {
            "embeddings": backbone.get_layer("token_embedding").get_weights()[0],
            "bottom": layers[0].get_weights()[0],
            "top": layers[-1].get_weights()[0],
        }

    before = weights(original)
    for epochs, moved in ((1, set()), (2, {"top"})):
        model = TransformerClassifier.from_dict(
            {
                "preset": str(presets["deberta"]),
                "epochs": epochs,
                "batch_size": 16,
                "max_length": 16,
                "unfreeze": "gradual",
                "learning_rate": 1e-2,
                "early_stopping": "off",
                "verbose": 0,
            },
            seed=0,
        ).fit(train)
        after = weights(model._backbone)
        changed = {k for k in before if not np.allclose(before[k], after[k])}
        assert changed == moved, (epochs, changed)
        assert model.fit_info_["layer_groups"] == 3
    from kagglekit.errors import ParamError

    with pytest.raises(ParamError, match="unfreeze=gradual unfreezes the backbone"):
        TransformerClassifier.from_dict({"unfreeze": "gradual", "lora_rank": 4})


# -- LoRA --------------------------------------------------------------------------------------
def lora_and_head_sizes(model) -> tuple[int, int]:
    lora = sum(
        int(np.prod(v.shape))
        for v in model.model_.variables
        if v.path.endswith(("lora_kernel_a", "lora_kernel_b"))
    )
    head = sum(int(np.prod(v.shape)) for v in model.model_.get_layer("output").weights)
    return lora, head


def test_llm_lora_trains_adapters_and_head_only_and_saves_them_alone(presets, frames, tmp_path):
    from kagglekit_plugins.llm import LLMClassifier

    train, test = frames
    model = LLMClassifier.from_dict(
        {
            "preset": str(presets["gemma"]),
            "learning_rate": 1e-2,
            "batch_size": 16,
            "max_length": 24,
            "lora_rank": 4,
            "prompt": "tweet: {text} disaster?",
            "verbose": 0,
        },
        seed=0,
    ).fit(train, test)
    lora, head = lora_and_head_sizes(model)
    assert lora > 0 and head == 17
    params = model.fit_info_["parameters"]
    assert params["trainable"] == lora + head < params["total"] / 2
    assert model.fit_info_["recipe_options"]["lora_rank"] == 4
    # the prompt is part of what is tokenized
    assert len(model.features(["fire"]).row(0)) > len(model.tokenizer_.encode(["fire"], 24).row(0))
    prob = model.predict(test)
    model.save(tmp_path / "fold")
    saved = {p.name for p in (tmp_path / "fold").iterdir()}
    assert "model.keras" not in saved and "weights.safetensors" in saved
    state = json.loads((tmp_path / "fold" / "state.json").read_text())
    assert state["preset"] == str(presets["gemma"])
    full = (presets["gemma"] / "model.weights.h5").stat().st_size
    assert (tmp_path / "fold" / "weights.safetensors").stat().st_size < full / 2
    again = predict_in_new_process(
        "kagglekit_plugins.llm.LLMClassifier", tmp_path / "fold", test.text, tmp_path
    )
    np.testing.assert_allclose(again, prob, atol=1e-5)


def test_lora_rank_on_an_encoder_backbone(presets, frames, tmp_path):
    from kagglekit_plugins.transformer import TransformerClassifier

    train, test = frames
    model = TransformerClassifier.from_dict(
        {
            "preset": str(presets["bert"]),
            "epochs": 1,
            "batch_size": 32,
            "max_length": 16,
            "lora_rank": 2,
            "verbose": 0,
        },
        seed=0,
    ).fit(train)
    lora, head = lora_and_head_sizes(model)
    assert lora > 0 and model.fit_info_["parameters"]["trainable"] == lora + head
    prob = model.predict(test)
    model.save(tmp_path / "fold")
    np.testing.assert_allclose(
        TransformerClassifier.load(tmp_path / "fold").predict(test), prob, atol=1e-6
    )
    from kagglekit.hub.presets import PresetError

    with pytest.raises(PresetError, match="lora_targets='nope'"):
        TransformerClassifier.from_dict(
            {"preset": str(presets["bert"]), "lora_rank": 2, "lora_targets": "nope", "verbose": 0}
        ).fit(train)


@pytest.mark.slow  # ~27 s; the recipe is saved and reloaded by the test above
def test_cli_cv_deberta_v3_records_the_recipe(presets, tmp_path):
    from click.testing import CliRunner

    from kagglekit.cli import cli

    result = CliRunner().invoke(
        cli,
        [
            "cv",
            "disaster-tweets",
            "--sample",
            "--model",
            "deberta-v3",
            "--folds",
            "2",
            "-p",
            f"preset={presets['deberta']}",
            "-p",
            "epochs=1",
            "-p",
            "max_length=16",
            "-p",
            "batch_size=32",
            "-p",
            "verbose=0",
            "-p",
            "llrd=0.9",
            "-p",
            "msd=2",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    run = json.loads(next((tmp_path / "runs").rglob("run.json")).read_text())
    text = json.dumps(run)
    assert '"llrd": 0.9' in text and '"msd": 2' in text
    for fold in run["fold_scores"]:
        assert fold["fit_info"]["recipe_options"]["llrd"] == 0.9


def test_shuffled_labels_give_chance_oof_auc_for_an_llm(presets):
    from kagglekit_plugins.llm import LLMClassifier
    from support.honesty import null_bound, shuffled_oof

    texts, y = texts_and_labels(240, seed=5)
    params = {
        "preset": str(presets["gemma"]),
        "epochs": 2,
        "learning_rate": 1e-2,
        "batch_size": 16,
        "max_length": 16,
        "lora_rank": 2,
        "verbose": 0,
        "tensorboard": False,
    }
    auc, infos, shuffled = shuffled_oof(
        lambda k: LLMClassifier.from_dict(params, seed=k), texts, y, folds=3
    )
    assert all(i["early_stopping"] == "inner" for i in infos)
    assert abs(auc - 0.5) < null_bound(shuffled), auc
