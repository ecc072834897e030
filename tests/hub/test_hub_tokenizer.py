"""Subword tokenization: tokenizer.json, KerasHub vocabularies, vocab.txt; caching; batches."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from kagglekit.hub.presets import PresetError
from kagglekit.hub.tokenizer import SubwordTokenizer
from support.hub import VOCAB, hf_dir, hf_tokenizer

pytest.importorskip("tokenizers")

TEXTS = [
    "Fire and FLOOD in the storm!",
    "love music",
    "",
    "the " * 40,
    "coffee summer unknownword party",
]


@pytest.fixture(autouse=True)
def cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def hf(tmp_path):
    return hf_dir(tmp_path / "hf")


def ids_of(encoded, i):
    start = encoded.offsets[i]
    return encoded.ids[start : start + encoded.lengths[i]].tolist()


def test_tokenizer_json_adds_special_tokens_and_truncates(hf):
    tok = SubwordTokenizer.from_directory(hf)
    enc = tok.encode(TEXTS, max_length=10)
    cls_id, sep_id, unk_id = VOCAB.index("[CLS]"), VOCAB.index("[SEP]"), VOCAB.index("[UNK]")
    assert enc.lengths.tolist() == [9, 4, 2, 10, 6]
    assert ids_of(enc, 0) == [cls_id] + [
        VOCAB.index(w) for w in ("fire", "and", "flood", "in", "the", "storm", "!")
    ] + [sep_id]
    assert ids_of(enc, 3) == [cls_id] + [VOCAB.index("the")] * 8 + [sep_id]  # [SEP] kept
    assert ids_of(enc, 4)[3] == unk_id  # [CLS] coffee summer [UNK] party [SEP]
    assert tok.pad_id == VOCAB.index("[PAD]")
    reference = hf_tokenizer().encode(TEXTS[0]).ids
    assert ids_of(enc, 0) == reference


def test_vocab_txt_and_keras_preset_tokenize_the_same(tmp_path, hf):
    import json

    from_json = SubwordTokenizer.from_directory(hf).encode(TEXTS, 16, cache=False)
    only_vocab = hf_dir(tmp_path / "vocab-only", tokenizer_json=False)
    from_vocab = SubwordTokenizer.from_directory(only_vocab).encode(TEXTS, 16, cache=False)
    # a KerasHub preset: Keras tokenizer.json config + assets/tokenizer/vocabulary.txt
    keras = tmp_path / "keras"
    (keras / "assets" / "tokenizer").mkdir(parents=True)
    (keras / "assets" / "tokenizer" / "vocabulary.txt").write_text("\n".join(VOCAB) + "\n")
    (keras / "tokenizer.json").write_text(
        json.dumps(
            {
                "class_name": "BertTokenizer",
                "registered_name": "keras_hub>BertTokenizer",
                "config": {"lowercase": True, "strip_accents": False},
            }
        )
    )
    from_keras = SubwordTokenizer.from_directory(keras).encode(TEXTS, 16, cache=False)
    for other in (from_vocab, from_keras):
        assert other.lengths.tolist() == from_json.lengths.tolist()
        assert other.ids.tolist() == from_json.ids.tolist()


def test_segment_ids_and_padding_mask(hf):
    enc = SubwordTokenizer.from_directory(hf).encode(TEXTS, 12)
    batch = enc.inputs([1, 0, 2], 16)
    assert {k: v.shape for k, v in batch.items()} == {
        "token_ids": (3, 16),
        "segment_ids": (3, 16),
        "padding_mask": (3, 16),
    }
    assert batch["padding_mask"].sum(axis=1).tolist() == [4, 9, 2]
    assert (batch["token_ids"][batch["padding_mask"] == 0] == enc.pad_id).all()
    assert not batch["segment_ids"].any()
    short = enc.inputs([0], 5)  # a narrower batch cuts rows
    assert short["padding_mask"].tolist() == [[1] * 5]


def test_encodings_are_cached_by_content(hf, cache_dir):
    tok = SubwordTokenizer.from_directory(hf)
    first = tok.encode(TEXTS, 12)
    files = list(cache_dir.rglob("*.npz"))
    assert len(files) == 1
    calls = []
    original = tok.backend.encode_batch
    tok.backend = _Spy(tok.backend, calls)
    again = tok.encode(TEXTS, 12)
    assert calls == [] and again.ids.tolist() == first.ids.tolist()
    tok.encode(TEXTS, 13)  # another max_length is another entry
    tok.encode(TEXTS[:-1], 12)  # other texts too
    assert len(list(cache_dir.rglob("*.npz"))) == 3 and len(calls) == 2
    assert original is not None


class _Spy:
    def __init__(self, backend, calls):
        self._backend, self._calls = backend, calls

    def encode_batch(self, texts):
        self._calls.append(len(texts))
        return self._backend.encode_batch(texts)

    def __getattr__(self, name):
        return getattr(self._backend, name)


def test_save_and_load_roundtrip(hf, tmp_path):
    tok = SubwordTokenizer.from_directory(hf)
    tok.save(tmp_path / "saved")
    again = SubwordTokenizer.load(tmp_path / "saved")
    assert again.encode(TEXTS, 12).ids.tolist() == tok.encode(TEXTS, 12).ids.tolist()
    assert again.fingerprint == tok.fingerprint


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is not None,
    reason="transformers is installed; the fallback would be used",
)
def test_directory_without_tokenizer_files_names_the_install(tmp_path):
    (tmp_path / "spm").mkdir()
    (tmp_path / "spm" / "spiece.model").write_bytes(b"\0")
    with pytest.raises(ImportError, match="pip install transformers"):
        SubwordTokenizer.from_directory(tmp_path / "spm")


def test_keras_preset_with_a_broken_sentencepiece_model_is_one_error(tmp_path):
    """A SentencePiece preset is read (tests/plugins/test_finetune_models.py); a damaged model file
    is one PresetError naming it and the fix."""
    import json

    d = tmp_path / "albert"
    (d / "assets" / "tokenizer").mkdir(parents=True)
    (d / "assets" / "tokenizer" / "vocabulary.spm").write_bytes(b"\0")
    (d / "tokenizer.json").write_text(
        json.dumps(
            {
                "class_name": "AlbertTokenizer",
                "registered_name": "keras_hub>AlbertTokenizer",
                "config": {},
            }
        )
    )
    with pytest.raises(
        PresetError,
        match=r"vocabulary.spm: not a readable SentencePiece.*"
        r"Hugging Face",
    ):
        SubwordTokenizer.from_directory(d)


def test_max_length_must_leave_room():
    tok = SubwordTokenizer(hf_tokenizer())
    with pytest.raises(ValueError, match="max_length"):
        tok.encode(["a"], 1)
    assert np.array_equal(tok.encode([], 8).lengths, np.zeros(0, dtype=np.int32))


def test_encoding_in_chunks_gives_the_same_ids(hf, monkeypatch):
    import kagglekit.hub.tokenizer as module

    tok = SubwordTokenizer.from_directory(hf)
    texts = TEXTS * 7
    whole = tok.encode(texts, max_length=10, cache=False, truncation="head+tail")
    monkeypatch.setattr(module, "ENCODE_CHUNK", 3)
    parts = tok.encode(texts, max_length=10, cache=False, truncation="head+tail")
    for name in ("ids", "type_ids", "offsets"):
        assert np.array_equal(getattr(whole, name), getattr(parts, name))
    assert len(tok.encode([], max_length=10, cache=False)) == 0
