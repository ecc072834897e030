"""``KerasModel``: the base class of every Keras model family.

It owns what families share: seeding (``keras.utils.set_random_seed``), the accelerator
(detected once per process), the choice of early-stopping rows (``kagglekit.keras.stopping``),
the optimizer and schedule, the one training loop (``kagglekit.keras.training``), the
``fit_info_`` record, prediction in the rows' order, and one saved-fold layout::

    params.json   hyperparameters + seed            (kagglekit.model.Model.save_params)
    model.keras   architecture + weights            (loaded with safe_mode=True)
    state.json    n_targets, maxlen, inputs, fit_info and the family's own JSON state
    ...           the family's files (tokenizer.json)

No pickle anywhere. A family declares only what differs:

    fit_encoder(train, valid) -> features of the training rows (learns/loads its tokenizer)
    features(texts)           -> Ragged token ids or a float matrix
    body(keras)               -> (inputs, pooled features); the base adds the sigmoid output
    describe() / state() / restore(state, directory) / save_extra(directory)   (optional)

Without a validation fold (``kagglekit fit``) the model trains ``epochs`` epochs, or replays
the CV recipe given by ``set_context(recipe={"epochs": N, "learning_rates": [...]})``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from kagglekit.errors import KaggleKitError, ParamError
from kagglekit.keras import require
from kagglekit.keras.stopping import MIN_INNER_ROWS, holdout_split, resolve_monitor
from kagglekit.model import Model

Schedule = Literal[
    "constant",
    "plateau",
    "exponential",
    "cosine",
    "warmup-linear",
    "slanted-triangular",
    "one-cycle",
]


@dataclass
class KerasParams(Model.Params):
    epochs: int = 10
    batch_size: int = 32
    predict_batch_size: int = 128
    learning_rate: float | None = 1e-3  # None: the family's default_learning_rate()
    lr_schedule: Schedule = "plateau"
    lr_decay: float = 0.5
    warmup_ratio: float = 0.1
    optimizer: Literal["adam", "adamw"] = "adam"
    weight_decay: float = 0.0
    clipnorm: float | None = None  # clip the global gradient norm
    # ULMFiT's classifier recipe, for every family that names its layer groups
    llrd: float = 1.0  # discriminative rates: group i of L trains at lr * llrd ** (L - i)
    unfreeze: Literal["none", "gradual"] = "none"  # gradual: one more group per epoch
    dropout: float = 0.0
    early_stopping: Literal["inner", "valid", "off"] = "inner"
    inner_fraction: float = 0.1
    patience: int = 2
    monitor: str = "auto"
    class_weight: str | None = None
    bucketing: bool = True
    bucket_multiple: int = 8
    bucket_pow2: bool | None = None
    accelerator: Literal["auto", "cpu", "gpu", "tpu"] = "auto"
    mixed_precision: bool = True
    jit_compile: bool | None = None  # None: Keras' default
    verbose: int = 1  # 0 silent; 1 a bar on a terminal, else a line per epoch; 2 lines
    tensorboard: bool = True
    teacher: str | None = None  # a CV run whose OOF probabilities are soft targets
    distill_alpha: float = 0.5  # the teacher's share of the targets
    temperature: float = 1.0  # the teacher's probabilities as sigmoid(logit(p) / T)

    def validate(self):
        checks = [
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (
                self.predict_batch_size >= 1,
                f"predict_batch_size must be >= 1, got {self.predict_batch_size}",
            ),
            (
                self.learning_rate is None or self.learning_rate > 0,
                f"learning_rate must be > 0, got {self.learning_rate}",
            ),
            (0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay}"),
            (
                0 <= self.warmup_ratio < 1,
                f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}",
            ),
            (0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}"),
            (0 < self.llrd <= 1, f"llrd must be in (0, 1], got {self.llrd}"),
            (
                0 < self.inner_fraction < 1,
                f"inner_fraction must be in (0, 1), got {self.inner_fraction}",
            ),
            (self.patience >= 1, f"patience must be >= 1, got {self.patience}"),
            (
                self.bucket_multiple >= 1,
                f"bucket_multiple must be >= 1, got {self.bucket_multiple}",
            ),
            (
                self.class_weight in (None, "balanced"),
                f"class_weight must be balanced or none, got {self.class_weight!r}",
            ),
            (self.verbose in (0, 1, 2), f"verbose must be 0, 1 or 2, got {self.verbose}"),
            (
                0 <= self.distill_alpha <= 1,
                f"distill_alpha must be in [0, 1], got {self.distill_alpha}",
            ),
            (self.temperature > 0, f"temperature must be > 0, got {self.temperature}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


def labels(y) -> np.ndarray:
    y = np.asarray(y, dtype=np.float32)
    return y[:, None] if y.ndim == 1 else y


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


class KerasModel(Model):
    """Base class: tokenizer/encoder (family) -> ``body`` (family) -> one sigmoid per target."""

    name = "keras"
    Params = KerasParams
    keras_modules: tuple[str, ...] = ()  # imported before a saved fold is loaded
    extra = "keras"  # pip install 'kagglekit[keras]'; checked before any work (params.py)
    extra_modules: tuple[str, ...] = ("keras", "tokenizers")
    saved_files: tuple[str, ...] = ()  # the family's own files in a saved fold
    soft_targets = True  # trains on probabilities as targets (soft pseudo-labels, distillation)

    # context from the CV/fit loop (set_context), defaults until it is called
    log_dir = None
    unlabelled_texts = None
    recipe = None
    # set by fit_encoder: the longest row batches are padded to (0: dense features), and a
    # backbone's input names (None: one id matrix, or a feature matrix)
    maxlen_ = 0
    model_inputs = None

    # -- hooks -------------------------------------------------------------------------
    @classmethod
    def recipe_from_cv(cls, fit_infos: list[dict]) -> dict:
        """What ``kagglekit fit`` replays from a CV run's folds (called by cv.run_fit)."""
        from kagglekit.keras.stopping import recipe_from_fold_infos

        return recipe_from_fold_infos(fit_infos)

    def set_context(self, log_dir=None, unlabelled=None, recipe=None, **_):
        """Called by the CV/fit loop: where TensorBoard logs go, the unlabelled test texts
        (used only by families that ask, e.g. ``vocab_from_test``) and, for a full fit, the
        CV recipe to replay (``{"epochs": N, "learning_rates": [...]}`` or None)."""
        self.log_dir = log_dir
        self.unlabelled_texts = (
            None if unlabelled is None else getattr(unlabelled, "text", unlabelled)
        )
        self.recipe = recipe

    def fit_encoder(self, train, valid):  # pragma: no cover - interface
        raise NotImplementedError

    def features(self, texts):  # pragma: no cover - interface
        raise NotImplementedError

    def body(self, keras):  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        return {}

    def state(self) -> dict:
        return {}

    def restore(self, state: dict, directory: Path) -> None:
        pass

    def save_extra(self, directory: Path) -> None:
        pass

    def optimizer_options(self, model) -> dict:
        """Extra ``training.make_optimizer`` keywords for a built ``model``
        (``gradient_accumulation_steps``, ``use_ema``, ...); none by default."""
        return {}

    def layer_groups(self, model) -> list[list]:
        """The trainable variables below the head in groups, bottom (embeddings) to top,
        for ``llrd`` and ``unfreeze=gradual``; a family without groups refuses both."""
        return []

    def group_options(self, model) -> dict:
        """``make_optimizer`` keywords for ``llrd`` and ``unfreeze`` (none when both off)."""
        p = self.params
        if p.llrd >= 1 and p.unfreeze == "none":
            return {}
        groups = [g for g in self.layer_groups(model) if g]
        if not groups:
            raise ParamError(
                f"{self.name}: llrd and unfreeze=gradual need layer groups below "
                f"the head, and {self.name} has none; drop those parameters"
            )
        n = len(groups)
        group_of = {id(v): j for j, group in enumerate(groups) for v in group}
        scales = (
            {id(v): p.llrd ** (n - j) for j, group in enumerate(groups) for v in group}
            if p.llrd < 1
            else {}
        )
        return {
            "lr_scales": scales,
            "group_of": group_of,
            "n_groups": n,
            "gradual": p.unfreeze == "gradual",
        }

    # -- shared pieces -----------------------------------------------------------------
    def accelerator(self):
        """The accelerator, detected once per process (``kagglekit.accelerator.detect``)."""
        from kagglekit.accelerator import detect

        return detect(self.params.accelerator)

    def default_learning_rate(self) -> float:
        """The rate used when ``learning_rate`` is none."""
        return 1e-3

    def learning_rate(self) -> float:
        p = self.params
        return float(
            p.learning_rate if p.learning_rate is not None else self.default_learning_rate()
        )

    def build(self, keras, n_targets: int):
        from kagglekit.keras.layers import classifier

        inputs, features = self.body(keras)
        return classifier(
            inputs,
            features,
            n_targets=n_targets,
            dropout=self.params.dropout,
            name=self.name,
            msd=int(getattr(self.params, "msd", 1) or 1),
        )

    def _bucket(self, acc) -> bool:
        return bool(self.params.bucketing) and acc.kind != "tpu"  # a TPU needs static shapes

    @staticmethod
    def _fixed_batches(acc) -> bool:
        """Whether every batch must have the full batch size: on TPUs, with several
        replicas, and on JAX (one compiled program per shape). Training then drops the
        last partial batch (other rows each epoch, as they are reshuffled); prediction
        pads it with repeated rows."""
        return acc.kind == "tpu" or acc.replicas > 1 or acc.backend != "tensorflow"

    def _pow2(self, acc) -> bool:
        """Power-of-two bucket widths: default on JAX, which compiles one program per shape."""
        p = self.params
        return p.bucket_pow2 if p.bucket_pow2 is not None else acc.backend != "tensorflow"

    def _sample_weight(self, y):
        if self.params.class_weight != "balanced":
            return None
        n = len(y)
        pos = np.clip(y.sum(axis=0), 1, None)
        neg = np.clip(n - y.sum(axis=0), 1, None)
        w = np.where(y > 0.5, n / (2 * pos), n / (2 * neg))
        return w.mean(axis=1).astype(np.float32)

    def _predict_source(self, model, source) -> np.ndarray:
        from kagglekit.keras.data import predict_batches

        p, acc = self.params, self.accelerator()
        batch = acc.global_batch_size(p.predict_batch_size)
        return predict_batches(
            model,
            source,
            batch_size=batch,
            maxlen=self.maxlen_,
            bucket=self._bucket(acc),
            multiple=p.bucket_multiple,
            pad_rows_to=batch if self._fixed_batches(acc) else acc.replicas,
            pow2=self._pow2(acc),
            inputs=self.model_inputs,
        )

    run_params = ("teacher",)  # a run id here becomes the run's folder (params.resolve_models)

    @classmethod
    def check_inputs(cls, params) -> None:
        if params.teacher:  # a wrong teacher=RUN is named before any work
            from kagglekit.keras.distill import teacher_run

            teacher_run(params.teacher)

    def training_targets(self, train, valid, y, teacher=None) -> np.ndarray:
        """What the model learns: the labels, mixed with the OOF probabilities of the
        ``teacher`` run (``kagglekit.keras.distill``) when there is one."""
        if teacher is None:
            return y
        from kagglekit.keras.distill import distill_targets, teacher_oof

        p = self.params
        return distill_targets(
            y, teacher_oof(p.teacher, train, valid, run=teacher), p.distill_alpha, p.temperature
        )

    def _stopping_rows(self, x, y, valid, targets=None):
        """(mode, fit_x, fit_y, stop_x, stop_y): the rows trained on (with ``targets``, the
        labels by default) and the rows early stopping watches, scored on their 0/1 labels.
        A full fit (no validation fold) watches none."""
        from kagglekit.keras.data import take

        p = self.params
        targets = y if targets is None else targets
        mode = "off" if valid is None else p.early_stopping
        if mode == "inner" and p.epochs > 1 and len(y) >= MIN_INNER_ROWS:
            fit_idx, stop_idx = holdout_split(y, p.inner_fraction, int(self.seed))
            stop_y = (y[stop_idx] >= 0.5).astype(np.float32)  # soft pseudo-labels: as 0/1
            return mode, take(x, fit_idx), targets[fit_idx], take(x, stop_idx), stop_y
        if mode == "valid" and valid.y is not None and len(valid):
            return mode, x, targets, self.features(list(valid.text)), labels(valid.y)
        return mode, x, targets, None, None

    # -- training ----------------------------------------------------------------------
    def fit(self, train, valid=None):
        keras = require("keras")
        from kagglekit.keras import training
        from kagglekit.keras.data import Batches
        from kagglekit.keras.distill import teacher_leaks, teacher_run

        start = time.perf_counter()
        p = self.params
        teacher = teacher_run(p.teacher) if p.teacher else None  # read once per fold
        if train.y is None:
            raise KaggleKitError(f"{self.name}: the training rows have no labels")
        acc = self.accelerator()
        acc.apply(mixed_precision=p.mixed_precision)
        keras.utils.set_random_seed(int(self.seed))
        y = labels(train.y)
        targets = self.training_targets(train, valid, y, teacher)
        x = self.fit_encoder(train, valid)
        mode, fit_x, fit_y, stop_x, stop_y = self._stopping_rows(x, y, valid, targets)
        del x  # the split holds copies: the fold's whole feature set is not kept beside them
        recipe = self.recipe if valid is None else None
        epochs = int(recipe["epochs"]) if recipe else p.epochs
        replay = recipe.get("learning_rates") if recipe and p.lr_schedule == "plateau" else None

        batch = acc.global_batch_size(p.batch_size)
        fixed = self._fixed_batches(acc) and len(fit_y) >= batch
        steps = (len(fit_y) // batch if fixed else math.ceil(len(fit_y) / batch)) or 1
        lr = self.learning_rate()
        with acc.scope():
            model = self.build(keras, y.shape[1])
            groups = self.group_options(model)
            optimizer = training.make_optimizer(
                lr,
                steps * p.epochs,
                schedule=p.lr_schedule,
                optimizer=p.optimizer,
                weight_decay=p.weight_decay,
                warmup_ratio=p.warmup_ratio,
                clipnorm=p.clipnorm,
                **self.optimizer_options(model),
                **groups,
            )
            compile_kw = {} if p.jit_compile is None else {"jit_compile": p.jit_compile}
            model.compile(optimizer=optimizer, loss="binary_crossentropy", **compile_kw)
        data = Batches(
            fit_x,
            fit_y,
            self._sample_weight(fit_y),
            batch_size=batch,
            maxlen=self.maxlen_,
            shuffle=True,
            bucket=self._bucket(acc),
            seed=int(self.seed),
            multiple=p.bucket_multiple,
            drop_remainder=fixed,
            pow2=self._pow2(acc),
            inputs=self.model_inputs,
        )
        score, greater, name = resolve_monitor(p.monitor, y.shape[1])
        evaluate = None
        if stop_x is not None:

            def evaluate():
                return score(stop_y, self._predict_source(model, stop_x))

        monitor = training.Monitor(
            evaluate,
            name=name if evaluate is not None else None,
            prefix=mode,
            greater_is_better=greater,
            patience=p.patience,
            schedule=p.lr_schedule,
            learning_rate=lr,
            lr_decay=p.lr_decay,
            replay=replay,
        )
        callbacks, notes = [], []
        if groups.get("gradual"):
            callbacks.append(training.Unfreeze(optimizer))
        if self.log_dir is not None and p.tensorboard:
            board, note = training.tensorboard(self.log_dir)
            callbacks += [board] if board is not None else []
            notes += [note] if note else []
        summary = training.fit_epochs(
            model, data, epochs=epochs, monitor=monitor, callbacks=callbacks, verbose=p.verbose
        )
        model.optimizer = None  # frees the optimizer's moments; predict does not need them
        self.model_ = model
        self.n_targets_ = int(y.shape[1])
        info = {
            **summary,
            "early_stopping": mode,
            "lr_schedule": p.lr_schedule,
            "n_fit": int(len(fit_y)),
            "n_early_stopping": 0 if stop_y is None else int(len(stop_y)),
            "recipe": recipe,
            **(
                {"layer_groups": groups["n_groups"], "llrd": p.llrd, "unfreeze": p.unfreeze}
                if groups
                else {}
            ),
            "backend": acc.backend,
            "accelerator": acc.summary(),
            "precision": acc.precision if p.mixed_precision else "float32",
            "global_batch_size": batch,
            "bucketing": data.options["bucket"],
            "padding_efficiency": data.padding_efficiency(),
            **self.describe(),
            **(
                {
                    "teacher": str(p.teacher),
                    "distill_alpha": p.distill_alpha,
                    "temperature": p.temperature,
                    "teacher_not_held_out_because": teacher_leaks(teacher),
                }
                if p.teacher
                else {}
            ),
            "seconds": round(time.perf_counter() - start, 3),
        }
        if groups.get("gradual"):
            n = groups["n_groups"]
            info["unfrozen_groups"] = {
                "of": n,
                "last_epoch": min(summary["epochs_run"] - 1, n),
                "best_epoch": min(summary["best_epoch"] - 1, n),
            }
            if info["unfrozen_groups"]["best_epoch"] < n:
                notes.append(
                    f"unfreeze=gradual: the kept epoch ({summary['best_epoch']}) trained "
                    f"only the head and the top {info['unfrozen_groups']['best_epoch']} "
                    f"of {n} layer groups (all of them train from epoch {n + 1})"
                )
        if notes:
            info["notes"] = notes
        self.fit_info_ = json.loads(json.dumps(info, default=_jsonable))
        return self

    # -- prediction --------------------------------------------------------------------
    def predict(self, frame):
        texts = getattr(frame, "text", frame)
        return self._predict_source(self.model_, self.features(list(texts))).astype(np.float64)

    # -- persistence -------------------------------------------------------------------
    def save(self, directory) -> None:
        directory = self.save_params(directory)
        self.model_.save(directory / "model.keras")
        state = {
            "n_targets": self.n_targets_,
            "maxlen": int(self.maxlen_),
            "inputs": self.model_inputs,
            "fit_info": getattr(self, "fit_info_", None),
            **self.state(),
        }
        (directory / "state.json").write_text(json.dumps(state, indent=2, default=_jsonable))
        self.save_extra(directory)

    @classmethod
    def load_state(cls, directory, files=()) -> KerasModel:
        """An unfitted model with a saved fold's params and state (``state.json``, the
        family's ``restore``), after checking the fold's files are there; the weights are
        the caller's (``model.keras`` here, adapters for the ``llm`` family)."""
        directory = Path(directory)
        missing = [
            f
            for f in ("params.json", *files, "state.json", *cls.saved_files)
            if not (directory / f).is_file()
        ]
        if missing:
            raise KaggleKitError(
                f"{directory}: not a saved {cls.name} model (missing {', '.join(missing)})"
            )
        model = cls.from_saved_params(directory)
        state = json.loads((directory / "state.json").read_text())
        model.n_targets_ = int(state["n_targets"])
        model.maxlen_ = int(state.get("maxlen") or 0)
        model.model_inputs = state.get("inputs")
        model.fit_info_ = state.get("fit_info")
        model.restore(state, directory)
        return model

    @classmethod
    def load(cls, directory):
        keras = require("keras")
        import kagglekit.keras.awd  # noqa: F401 - registers the weight-dropped LSTM
        import kagglekit.keras.layers  # noqa: F401 - registers the custom layers
        import kagglekit.keras.training  # noqa: F401 - registers the schedule

        for module in cls.keras_modules:
            require(module)
        model = cls.load_state(directory, ("model.keras",))
        directory = Path(directory)
        model.model_ = keras.saving.load_model(
            directory / "model.keras", compile=False, safe_mode=True
        )
        if model.params.jit_compile is not None:
            model.model_.jit_compile = model.params.jit_compile
        return model
