"""Frozen sentence encoders + a small dense head: ``use`` and ``sentence-encoder``.

``use`` loads a Universal Sentence Encoder SavedModel directory (Kaggle Models / TF Hub layout;
``-p preset=use`` looks for the Kaggle mount and only then downloads) with
``tf.saved_model.load``. ``sentence-encoder`` loads a sentence-transformers directory (its
pooling config and Normalize module honoured; e.g. all-MiniLM-L6-v2: mean pooling + L2) or
any transformer preset (mean pooling). What differs from the other Keras families: the
texts' embeddings are computed once per run and cached (``kagglekit.hub.encoders.embed``);
each fold trains only the head: Dense(64, relu) + sigmoid by default, the head of the
popular TensorFlow course's USE model. The rest (early stopping on an inner 10% of the
training rows, best weights kept, saved fold) is ``kagglekit.keras.model.KerasModel``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kagglekit.hookspecs import hookimpl
from kagglekit.keras.model import KerasModel, KerasParams, Schedule


@dataclass
class EncoderParams(KerasParams):
    preset: str | None = None
    hidden_units: int = 64  # 0: logistic regression on the embeddings
    lr_schedule: Schedule = "constant"
    predict_batch_size: int = 1024
    max_length: int | None = None  # tokens per text (sentence-encoder); None: the model's

    def validate(self):
        KerasParams.validate(self)
        if self.hidden_units < 0:
            raise ValueError(f"hidden_units must be >= 0, got {self.hidden_units}")
        if self.llrd < 1 or self.unfreeze != "none":
            raise ValueError(
                "llrd and unfreeze do not apply: the encoder is frozen and only "
                "the head trains (use -m transformer to fine-tune it)"
            )


class EncoderHeadModel(KerasModel):
    """Base: frozen encoder (-p preset=...) -> cached embeddings -> dense head trained per fold."""

    name = "encoder-head"
    encoder_kind = "transformer"
    Params = EncoderParams

    @classmethod
    def check_inputs(cls, params) -> None:
        """A preset given as a local folder is checked before any work."""
        super().check_inputs(params)
        if params.preset:
            from kagglekit.hub.presets import check_local

            check_local(params.preset)

    def _encoder(self):
        from kagglekit.hub.encoders import load_encoder
        from kagglekit.hub.presets import resolve

        if getattr(self, "encoder_path_", None) is None:
            self.encoder_path_ = str(resolve(self.params.preset, what=f"model {self.name}").path)
        return load_encoder(
            Path(self.encoder_path_), kind=self.encoder_kind, max_length=self.params.max_length
        )

    def fit_encoder(self, train, valid):
        self.encoder_path_ = None
        x = self.features(train.text)
        self.dim_ = int(x.shape[1])
        return x

    def features(self, texts):
        from kagglekit.hub.encoders import embed

        return embed(self._encoder(), texts)

    def body(self, keras):
        inputs = keras.Input(shape=(self.dim_,), name="embedding")
        x = inputs
        if self.params.hidden_units:
            x = keras.layers.Dense(self.params.hidden_units, activation="relu", name="hidden")(x)
        return inputs, x

    def describe(self) -> dict:
        return {"dim": self.dim_, "encoder": self.encoder_path_}

    def state(self) -> dict:
        return {"encoder_path": self.encoder_path_, "dim": self.dim_}

    def restore(self, state: dict, directory: Path) -> None:
        self.encoder_path_ = state["encoder_path"]
        self.dim_ = int(state["dim"])


class UniversalSentenceEncoder(EncoderHeadModel):
    """Frozen Universal Sentence Encoder SavedModel (-p preset=use or a directory) + dense head."""

    name = "use"
    encoder_kind = "savedmodel"

    @dataclass
    class Params(EncoderParams):
        preset: str | None = "use"


class SentenceTransformer(EncoderHeadModel):
    """Frozen sentence-transformers encoder (-p preset=<dir or hf:// handle>) + dense head."""

    name = "sentence-encoder"
    encoder_kind = "transformer"


@hookimpl
def register_models(register):
    register("use", UniversalSentenceEncoder)
    register("sentence-encoder", SentenceTransformer)
