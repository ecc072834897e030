"""Predict new rows with a finished run's saved models."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kagglekit import plugins
from kagglekit.data import prepared_texts, read_csv
from kagglekit.frame import TextFrame
from kagglekit.errors import KaggleKitError
from kagglekit.runs import Run, predictions_frame


CHUNK_ROWS = 20_000  # predict in chunks of this many rows (progress on stderr)


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
    return submission_like(run, comp, ids, preds, made_up_ids=id_col is None)


def submission_like(run: Run, comp, ids, preds, made_up_ids: bool = False):
    """Predictions named like the submission (its id and value columns), probabilities, and
    for thresholded metrics a 0/1 ``<column>_label`` at the run's OOF threshold. Made-up
    ids (0, 1, ... when the input had no id column) go in a column named ``row``, and
    ``frame.attrs["made_up_ids"]`` says so."""
    columns = list(comp.sub_columns) if len(comp.sub_columns) == comp.n_targets \
        else list(comp.target_columns)
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
    from kagglekit.progress import steps

    model_cls = plugins.get_model(run.model)
    dirs = saved_models(run)
    starts = range(0, len(frame), CHUNK_ROWS)
    preds = []
    with steps(f"Predicting {len(frame)} rows with {len(dirs)} model(s)",
               total=len(dirs) * len(frame), unit="rows") as advance:
        for d in dirs:
            model = model_cls.load(d)
            if len(frame) <= CHUNK_ROWS:
                parts = [model.predict(frame)]
                advance(len(frame))
            else:  # in chunks, so that progress can be shown
                parts = []
                for start in starts:
                    chunk = frame.take(np.arange(start, min(start + CHUNK_ROWS, len(frame))))
                    parts.append(np.asarray(model.predict(chunk), dtype=np.float64))
                    advance(len(chunk))
            part = [np.asarray(p, dtype=np.float64) for p in parts]
            part = [p[:, None] if p.ndim == 1 else p for p in part]
            preds.append(np.concatenate(part, axis=0))
    out = np.mean(preds, axis=0)
    return out[:, None] if out.ndim == 1 else out
