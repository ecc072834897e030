"""Embedding loaders: GloVe (incl. tokens with spaces), fastText .vec, word2vec binary,
paragram (latin-1); case fallbacks; coverage; cache; concat/mean; real GloVe lines."""

from __future__ import annotations

import numpy as np
import pytest

from kagglekit.errors import KaggleKitError
from kagglekit.text import embeddings as emb
from kagglekit.text.embeddings import EmbeddingFileError, embedding_matrix, find_vectors
from support.rnn import shared_dir, write_glove, write_word2vec_bin

DIM = 4
FILE_WORDS = [
    "the",
    "at name@domain.com",
    "PARIS",
    "Paris",
    "NYC",
    "ibm",
    "Ibm",
    "at",
    "New-York",
    "café",
    ". . .",
]
VOCAB = ["[PAD]", "[UNK]", "the", "paris", "nyc", "Ibm", "at", "new-york", "café", "missing"]


def vectors_for(words, seed=0):
    rng = np.random.default_rng(seed)
    return {w: np.round(rng.normal(size=DIM), 6).astype(np.float32) for w in words}


VECS = vectors_for(FILE_WORDS)
W2V_WORDS = [w for w in FILE_WORDS if " " not in w]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def files(tmp_path):
    vs = [VECS[w] for w in FILE_WORDS]
    return {
        "glove": write_glove(tmp_path / "g.txt", FILE_WORDS, vs),
        "fasttext": write_glove(
            tmp_path / "f.vec", FILE_WORDS, vs, header=True, trailing_space=True
        ),
        "paragram": write_glove(tmp_path / "paragram_4.txt", FILE_WORDS, vs, encoding="latin-1"),
        # word2vec binary words end at the first space: no spaced tokens there
        "word2vec": write_word2vec_bin(tmp_path / "w.bin", W2V_WORDS, [VECS[w] for w in W2V_WORDS]),
    }


@pytest.mark.parametrize("fmt", ["glove", "fasttext", "paragram", "word2vec"])
def test_each_format_finds_words_with_case_fallbacks(tmp_path, fmt):
    path = files(tmp_path)[fmt]
    assert emb.detect_format(path) == fmt
    found = find_vectors(path, VOCAB, skip_rows=2, cache=False)
    assert found.format == fmt and found.dim == DIM
    by_word = dict(zip(VOCAB, found.how.tolist()))
    assert by_word == {
        "[PAD]": 0,
        "[UNK]": 0,
        "the": 1,
        "paris": 3,
        "nyc": 4,
        "Ibm": 1,
        "at": 1,
        "new-york": 3,
        "café": 1,
        "missing": 0,
    }
    expected = {
        "the": "the",
        "paris": "Paris",
        "nyc": "NYC",
        "Ibm": "Ibm",
        "at": "at",
        "new-york": "New-York",
        "café": "café",
    }
    for word, source in expected.items():
        np.testing.assert_allclose(found.vectors[VOCAB.index(word)], VECS[source], rtol=1e-6)
    assert not found.vectors[VOCAB.index("missing")].any()
    assert not found.vectors[0].any()  # special rows are never looked up


def test_without_fallbacks_only_exact_words(tmp_path):
    found = find_vectors(files(tmp_path)["glove"], VOCAB, skip_rows=2, fallbacks=False, cache=False)
    assert [w for w, h in zip(VOCAB, found.how) if h] == ["the", "Ibm", "at", "café"]


def test_a_token_with_spaces_is_read_whole(tmp_path):
    vocab = ["at name@domain.com", ". . .", "at"]
    found = find_vectors(files(tmp_path)["glove"], vocab, cache=False)
    for i, word in enumerate(vocab):
        np.testing.assert_allclose(found.vectors[i], VECS[word], rtol=1e-6)


def test_format_prefix_and_bad_lines(tmp_path):
    path = tmp_path / "odd.txt"
    path.write_text("the 1 2 3 4\nbroken 1 2\nparis 1 x 3 4\nat 5 6 7 8\n")
    fmt, parsed = emb.parse_spec(f"glove:{path}")
    assert fmt == "glove" and parsed == path
    found = find_vectors(f"glove:{path}", ["the", "broken", "paris", "at"], cache=False)
    assert found.how.tolist() == [1, 0, 0, 1]
    assert found.bad_lines == 2  # wanted words on malformed lines: too few fields, not a number
    assert found.vectors[3].tolist() == [5, 6, 7, 8]


def test_results_are_cached_by_file_and_vocabulary(tmp_path, cache_dir, monkeypatch):
    path = files(tmp_path)["glove"]
    first = find_vectors(path, VOCAB, skip_rows=2)
    assert not first.cache_hit
    calls = []
    real = emb.LOADERS["glove"]
    monkeypatch.setitem(emb.LOADERS, "glove", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = find_vectors(path, VOCAB, skip_rows=2)
    assert again.cache_hit and calls == []
    np.testing.assert_array_equal(again.vectors, first.vectors)
    np.testing.assert_array_equal(again.how, first.how)
    find_vectors(path, VOCAB[:-1], skip_rows=2)  # another vocabulary: recomputed
    assert calls == [1]
    text = path.read_text().replace(f"{VECS['the'][0]:.6f}", "9.500000", 1)
    path.write_text(text)  # the file changed: recomputed, new value
    changed = find_vectors(path, VOCAB, skip_rows=2)
    assert calls == [1, 1] and changed.vectors[2][0] == pytest.approx(9.5)


def test_coverage_counts_vocabulary_and_tokens():
    found = np.array([False, False, True, False, True, False])
    counts = np.array([0, 5, 10, 3, 1, 1])
    vocab = ["[PAD]", "[UNK]", "a", "b", "c", "d"]
    cov = emb.coverage(found, counts, vocab, skip_rows=2)
    assert cov["vocab_found"] == 2 and cov["vocab_coverage"] == pytest.approx(0.5)
    assert cov["token_coverage"] == pytest.approx(11 / 20)
    assert cov["top_missing"] == [["b", 3], ["d", 1]]


def test_matrix_concat_mean_and_random_rows(tmp_path):
    paths = files(tmp_path)
    other = write_glove(
        tmp_path / "other.txt", ["the", "missing"], [np.ones(DIM), np.full(DIM, 3.0)]
    )
    counts = np.arange(len(VOCAB))
    concat = embedding_matrix([paths["glove"], other], VOCAB, counts, seed=1, cache=False)
    assert concat.matrix.shape == (len(VOCAB), 2 * DIM) and concat.matrix.dtype == np.float32
    assert not concat.matrix[0].any()  # padding row
    np.testing.assert_allclose(
        concat.matrix[2], np.concatenate([VECS["the"], np.ones(DIM)]), rtol=1e-6
    )
    assert concat.matrix[1].any() and concat.matrix[9, :DIM].any()  # random, not zeros
    assert concat.report["vocab_found"] == 8  # found in any file
    assert [f["vocab_found"] for f in concat.report["files"]] == [7, 2]
    assert concat.report["files"][0]["found_by"] == {"exact": 4, "lower": 0, "title": 2, "upper": 1}
    mean = embedding_matrix([paths["glove"], other], VOCAB, combine="mean", seed=1, cache=False)
    np.testing.assert_allclose(mean.matrix[2], (VECS["the"] + 1) / 2, rtol=1e-6)
    np.testing.assert_allclose(mean.matrix[9], np.full(DIM, 3.0))  # only in the second file
    again = embedding_matrix([paths["glove"], other], VOCAB, combine="mean", seed=1, cache=False)
    np.testing.assert_array_equal(again.matrix, mean.matrix)  # seeded noise


def test_errors_are_one_clear_line(tmp_path):
    with pytest.raises(EmbeddingFileError, match="not found"):
        find_vectors(tmp_path / "nope.txt", VOCAB)
    gz = tmp_path / "glove.txt.gz"
    gz.write_bytes(b"\x1f\x8b...")
    with pytest.raises(EmbeddingFileError, match="compressed; decompress it first"):
        find_vectors(gz, VOCAB)
    bad = tmp_path / "bad.vec"
    bad.write_text("the 1 2 3\n")
    with pytest.raises(EmbeddingFileError, match="header"):
        find_vectors(f"fasttext:{bad}", VOCAB, cache=False)
    short = write_word2vec_bin(tmp_path / "short.bin", ["the", "at"], np.ones((2, DIM)))
    short.write_bytes(short.read_bytes()[:-10])
    with pytest.raises(EmbeddingFileError, match="truncated"):
        find_vectors(short, ["x"], cache=False)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(EmbeddingFileError, match="empty"):
        find_vectors(empty, VOCAB)
    small = write_glove(tmp_path / "small.txt", ["the"], [np.ones(2)])
    with pytest.raises(KaggleKitError, match="mean needs files of one dimension"):
        embedding_matrix([files(tmp_path)["glove"], small], VOCAB, combine="mean", cache=False)
    with pytest.raises(KaggleKitError, match="concat or mean"):
        embedding_matrix([small], VOCAB, combine="sum")


@pytest.mark.real_data
@pytest.mark.parametrize(
    "name,dim", [("glove.6B.50d.first2446.txt", 50), ("glove.6B.100d.first2604.txt", 100)]
)
def test_real_glove_lines(name, dim):
    path = shared_dir() / "embeddings" / name
    if not path.is_file():
        pytest.skip(f"{path} absent")
    lines = path.read_bytes().splitlines()  # glove.6B holds a few non-UTF-8 (cp1252) tokens
    table = {}
    for line in lines:
        parts = line.rstrip().split(b" ")
        table.setdefault(parts[0].decode("latin-1"), np.array(parts[1:], dtype=np.float32))
    last = lines[-1].split(b" ")[0].decode("ascii")
    words = ["the", "of", "government", "water", "police", last]
    vocab = ["[PAD]", "[UNK]", *words, "The", "POLICE", "zzzznotaword"]
    found = find_vectors(path, vocab, skip_rows=2, cache=False)
    assert found.dim == dim and found.lines == len(lines) and found.bad_lines == 0
    for i, word in enumerate(vocab[2:], start=2):
        source = word.lower()
        if source in table:
            np.testing.assert_array_equal(found.vectors[i], table[source])
    assert found.how[vocab.index("The")] == 2 and found.how[vocab.index("POLICE")] == 2
    assert found.how[-1] == 0
    # the first line of glove.6B is "the 0.418 0.24968 ..." (50d)
    if dim == 50:
        assert found.vectors[2][:3].tolist() == pytest.approx([0.418, 0.24968, -0.41242])


def test_noise_for_missing_words_has_the_found_vectors_mean_and_std():
    rng = np.random.default_rng(3)
    vectors = np.zeros((6, 50), np.float32)
    hit = np.array([False, True, True, False, True, True])
    vectors[hit] = rng.normal(0.3, 2.0, (4, 50))
    mean, std = emb._mean_std(vectors, hit)
    assert mean == pytest.approx(vectors[hit].mean(), rel=1e-5)
    assert std == pytest.approx(vectors[hit].std(), rel=1e-5)
    assert emb._mean_std(np.zeros((2, 3), np.float32), np.zeros(2, bool)) == (0.0, 0.05)
