"""What the packaged notebook runs on Kaggle after `kagglekit predict`: the submission file
from the predictions of the hidden test set, validated like `kagglekit submit`'s."""

from __future__ import annotations

from pathlib import Path

from kagglekit.runs import Run


class PredictedRun(Run):
    """A packaged run whose test predictions are those just made on the (hidden) test file."""

    def __init__(self, path: Path, predictions: Path):
        super().__init__(path)
        self.predictions = Path(predictions)

    def test_predictions(self):
        import pandas as pd

        return pd.read_csv(self.predictions, dtype={self.info.get("id_column") or "id": str})


def write_kernel_submission(run_dir: Path, predictions: Path, competition_dir: Path,
                            output: Path) -> tuple[Path, int]:
    """Build the submission from ``predictions`` in the sample submission's ids and columns
    (the run's threshold for label submissions), validate it and write it atomically."""
    from kagglekit import plugins
    from kagglekit.data import data_file, load_sample_submission
    from kagglekit.errors import SubmissionError
    from kagglekit.runs import atomic_write_text
    from kagglekit.submission import build_submission, validate_submission

    run = PredictedRun(run_dir, predictions)
    comp = plugins.get_competition(run.competition)
    sample = None
    if comp.sample_submission_file:
        if data_file(Path(competition_dir), comp.sample_submission_file) is None:
            raise SubmissionError(f"{Path(competition_dir) / comp.sample_submission_file} not "
                                  f"found; add the competition to the notebook's inputs")
        sample = load_sample_submission(comp, Path(competition_dir))
    frame = build_submission(comp, run, sample)
    validate_submission(comp, frame, sample, where=str(output))
    float_format = None if comp.submission_kind == "label" else "%.7g"
    atomic_write_text(Path(output), frame.to_csv(index=False, float_format=float_format))
    return Path(output), len(frame)
