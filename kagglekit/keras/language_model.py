"""A word-level LSTM language model (AWD-LSTM-like, ULMFiT's first two stages) trained on a
competition's own texts, and its encoder for the ``lstm`` classifier (``-p encoder=DIR``).

``pretrain_lstm(texts, LmParams(...))`` learns a word vocabulary from the texts (no labels),
then trains embedding -> ``layers`` weight-dropped LSTMs (the last one as wide as the
embedding) -> next-word logits tied to the embedding matrix, on windows of ``bptt`` words
cut from the texts joined end to end (a new random offset and order every epoch; one-cycle
rates, AdamW, gradient clipping). ``holdout`` of the texts are kept out: their windows give
the held-out loss, perplexity and next-word accuracy after every epoch (epoch 0: before
training). It writes::

    tokenizer.json            the word vocabulary (kagglekit.text.tokenizer)
    encoder.json              vocab_size, embedding_dim, the LSTM sizes, weight_drop
    encoder.npz               embedding and LSTM weights (numpy arrays, read without pickle)
    kagglekit-pretrain.json   texts, params, per-epoch held-out scores

Results are cached by content hash (texts, params) under ``$KAGGLEKIT_CACHE/pretrained``,
like the transformer pretraining (``kagglekit.hub.pretrain``).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kagglekit.errors import KaggleKitError

RECORD_FILE = "kagglekit-pretrain.json"
VERSION = "awd-lstm-1"  # part of the cache key: bump when training or the format changes
ENCODER_FILES = ("tokenizer.json", "encoder.json", "encoder.npz")


@dataclass
class LmParams:
    epochs: int = 3
    batch_size: int = 32
    bptt: int = 70  # words per training window
    embedding_dim: int = 200
    units: int = 400  # the lower LSTMs' width (the top one is embedding_dim wide)
    layers: int = 2
    max_words: int | None = 30_000
    min_count: int = 2
    lowercase: bool = True
    weight_drop: float = 0.3  # DropConnect on the hidden-to-hidden weights
    word_dropout: float = 0.05  # whole words dropped from the embedding matrix
    input_dropout: float = 0.25  # locked dropout on the embeddings
    hidden_dropout: float = 0.15  # locked dropout between LSTMs
    output_dropout: float = 0.1  # locked dropout before the tied output
    learning_rate: float = 3e-3
    weight_decay: float = 0.01
    clipnorm: float = 0.4
    holdout: float = 0.1
    seed: int = 42
    verbose: int = 1

    def validate(self):
        for ok, message in [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.bptt >= 2, f"bptt must be >= 2, got {self.bptt}"),
            (self.embedding_dim >= 1, f"embedding_dim must be >= 1, got {self.embedding_dim}"),
            (self.units >= 1, f"units must be >= 1, got {self.units}"),
            (self.layers >= 1, f"layers must be >= 1, got {self.layers}"),
            (self.min_count >= 1, f"min_count must be >= 1, got {self.min_count}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (0 < self.holdout < 1, f"holdout must be in (0, 1), got {self.holdout}"),
            *[
                (0 <= getattr(self, k) < 1, f"{k} must be in [0, 1), got {getattr(self, k)}")
                for k in (
                    "weight_drop",
                    "word_dropout",
                    "input_dropout",
                    "hidden_dropout",
                    "output_dropout",
                )
            ],
        ]:
            if not ok:
                raise ValueError(message)


def layer_sizes(units: int, embedding_dim: int, layers: int) -> list[int]:
    """The LSTM widths, bottom to top: ``units`` then, last, ``embedding_dim`` (tied output)."""
    return [units] * (layers - 1) + [embedding_dim]


def encoder_stack(
    keras,
    ids,
    mask,
    config: dict,
    *,
    input_dropout: float,
    hidden_dropout: float,
    weight_drop: float,
    seed: int,
    word_dropout: float = 0.0,
):
    """Embedding (``embedding``) [-> word dropout] -> locked dropout -> ``lstm_1`` ...
    ``lstm_L`` (weight-dropped, full sequences, masked), locked dropout between them.
    Returns (embedding layer, output sequence)."""
    from kagglekit.keras.awd import WeightDropLSTM, WordDropout

    embedding = keras.layers.Embedding(
        config["vocab_size"], config["embedding_dim"], name="embedding"
    )
    x = embedding(ids)
    if word_dropout:
        x = WordDropout(word_dropout, config["vocab_size"], seed=seed, name="word_dropout")(ids, x)
    if input_dropout:
        x = keras.layers.SpatialDropout1D(input_dropout, seed=seed, name="input_dropout")(x)
    sizes = config["layer_sizes"]
    for i, width in enumerate(sizes, start=1):
        x = WeightDropLSTM(width, weight_drop, seed=seed + i, name=f"lstm_{i}")(x, mask=mask)
        if hidden_dropout and i < len(sizes):
            x = keras.layers.SpatialDropout1D(
                hidden_dropout, seed=seed + 100 + i, name=f"hidden_dropout_{i}"
            )(x)
    return embedding, x


def encoder_layer_names(config: dict) -> list[str]:
    return ["embedding", *[f"lstm_{i}" for i in range(1, len(config["layer_sizes"]) + 1)]]


def build_lm(keras, config: dict, p: LmParams):
    """ids -> ``encoder_stack`` -> locked dropout -> logits tied to the embedding."""
    from kagglekit.keras.awd import TiedLogits

    ids = keras.Input(shape=(None,), dtype="int32", name="ids")
    embedding, x = encoder_stack(
        keras,
        ids,
        None,
        config,
        input_dropout=p.input_dropout,
        hidden_dropout=p.hidden_dropout,
        weight_drop=p.weight_drop,
        seed=p.seed,
        word_dropout=p.word_dropout,
    )
    if p.output_dropout:
        x = keras.layers.SpatialDropout1D(
            p.output_dropout, seed=p.seed + 99, name="output_dropout"
        )(x)
    logits = TiedLogits(embedding, name="logits", dtype="float32")(x)
    return keras.Model(ids, logits, name="language_model")


def windows(stream: np.ndarray, bptt: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-word targets, ``(n, bptt)`` each, cut from ``stream[offset:]``."""
    stream = np.asarray(stream[offset:], dtype=np.int32)
    n = (len(stream) - 1) // bptt
    x = stream[: n * bptt].reshape(n, bptt)
    y = stream[1 : n * bptt + 1].reshape(n, bptt)
    return x, y


def _stream(ragged, rows) -> np.ndarray:
    parts = [ragged.row(int(i)) for i in rows]
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, np.int32)


def pretrain_key(texts, params: LmParams) -> str:
    from kagglekit.cache import content_hash

    return content_hash(
        "lstm-pretrain",
        VERSION,
        list(texts),
        {k: v for k, v in asdict(params).items() if k != "verbose"},
    )


def pretrain_lstm(
    texts,
    params: LmParams,
    output=None,
    *,
    on_epoch: Callable[[dict], None] | None = None,
    sources: dict | None = None,
) -> tuple[Path, dict, bool]:
    """Train the language model on ``texts``; returns (directory, record, cached).
    ``output``: where the encoder folder goes [default: its cache entry]."""
    from kagglekit.cache import (
        cache_root,
        check_output_directory,
        deliver_directory,
        made_before,
        write_directory,
    )

    check_output_directory(output, made_by=RECORD_FILE)  # before any work
    texts = [str(t) for t in texts if str(t).strip()]
    if len(texts) < 10:
        raise KaggleKitError(f"pretraining needs at least 10 non-empty texts, got {len(texts)}")
    key = pretrain_key(texts, params)
    same = made_before(output, key, RECORD_FILE, ENCODER_FILES)
    if same is not None:
        return Path(output), {**same, "texts": dict(sources or {})}, True
    output = check_output_directory(output)
    root = cache_root()
    cached = None if root is None else root / "pretrained" / key
    if cached is not None and (cached / RECORD_FILE).is_file():
        record = {**json.loads((cached / RECORD_FILE).read_text()), "texts": dict(sources or {})}
        return deliver_directory(cached, output), record, True
    if cached is None and output is None:
        raise KaggleKitError("pretrain: caching is off (KAGGLEKIT_CACHE=off); pass --output DIR")
    record, tokenizer, config, weights = _train(texts, params, on_epoch)
    record.update(
        {
            "model": "lstm",
            "key": key,
            "n_texts": len(texts),
            "texts": dict(sources or {}),
            "params": asdict(params),
            "encoder": config,
        }
    )

    def fill(tmp: Path) -> None:
        (tmp / "tokenizer.json").write_text(tokenizer.to_json(), encoding="utf-8")
        (tmp / "encoder.json").write_text(json.dumps(config, indent=2) + "\n")
        np.savez(tmp / "encoder.npz", **weights)
        (tmp / RECORD_FILE).write_text(json.dumps(record, indent=2) + "\n")

    directory = write_directory(
        cached if cached is not None else output, fill, replace=cached is not None
    )
    return deliver_directory(directory, output), record, False


def _train(texts, p: LmParams, on_epoch):
    import keras

    from kagglekit.keras import training
    from kagglekit.text.tokenizer import WordTokenizer

    keras.utils.set_random_seed(p.seed)
    rng = np.random.default_rng(p.seed)
    tokenizer = WordTokenizer(lowercase=p.lowercase, max_words=p.max_words, min_count=p.min_count)
    encoded = tokenizer.fit_encode(texts, cache=False)
    order = rng.permutation(len(texts))
    n_hold = max(2, int(round(p.holdout * len(texts))))
    held_stream = _stream(encoded, np.sort(order[:n_hold]))
    fit_rows = order[n_hold:]
    held_x, held_y = windows(held_stream, p.bptt)
    if not len(held_x):
        raise KaggleKitError(
            f"the {n_hold} held-out texts have fewer than bptt={p.bptt} "
            f"words in all; lower bptt or add texts"
        )
    fit_stream = _stream(encoded, fit_rows)
    if len(fit_stream) <= p.bptt:
        raise KaggleKitError(
            f"the {len(fit_rows)} training texts have fewer than bptt={p.bptt} "
            f"words in all; lower bptt or holdout, or add texts"
        )
    config = {
        "vocab_size": tokenizer.vocab_size,
        "embedding_dim": p.embedding_dim,
        "layer_sizes": layer_sizes(p.units, p.embedding_dim, p.layers),
        "weight_drop": p.weight_drop,
    }
    model = build_lm(keras, config, p)
    steps = max(1, math.ceil(((len(fit_stream) - 1) // p.bptt) / p.batch_size))
    optimizer = training.make_optimizer(
        p.learning_rate,
        steps * p.epochs,
        schedule="one-cycle",
        optimizer="adamw",
        weight_decay=p.weight_decay,
        warmup_ratio=0.25,
        clipnorm=p.clipnorm,
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )

    def evaluate(epoch: int, train_loss=None) -> dict:
        loss, acc = model.evaluate(held_x, held_y, batch_size=p.batch_size, verbose=0)
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "heldout_loss": round(float(loss), 6),
            "heldout_perplexity": round(float(np.exp(loss)), 3),
            "heldout_accuracy": round(float(acc), 6),
        }
        if on_epoch:
            on_epoch(row)
        return row

    history = [evaluate(0)]
    for epoch in range(1, p.epochs + 1):
        rows = rng.permutation(fit_rows)  # a new text order and window offset every epoch
        x, y = windows(_stream(encoded, rows), p.bptt, int(rng.integers(0, p.bptt)))
        with contextlib.redirect_stdout(sys.stderr):
            result = model.fit(
                x,
                y,
                batch_size=p.batch_size,
                epochs=1,
                shuffle=True,
                verbose=training.keras_verbose(p.verbose),
            )
        history.append(evaluate(epoch, round(float(result.history["loss"][-1]), 6)))
    weights = {
        f"{name}/{i}": np.asarray(w)
        for name in encoder_layer_names(config)
        for i, w in enumerate(model.get_layer(name).get_weights())
    }
    record = {
        "history": history,
        "n_heldout_texts": int(n_hold),
        "n_fit_texts": int(len(fit_rows)),
        "n_fit_words": int(len(fit_stream)),
        "n_heldout_words": int(len(held_stream)),
        "vocab_size": tokenizer.vocab_size,
    }
    return record, tokenizer, config, weights


@dataclass
class Encoder:
    """A pretrained encoder folder, read and checked (``load_encoder``)."""

    path: Path
    tokenizer: object
    config: dict
    weights: dict
    record: dict

    def set_weights(self, model) -> None:
        """Put the pretrained weights into ``model``'s layers of the same names."""
        for name in encoder_layer_names(self.config):
            layer = model.get_layer(name)
            n = len(layer.get_weights())
            layer.set_weights([self.weights[f"{name}/{i}"] for i in range(n)])


def check_encoder_folder(directory) -> Path:
    """``directory`` as a Path when it holds an encoder's files; else one line saying what
    it is instead (absent, a file, a folder missing some of them)."""
    path = Path(directory)
    make = "make one with kagglekit pretrain COMPETITION --model lstm --output DIR"
    if not path.exists():
        raise KaggleKitError(f"encoder={directory}: no such folder; {make}")
    if not path.is_dir():
        raise KaggleKitError(
            f"encoder={directory}: is a file; pass the folder that kagglekit "
            f"pretrain --model lstm wrote ({', '.join(ENCODER_FILES)})"
        )
    missing = [f for f in ENCODER_FILES if not (path / f).is_file()]
    if missing:
        raise KaggleKitError(
            f"encoder={directory}: not an LSTM encoder folder (missing "
            f"{', '.join(missing)}); {make}"
        )
    return path


def load_encoder(directory) -> Encoder:
    """Read an encoder folder written by ``pretrain_lstm``; one-line errors name what is
    wrong. Nothing in it can execute code (JSON, and arrays read with allow_pickle=False)."""
    from kagglekit.text.tokenizer import WordTokenizer

    path = check_encoder_folder(directory)
    reading = path / "encoder.json"
    try:
        config = json.loads(reading.read_text())
        sizes = [int(s) for s in config["layer_sizes"]]
        vocab, dim = int(config["vocab_size"]), int(config["embedding_dim"])
        drop = float(config.get("weight_drop", 0.0))
        if not sizes or min(sizes + [vocab, dim]) < 1 or not 0 <= drop < 1:
            raise ValueError("sizes must be >= 1 and weight_drop in [0, 1)")
        reading = path / "encoder.npz"
        with np.load(reading, allow_pickle=False) as data:
            weights = {k: data[k] for k in data.files}
        reading = path / "tokenizer.json"
        tokenizer = WordTokenizer.from_json(reading.read_text(encoding="utf-8"))
        reading = path / RECORD_FILE
        record = json.loads(reading.read_text()) if reading.is_file() else {}
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        KaggleKitError,
        zipfile.BadZipFile,
        EOFError,
    ) as exc:
        raise KaggleKitError(
            f"{reading}: damaged encoder ({type(exc).__name__}: {exc}); run "
            f"kagglekit pretrain again"
        ) from None
    expected: dict[str, tuple[int, ...]] = {"embedding/0": (vocab, dim)}
    width = dim
    for i, units in enumerate(sizes, start=1):
        expected.update(
            {
                f"lstm_{i}/0": (width, 4 * units),
                f"lstm_{i}/1": (units, 4 * units),
                f"lstm_{i}/2": (4 * units,),
            }
        )
        width = units
    wrong = [
        k for k, shape in expected.items() if k not in weights or tuple(weights[k].shape) != shape
    ]
    broken = [k for k, w in weights.items() if not np.isfinite(w).all()]
    if broken:
        raise KaggleKitError(
            f"{path / 'encoder.npz'}: damaged encoder (non-finite weights in "
            f"{', '.join(sorted(broken))}); run kagglekit pretrain again"
        )
    if wrong or tokenizer.vocab_size != vocab:
        raise KaggleKitError(
            f"{path / 'encoder.npz'}: damaged encoder (weights "
            f"{', '.join(wrong) or 'vocabulary size'} do not match "
            f"encoder.json); run kagglekit pretrain again"
        )
    return Encoder(
        path.resolve(),
        tokenizer,
        {**config, "layer_sizes": sizes, "weight_drop": drop},
        weights,
        record,
    )


class LstmLmPretraining:
    """An AWD-LSTM-like word language model (ULMFiT); writes an encoder that
    `-m lstm -p encoder=DIR` starts from.

    The ``lstm`` pretraining family (``kagglekit pretrain --model lstm``), registered by
    ``plugins/rnn.py`` through ``register_pretrain_families``.
    """

    Params = LmParams
    what = "pretrain --model lstm"  # how -p errors name the command
    loss = "LM"  # the held-out loss's name in the per-epoch lines
    makes = "Encoder"  # what the written directory is called

    def source(self, params: LmParams) -> None:
        """Nothing: the language model is learnt from scratch."""
        return None

    def describe(self, source: None) -> str:
        """What is pretrained, for the first line the command prints."""
        return "an LSTM language model"

    def pretrain(
        self,
        source: None,
        texts: list[str],
        params: LmParams,
        output: Path | None = None,
        *,
        on_epoch: Callable[[dict], None] | None = None,
        sources: dict | None = None,
    ) -> tuple[Path, dict, bool]:
        """(directory, record, cached): see ``pretrain_lstm``."""
        return pretrain_lstm(texts, params, output, on_epoch=on_epoch, sources=sources)

    def use(self, directory: Path) -> str:
        """The options that start a model from what was written."""
        return f"-m lstm -p encoder={directory}"
