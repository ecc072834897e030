"""Preset resolution: local directories, aliases, mounted models, remote handles, offline errors.

No test here touches the network: the download function is replaced in every test that
could reach it, and replaced by one that fails the test where no download may happen.
"""

from __future__ import annotations

import json

import pytest

from kagglekit.errors import KaggleKitError
from kagglekit.hub import presets
from kagglekit.hub.presets import PresetError, preset_layout, resolve


@pytest.fixture(autouse=True)
def no_download(monkeypatch, tmp_path):
    """Any download attempt fails the test unless a test replaces this again."""
    calls = []

    def forbidden(handle):
        calls.append(handle)
        raise AssertionError(f"unexpected download of {handle}")

    monkeypatch.setattr(presets, "_download", forbidden)
    monkeypatch.setenv("KAGGLEKIT_PRESET_DIRS", str(tmp_path / "no-mounts"))
    monkeypatch.delenv("KAGGLEKIT_OFFLINE", raising=False)
    return calls


def keras_dir(path):
    path.mkdir(parents=True)
    (path / "config.json").write_text(
        json.dumps(
            {
                "module": "keras_hub.src.models.bert.bert_backbone",
                "class_name": "BertBackbone",
                "config": {},
                "registered_name": "keras_hub>BertBackbone",
            }
        )
    )
    (path / "model.weights.h5").write_bytes(b"")
    return path


def test_layouts(tmp_path):
    k = keras_dir(tmp_path / "k")
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "bert"}))
    st = tmp_path / "st"
    st.mkdir()
    (st / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (st / "modules.json").write_text("[]")
    sm = tmp_path / "sm"
    sm.mkdir()
    (sm / "saved_model.pb").write_bytes(b"")
    assert [preset_layout(p) for p in (k, hf, st, sm, tmp_path)] == [
        "keras",
        "hf",
        "sentence-transformers",
        "savedmodel",
        "unknown",
    ]


def test_local_directory_resolves_without_download(tmp_path, no_download):
    k = keras_dir(tmp_path / "my preset")
    preset = resolve(str(k))
    assert preset.path == k.resolve() and preset.handle is None and not preset.downloaded
    assert no_download == []


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(PresetError, match="no such directory"):
        resolve(str(tmp_path / "absent"))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(PresetError, match="is a file, not a directory"):
        resolve(str(tmp_path / "afile"))


def test_directory_without_model_files_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(PresetError, match="config.json"):
        resolve(str(tmp_path / "empty"))


def test_missing_preset_names_the_forms():
    with pytest.raises(PresetError, match="-p preset="):
        resolve(None, what="model transformer")


def test_unknown_name_lists_aliases():
    with pytest.raises(PresetError, match="distilbert") as info:
        resolve("not_a_preset_name_at_all")
    assert "kaggle://" in str(info.value) and isinstance(info.value, KaggleKitError)


def test_alias_offline_says_how_to_attach(monkeypatch, no_download):
    monkeypatch.setenv("KAGGLEKIT_OFFLINE", "1")
    with pytest.raises(PresetError) as info:
        resolve("distilbert")
    message = str(info.value)
    assert "kaggle://keras/distil_bert/keras/distil_bert_base_en_uncased" in message
    assert "/kaggle/input/distil_bert/keras/distil_bert_base_en_uncased" in message
    assert "-p preset=/path/to/it" in message and "\n" not in message
    assert no_download == []


def test_failed_download_says_how_to_attach(monkeypatch):
    attempts = []

    def unreachable(handle):
        attempts.append(handle)
        raise ConnectionError("Max retries exceeded with url: /api/v1/models (no network)")

    monkeypatch.setattr(presets, "_download", unreachable)
    with pytest.raises(PresetError, match="could not be downloaded") as info:
        resolve("bert")
    assert attempts == ["kaggle://keras/bert/keras/bert_base_en_uncased/3"]
    assert "ConnectionError" in str(info.value) and "-p preset=" in str(info.value)


def test_hf_handle_downloads_only_when_named(monkeypatch, tmp_path):
    target = tmp_path / "snapshot"
    target.mkdir()
    (target / "config.json").write_text(json.dumps({"model_type": "bert"}))
    monkeypatch.setattr(presets, "_download", lambda handle: target)
    preset = resolve("hf://sentence-transformers/all-MiniLM-L6-v2")
    assert preset.downloaded and preset.handle == "hf://sentence-transformers/all-MiniLM-L6-v2"
    assert preset.path == target.resolve()


def test_hf_offline(monkeypatch, no_download):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PresetError, match="offline"):
        resolve("hf://org/model")
    assert no_download == []


def test_mounted_kaggle_model_is_used_first(monkeypatch, tmp_path, no_download):
    root = tmp_path / "input"
    keras_dir(root / "distil_bert" / "keras" / "distil_bert_base_en_uncased" / "2")
    newest = keras_dir(root / "distil_bert" / "keras" / "distil_bert_base_en_uncased" / "3")
    monkeypatch.setenv("KAGGLEKIT_PRESET_DIRS", str(root))
    preset = resolve("distilbert")
    assert preset.path == newest.resolve() and not preset.downloaded
    # an explicit version is honoured; the framework folder matches case-insensitively
    sm = root / "universal-sentence-encoder" / "tensorflow2" / "universal-sentence-encoder" / "2"
    sm.mkdir(parents=True)
    (sm / "saved_model.pb").write_bytes(b"")
    assert resolve("use").path == sm.resolve()
    assert no_download == []


def test_another_mounted_version_is_used(monkeypatch, tmp_path, no_download):
    root = tmp_path / "input"
    only = keras_dir(root / "bert" / "Keras" / "bert_base_en_uncased" / "1")
    monkeypatch.setenv("KAGGLEKIT_PRESET_DIRS", str(root))
    assert resolve("bert").path == only.resolve()  # the alias pins version 3


def test_alias_handles_match_keras_hub():
    pytest.importorskip("keras_hub")
    from keras_hub.src.utils.preset_utils import BUILTIN_PRESETS

    for name, handle in presets.HANDLES.items():
        if name in BUILTIN_PRESETS:
            assert BUILTIN_PRESETS[name]["kaggle_handle"] == handle


def test_mounted_folder_named_like_the_preset(monkeypatch, tmp_path, no_download):
    root = tmp_path / "models"
    target = keras_dir(root / "bert_base_en_uncased")
    monkeypatch.setenv("KAGGLEKIT_PRESET_DIRS", str(root))
    assert resolve("bert").path == target.resolve()


def test_bad_kaggle_scheme():
    with pytest.raises(PresetError, match="unsupported scheme"):
        resolve("s3://bucket/model")


@pytest.mark.parametrize("model", ["transformer", "distilbert", "sentence-encoder", "use"])
def test_a_local_preset_folder_is_checked_before_any_work(cli, tmp_path, model):
    """cv names a bad preset folder at once: no data read, no job started. (Without Keras
    installed, the missing extra is the one line, said first, and before any work too.)"""
    import importlib.util

    from support import one_line_error

    (tmp_path / "empty").mkdir()
    cases = [
        (tmp_path / "absent", "no such directory"),
        (tmp_path / "empty", "holds no config.json"),
    ]
    if importlib.util.find_spec("keras") is None:
        cases = [(where, "pip install 'kagglekit[keras]'") for where, _ in cases]
    for where, expected in cases:
        result = cli(
            "cv",
            "disaster-tweets",
            "--sample",
            "--model",
            model,
            "-p",
            f"preset={where}",
            "--runs-dir",
            tmp_path / "runs",
            expect=2,
        )
        assert expected in one_line_error(result)
        assert result.stderr.strip().count("\n") == 0, result.stderr  # nothing before it
    assert not (tmp_path / "runs").exists()
