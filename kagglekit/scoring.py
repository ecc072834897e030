"""Local scoring of a run's test predictions when the test labels are known.

Some competitions published their test labels afterwards (a CSV with the id column and
the target columns, where the competition's ``unscored_label`` marks rows that were never
scored), and some datasets ship them (labelled test folders). ``score_run`` matches the
labels to the run's test predictions by id and computes the competition's metrics with
the run's threshold. The run itself is not changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kagglekit.competition import Competition
from kagglekit.data import check_ids, encode_labels, read_table
from kagglekit.errors import DataError, KaggleKitError
from kagglekit.store.run import Run


def load_test_labels(comp: Competition, path: Path, *, encoding: str = "utf-8", params=None):
    """(ids, y, n_unscored): the scored rows' ids and (n, n_targets) 0/1 labels."""
    path = Path(path)
    if not comp.id_column:
        raise KaggleKitError(
            f"{comp.slug} has no id column, so test labels cannot be matched to predictions"
        )
    if not path.exists():
        raise DataError(f"{path}: not found; pass --labels with the test labels file")
    needed = [comp.id_column, *comp.target_columns]
    frame = read_table(
        comp, path, "labels", columns_needed=needed, encoding=encoding, params=params
    )
    if len(frame) == 0:
        raise DataError(f"{path}: has a header but no rows")
    check_ids(frame, comp.id_column, path)
    unscored = np.zeros(len(frame), dtype=bool)
    if comp.unscored_label is not None:
        targets = frame[list(comp.target_columns)].astype(str)
        unscored = (
            targets.isin([comp.unscored_label, f"{comp.unscored_label}.0"]).any(axis=1).to_numpy()
        )
    kept = frame[~unscored]
    if len(kept) == 0:
        raise DataError(
            f"{path}: every row is marked {comp.unscored_label!r} (not scored); "
            f"there is nothing to score"
        )
    y = encode_labels(comp, kept, path)
    return kept[comp.id_column].astype(str).to_numpy(), y, int(unscored.sum())


def labels_path_for(comp: Competition, run: Run, labels=None) -> Path:
    """--labels, else the competition's test labels file in the run's data folder."""
    if labels:
        return Path(labels)
    if not comp.test_labels_file:
        raise KaggleKitError(f"{comp.slug} declares no test labels file; pass --labels FILE")
    return run.data_dir / comp.test_labels_file


def score_run(comp: Competition, run: Run, labels=None, *, encoding: str = "utf-8") -> dict:
    """The run's test predictions scored against the test labels.

    Returns {"scores", "n_scored", "n_unscored", "n_predictions", "labels", "threshold"}.
    """
    from kagglekit.metrics import score_all

    if run.competition != comp.slug:
        raise KaggleKitError(f"run {run.id} is a {run.competition} run, not {comp.slug}")
    path = labels_path_for(comp, run, labels)
    ids, y, n_unscored = load_test_labels(comp, path, encoding=encoding)
    preds = run.test_predictions()
    id_col = run.info.get("id_column") or "id"
    import pandas as pd

    position = pd.Series(np.arange(len(preds)), index=preds[id_col].astype(str).to_numpy())
    known = np.isin(ids, position.index.to_numpy())
    if not known.all():
        raise KaggleKitError(
            f"run {run.id} has no test prediction for id {ids[~known][0]!r} of {path} "
            f"({int((~known).sum())} of {len(ids)} scored ids missing); are these the labels "
            f"of the test file the run predicted?"
        )
    order = position.loc[ids].to_numpy()
    prob = preds[list(run.target_columns)].to_numpy(dtype=float)[order]
    return {
        "scores": score_all(comp, y, prob, run.threshold),
        "n_scored": int(len(ids)),
        "n_unscored": n_unscored,
        "n_predictions": int(len(preds)),
        "labels": str(path),
        "threshold": run.threshold,
    }
