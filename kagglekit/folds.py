"""Fold schemes. A scheme returns a fold number per row (an int array), never data.

``stratified`` (binary), ``multilabel`` (iterative stratification over all label
columns) and ``group`` (rows sharing a group never straddle folds).
"""

from __future__ import annotations

import numpy as np

from kagglekit.errors import KaggleKitError

SCHEMES = ("auto", "stratified", "multilabel", "group", "kfold")


def make_folds(y: np.ndarray, n_folds: int = 5, seed: int = 42, scheme: str = "auto",
               groups=None) -> np.ndarray:
    """Assign each row to one of ``n_folds`` folds (0..n_folds-1)."""
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, None]
    n = len(y)
    if n_folds < 2:
        raise KaggleKitError(f"--folds must be at least 2, got {n_folds}")
    if n_folds > n:
        raise KaggleKitError(f"--folds {n_folds} is more than the {n} training rows")
    if scheme == "auto":
        scheme = "group" if groups is not None else ("multilabel" if y.shape[1] > 1 else "stratified")
    folds = np.full(n, -1, dtype=np.int16)
    if scheme == "stratified":
        from sklearn.model_selection import StratifiedKFold

        counts = np.bincount(y[:, 0].astype(int))
        smallest = counts[counts > 0].min()
        if smallest < n_folds:
            raise KaggleKitError(
                f"--folds {n_folds} is more than the {smallest} rows of the rarest class; "
                f"use --folds {max(2, smallest)} or fewer")
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(n), y[:, 0])
    elif scheme == "multilabel":
        try:
            from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
        except ImportError:
            raise KaggleKitError("multilabel folds need iterative-stratification: "
                                 "pip install iterative-stratification") from None
        splitter = MultilabelStratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(n), y)
    elif scheme == "group":
        if groups is None:
            raise KaggleKitError("--cv group needs a competition that declares a group column")
        from sklearn.model_selection import StratifiedGroupKFold

        splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(n), y[:, 0], groups=np.asarray(groups))
    elif scheme == "kfold":
        from sklearn.model_selection import KFold

        splits = KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(n))
    else:
        raise KaggleKitError(f"unknown --cv scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    for k, (_, valid_idx) in enumerate(splits):
        folds[valid_idx] = k
    return folds


def fold_indices(folds: np.ndarray):
    """Yield (k, train_index, valid_index) for each fold number present."""
    for k in np.unique(folds):
        if k < 0:
            continue
        yield int(k), np.flatnonzero(folds != k), np.flatnonzero(folds == k)


def competition_folds(comp, train, n_folds: int = 5, seed: int = 42, scheme: str = "auto"):
    """(folds, scheme used) for a competition's training frame.

    ``auto`` keeps the rows of a group together when the competition declares a group
    column and the data holds it, else stratifies (over every label when multilabel).
    """
    column = comp.group_column
    has_groups = bool(column) and train.extra is not None and column in train.extra.columns
    if scheme == "group" and not column:
        raise KaggleKitError(f"{comp.slug} declares no group column; --cv group is not "
                             f"available (use --cv auto, stratified, multilabel or kfold)")
    if scheme == "group" and not has_groups:
        raise KaggleKitError(f"--cv group: the {comp.slug} training data has no group column "
                             f"{column!r}; check that its files are complete")
    if scheme == "auto":
        scheme = "group" if has_groups else ("multilabel" if train.y.shape[1] > 1 else "stratified")
    groups = None
    if scheme == "group":
        values = train.extra[column]
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
            raise KaggleKitError(f"--cv group: column {column!r} is empty in training row {row}; "
                                 f"every row needs a group")
        groups = values.to_numpy()
    return make_folds(train.y, n_folds, seed, scheme, groups), scheme
