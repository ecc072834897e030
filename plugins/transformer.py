"""Fine-tuned transformers on KerasHub: ``transformer`` (any preset), ``distilbert``, ``bert``.

``-p preset=`` takes a local directory (KerasHub preset, Hugging Face layout), an alias
(``distilbert``, ``distilbert-multilingual``, ``bert``), a KerasHub preset name or a
``kaggle://`` / ``hf://`` handle; see ``kagglekit.hub.presets``. What differs from the other
Keras families: texts are tokenized with the checkpoint's own tokenizer (``tokenizers``)
and fed to the backbone + a masked head (``-p head=cls|mean|max|mean-max|gru|bigru|lstm|bilstm``);
the recipe is AdamW (no weight decay on biases/LayerNorm), warmup + linear decay and
gradient clipping. With ``freeze_backbone=true`` and a pooling head (cls, mean, max,
mean-max, last; any ``pool_layers``) the backbone never enters the trained model: its pooled
features are computed once per distinct text (``kagglekit.hub.encoders.PooledEncoder``,
cached by content hash like ``sentence-encoder``'s embeddings) and every fold, and test-time
prediction, trains or runs only the head on them (``feature_cache=false``: the backbone runs
inside the model every fold, as the RNN heads gru/bigru/lstm/bilstm, which need the whole
sequence, always do). Everything else (length bucketing with dynamic padding, early stopping
on an inner 10% of the training rows, mixed precision, accelerator, saved fold) is
``kagglekit.keras.model.KerasModel``'s. Keras is imported inside fit/predict/load only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kagglekit.errors import ParamError
from kagglekit.hookspecs import hookimpl
from kagglekit.keras.model import KerasModel, KerasParams, Schedule
from kagglekit.tune.space import Choice, Float

HEADS = ("cls", "mean", "max", "mean-max", "last", "gru", "bigru", "lstm", "bilstm")
POOLING_HEADS = ("cls", "mean", "max", "mean-max", "last")  # a frozen backbone's are cached


@dataclass
class TransformerParams(KerasParams):
    preset: str | None = None
    head: Literal["cls", "mean", "max", "mean-max", "last", "gru", "bigru", "lstm", "bilstm"] = (
        "mean"
    )
    max_length: int | None = None  # tokens per text; None: 128, or the backbone's limit
    truncation: Literal["head", "tail", "head+tail"] = "head"  # which tokens a long text keeps
    # fine-tuning recipe (each off by default)
    msd: int = 1  # multi-sample dropout: the head averaged over msd dropout samples
    grad_accum: int = 1  # gradient accumulation steps (optimizer update every N batches)
    ema: float = 0.0  # EMA of the weights with this momentum (e.g. 0.999); 0: off
    remat: bool = False  # gradient checkpointing of the backbone's blocks (keras.remat)
    pool_layers: int = 1  # the head pools the mean of the last N hidden layers
    lora_rank: int = 0  # > 0: frozen backbone + LoRA adapters of this rank
    lora_targets: str | None = None  # comma-separated layer names; None: KerasHub's default
    base_dtype: Literal["auto", "float32", "bfloat16"] = "float32"  # the backbone's weights
    dropout: float = 0.1
    rnn_units: int = 64
    freeze_backbone: bool = False
    # with freeze_backbone and a pooling head (not gru/bigru/lstm/bilstm): the pooled features
    # are computed once per text and cached; the folds train only the head
    feature_cache: bool = True
    epochs: int = 3
    learning_rate: float | None = None  # 3e-5 fine-tuning, 1e-3 with freeze_backbone
    lr_schedule: Schedule = "warmup-linear"
    optimizer: Literal["adam", "adamw"] = "adamw"
    weight_decay: float = 0.01
    clipnorm: float | None = 1.0
    predict_batch_size: int = 64
    jit_compile: bool | None = False  # XLA recompiles for every new batch shape bucketing makes

    def validate(self):
        KerasParams.validate(self)
        if self.max_length is not None and self.max_length < 4:
            raise ValueError(f"max_length must be >= 4, got {self.max_length}")
        checks = [
            (self.msd >= 1, f"msd must be >= 1, got {self.msd}"),
            (self.grad_accum >= 1, f"grad_accum must be >= 1, got {self.grad_accum}"),
            (0 <= self.ema < 1, f"ema must be in [0, 1), got {self.ema}"),
            (self.pool_layers >= 1, f"pool_layers must be >= 1, got {self.pool_layers}"),
            (self.lora_rank >= 0, f"lora_rank must be >= 0, got {self.lora_rank}"),
            (
                not (self.lora_rank and self.freeze_backbone),
                "lora_rank and freeze_backbone exclude each other (LoRA freezes the base)",
            ),
            (
                self.unfreeze == "none" or not (self.lora_rank or self.freeze_backbone),
                "unfreeze=gradual unfreezes the backbone; it excludes lora_rank and "
                "freeze_backbone",
            ),
            (
                self.llrd == 1 or not self.freeze_backbone,
                "llrd scales the backbone's rates, and freeze_backbone trains the head "
                "only; drop one of them",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


class TransformerClassifier(KerasModel):
    """Fine-tunes any KerasHub / Hugging Face transformer (-p preset=...) with a masked head."""

    name = "transformer"
    Params = TransformerParams
    # what `kagglekit tune` searches (a --config [tune.space] table overrides it)
    search_space = {
        "learning_rate": Float(1e-5, 1e-4, log=True),
        "llrd": Float(0.7, 1.0),
        "warmup_ratio": Float(0.0, 0.2),
        "max_length": Choice((128, 256, 512)),
        "batch_size": Choice((16, 32)),
    }
    keras_modules = ("keras_hub",)  # registers the backbone classes for loading
    saved_files = ("tokenizer.json",)

    @classmethod
    def check_inputs(cls, params) -> None:
        """A preset given as a local folder is checked before any work (a name or handle is
        resolved, and downloaded if need be, when the first fold loads it)."""
        super().check_inputs(params)
        if params.preset:
            from kagglekit.hub.presets import check_local

            check_local(params.preset)

    def default_learning_rate(self) -> float:
        p = self.params
        return 1e-3 if p.freeze_backbone else (2e-4 if p.lora_rank else 3e-5)

    def base_dtype(self) -> str | None:
        """The backbone's weight dtype: ``auto`` is bfloat16 on TPUs and on GPUs running
        mixed precision, else float32."""
        p = self.params
        if p.base_dtype != "auto":
            return None if p.base_dtype == "float32" else p.base_dtype
        acc = self.accelerator()
        return "bfloat16" if acc.kind in ("tpu", "gpu") and acc.precision != "float32" else None

    def load_base(self):
        """Resolve the preset and load the backbone (its blocks rematerialised with ``remat``)."""
        from kagglekit.hub.backbone import load_backbone
        from kagglekit.hub.presets import resolve

        p = self.params
        preset = resolve(p.preset, what=f"model {self.name}")
        self.preset_ = str(preset.path)
        kwargs = {"dtype": self.base_dtype()} if self.base_dtype() else {}
        with self.accelerator().scope():
            if self.frozen_features():  # never trained: one copy per process serves every fold
                from kagglekit.hub.encoders import frozen_backbone

                self._backbone = frozen_backbone(preset.path, **kwargs)
            else:
                self._backbone = load_backbone(preset.path, **kwargs)
        self.apply_remat()
        return preset

    def frozen_features(self) -> bool:
        """Whether the head trains on the frozen backbone's cached pooled features."""
        p = self.params
        return bool(
            p.freeze_backbone and p.feature_cache and p.head in POOLING_HEADS and not p.lora_rank
        )

    def frozen_encoder(self):
        """The ``PooledEncoder`` of this model's frozen backbone, head and tokenizer; it loads
        the backbone (from the same preset) only for texts not in the cache."""
        if getattr(self, "_encoder", None) is None:
            import keras

            from kagglekit.cache import content_hash
            from kagglekit.hub.encoders import PooledEncoder, weights_fingerprint
            from kagglekit.hub.presets import resolve

            p = self.params
            path = resolve(p.preset, what=f"model {self.name}").path
            key = content_hash(
                "frozen-backbone",
                weights_fingerprint(path),
                self.tokenizer_.fingerprint,
                p.head,
                p.pool_layers,
                int(self.maxlen_),
                p.truncation,
                self.base_dtype() or "float32",
                keras.config.dtype_policy().name,
            )

            def load():
                if getattr(self, "_backbone", None) is None:
                    self.load_base()
                return self._backbone

            self._encoder = PooledEncoder(
                key=key,
                tokenizer=self.tokenizer_,
                load_backbone=load,
                head=p.head,
                pool_layers=p.pool_layers,
                max_length=self.maxlen_,
                truncation=p.truncation,
                batch_size=self.accelerator().global_batch_size(p.predict_batch_size),
            )
        return self._encoder

    def apply_remat(self) -> None:
        """``remat=true``: gradient checkpointing of every backbone block
        (``kagglekit.hub.adapters.remat_blocks``; ``keras.RematScope`` itself cannot wrap
        KerasHub 0.29's blocks on TensorFlow or JAX, see there). Refused on TensorFlow for a
        backbone with dropout, whose recomputed masks would differ."""
        if not self.params.remat or self.frozen_features():
            return
        import keras

        if not hasattr(keras, "remat"):
            raise ParamError(
                f"{self.name}: remat=true needs keras.remat (Keras >= 3.9); the "
                f"installed Keras {keras.__version__} lacks it: pip install -U keras"
            )
        from kagglekit.hub.adapters import has_dropout, remat_blocks

        if keras.backend.backend() == "tensorflow" and has_dropout(self._backbone):
            raise ParamError(
                f"{self.name}: remat=true on TensorFlow needs a backbone without "
                f"dropout (the recomputed blocks would draw other dropout masks "
                f"than the forward pass); use KERAS_BACKEND=jax, or lower "
                f"batch_size with grad_accum instead"
            )
        remat_blocks(self._backbone)

    def fit_encoder(self, train, valid):
        from kagglekit.hub.backbone import backbone_inputs
        from kagglekit.hub.tokenizer import SubwordTokenizer

        p = self.params
        preset = self.load_base()
        self.tokenizer_ = SubwordTokenizer.from_directory(preset.path)
        limit = getattr(self._backbone, "max_sequence_length", None)
        self.maxlen_ = int(p.max_length or min(128, int(limit or 128)))
        if limit is not None and self.maxlen_ > int(limit):
            raise ParamError(
                f"{self.name}: max_length={self.maxlen_} is longer than the "
                f"backbone's max_sequence_length={limit}"
            )
        if self.tokenizer_.vocab_size > int(getattr(self._backbone, "vocabulary_size", 1 << 30)):
            raise ParamError(
                f"{self.name}: the tokenizer has {self.tokenizer_.vocab_size} "
                f"tokens but the backbone only {self._backbone.vocabulary_size}; "
                f"preset {preset.path} mixes two checkpoints"
            )
        self.model_inputs = backbone_inputs(self._backbone)
        self._encoder = None
        if self.frozen_features():
            self.model_inputs = None  # the model's input is the pooled feature matrix
            x = self.features(train.text)
            self.dim_ = int(x.shape[1])
            return x
        return self.features(train.text)

    def features(self, texts):
        if self.frozen_features():
            from kagglekit.hub.encoders import embed

            return embed(self.frozen_encoder(), texts)
        return self.tokenizer_.encode(texts, self.maxlen_, truncation=self.params.truncation)

    def build(self, keras, n_targets: int):
        # seeded here, so the head starts alike whether or not the backbone was loaded first
        keras.utils.set_random_seed(int(self.seed))
        return super().build(keras, n_targets)

    def body(self, keras):
        from kagglekit.hub.adapters import enable_lora
        from kagglekit.hub.backbone import sequence_head

        p = self.params
        if self.frozen_features():
            inputs = keras.Input(shape=(self.dim_,), name="pooled_features")
            return inputs, inputs
        if p.lora_rank:
            enable_lora(self._backbone, p.lora_rank, p.lora_targets)
        return sequence_head(
            self._backbone,
            head=p.head,
            rnn_units=p.rnn_units,
            freeze_backbone=p.freeze_backbone,
            pool_layers=p.pool_layers,
        )

    def layer_groups(self, model) -> list[list]:
        """The embeddings, then each transformer block (the rest of the backbone, e.g. final
        norms and pooler, trains with the head)."""
        from kagglekit.hub.adapters import layer_groups

        return layer_groups(self._backbone)

    def optimizer_options(self, model) -> dict:
        p = self.params
        options = {}
        if p.grad_accum > 1:
            options["gradient_accumulation_steps"] = p.grad_accum
        if p.ema:
            options.update(use_ema=True, ema_momentum=p.ema)
        return options

    def describe(self) -> dict:
        p = self.params
        out = {
            "preset": self.preset_,
            "max_length": self.maxlen_,
            "head": p.head,
            "truncation": p.truncation,
            "recipe_options": {
                "llrd": p.llrd,
                "unfreeze": p.unfreeze,
                "msd": p.msd,
                "grad_accum": p.grad_accum,
                "ema": p.ema,
                "remat": p.remat,
                "pool_layers": p.pool_layers,
                "lora_rank": p.lora_rank,
                "lora_targets": p.lora_targets,
            },
            "frozen_features": self.frozen_features(),
        }
        if hasattr(self, "model_"):
            out["parameters"] = count_parameters(self.model_)
        return out

    def save_extra(self, directory: Path) -> None:
        self.tokenizer_.save(directory)

    def state(self) -> dict:
        return {"dim": self.dim_} if self.frozen_features() else {}

    def restore(self, state: dict, directory: Path) -> None:
        from kagglekit.hub.tokenizer import SubwordTokenizer

        self.tokenizer_ = SubwordTokenizer.load(directory)
        if self.frozen_features():
            self.dim_ = int(state["dim"])
            self._encoder = self._backbone = None

    # -- folds rebuilt from the preset: LoRA (adapters + head only), pool_layers > 1 ---------
    def rebuilt(self) -> bool:
        """Whether a saved fold is rebuilt from the preset + weights.safetensors (LoRA: the
        trainable variables only; pool_layers > 1: all, as the model of the last N hidden
        layers does not round-trip through model.keras for every backbone)."""
        if self.frozen_features():  # model.keras holds the head alone
            return False
        return bool(self.params.lora_rank) or self.params.pool_layers > 1

    def saved_variables(self, model):
        return model.trainable_variables if self.params.lora_rank else model.variables

    def save(self, directory) -> None:
        if not self.rebuilt():
            return super().save(directory)
        import json

        from kagglekit.hub.adapters import save_variables

        directory = self.save_params(directory)
        save_variables(self.saved_variables(self.model_), directory)
        state = {
            "n_targets": self.n_targets_,
            "maxlen": int(self.maxlen_),
            "inputs": self.model_inputs,
            "fit_info": getattr(self, "fit_info_", None),
            "preset": self.params.preset,
            "rebuilt_from_preset": True,
        }
        (directory / "state.json").write_text(json.dumps(state, indent=2, default=str))
        self.save_extra(directory)

    @classmethod
    def load(cls, directory):
        from kagglekit.hub.adapters import WEIGHTS_FILE

        directory = Path(directory)
        if not (directory / WEIGHTS_FILE).is_file():
            return super().load(directory)
        return cls.load_rebuilt(directory)

    @classmethod
    def load_rebuilt(cls, directory: Path):
        """Rebuild a fold: the base from the same preset, then the saved variables."""

        from kagglekit.hub.adapters import load_variables
        from kagglekit.keras import require

        keras = require("keras")
        require("keras_hub")
        model = cls.load_state(directory)
        model.accelerator().apply(mixed_precision=model.params.mixed_precision)
        model.load_base()
        with model.accelerator().scope():
            model.model_ = model.build(keras, model.n_targets_)
        load_variables(model.saved_variables(model.model_), directory)
        return model


def count_parameters(model) -> dict:
    """Trainable and total parameter counts of a Keras model."""
    import numpy as np

    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    total = sum(int(np.prod(v.shape)) for v in model.variables)
    return {"trainable": trainable, "total": total}


class DistilBert(TransformerClassifier):
    """DistilBERT fine-tuning (-p preset=distilbert by default; any DistilBERT-family preset)."""

    name = "distilbert"

    @dataclass
    class Params(TransformerParams):
        preset: str | None = "distilbert"


class Bert(TransformerClassifier):
    """BERT fine-tuning (-p preset=bert by default; any BERT-family preset)."""

    name = "bert"

    @dataclass
    class Params(TransformerParams):
        preset: str | None = "bert"


class DebertaV3(TransformerClassifier):
    """DeBERTa-v3 fine-tuning (-p preset=deberta_v3_base_en by default; any DeBERTa-v3
    preset directory or mounted Kaggle model). Its SentencePiece tokenizer is read from the
    preset (``kagglekit.hub.sentencepiece``)."""

    name = "deberta-v3"

    @dataclass
    class Params(TransformerParams):
        preset: str | None = "deberta_v3_base_en"


@hookimpl
def register_models(register):
    register("transformer", TransformerClassifier)
    register("deberta-v3", DebertaV3)
    register("distilbert", DistilBert)
    register("bert", Bert)


@hookimpl
def register_pretrain_families(register):
    from kagglekit.hub.pretrain import MaskedLmPretraining

    register("transformer", MaskedLmPretraining)
