"""Predict new rows with a finished run's saved models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kagglekit import plugins
from kagglekit.data import prepared_texts, read_csv
from kagglekit.frame import TextFrame
from kagglekit.errors import KaggleKitError
from kagglekit.runs import Run, predictions_frame


def predict_file(run: Run, path: Path, encoding: str = "utf-8", allow_empty_text: bool = False):
    """id + one probability column per target for a CSV with the competition's text columns.

    Rows without the competition's id column are numbered from 0.
    """
    from dataclasses import replace

    comp = plugins.get_competition(run.competition)
    if not run.info.get("prepared_text", True):
        comp = replace(comp, prepare_text=None)
    frame = read_csv(Path(path), encoding=encoding)
    text_cols = comp.text_columns if all(c in frame.columns for c in comp.text_columns) \
        else comp.test_columns
    missing = [c for c in text_cols if c not in frame.columns]
    if missing:
        from kagglekit.errors import DataError

        raise DataError(f"{path}: missing column {missing[0]!r} (found: "
                        f"{', '.join(map(str, frame.columns[:12]))}); the input needs the "
                        f"competition's text column(s) {', '.join(text_cols)}")
    id_col = comp.id_column if comp.id_column and comp.id_column in frame.columns else None
    ids = frame[id_col].to_numpy(dtype=object) if id_col else np.arange(len(frame))
    text = prepared_texts(frame, text_cols, Path(path), id_col, allow_empty_text, comp.prepare_text)
    preds = predict_with_run(run, TextFrame(ids=ids, text=text, target_names=comp.target_columns,
                                            extra=frame))
    return predictions_frame(ids, preds, comp.target_columns, id_col or "row")


def saved_models(run: Run) -> list[Path]:
    models_dir = run.path / "models"
    dirs = sorted(p for p in models_dir.glob("*") if p.is_dir()) if models_dir.is_dir() else []
    if not dirs:
        raise KaggleKitError(f"run {run.id} has no saved models; it cannot predict new rows")
    return dirs


def predict_with_run(run: Run, frame: TextFrame) -> np.ndarray:
    """Mean prediction of the run's saved models (each fold's, or the full fit's)."""
    if run.info.get("kind") == "blend":  # a blend predicts with its members (kagglekit.blend)
        from kagglekit.blend import predict_blend

        return predict_blend(run, frame)
    model_cls = plugins.get_model(run.model)
    preds = [np.asarray(model_cls.load(d).predict(frame), dtype=np.float64)
             for d in saved_models(run)]
    out = np.mean(preds, axis=0)
    return out[:, None] if out.ndim == 1 else out
