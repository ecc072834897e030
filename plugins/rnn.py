"""Keras 3 text models on word embeddings: ``dense``, ``conv1d``, ``simplernn``, ``lstm``,
``gru``, ``bilstm`` and ``bigru`` (BiGRU + concatenated max/avg pooling, the classic
Quora/Jigsaw architecture).

What differs from the other Keras families (``kagglekit.keras.model.KerasModel`` does the
rest: training loop, early stopping on an inner 10% of the training rows, schedules,
accelerator, saved fold): a word-level vocabulary learned from the fold's training texts
only (``kagglekit.text.tokenizer``; ``vocab_from_test=true`` adds the validation and test
texts, no labels), max length from a length percentile, pretrained embeddings
(``-p embeddings=glove.840B.300d.txt,wiki.vec``) or random ones, and the ``body``.
Default schedule: the learning rate halves when the monitored value plateaus.

ULMFiT: ``-m lstm -p encoder=DIR`` starts from a language model pretrained on the
competition's texts (``kagglekit pretrain COMP --model lstm``): its vocabulary, embedding and
weight-dropped LSTM stack, then concat pooling (last, max, avg) and ULMFiT's head
(BatchNorm, [dropout,] Dense(``dense_units`` or 50, relu), BatchNorm, [dropout,] output); with
``unfreeze=gradual`` (one more layer group per epoch, top first), ``llrd=0.38`` (each group
below trains 2.6x slower) and ``lr_schedule=slanted-triangular`` it is ULMFiT's classifier
recipe. ``llrd`` and ``unfreeze`` work for every model here (groups: the embedding, then
the convolution or recurrent layers).

Keras and TensorFlow are imported inside ``fit``/``predict``/``load`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.keras.model import KerasModel, KerasParams
from kagglekit.text.tokenizer import KERAS_FILTERS, PAD_ID, WordTokenizer, choose_maxlen
from kagglekit.tune.space import Choice, Float, Int

POOLINGS = ("last", "max", "avg", "attention")
# what encoder=DIR decides (its tokenizer, embedding and LSTM sizes)
ENCODER_OWNS = (
    "embedding_dim",
    "units",
    "max_words",
    "min_count",
    "lowercase",
    "filters",
    "vocab_from_test",
    "trainable_embeddings",
    "case_fallbacks",
)
ULMFIT_HEAD_UNITS = 50  # the hidden width of the head on an encoder (fastai's lin_ftrs)


@dataclass
class TextParams(KerasParams):
    # vocabulary and sequences
    max_words: int | None = 50_000
    min_count: int = 1
    lowercase: bool = True
    filters: str = KERAS_FILTERS
    vocab_from_test: bool = False
    maxlen: int | None = None
    maxlen_percentile: float = 99.0
    truncating: Literal["pre", "post"] = "post"
    # embeddings
    embeddings: tuple[str, ...] = ()
    embeddings_combine: Literal["concat", "mean"] = "concat"
    embedding_dim: int = 128
    trainable_embeddings: bool | None = None
    case_fallbacks: bool = True
    # network
    units: int = 64
    spatial_dropout: float = 0.2
    pooling: tuple[str, ...] | None = None
    dense_units: int = 0  # with encoder=DIR: 0 means ULMFiT's 50
    # a pretrained LSTM language model's encoder (kagglekit pretrain --model lstm)
    encoder: str | None = None
    weight_drop: float | None = None  # with encoder: DropConnect rate (None: the encoder's)
    progress: bool = True
    cache: bool = True

    def validate(self):
        KerasParams.validate(self)
        checks = [
            (self.units >= 1, f"units must be >= 1, got {self.units}"),
            (self.embedding_dim >= 1, f"embedding_dim must be >= 1, got {self.embedding_dim}"),
            (
                0 <= self.spatial_dropout < 1,
                f"spatial_dropout must be in [0, 1), got {self.spatial_dropout}",
            ),
            (self.maxlen is None or self.maxlen >= 1, f"maxlen must be >= 1, got {self.maxlen}"),
            (
                0 < self.maxlen_percentile <= 100,
                f"maxlen_percentile must be in (0, 100], got {self.maxlen_percentile}",
            ),
            (
                self.max_words is None or self.max_words >= 1,
                f"max_words must be >= 1 or none, got {self.max_words}",
            ),
            (self.min_count >= 1, f"min_count must be >= 1, got {self.min_count}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        for name in self.pooling or ():
            if name not in POOLINGS:
                raise ValueError(
                    f"pooling must be a comma list of {', '.join(POOLINGS)}; got {name!r}"
                )
        if self.pooling is not None and not self.pooling:
            raise ValueError("pooling must name at least one of " + ", ".join(POOLINGS))
        if self.weight_drop is not None and not 0 <= self.weight_drop < 1:
            raise ValueError(f"weight_drop must be in [0, 1), got {self.weight_drop}")
        if self.encoder:  # the encoder brings these; a value here would be recorded, not used
            from dataclasses import fields

            ignored = [
                f.name
                for f in fields(self)
                if f.name in ENCODER_OWNS and getattr(self, f.name) != f.default
            ]
            if ignored:
                raise ValueError(
                    f"{ignored[0]} comes from the encoder (encoder=DIR brings its "
                    f"vocabulary, embedding and LSTM sizes); drop {ignored[0]}"
                )
        if self.weight_drop is not None and not self.encoder:
            raise ValueError(
                "weight_drop applies to a pretrained encoder's LSTMs; set "
                "encoder=DIR or drop weight_drop"
            )
        if self.pooling and "last" in self.pooling and len(self.pooling) > 1 and not self.encoder:
            raise ValueError(
                "pooling 'last' (the recurrent layer's final output) cannot be "
                f"combined with others; got {','.join(self.pooling)}"
            )


class KerasTextModel(KerasModel):
    """Word tokenizer + embedding + ``layers`` + pooling; the base adds the sigmoid output."""

    name = "keras-text"
    Params = TextParams
    # what `kagglekit tune` searches (a --config [tune.space] table overrides it)
    search_space = {
        "learning_rate": Float(1e-4, 1e-2, log=True),
        "dropout": Float(0.0, 0.5),
        "spatial_dropout": Float(0.0, 0.5),
        "units": Choice((32, 64, 128)),
        "epochs": Int(2, 10),
    }
    default_pooling: tuple[str, ...] = ("max",)
    recurrent = False
    accepts_encoder = False  # starts from a pretrained LSTM language model (encoder=DIR)
    saved_files = ("tokenizer.json",)
    encoder_ = None

    def pooling(self) -> tuple[str, ...]:
        default = ("last", "max", "avg") if self.params.encoder else self.default_pooling
        chosen = tuple(self.params.pooling or default)
        if "last" in chosen and not self.recurrent:
            raise KaggleKitError(
                f"{self.name}: pooling 'last' needs a recurrent layer; use max, avg or attention"
            )
        return chosen

    # -- the family's encoder ----------------------------------------------------------
    def fit_encoder(self, train, valid):
        p = self.params
        self.pooling()  # a bad pooling fails before any work
        if p.encoder:
            return self.pretrained_encoder(train)
        tok = WordTokenizer(
            lowercase=p.lowercase, filters=p.filters, max_words=p.max_words, min_count=p.min_count
        )
        extra = []
        if p.vocab_from_test:
            extra += list(valid.text) if valid is not None else []
            extra += list(self.unlabelled_texts) if self.unlabelled_texts is not None else []
        if extra:
            tok.fit(list(train.text) + extra)
            encoded = tok.encode(train.text, cache=p.cache)
        else:  # the fold's training texts only: one pass fits and encodes
            encoded = tok.fit_encode(train.text, cache=p.cache)
        self.tokenizer_ = tok
        lengths = encoded.lengths
        self.maxlen_ = int(p.maxlen or choose_maxlen(lengths, p.maxlen_percentile))
        vocab = tok.vocabulary()
        self.vocab_size_ = len(vocab)
        self._matrix, self._embedding_report = None, None
        if p.embeddings:
            from kagglekit.text.embeddings import embedding_matrix

            result = embedding_matrix(
                p.embeddings,
                vocab,
                encoded.token_counts(len(vocab)),
                combine=p.embeddings_combine,
                seed=int(self.seed),
                skip_rows=2,
                pad_row=PAD_ID,
                fallbacks=p.case_fallbacks,
                progress=p.progress,
                cache=p.cache,
            )
            self._matrix, self._embedding_report = result.matrix, result.report
        self.embedding_dim_ = int(
            self._matrix.shape[1] if self._matrix is not None else p.embedding_dim
        )
        self.trainable_embeddings_ = bool(
            p.trainable_embeddings if p.trainable_embeddings is not None else self._matrix is None
        )
        self._lengths = lengths
        return encoded.truncate(self.maxlen_, p.truncating)

    @classmethod
    def check_inputs(cls, params) -> None:
        super().check_inputs(params)
        cls.check_encoder(params)

    @classmethod
    def check_encoder(cls, params) -> None:
        """encoder=DIR: only -m lstm takes one, never with embeddings, and DIR must hold one
        (named before any work; ``load_encoder`` checks its contents at fit)."""
        if not params.encoder:
            return
        from kagglekit.errors import ParamError
        from kagglekit.keras.language_model import check_encoder_folder

        if not cls.accepts_encoder:
            raise ParamError(
                f"{cls.name}: encoder=DIR is an LSTM language model's encoder "
                f"(kagglekit pretrain --model lstm); use -m lstm"
            )
        if params.embeddings:
            raise ParamError(
                "encoder and embeddings exclude each other: the encoder brings its own embedding"
            )
        check_encoder_folder(params.encoder)

    def pretrained_encoder(self, train):
        """Load ``encoder=DIR``: its vocabulary replaces the fold's, its embedding and LSTMs
        are the body (weights set in ``body``)."""
        from kagglekit.keras.language_model import load_encoder

        p = self.params
        self.check_encoder(p)
        self.encoder_ = load_encoder(p.encoder)
        self.tokenizer_ = self.encoder_.tokenizer
        encoded = self.tokenizer_.encode(train.text, cache=p.cache)
        self.maxlen_ = int(p.maxlen or choose_maxlen(encoded.lengths, p.maxlen_percentile))
        self.vocab_size_ = int(self.encoder_.config["vocab_size"])
        self.embedding_dim_ = int(self.encoder_.config["embedding_dim"])
        self.trainable_embeddings_ = True
        self._matrix, self._embedding_report, self._lengths = None, None, encoded.lengths
        return encoded.truncate(self.maxlen_, p.truncating)

    def features(self, texts):
        p = self.params
        return self.tokenizer_.encode(texts, cache=p.cache).truncate(self.maxlen_, p.truncating)

    # -- the network -------------------------------------------------------------------
    def body(self, keras):
        from kagglekit.keras.layers import PaddingMask

        p = self.params
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        mask = PaddingMask(name="padding_mask")(ids)
        if self.encoder_ is not None:
            return ids, self.pretrained_body(keras, ids, mask)
        self.group_names_ = ["embedding"]
        embedding = keras.layers.Embedding(
            self.vocab_size_,
            self.embedding_dim_,
            trainable=self.trainable_embeddings_,
            name="embedding",
        )
        x = embedding(ids)
        if getattr(self, "_matrix", None) is not None:
            embedding.set_weights([self._matrix])
        if p.spatial_dropout:
            x = keras.layers.SpatialDropout1D(p.spatial_dropout, name="spatial_dropout")(x)
        x = self.layers(keras, x, mask)
        if p.dense_units:
            x = keras.layers.Dense(p.dense_units, activation="relu", name="head")(x)
        return ids, x

    def pretrained_body(self, keras, ids, mask):
        from kagglekit.keras.language_model import encoder_layer_names, encoder_stack

        p, config = self.params, self.encoder_.config
        drop = config.get("weight_drop", 0.0) if p.weight_drop is None else p.weight_drop
        _, x = encoder_stack(
            keras,
            ids,
            mask,
            config,
            input_dropout=p.spatial_dropout,
            hidden_dropout=p.spatial_dropout,
            weight_drop=float(drop),
            seed=int(self.seed),
        )
        self.encoder_.set_weights(keras.Model(ids, x))
        self.group_names_ = encoder_layer_names(config)
        x = self.pool(keras, x, mask)
        # ULMFiT's PoolingLinearClassifier: BatchNorm -> dropout -> Dense(relu) -> BatchNorm
        # (the base adds dropout and the output). The language model's pooled states vary
        # little from text to text; without the normalization a plain Dense head on them
        # trains to a near-constant output.
        x = keras.layers.BatchNormalization(name="head_norm_1")(x)
        if p.dropout:
            x = keras.layers.Dropout(p.dropout, name="head_dropout")(x)
        x = keras.layers.Dense(p.dense_units or ULMFIT_HEAD_UNITS, activation="relu", name="head")(
            x
        )
        return keras.layers.BatchNormalization(name="head_norm_2")(x)

    def layers(self, keras, x, mask):  # pragma: no cover - interface
        raise NotImplementedError

    def layer_groups(self, model) -> list[list]:
        """The embedding, then the convolution / recurrent layer(s), bottom to top."""
        return [list(model.get_layer(name).trainable_weights) for name in self.group_names_]

    def pool(self, keras, h, mask):
        from kagglekit.keras.layers import pool

        return pool(h, mask, self.pooling())

    # -- record and saved state --------------------------------------------------------
    def describe(self) -> dict:
        lengths = self._lengths
        return {
            "vocab_size": self.vocab_size_,
            "maxlen": self.maxlen_,
            "train_length_percentiles": {
                str(q): float(np.percentile(lengths, q)) for q in (50, 90, 99, 100)
            }
            if len(lengths)
            else {},
            "truncated_rows": int((lengths > self.maxlen_).sum()),
            "trainable_embeddings": self.trainable_embeddings_,
            "embedding_dim": self.embedding_dim_,
            "embeddings": self._embedding_report,
            **(
                {
                    "encoder": {
                        "path": str(self.encoder_.path),
                        "layer_sizes": self.encoder_.config["layer_sizes"],
                        "pretrain_key": self.encoder_.record.get("key"),
                        "texts": self.encoder_.record.get("texts"),
                    }
                }
                if self.encoder_ is not None
                else {}
            ),
        }

    def save_extra(self, directory: Path) -> None:
        (directory / "tokenizer.json").write_text(self.tokenizer_.to_json(), encoding="utf-8")

    def restore(self, state: dict, directory: Path) -> None:
        self.tokenizer_ = WordTokenizer.from_json(
            (directory / "tokenizer.json").read_text(encoding="utf-8")
        )


class DenseText(KerasTextModel):
    """Embedding + global average pooling + sigmoid (the course's 'dense' model)."""

    name = "dense"
    default_pooling = ("avg",)

    @dataclass
    class Params(TextParams):
        spatial_dropout: float = 0.0

    def layers(self, keras, x, mask):
        return self.pool(keras, x, mask)


class Conv1DText(KerasTextModel):
    """Embedding + Conv1D(units, kernel_size, relu) + global max pooling."""

    name = "conv1d"
    default_pooling = ("max",)

    @dataclass
    class Params(TextParams):
        kernel_size: int = 5

        def validate(self):
            TextParams.validate(self)
            if self.kernel_size < 1:
                raise ValueError(f"kernel_size must be >= 1, got {self.kernel_size}")

    def layers(self, keras, x, mask):
        self.group_names_.append("conv")
        h = keras.layers.Conv1D(
            self.params.units,
            self.params.kernel_size,
            padding="same",
            activation="relu",
            name="conv",
        )(x)
        return self.pool(keras, h, mask)


class RecurrentText(KerasTextModel):
    """A recurrent layer (``layer_name``), optionally bidirectional, then pooling."""

    recurrent = True
    layer_name = "GRU"
    bidirectional = False
    default_pooling = ("last",)

    def layers(self, keras, x, mask):
        pooling = self.pooling()
        sequences = pooling != ("last",)
        layer = getattr(keras.layers, self.layer_name)(
            self.params.units, return_sequences=sequences, name=self.layer_name.lower()
        )
        if self.bidirectional:
            layer = keras.layers.Bidirectional(layer, name="bidirectional")
        self.group_names_.append(layer.name)
        h = layer(x, mask=mask)
        return self.pool(keras, h, mask) if sequences else h


class SimpleRNNText(RecurrentText):
    """Embedding + SimpleRNN(units) (final output)."""

    name = "simplernn"
    layer_name = "SimpleRNN"


class LSTMText(RecurrentText):
    """Embedding + LSTM(units) (final output); or a pretrained AWD-LSTM encoder
    (``encoder=DIR``) + concat pooling (ULMFiT)."""

    name = "lstm"
    layer_name = "LSTM"
    accepts_encoder = True


class GRUText(RecurrentText):
    """Embedding + GRU(units) (final output)."""

    name = "gru"
    layer_name = "GRU"


class BiLSTMText(RecurrentText):
    """Embedding + Bidirectional(LSTM(units)) (final outputs)."""

    name = "bilstm"
    layer_name = "LSTM"
    bidirectional = True


class BiGRUText(RecurrentText):
    """SpatialDropout + Bidirectional(GRU(units)) + concatenated max/avg pooling (Quora/Jigsaw)."""

    name = "bigru"
    layer_name = "GRU"
    bidirectional = True
    default_pooling = ("max", "avg")


MODELS = (DenseText, Conv1DText, SimpleRNNText, LSTMText, GRUText, BiLSTMText, BiGRUText)


@hookimpl
def register_models(register):
    for cls in MODELS:
        register(cls.name, cls)


@hookimpl
def register_pretrain_families(register):
    from kagglekit.keras.language_model import LstmLmPretraining

    register("lstm", LstmLmPretraining)
