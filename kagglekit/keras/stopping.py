"""Which rows early stopping watches, what it measures, and the recipe a full fit replays.

Pure Python/NumPy: importing it never imports Keras.

- ``early_stopping=inner`` (default): a stratified, seeded share (``inner_fraction``, 10%)
  of the *training* rows is held out; the monitor, early stopping, the plateau schedule and
  the best-weights restore see only those rows, so the validation fold stays held out.
- ``valid``: the fold's validation rows (the CV score is then *not* held out; ``fit_info``
  says ``"early_stopping": "valid"``).
- ``off``: every epoch is trained and the last one kept.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

EARLY_STOPPING = ("inner", "valid", "off")
MIN_INNER_ROWS = 20  # fewer training rows: no inner split (too few to score anything)


def holdout_split(y, fraction: float, seed: int):
    """(fit_index, stop_index): a stratified, seeded ``fraction`` of the rows held out for
    early stopping."""
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    y = y[:, None] if y.ndim == 1 else y
    index = np.arange(len(y))
    strata = y[:, 0] if y.shape[1] == 1 else (y.sum(axis=1) > 0).astype(int)
    try:
        fit_idx, stop_idx = train_test_split(
            index, test_size=fraction, random_state=seed, stratify=strata
        )
    except ValueError:  # too few rows of a class to stratify
        fit_idx, stop_idx = train_test_split(index, test_size=fraction, random_state=seed)
    return np.sort(fit_idx), np.sort(stop_idx)


def resolve_monitor(name: str, n_targets: int):
    """(score(y, p) -> float, greater_is_better, resolved name). ``auto``: auc for one target,
    mean_auc for several; ``loss``: log loss; any registered metric (thresholded ones are
    scored at their best threshold on the early-stopping rows)."""
    from kagglekit import plugins
    from kagglekit.metrics import best_threshold

    if name == "auto":
        name = "auc" if n_targets == 1 else "mean_auc"
    if name == "loss":
        name = "log_loss"
    metric = plugins.get_metric(name)
    if metric.needs_threshold:

        def score(y, p):
            return float(metric(y, p, best_threshold(metric, y, p)))
    else:

        def score(y, p):
            return float(metric(y, p))

    return score, metric.greater_is_better, name


def recipe_from_fold_infos(fit_infos: list[dict]) -> dict:
    """The recipe ``kagglekit fit`` replays from a CV run's per-fold ``fit_info`` dicts:
    ``epochs`` = the median best epoch (rounded half up, at least 1) and ``learning_rates``
    = each of those epochs' learning rate averaged over the folds that ran it."""
    infos = [info for info in fit_infos or () if info]
    if not infos:
        raise ValueError("no fold has a fit_info: the CV run holds no neural training record")
    best = []
    for k, info in enumerate(infos):
        value = info.get("best_epoch")
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"fold {k}'s fit_info has no best_epoch (got {value!r})")
        best.append(value)
    epochs = max(1, int(math.floor(statistics.median(best) + 0.5)))
    rates = []
    for i in range(epochs):
        seen = [
            float(h[i]["lr"])
            for h in (info.get("history") or [] for info in infos)
            if len(h) > i and h[i].get("lr") is not None
        ]
        if seen:
            rates.append(sum(seen) / len(seen))
        elif rates:  # no fold ran this epoch: keep the last rate
            rates.append(rates[-1])
    return {"epochs": epochs, "learning_rates": rates if len(rates) == epochs else None}
