"""Word-level tokenization comparable to Keras' classic ``Tokenizer`` (same filters,
lowercasing, split on spaces only), with a Hugging Face ``tokenizers`` WordLevel model as the
saved artifact.

- The vocabulary is learned from the texts given to ``fit`` (a fold's training texts):
  most frequent first, ties in order of first appearance (as Keras does), ``max_words``
  kept, ids 0 = ``[PAD]`` and 1 = ``[UNK]``. Unlike Keras' Tokenizer (which drops unknown
  words unless ``oov_token`` is set) unknown words map to ``[UNK]``.
- ``fit`` and ``encode`` work on all texts at once: their bytes are lower-cased and
  filtered in one go, split on spaces and words mapped to ids with one hash of each
  distinct word (pyarrow's string kernels when pyarrow is installed, else
  ``str.split`` + ``pandas.factorize``; both give the same ids, tested). On 200,000
  Quora questions this takes several times less CPU than running the ``tokenizers``
  pipeline text by text, whose per-token bookkeeping dominates for short word-level texts
  (benchmarks/RESULTS_rnn.md). That equivalent ``tokenizers`` pipeline (Lowercase +
  Replace(filters) normalizer, Split(" ") pre-tokenizer, WordLevel model) is what
  ``to_json`` saves, so a saved ``tokenizer.json`` also loads with
  ``tokenizers.Tokenizer.from_str`` and gives the same ids (tested); ``encode_with_tokenizers``
  runs it.
- ``encode`` returns a ``Ragged`` batch (flat ids + offsets): nothing is padded until a
  batch is made (see ``bucketing``). Encodings are cached by a hash of the texts and of the
  tokenizer (``kagglekit.cache``).
"""

from __future__ import annotations

import json
import math

import numpy as np

from kagglekit.cache import cached_arrays, content_hash
from kagglekit.errors import KaggleKitError
from kagglekit.keras.ragged import Ragged

#: keras.preprocessing.text.Tokenizer's default ``filters``: replaced by spaces.
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
_CACHE_VERSION = "wordlevel-v2"


def choose_maxlen(lengths, percentile: float = 99.0, cap: int | None = None) -> int:
    """The ``percentile`` of the lengths (rounded up), at least 1, at most ``cap``."""
    lengths = np.asarray(lengths)
    if not 0 < percentile <= 100:
        raise ValueError(f"maxlen_percentile must be in (0, 100], got {percentile}")
    value = int(math.ceil(np.percentile(lengths, percentile))) if len(lengths) else 1
    value = max(1, value)
    return min(value, cap) if cap else value


def texts_digest(texts) -> str:
    """A hash of a sequence of texts (their bytes and their boundaries)."""
    return content_hash([str(t) for t in texts])


def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(set(chars))) + "]"


class WordTokenizer:
    """Keras-Tokenizer-compatible word splitting and vocabulary, vectorized over all texts."""

    def __init__(
        self,
        lowercase: bool = True,
        filters: str = KERAS_FILTERS,
        max_words: int | None = None,
        min_count: int = 1,
    ):
        if max_words is not None and max_words < 1:
            raise ValueError(f"max_words must be >= 1 or None, got {max_words}")
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        self.lowercase = lowercase
        self.filters = filters
        self.max_words = max_words
        self.min_count = min_count
        self._vocab: list[str] | None = None
        self._index: dict[str, int] | None = None

    # -- splitting ----------------------------------------------------------------------
    #: use pyarrow's string kernels when it is installed (same results, ~2x less CPU)
    use_arrow = True

    def _words(self, texts: list[str]):
        """(codes, uniques, counts): every word of every text, in order.

        ``uniques[codes[k]]`` is the k-th word overall (``uniques`` in order of first
        appearance) and ``counts[i]`` the number of words of text ``i``. Texts holding
        non-ASCII characters are lower-cased with ``str.lower`` (as Keras does); then all
        bytes at once: ASCII lower-casing and filter characters -> spaces with
        ``bytes.lower``/``translate`` (safe on UTF-8, where ASCII bytes only stand for
        themselves).
        """
        n = len(texts)
        if n == 0:
            return np.zeros(0, np.int64), np.array([], dtype=object), np.zeros(0, np.int64)
        if self.lowercase:
            texts = [t if t.isascii() else t.lower() for t in texts]
        if self.use_arrow and self.filters.isascii():
            try:
                return self._words_arrow(texts)
            except ImportError:
                pass
            except (ValueError, TypeError, UnicodeError):  # e.g. lone surrogates
                pass
        return self._words_python(texts)

    def _byte_lut(self) -> np.ndarray:
        """``bytes.lower`` then the filters -> spaces, as one 256-entry table (ASCII only)."""
        low = np.arange(256, dtype=np.uint8)
        if self.lowercase:
            low[65:91] += 32
        return (
            np.frombuffer(_byte_table(self.filters), dtype=np.uint8)[low] if self.filters else low
        )

    def _words_arrow(self, texts: list[str]):
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(texts)
        arr = pa.array(texts, type=pa.string())
        _, offsets, data = arr.buffers()
        start = arr.offset
        # one pass over the bytes (lower-case + filters); the result is the new data buffer
        data = (
            pa.py_buffer(self._byte_lut()[np.frombuffer(data, dtype=np.uint8)])
            if data is not None
            else pa.py_buffer(b"")
        )
        arr = pa.StringArray.from_buffers(n, offsets, data, offset=start)
        pieces = pc.split_pattern(arr, pattern=" ")
        del arr, data
        tokens = pieces.flatten()
        keep = pc.not_equal(tokens, "")
        # words per text: pieces per text less its empty ones (never an index per word)
        counts = pieces.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
        empty = np.flatnonzero(~keep.to_numpy(zero_copy_only=False))
        if len(empty):
            parents = np.searchsorted(pieces.offsets.to_numpy(), empty, side="right") - 1
            counts -= np.bincount(parents, minlength=n)
        words = tokens.filter(keep)
        del pieces, tokens, keep
        encoded = pc.dictionary_encode(words)
        del words
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        uniques = np.array(encoded.dictionary.to_pylist(), dtype=object)
        return codes, uniques, counts

    def _words_python(self, texts: list[str]):
        import pandas as pd

        sentinel, big = self._join(texts)
        ascii_filters = self.filters.isascii()
        if not ascii_filters:
            for ch in self.filters:
                big = big.replace(ch, " ")
        data = big.encode("utf-8", "surrogatepass")
        if self.lowercase:
            data = data.lower()
        if ascii_filters and self.filters:
            data = data.translate(_byte_table(self.filters))
        pieces = data.decode("utf-8", "surrogatepass").split(" ")
        codes, uniques = pd.factorize(np.array(pieces, dtype=object))
        lookup = {w: i for i, w in enumerate(uniques)}
        sep, empty = lookup.get(sentinel, -1), lookup.get("", -1)
        is_sep = codes == sep
        text_index = np.cumsum(is_sep)
        keep = ~is_sep & (codes != empty)
        return codes[keep], uniques, np.bincount(text_index[keep], minlength=len(texts))

    def _join(self, texts: list[str]) -> tuple[str, str]:
        """(separator, joined texts): the separator is a character in no text and no filter."""
        for code in (0, 1, 2, 3, 4, 5, 6, 7, 8, 0xE000, 0xE001, 0xFDD0):
            ch = chr(code)
            if ch in self.filters:
                continue
            big = f" {ch} ".join(texts)
            if big.count(ch) == len(texts) - 1:
                return ch, big
        raise KaggleKitError(
            "texts contain every candidate separator character "
            "(\\x00-\\x08, U+E000, U+E001, U+FDD0); remove them"
        )

    def split(self, text: str) -> list[str]:
        """The words of one text (as Keras' ``text_to_word_sequence`` gives them)."""
        codes, uniques, _ = self._words([str(text)])
        return [uniques[c] for c in codes]

    # -- building -----------------------------------------------------------------------
    def fit(self, texts) -> WordTokenizer:
        """Learn the vocabulary from ``texts``: most frequent first, ties by first appearance."""
        codes, uniques, _ = self._words(_as_list(texts))
        self._fit_words(codes, uniques)
        return self

    def _fit_words(self, codes, uniques) -> None:
        counts = np.bincount(codes, minlength=len(uniques))
        order = np.argsort(-counts, kind="stable")
        order = order[counts[order] >= self.min_count]
        words = [uniques[i] for i in order if uniques[i] not in (PAD, UNK)]
        if self.max_words:
            words = words[: self.max_words]
        self._set_vocab([PAD, UNK, *words])

    def fit_encode(self, texts, cache: bool = True) -> Ragged:
        """``fit(texts)`` then ``encode(texts)`` from a single pass over the texts."""
        texts = _as_list(texts)
        codes, uniques, counts = self._words(texts)
        self._fit_words(codes, uniques)
        if cache:
            key = content_hash(_CACHE_VERSION, texts_digest(texts), self.fingerprint())
            arrays, _ = cached_arrays(
                "encodings", key, lambda: self._ragged_arrays(codes, uniques, counts)
            )
            return Ragged(arrays["ids"], arrays["offsets"])
        return Ragged(**self._ragged_arrays(codes, uniques, counts))

    def _set_vocab(self, vocab: list[str]) -> None:
        self._vocab = list(vocab)
        self._index = {w: i for i, w in enumerate(self._vocab)}

    def _check(self) -> tuple[list[str], dict[str, int]]:
        """(words by id, word -> id) of the fitted tokenizer; RuntimeError before fit."""
        if self._vocab is None or self._index is None:  # both set by _set_vocab
            raise RuntimeError("WordTokenizer is not fitted; call fit(texts) first")
        return self._vocab, self._index

    @property
    def vocab_size(self) -> int:
        vocab, _ = self._check()
        return len(vocab)

    def vocabulary(self) -> list[str]:
        """Words by id (``[PAD]``, ``[UNK]``, then the most frequent words)."""
        vocab, _ = self._check()
        return list(vocab)

    def fingerprint(self) -> str:
        self._check()
        return content_hash(_CACHE_VERSION, self.lowercase, self.filters, self._vocab)

    # -- encoding -----------------------------------------------------------------------
    def encode(self, texts, cache: bool = True) -> Ragged:
        """Ids of every text (no padding, no truncation); cached by content hash."""
        texts = _as_list(texts)
        self._check()
        if not cache:
            return self._encode(texts)
        key = content_hash(_CACHE_VERSION, texts_digest(texts), self.fingerprint())
        arrays, _ = cached_arrays("encodings", key, lambda: self._encode_arrays(texts))
        return Ragged(
            arrays["ids"].astype(np.int32, copy=False),
            arrays["offsets"].astype(np.int64, copy=False),
        )

    def _encode_arrays(self, texts) -> dict:
        r = self._encode(texts)
        return {"ids": r.ids, "offsets": r.offsets}

    def _encode(self, texts: list[str]) -> Ragged:
        self._check()
        return Ragged(**self._ragged_arrays(*self._words(texts)))

    def _ragged_arrays(self, codes, uniques, counts) -> dict:
        _, index = self._check()
        get = index.get
        lookup = np.fromiter((get(w, UNK_ID) for w in uniques), dtype=np.int32, count=len(uniques))
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        ids = lookup[codes] if len(codes) else np.zeros(0, np.int32)
        return {"ids": ids, "offsets": offsets}

    # -- the tokenizers equivalent -------------------------------------------------------
    def hf_tokenizer(self):
        """The same tokenizer as a Hugging Face ``tokenizers.Tokenizer`` (WordLevel).

        It gives the same ids except where Python's ``str.lower`` (used by Keras and by
        ``encode``) is context-dependent: a final capital sigma becomes "ς", not "σ".
        """
        from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

        _, index = self._check()
        tok = Tokenizer(models.WordLevel(vocab=dict(index), unk_token=UNK))
        steps: list[normalizers.Normalizer] = [normalizers.Lowercase()] if self.lowercase else []
        if self.filters:
            steps.append(normalizers.Replace(Regex(_char_class(self.filters)), " "))
        if steps:
            tok.normalizer = normalizers.Sequence(steps)
        # Keras splits on " " only (tabs/newlines are in its filters); empty pieces dropped
        tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
        return tok

    def encode_with_tokenizers(self, texts) -> Ragged:
        """``encode`` run text by text by the ``tokenizers`` pipeline (reference, slower)."""
        tok = self.hf_tokenizer()
        seqs = [e.ids for e in tok.encode_batch(_as_list(texts), add_special_tokens=False)]
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in seqs], out=offsets[1:])
        ids = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=int(offsets[-1]))
        return Ragged(ids, offsets)

    # -- persistence --------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {
                "kagglekit": _CACHE_VERSION,
                "lowercase": self.lowercase,
                "filters": self.filters,
                "max_words": self.max_words,
                "min_count": self.min_count,
                "tokenizer": json.loads(self.hf_tokenizer().to_str()),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> WordTokenizer:
        try:
            data = json.loads(text)
            obj = cls(
                lowercase=data["lowercase"],
                filters=data["filters"],
                max_words=data["max_words"],
                min_count=data["min_count"],
            )
            vocab = data["tokenizer"]["model"]["vocab"]
            words = sorted(vocab, key=vocab.__getitem__)
            if [vocab[w] for w in words] != list(range(len(words))):
                raise ValueError("vocabulary ids are not 0..n-1")
            obj._set_vocab(words)
        except (ValueError, KeyError, TypeError) as exc:
            raise KaggleKitError(
                f"damaged tokenizer file ({type(exc).__name__}: {exc}); re-run the training"
            ) from None
        return obj


def _as_list(texts) -> list[str]:
    texts = texts.tolist() if isinstance(texts, np.ndarray) else list(texts)
    try:
        "".join(texts)  # fast check that every item is a str
    except TypeError:
        texts = [t if isinstance(t, str) else str(t) for t in texts]
    return texts


def _byte_table(chars: str) -> bytes:
    table = bytearray(range(256))
    for ch in chars:
        table[ord(ch)] = ord(" ")
    return bytes(table)
