"""The known-answer check of the honesty tests (issue 11): out-of-fold predictions with the
labels shuffled at random, and how far from chance (AUC 0.5) such a score may fall."""

from __future__ import annotations

import math

import numpy as np


def null_bound(y) -> float:
    pos = int(np.sum(y))
    neg = len(y) - pos
    return 4 * math.sqrt((pos + neg + 1) / (12 * pos * neg))


def shuffled_oof(make_model, texts, y, *, folds: int, seed: int = 0):
    """(OOF AUC, per-fold fit_info) with labels permuted at random."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from kagglekit.frame import TextFrame

    y = np.random.default_rng(seed).permutation(np.asarray(y).reshape(-1))
    texts = np.asarray(texts, dtype=object)
    oof = np.zeros(len(y))
    infos = []
    for k, (tr, va) in enumerate(
        StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y)
    ):
        model = make_model(k)
        model.fit(TextFrame.from_texts(texts[tr], y[tr]), TextFrame.from_texts(texts[va], y[va]))
        oof[va] = model.predict(TextFrame.from_texts(texts[va]))[:, 0]
        infos.append(model.fit_info_)
    return roc_auc_score(y, oof), infos, y
