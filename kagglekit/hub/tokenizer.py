"""Subword tokenization with the ``tokenizers`` library, cached by content hash.

Where the tokenizer comes from, in order:

1. ``tokenizer.json`` in Hugging Face format (has a ``model`` entry): ``Tokenizer.from_file``;
2. a KerasHub preset's WordPiece vocabulary (``assets/tokenizer/vocabulary.txt``, lowercasing
   from its Keras ``tokenizer.json``);
   or byte-level BPE (``vocabulary.json`` + ``merges.txt``: Qwen3, Llama 3, GPT-2), rebuilt as
   the ``tokenizers.Tokenizer`` KerasHub's own ``BytePairTokenizer`` builds from them;
3. a ``vocab.txt`` (BERT-style WordPiece; ``do_lower_case`` from ``tokenizer_config.json``);
4. otherwise (a sentencepiece model, ...): ``transformers.AutoTokenizer`` (optional dependency),
   whose fast tokenizer is a ``tokenizers.Tokenizer`` too, so one code path follows.

``encode`` returns a ``kagglekit.keras.ragged.Ragged`` (ids + segment ids) for a batch of
texts, with the checkpoint's special tokens ([CLS] ... [SEP]) and truncation to
``max_length``; padding is left to the batcher (dynamic padding). Results are cached under
``kagglekit.cache``.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import numpy as np

from kagglekit.cache import cached_arrays, content_hash
from kagglekit.hub.presets import PresetError
from kagglekit.keras.ragged import Ragged

TOKENIZER_FILE = "tokenizer.json"
_PAD_TOKENS = ("[PAD]", "<pad>", "<PAD>", "<|padding|>", "<|endoftext|>")
# KerasHub's BytePairTokenizer pre-split (keras_hub/src/tokenizers/byte_pair_tokenizer.py,
# SPLIT_PATTERN_TOKENIZERS, from Llama 3's tokenizer), then byte-level without its own regex.
# KerasHub 0.29 hands it to Split as a plain str (matched literally, so no pre-split); here
# it is a Regex, as in the checkpoints' own tokenizer.json. The ids agree on every text of
# tests/hub/test_hub_bpe.py; they could differ only where a merge spans a pre-split boundary.
BPE_SPLIT = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
# the start token KerasHub's causal-LM preprocessors put before a text, per tokenizer class
BPE_START = {"Llama3Tokenizer": "<|begin_of_text|>", "GPT2Tokenizer": "<|endoftext|>"}
TRUNCATIONS = ("head", "tail", "head+tail")
# texts per encode_batch call: bounds the tokenizers' per-text objects, not the result
ENCODE_CHUNK = 8192


class SubwordTokenizer:
    """A ``tokenizers.Tokenizer`` with the checkpoint's special tokens; see the module doc."""

    def __init__(self, backend, source: str = ""):
        self.backend = backend
        self.source = source
        padding = backend.padding or {}
        self._pad_id = padding.get("pad_id")
        self.backend.no_padding()
        self.backend.no_truncation()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_directory(cls, path) -> SubwordTokenizer:
        path = Path(path)
        hf_file = path / TOKENIZER_FILE
        keras_config = None
        if hf_file.is_file():
            data = _read_json(hf_file)
            if isinstance(data, dict) and "model" in data:
                from tokenizers import Tokenizer

                return cls(Tokenizer.from_file(str(hf_file)), f"{hf_file}")
            if isinstance(data, dict) and "registered_name" in data:
                keras_config = data.get("config", {})
        keras_vocab = path / "assets" / "tokenizer" / "vocabulary.txt"
        if keras_config is not None and keras_vocab.is_file():
            return cls(
                _wordpiece(
                    keras_vocab,
                    bool(keras_config.get("lowercase", False)),
                    bool(keras_config.get("strip_accents", False)),
                ),
                str(keras_vocab),
            )
        keras_spm = path / "assets" / "tokenizer" / "vocabulary.spm"
        if keras_config is not None and keras_spm.is_file():
            from kagglekit.hub.sentencepiece import SentencePieceBackend

            name = str(data.get("registered_name", ""))
            try:
                backend = SentencePieceBackend.for_keras_preset(keras_spm, name)
            except (RuntimeError, ValueError, OSError) as exc:
                raise PresetError(
                    f"{keras_spm}: not a readable SentencePiece model "
                    f"({str(exc).splitlines()[0][:200]}); re-download the preset "
                    f"or use the checkpoint's Hugging Face directory"
                ) from None
            return cls(backend, str(keras_spm))
        keras_bpe = path / "assets" / "tokenizer" / "vocabulary.json"
        if keras_config is not None and keras_bpe.is_file():
            return cls(
                _byte_level_bpe(
                    keras_bpe,
                    keras_bpe.with_name("merges.txt"),
                    keras_config,
                    str(data.get("registered_name", "")),
                ),
                str(keras_bpe),
            )
        if keras_config is not None:
            raise PresetError(
                f"{path}: the KerasHub tokenizer is neither a WordPiece vocabulary "
                f"(assets/tokenizer/vocabulary.txt), a SentencePiece model "
                f"(vocabulary.spm) nor a byte-level BPE (vocabulary.json + "
                f"merges.txt); use the checkpoint's Hugging Face directory "
                f"(with tokenizer.json) instead"
            )
        vocab = path / "vocab.txt"
        if vocab.is_file():
            config = (
                _read_json(path / "tokenizer_config.json")
                if (path / "tokenizer_config.json").is_file()
                else {}
            )
            lower = config.get("do_lower_case", True)
            strip = config.get("strip_accents")
            return cls(
                _wordpiece(vocab, bool(lower), lower if strip is None else bool(strip)), str(vocab)
            )
        return cls(_auto_tokenizer(path), f"{path} (transformers.AutoTokenizer)")

    # -- encoding -------------------------------------------------------------------------------
    @cached_property
    def fingerprint(self) -> str:
        return content_hash("subword-tokenizer", self.backend.to_str())

    @cached_property
    def pad_id(self) -> int:
        if self._pad_id is not None:
            return int(self._pad_id)
        for token in _PAD_TOKENS:
            idx = self.backend.token_to_id(token)
            if idx is not None:
                return int(idx)
        return 0

    @property
    def vocab_size(self) -> int:
        return int(self.backend.get_vocab_size(with_added_tokens=True))

    def encode(
        self, texts, max_length: int, *, cache: bool = True, truncation: str = "head"
    ) -> Ragged:
        """Token ids (special tokens added) for every text, cut to ``max_length`` by keeping
        the text's first tokens (``head``), its last (``tail``) or a quarter from the start
        and the rest from the end (``head+tail``, Sun et al. 2019); special tokens stay."""
        texts = [str(t) for t in texts]
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2, got {max_length}")
        if truncation not in TRUNCATIONS:
            raise ValueError(
                f"truncation must be one of {', '.join(TRUNCATIONS)}, got {truncation!r}"
            )

        def compute() -> dict:
            if truncation == "head":
                self.backend.enable_truncation(max_length)
            try:  # a chunk at a time: never an Encoding (or a list of ids) for every text
                parts = [
                    self._encode_chunk(texts[i : i + ENCODE_CHUNK], max_length, truncation)
                    for i in range(0, len(texts), ENCODE_CHUNK)
                ]
            finally:
                self.backend.no_truncation()
            if not parts:
                return {k: np.zeros(0, np.int32) for k in ("ids", "type_ids", "lengths")}
            return {
                k: np.concatenate([part[k] for part in parts])
                for k in ("ids", "type_ids", "lengths")
            }

        if cache:
            key = content_hash(
                self.fingerprint, int(max_length), truncation, np.asarray(texts, dtype=object)
            )
            arrays, _ = cached_arrays("tokens", key, compute)
        else:
            arrays = compute()
        return Ragged.from_lengths(
            arrays["ids"], arrays["lengths"], arrays["type_ids"], self.pad_id
        )

    def _encode_chunk(self, texts, max_length: int, truncation: str) -> dict:
        """Flat int32 ids, type ids and lengths of a few texts (``encode``'s unit of work)."""
        rows = [
            (e.ids, e.type_ids) if len(e.ids) <= max_length else _cut(e, max_length, truncation)
            for e in self.backend.encode_batch(texts)
        ]
        lengths = np.fromiter((len(r[0]) for r in rows), dtype=np.int32, count=len(rows))
        total = int(lengths.sum())
        ids = np.fromiter((i for r in rows for i in r[0]), dtype=np.int32, count=total)
        type_ids = np.fromiter((i for r in rows for i in r[1]), dtype=np.int32, count=total)
        return {"ids": ids, "type_ids": type_ids, "lengths": lengths}

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory) -> None:
        """Write ``tokenizer.json`` (Hugging Face format): loading it needs only ``tokenizers``."""
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / TOKENIZER_FILE).write_text(self.backend.to_str(), encoding="utf-8")

    @classmethod
    def load(cls, directory) -> SubwordTokenizer:
        from kagglekit.hub.sentencepiece import SentencePieceBackend, is_sentencepiece_json

        path = Path(directory) / TOKENIZER_FILE
        text = path.read_text(encoding="utf-8")
        if is_sentencepiece_json(json.loads(text)):
            return cls(SentencePieceBackend.from_str(text), str(directory))
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(text), str(directory))


def _cut(encoding, max_length: int, truncation: str):
    """(ids, type_ids) of one encoding cut to ``max_length``, its leading and trailing special
    tokens kept."""
    ids, types, special = (
        list(encoding.ids),
        list(encoding.type_ids),
        list(encoding.special_tokens_mask),
    )
    lead = next((i for i, s in enumerate(special) if not s), len(ids))
    trail = next((i for i, s in enumerate(reversed(special)) if not s), 0)
    if lead + trail >= max_length or lead == len(ids):
        return ids[:max_length], types[:max_length]
    room = max_length - lead - trail
    body = range(lead, len(ids) - trail)
    if truncation == "tail":
        keep = list(body[len(body) - room :])
    else:  # head+tail
        head = room // 4
        keep = list(body[:head]) + list(body[len(body) - (room - head) :])
    index = list(range(lead)) + keep + list(range(len(ids) - trail, len(ids)))
    return [ids[i] for i in index], [types[i] for i in index]


def _read_json(path: Path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: not valid JSON ({exc})") from None


def _wordpiece(vocab: Path, lowercase: bool, strip_accents: bool):
    """A BERT WordPiece ``tokenizers.Tokenizer`` from a vocabulary file ([CLS] text [SEP])."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    words = [w.rstrip("\n") for w in Path(vocab).read_text(encoding="utf-8").splitlines()]
    vocab_map = {w: i for i, w in enumerate(words) if w not in ("",)}
    unk = "[UNK]" if "[UNK]" in vocab_map else words[0]
    tok = Tokenizer(WordPiece(vocab_map, unk_token=unk, max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    cls_tok, sep_tok = "[CLS]", "[SEP]"
    if cls_tok in vocab_map and sep_tok in vocab_map:
        tok.post_processor = processors.BertProcessing(
            (sep_tok, vocab_map[sep_tok]), (cls_tok, vocab_map[cls_tok])
        )
    specials = [t for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]") if t in vocab_map]
    tok.add_special_tokens(specials)
    return tok


def _byte_level_bpe(vocab_file: Path, merges_file: Path, config: dict, registered_name: str):
    """KerasHub's byte-level BPE (Qwen3, Llama 3, GPT-2 presets) as the ``tokenizers.Tokenizer``
    its ``BytePairTokenizer`` builds from the same files (same ids), plus the start token its
    causal-LM preprocessor adds (Llama 3's ``<|begin_of_text|>``; none for Qwen3)."""
    from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import BPE

    vocab = _read_json(vocab_file)
    if not isinstance(vocab, dict):
        raise PresetError(f"{vocab_file}: expected a JSON object of token -> id")
    try:
        lines = merges_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(
            f"{merges_file}: unreadable ({exc}); a byte-level BPE preset needs "
            f"vocabulary.json and merges.txt side by side"
        ) from None
    merges = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip()
        if not line or "#version:" in line.lstrip():
            continue
        pair = line.split(" ")
        if len(pair) != 2 or pair[0] not in vocab or pair[1] not in vocab:
            raise PresetError(
                f"{merges_file}: line {number} ({line[:60]!r}) is not a merge of "
                f"two tokens of {vocab_file.name}; re-download the preset"
            )
        merges.append((pair[0], pair[1]))
    tok = Tokenizer(BPE(vocab=vocab, merges=merges))
    specials = [t for t in config.get("unsplittable_tokens") or () if t in vocab]
    if specials:
        tok.add_special_tokens(specials)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(pattern=Regex(BPE_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(
                add_prefix_space=bool(config.get("add_prefix_space", False)), use_regex=False
            ),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    start = BPE_START.get(registered_name.rsplit(">", 1)[-1])
    if start is not None and start in vocab:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{start} $A", pair=f"{start} $A $B", special_tokens=[(start, vocab[start])]
        )
    return tok


def _auto_tokenizer(path: Path):
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ImportError(
            f"{path} has no tokenizer.json or vocab.txt; reading its tokenizer (e.g. a "
            f"sentencepiece model) needs transformers: pip install transformers sentencepiece"
        ) from None
    try:
        tok = AutoTokenizer.from_pretrained(str(path), use_fast=True, local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure reads the same to a user
        raise PresetError(
            f"{path}: no tokenizer found (no tokenizer.json, vocab.txt, or files "
            f"transformers.AutoTokenizer can read: {exc})"
        ) from None
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is None:
        raise PresetError(
            f"{path}: transformers found only a slow tokenizer; save a tokenizer.json "
            f"with AutoTokenizer.from_pretrained(...).save_pretrained(dir)"
        )
    return backend
