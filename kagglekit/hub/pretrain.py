"""Domain-adaptive pretraining: masked-LM fine-tuning of a backbone on a competition's texts.

``pretrain_mlm(preset_dir, texts, MlmParams(...))`` continues BERT-style masked-language-model
training (KerasHub's ``<Family>MaskedLM`` head on the preset's backbone: BERT, DistilBERT,
RoBERTa, DeBERTa-v3, ...) on the given texts and writes a preset directory that
``-p preset=DIR`` fine-tunes like any other::

    config.json, metadata.json, model.weights.h5   the backbone (KerasHub layout)
    tokenizer.json                                  the checkpoint's tokenizer (Hugging Face)
    kagglekit-pretrain.json                         source preset, texts, params, per-epoch
                                                    held-out MLM loss and accuracy

Masking is BERT's: ``mask_rate`` of each text's non-special tokens are predicted, 80% of them
replaced by the mask token, 10% by a random token, 10% kept; training masks are drawn again
each epoch, the held-out texts (``holdout``) keep one fixed masking so their loss is comparable
across epochs (epoch 0: before any training). Results are cached by content hash (backbone
files, tokenizer, texts, params) under ``$KAGGLEKIT_CACHE/pretrained``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kagglekit.hub.presets import PresetError

RECORD_FILE = "kagglekit-pretrain.json"
PRESET_FILES = ("config.json", "model.weights.h5", "tokenizer.json", RECORD_FILE)
_SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<s>", "</s>", "<pad>", "<unk>", "<mask>")


@dataclass
class MlmParams:
    preset: str | None = None
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    max_length: int = 128
    mask_rate: float = 0.15
    holdout: float = 0.1
    seed: int = 42

    def validate(self):
        for ok, message in [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.max_length >= 4, f"max_length must be >= 4, got {self.max_length}"),
            (0 < self.mask_rate < 1, f"mask_rate must be in (0, 1), got {self.mask_rate}"),
            (0 < self.holdout < 1, f"holdout must be in (0, 1), got {self.holdout}"),
        ]:
            if not ok:
                raise ValueError(message)


def _matrix(ragged, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = ragged.lengths
    ids = np.full((len(ragged), int(lengths.max())), pad_id, dtype=np.int32)
    for i in range(len(ragged)):
        ids[i, : lengths[i]] = ragged.row(i)
    return ids, lengths


def mask_tokens(
    ids: np.ndarray,
    lengths: np.ndarray,
    special: np.ndarray,
    mask_id: int,
    vocab_size: int,
    rate: float,
    rng,
) -> dict:
    """BERT masking of a padded id matrix: the inputs with masked tokens, ``mask_positions``,
    their true ids (``labels``) and ``weights`` (0 for padding of the position lists)."""
    n, width = ids.shape
    n_pred = max(1, int(np.ceil(rate * width)))
    out = ids.copy()
    positions = np.zeros((n, n_pred), dtype=np.int32)
    labels = np.zeros((n, n_pred), dtype=np.int32)
    weights = np.zeros((n, n_pred), dtype=np.float32)
    normal = np.setdiff1d(np.arange(vocab_size), special)
    for i in range(n):
        candidates = np.flatnonzero(~np.isin(ids[i, : lengths[i]], special))
        if not len(candidates):
            continue
        k = min(n_pred, max(1, int(round(rate * len(candidates)))))
        chosen = np.sort(rng.choice(candidates, size=k, replace=False))
        positions[i, :k], labels[i, :k], weights[i, :k] = chosen, ids[i, chosen], 1.0
        draw = rng.random(k)
        out[i, chosen[draw < 0.8]] = mask_id
        swap = chosen[(draw >= 0.8) & (draw < 0.9)]
        out[i, swap] = rng.choice(normal, size=len(swap))
    return {"token_ids": out, "mask_positions": positions, "labels": labels, "weights": weights}


def _inputs(batch: dict, lengths: np.ndarray, names) -> dict:
    width = batch["token_ids"].shape[1]
    x = {
        "token_ids": batch["token_ids"],
        "mask_positions": batch["mask_positions"],
        "padding_mask": np.arange(width)[None, :] < lengths[:, None],
    }
    if "segment_ids" in names:
        x["segment_ids"] = np.zeros_like(batch["token_ids"])
    return x


def heldout_scores(logits, labels, weights) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over the masked positions (weight 1) only."""
    logits = np.asarray(logits, dtype=np.float64)
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_prob = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_prob, labels[..., None], axis=-1)[..., 0]
    w = np.asarray(weights, dtype=np.float64)
    total = max(w.sum(), 1.0)
    return (
        float(-(picked * w).sum() / total),
        float(((logits.argmax(axis=-1) == labels) * w).sum() / total),
    )


def masked_lm(backbone):
    """KerasHub's masked-LM task for the backbone's family (no preprocessor: ids in)."""
    import keras_hub

    name = type(backbone).__name__.replace("Backbone", "MaskedLM")
    cls = getattr(keras_hub.models, name, None)
    if cls is None:
        raise PresetError(
            f"{type(backbone).__name__} has no masked-LM head in KerasHub "
            f"(no keras_hub.models.{name}); pretrain a BERT, DistilBERT, RoBERTa "
            f"or DeBERTa-v3 preset"
        )
    return cls(backbone=backbone, preprocessor=None)


def pretrain_key(preset_dir: Path, tokenizer, texts, params: MlmParams) -> str:
    """The cache key: every byte of the preset's files (not their dates: a copied or
    re-mounted checkpoint is the same one, and hashing even a GB of weights takes seconds
    next to the pretraining it saves), the tokenizer, the texts and the params."""
    from kagglekit.cache import content_hash, file_fingerprint

    files = sorted(p for p in Path(preset_dir).iterdir() if p.is_file())
    return content_hash(
        "mlm-pretrain",
        [(p.name, file_fingerprint(p, full=True)) for p in files],
        tokenizer.fingerprint,
        np.asarray(list(texts), dtype=object),
        {k: v for k, v in asdict(params).items() if k != "preset"},
    )


def pretrain_mlm(
    preset_dir,
    texts,
    params: MlmParams,
    output=None,
    *,
    on_epoch: Callable[[dict], None] | None = None,
    sources: dict | None = None,
):
    """Masked-LM pretraining of ``preset_dir``'s backbone on ``texts``; returns (directory,
    record, cached). ``output``: where the preset goes [default: the cache entry]."""
    from kagglekit.cache import cache_root, check_output_directory, deliver_directory, made_before
    from kagglekit.hub.tokenizer import SubwordTokenizer

    check_output_directory(output, made_by=RECORD_FILE)  # before any work
    preset_dir = Path(preset_dir)
    texts = [str(t) for t in texts if str(t).strip()]
    if len(texts) < 10:
        raise PresetError(f"pretraining needs at least 10 non-empty texts, got {len(texts)}")
    tokenizer = SubwordTokenizer.from_directory(preset_dir)
    key = pretrain_key(preset_dir, tokenizer, texts, params)
    same = made_before(output, key, RECORD_FILE, PRESET_FILES)
    if same is not None:
        return Path(output), {**same, "texts": dict(sources or {})}, True
    output = check_output_directory(output)
    root = cache_root()
    cached = None if root is None else root / "pretrained" / key
    if cached is not None and (cached / RECORD_FILE).is_file():
        record = {**json.loads((cached / RECORD_FILE).read_text()), "texts": dict(sources or {})}
        return deliver_directory(cached, output), record, True
    target = Path(output) if output is not None else cached
    if target is None:
        raise PresetError("pretrain: caching is off (KAGGLEKIT_CACHE=off); pass --output DIR")
    record, backbone = _train(preset_dir, tokenizer, texts, params, on_epoch)
    record.update(
        {
            "source_preset": str(preset_dir),
            "key": key,
            "n_texts": len(texts),
            "texts": dict(sources or {}),
            "params": asdict(params),
        }
    )
    directory = cached if cached is not None else target
    _write(directory, record, tokenizer, backbone, replace=cached is not None)
    return deliver_directory(directory, output), record, False


def _train(preset_dir, tokenizer, texts, params: MlmParams, on_epoch) -> tuple[dict, Any]:
    import keras

    from kagglekit.hub.backbone import backbone_inputs, load_backbone

    keras.utils.set_random_seed(params.seed)
    rng = np.random.default_rng(params.seed)
    mask_id = next(
        (
            tokenizer.backend.token_to_id(t)
            for t in ("[MASK]", "<mask>")
            if tokenizer.backend.token_to_id(t) is not None
        ),
        None,
    )
    if mask_id is None:
        raise PresetError(f"{preset_dir}: the tokenizer has no [MASK] / <mask> token")
    special = np.array(
        sorted({i for i in (tokenizer.backend.token_to_id(t) for t in _SPECIAL) if i is not None}),
        dtype=np.int32,
    )
    ids, lengths = _matrix(
        tokenizer.encode(texts, params.max_length, cache=False), tokenizer.pad_id
    )
    order = rng.permutation(len(texts))
    n_hold = max(2, int(round(params.holdout * len(texts))))
    hold, fit = np.sort(order[:n_hold]), np.sort(order[n_hold:])
    backbone = load_backbone(preset_dir)
    names = backbone_inputs(backbone)
    vocab = int(backbone.vocabulary_size)
    model = masked_lm(backbone)
    model.compile(
        optimizer=keras.optimizers.AdamW(params.learning_rate, weight_decay=params.weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    held = mask_tokens(
        ids[hold],
        lengths[hold],
        special,
        mask_id,
        vocab,
        params.mask_rate,
        np.random.default_rng(params.seed + 1),
    )
    held_x = _inputs(held, lengths[hold], names)

    def evaluate(epoch: int, train_loss=None) -> dict:
        loss, acc = heldout_scores(
            model.predict(held_x, batch_size=params.batch_size, verbose=0),
            held["labels"],
            held["weights"],
        )
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "heldout_loss": round(loss, 6),
            "heldout_accuracy": round(acc, 6),
        }
        if on_epoch:
            on_epoch(row)
        return row

    history = [evaluate(0)]
    for epoch in range(1, params.epochs + 1):
        rows = rng.permutation(fit)  # new order and new masks every epoch
        batch = mask_tokens(
            ids[rows], lengths[rows], special, mask_id, vocab, params.mask_rate, rng
        )
        with warnings.catch_warnings():  # the unused pooler has no gradients: expected
            warnings.simplefilter("ignore", UserWarning)
            result = model.fit(
                _inputs(batch, lengths[rows], names),
                batch["labels"],
                sample_weight=batch["weights"],
                batch_size=params.batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
            )
        history.append(evaluate(epoch, round(float(result.history["loss"][-1]), 6)))
    return {
        "history": history,
        "n_heldout": int(n_hold),
        "n_fit": int(len(fit)),
        "backbone": type(backbone).__name__,
    }, backbone


def _write(directory: Path, record: dict, tokenizer, backbone, replace: bool) -> None:
    from kagglekit.cache import write_directory

    def fill(tmp: Path) -> None:
        backbone.save_to_preset(str(tmp))
        tokenizer.save(tmp)  # Hugging Face tokenizer.json, what SubwordTokenizer reads first
        (tmp / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")

    write_directory(directory, fill, replace=replace)


class MaskedLmPretraining:
    """Masked-LM fine-tuning of a transformer backbone (-p preset=...); writes a preset
    directory that `-p preset=DIR` fine-tunes like any other.

    The ``transformer`` pretraining family (``kagglekit pretrain --model transformer``),
    registered by ``plugins/transformer.py`` through ``register_pretrain_families``.
    """

    Params = MlmParams
    what = "pretrain"  # how -p errors name the command
    loss = "MLM"  # the held-out loss's name in the per-epoch lines
    makes = "Preset"  # what the written directory is called

    def source(self, params: MlmParams) -> Path:
        """The backbone's preset directory (``-p preset=``, resolved)."""
        from kagglekit.hub.presets import resolve

        return resolve(params.preset, what="pretrain").path

    def describe(self, source: Path) -> str:
        """What is pretrained, for the first line the command prints."""
        return str(source)

    def pretrain(
        self,
        source: Path,
        texts: list[str],
        params: MlmParams,
        output: Path | None = None,
        *,
        on_epoch: Callable[[dict], None] | None = None,
        sources: dict | None = None,
    ) -> tuple[Path, dict, bool]:
        """(directory, record, cached): see ``pretrain_mlm``."""
        return pretrain_mlm(source, texts, params, output, on_epoch=on_epoch, sources=sources)

    def use(self, directory: Path) -> str:
        """The options that start a model from what was written."""
        return f"-p preset={directory}"
