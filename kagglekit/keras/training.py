"""The one training loop: optimizers and learning-rate schedules, the monitor, early
stopping with the best weights kept, TensorBoard, progress. Importing it imports Keras.

Schedules (``lr_schedule``): ``constant``; ``plateau`` (the rate is multiplied by
``lr_decay`` after an epoch in which the monitored value did not improve; down to 1e-5);
``exponential`` (``lr * lr_decay ** epoch``); ``cosine`` (per step, to 5% of the rate);
``warmup-linear`` (per step: linear warmup over ``warmup_ratio`` of the steps, then linear
decay to 0); ``slanted-triangular`` (ULMFiT: per step, up linearly over the first
``warmup_ratio`` of the steps from ``lr / 32`` to ``lr``, then down linearly to ``lr / 32``);
``one-cycle`` (fastai v1's rates, without its momentum cycling: per step, cosine up over
``warmup_ratio`` from ``lr / 25`` to ``lr``, then cosine down to ``lr / 25e4``).
Optimizers: Adam, or AdamW with weight decay off for biases and LayerNorm; ``clipnorm``
clips the global gradient norm.

Layer groups (ULMFiT's discriminative rates and gradual unfreezing, for every family that
names its groups): each variable's step is scaled by its group's factor, and a group that is
still frozen gets factor 0 (``Unfreeze`` sets the factors at each epoch's start).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

SCHEDULES = (
    "constant",
    "plateau",
    "exponential",
    "cosine",
    "warmup-linear",
    "slanted-triangular",
    "one-cycle",
)
# set per step by the optimizer's schedule
STEP_SCHEDULES = ("cosine", "warmup-linear", "slanted-triangular", "one-cycle")
MIN_LR = 1e-5
# Substrings of variable names (Keras: "bias", LayerNormalization's "gamma"/"beta")
NO_DECAY = ("bias", "gamma", "beta")


@keras.saving.register_keras_serializable(package="kagglekit")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """0 -> ``peak`` over ``warmup_steps``, then linearly to 0 at ``total_steps``."""

    def __init__(self, peak: float, warmup_steps: int, total_steps: int):
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = max(int(total_steps), 1)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = self.peak * (step + 1.0) / float(max(self.warmup_steps, 1))
        left = keras.ops.maximum(float(self.total_steps) - step, 0.0)
        decay = self.peak * left / float(max(self.total_steps - self.warmup_steps, 1))
        return keras.ops.where(step < float(self.warmup_steps), warm, decay)

    def get_config(self):
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
        }


@keras.saving.register_keras_serializable(package="kagglekit")
class SlantedTriangular(keras.optimizers.schedules.LearningRateSchedule):
    """ULMFiT's slanted triangular rates: ``peak / ratio`` -> ``peak`` linearly over the
    first ``cut_frac`` of ``total_steps``, then back down linearly to ``peak / ratio``."""

    def __init__(self, peak: float, total_steps: int, cut_frac: float = 0.1, ratio: float = 32.0):
        self.peak, self.ratio = float(peak), float(ratio)
        self.total_steps, self.cut_frac = max(int(total_steps), 1), float(cut_frac)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        cut = max(float(int(self.total_steps * self.cut_frac)), 1.0)
        up = step / cut
        down = 1.0 - (step - cut) / max(float(self.total_steps) - cut, 1.0)
        p = keras.ops.clip(keras.ops.where(step < cut, up, down), 0.0, 1.0)
        return self.peak * (1.0 + p * (self.ratio - 1.0)) / self.ratio

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "cut_frac": self.cut_frac,
            "ratio": self.ratio,
        }


@keras.saving.register_keras_serializable(package="kagglekit")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """fastai's one-cycle rates: cosine from ``peak / div`` up to ``peak`` over the first
    ``pct_start`` of ``total_steps``, then cosine down to ``peak / (div * final_div)``."""

    def __init__(
        self,
        peak: float,
        total_steps: int,
        pct_start: float = 0.25,
        div: float = 25.0,
        final_div: float = 1e4,
    ):
        self.peak, self.div, self.final_div = float(peak), float(div), float(final_div)
        self.total_steps, self.pct_start = max(int(total_steps), 1), float(pct_start)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = max(float(int(self.total_steps * self.pct_start)), 1.0)
        low, end = self.peak / self.div, self.peak / (self.div * self.final_div)

        def cosine(start, stop, frac):
            frac = keras.ops.clip(frac, 0.0, 1.0)
            return stop + (start - stop) * (1.0 + keras.ops.cos(np.pi * frac)) / 2.0

        rest = max(float(self.total_steps) - warm, 1.0)
        return keras.ops.where(
            step < warm,
            cosine(low, self.peak, step / warm),
            cosine(self.peak, end, (step - warm) / rest),
        )

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div": self.div,
            "final_div": self.final_div,
        }


if TYPE_CHECKING:
    # keras is untyped (Any to mypy): the mixin is checked as the optimizer it is mixed into
    from keras.optimizers import Optimizer as _Optimizer
else:
    _Optimizer = object


class _LayerwiseRates(_Optimizer):
    """Mixed into Adam/AdamW: each variable's step (and AdamW's decoupled weight decay, as in
    PyTorch's parameter groups) uses ``learning_rate * factor``. ``lr_scales`` maps
    ``id(variable)`` -> a fixed factor (layer-wise LR decay; 1.0 when absent);
    ``group_of`` maps ``id(variable)`` -> its layer group (0 = the bottom; absent: the head,
    group ``n_groups``), and with ``gradual`` the groups not yet unfrozen get factor 0:
    ``set_stage(k)`` unfreezes the head and the top ``k`` groups. The factors live in one
    optimizer variable, so a stage change needs no retracing; Keras calls ``update_step``
    once per variable on every backend. A frozen group's gradients still feed Adam's moment
    estimates (its step is 0), so they are warm when it is unfrozen."""

    lr_scales: dict = {}
    group_of: dict = {}
    n_groups: int = 0
    gradual: bool = False
    stage: int = 0

    def build(self, variables):
        super().build(variables)
        self._fixed = np.array(
            [float(self.lr_scales.get(id(v), 1.0)) for v in variables], dtype="float32"
        )
        self._groups = np.array([int(self.group_of.get(id(v), self.n_groups)) for v in variables])
        # built inside the first traced step on some backends: the initial factors are the
        # variable's initializer (run once, eagerly), never an assign traced into each step
        initial = self.factors(self.stage)
        self._factors = self.add_variable(
            (len(variables),),
            dtype="float32",
            name="layer_factors",
            initializer=lambda shape, dtype=None: keras.ops.convert_to_tensor(initial, dtype),
        )

    def factors(self, stage: int) -> np.ndarray:
        """Each variable's factor at unfreezing stage ``stage``."""
        if not self.gradual:
            return self._fixed
        return np.where(self._groups >= self.n_groups - stage, self._fixed, 0.0).astype("float32")

    def set_stage(self, stage: int) -> None:
        self.stage = int(stage)
        if getattr(self, "_factors", None) is not None:
            self._factors.assign(self.factors(self.stage))

    def _factor(self, variable):
        return self._factors[self._get_variable_index(variable)]

    def update_step(self, gradient, variable, learning_rate):
        factor = keras.ops.cast(self._factor(variable), learning_rate.dtype)
        return super().update_step(gradient, variable, learning_rate * factor)

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = keras.ops.cast(self.learning_rate, variable.dtype)
                factor = keras.ops.cast(self._factor(variable), variable.dtype)
                wd = keras.ops.cast(self.weight_decay, variable.dtype)
                variable.assign(variable - variable * wd * lr * factor)


class LayerwiseAdam(_LayerwiseRates, keras.optimizers.Adam):
    pass


class LayerwiseAdamW(_LayerwiseRates, keras.optimizers.AdamW):
    pass


class Unfreeze(keras.callbacks.Callback):
    """Gradual unfreezing: at the start of epoch ``e`` (0-based) the head and the top ``e``
    layer groups train; the others keep their weights."""

    def __init__(self, optimizer):
        super().__init__()
        self.optimizer = optimizer

    def on_epoch_begin(self, epoch, logs=None):
        self.optimizer.set_stage(epoch)


def make_optimizer(
    learning_rate: float,
    total_steps: int,
    *,
    schedule: str = "constant",
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    warmup_ratio: float = 0.1,
    clipnorm: float | None = None,
    lr_scales: dict | None = None,
    group_of: dict | None = None,
    n_groups: int = 0,
    gradual: bool = False,
    **options,
):
    """Adam or AdamW (no decay on biases and LayerNorm) with the step-wise part of
    ``schedule`` (cosine, warmup-linear, slanted-triangular, one-cycle); per-epoch schedules
    are driven by ``Monitor``. ``lr_scales`` (``id(variable)`` -> factor) gives per-variable
    rates (layer-wise decay); ``group_of`` / ``n_groups`` / ``gradual`` turn on gradual
    unfreezing (see ``_LayerwiseRates``; drive it with ``Unfreeze``); ``options`` go to the
    Keras optimizer (``gradient_accumulation_steps``, ``use_ema``, ``ema_momentum``)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    lr = learning_rate
    if schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, total_steps), alpha=0.05)
    elif schedule == "warmup-linear":
        lr = WarmupLinearDecay(learning_rate, int(round(total_steps * warmup_ratio)), total_steps)
    elif schedule == "slanted-triangular":
        lr = SlantedTriangular(learning_rate, total_steps, cut_frac=warmup_ratio)
    elif schedule == "one-cycle":
        lr = OneCycle(learning_rate, total_steps, pct_start=warmup_ratio)
    clip = dict(global_clipnorm=clipnorm) if clipnorm else {}
    options = {**clip, **options}
    layerwise = bool(lr_scales) or gradual
    if optimizer == "adamw":
        cls = LayerwiseAdamW if layerwise else keras.optimizers.AdamW
        opt = cls(learning_rate=lr, weight_decay=weight_decay, epsilon=1e-6, **options)
        opt.exclude_from_weight_decay(var_names=list(NO_DECAY))
    else:
        opt = (LayerwiseAdam if layerwise else keras.optimizers.Adam)(learning_rate=lr, **options)
    if layerwise:
        opt.lr_scales, opt.group_of = dict(lr_scales or {}), dict(group_of or {})
        opt.n_groups, opt.gradual = int(n_groups), bool(gradual)
    return opt


def current_lr(optimizer) -> float:
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class Monitor(keras.callbacks.Callback):
    """After each epoch: record loss and the learning rate of its first step, score the
    early-stopping rows (``evaluate``), keep the best weights, stop after ``patience`` epochs
    without improvement, drive the per-epoch schedules (plateau, exponential) or replay the
    learning rates of a recipe. At the end the best epoch's weights are put back."""

    def __init__(
        self,
        evaluate: Callable[[], float] | None = None,
        *,
        name: str | None = None,
        prefix: str = "inner",
        greater_is_better: bool = True,
        patience: int = 2,
        schedule: str = "constant",
        learning_rate: float = 1e-3,
        lr_decay: float = 0.5,
        replay: list | None = None,
    ):
        super().__init__()
        self.evaluate, self.name = evaluate, name
        self.key = f"{prefix}_{name}" if name else None
        self.greater, self.patience = greater_is_better, patience
        self.schedule, self.base_lr, self.lr_decay = schedule, learning_rate, lr_decay
        self.replay = list(replay) if replay else None
        self.history: list[dict] = []
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights, self.waited, self.stopped_early = None, 0, False
        self._lr: float | None = None
        self._start: float | None = None

    def _set_lr(self, value: float) -> None:
        self.model.optimizer.learning_rate = float(value)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        if self.schedule not in STEP_SCHEDULES:
            if self.replay is not None and epoch < len(self.replay):
                self._set_lr(self.replay[epoch])
            elif self.schedule == "exponential":
                self._set_lr(self.base_lr * self.lr_decay**epoch)
        self._lr = current_lr(self.model.optimizer)

    def on_epoch_end(self, epoch, logs: dict | None = None):
        logs = logs if logs is not None else {}
        assert self._lr is not None and self._start is not None  # set by on_epoch_begin
        entry: dict = {  # keyed by self.name too, which may be None
            "epoch": epoch + 1,
            "loss": round(float(logs.get("loss", np.nan)), 6),
            "lr": float(f"{self._lr:.6g}"),
            "train_seconds": round(time.perf_counter() - self._start, 3),
        }
        if self.evaluate is not None:
            value = float(self.evaluate())
            entry[self.name] = round(value, 6)
            logs[self.key] = value
            better = not np.isnan(value) and (
                self.best is None or (value > self.best if self.greater else value < self.best)
            )
            if better:
                self.best, self.best_epoch, self.waited = value, epoch + 1, 0
                self.best_weights = self.model.get_weights()
            else:
                self.waited += 1
                if self.schedule == "plateau" and self.replay is None:
                    self._set_lr(max(MIN_LR, current_lr(self.model.optimizer) * self.lr_decay))
            if self.waited >= self.patience:
                self.model.stop_training = True
                self.stopped_early = epoch + 1 < self.params.get("epochs", epoch + 1)
        self.history.append(entry)

    def on_train_end(self, logs=None):
        if self.best_weights is not None and self.best_epoch != len(self.history):
            self.model.set_weights(self.best_weights)

    def summary(self) -> dict:
        run = len(self.history)
        out: dict[str, Any] = {
            "best_epoch": self.best_epoch or run,
            "epochs_run": run,
            "stopped_early": bool(self.stopped_early),
            "monitor": self.name,
            "history": self.history,
        }
        if self.best is not None:
            out[f"best_{self.key}"] = round(float(self.best), 6)
        return out


def tensorboard(log_dir):
    """Keras' TensorBoard callback, or None (with the reason) when it cannot write."""
    import importlib.util

    missing = [m for m in ("tensorflow", "tensorboard") if importlib.util.find_spec(m) is None]
    if missing:  # the callback writes with tf.summary, implemented by the tensorboard package
        return None, (
            f"no TensorBoard logs: {' and '.join(missing)} not installed "
            f"(pip install {' '.join(missing)})"
        )
    return keras.callbacks.TensorBoard(
        log_dir=str(log_dir), write_graph=False, profile_batch=0
    ), None


def keras_verbose(verbose: int, stream=None) -> int:
    """Keras' ``verbose`` for ``fit``: 0 silent; a progress bar (1) only when the stream is
    a terminal, else one line per epoch (2), so log files hold no carriage returns."""
    if not verbose:
        return 0
    stream = sys.stderr if stream is None else stream
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return 1 if verbose == 1 and tty else 2


class DeadlineCheck(keras.callbacks.Callback):
    """Stops training with ``deadline.OutOfTime`` once the time limit of the enclosing
    ``kagglekit.deadline.deadline`` passes (checked after every batch)."""

    def on_train_batch_end(self, batch, logs=None):
        from kagglekit import deadline

        deadline.check()

    on_test_batch_end = on_predict_batch_end = on_train_batch_end


class EpochLog(keras.callbacks.Callback):
    """Hands each epoch's entry of ``monitor`` (epoch, loss, lr, the monitored figure,
    seconds: what the run records as ``fit_info.history``) to ``listener`` as it ends: a
    tracking session's live curves (``kagglekit.tracking.live``). Keras 3, any backend."""

    def __init__(self, monitor: Monitor, listener: Callable[[dict], None]):
        super().__init__()
        self.monitor, self.listener = monitor, listener

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.history:
            self.listener(dict(self.monitor.history[-1]))


def fit_epochs(
    model, data, *, epochs: int, monitor: Monitor, callbacks=(), verbose: int = 0
) -> dict:
    """Train ``model`` on ``data`` for up to ``epochs`` epochs under ``monitor``; Keras'
    progress goes to stderr. Returns the monitor's summary. With an EMA optimizer the
    averaged weights are swapped in at each epoch's end, so the monitor scores (and keeps)
    the weights that are used for prediction. Under a tracking session (``--tracker``)
    each epoch's entry also goes to its listener (``EpochLog``, after the monitor)."""
    from kagglekit.tracking.live import epoch_listener

    first = []
    if getattr(getattr(model.optimizer, "inner_optimizer", model.optimizer), "use_ema", False):
        first.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    listener = epoch_listener()
    last = [EpochLog(monitor, listener)] if listener is not None else []
    from kagglekit import deadline

    if deadline.remaining() is not None:  # under `kagglekit auto`'s first-fold limit
        first.append(DeadlineCheck())
    with contextlib.redirect_stdout(sys.stderr):
        model.fit(
            data,
            epochs=epochs,
            callbacks=[*first, monitor, *callbacks, *last],
            verbose=keras_verbose(verbose),
            shuffle=False,
        )
    return monitor.summary()
