"""The fine-tuning recipe and the loops shared by the transformer and sentence-encoder models.

- AdamW, learning rate warmed up linearly then decayed linearly to 0, weight decay excluded
  from biases and LayerNorm scales/offsets, gradient clipping by global norm;
- dynamic padding with length bucketing, for training (shuffled pools) and inference (sorted);
- early stopping on a monitored metric computed on a held-out set, best weights kept.

Importing this module imports Keras.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np

from kagglekit.hub.bucketing import bucket_batches, padded_length, sequential_batches

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


def make_optimizer(learning_rate: float, total_steps: int, *, warmup_ratio: float = 0.1,
                   weight_decay: float = 0.01, clipnorm: float | None = 1.0):
    """AdamW with warmup + linear decay; no decay on biases and LayerNorm; global-norm clipping."""
    schedule = WarmupLinearDecay(learning_rate, int(round(total_steps * warmup_ratio)), total_steps)
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=weight_decay,
                                       epsilon=1e-6, global_clipnorm=clipnorm or None)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return optimizer


# -- batches -------------------------------------------------------------------------------------
def token_dataset(encoded, batches, *, input_names, max_length: int, y=None, fixed: bool = False,
                  multiple: int = 8):
    """A dataset of ``({input: (b, width)}, y)`` batches; ``width`` is the batch's longest row
    rounded up to ``multiple`` (dynamic padding) or ``max_length`` when ``fixed``."""
    names = list(input_names)
    y = None if y is None else np.asarray(y, dtype=np.float32)

    def item(idx):
        width = max_length if fixed else padded_length(encoded.lengths[idx], max_length, multiple)
        arrays = encoded.batch(idx, width)
        x = {k: arrays[k] for k in names}
        return (x, y[idx]) if y is not None else (x,)

    return _dataset(item, batches, names, None if y is None else y.shape[1])


def array_dataset(x, batches, y=None):
    """A dataset of ``(x[idx], y[idx])`` batches for dense features (sentence embeddings)."""
    x = np.asarray(x, dtype=np.float32)
    y = None if y is None else np.asarray(y, dtype=np.float32)

    def item(idx):
        return (x[idx], y[idx]) if y is not None else (x[idx],)

    return _dataset(item, batches, None, None if y is None else y.shape[1], width=x.shape[1])


def _dataset(item, batches, names, n_targets, width=None):
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if names is None:
            sig_x = tf.TensorSpec((None, width), tf.float32)
        else:
            sig_x = {k: tf.TensorSpec((None, None), tf.int32) for k in names}
        sig = (sig_x,) if n_targets is None else (sig_x, tf.TensorSpec((None, n_targets), tf.float32))

        def gen():
            for idx in batches:
                yield item(idx)

        ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
        return ds.apply(tf.data.experimental.assert_cardinality(len(batches))).prefetch(2)
    return _PyBatches(item, batches)


class _PyBatches(keras.utils.PyDataset):
    def __init__(self, item, batches):
        super().__init__()
        self._item, self._batches = item, batches

    def __len__(self):
        return len(self._batches)

    def __getitem__(self, i):
        return self._item(self._batches[i])


def train_batches(lengths, batch_size: int, *, bucketing: bool, seed: int):
    if bucketing:
        return bucket_batches(lengths, batch_size, shuffle=True, seed=seed)
    return sequential_batches(len(lengths), batch_size, shuffle=True, seed=seed)


def predict_tokens(model, encoded, *, input_names, max_length: int, batch_size: int = 64,
                   bucketing: bool = True) -> np.ndarray:
    """Model outputs for every row of ``encoded``, in the original order."""
    n = len(encoded)
    if n == 0:
        return np.zeros((0,) + tuple(model.output.shape[1:]), dtype=np.float32)
    batches = (bucket_batches(encoded.lengths, batch_size) if bucketing
               else sequential_batches(n, batch_size))
    ds = token_dataset(encoded, batches, input_names=input_names, max_length=max_length,
                       fixed=not bucketing)
    out = np.asarray(model.predict(ds, verbose=0), dtype=np.float32)
    result = np.empty_like(out)
    result[np.concatenate(batches)] = out
    return result


# -- early stopping ------------------------------------------------------------------------------
def monitor(name: str, n_targets: int):
    """(score(y, p) -> float, greater_is_better, resolved name). ``auto``: auc for one target,
    mean_auc for several; ``loss``: log loss; any registered metric (thresholded ones are
    scored at their best threshold on the held-out rows)."""
    from kagglekit import plugins
    from kagglekit.metrics import best_threshold

    if name == "auto":
        name = "auc" if n_targets == 1 else "mean_auc"
    if name == "loss":
        name = "log_loss"
    metric = plugins.get_metric(name)
    if metric.needs_threshold:
        def score(y, p):
            return metric(y, p, best_threshold(metric, y, p))
    else:
        def score(y, p):
            return metric(y, p)
    return score, metric.greater_is_better, name


def holdout_split(y, fraction: float, seed: int):
    """(fit_index, stop_index): a stratified ``fraction`` of the rows held out for early stopping."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    index = np.arange(len(y))
    strata = y[:, 0] if y.shape[1] == 1 else (y.sum(axis=1) > 0).astype(int)
    try:
        fit_idx, stop_idx = train_test_split(index, test_size=fraction, random_state=seed,
                                             stratify=strata)
    except ValueError:  # too few rows of a class to stratify
        fit_idx, stop_idx = train_test_split(index, test_size=fraction, random_state=seed)
    return np.sort(fit_idx), np.sort(stop_idx)


def train_epochs(model, run_epoch: Callable[[int], float], *, epochs: int,
                 evaluate: Callable[[], float] | None = None, greater_is_better: bool = True,
                 patience: int = 1) -> dict:
    """Run up to ``epochs`` epochs; with ``evaluate``, stop after ``patience`` epochs without
    improvement and restore the best epoch's weights. Returns the per-epoch log."""
    log, best, best_epoch, best_weights, waited = [], None, 0, None, 0
    for epoch in range(epochs):
        loss = float(run_epoch(epoch))
        entry = {"epoch": epoch + 1, "loss": loss}
        if evaluate is not None:
            score = float(evaluate())
            entry["score"] = score
            better = not np.isnan(score) and (
                best is None or (score > best if greater_is_better else score < best))
            if better:
                best, best_epoch, waited = score, epoch + 1, 0
                best_weights = model.get_weights()
            else:
                waited += 1
        log.append(entry)
        if evaluate is not None and waited >= patience:
            break
    if best_weights is not None and best_epoch != len(log):
        model.set_weights(best_weights)
    return {"epochs": log, "best_epoch": best_epoch or len(log), "best_score": best}
