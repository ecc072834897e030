"""The untouched holdout of ``kagglekit tune``: rows no trial ever trains on or is scored on.

The best trial's CV score is optimistic: it was chosen as the best of N. So before any
trial, a share of the training rows is set aside, made the way the competition's folds
are made (stratified, or multilabel-stratified, or by the competition's groups, with exact
duplicate texts kept together): the holdout is one fold of a ``round(1 / share)``-fold
plan of the training rows (15% -> 1 fold of 7, 14.3% of the rows). Trials see the other
rows only; the chosen configuration is fit on them and scored once on the holdout.
Pseudo-labelled rows (training-only) are never held out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from kagglekit.errors import KaggleKitError
from kagglekit.folds import dataset_folds

DEFAULT_SHARE = 0.15


@dataclass
class Holdout:
    share: float  # as asked
    n_folds: int  # the holdout is one fold of this many
    rows: np.ndarray  # indices into the full training rows, sorted
    seed: int

    def record(self, n_train: int) -> dict:
        return {
            "share": round(len(self.rows) / n_train, 6),
            "asked": self.share,
            "rows": int(len(self.rows)),
            "of": int(n_train),
            "seed": self.seed,
            "made_as": f"one fold of a {self.n_folds}-fold plan",
        }


def split_holdout(
    data,
    share: float = DEFAULT_SHARE,
    seed: int = 42,
    scheme: str = "auto",
    *,
    note: str | None = None,
    why: str = "kagglekit tune holds these rows out of every trial",
):
    """(the dataset trials see, the holdout's rows as a labelled frame, Holdout).

    ``note`` / ``why``: what the dataset's notes and its runs' ``row_subset`` say about the
    rows kept out (``kagglekit auto`` uses the same holdout)."""
    if not 0 < share < 0.5:
        raise KaggleKitError(
            f"--holdout {share}: the holdout share must be above 0 and below "
            f"0.5 (e.g. 0.15), or use --no-holdout"
        )
    if data.folds is not None:
        raise KaggleKitError(
            "tune keeps a holdout out of the training rows, which the "
            "competition's predefined validation folds (--validation-as-fold) "
            "do not allow; drop --validation-as-fold or use --no-holdout"
        )
    n_folds = max(2, int(round(1.0 / share)))
    plan = dataset_folds(data, n_folds, seed, scheme)
    folds = np.asarray(plan.folds)
    held = folds == 0  # training-only (pseudo) rows have fold -1: never held out
    if not held.any() or held.all():
        raise KaggleKitError(
            f"the holdout of {share:.0%} is empty or all of the "
            f"{len(folds)} training rows; give another --holdout share"
        )
    keep = np.flatnonzero(~held)
    rows = np.flatnonzero(held)
    train = data.train.take(keep)
    only = None if data.training_only is None else np.asarray(data.training_only)[keep]
    notes = [
        *data.notes,
        note
        or f"tune: {len(rows):,} of {len(folds):,} training rows held out "
        f"(never trained on or scored by a trial)",
    ]
    subset = {
        "why": why,
        "rows": int(len(keep)),
        "of": int(len(folds)),
    }
    trials_data = replace(data, train=train, training_only=only, notes=notes, row_subset=subset)
    return trials_data, data.train.take(rows), Holdout(share, n_folds, rows, seed)


def unlabelled(frame):
    """The holdout rows as a model sees test rows: without their labels."""
    return replace(frame, y=None)
