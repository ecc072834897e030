"""Tiny checkpoints for the transformer / sentence-encoder tests, built offline.

- ``keras_preset``: a random 1-layer BertBackbone + WordPiece BertTokenizer saved as a
  KerasHub preset directory (config.json, metadata.json, model.weights.h5, tokenizer.json,
  assets/tokenizer/vocabulary.txt), the layout Kaggle mounts under /kaggle/input;
- ``hf_dir``: the same kind of model in Hugging Face layout as BertModel saves it
  (config.json with model_type, model.safetensors with ``embeddings.LayerNorm.weight``-style
  names, tokenizer.json from the tokenizers library, tokenizer_config.json), optionally with
  sentence-transformers files (modules.json, 1_Pooling/config.json);
- ``use_savedmodel``: a USE-like TF SavedModel (strings in, one vector per string out);
- ``bert_reference``: a NumPy forward pass of BERT from the safetensors weights, to check
  that the weights were ported to the right places.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kagglekit.samples import COMMON

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
POSITIVE = ("fire", "flood", "storm", "crash", "killed", "evacuation", "earthquake", "disaster")
NEGATIVE = ("love", "music", "happy", "party", "movie", "song", "coffee", "summer")
VOCAB = SPECIALS + sorted(set(POSITIVE + NEGATIVE + tuple(COMMON[:20]))) + ["##s", "##ing", "!"]

HIDDEN, LAYERS, HEADS, INTERMEDIATE, MAX_LEN = 8, 1, 2, 16, 64


def texts_and_labels(n: int = 120, seed: int = 0):
    """Short learnable texts: positives lean on POSITIVE words, negatives on NEGATIVE."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        lean = POSITIVE if label else NEGATIVE
        words = [
            lean[int(rng.integers(len(lean)))]
            if rng.random() < 0.5
            else COMMON[int(rng.integers(20))]
            for _ in range(int(rng.integers(3, 14)))
        ]
        texts.append(" ".join(words))
        labels.append(label)
    return np.asarray(texts, dtype=object), np.asarray(labels)


def keras_preset(directory: Path, seed: int = 0, dropout: float = 0.1) -> Path:
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    directory = Path(directory)
    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=len(VOCAB),
        num_layers=LAYERS,
        num_heads=HEADS,
        hidden_dim=HIDDEN,
        intermediate_dim=INTERMEDIATE,
        max_sequence_length=MAX_LEN,
        dropout=dropout,
    )
    backbone.save_to_preset(str(directory))
    keras_hub.models.BertTokenizer(vocabulary=VOCAB, lowercase=True).save_to_preset(str(directory))
    return directory


def hf_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights under BertModel's safetensors names (no ``bert.`` prefix, LayerNorm
    ``weight``/``bias``), plus the unused ``embeddings.position_ids`` buffer real files carry."""
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(len(VOCAB), HIDDEN),
        "embeddings.position_embeddings.weight": r(MAX_LEN, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + r(HIDDEN, scale=0.1),
        "embeddings.LayerNorm.bias": r(HIDDEN, scale=0.1),
        "embeddings.position_ids": np.arange(MAX_LEN, dtype=np.int64)[None, :],
        "pooler.dense.weight": r(HIDDEN, HIDDEN),
        "pooler.dense.bias": r(HIDDEN, scale=0.1),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[p + f"attention.self.{name}.weight"] = r(HIDDEN, HIDDEN)  # (out, in) like torch
            w[p + f"attention.self.{name}.bias"] = r(HIDDEN, scale=0.1)
        w[p + "attention.output.dense.weight"] = r(HIDDEN, HIDDEN)
        w[p + "attention.output.dense.bias"] = r(HIDDEN, scale=0.1)
        w[p + "attention.output.LayerNorm.weight"] = 1 + r(HIDDEN, scale=0.1)
        w[p + "attention.output.LayerNorm.bias"] = r(HIDDEN, scale=0.1)
        w[p + "intermediate.dense.weight"] = r(INTERMEDIATE, HIDDEN)
        w[p + "intermediate.dense.bias"] = r(INTERMEDIATE, scale=0.1)
        w[p + "output.dense.weight"] = r(HIDDEN, INTERMEDIATE)
        w[p + "output.dense.bias"] = r(HIDDEN, scale=0.1)
        w[p + "output.LayerNorm.weight"] = 1 + r(HIDDEN, scale=0.1)
        w[p + "output.LayerNorm.bias"] = r(HIDDEN, scale=0.1)
    return w


def hf_tokenizer():
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {t: i for i, t in enumerate(VOCAB)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return tok


def hf_dir(
    directory: Path,
    seed: int = 0,
    *,
    sentence_transformers: bool = False,
    pooling: str = "mean",
    normalize: bool = True,
    tokenizer_json: bool = True,
) -> Path:
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": len(VOCAB),
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INTERMEDIATE,
        "max_position_embeddings": MAX_LEN,
        "type_vocab_size": 2,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
    }
    (directory / "config.json").write_text(json.dumps(config))
    save_file(hf_weights(seed), str(directory / "model.safetensors"))
    (directory / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}))
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    if tokenizer_json:
        hf_tokenizer().save(str(directory / "tokenizer.json"))
    if sentence_transformers:
        modules = [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
        ]
        if normalize:
            modules.append(
                {
                    "idx": 2,
                    "name": "2",
                    "path": "2_Normalize",
                    "type": "sentence_transformers.models.Normalize",
                }
            )
        (directory / "modules.json").write_text(json.dumps(modules))
        (directory / "1_Pooling").mkdir(exist_ok=True)
        (directory / "1_Pooling" / "config.json").write_text(
            json.dumps(
                {
                    "word_embedding_dimension": HIDDEN,
                    "pooling_mode_cls_token": pooling == "cls",
                    "pooling_mode_mean_tokens": pooling == "mean",
                    "pooling_mode_max_tokens": pooling == "max",
                    "pooling_mode_mean_sqrt_len_tokens": False,
                }
            )
        )
        (directory / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 32}))
    return directory


def _layer_norm(x, g, b, eps=1e-12):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def bert_reference(weights: dict, token_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """BERT's sequence output in NumPy (tanh GELU, as KerasHub's BertBackbone uses)."""
    w = weights
    t = token_ids.shape[1]
    x = (
        w["embeddings.word_embeddings.weight"][token_ids]
        + w["embeddings.position_embeddings.weight"][:t][None]
        + w["embeddings.token_type_embeddings.weight"][0][None, None]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    head_dim = HIDDEN // HEADS
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def lin(v, name, p=p):
            return v @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def split(v):
            return v.reshape(v.shape[0], t, HEADS, head_dim).transpose(0, 2, 1, 3)

        q, k, v = (split(lin(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_dim)
        scores = np.where(mask[:, None, None, :] > 0, scores, -1e9)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        att = scores / scores.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(x.shape[0], t, HIDDEN)
        x = _layer_norm(
            x + lin(ctx, "attention.output.dense"),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        h = _gelu_tanh(lin(x, "intermediate.dense"))
        x = _layer_norm(
            x + lin(h, "output.dense"),
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
        )
    return x


def use_savedmodel(directory: Path, dim: int = 16, buckets: int = 97, seed: int = 0) -> Path:
    """A USE-like SavedModel: ``model(tf.constant([...]))`` -> (n, dim) float32, one vector per
    string (mean of hashed word embeddings, then L2-normalised, as USE's outputs are)."""
    import tensorflow as tf

    class TinyEncoder(tf.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(seed)
            self.table = tf.Variable(rng.standard_normal((buckets, dim)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            words = tf.strings.split(tf.strings.lower(texts))
            ids = tf.strings.to_hash_bucket_fast(words, buckets)
            vectors = tf.ragged.map_flat_values(tf.gather, self.table, ids)
            mean = tf.reduce_mean(vectors, axis=1)
            mean = tf.where(tf.math.is_nan(mean), tf.zeros_like(mean), mean)
            return tf.math.l2_normalize(mean, axis=-1)

    module = TinyEncoder()
    tf.saved_model.save(module, str(directory))
    return Path(directory)


def distilbert_hf_dir(directory: Path, seed: int = 0) -> Path:
    """A tiny DistilBertModel checkpoint in Hugging Face layout (names without ``distilbert.``)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(len(VOCAB), HIDDEN),
        "embeddings.position_embeddings.weight": r(MAX_LEN, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + r(HIDDEN, scale=0.1),
        "embeddings.LayerNorm.bias": r(HIDDEN, scale=0.1),
    }
    for i in range(LAYERS):
        p = f"transformer.layer.{i}."
        for name in ("q_lin", "k_lin", "v_lin", "out_lin"):
            w[p + f"attention.{name}.weight"] = r(HIDDEN, HIDDEN)
            w[p + f"attention.{name}.bias"] = r(HIDDEN, scale=0.1)
        for norm in ("sa_layer_norm", "output_layer_norm"):
            w[p + f"{norm}.weight"] = 1 + r(HIDDEN, scale=0.1)
            w[p + f"{norm}.bias"] = r(HIDDEN, scale=0.1)
        w[p + "ffn.lin1.weight"] = r(INTERMEDIATE, HIDDEN)
        w[p + "ffn.lin1.bias"] = r(INTERMEDIATE, scale=0.1)
        w[p + "ffn.lin2.weight"] = r(HIDDEN, INTERMEDIATE)
        w[p + "ffn.lin2.bias"] = r(HIDDEN, scale=0.1)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["DistilBertModel"],
                "model_type": "distilbert",
                "vocab_size": len(VOCAB),
                "dim": HIDDEN,
                "n_layers": LAYERS,
                "n_heads": HEADS,
                "hidden_dim": INTERMEDIATE,
                "dropout": 0.1,
                "max_position_embeddings": MAX_LEN,
            }
        )
    )
    save_file(w, str(directory / "model.safetensors"))
    hf_tokenizer().save(str(directory / "tokenizer.json"))
    return directory


def offline_hub(monkeypatch, tmp_path) -> None:
    """A test's hub world: its own cache, no mounted Kaggle presets, any download an error,
    and no embeddings remembered from an earlier test."""
    from kagglekit.hub import encoders, presets

    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KAGGLEKIT_PRESET_DIRS", str(tmp_path / "no-mounts"))

    def forbidden(handle):
        raise AssertionError(f"unexpected download of {handle}")

    monkeypatch.setattr(presets, "_download", forbidden)
    encoders.clear_memory()
