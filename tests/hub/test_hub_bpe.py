"""KerasHub byte-level BPE presets (Qwen3, Llama 3: ``assets/tokenizer/vocabulary.json`` +
``merges.txt``) read into a ``tokenizers`` BPE with KerasHub's own ids, and ``-m llm`` on a
tiny random-weight Qwen3 / Llama 3 preset built by the test (support/finetune.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kagglekit.frame import TextFrame
from support.finetune import UNICODE_TEXTS
from support.hub import offline_hub, texts_and_labels

pytest.importorskip("keras_hub")
pytest.importorskip("tokenizers")

FAMILIES = {"qwen3": ("Qwen3Tokenizer", None), "llama3": ("Llama3Tokenizer", "<|begin_of_text|>")}
SPECIAL_TEXTS = {
    "qwen3": "fire<|im_end|>flood <|endoftext|> again",
    "llama3": "<|start_header_id|>user<|end_header_id|>fire <|eot_id|>",
}


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    from support.finetune import llama3_preset, qwen3_preset

    root = tmp_path_factory.mktemp("bpe-presets")
    return {"qwen3": qwen3_preset(root / "qwen3"), "llama3": llama3_preset(root / "llama3")}


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    offline_hub(monkeypatch, tmp_path)


def sample_texts(family):
    texts, _ = texts_and_labels(30, seed=1)
    return (
        list(texts)
        + UNICODE_TEXTS
        + [
            SPECIAL_TEXTS[family],
            "12345678 99",
            "a\n\n\nb  c",
            "don't STOP!! they'RE",
            "x" * 40,
            "",
        ]
    )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_bpe_preset_ids_equal_keras_hubs_tokenizer(presets, family):
    import keras_hub

    from kagglekit.hub.tokenizer import SubwordTokenizer

    class_name, start = FAMILIES[family]
    texts = sample_texts(family)
    theirs = getattr(keras_hub.models, class_name).from_preset(str(presets[family]))
    expected = [list(ids) for ids in theirs.tokenize(texts)]
    ours = SubwordTokenizer.from_directory(presets[family])
    assert ours.source.endswith("vocabulary.json")
    encoded = ours.encode(texts, 128)
    prefix = [] if start is None else [theirs.token_to_id(start)]
    for i, ids in enumerate(expected):
        assert list(encoded.row(i)) == prefix + ids, texts[i]
    # the special tokens inside a text are single tokens, as KerasHub reads them
    special = ours.encode([SPECIAL_TEXTS[family]], 128).row(0)
    assert sum(
        1 for t in special if t >= 0 and ours.backend.id_to_token(int(t)).startswith("<|")
    ) >= 2 + (start is not None)
    # the saved tokenizer.json reads back to the same ids
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        ours.save(tmp)
        again = SubwordTokenizer.load(tmp).encode(texts, 128, cache=False)
    for i in range(len(texts)):
        assert list(again.row(i)) == list(encoded.row(i))


def test_a_damaged_merges_file_gets_one_line(presets, tmp_path):
    import shutil

    from kagglekit.hub.presets import PresetError
    from kagglekit.hub.tokenizer import SubwordTokenizer

    broken = shutil.copytree(presets["qwen3"], tmp_path / "broken")
    merges = broken / "assets" / "tokenizer" / "merges.txt"
    merges.write_text(merges.read_text() + "zzqq nope\n")
    with pytest.raises(PresetError, match=r"merges.txt: line \d+ \('zzqq nope'\)") as err:
        SubwordTokenizer.from_directory(broken)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "family",
    [pytest.param("qwen3", marks=pytest.mark.slow), "llama3"],  # qwen3: ~19 s
)
def test_llm_on_a_bpe_preset_trains_saves_and_reloads_in_a_new_process(presets, family, tmp_path):
    from kagglekit_plugins.llm import LLMClassifier
    from support.finetune import predict_in_new_process

    texts, y = texts_and_labels(100, seed=3)
    train, test = TextFrame.from_texts(texts[:80], y[:80]), TextFrame.from_texts(texts[80:], y[80:])
    model = LLMClassifier.from_dict(
        {
            "preset": str(presets[family]),
            "learning_rate": 1e-2,
            "batch_size": 16,
            "max_length": 24,
            "lora_rank": 2,
            "prompt": "tweet: {text} disaster?",
            "verbose": 0,
        },
        seed=0,
    ).fit(train, test)
    params = model.fit_info_["parameters"]
    assert 0 < params["trainable"] < params["total"] / 2
    prob = model.predict(test)
    assert prob.shape == (20, 1) and np.all((prob > 0) & (prob < 1))
    model.save(tmp_path / "fold")
    assert json.loads((tmp_path / "fold" / "state.json").read_text())["preset"] == str(
        presets[family]
    )
    again = predict_in_new_process(
        "kagglekit_plugins.llm.LLMClassifier", tmp_path / "fold", test.text, tmp_path
    )
    np.testing.assert_allclose(again, prob, atol=1e-5)
