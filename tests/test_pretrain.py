"""`kagglekit pretrain`: masked-LM pretraining writes a preset that fine-tunes like any other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras_hub")
pytest.importorskip("tokenizers")

from kagglekit.hub.pretrain import heldout_scores, mask_tokens  # noqa: E402
from support import one_line_error  # noqa: E402
from support.hub import keras_preset  # noqa: E402


def test_bert_masking_keeps_specials_and_padding():
    ids = np.array([[2, 10, 11, 12, 13, 14, 15, 16, 17, 3], [2, 10, 11, 3, 0, 0, 0, 0, 0, 0]])
    lengths = np.array([10, 4])
    special = np.array([0, 1, 2, 3, 4])
    out = mask_tokens(ids, lengths, special, 4, 30, 0.25, np.random.default_rng(0))
    assert out["mask_positions"].shape == (2, 3)
    assert out["weights"].sum(axis=1).tolist() == [2.0, 1.0]  # 25% of 8 tokens; at least one
    for i in range(2):
        chosen = out["mask_positions"][i][out["weights"][i] > 0]
        assert not np.isin(ids[i, chosen], special).any()  # never [CLS]/[SEP]/[PAD]
        assert (out["labels"][i][out["weights"][i] > 0] == ids[i, chosen]).all()
        untouched = np.setdiff1d(np.arange(10), chosen)
        assert (out["token_ids"][i, untouched] == ids[i, untouched]).all()
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]]))
    loss, acc = heldout_scores(logits, np.array([[0, 2]]), np.array([[1.0, 0.0]]))
    assert loss == pytest.approx(np.log(2)) and acc == 1.0  # padding slots do not count


def test_pretrain_writes_a_preset_whose_mlm_loss_drops_and_that_fine_tunes(cli, tmp_path):
    preset = keras_preset(tmp_path / "tiny-bert")
    out = tmp_path / "lm"
    args = [
        "pretrain",
        "imdb",
        "--sample",
        "--runs-dir",
        tmp_path / "runs",
        "-p",
        f"preset={preset}",
        "-p",
        "epochs=3",
        "-p",
        "learning_rate=0.01",
        "-p",
        "max_length=24",
        "-p",
        "batch_size=32",
    ]
    result = cli(*args, "--output", out, "--json")
    record = json.loads(result.stdout)
    assert set(record["texts"]) == {"data_dir", "train", "test", "unlabeled"}
    assert record["n_texts"] == sum(record["texts"][k] for k in ("train", "test", "unlabeled"))
    history = record["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    assert history[-1]["heldout_loss"] < history[0]["heldout_loss"]  # it learned
    assert "held-out MLM loss" in result.stderr and "epoch 3" in result.stderr
    assert {"config.json", "model.weights.h5", "tokenizer.json", "kagglekit-pretrain.json"} <= {
        p.name for p in out.iterdir()
    }

    from kagglekit.hub.backbone import load_backbone
    from kagglekit.hub.tokenizer import SubwordTokenizer

    original, tuned = load_backbone(preset), load_backbone(out)
    assert type(tuned).__name__ == "BertBackbone"
    assert not np.allclose(
        original.get_layer("token_embedding").get_weights()[0],
        tuned.get_layer("token_embedding").get_weights()[0],
    )
    assert (
        SubwordTokenizer.from_directory(out).vocab_size
        == SubwordTokenizer.from_directory(preset).vocab_size
    )

    # the same preset, texts and params: the cache answers, nothing is trained again
    again = json.loads(cli(*args, "--output", tmp_path / "lm2", "--json").stdout)
    assert again["cached"] is True and again["history"] == history
    assert "epoch 1" not in cli(*args).stderr
    # the same command with the same --output returns the folder it made, untouched...
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    same = json.loads(cli(*args, "--output", out, "--json").stdout)
    assert same["cached"] is True and same["path"] == str(out.resolve())
    assert same["history"] == history
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # ...and other params to that folder are refused before any training
    other = cli(*args, "-p", "mask_rate=0.2", "--output", out, expect=2)
    assert "already exists and is not an empty folder" in one_line_error(other)
    assert "epoch 1" not in other.stderr

    fit = cli.json(
        "fit",
        "imdb",
        "--sample",
        "--model",
        "distilbert",
        "--runs-dir",
        tmp_path / "runs",
        "-p",
        f"preset={out}",
        "-p",
        "epochs=1",
        "-p",
        "max_length=24",
        "-p",
        "verbose=0",
    )
    assert Path(fit["path"], "test_predictions.csv").is_file()


def test_pretrain_refuses_what_it_cannot_do(cli, tmp_path):
    result = cli(
        "pretrain",
        "disaster-tweets",
        "--sample",
        "--texts",
        "unlabeled",
        "-p",
        "preset=/nonexistent-preset-dir",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert len(result.stderr.strip().splitlines()) == 1
    preset = keras_preset(tmp_path / "tiny-bert")
    result = cli(
        "pretrain",
        "disaster-tweets",
        "--sample",
        "--texts",
        "unlabeled",
        "-p",
        f"preset={preset}",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert "declares no unlabeled texts" in result.stderr
    lstm = cli(
        "pretrain",
        "imdb",
        "--model",
        "lstm",
        "--sample",
        "-p",
        f"preset={preset}",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert "pretrain --model lstm has no parameter 'preset'" in one_line_error(lstm)
    lstm = cli(
        "pretrain",
        "imdb",
        "--model",
        "lstm",
        "--sample",
        "-p",
        "bptt=1",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert "bptt must be >= 2" in one_line_error(lstm)


def test_the_cache_key_follows_the_preset_bytes_not_their_dates(tmp_path):
    import os
    import shutil
    from types import SimpleNamespace

    from kagglekit.hub.pretrain import MlmParams, pretrain_key

    preset = tmp_path / "preset"
    preset.mkdir()
    (preset / "config.json").write_text("{}")
    weights = preset / "model.safetensors"
    weights.write_bytes(np.random.default_rng(0).bytes(3 << 20))  # over the 2 MiB sampling
    tokenizer, texts, params = SimpleNamespace(fingerprint="t"), ["a b", "c d"], MlmParams()
    key = pretrain_key(preset, tokenizer, texts, params)
    copy = tmp_path / "copy"
    shutil.copytree(preset, copy, copy_function=shutil.copy)  # new dates, as a re-mount
    os.utime(copy / "model.safetensors", (1, 1))
    assert pretrain_key(copy, tokenizer, texts, params) == key
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1  # one bit in the middle: size, head and tail unchanged
    weights.write_bytes(bytes(data))
    assert pretrain_key(preset, tokenizer, texts, params) != key
