"""Cross-validation and full fits: the loop that turns a competition + model into a run.

    load train/test -> validate -> folds (cv.py) -> for each fold: model.fit(train, valid),
    predict(valid) into OOF, predict(test) -> threshold on OOF -> scores -> run directory
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from kagglekit.competition import Competition
from kagglekit.cv import competition_folds, fold_indices
from kagglekit.data import data_file, find_data_dir, load_split, sample_dir
from kagglekit.errors import DataError, KaggleKitError
from kagglekit.frame import TextFrame
from kagglekit.metrics import best_threshold, score_all, thresholded_metric  # noqa: F401
from kagglekit.params import params_to_dict
from kagglekit.runs import Run, creating_run, hash_array, new_run_id, predictions_frame, write_json
from kagglekit.runs import environment as _environment


@dataclass
class DataOptions:
    data_dir: str | None = None
    sample: bool = False
    sample_root: Path | None = None
    encoding: str = "utf-8"
    allow_empty_text: bool = False
    prepare: bool = True
    validation_as_fold: bool = False  # the official validation file is the one scoring fold
    competition_params: object = None  # an instance of comp.params_class()


@dataclass
class Dataset:
    competition: Competition
    directory: Path
    train: TextFrame
    test: TextFrame | None
    sample: bool = False
    notes: list = field(default_factory=list)
    folds: np.ndarray | None = None  # predefined folds (-1: always trained on, never scored)
    train_on_validated: bool = False  # the scored rows are trained on too: not held out
    competition_params: object = None


def load_dataset(comp: Competition, options: DataOptions, need_test: bool = True) -> Dataset:
    if options.sample:
        directory = sample_dir(comp, options.sample_root or Path("runs") / "_samples")
    else:
        directory = find_data_dir(comp, options.data_dir)
    if not options.prepare and comp.prepare_text is not None:
        from dataclasses import replace

        comp = replace(comp, prepare_text=None)
    params = options.competition_params
    if params is None and comp.params_class() is not None:
        params = comp.params_class()()
    kwargs = {"encoding": options.encoding, "allow_empty_text": options.allow_empty_text,
              "params": params}
    train = load_split(comp, directory, "train", **kwargs)
    test = None
    if need_test and comp.test_file and ((directory / comp.test_file).exists()
                                         or data_file(directory, comp.test_file) is not None):
        test = load_split(comp, directory, "test", **kwargs)
    data = Dataset(comp, directory, train, test, sample=options.sample,
                   competition_params=params)
    train_on_validation = bool(getattr(params, "train_on_validation", False))
    if options.validation_as_fold or train_on_validation:
        _add_validation(data, options.validation_as_fold, train_on_validation, kwargs)
    return data


def _add_validation(data: Dataset, as_fold: bool, train_on_it: bool, kwargs: dict) -> None:
    """Append the official validation rows to train: as the one scoring fold and/or for training."""
    comp = data.competition
    what = "--validation-as-fold" if as_fold else "train_on_validation=true"
    if not comp.validation_file:
        raise KaggleKitError(f"{what}: {comp.slug} has no official validation file")
    if not (data.directory / comp.validation_file).exists():
        raise DataError(f"{what}: {data.directory / comp.validation_file} not found; "
                        f"download it with the competition's other files")
    valid = load_split(comp, data.directory, "validation", **kwargs)
    clash = set(map(str, data.train.ids)) & set(map(str, valid.ids))
    if clash:
        raise DataError(f"{data.directory / comp.validation_file}: id {sorted(clash)[0]!r} is also "
                        f"in {comp.train_file} ({len(clash)} shared id(s)); ids must be unique")
    n_train = len(data.train)
    data.train = TextFrame.concat([data.train, valid])
    if as_fold:
        data.folds = np.concatenate([np.full(n_train, -1), np.zeros(len(valid))]).astype(np.int16)
        data.train_on_validated = train_on_it
        data.notes.append(f"scored on the {len(valid)} rows of {comp.validation_file}"
                          + (", which the model also trained on: the score is NOT held out"
                             if train_on_it else " (held out)"))
    else:
        data.notes.append(f"{comp.validation_file}'s {len(valid)} rows added to the training rows")


def _base_info(kind: str, comp: Competition, model: str, params, seed: int, data: Dataset) -> dict:
    return {
        "kind": kind, "competition": comp.slug, "model": model,
        "params": params_to_dict(params) if params is not None else {}, "seed": seed,
        "task": comp.task, "id_column": comp.id_column or "id",
        "target_columns": list(comp.target_columns), "metric": comp.metric,
        "data_dir": str(Path(data.directory).resolve()), "sample": data.sample,
        "prepared_text": comp.prepare_text is not None,
        "n_train": len(data.train), "n_test": 0 if data.test is None else len(data.test),
        "competition_params": (params_to_dict(data.competition_params)
                               if data.competition_params is not None else {}),
        "notes": list(data.notes),
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "environment": _environment(),
    }


@dataclass
class FoldReport:
    fold: int
    n_train: int
    n_valid: int
    seconds: float
    scores: dict
    fit_info: dict | None = None


def _set_context(model, **context) -> None:
    """Optional model hook: ``set_context(log_dir=..., unlabelled=...)`` tells a model where
    its logs go (inside the run) and gives it the unlabelled test rows."""
    setter = getattr(model, "set_context", None)
    if callable(setter):
        setter(**context)


def run_cv(comp: Competition, model_name: str, model_cls, params, data: Dataset, *,
           n_folds: int = 5, seed: int = 42, scheme: str = "auto", runs_dir: Path = Path("runs"),
           folds: np.ndarray | None = None,
           on_fold: Callable[[FoldReport], None] | None = None) -> Run:
    """K-fold CV of one model; returns the finished run."""
    train, test = data.train, data.test
    if folds is None and data.folds is not None:
        folds, scheme = data.folds, "predefined"
    if folds is None:
        folds, scheme = competition_folds(comp, train, n_folds, seed, scheme)
    folds = np.asarray(folds)
    scored = folds >= 0  # predefined folds may keep rows for training only (-1)
    n_folds = int(folds.max()) + 1
    oof = np.full(train.y.shape, np.nan, dtype=np.float64)
    test_folds = []
    reports = []
    run_id = new_run_id(model_name)
    with creating_run(runs_dir, comp.slug, run_id) as tmp:
        for k, tr_idx, va_idx in fold_indices(folds):
            start = time.perf_counter()
            model = model_cls(params, seed=seed + k)
            if data.train_on_validated:
                tr_idx = np.arange(len(train))
            _set_context(model, log_dir=tmp / "logs" / f"fold-{k}", unlabelled=test)
            fold_train, fold_valid = train.take(tr_idx), train.take(va_idx)
            model.fit(fold_train, fold_valid)
            oof[va_idx] = _check_predictions(model.predict(fold_valid), len(va_idx), comp, model_name)
            if test is not None:
                test_folds.append(_check_predictions(model.predict(test), len(test), comp, model_name))
            model.save(tmp / "models" / f"fold-{k}")
            report = FoldReport(k, len(tr_idx), len(va_idx), time.perf_counter() - start, {},
                                getattr(model, "fit_info_", None))
            reports.append(report)
        metric = thresholded_metric(comp)
        threshold = best_threshold(metric, train.y[scored], oof[scored]) if metric else 0.5
        for report in reports:
            va = folds == report.fold
            report.scores = score_all(comp, train.y[va], oof[va], threshold)
            if on_fold:
                on_fold(report)
        scores = score_all(comp, train.y[scored], oof[scored], threshold)
        info = _base_info("cv", comp, model_name, params, seed, data)
        info.update({
            "n_folds": n_folds, "cv_scheme": scheme, "threshold": threshold,
            "held_out": not data.train_on_validated, "n_scored": int(scored.sum()),
            "threshold_metric": metric.name if metric else None,
            "scores": scores,
            "fold_scores": [{"fold": r.fold, "n_train": r.n_train, "n_valid": r.n_valid,
                             "seconds": round(r.seconds, 3), **r.scores,
                             **({"fit_info": r.fit_info} if r.fit_info else {})}
                            for r in reports],
            "fold_spread": {m: round(float(np.std([r.scores[m] for r in reports])), 6)
                            for m in scores},
            "folds_hash": hash_array(train.ids, folds),
            "seconds": round(sum(r.seconds for r in reports), 3),
        })
        id_col = comp.id_column or "id"
        predictions_frame(train.ids, folds, ["fold"], id_col).to_csv(tmp / "folds.csv", index=False)
        predictions_frame(train.ids[scored], oof[scored], comp.target_columns, id_col).to_csv(
            tmp / "oof.csv", index=False, float_format="%.7g")
        if test is not None:
            stacked = np.stack(test_folds)
            np.save(tmp / "test_folds.npy", stacked.astype(np.float32))
            predictions_frame(test.ids, stacked.mean(axis=0), comp.target_columns, id_col).to_csv(
                tmp / "test_predictions.csv", index=False, float_format="%.7g")
        write_json(tmp / "run.json", info)
    return Run(Path(runs_dir) / comp.slug / run_id)


def run_fit(comp: Competition, model_name: str, model_cls, params, data: Dataset, *,
            seed: int = 42, runs_dir: Path = Path("runs"), threshold: float = 0.5,
            threshold_source: str | None = None) -> Run:
    """Train on every training row and predict test; a run with no held-out score."""
    run_id = new_run_id(model_name)
    with creating_run(runs_dir, comp.slug, run_id) as tmp:
        start = time.perf_counter()
        model = model_cls(params, seed=seed)
        _set_context(model, log_dir=tmp / "logs" / "full", unlabelled=data.test)
        model.fit(data.train, None)
        model.save(tmp / "models" / "full")
        id_col = comp.id_column or "id"
        if data.test is not None:
            pred = _check_predictions(model.predict(data.test), len(data.test), comp, model_name)
            predictions_frame(data.test.ids, pred, comp.target_columns, id_col).to_csv(
                tmp / "test_predictions.csv", index=False, float_format="%.7g")
        info = _base_info("fit", comp, model_name, params, seed, data)
        info.update({"threshold": threshold, "threshold_source": threshold_source or "default",
                     "scores": {}, "seconds": round(time.perf_counter() - start, 3)})
        if getattr(model, "fit_info_", None):
            info["fit_info"] = model.fit_info_
        write_json(tmp / "run.json", info)
    return Run(Path(runs_dir) / comp.slug / run_id)


def _check_predictions(pred, n_rows: int, comp: Competition, model_name: str) -> np.ndarray:
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim == 1:
        pred = pred[:, None]
    if pred.shape != (n_rows, comp.n_targets):
        raise KaggleKitError(f"model {model_name!r} returned predictions of shape {pred.shape}; "
                             f"expected ({n_rows}, {comp.n_targets})")
    if not np.isfinite(pred).all():
        raise KaggleKitError(f"model {model_name!r} returned NaN or infinite predictions")
    return pred
