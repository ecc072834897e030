"""Metrics: AUC, mean column-wise AUC, F1 with threshold search, accuracy, log loss.

A Metric scores (y_true, y_prob) arrays of shape (n_rows, n_targets). Metrics that need
hard labels take a threshold; ``best_threshold`` chooses it on OOF predictions.
Registered through the same ``register_metrics`` hook that plugins use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    """scikit-learn's ``f1_score(y, p >= t, zero_division=0)``, with its arithmetic
    (2 tp / (positives + predicted positives)), without its input checks: 30x faster on
    a million rows, which the nested threshold search calls once per fold."""
    positive = np.asarray(y_true[:, 0]) == 1
    predicted = np.asarray(y_prob[:, 0]) >= threshold
    denom = float(np.count_nonzero(positive)) + float(np.count_nonzero(predicted))
    if denom == 0:
        return 0.0
    return 2.0 * float(np.count_nonzero(positive & predicted)) / denom


def _accuracy(y_true, y_prob, threshold):
    return float(np.mean((y_prob >= threshold).astype(int) == y_true))


def _auc(y_true, y_prob, threshold):
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y_true[:, 0])) < 2:
        return float("nan")
    return roc_auc_score(y_true[:, 0], y_prob[:, 0])


def _mean_auc(y_true, y_prob, threshold):
    from sklearn.metrics import roc_auc_score

    scores = [
        roc_auc_score(y_true[:, j], y_prob[:, j])
        for j in range(y_true.shape[1])
        if len(np.unique(y_true[:, j])) == 2
    ]
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
        scores = f1_at_thresholds(y_true[:, 0], p, unique)
    else:
        scores = np.array([metric(y_true, y_prob, t) for t in unique])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    pick = best[np.argmin(np.abs(unique[best] - 0.5))]
    return float(unique[pick])


def f1_at_thresholds(y, p, thresholds) -> np.ndarray:
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


def fast_auc(y, p) -> float:
    """ROC AUC of one column by the Mann-Whitney U statistic (ties count one half), as
    roc_auc_score; NaN when y holds one class."""
    from scipy.stats import rankdata

    y = np.asarray(y).reshape(-1)
    positives = y == 1
    n_pos = int(positives.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(p).reshape(-1))
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def fast_best_f1(y, p) -> float:
    """F1 of one column at the best threshold among the candidates ``best_threshold`` considers."""
    y = np.asarray(y).reshape(-1)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    unique = np.unique(p)
    if len(unique) > 1000:
        unique = np.unique(np.quantile(p, np.linspace(0, 1, 1001)))
    return float(f1_at_thresholds(y, p, unique).max())


# metric function -> its exact, faster one-column form (at the best threshold when it needs
# one); the blend's weight optimiser calls these thousands of times
FAST_SCORES = {_auc: fast_auc, _mean_auc: fast_auc, _binary_f1: fast_best_f1}


def fast_score(metric: Metric):
    """``f(y, p) -> float`` for one column, or None when the metric has no fast form."""
    return FAST_SCORES.get(metric.fn)


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


@dataclass
class OofScores:
    """A run's OOF predictions scored.

    ``scores``: every scored row at ``threshold``, the threshold chosen on those same rows
    (what test predictions are labelled with): for a thresholded metric (F1) that figure is
    optimistic. ``nested_scores``: each fold at a threshold chosen on the *other* folds'
    OOF rows (``fold_thresholds``), so no row's label helped choose its own threshold: held
    out. Without a thresholded metric both are the same; with one scored fold there is no
    nested figure (None). ``fold_scores``: each fold at its nested threshold.
    """

    threshold: float
    threshold_metric: str | None
    scores: dict
    nested_scores: dict | None
    fold_thresholds: dict
    fold_scores: dict

    def record(self) -> dict:
        return {
            "threshold": self.threshold,
            "threshold_metric": self.threshold_metric,
            "scores": self.scores,
            "nested_scores": self.nested_scores,
            "fold_thresholds": (
                {str(k): v for k, v in self.fold_thresholds.items()}
                if self.threshold_metric
                else None
            ),
        }


def score_oof(comp: Competition, y, oof, folds) -> OofScores:
    """Score OOF predictions: at the all-rows threshold and nested (see OofScores)."""
    y, oof, folds = _2d(y), _2d(oof), np.asarray(folds)
    scored = folds >= 0
    metric = thresholded_metric(comp)
    threshold = best_threshold(metric, y[scored], oof[scored]) if metric else 0.5
    scores = score_all(comp, y[scored], oof[scored], threshold)
    ks = [int(k) for k in np.unique(folds[scored])]
    if metric is None:
        fold_thresholds = {k: threshold for k in ks}
    elif len(ks) < 2:
        fold_thresholds = {k: threshold for k in ks}
    else:
        fold_thresholds = {
            k: best_threshold(metric, y[scored & (folds != k)], oof[scored & (folds != k)])
            for k in ks
        }
    fold_scores = {
        k: score_all(comp, y[folds == k], oof[folds == k], fold_thresholds[k]) for k in ks
    }
    nested: dict | None = dict(scores)
    if metric is not None:
        if len(ks) < 2:
            nested = None
        else:
            # (p >= t_k) == (p - t_k + 0.5 >= 0.5): one threshold for every row
            shifted = oof.copy()
            for k in ks:
                shifted[folds == k] = oof[folds == k] - fold_thresholds[k] + 0.5
            held_out = dict(scores)
            for name in comp.metrics:
                m = get_metric(name)
                if m.needs_threshold:
                    held_out[name] = round(m(y[scored], shifted[scored], 0.5), 6)
            nested = held_out
    return OofScores(
        threshold, metric.name if metric else None, scores, nested, fold_thresholds, fold_scores
    )


def ranking_score(info: dict, metric: str):
    """The figure runs are ranked by: the nested (held-out) score when there is one."""
    nested = info.get("nested_scores") or {}
    if metric in nested and nested[metric] is not None:
        return nested[metric]
    if info.get("threshold_metric") and info.get("nested_scores", "absent") is None:
        return None  # one scored fold: no held-out figure for a thresholded metric
    return (info.get("scores") or {}).get(metric)
