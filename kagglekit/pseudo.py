"""Pseudo-labels: a training set of the competition's rows plus confidently predicted test rows.

``make_pseudo_set(run, DIR, min_confidence=0.95)`` (or ``top=0.1``) writes a small derived
dataset, never a copy of the competition's files::

    DIR/kagglekit-pseudo.json   where the rows come from: the source run, its data folder,
                                the thresholds, hard or soft labels, how many rows
    DIR/pseudo_labels.csv       id + one label column per target (0/1, or probabilities)

``load_pseudo_dataset`` (what ``kagglekit cv --data-dir DIR`` does) loads the competition's
own files from the recorded folder and appends the chosen test rows with their labels.
Those rows are marked ``training_only``: ``folds.dataset_folds`` gives the real rows
exactly the folds a run without pseudo rows gets and the pseudo rows fold -1, so they are
in every fold's training rows and never scored. The labels came from models that trained on
every real row, the scored ones included, so such a run's scores are labelled not held out.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from kagglekit.errors import DataError, KaggleKitError
from kagglekit.frame import TextFrame

PSEUDO_FILE = "kagglekit-pseudo.json"
LABELS_FILE = "pseudo_labels.csv"


def confidence(pred: np.ndarray) -> np.ndarray:
    """A row's confidence: max(p, 1 - p), the least confident target's for several."""
    pred = np.asarray(pred, dtype=np.float64)
    pred = pred[:, None] if pred.ndim == 1 else pred
    return np.maximum(pred, 1 - pred).min(axis=1)


def select_rows(pred, min_confidence: float | None = None, top: float | None = None) -> np.ndarray:
    """Indices (ascending) of the rows to pseudo-label: those at least ``min_confidence``
    confident, or the ``top`` fraction of rows by confidence (ties broken by row order)."""
    if (min_confidence is None) == (top is None):
        raise KaggleKitError("pseudo-label: give exactly one of --min-confidence and --top")
    conf = confidence(pred)
    if min_confidence is not None:
        if not 0.5 <= min_confidence <= 1:
            raise KaggleKitError(f"--min-confidence must be in [0.5, 1], got {min_confidence}")
        return np.flatnonzero(conf >= min_confidence)
    assert top is not None  # exactly one of the two is given (checked above)
    if not 0 < top <= 1:
        raise KaggleKitError(f"--top must be a fraction in (0, 1], got {top}")
    n = max(1, int(round(top * len(conf))))
    return np.sort(np.argsort(-conf, kind="stable")[:n])


def make_pseudo_set(
    run,
    output,
    *,
    min_confidence: float | None = None,
    top: float | None = None,
    soft: bool = False,
) -> dict:
    """Write the derived dataset of ``run``'s confident test predictions to ``output``
    (a new folder, written whole or not at all); returns its record."""
    output = Path(output)
    taken = output.exists() and (not output.is_dir() or any(output.iterdir()))
    if taken and not _same_rule(output, run, min_confidence, top, soft):
        raise KaggleKitError(
            f"--output {output}: already exists and is not an empty folder "
            f"(nor this run's labels by this rule); choose a new folder"
        )
    frame = run.test_predictions()
    id_col = run.info.get("id_column") or "id"
    columns = run.target_columns
    pred = frame[columns].to_numpy(dtype=np.float64)
    index = select_rows(pred, min_confidence, top)
    if len(index) == 0:
        raise KaggleKitError(
            f"no test row of run {run.id} is {min_confidence} confident "
            f"(the most confident is {confidence(pred).max():.4f}); lower "
            f"--min-confidence or use --top"
        )
    labels = pred[index] if soft else (pred[index] >= 0.5).astype(int)
    chosen = frame.iloc[index][[id_col]].reset_index(drop=True)
    for j, col in enumerate(columns):
        chosen[col] = labels[:, j]
    record = {
        "kind": "pseudo-labels",
        "competition": run.competition,
        "source_run": run.id,
        "source_run_dir": str(run.path),
        "source_kind": run.kind,
        "source_model": run.model,
        "data_dir": str(run.data_dir),
        "sample": bool(run.info.get("sample", False)),
        "id_column": id_col,
        "target_columns": list(columns),
        "min_confidence": min_confidence,
        "top": top,
        "soft": bool(soft),
        "n_pseudo": int(len(index)),
        "n_test": int(len(pred)),
        "min_chosen_confidence": round(float(confidence(pred[index]).min()), 6),
    }
    text = chosen.to_csv(index=False, float_format="%.7g")
    if taken:  # the same command again: the folder it made, if nothing changed since
        try:
            same = (output / LABELS_FILE).read_text(encoding="utf-8") == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            raise KaggleKitError(
                f"{output / LABELS_FILE}: differs from what run {run.id} "
                f"gives by this rule (edited, or the run changed); choose a "
                f"new --output folder"
            )
        return {**read_record(output), "existing": True}
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        tmp.mkdir(parents=True)
        (tmp / LABELS_FILE).write_text(text, encoding="utf-8")
        (tmp / PSEUDO_FILE).write_text(json.dumps(record, indent=2) + "\n")
        if output.exists():
            output.rmdir()
        os.rename(tmp, output)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise KaggleKitError(
            f"--output {output}: cannot write it ({exc.strerror or exc}); nothing was kept"
        ) from None
    return record


def _same_rule(output: Path, run, min_confidence, top, soft) -> bool:
    """Whether ``output`` holds ``run``'s labels made by the same rule (running the same
    pseudo-label command twice gives the same folder; its labels are compared later)."""
    try:
        record = read_record(output)
    except (DataError, OSError):
        return False
    wanted = {
        "source_run": run.id,
        "source_run_dir": str(run.path),
        "min_confidence": min_confidence,
        "top": top,
        "soft": bool(soft),
    }
    return all(record.get(k) == v for k, v in wanted.items())


def check_soft_targets(data, chosen) -> None:
    """Soft pseudo-labels need models that train on probabilities (``soft_targets = True``,
    the Keras families); one line naming the first model that cannot."""
    if not (data.pseudo and data.pseudo.get("soft")):
        return
    for name, cls, _ in chosen:
        if not getattr(cls, "soft_targets", False):
            raise KaggleKitError(
                f"model {name!r} trains on 0/1 labels only, and "
                f"{data.pseudo['dir']} holds soft labels; make hard ones "
                f"(pseudo-label without --soft) or use a neural model"
            )


def is_pseudo_dir(path) -> bool:
    return path is not None and (Path(path) / PSEUDO_FILE).is_file()


def read_record(directory) -> dict:
    file = Path(directory) / PSEUDO_FILE
    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{file}: cannot be read ({type(exc).__name__}); make it again with "
            f"`kagglekit pseudo-label RUN --output DIR`"
        ) from None
    keys = ("competition", "data_dir", "target_columns", "id_column", "soft")
    missing = [k for k in keys if k not in record] if isinstance(record, dict) else ["kind"]
    if missing:
        raise DataError(
            f"{file}: not a pseudo-label record (no {missing[0]!r}); make it "
            f"again with `kagglekit pseudo-label RUN --output DIR`"
        )
    return record


def load_pseudo_dataset(comp, options, need_test: bool = True):
    """The competition's dataset (from the folder the record names) with the pseudo rows
    appended as training-only rows."""
    import pandas as pd

    from kagglekit.data import load_dataset

    directory = Path(options.data_dir)
    record = read_record(directory)
    if record["competition"] != comp.slug:
        raise DataError(
            f"{directory / PSEUDO_FILE}: pseudo-labels for {record['competition']}, not {comp.slug}"
        )
    if options.validation_as_fold:
        raise KaggleKitError(
            "--validation-as-fold cannot be used with pseudo-labelled data; drop one of them"
        )
    if options.sample:
        raise KaggleKitError(
            f"--sample cannot be used with the pseudo-label folder "
            f"{directory}: its rows come from {record['data_dir']}; drop "
            f"--sample"
        )
    if not Path(record["data_dir"]).is_dir():
        raise DataError(
            f"{directory / PSEUDO_FILE}: its data_dir {record['data_dir']} is not "
            f"a folder (moved?); set data_dir in that file to where the "
            f"competition's files are now, or make the labels again"
        )
    base = replace(options, data_dir=record["data_dir"], sample=False)
    data = load_dataset(comp, base, need_test=True)
    # labels from a run on a generated sample: still not real data (never uploaded)
    data.sample = bool(record.get("sample", False))
    if data.test is None:
        raise DataError(
            f"{record['data_dir']}: has no {comp.test_file}, which the pseudo rows "
            f"of {directory} come from"
        )
    file = directory / LABELS_FILE
    try:
        labels = pd.read_csv(file, dtype={record["id_column"]: str})
    except (OSError, ValueError) as exc:
        raise DataError(f"{file}: cannot be read ({type(exc).__name__}); make it again") from None
    missing = [c for c in (record["id_column"], *comp.target_columns) if c not in labels.columns]
    if missing:
        raise DataError(f"{file}: missing column {missing[0]!r}; make it again")
    if labels.empty:
        raise DataError(f"{file}: has no rows; make it again with kagglekit pseudo-label")
    position = {str(i): k for k, i in enumerate(data.test.ids)}
    ids = labels[record["id_column"]].astype(str)
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise DataError(
            f"{file}: id {repeated.iloc[0]!r} appears more than once "
            f"(row {int(repeated.index[0]) + 2}); make it again"
        )
    unknown = [i for i in ids if i not in position]
    if unknown:
        raise DataError(
            f"{file}: id {unknown[0]!r} is not in {comp.test_file} of "
            f"{record['data_dir']} ({len(unknown)} unknown id(s)); make it again"
        )
    clash = set(ids) & set(map(str, data.train.ids))
    if clash:
        raise DataError(
            f"{file}: id {sorted(clash)[0]!r} is also a training row; test ids "
            f"must differ from training ids"
        )
    y = labels[list(comp.target_columns)].to_numpy(dtype=np.float64)
    if not np.isfinite(y).all() or (y < 0).any() or (y > 1).any():
        raise DataError(f"{file}: labels must be numbers in [0, 1]; make it again")
    soft = bool(record["soft"])
    if not soft and not np.isin(y, (0.0, 1.0)).all():
        row = int(np.flatnonzero(~np.isin(y, (0.0, 1.0)).all(axis=1))[0])
        raise DataError(
            f"{file}: row {row + 2} has label {y[row].tolist()}, but this set has "
            f"hard labels (0 or 1); make it again"
        )
    rows = data.test.take(np.array([position[i] for i in ids], dtype=int))
    y = y.astype(np.float32) if soft else y.astype(np.int8)
    assert data.train.y is not None  # training rows are labelled
    train_y = data.train.y.astype(np.float32) if soft else data.train.y
    real = replace(data.train, y=train_y)
    data.train = TextFrame.concat(
        [real, TextFrame(rows.ids, rows.text, y, real.target_names, rows.extra)]
    )
    n_real = len(real)
    data.training_only = np.arange(len(data.train)) >= n_real
    data.pseudo = {
        "dir": str(directory.resolve()),
        "n_pseudo": int(len(rows)),
        "source_run": record.get("source_run"),
        "soft": soft,
        "min_confidence": record.get("min_confidence"),
        "top": record.get("top"),
    }
    data.leaks.append(
        f"the {len(rows)} pseudo-labelled test rows carry labels from run "
        f"{record.get('source_run')}, whose models trained on the scored rows"
    )
    data.notes.append(
        f"{len(rows)} pseudo-labelled test rows ({'soft' if soft else 'hard'} "
        f"labels from run {record.get('source_run')}) in every fold's training "
        f"rows, never scored"
    )
    return data
