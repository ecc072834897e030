"""Blend methods: small scikit-learn-like classes, ``fit(P, y)`` then ``predict(P)``, with
``P`` of shape (n_rows, n_members) for one target column; registered through the
``register_blend_methods`` hook like models, so a plugin can add its own.

``mean``      the mean of the members' probabilities.
``rank``      the mean of the members' ranks, each rank the member's empirical CDF over its
              own OOF predictions: ``(#{oof < p} + #{oof <= p}) / (2 n)``. On OOF rows this is
              the usual mid-rank / n; a test row, or any new row given to ``predict``, is
              ranked against the same member's OOF predictions (never against the other new
              rows), so a single row can be predicted, and test and OOF blends lie on one
              scale, which lets the threshold chosen on OOF carry over to test.
``weighted``  non-negative weights summing to one, optimised on OOF for the competition's
              metric (``scipy.optimize.minimize``, Nelder-Mead from the equal weights and
              from the best single member; the threshold is re-chosen for every candidate
              when the metric needs one).
``stack``     a meta-model (logistic regression on the members' logits by default) trained
              on the members' OOF predictions.
``vote``      the share of members voting positive, each at a threshold chosen on the rows
              the blender is fit on (nested in the folds like ``weighted`` and ``stack``).

A method's fitted state is its attributes ending in ``_``: numbers, numpy arrays, lists of
arrays, or (``stack``) a scikit-learn meta-model; ``kagglekit.blend.state`` saves them as
JSON + arrays (+ skops for the meta-model), never with pickle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl

if TYPE_CHECKING:
    from kagglekit.metrics import Metric

EPS = 1e-6


@dataclass
class BlendContext:
    """What a method may need besides the predictions."""

    metric: Metric | None = None  # the metric the weighted blend optimises
    thresholds: tuple = ()  # each member's threshold (vote)
    meta_model: str = "logistic"
    seed: int = 42


class BlendMethod:
    name = ""
    description = ""
    supervised = False  # learns from labels -> nested inside the folds
    # (n_members,) weight of each member once fit; None where the stack's meta-model has none
    weights_: np.ndarray | None

    def __init__(self, context: BlendContext | None = None):
        self.context = context or BlendContext()

    def fit(self, P, y=None):
        self.n_members_ = np.asarray(P).shape[1]
        self.weights_ = np.full(self.n_members_, 1.0 / self.n_members_)
        return self

    def predict(self, P):  # pragma: no cover - interface
        raise NotImplementedError

    def fitted_weights(self) -> np.ndarray:
        """``weights_``, which every method has once fit (a stack's meta-model aside)."""
        assert self.weights_ is not None
        return self.weights_


class MeanBlend(BlendMethod):
    name = "mean"
    description = "mean of the members' probabilities"

    def predict(self, P):
        return np.asarray(P, dtype=np.float64) @ self.fitted_weights()


class RankBlend(BlendMethod):
    name = "rank"
    description = "mean of the members' ranks (empirical CDF over each member's OOF)"

    def fit(self, P, y=None):
        super().fit(P, y)
        P = np.asarray(P, dtype=np.float64)
        self.references_ = [np.sort(P[:, m]) for m in range(P.shape[1])]
        return self

    def predict(self, P):
        P = np.asarray(P, dtype=np.float64)
        ranks = np.column_stack([ecdf(ref, P[:, m]) for m, ref in enumerate(self.references_)])
        return ranks @ self.fitted_weights()


def ecdf(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank position of values among a sorted reference, in (0, 1)."""
    below = np.searchsorted(reference, values, side="left")
    at_or_below = np.searchsorted(reference, values, side="right")
    return (below + at_or_below) / (2.0 * len(reference))


class VoteBlend(BlendMethod):
    """Each member votes at a threshold chosen, for the blend's thresholded metric, on the
    rows the blender is fit on: nested like ``weighted`` and ``stack``, so fold k's votes
    use thresholds chosen on the other folds. Without a thresholded metric (or labels) the
    members' own run thresholds are used."""

    name = "vote"
    description = "share of members voting positive, each at a threshold chosen on the fit rows"
    supervised = True

    def fit(self, P, y=None):
        super().fit(P, y)
        metric = self.context.metric
        if y is not None and metric is not None and getattr(metric, "needs_threshold", False):
            from kagglekit.metrics import best_threshold

            P = np.asarray(P, dtype=np.float64)
            self.thresholds_ = np.array(
                [best_threshold(metric, y, P[:, m]) for m in range(self.n_members_)]
            )
            return self
        thresholds = np.asarray(self.context.thresholds, dtype=np.float64)
        if len(thresholds) != self.n_members_:
            raise KaggleKitError(
                f"vote needs one threshold per member: got {len(thresholds)} "
                f"for {self.n_members_} members"
            )
        self.thresholds_ = thresholds
        return self

    def predict(self, P):
        return (np.asarray(P, dtype=np.float64) >= self.thresholds_).astype(
            np.float64
        ) @ self.fitted_weights()


class WeightedBlend(BlendMethod):
    name = "weighted"
    description = "weights optimised on OOF for the metric (scipy Nelder-Mead), nested CV"
    supervised = True

    def fit(self, P, y=None):
        from scipy.optimize import minimize

        P = np.asarray(P, dtype=np.float64)
        y = np.asarray(y).reshape(-1)
        n_members = P.shape[1]
        self.n_members_ = n_members
        metric = self.context.metric
        if metric is None:
            raise KaggleKitError("the weighted blend needs a metric to optimise")
        if n_members == 1 or len(np.unique(y)) < 2:
            self.weights_ = np.full(n_members, 1.0 / n_members)
            self.score_ = metric_score(metric, y, P @ self.weights_)
            return self
        sign = 1.0 if metric.greater_is_better else -1.0

        def as_weights(z):
            z = np.abs(np.asarray(z, dtype=np.float64))
            total = z.sum()
            return z / total if total > 0 else None

        def loss(z):
            w = as_weights(z)
            if w is None:
                return np.inf
            score = metric_score(metric, y, P @ w)
            return np.inf if not np.isfinite(score) else -sign * score

        equal = np.full(n_members, 1.0 / n_members)
        vertices = list(np.eye(n_members))
        # candidates in order of preference on ties: the equal weights, then single members
        candidates = [(loss(equal), 0, equal)]
        candidates += [(loss(v), i + 1, v) for i, v in enumerate(vertices)]
        best_vertex = min(candidates[1:], key=lambda c: (c[0], c[1]))[2]
        for order, start in enumerate((equal, best_vertex)):
            simplex = np.vstack([start] + [start + 0.25 * e for e in np.eye(n_members)])
            result = minimize(
                loss,
                start,
                method="Nelder-Mead",
                options={
                    "initial_simplex": simplex,
                    "xatol": 1e-3,
                    "fatol": 1e-7,
                    "maxfev": 100 * n_members,
                },
            )
            w = as_weights(result.x)
            if w is not None:
                candidates.append((loss(w), n_members + 1 + order, w))
        best = min(candidates, key=lambda c: (c[0], c[1]))
        self.weights_ = np.asarray(best[2], dtype=np.float64)
        self.score_ = -sign * best[0] if np.isfinite(best[0]) else float("nan")
        return self

    def predict(self, P):
        return np.asarray(P, dtype=np.float64) @ self.fitted_weights()


def logistic_meta_model(seed):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=1000, random_state=seed)


def hgb_meta_model(seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=40, random_state=seed
    )


# meta-models for ``stack``: name -> factory(seed) of a scikit-learn classifier
META_MODELS = {
    "logistic": logistic_meta_model,
    "hgb": hgb_meta_model,
}


class StackBlend(BlendMethod):
    name = "stack"
    description = "meta-model on the members' OOF logits (logistic regression), nested CV"
    supervised = True

    def fit(self, P, y=None):
        P = np.asarray(P, dtype=np.float64)
        y = np.asarray(y).reshape(-1)
        self.n_members_ = P.shape[1]
        name = self.context.meta_model
        if name not in META_MODELS:
            raise KaggleKitError(
                f"unknown meta-model {name!r}; choose one of {', '.join(META_MODELS)}"
            )
        if len(np.unique(y)) < 2:  # a rare label absent from these folds
            self.model_, self.constant_ = None, float(y.mean()) if len(y) else 0.0
            self.weights_ = np.zeros(self.n_members_)
            return self
        with one_thread():  # a few features: threads cost more than they give
            self.model_ = META_MODELS[name](self.context.seed).fit(logit(P), y)
        coef = getattr(self.model_, "coef_", None)
        self.weights_ = None if coef is None else np.asarray(coef, dtype=np.float64).ravel()
        intercept = getattr(self.model_, "intercept_", None)
        self.intercept_ = None if intercept is None else float(np.ravel(intercept)[0])
        return self

    def predict(self, P):
        P = np.asarray(P, dtype=np.float64)
        if self.model_ is None:
            return np.full(len(P), self.constant_)
        with one_thread():
            return self.model_.predict_proba(logit(P))[:, 1]


def one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p / (1 - p))


BUILTIN_METHODS = (MeanBlend, RankBlend, WeightedBlend, StackBlend, VoteBlend)


@hookimpl
def register_blend_methods(register):
    for cls in BUILTIN_METHODS:
        register(cls.name, cls)


class _RegisteredMethods(Mapping):
    """name -> BlendMethod class, read from the plugin registry when asked."""

    def _items(self) -> dict:
        from kagglekit import plugins

        return plugins.blend_methods().items

    def __getitem__(self, name):
        return self._items()[name]

    def __iter__(self):
        return iter(self._items())

    def __len__(self):
        return len(self._items())


# every registered method (built-ins first), as `kagglekit blend --method` offers them
BLEND_METHODS = _RegisteredMethods()


def get_method(name: str) -> type[BlendMethod]:
    if name not in BLEND_METHODS:
        raise KaggleKitError(
            f"unknown blend method {name!r}; choose one of {', '.join(BLEND_METHODS)}"
        )
    return BLEND_METHODS[name]


def metric_score(metric, y, p) -> float:
    """The metric of one column, at the threshold best for it when it needs one."""
    from kagglekit.metrics import best_threshold, fast_score

    fast = fast_score(metric)
    if fast is not None:
        return fast(np.asarray(y).reshape(-1), np.asarray(p, dtype=np.float64).reshape(-1))
    y = np.asarray(y).reshape(-1, 1)
    p = np.asarray(p, dtype=np.float64).reshape(-1, 1)
    threshold = best_threshold(metric, y, p) if metric.needs_threshold else 0.5
    return metric(y, p, threshold)
