"""Fold schemes: splitter classes that give each row a fold number, never data.

Built-in schemes (registered through ``register_fold_schemes`` like a plugin's):
``stratified`` (binary), ``multilabel`` (iterative stratification over every label
column), ``group`` (rows sharing a group never straddle folds) and ``kfold``.
``auto`` is the one rule that picks among them: the competition's group column when its
data has one, else multilabel for several label columns, else stratified.

Exact duplicate texts (after the competition's text preparation) are kept in one fold by
default, whatever the scheme: a text scored in one fold and trained on in another leaks.

    class MyScheme(FoldScheme):
        def split(self, y, groups=None):   # yields (train_index, valid_index)
            ...
    register("my-scheme", MyScheme)        # in a plugin's register_fold_schemes hook
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kagglekit.errors import KaggleKitError, UnknownName
from kagglekit.hookspecs import hookimpl


class FoldScheme:
    """A splitter, scikit-learn style: the constructor stores settings, ``split`` yields
    (train_index, valid_index) pairs. ``needs_groups``: the scheme splits on groups."""

    needs_groups = False

    def __init__(self, n_splits: int = 5, seed: int = 42):
        self.n_splits = int(n_splits)
        self.seed = int(seed)

    def split(self, y: np.ndarray, groups=None):  # pragma: no cover - interface
        raise NotImplementedError


class Stratified(FoldScheme):
    """Stratified K-fold on the (first) label column."""

    def split(self, y, groups=None):
        from sklearn.model_selection import StratifiedKFold

        counts = np.bincount(y[:, 0].astype(int))
        smallest = counts[counts > 0].min()
        if smallest < self.n_splits:
            raise KaggleKitError(
                f"--folds {self.n_splits} is more than the {smallest} rows of the rarest class; "
                f"use --folds {max(2, smallest)} or fewer"
            )
        splitter = StratifiedKFold(n_splits=self.n_splits, shuffle=True, random_state=self.seed)
        return splitter.split(np.zeros(len(y)), y[:, 0])


class Multilabel(FoldScheme):
    """Iterative stratification over every label column (iterative-stratification)."""

    def split(self, y, groups=None):
        try:
            from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
        except ImportError:
            raise KaggleKitError(
                "multilabel folds need iterative-stratification: "
                "pip install iterative-stratification"
            ) from None
        splitter = MultilabelStratifiedKFold(
            n_splits=self.n_splits, shuffle=True, random_state=self.seed
        )
        return splitter.split(np.zeros(len(y)), y)


class Group(FoldScheme):
    """Stratified group K-fold: the rows of a group share a fold."""

    needs_groups = True

    def split(self, y, groups=None):
        if groups is None:
            raise KaggleKitError("--cv group needs a competition that declares a group column")
        from sklearn.model_selection import StratifiedGroupKFold

        n_groups = len(np.unique(np.asarray(groups).astype(str)))
        if n_groups < self.n_splits:
            raise KaggleKitError(
                f"--folds {self.n_splits} is more than the {n_groups} groups "
                f"(rows sharing a group or an identical text); use fewer folds"
            )
        splitter = StratifiedGroupKFold(
            n_splits=self.n_splits, shuffle=True, random_state=self.seed
        )
        return splitter.split(np.zeros(len(y)), y[:, 0], groups=np.asarray(groups))


class KFold(FoldScheme):
    """Plain shuffled K-fold (no stratification)."""

    def split(self, y, groups=None):
        from sklearn.model_selection import KFold as SkKFold

        return SkKFold(n_splits=self.n_splits, shuffle=True, random_state=self.seed).split(
            np.zeros(len(y))
        )


@hookimpl
def register_fold_schemes(register):
    register("stratified", Stratified)
    register("multilabel", Multilabel)
    register("group", Group)
    register("kfold", KFold)


def scheme_names() -> list[str]:
    from kagglekit import plugins

    return ["auto", *sorted(plugins.fold_schemes().items)]


def auto_scheme(y: np.ndarray, has_groups: bool) -> str:
    """The ``auto`` rule, written once."""
    if has_groups:
        return "group"
    return "multilabel" if np.asarray(y).reshape(len(y), -1).shape[1] > 1 else "stratified"


def get_scheme(name: str, n_folds: int, seed: int) -> FoldScheme:
    from kagglekit import plugins

    try:
        cls = plugins.fold_schemes().get(name)
    except UnknownName:
        raise KaggleKitError(
            f"unknown --cv scheme {name!r}; choose one of {', '.join(scheme_names())}"
        ) from None
    return cls(n_folds, seed)


def make_folds(
    y: np.ndarray,
    n_folds: int = 5,
    seed: int = 42,
    scheme: str = "auto",
    groups=None,
    together=None,
) -> np.ndarray:
    """A fold number (0..n_folds-1) per row.

    ``groups``: the scheme's groups (``group``); ``together``: a label per row whose equal
    values must share a fold whatever the scheme (exact duplicates), or None.
    """
    y = np.asarray(y)
    if y.ndim == 1:
        y = y[:, None]
    n = len(y)
    if n_folds < 2:
        raise KaggleKitError(f"--folds must be at least 2, got {n_folds}")
    if n_folds > n:
        raise KaggleKitError(f"--folds {n_folds} is more than the {n} training rows")
    if scheme == "auto":
        scheme = auto_scheme(y, groups is not None)
    splitter = get_scheme(scheme, n_folds, seed)
    if together is not None and splitter.needs_groups and groups is not None:
        groups, together = merge_groups(groups, together), None
    folds = np.full(n, -1, dtype=np.int16)
    if together is not None and len(np.unique(together)) < n:
        # split one representative row per group, then give its fold to the whole group
        codes, first = _codes(together)
        sub_groups = None if groups is None else np.asarray(groups)[first]
        if len(first) < n_folds:
            raise KaggleKitError(
                f"--folds {n_folds} is more than the {len(first)} distinct texts; use fewer folds"
            )
        rep = np.full(len(first), -1, dtype=np.int16)
        for k, (_, valid_idx) in enumerate(splitter.split(y[first], sub_groups)):
            rep[valid_idx] = k
        return rep[codes]
    for k, (_, valid_idx) in enumerate(splitter.split(y, groups)):
        folds[valid_idx] = k
    return folds


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, index of each code's first row), codes numbered by first appearance."""
    import pandas as pd

    codes, _ = pd.factorize(pd.Series(values, dtype=object), sort=False)
    _, first = np.unique(codes, return_index=True)
    return codes, first


def merge_groups(a, b) -> np.ndarray:
    """Connected components of two groupings: rows linked through either share a group."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ca, _ = _codes(a)
    cb, _ = _codes(b)
    n = len(ca)
    na = int(ca.max()) + 1 if n else 0
    rows = np.concatenate([np.arange(n), np.arange(n)])
    cols = np.concatenate([n + ca, n + na + cb])
    size = n + na + int(cb.max() + 1 if n else 0)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    return labels[:n]


@dataclass
class Duplicates:
    """Exact duplicate texts in the training rows: ``groups`` of size > 1, ``rows`` in them,
    ``conflicting`` groups whose labels differ."""

    codes: np.ndarray
    groups: int
    rows: int
    conflicting: int

    def summary(self) -> dict:
        return {"groups": self.groups, "rows": self.rows, "conflicting_labels": self.conflicting}


def find_duplicates(texts, y=None) -> Duplicates:
    codes, _ = _codes(np.asarray(texts, dtype=object))
    sizes = np.bincount(codes) if len(codes) else np.zeros(0, dtype=int)
    multi = np.flatnonzero(sizes > 1)
    conflicting = 0
    if y is not None and len(multi):
        y2 = np.asarray(y).reshape(len(codes), -1)
        in_multi = np.isin(codes, multi)
        import pandas as pd

        frame = pd.DataFrame(y2[in_multi]).assign(code=codes[in_multi])
        conflicting = int((frame.groupby("code").nunique() > 1).any(axis=1).sum())
    return Duplicates(codes, len(multi), int(sizes[multi].sum()), conflicting)


def fold_indices(folds: np.ndarray):
    """Yield (k, train_index, valid_index) for each fold number present."""
    for k in np.unique(folds):
        if k < 0:
            continue
        yield int(k), np.flatnonzero(folds != k), np.flatnonzero(folds == k)


def competition_folds(
    comp,
    train,
    n_folds: int = 5,
    seed: int = 42,
    scheme: str = "auto",
    group_duplicates: bool = True,
):
    """(folds, scheme used) for a competition's training frame.

    ``auto`` keeps the rows of a group together when the competition declares a group
    column and the data holds it, else stratifies (over every label when multilabel).
    With ``group_duplicates`` exact duplicate texts share a fold.
    """
    column = comp.group_column
    has_groups = bool(column) and train.extra is not None and column in train.extra.columns
    if scheme == "group" and not column:
        raise KaggleKitError(
            f"{comp.slug} declares no group column; --cv group is not "
            f"available (use --cv auto, stratified, multilabel or kfold)"
        )
    if scheme == "group" and not has_groups:
        raise KaggleKitError(
            f"--cv group: the {comp.slug} training data has no group column "
            f"{column!r}; check that its files are complete"
        )
    if scheme == "auto":
        scheme = auto_scheme(train.y, has_groups)
    groups = None
    if scheme == "group":
        values = train.extra[column]
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
            raise KaggleKitError(
                f"--cv group: column {column!r} is empty in training row {row}; "
                f"every row needs a group"
            )
        groups = values.to_numpy()
    together = find_duplicates(train.text).codes if group_duplicates else None
    return make_folds(train.y, n_folds, seed, scheme, groups, together), scheme


@dataclass
class FoldPlan:
    """The folds of a dataset and how they were made (recorded in run.json)."""

    folds: np.ndarray
    scheme: str
    duplicates: dict | None = None  # Duplicates.summary() + kept_together

    def info(self) -> dict:
        out: dict[str, Any] = {"cv_scheme": self.scheme}
        if self.duplicates is not None:
            out["duplicates"] = self.duplicates
        return out


def dataset_folds(
    data, n_folds: int = 5, seed: int = 42, scheme: str = "auto", group_duplicates: bool = True
) -> FoldPlan:
    """The one place a dataset gets its folds: the competition's predefined folds (the
    official validation file as the scoring fold), else ``competition_folds``."""
    if data.folds is not None:
        return FoldPlan(np.asarray(data.folds), "predefined")
    only = data.training_only  # pseudo rows: fold -1; the real rows' folds as without them
    train = data.train if only is None else data.train.take(np.flatnonzero(~only))
    dup = find_duplicates(train.text, train.y)
    folds, scheme = competition_folds(
        data.competition, train, n_folds, seed, scheme, group_duplicates
    )
    if only is not None:
        full = np.full(len(only), -1, dtype=np.int16)
        full[~only] = folds
        folds = full
    return FoldPlan(folds, scheme, {**dup.summary(), "kept_together": bool(group_duplicates)})
