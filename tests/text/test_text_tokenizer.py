"""Word-level tokenizer (HF tokenizers): Keras-compatible splitting, fold-only vocabulary,
ragged encodings, truncation, padding, maxlen from a percentile, encoding cache."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kagglekit.errors import KaggleKitError
from kagglekit.keras.ragged import Ragged
from kagglekit.text import tokenizer as tokmod
from kagglekit.text.tokenizer import PAD_ID, UNK_ID, WordTokenizer, choose_maxlen
from support.rnn import keras_text_to_word_sequence, keras_word_index_order, make_texts

TRICKY = [
    "Hello, World!  hello\tthere\r\nfoo",
    "Don't STOP-me now... (please) #fire @user http://t.co/abc",
    "",
    "   ",
    "ÉCOLE école Straße İstanbul naïve",
    "a\u00a0b c~d{e}f|g",
    "emoji 🔥🔥 fire",
]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("lower", [True, False])
def test_split_matches_keras_text_to_word_sequence(lower):
    tok = WordTokenizer(lowercase=lower).fit(TRICKY)
    for text in TRICKY:
        assert tok.split(text) == keras_text_to_word_sequence(text, lower=lower), text


def test_custom_filters_match_keras():
    filters = "!?.,"
    tok = WordTokenizer(filters=filters).fit(TRICKY)
    for text in TRICKY:
        assert tok.split(text) == keras_text_to_word_sequence(text, filters=filters)


def test_vocabulary_is_frequency_ordered_with_pad_and_unk_first():
    texts = ["b a a c", "a b", "a d"]
    tok = WordTokenizer().fit(texts)
    assert tok.vocabulary() == ["[PAD]", "[UNK]", "a", "b", "c", "d"]
    assert tok.vocab_size == 6


def test_vocabulary_order_is_keras_order():
    texts, _ = make_texts(300, seed=5)
    texts += TRICKY
    assert WordTokenizer().fit(texts).vocabulary()[2:] == keras_word_index_order(texts)


def test_vectorized_encoding_equals_the_tokenizers_pipeline():
    pytest.importorskip("tokenizers")
    texts, _ = make_texts(100, seed=6)
    tok = WordTokenizer(max_words=40).fit(texts + TRICKY[:3])
    probe = texts[:50] + TRICKY + ["zzz unknown words", "a\x00b c"]
    fast = tok.encode(probe, cache=False)
    slow = tok.encode_with_tokenizers(probe)
    np.testing.assert_array_equal(fast.offsets, slow.offsets)
    np.testing.assert_array_equal(fast.ids, slow.ids)
    assert UNK_ID in fast.ids


def test_saved_tokenizer_json_loads_in_hugging_face_tokenizers():
    pytest.importorskip("tokenizers")
    from tokenizers import Tokenizer

    texts, _ = make_texts(40, seed=7)
    tok = WordTokenizer().fit(texts)
    hf = Tokenizer.from_str(json.dumps(json.loads(tok.to_json())["tokenizer"]))
    assert (
        hf.encode(texts[0], add_special_tokens=False).ids
        == tok.encode([texts[0]], cache=False).ids.tolist()
    )


def test_texts_holding_the_separator_character():
    texts = ["a\x00b c", "\x00", "d \x01 e"]
    tok = WordTokenizer().fit(texts)
    for text in texts:
        assert tok.split(text) == keras_text_to_word_sequence(text)
    enc = tok.encode(texts, cache=False)
    assert enc.lengths.tolist() == [2, 1, 3]


def test_vocabulary_comes_from_the_fitted_texts_only():
    train, _ = make_texts(50, seed=1)
    tok = WordTokenizer().fit(train)
    words = {w for t in train for w in keras_text_to_word_sequence(t)}
    assert set(tok.vocabulary()[2:]) == words
    enc = tok.encode(["fire zebra-unicorn fire"], cache=False)
    fire = tok.vocabulary().index("fire")
    assert enc.row(0).tolist() == [fire, UNK_ID, UNK_ID, fire]


def test_max_words_keeps_the_most_frequent_and_min_count():
    texts = ["x x x x y y y z z w"]
    assert WordTokenizer(max_words=2).fit(texts).vocabulary() == ["[PAD]", "[UNK]", "x", "y"]
    assert WordTokenizer(min_count=2).fit(texts).vocabulary()[2:] == ["x", "y", "z"]
    with pytest.raises(ValueError, match="max_words must be >= 1"):
        WordTokenizer(max_words=0)


def test_encode_is_ragged_and_matches_split():
    texts, _ = make_texts(40, seed=2)
    tok = WordTokenizer().fit(texts)
    enc = tok.encode(texts + ["", "!!!"], cache=False)
    vocab = tok.vocabulary()
    assert len(enc) == 42 and enc.ids.dtype == np.int32
    for i, text in enumerate(texts):
        assert [vocab[j] for j in enc.row(i)] == keras_text_to_word_sequence(text)
    assert enc.lengths[-2:].tolist() == [0, 0]
    assert PAD_ID not in enc.ids


def test_ragged_truncate_pad_and_take():
    r = Ragged(np.array([1, 2, 3, 4, 5, 6, 7], np.int32), np.array([0, 3, 3, 7]))
    assert r.lengths.tolist() == [3, 0, 4]
    post = r.truncate(2, "post")
    assert [post.row(i).tolist() for i in range(3)] == [[1, 2], [], [4, 5]]
    pre = r.truncate(2, "pre")
    assert [pre.row(i).tolist() for i in range(3)] == [[2, 3], [], [6, 7]]
    assert r.truncate(10) is r
    assert r.pad().tolist() == [[1, 2, 3, 0], [0, 0, 0, 0], [4, 5, 6, 7]]
    assert r.pad([2, 0], length=3).tolist() == [[4, 5, 6], [1, 2, 3]]
    assert r.pad([0], length=5, padding="pre").tolist() == [[0, 0, 1, 2, 3]]
    t = r.take([2, 0])
    assert [t.row(i).tolist() for i in range(2)] == [[4, 5, 6, 7], [1, 2, 3]]
    assert r.token_counts(8).tolist() == [0, 1, 1, 1, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="truncating must be"):
        r.truncate(2, "middle")


def test_choose_maxlen_from_percentile():
    lengths = np.arange(1, 101)
    assert choose_maxlen(lengths, 100) == 100
    assert choose_maxlen(lengths, 50) == 51  # 50.5 rounded up
    assert choose_maxlen(lengths, 99, cap=64) == 64
    assert choose_maxlen(np.zeros(5, int), 99) == 1
    with pytest.raises(ValueError, match="maxlen_percentile"):
        choose_maxlen(lengths, 0)


def test_encodings_are_cached_by_content(cache_dir, monkeypatch):
    texts, _ = make_texts(30, seed=3)
    tok = WordTokenizer().fit(texts)
    first = tok.encode(texts)
    assert list((cache_dir / "encodings").glob("*.npz"))

    def boom(self, texts):
        raise AssertionError("should come from the cache")

    monkeypatch.setattr(WordTokenizer, "_encode", boom)
    again = tok.encode(texts)
    assert np.array_equal(again.ids, first.ids) and np.array_equal(again.offsets, first.offsets)
    # other texts, or another vocabulary, are a different key
    with pytest.raises(AssertionError, match="cache"):
        tok.encode(texts[:-1] + [texts[-1] + " extra"])
    with pytest.raises(AssertionError, match="cache"):
        WordTokenizer(max_words=5).fit(texts).encode(texts)


def test_texts_digest_distinguishes_boundaries():
    assert tokmod.texts_digest(["ab", "c"]) != tokmod.texts_digest(["a", "bc"])
    assert tokmod.texts_digest(["a"]) == tokmod.texts_digest(np.array(["a"], dtype=object))


def test_json_round_trip_gives_the_same_ids():
    pytest.importorskip("tokenizers")
    texts, _ = make_texts(30, seed=4)
    tok = WordTokenizer(lowercase=False, max_words=20).fit(texts)
    back = WordTokenizer.from_json(tok.to_json())
    assert back.vocabulary() == tok.vocabulary()
    assert back.fingerprint() == tok.fingerprint()
    assert np.array_equal(back.encode(texts, cache=False).ids, tok.encode(texts, cache=False).ids)
    with pytest.raises(KaggleKitError, match="damaged tokenizer file"):
        WordTokenizer.from_json('{"lowercase": true}')


def test_unfitted_tokenizer_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        WordTokenizer().encode(["a"])


def test_fit_encode_equals_fit_then_encode(cache_dir):
    texts, _ = make_texts(60, seed=8)
    a = WordTokenizer(max_words=30)
    r = a.fit_encode(texts)
    b = WordTokenizer(max_words=30).fit(texts)
    assert a.vocabulary() == b.vocabulary()
    s = b.encode(texts, cache=False)
    np.testing.assert_array_equal(r.ids, s.ids)
    np.testing.assert_array_equal(r.offsets, s.offsets)
    # fit_encode stored the encoding: encode() now reads it from the cache
    assert len(list((cache_dir / "encodings").glob("*.npz"))) == 1
    np.testing.assert_array_equal(b.encode(texts).ids, r.ids)
    assert len(list((cache_dir / "encodings").glob("*.npz"))) == 1


def test_arrow_and_python_paths_agree(monkeypatch):
    pytest.importorskip("pyarrow")
    texts, _ = make_texts(200, seed=9)
    texts += TRICKY + ["a\x00b c", "ΟΔΟΣ Σ end", "x" * 5000]
    results = {}
    for arrow in (True, False):
        monkeypatch.setattr(WordTokenizer, "use_arrow", arrow)
        tok = WordTokenizer(max_words=50)
        r = tok.fit_encode(texts, cache=False)
        results[arrow] = (tok.vocabulary(), r.ids, r.offsets, [tok.split(t) for t in TRICKY])
    assert results[True][0] == results[False][0]
    np.testing.assert_array_equal(results[True][1], results[False][1])
    np.testing.assert_array_equal(results[True][2], results[False][2])
    assert results[True][3] == results[False][3]
