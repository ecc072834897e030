"""Blending arrays, one target column at a time; supervised methods nested in the folds.

Honesty: a method that learns from labels (``weighted``, ``stack``) is nested inside the
members' folds. Its OOF predictions for fold k come from a blender fit on the OOF rows of
the other folds only, so the blend's scores are cross-validated like any run's. The
blender behind the test predictions (and ``predict``) is fit on all OOF rows; its
in-sample, optimistic score is reported beside them as ``scores_in_sample``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kagglekit.blend.methods import BlendContext, get_method


@dataclass
class BlendResult:
    oof: np.ndarray  # (n, T): cross-validated for supervised methods
    test: np.ndarray | None  # (n_test, T)
    in_sample: np.ndarray | None  # (n, T): the final blender on the rows it was fit on
    blenders: list  # one fitted method per target column (fit on all OOF rows)
    fold_weights: list = field(default_factory=list)  # [label][fold] -> weights or None


def blend_arrays(
    method: str,
    oof: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    test: np.ndarray | None = None,
    context: BlendContext | None = None,
) -> BlendResult:
    """Blend members' predictions; ``oof`` (M, n, T), ``test`` (M, n_test, T), ``y`` (n, T).

    Each target column is blended on its own. Supervised methods are nested: fold k's
    OOF comes from a blender fit on the other folds' rows.
    """
    cls = get_method(method)
    oof = np.asarray(oof, dtype=np.float64)
    if oof.ndim == 2:
        oof = oof[:, :, None]
    n_members, n_rows, n_targets = oof.shape
    y = np.asarray(y).reshape(n_rows, -1)
    folds = np.asarray(folds).reshape(-1)
    if test is not None:
        test = np.asarray(test, dtype=np.float64)
        if test.ndim == 2:
            test = test[:, :, None]
    out_oof = np.zeros((n_rows, n_targets))
    out_test = None if test is None else np.zeros((test.shape[1], n_targets))
    in_sample = np.zeros((n_rows, n_targets)) if cls.supervised else None
    blenders, fold_weights = [], []
    for j in range(n_targets):
        P = oof[:, :, j].T  # (n, M)
        full = cls(context).fit(P, y[:, j])
        blenders.append(full)
        per_fold = []
        if cls.supervised:
            for k in np.unique(folds):
                valid = folds == k
                inner = cls(context).fit(P[~valid], y[~valid, j])
                out_oof[valid, j] = inner.predict(P[valid])
                per_fold.append(None if inner.weights_ is None else inner.weights_.tolist())
            assert in_sample is not None  # made for supervised methods
            in_sample[:, j] = full.predict(P)
        else:
            out_oof[:, j] = full.predict(P)
        fold_weights.append(per_fold)
        if test is not None and out_test is not None:
            out_test[:, j] = full.predict(test[:, :, j].T)
    return BlendResult(out_oof, out_test, in_sample, blenders, fold_weights)
