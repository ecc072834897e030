"""Frozen sentence encoders and their embedding cache.

- ``SavedModelEncoder``: a TensorFlow SavedModel that maps a batch of strings to one vector
  each, such as the Universal Sentence Encoder from Kaggle Models / TF Hub. Loaded with
  ``tf.saved_model.load`` (``hub.KerasLayer`` does not work with Keras 3).
- ``PooledEncoder``: a frozen KerasHub backbone + masked pooling (the ``transformer``
  model's ``freeze_backbone`` path uses it directly);
- ``TransformerEncoder``: a ``PooledEncoder`` for a sentence-transformers directory
  (modules.json: Transformer -> Pooling [-> Normalize]; 1_Pooling/config.json;
  sentence_bert_config.json's max_seq_length), or any transformer preset (mean pooling),
  with length bucketing.

``embed(encoder, texts)`` computes each distinct text once per process (an in-memory table
per encoder) and stores what it computed under ``kagglekit.cache`` keyed by the encoder's
content fingerprint and the texts, so CV folds and later runs reuse the vectors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kagglekit.cache import cached_arrays, content_hash, file_fingerprint
from kagglekit.hub.presets import PresetError, preset_layout

_MEMO: dict[str, dict[str, np.ndarray]] = {}
# texts per model.predict call when encoding: the vectors are filled in place chunk by chunk
ENCODE_CHUNK_ROWS = 1 << 16
_LOADED: dict[tuple, object] = {}

# sentence-transformers pooling flags, in the order its Pooling module concatenates them
_ST_POOLING = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean-sqrt-len"),
)


def _fingerprint_dir(path: Path, patterns) -> str:
    parts = []
    for pattern in patterns:
        for file in sorted(Path(path).glob(pattern)):
            if file.is_file():
                parts.append((str(file.relative_to(path)), file_fingerprint(file)))
    return content_hash(parts)


class SavedModelEncoder:
    """Strings -> vectors with a TF SavedModel (``obj(tf.constant(texts))``)."""

    def __init__(self, path: Path, batch_size: int = 256):
        self.path = Path(path)
        self.batch_size = batch_size
        self.key = content_hash(
            "savedmodel", _fingerprint_dir(self.path, ("saved_model.pb*", "variables/*"))
        )
        self._model = None

    def _load(self):
        if self._model is None:
            import tensorflow as tf

            try:
                self._model = tf.saved_model.load(str(self.path))
            except Exception as exc:  # noqa: BLE001
                raise PresetError(
                    f"{self.path}: not a loadable TensorFlow SavedModel "
                    f"({type(exc).__name__}: {exc})"
                ) from None
            if not callable(self._model):
                raise PresetError(
                    f"{self.path}: the SavedModel is not callable on strings "
                    f"(expected a Universal Sentence Encoder-like model)"
                )
        return self._model

    def encode(self, texts) -> np.ndarray:
        import tensorflow as tf

        model = self._load()
        out = []
        for i in range(0, len(texts), self.batch_size):
            result = model(tf.constant([str(t) for t in texts[i : i + self.batch_size]]))
            if isinstance(result, dict):  # signature-style outputs
                result = result.get("outputs", result.get("default", next(iter(result.values()))))
            out.append(np.asarray(result, dtype=np.float32))
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def sentence_transformers_config(path: Path) -> dict:
    """{transformer_dir, poolings, normalize, max_length} of a sentence-transformers directory
    (or defaults for a plain transformer directory: mean pooling, no normalisation)."""
    path = Path(path)
    out = {"transformer_dir": path, "poolings": ["mean"], "normalize": False, "max_length": None}
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return out
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    for module in modules:
        kind = module.get("type", "").rsplit(".", 1)[-1]
        module_dir = path / module.get("path", "")
        if kind == "Transformer":
            out["transformer_dir"] = module_dir
            st_config = module_dir / "sentence_bert_config.json"
            if st_config.is_file():
                out["max_length"] = json.loads(st_config.read_text()).get("max_seq_length")
        elif kind == "Pooling":
            config = json.loads((module_dir / "config.json").read_text(encoding="utf-8"))
            poolings = [mode for flag, mode in _ST_POOLING if config.get(flag)]
            unsupported = [
                k
                for k in ("pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")
                if config.get(k)
            ]
            if unsupported or not poolings:
                raise PresetError(
                    f"{module_dir / 'config.json'}: pooling "
                    f"{unsupported or 'none'} is not supported; kagglekit supports "
                    f"cls, max, mean and mean_sqrt_len pooling"
                )
            out["poolings"] = poolings
        elif kind == "Normalize":
            out["normalize"] = True
        elif kind not in ("Transformer", "Pooling", "Normalize"):
            raise PresetError(
                f"{modules_file}: module {module.get('type')!r} is not supported "
                f"(kagglekit runs Transformer -> Pooling -> Normalize)"
            )
    return out


class PooledEncoder:
    """Strings -> a frozen backbone's pooled (and optionally normalised) vectors: tokenize
    (``truncation``), run the backbone in length-bucketed batches, masked ``head`` pooling
    over the mean of the last ``pool_layers`` hidden layers. ``key`` names the vectors in the
    cache (the caller hashes the weights and options into it); ``load_backbone()`` is called
    the first time texts are encoded, never when every text is cached."""

    def __init__(
        self,
        *,
        key: str,
        tokenizer,
        load_backbone,
        head: str = "mean",
        pool_layers: int = 1,
        normalize: bool = False,
        max_length: int = 256,
        truncation: str = "head",
        batch_size: int = 64,
    ):
        self.key = key
        self.tokenizer = tokenizer
        self._load_backbone = load_backbone
        self.head, self.pool_layers, self.normalize = head, int(pool_layers), bool(normalize)
        self.max_length, self.truncation = int(max_length), truncation
        self.batch_size = batch_size
        self._model: Any = None  # a keras.Model once built (keras is untyped)
        self._names: list[str] | None = None

    def _load(self):
        if self._model is None:
            import keras

            from kagglekit.hub.backbone import backbone_inputs, sequence_head

            backbone = self._load_backbone()
            limit = getattr(backbone, "max_sequence_length", None)
            if limit is not None:
                self.max_length = min(self.max_length, int(limit))
            self._names = backbone_inputs(backbone)
            inputs, vectors = sequence_head(
                backbone,
                head=self.head,
                freeze_backbone=True,
                normalize=self.normalize,
                pool_layers=self.pool_layers,
            )
            self._model = keras.Model(inputs, vectors, name="kagglekit_encoder")
            self._model.jit_compile = False  # bucketed batches have many shapes
        return self._model

    def encode(self, texts) -> np.ndarray:
        from kagglekit.keras.data import predict_batches

        model = self._load()
        encoded = self.tokenizer.encode(texts, self.max_length, truncation=self.truncation)
        return predict_batches(
            model,
            encoded,
            batch_size=self.batch_size,
            maxlen=self.max_length,
            bucket=True,
            inputs=self._names,
            chunk_rows=ENCODE_CHUNK_ROWS,
        )


def weights_fingerprint(path: Path) -> str:
    """A content hash of a preset directory's weights and config (KerasHub or HF layout)."""
    return _fingerprint_dir(path, ("*.safetensors", "*.weights.h5", "config.json"))


class TransformerEncoder(PooledEncoder):
    """A sentence-transformers directory (or any transformer preset: mean pooling)."""

    def __init__(self, path: Path, *, max_length: int | None = None, batch_size: int = 64):
        from kagglekit.hub.backbone import load_backbone
        from kagglekit.hub.tokenizer import SubwordTokenizer

        self.path = Path(path)
        self.config = sentence_transformers_config(self.path)
        max_length = int(max_length or self.config["max_length"] or 256)
        tokenizer = SubwordTokenizer.from_directory(self.config["transformer_dir"])
        key = content_hash(
            "transformer-encoder",
            weights_fingerprint(self.config["transformer_dir"]),
            tokenizer.fingerprint,
            self.config["poolings"],
            self.config["normalize"],
            max_length,
        )
        super().__init__(
            key=key,
            tokenizer=tokenizer,
            load_backbone=lambda: load_backbone(self.config["transformer_dir"]),
            head="+".join(self.config["poolings"]),
            normalize=self.config["normalize"],
            max_length=max_length,
            batch_size=batch_size,
        )


def load_encoder(path: Path, *, kind: str, max_length: int | None = None):
    """The encoder in ``path`` (kind 'savedmodel' or 'transformer'), loaded once per process."""
    path = Path(path)
    layout = preset_layout(path)
    if kind == "savedmodel" and layout != "savedmodel":
        raise PresetError(
            f"{path}: expected a TensorFlow SavedModel directory "
            f"(saved_model.pb + variables/), found layout {layout!r}"
        )
    if kind == "transformer" and layout not in ("keras", "hf", "sentence-transformers"):
        raise PresetError(
            f"{path}: expected a sentence-transformers or transformer directory, "
            f"found layout {layout!r}"
        )
    key = (str(path.resolve()), kind, max_length)
    if key not in _LOADED:
        _LOADED[key] = (
            SavedModelEncoder(path)
            if kind == "savedmodel"
            else TransformerEncoder(path, max_length=max_length)
        )
    return _LOADED[key]


def frozen_backbone(path: Path, **kwargs):
    """The backbone in ``path`` loaded once per process (keyed also by ``kwargs`` and the
    Keras dtype policy), for frozen use only: callers never train it."""
    import keras

    from kagglekit.hub.backbone import load_backbone

    key = (
        "backbone",
        str(Path(path).resolve()),
        tuple(sorted(kwargs.items())),
        keras.config.dtype_policy().name,
    )
    if key not in _LOADED:
        _LOADED[key] = load_backbone(path, **kwargs)
    return _LOADED[key]


def embed(encoder, texts, *, cache: bool = True) -> np.ndarray:
    """(len(texts), dim) float32 vectors; each distinct text is encoded at most once."""
    texts = [str(t) for t in texts]
    memo = _MEMO.setdefault(encoder.key, {})
    missing = sorted(set(texts) - memo.keys())
    if missing:

        def compute():
            return {"vectors": np.asarray(encoder.encode(missing), dtype=np.float32)}

        if cache:
            arrays, _ = cached_arrays(
                "embeddings", content_hash(encoder.key, np.asarray(missing, dtype=object)), compute
            )
        else:
            arrays = compute()
        vectors = arrays["vectors"]
        if len(vectors) != len(missing):
            raise PresetError(
                f"the encoder returned {len(vectors)} vectors for {len(missing)} texts"
            )
        memo.update(zip(missing, vectors))
    if not texts:
        dim = len(next(iter(memo.values()))) if memo else 0
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([memo[t] for t in texts])


def clear_memory() -> None:
    """Forget the in-process embeddings and loaded encoders (tests, long sessions)."""
    _MEMO.clear()
    _LOADED.clear()
