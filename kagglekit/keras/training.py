"""The one training loop: optimizers and learning-rate schedules, the monitor, early
stopping with the best weights kept, TensorBoard, progress. Importing it imports Keras.

Schedules (``lr_schedule``): ``constant``; ``plateau`` (the rate is multiplied by
``lr_decay`` after an epoch in which the monitored value did not improve; down to 1e-5);
``exponential`` (``lr * lr_decay ** epoch``); ``cosine`` (per step, to 5% of the rate);
``warmup-linear`` (per step: linear warmup over ``warmup_ratio`` of the steps, then linear
decay to 0). Optimizers: Adam, or AdamW with weight decay off for biases and LayerNorm;
``clipnorm`` clips the global gradient norm.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Callable

import keras
import numpy as np

SCHEDULES = ("constant", "plateau", "exponential", "cosine", "warmup-linear")
STEP_SCHEDULES = ("cosine", "warmup-linear")  # set per step by the optimizer's schedule
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
        return {"peak": self.peak, "warmup_steps": self.warmup_steps,
                "total_steps": self.total_steps}


class _LayerwiseRates:
    """Mixed into Adam/AdamW: each variable's step uses ``learning_rate * scale`` (layer-wise
    LR decay). ``lr_scales`` maps ``id(variable)`` -> scale (1.0 when absent). Keras calls
    ``update_step`` once per variable on every backend, so this is backend-independent; the
    AdamW weight-decay term keeps the unscaled rate."""

    lr_scales: dict = {}

    def build(self, variables):
        super().build(variables)
        self._scales = [float(self.lr_scales.get(id(v), 1.0)) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        scale = self._scales[self._get_variable_index(variable)]
        return super().update_step(gradient, variable,
                                   learning_rate if scale == 1.0 else learning_rate * scale)


class LayerwiseAdam(_LayerwiseRates, keras.optimizers.Adam):
    pass


class LayerwiseAdamW(_LayerwiseRates, keras.optimizers.AdamW):
    pass


def make_optimizer(learning_rate: float, total_steps: int, *, schedule: str = "constant",
                   optimizer: str = "adam", weight_decay: float = 0.0,
                   warmup_ratio: float = 0.1, clipnorm: float | None = None,
                   lr_scales: dict | None = None, **options):
    """Adam or AdamW (no decay on biases and LayerNorm) with the step-wise part of
    ``schedule`` (cosine, warmup-linear); per-epoch schedules are driven by ``Monitor``.
    ``lr_scales`` (``id(variable)`` -> factor) gives per-variable rates (layer-wise decay);
    ``options`` go to the Keras optimizer (``gradient_accumulation_steps``, ``use_ema``,
    ``ema_momentum``)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    lr = learning_rate
    if schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(learning_rate, max(1, total_steps),
                                                    alpha=0.05)
    elif schedule == "warmup-linear":
        lr = WarmupLinearDecay(learning_rate, int(round(total_steps * warmup_ratio)),
                               total_steps)
    clip = dict(global_clipnorm=clipnorm) if clipnorm else {}
    options = {**clip, **options}
    if optimizer == "adamw":
        cls = LayerwiseAdamW if lr_scales else keras.optimizers.AdamW
        opt = cls(learning_rate=lr, weight_decay=weight_decay, epsilon=1e-6, **options)
        opt.exclude_from_weight_decay(var_names=list(NO_DECAY))
    else:
        opt = (LayerwiseAdam if lr_scales else keras.optimizers.Adam)(learning_rate=lr, **options)
    if lr_scales:
        opt.lr_scales = dict(lr_scales)
    return opt


def current_lr(optimizer) -> float:
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class Monitor(keras.callbacks.Callback):
    """After each epoch: record loss and learning rate, score the early-stopping rows
    (``evaluate``), keep the best weights, stop after ``patience`` epochs without
    improvement, drive the per-epoch schedules (plateau, exponential) or replay the
    learning rates of a recipe. At the end the best epoch's weights are put back."""

    def __init__(self, evaluate: Callable[[], float] | None = None, *, name: str | None = None,
                 prefix: str = "inner", greater_is_better: bool = True, patience: int = 2,
                 schedule: str = "constant", learning_rate: float = 1e-3, lr_decay: float = 0.5,
                 replay: list | None = None):
        super().__init__()
        self.evaluate, self.name = evaluate, name
        self.key = f"{prefix}_{name}" if name else None
        self.greater, self.patience = greater_is_better, patience
        self.schedule, self.base_lr, self.lr_decay = schedule, learning_rate, lr_decay
        self.replay = list(replay) if replay else None
        self.history, self.best, self.best_epoch = [], None, 0
        self.best_weights, self.waited, self.stopped_early = None, 0, False
        self._lr = None
        self._start = None

    def _set_lr(self, value: float) -> None:
        self.model.optimizer.learning_rate = float(value)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        if self.schedule not in STEP_SCHEDULES:
            if self.replay is not None and epoch < len(self.replay):
                self._set_lr(self.replay[epoch])
            elif self.schedule == "exponential":
                self._set_lr(self.base_lr * self.lr_decay ** epoch)
        self._lr = current_lr(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        entry = {"epoch": epoch + 1, "loss": round(float(logs.get("loss", np.nan)), 6),
                 "lr": float(f"{self._lr:.6g}"),
                 "train_seconds": round(time.perf_counter() - self._start, 3)}
        if self.evaluate is not None:
            value = float(self.evaluate())
            entry[self.name] = round(value, 6)
            logs[self.key] = value
            better = not np.isnan(value) and (
                self.best is None or (value > self.best if self.greater else value < self.best))
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
        out = {"best_epoch": self.best_epoch or run, "epochs_run": run,
               "stopped_early": bool(self.stopped_early), "monitor": self.name,
               "history": self.history}
        if self.best is not None:
            out[f"best_{self.key}"] = round(float(self.best), 6)
        return out


def tensorboard(log_dir):
    """Keras' TensorBoard callback, or None (with the reason) when it cannot write."""
    import importlib.util

    missing = [m for m in ("tensorflow", "tensorboard") if importlib.util.find_spec(m) is None]
    if missing:  # the callback writes with tf.summary, implemented by the tensorboard package
        return None, (f"no TensorBoard logs: {' and '.join(missing)} not installed "
                      f"(pip install {' '.join(missing)})")
    return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False,
                                       profile_batch=0), None


def keras_verbose(verbose: int, stream=None) -> int:
    """Keras' ``verbose`` for ``fit``: 0 silent; a progress bar (1) only when the stream is
    a terminal, else one line per epoch (2), so log files hold no carriage returns."""
    if not verbose:
        return 0
    stream = sys.stderr if stream is None else stream
    tty = bool(getattr(stream, "isatty", lambda: False)())
    return 1 if verbose == 1 and tty else 2


def fit_epochs(model, data, *, epochs: int, monitor: Monitor, callbacks=(),
               verbose: int = 0) -> dict:
    """Train ``model`` on ``data`` for up to ``epochs`` epochs under ``monitor``; Keras'
    progress goes to stderr. Returns the monitor's summary. With an EMA optimizer the
    averaged weights are swapped in at each epoch's end, so the monitor scores (and keeps)
    the weights that are used for prediction."""
    first = []
    if getattr(getattr(model.optimizer, "inner_optimizer", model.optimizer), "use_ema", False):
        first.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    with contextlib.redirect_stdout(sys.stderr):
        model.fit(data, epochs=epochs, callbacks=[*first, monitor, *callbacks],
                  verbose=keras_verbose(verbose), shuffle=False)
    return monitor.summary()
