"""Build a submission from a run, validate it against sample_submission.csv, write it atomically."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kagglekit.competition import Competition
from kagglekit.data import data_file, load_sample_submission
from kagglekit.errors import SubmissionError
from kagglekit.store.atomic import atomic_write_text
from kagglekit.store.run import Run

if TYPE_CHECKING:
    import pandas as pd


def build_submission(comp: Competition, run: Run, sample):
    """The run's test predictions in the sample submission's id order and columns."""
    import pandas as pd

    preds = run.test_predictions()
    id_col = run.info.get("id_column") or "id"
    missing = [c for c in comp.target_columns if c not in preds.columns]
    if missing:
        raise SubmissionError(f"run {run.id}: test_predictions.csv lacks column {missing[0]!r}")
    sub_id = comp.sub_id_column or id_col
    if sample is None:
        frame = pd.DataFrame({sub_id: preds[id_col].astype(str)})
        order = np.arange(len(preds))
    else:
        sample_ids = sample[sub_id].astype(str)
        position = pd.Series(np.arange(len(preds)), index=preds[id_col].astype(str))
        absent = ~sample_ids.isin(position.index)
        if absent.any():
            raise SubmissionError(
                f"run {run.id} has no prediction for id {sample_ids[absent].iloc[0]!r} of "
                f"sample_submission.csv ({int(absent.sum())} missing); was it run on another "
                f"test.csv? Rerun it on this competition's data"
            )
        order = position.loc[sample_ids].to_numpy()
        frame = pd.DataFrame({sub_id: sample[sub_id].to_numpy()})
    # a probability submission needs no threshold (a fit without a CV run has none)
    threshold = run.threshold if comp.submission_kind == "label" else None
    for target, column in zip(comp.target_columns, comp.sub_columns):
        values = preds[target].to_numpy(dtype=float)[order]
        frame[column] = (
            (values >= threshold).astype(int) if comp.submission_kind == "label" else values
        )
    return frame


def validate_submission(comp: Competition, frame, sample, where: str = "submission") -> None:
    """Same columns, same ids in the same order, no NaN, values of the right kind and range."""
    columns = [c for c in (comp.sub_id_column, *comp.sub_columns) if c]
    expected = list(sample.columns) if sample is not None else columns
    if list(frame.columns) != expected:
        raise SubmissionError(
            f"{where}: columns {list(frame.columns)} do not match "
            f"sample_submission.csv's {expected}"
        )
    if sample is not None:
        if len(frame) != len(sample):
            raise SubmissionError(
                f"{where}: {len(frame)} rows, sample_submission.csv has {len(sample)}"
            )
        id_col = comp.sub_id_column
        if id_col:
            ours = frame[id_col].astype(str).to_numpy()
            theirs = sample[id_col].astype(str).to_numpy()
            mismatched = np.flatnonzero(ours != theirs)
            if len(mismatched):
                i = int(mismatched[0])
                raise SubmissionError(
                    f"{where}: row {i + 1} has id {ours[i]!r} where "
                    f"sample_submission.csv has {theirs[i]!r}; ids must be "
                    f"the same and in the same order"
                )
    for column in comp.sub_columns:
        values = frame[column]
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
            raise SubmissionError(f"{where}: column {column!r} is NaN in row {row}")
        numeric = np.asarray(values, dtype=float)
        bad: np.ndarray
        if comp.submission_kind == "label":
            bad = ~np.isin(numeric, (0, 1))
            kind = "0 or 1"
        else:
            bad = (numeric < 0) | (numeric > 1) | ~np.isfinite(numeric)
            kind = "a probability in [0, 1]"
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise SubmissionError(
                f"{where}: column {column!r} has {values.iloc[row]!r} in row "
                f"{row + 1}; values must be {kind}"
            )


def write_submission(
    comp: Competition,
    run: Run,
    output: Path | None = None,
    submissions_dir: Path = Path("submissions"),
) -> tuple[Path, pd.DataFrame]:
    """Build, validate and atomically write the run's submission; returns (path, frame)."""
    if comp.test_file is None:
        raise SubmissionError(
            f"{comp.slug} has no test file, so there is nothing to submit; "
            f"score new rows with `kagglekit predict RUN --input CSV`"
        )
    data_dir = run.data_dir
    sample = (
        load_sample_submission(comp, data_dir)
        if comp.sample_submission_file
        and data_file(data_dir, comp.sample_submission_file) is not None
        else None
    )
    if comp.sample_submission_file and sample is None:
        raise SubmissionError(
            f"{data_dir / comp.sample_submission_file} not found; the run's data "
            f"folder moved? Fetch the data again"
        )
    frame = build_submission(comp, run, sample)
    path = Path(output) if output else Path(submissions_dir) / comp.slug / f"{run.id}.csv"
    validate_submission(comp, frame, sample, where=str(path))
    float_format = None if comp.submission_kind == "label" else "%.7g"
    atomic_write_text(path, frame.to_csv(index=False, float_format=float_format))
    return path, frame
