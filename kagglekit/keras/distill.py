"""Distillation: a teacher CV run's out-of-fold probabilities as soft targets.

``-p teacher=RUN`` (a run directory, or a run id in --runs-dir: resolved once to the run's
folder by ``params.resolve_models``, see ``store.refs``) trains a Keras model on

    target = (1 - distill_alpha) * label + distill_alpha * sigmoid(logit(p_teacher) / temperature)

where ``p_teacher`` is the teacher's OOF prediction of the row: made by a teacher model that
never trained on it. Only ``oof.csv`` is read, never a model's predictions of its own training
rows. The teacher must be a CV run on the same rows and folds: every training row needs an
OOF prediction, and the rows scored in this fold must be exactly one of the teacher's folds,
with every training row in another one (so the teacher's targets of this fold's training
rows came from teacher models of other folds, as in a stacked blend). Otherwise one line
says why.
"""

from __future__ import annotations

import numpy as np

from kagglekit.errors import KaggleKitError


def teacher_run(ref: str):
    """The teacher run in the folder ``ref`` was resolved to (``store.refs``)."""
    from kagglekit.store.refs import open_run

    try:
        run = open_run(ref)
    except KaggleKitError as exc:
        raise KaggleKitError(f"teacher={ref}: {exc}") from None
    if run.kind != "cv":
        raise KaggleKitError(
            f"teacher={ref}: run {run.id} is a {run.kind} run; a teacher must "
            f"be a CV run (its out-of-fold predictions are the targets)"
        )
    return run


def teacher_leaks(run) -> list[str]:
    """Why the teacher run's OOF is not held out (empty when it is): a student trained on it
    inherits the leak, so its own score is not held out either."""
    if run.info.get("held_out", True):
        return []
    why = "; ".join(run.info.get("not_held_out_because") or []) or "its run says so"
    return [f"its distillation teacher {run.id} is not held out ({why})"]


def teacher_oof(ref: str, train, valid=None, *, run=None) -> np.ndarray:
    """The teacher's OOF probabilities of ``train``'s rows, (n_rows, n_targets), after
    checking that the teacher ran on the same rows and folds. ``run``: ``ref`` already
    resolved (``teacher_run``)."""
    run = teacher_run(ref) if run is None else run
    columns = list(run.target_columns)
    if list(train.target_names) != columns:
        raise KaggleKitError(
            f"teacher={ref}: run {run.id} predicts {', '.join(columns)}, not "
            f"{', '.join(train.target_names)}; use a teacher of this competition"
        )
    id_col = run.info.get("id_column") or "id"
    oof = run.oof().set_index(id_col)
    oof.index = oof.index.astype(str)
    folds = run.folds().set_index(id_col)["fold"]
    folds.index = folds.index.astype(str)
    ids = [str(i) for i in train.ids]
    missing = [i for i in ids if i not in oof.index]
    if missing:
        raise KaggleKitError(
            f"teacher={ref}: training row id {missing[0]!r} has no OOF "
            f"prediction in run {run.id} ({len(missing)} such rows); the "
            f"teacher must be a CV run on the same rows and folds"
        )
    if valid is not None and len(valid):
        valid_ids = [str(i) for i in valid.ids]
        unknown = [i for i in valid_ids if i not in folds.index]
        teacher_folds = set(folds.reindex(valid_ids).dropna().astype(int))
        if unknown or len(teacher_folds) != 1:
            raise KaggleKitError(
                f"teacher={ref}: this fold's scored rows are not one fold of "
                f"run {run.id}; the teacher must use the same folds (same "
                f"--folds, --seed and --cv)"
            )
        k = teacher_folds.pop()
        if (folds.loc[ids].astype(int) == k).any():
            raise KaggleKitError(
                f"teacher={ref}: training rows of this fold are in run "
                f"{run.id}'s fold {k}; the teacher must use the same folds"
            )
    return oof.loc[ids, columns].to_numpy(dtype=np.float64)


def soften(p: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """sigmoid(logit(p) / T): T > 1 pulls probabilities toward 0.5, T < 1 sharpens them."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return 1 / (1 + np.exp(-np.log(p / (1 - p)) / float(temperature)))


def distill_targets(y, p_teacher, alpha: float, temperature: float = 1.0) -> np.ndarray:
    """(1 - alpha) * y + alpha * soften(p_teacher, temperature), as float32."""
    y = np.asarray(y, dtype=np.float64)
    return ((1 - alpha) * y + alpha * soften(p_teacher, temperature)).astype(np.float32)
