"""A SentencePiece model (DeBERTa-v3, Gemma, Llama 2, ...) behind the small part of the
``tokenizers.Tokenizer`` interface that ``kagglekit.hub.tokenizer.SubwordTokenizer`` uses,
so token caching, truncation and length bucketing work the same for every checkpoint.

The whole tokenizer (the ``.spm`` model as base64 + the special tokens around a text) is one
JSON document: ``to_str`` / ``from_str``; a saved fold keeps it in ``tokenizer.json``. JSON
and a protobuf model only: nothing read back can execute code.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

KIND = "kagglekit-sentencepiece"


@dataclass
class Encoding:
    ids: list
    type_ids: list
    special_tokens_mask: list


def _require():
    try:
        import sentencepiece
    except ImportError:
        raise ImportError(
            "this checkpoint's tokenizer is a SentencePiece model: pip install sentencepiece"
        ) from None
    return sentencepiece


class SentencePieceBackend:
    """``encode_batch`` -> encodings with ids, type_ids and special_tokens_mask; ``prefix``
    and ``suffix`` are the special tokens put around every text (e.g. [CLS] ... [SEP])."""

    padding = None

    def __init__(self, proto: bytes, prefix=(), suffix=()):
        self.proto = bytes(proto)
        self.processor = _require().SentencePieceProcessor(model_proto=self.proto)
        self.prefix, self.suffix = list(prefix), list(suffix)
        self._prefix_ids = [self._special(t) for t in self.prefix]
        self._suffix_ids = [self._special(t) for t in self.suffix]
        self._limit: int | None = None

    def _special(self, token: str) -> int:
        idx = self.token_to_id(token)
        if idx is None:
            raise ValueError(f"the SentencePiece model has no token {token!r}")
        return idx

    @classmethod
    def from_file(cls, path, prefix=(), suffix=()) -> SentencePieceBackend:
        return cls(Path(path).read_bytes(), prefix, suffix)

    @classmethod
    def for_keras_preset(cls, path: Path, registered_name: str) -> SentencePieceBackend:
        """The tokenizer of a KerasHub preset (``assets/tokenizer/vocabulary.spm``), with the
        special tokens its classifier preprocessor puts around a text."""
        backend = cls.from_file(path)
        has = backend.token_to_id
        if "DebertaV3" in registered_name or (
            has("[CLS]") is not None and has("[SEP]") is not None
        ):
            return cls(backend.proto, ["[CLS]"], ["[SEP]"])
        for bos in ("<bos>", "<s>"):
            if has(bos) is not None:
                return cls(backend.proto, [bos], [])
        return backend

    # -- the tokenizers.Tokenizer subset -----------------------------------------------------
    def token_to_id(self, token: str):
        idx = int(self.processor.piece_to_id(token))
        if idx == self.processor.unk_id() and token != self.processor.id_to_piece(idx):
            return None
        return idx

    def get_vocab_size(self, with_added_tokens: bool = True) -> int:
        return int(self.processor.get_piece_size())

    def no_padding(self):
        pass

    def no_truncation(self):
        self._limit = None

    def enable_truncation(self, max_length: int):
        self._limit = int(max_length)

    def encode_batch(self, texts) -> list[Encoding]:
        pieces = self.processor.encode(list(texts), out_type=int)
        room = (
            None
            if self._limit is None
            else max(0, self._limit - len(self._prefix_ids) - len(self._suffix_ids))
        )
        out = []
        for ids in pieces:
            ids = ids[:room] if room is not None else ids
            full = self._prefix_ids + list(ids) + self._suffix_ids
            mask = [1] * len(self._prefix_ids) + [0] * len(ids) + [1] * len(self._suffix_ids)
            out.append(Encoding(full, [0] * len(full), mask))
        return out

    def to_str(self) -> str:
        return json.dumps(
            {
                "type": KIND,
                "prefix": self.prefix,
                "suffix": self.suffix,
                "model": base64.b64encode(self.proto).decode("ascii"),
            }
        )

    @classmethod
    def from_str(cls, text: str) -> SentencePieceBackend:
        data = json.loads(text)
        return cls(base64.b64decode(data["model"]), data.get("prefix", ()), data.get("suffix", ()))


def is_sentencepiece_json(data) -> bool:
    return isinstance(data, dict) and data.get("type") == KIND
