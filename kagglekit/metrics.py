"""Metrics: AUC, mean column-wise AUC, F1 with threshold search, accuracy, log loss.

A Metric scores (y_true, y_prob) arrays of shape (n_rows, n_targets). Metrics that need
hard labels take a threshold; ``best_threshold`` chooses it on OOF predictions.
Registered through the same ``register_metrics`` hook that plugins use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from kagglekit.hookspecs import hookimpl

if TYPE_CHECKING:
    from kagglekit.competition import Competition


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable  # fn(y_true, y_prob, threshold) -> float
    needs_threshold: bool = False
    greater_is_better: bool = True
    description: str = ""

    def __call__(self, y_true, y_prob, threshold: float = 0.5) -> float:
        y_true = _2d(y_true)
        y_prob = _2d(y_prob)
        return float(self.fn(y_true, y_prob, threshold))


def _2d(a) -> np.ndarray:
    a = np.asarray(a)
    return a[:, None] if a.ndim == 1 else a


def _binary_f1(y_true, y_prob, threshold):
    from sklearn.metrics import f1_score

    return f1_score(y_true[:, 0], (y_prob[:, 0] >= threshold).astype(int), zero_division=0)


def _accuracy(y_true, y_prob, threshold):
    return float(np.mean((y_prob >= threshold).astype(int) == y_true))


def _auc(y_true, y_prob, threshold):
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y_true[:, 0])) < 2:
        return float("nan")
    return roc_auc_score(y_true[:, 0], y_prob[:, 0])


def _mean_auc(y_true, y_prob, threshold):
    from sklearn.metrics import roc_auc_score

    scores = [roc_auc_score(y_true[:, j], y_prob[:, j]) for j in range(y_true.shape[1])
              if len(np.unique(y_true[:, j])) == 2]
    return float(np.mean(scores)) if scores else float("nan")


def _log_loss(y_true, y_prob, threshold):
    p = np.clip(y_prob.astype(float), 1e-7, 1 - 1e-7)
    return float(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)))


BUILTIN = (
    Metric("f1", _binary_f1, needs_threshold=True, description="F1 of the positive class"),
    Metric("accuracy", _accuracy, needs_threshold=True, description="share of correct labels"),
    Metric("auc", _auc, description="ROC AUC"),
    Metric("mean_auc", _mean_auc, description="mean column-wise ROC AUC"),
    Metric("log_loss", _log_loss, greater_is_better=False, description="binary cross-entropy"),
)


@hookimpl
def register_metrics(register):
    for metric in BUILTIN:
        register(metric)


def best_threshold(metric: Metric, y_true, y_prob) -> float:
    """The threshold that maximises a thresholded metric on (OOF) predictions.

    Candidates are the distinct predicted probabilities (at most 1,000 quantiles), so the
    result does not depend on a grid's resolution; ties go to the one closest to 0.5.
    """
    y_true = _2d(y_true)
    y_prob = _2d(y_prob)
    if not metric.needs_threshold:
        return 0.5
    p = y_prob[:, 0]
    unique = np.unique(p)
    if len(unique) > 1000:
        unique = np.unique(np.quantile(p, np.linspace(0, 1, 1001)))
    if metric.name == "f1":
        scores = _f1_at_thresholds(y_true[:, 0], p, unique)
    else:
        scores = np.array([metric(y_true, y_prob, t) for t in unique])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    pick = best[np.argmin(np.abs(unique[best] - 0.5))]
    return float(unique[pick])


def _f1_at_thresholds(y, p, thresholds) -> np.ndarray:
    """F1 of (p >= t) for every t at once, via sorting."""
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order].astype(np.int64)
    tp_cum = np.cumsum(y_sorted)
    positives = y_sorted.sum()
    # number predicted positive at threshold t = count of p >= t
    n_pred = np.searchsorted(-p_sorted, -thresholds, side="right")
    tp = np.where(n_pred > 0, tp_cum[np.maximum(n_pred - 1, 0)], 0)
    denom = n_pred + positives
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def get_metric(name: str) -> Metric:
    from kagglekit import plugins

    return plugins.get_metric(name)


def thresholded_metric(comp: Competition):
    """The metric the decision threshold is tuned for: the first one that needs one."""
    for name in comp.metrics:
        metric = get_metric(name)
        if metric.needs_threshold:
            return metric
    return None


def score_all(comp: Competition, y, prob, threshold: float) -> dict:
    out = {}
    for name in comp.metrics:
        metric = get_metric(name)
        out[name] = round(metric(y, prob, threshold), 6)
    return out
