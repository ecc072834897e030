"""Tiny random-weight DeBERTa-v3, Gemma and BERT presets for the fine-tuning tests, built
offline: a SentencePiece model trained on the fly (as KerasHub's own tests do) and a
KerasHub backbone of a few layers, hidden size 16, saved as a preset directory."""

from __future__ import annotations

import io
from pathlib import Path

from helpers_hub import texts_and_labels


def train_spm(user_symbols, *, pad="[PAD]", unk="[UNK]", bos="[CLS]", eos="[SEP]",
              vocab_size: int = 64) -> bytes:
    import sentencepiece

    texts, _ = texts_and_labels(400, seed=7)
    out = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)), model_writer=out, vocab_size=vocab_size,
        model_type="unigram", pad_id=0, unk_id=1, bos_id=2, eos_id=3, pad_piece=pad,
        unk_piece=unk, bos_piece=bos, eos_piece=eos, user_defined_symbols=list(user_symbols),
        minloglevel=2)
    return out.getvalue()


def deberta_preset(directory: Path, seed: int = 0, layers: int = 2,
                   dropout: float = 0.1) -> Path:
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    proto = train_spm(["[MASK]"])
    tokenizer = keras_hub.models.DebertaV3Tokenizer(proto=proto)
    backbone = keras_hub.models.DebertaV3Backbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=layers, num_heads=2,
        hidden_dim=16, intermediate_dim=32, max_sequence_length=64, bucket_size=8,
        dropout=dropout)
    backbone.save_to_preset(str(directory))
    tokenizer.save_to_preset(str(directory))
    return Path(directory)


def gemma_preset(directory: Path, seed: int = 0, layers: int = 2) -> Path:
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    proto = train_spm(["<start_of_turn>"], pad="<pad>", unk="<unk>", bos="<bos>", eos="<eos>")
    tokenizer = keras_hub.models.GemmaTokenizer(proto=proto)
    backbone = keras_hub.models.GemmaBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=layers, num_query_heads=2,
        num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8)
    backbone.save_to_preset(str(directory))
    tokenizer.save_to_preset(str(directory))
    return Path(directory)
