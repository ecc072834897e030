"""Tiny random-weight DeBERTa-v3, Gemma and BERT presets for the fine-tuning tests, built
offline: a SentencePiece model trained on the fly (as KerasHub's own tests do) and a
KerasHub backbone of a few layers, hidden size 16, saved as a preset directory."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from support.hub import texts_and_labels


def train_spm(
    user_symbols, *, pad="[PAD]", unk="[UNK]", bos="[CLS]", eos="[SEP]", vocab_size: int = 64
) -> bytes:
    import sentencepiece

    texts, _ = texts_and_labels(400, seed=7)
    out = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)),
        model_writer=out,
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        pad_piece=pad,
        unk_piece=unk,
        bos_piece=bos,
        eos_piece=eos,
        user_defined_symbols=list(user_symbols),
        minloglevel=2,
    )
    return out.getvalue()


def deberta_preset(directory: Path, seed: int = 0, layers: int = 2, dropout: float = 0.1) -> Path:
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    proto = train_spm(["[MASK]"])
    tokenizer = keras_hub.models.DebertaV3Tokenizer(proto=proto)
    backbone = keras_hub.models.DebertaV3Backbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=layers,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=64,
        bucket_size=8,
        dropout=dropout,
    )
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
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=layers,
        num_query_heads=2,
        num_key_value_heads=1,
        hidden_dim=16,
        intermediate_dim=32,
        head_dim=8,
    )
    backbone.save_to_preset(str(directory))
    tokenizer.save_to_preset(str(directory))
    return Path(directory)


UNICODE_TEXTS = [
    "naïve café über straße",
    "東京で地震 🔥🔥",
    "emoji 🙂 and tabs\tand\nnewlines",
    "  leading and trailing spaces  ",
    "I'm sure they'll say it's 12345 km",
]


def train_bpe(special_tokens, vocab_size: int = 320) -> tuple[dict, list]:
    """(vocabulary, merges) of a byte-level BPE trained on the test texts, special tokens first,
    in the form KerasHub's BytePairTokenizer takes (merges as "a b" strings)."""
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    texts, _ = texts_and_labels(400, seed=7)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) + UNICODE_TEXTS, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def qwen3_preset(directory: Path, seed: int = 0, layers: int = 2) -> Path:
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    vocab, merges = train_bpe(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer = keras_hub.models.Qwen3Tokenizer(vocabulary=vocab, merges=merges)
    backbone = keras_hub.models.Qwen3Backbone(
        vocabulary_size=len(vocab),
        num_layers=layers,
        num_query_heads=2,
        num_key_value_heads=1,
        head_dim=8,
        hidden_dim=16,
        intermediate_dim=32,
    )
    backbone.save_to_preset(str(directory))
    tokenizer.save_to_preset(str(directory))
    return Path(directory)


def llama3_preset(directory: Path, seed: int = 0, layers: int = 2) -> Path:
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    vocab, merges = train_bpe(
        [
            "<|begin_of_text|>",
            "<|end_of_text|>",
            "<|start_header_id|>",
            "<|end_header_id|>",
            "<|eot_id|>",
        ]
    )
    tokenizer = keras_hub.models.Llama3Tokenizer(vocabulary=vocab, merges=merges)
    backbone = keras_hub.models.Llama3Backbone(
        vocabulary_size=len(vocab),
        num_layers=layers,
        num_query_heads=2,
        num_key_value_heads=1,
        hidden_dim=16,
        intermediate_dim=32,
    )
    backbone.save_to_preset(str(directory))
    tokenizer.save_to_preset(str(directory))
    return Path(directory)


def predict_in_new_process(cls_path: str, directory: Path, texts, tmp_path: Path) -> np.ndarray:
    module, name = cls_path.rsplit(".", 1)
    (tmp_path / "texts.json").write_text(json.dumps([str(t) for t in texts]))
    code = (
        f"import json, numpy as np\nfrom {module} import {name}\n"
        f"m = {name}.load({str(directory)!r})\n"
        f"texts = json.loads(open({str(tmp_path / 'texts.json')!r}).read())\n"
        f"np.save({str(tmp_path / 'pred.npy')!r}, m.predict(texts))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(tmp_path / "pred.npy")
