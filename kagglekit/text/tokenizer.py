"""Word-level tokenization with the Rust ``tokenizers`` library, comparable to Keras' classic
``Tokenizer`` (same filters, lowercasing and split on spaces) but batched and fast.

- The vocabulary is learned from the texts given to ``fit`` (a fold's training texts):
  most frequent first, ``max_words`` kept, ids 0 = ``[PAD]`` and 1 = ``[UNK]``.
  Unlike Keras' Tokenizer (which drops unknown words unless ``oov_token`` is set) unknown
  words map to ``[UNK]``; among words of equal count, ids are ordered alphabetically
  rather than by first appearance, so the kept set can differ only at a tie on the cutoff.
- ``encode`` returns a ``Ragged`` batch (flat ids + offsets): nothing is padded until a
  batch is made (see ``bucketing``). Encodings are cached by a hash of the texts and of the
  tokenizer (``kagglekit.cache``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass

import numpy as np

from kagglekit.cache import cached_arrays, content_hash
from kagglekit.errors import KaggleKitError

#: keras.preprocessing.text.Tokenizer's default ``filters``: replaced by spaces.
KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
PAD, UNK = "[PAD]", "[UNK]"
PAD_ID, UNK_ID = 0, 1
_CACHE_VERSION = "wordlevel-v1"


@dataclass
class Ragged:
    """Variable-length id sequences: row i is ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray  # int32, flat
    offsets: np.ndarray  # int64, n_rows + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]:self.offsets[i + 1]]

    def take(self, index) -> "Ragged":
        index = np.asarray(index, dtype=np.int64)
        lengths = self.lengths[index]
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if len(index) == 0:
            return Ragged(np.zeros(0, np.int32), offsets)
        starts = self.offsets[index]
        positions = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Ragged(self.ids[positions], offsets)

    def truncate(self, maxlen: int, side: str = "post") -> "Ragged":
        """Keep at most ``maxlen`` ids per row: the first ones (``post``) or the last (``pre``)."""
        if side not in ("pre", "post"):
            raise ValueError(f"truncating must be 'pre' or 'post', got {side!r}")
        lengths = self.lengths
        if maxlen <= 0:
            raise ValueError(f"maxlen must be >= 1, got {maxlen}")
        if len(lengths) == 0 or lengths.max() <= maxlen:
            return self
        kept = np.minimum(lengths, maxlen)
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(kept, out=offsets[1:])
        start = self.offsets[:-1] + (lengths - kept if side == "pre" else 0)
        positions = np.repeat(start - offsets[:-1], kept) + np.arange(offsets[-1])
        return Ragged(self.ids[positions], offsets)

    def pad(self, index=None, length: int | None = None, padding: str = "post") -> np.ndarray:
        """Rows ``index`` as an int32 matrix padded with 0 to ``length`` (default: longest)."""
        index = np.arange(len(self)) if index is None else np.asarray(index, dtype=np.int64)
        lengths = self.lengths[index]
        width = int(lengths.max(initial=0)) if length is None else int(length)
        out = np.zeros((len(index), width), dtype=np.int32)
        if width == 0 or len(index) == 0:
            return out
        kept = np.minimum(lengths, width)
        rows = np.repeat(np.arange(len(index)), kept)
        within = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)
        src = np.repeat(self.offsets[index], kept) + within
        cols = within if padding == "post" else within + np.repeat(width - kept, kept)
        out[rows, cols] = self.ids[src]
        return out

    def token_counts(self, vocab_size: int) -> np.ndarray:
        return np.bincount(self.ids, minlength=vocab_size).astype(np.int64)


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
    texts = [str(t) for t in texts]
    h = hashlib.sha256()
    h.update("\x00".join(texts).encode("utf-8", "surrogatepass"))
    h.update(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)).tobytes())
    return h.hexdigest()[:24]


def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in sorted(set(chars))) + "]"


class WordTokenizer:
    """Keras-Tokenizer-like word splitting, trained and applied by ``tokenizers`` (Rust)."""

    def __init__(self, lowercase: bool = True, filters: str = KERAS_FILTERS,
                 max_words: int | None = None, min_count: int = 1):
        if max_words is not None and max_words < 1:
            raise ValueError(f"max_words must be >= 1 or None, got {max_words}")
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        self.lowercase = lowercase
        self.filters = filters
        self.max_words = max_words
        self.min_count = min_count
        self._tok = None

    # -- building ---------------------------------------------------------------------
    def _empty(self):
        from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers

        tok = Tokenizer(models.WordLevel(vocab={PAD: PAD_ID, UNK: UNK_ID}, unk_token=UNK))
        steps = [normalizers.Lowercase()] if self.lowercase else []
        if self.filters:
            steps.append(normalizers.Replace(Regex(_char_class(self.filters)), " "))
        if steps:
            tok.normalizer = normalizers.Sequence(steps)
        # Keras splits on " " only (tabs/newlines are in its filters); empty pieces dropped
        tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
        return tok

    def fit(self, texts) -> "WordTokenizer":
        """Learn the vocabulary from ``texts`` (most frequent words first)."""
        from tokenizers import trainers

        tok = self._empty()
        size = (self.max_words + 2) if self.max_words else 1 << 31
        trainer = trainers.WordLevelTrainer(vocab_size=size, min_frequency=self.min_count,
                                            special_tokens=[PAD, UNK], show_progress=False)
        tok.train_from_iterator(_as_list(texts), trainer=trainer, length=len(texts))
        self._tok = tok
        return self

    @property
    def tokenizer(self):
        if self._tok is None:
            raise RuntimeError("WordTokenizer is not fitted; call fit(texts) first")
        return self._tok

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def vocabulary(self) -> list[str]:
        """Words by id (``[PAD]``, ``[UNK]``, then the most frequent words)."""
        vocab = self.tokenizer.get_vocab()
        out = [""] * len(vocab)
        for word, i in vocab.items():
            out[i] = word
        return out

    def split(self, text: str) -> list[str]:
        """The words of one text (normalized and split, before the vocabulary lookup)."""
        tok = self.tokenizer
        norm = tok.normalizer.normalize_str(text) if tok.normalizer is not None else text
        return [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(norm)]

    def fingerprint(self) -> str:
        return content_hash(_CACHE_VERSION, self.to_json())

    # -- encoding ---------------------------------------------------------------------
    def encode(self, texts, cache: bool = True) -> Ragged:
        """Ids of every text (no padding, no truncation); cached by content hash."""
        texts = _as_list(texts)
        if not cache:
            return self._encode(texts)
        key = content_hash(_CACHE_VERSION, texts_digest(texts), self.fingerprint())
        arrays, _ = cached_arrays("encodings", key, lambda: self._encode_arrays(texts))
        return Ragged(arrays["ids"].astype(np.int32, copy=False),
                      arrays["offsets"].astype(np.int64, copy=False))

    def _encode_arrays(self, texts) -> dict:
        r = self._encode(texts)
        return {"ids": r.ids, "offsets": r.offsets}

    def _encode(self, texts) -> Ragged:
        tok = self.tokenizer
        encode = getattr(tok, "encode_batch_fast", tok.encode_batch)
        seqs = [e.ids for e in encode(texts, add_special_tokens=False)]
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int32,
                          count=int(offsets[-1]))
        return Ragged(ids, offsets)

    # -- persistence ------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"kagglekit": _CACHE_VERSION, "lowercase": self.lowercase,
                           "filters": self.filters, "max_words": self.max_words,
                           "min_count": self.min_count,
                           "tokenizer": json.loads(self.tokenizer.to_str())}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "WordTokenizer":
        from tokenizers import Tokenizer

        try:
            data = json.loads(text)
            obj = cls(lowercase=data["lowercase"], filters=data["filters"],
                      max_words=data["max_words"], min_count=data["min_count"])
            obj._tok = Tokenizer.from_str(json.dumps(data["tokenizer"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise KaggleKitError(f"damaged tokenizer file ({type(exc).__name__}: {exc}); "
                                 f"re-run the training") from None
        return obj


def _as_list(texts) -> list[str]:
    return [t if isinstance(t, str) else str(t) for t in texts]
