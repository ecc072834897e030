"""Word-level tokenizer (HF tokenizers): Keras-compatible splitting, fold-only vocabulary,
ragged encodings, truncation, padding, maxlen from a percentile, encoding cache."""

from __future__ import annotations

import numpy as np
import pytest

from helpers_rnn import keras_text_to_word_sequence, make_texts
from kagglekit.errors import KaggleKitError
from kagglekit.text import tokenizer as tokmod
from kagglekit.text.tokenizer import PAD_ID, UNK_ID, Ragged, WordTokenizer, choose_maxlen

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
    vocab = tok.vocabulary()
    assert vocab[:2] == ["[PAD]", "[UNK]"]
    assert vocab[2:4] == ["a", "b"]  # 4 and 2 occurrences
    assert set(vocab[4:]) == {"c", "d"}
    assert tok.vocab_size == 6


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
