"""Predict new rows with a finished run's saved models, or with a blend's members."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kagglekit import plugins
from kagglekit.data import prepared_texts, read_csv, read_table
from kagglekit.errors import DataError, RunError
from kagglekit.frame import TextFrame
from kagglekit.store.run import Run, predictions_frame

CHUNK_ROWS = 20_000  # predict in chunks of this many rows (progress on stderr)
PROGRESS_AFTER_SECONDS = 5.0  # off a terminal, a quick prediction prints no progress line


def expected_model_dirs(run: Run) -> list[str]:
    """The model folders a run must hold: one per fold of a cv run (from run.json's
    ``fold_scores``, else ``n_folds``), ``full`` for a fit run."""
    info = run.info
    if info.get("kind") == "fit":
        return ["full"]
    folds = [f.get("fold") for f in info.get("fold_scores") or [] if isinstance(f, dict)]
    if folds and all(isinstance(k, int) for k in folds):
        return [f"fold-{k}" for k in folds]
    n_folds = info.get("n_folds")
    if isinstance(n_folds, int) and n_folds > 0:
        return [f"fold-{k}" for k in range(n_folds)]
    return []


def saved_models(run: Run) -> list[Path]:
    """Every model folder the run must have; refuses, naming the first missing one."""
    models_dir = run.path / "models"
    expected = expected_model_dirs(run)
    if expected:
        missing = [name for name in expected if not (models_dir / name).is_dir()]
        if missing:
            raise RunError(
                f"{models_dir / missing[0]}: missing ({len(missing)} of "
                f"{len(expected)} saved models gone); the run's prediction averages "
                f"every one of them: re-create the run with the same `kagglekit "
                f"{'fit' if run.kind == 'fit' else 'cv'} ...` command"
            )
        return [models_dir / name for name in expected]
    dirs = sorted(p for p in models_dir.glob("*") if p.is_dir()) if models_dir.is_dir() else []
    if not dirs:
        raise RunError(f"run {run.id} has no saved models; it cannot predict new rows")
    return dirs


def combines(run: Run) -> bool:
    """A blend, or a blend refit: it predicts through member runs and saved blenders."""
    from kagglekit.blend.refit import combines_members

    return combines_members(run)


def model_dirs(run: Run) -> list[Path]:
    """Every saved model folder a prediction with ``run`` goes through: the run's own, or a
    blend's members' (recursively); a missing one is refused before any work."""
    if not combines(run):
        return saved_models(run)
    from kagglekit.blend.predicting import member_run
    from kagglekit.blend.state import load_blenders

    return [
        d for ref in load_blenders(run.path)["members"] for d in model_dirs(member_run(run, ref))
    ]


def predict_with_run(run: Run, frame: TextFrame, advance=None) -> np.ndarray:
    """Mean prediction of the run's saved models (each fold's, or the full fit's); a blend
    predicts with its members and combines them with its saved blenders.

    Progress (stderr) is one task for the whole prediction, a blend's members included:
    every model predicts every row, so it counts rows x models ("row predictions")."""
    if advance is None:
        from kagglekit.progress import steps

        n_models = len(model_dirs(run))
        models = "its 1 model" if n_models == 1 else f"each of {n_models} models"
        blend = f" (blend {run.id})" if combines(run) else ""
        with steps(
            f"Predicting {len(frame)} rows with {models}{blend}",
            total=n_models * len(frame),
            unit="row predictions",
            min_seconds=PROGRESS_AFTER_SECONDS,
        ) as advance:
            return predict_with_run(run, frame, advance)
    if combines(run):
        from kagglekit.blend.predicting import predict_blend

        return predict_blend(
            run, frame, lambda member, rows: predict_with_run(member, rows, advance)
        )
    model_cls = plugins.get_model(run.model)
    preds = []
    for directory in saved_models(run):
        model = model_cls.load(directory)
        parts = []
        for start in range(0, len(frame), CHUNK_ROWS):  # chunks: progress can be shown
            chunk = (
                frame
                if len(frame) <= CHUNK_ROWS
                else frame.take(np.arange(start, min(start + CHUNK_ROWS, len(frame))))
            )
            part = np.asarray(model.predict(chunk), dtype=np.float64)
            parts.append(part[:, None] if part.ndim == 1 else part)
            advance(len(chunk))
        preds.append(np.concatenate(parts, axis=0))
    return np.mean(preds, axis=0)


def competition_params(comp, values: dict | None):
    """The run's competition options (run.json's ``competition_params``) as the dataclass."""
    cls = comp.params_class()
    if cls is None:
        return None
    known = {
        k: v for k, v in (values or {}).items() if k in getattr(cls, "__dataclass_fields__", {})
    }
    return cls(**known)


def is_test_file(comp, path: Path) -> bool:
    """Whether ``path`` is the competition's own test file (or folder): named like it, or
    its .zip as Kaggle mounts some."""
    if not comp.test_file:
        return False
    name = Path(comp.test_file).name
    return Path(path).name in (name, f"{name}.zip")


def read_input(run: Run, comp, path: Path, encoding: str = "utf-8"):
    """An input file read as the competition's own files are: its test file (testData.tsv,
    aclImdb's test/ folder) by the competition's loader with the run's competition options,
    any other file as a CSV with the competition's read options (separator, quoting)."""
    if is_test_file(comp, path):
        return read_table(
            comp,
            Path(path),
            "test",
            encoding=encoding,
            params=competition_params(comp, run.info.get("competition_params")),
        )
    return read_csv(Path(path), encoding=encoding, **dict(comp.read_options))


def predict_file(run: Run, path: Path, encoding: str = "utf-8", allow_empty_text: bool = False):
    """id + one probability column per target for a file with the competition's text
    columns, read as the competition's files are (``read_input``).

    Rows without the competition's id column are numbered from 0.
    """
    from dataclasses import replace

    comp = plugins.get_competition(run.competition)
    if not run.info.get("prepared_text", True):
        comp = replace(comp, prepare_text=None)
    frame = read_input(run, comp, Path(path), encoding)
    text_cols = (
        comp.text_columns
        if all(c in frame.columns for c in comp.text_columns)
        else comp.test_columns
    )
    missing = [c for c in text_cols if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column {missing[0]!r} (found: "
            f"{', '.join(map(str, frame.columns[:12]))}); the input needs the "
            f"competition's text column(s) {', '.join(text_cols)}"
        )
    id_col = comp.id_column if comp.id_column and comp.id_column in frame.columns else None
    ids = frame[id_col].to_numpy(dtype=object) if id_col else np.arange(len(frame))
    text = prepared_texts(frame, text_cols, Path(path), id_col, allow_empty_text, comp.prepare_text)
    preds = predict_with_run(
        run, TextFrame(ids=ids, text=text, target_names=comp.target_columns, extra=frame)
    )
    return submission_like(run, comp, ids, preds, made_up_ids=id_col is None)


def submission_like(run: Run, comp, ids, preds, made_up_ids: bool = False):
    """Predictions named like the submission (its id and value columns), probabilities, and
    for thresholded metrics a 0/1 ``<column>_label`` at the run's OOF threshold. Made-up
    ids (0, 1, ... when the input had no id column) go in a column named ``row``, and
    ``frame.attrs["made_up_ids"]`` says so."""
    columns = (
        list(comp.sub_columns)
        if len(comp.sub_columns) == comp.n_targets
        else list(comp.target_columns)
    )
    id_name = "row" if made_up_ids else (comp.sub_id_column or comp.id_column or "id")
    out = predictions_frame(ids, preds, columns, id_name)
    from kagglekit.metrics import thresholded_metric

    threshold = run.info.get("threshold")
    labelled = threshold is not None and thresholded_metric(comp) is not None
    if labelled:
        for j, column in enumerate(columns):
            out[f"{column}_label"] = (np.asarray(preds)[:, j] >= float(threshold)).astype(int)
    out.attrs.update(made_up_ids=made_up_ids, threshold=threshold, labels=labelled)
    return out
