"""``hill-climb``: greedy forward selection of members with replacement (Caruana et al.,
"Ensemble selection from libraries of models", ICML 2004), the way recent winning Kaggle
solutions chose their blends over out-of-fold predictions.

Starting from the best single member, each step adds the member (any member, again and
again if it helps) whose addition to the running average scores best for the
competition's metric (at its best threshold when it needs one). The ensemble kept is the
best one met within ``max_steps`` steps; steps stop early when ``patience`` steps in a row
bring no gain. A member's weight is the share of the steps that chose it, so the weights
are non-negative, sum to one, and are readable as counts.

It learns from labels, so ``blend_arrays`` nests it in the members' folds like
``weighted`` and ``stack``: fold k's blend OOF comes from a selection made on the other
folds' rows only, and the selection behind the test predictions (made on all OOF rows)
has its in-sample score reported beside the held-out one.
"""

from __future__ import annotations

import numpy as np

from kagglekit.blend.methods import BlendMethod, metric_score
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl

# a step must improve the score by more than this to count as a gain
TOLERANCE = 1e-9


class HillClimbBlend(BlendMethod):
    name = "hill-climb"
    description = "greedy forward selection with replacement on OOF (Caruana 2004), nested CV"
    supervised = True

    # at most this many selections; stop after `patience` selections without a gain
    max_steps = 100
    patience = 10

    def fit(self, P, y=None):
        P = np.asarray(P, dtype=np.float64)
        y = np.asarray(y).reshape(-1)
        n_rows, n_members = P.shape
        self.n_members_ = n_members
        metric = self.context.metric
        if metric is None:
            raise KaggleKitError("the hill-climb blend needs a metric to optimise")
        if n_members == 1 or len(np.unique(y)) < 2:
            self.weights_ = np.full(n_members, 1.0 / n_members)
            self.counts_ = np.ones(n_members, dtype=np.int64)
            self.score_ = metric_score(metric, y, P @ self.weights_)
            self.path_ = np.array([], dtype=np.float64)
            return self
        sign = 1.0 if metric.greater_is_better else -1.0

        def gain(score: float) -> float:  # higher is better whatever the metric's direction
            return sign * score if np.isfinite(score) else -np.inf

        singles = [gain(metric_score(metric, y, P[:, m])) for m in range(n_members)]
        first = int(np.argmax(singles))  # ties: the earlier member
        counts = np.zeros(n_members, dtype=np.int64)
        counts[first] = 1
        total = P[:, first].copy()
        best_gain, best_counts = singles[first], counts.copy()
        path = [singles[first]]
        since_gain = 0
        for step in range(2, self.max_steps + 1):
            candidates = [
                gain(metric_score(metric, y, (total + P[:, m]) / step)) for m in range(n_members)
            ]
            chosen = int(np.argmax(candidates))
            counts[chosen] += 1
            total += P[:, chosen]
            path.append(candidates[chosen])
            if candidates[chosen] > best_gain + TOLERANCE:
                best_gain, best_counts, since_gain = candidates[chosen], counts.copy(), 0
            else:
                since_gain += 1
                if since_gain >= self.patience:
                    break
        self.counts_ = best_counts
        self.weights_ = best_counts / best_counts.sum()
        self.score_ = sign * best_gain
        self.path_ = sign * np.asarray(path, dtype=np.float64)  # the score after each step
        return self

    def predict(self, P):
        return np.asarray(P, dtype=np.float64) @ self.fitted_weights()


@hookimpl
def register_blend_methods(register):
    register(HillClimbBlend.name, HillClimbBlend)
