"""What the packaged notebook runs on Kaggle once kagglekit is installed: the competition's
(hidden) test split predicted with the packaged run and turned into submission.csv,
validated like `kagglekit submit`'s.

The test split is read as `kagglekit cv` read it (the competition's loader: CSV, TSV, a
folder of reviews, a zipped file; the run's encoding, empty-text rule, text preparation
and competition options), and the predictions are written as the run's own
test_predictions.csv is (id column + target columns, 7 significant digits), so the
notebook's file is the one `kagglekit submit RUN` writes from the same rows.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kagglekit.store.run import Run, check_predictions


class PredictedRun(Run):
    """A packaged run whose test predictions are those just made on the (hidden) test file."""

    def __init__(self, path: Path, predictions: Path):
        super().__init__(path)
        self.predictions = Path(predictions)

    def test_predictions(self):
        import pandas as pd

        id_column = self.info.get("id_column") or "id"
        frame = pd.read_csv(self.predictions, dtype={id_column: str})
        return check_predictions(frame, self.predictions, id_column, self.target_columns)


def predict_test_split(run: Run, competition_dir: Path, output: Path) -> int:
    """Predict the competition's test split in ``competition_dir`` with ``run`` and write the
    predictions in test_predictions.csv's form to ``output``; the number of rows."""
    from kagglekit import plugins
    from kagglekit.data import load_split
    from kagglekit.predict import competition_params, predict_with_run
    from kagglekit.store.atomic import atomic_write_text
    from kagglekit.store.run import predictions_frame

    comp = plugins.get_competition(run.competition)
    if not run.info.get("prepared_text", True):
        comp = replace(comp, prepare_text=None)
    test = load_split(
        comp,
        Path(competition_dir),
        "test",
        encoding=run.info.get("encoding") or "utf-8",
        allow_empty_text=bool(run.info.get("allow_empty_text")),
        params=competition_params(comp, run.info.get("competition_params")),
    )
    preds = predict_with_run(run, test)
    frame = predictions_frame(
        test.ids, preds, run.target_columns, run.info.get("id_column") or "id"
    )
    atomic_write_text(Path(output), frame.to_csv(index=False, float_format="%.7g"))
    return len(frame)


def write_kernel_submission(
    run_dir: Path, competition_dir: Path, output: Path, scratch: Path
) -> tuple[Path, int]:
    """Predict the test split (predictions kept in ``scratch``), build the submission in the
    sample submission's ids and columns (the run's threshold for label submissions),
    validate it and write it atomically to ``output``."""
    from kagglekit import plugins
    from kagglekit.data import data_file, load_sample_submission
    from kagglekit.errors import SubmissionError
    from kagglekit.store.atomic import atomic_write_text
    from kagglekit.submission import build_submission, validate_submission

    comp = plugins.get_competition(Run(run_dir).competition)
    sample = None
    if comp.sample_submission_file:
        if data_file(Path(competition_dir), comp.sample_submission_file) is None:
            raise SubmissionError(
                f"{Path(competition_dir) / comp.sample_submission_file} not "
                f"found; add the competition to the notebook's inputs"
            )
        sample = load_sample_submission(comp, Path(competition_dir))
    predictions = Path(scratch) / "test_predictions.csv"
    predict_test_split(Run(run_dir), competition_dir, predictions)
    run = PredictedRun(run_dir, predictions)
    frame = build_submission(comp, run, sample)
    validate_submission(comp, frame, sample, where=str(output))
    float_format = None if comp.submission_kind == "label" else "%.7g"
    atomic_write_text(Path(output), frame.to_csv(index=False, float_format=float_format))
    return Path(output), len(frame)
