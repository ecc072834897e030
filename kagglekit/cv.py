"""Cross-validation and full fits: the loop that turns a competition + model into a run.

    dataset (data.py) -> folds (folds.py) -> for each fold: model.fit(train, valid),
    predict(valid) into OOF, predict(test) -> threshold on OOF -> scores -> run (runs.py)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kagglekit.competition import Competition
from kagglekit.data import Dataset
from kagglekit.errors import KaggleKitError
from kagglekit.folds import FoldPlan, dataset_folds, fold_indices
from kagglekit.metrics import score_oof
from kagglekit.runs import Run, base_record, creating_run, hash_array, new_run_id, predictions_frame, write_json


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
           folds: np.ndarray | FoldPlan | None = None,
           on_fold: Callable[[FoldReport], None] | None = None) -> Run:
    """K-fold CV of one model; returns the finished run.

    ``folds``: a FoldPlan (folds.dataset_folds), a fold number per row, or None to make
    them here from ``n_folds``, ``seed`` and ``scheme``."""
    train, test = data.train, data.test
    if folds is None:
        folds = dataset_folds(data, n_folds, seed, scheme)
    plan = folds if isinstance(folds, FoldPlan) else FoldPlan(np.asarray(folds), scheme)
    folds = np.asarray(plan.folds)
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
        result = score_oof(comp, train.y, oof, folds)
        for report in reports:
            report.scores = result.fold_scores[report.fold]
            if on_fold:
                on_fold(report)
        info = base_record("cv", comp, model_name, params, seed, data)
        info.update({
            "n_folds": n_folds, **plan.info(), **result.record(),
            **held_out_record(data, reports), "n_scored": int(scored.sum()),
            "fold_scores": [{"fold": r.fold, "n_train": r.n_train, "n_valid": r.n_valid,
                             "seconds": round(r.seconds, 3), **r.scores,
                             **({"fit_info": r.fit_info} if r.fit_info else {})}
                            for r in reports],
            "fold_spread": {m: round(float(np.std([r.scores[m] for r in reports])), 6)
                            for m in result.scores},
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
            seed: int = 42, runs_dir: Path = Path("runs"), threshold: float | None = 0.5,
            threshold_source: str | None = None, source: Run | None = None) -> Run:
    """Train on every training row and predict test; a run with no held-out score.

    ``source``: the CV run whose recipe this fit reproduces (same model, params and text
    preparation): its threshold, and for models that learn epoch by epoch its epoch count
    and learning rates (``model_cls.recipe_from_cv``)."""
    recipe = None
    if source is not None:
        from_cv = getattr(model_cls, "recipe_from_cv", None)
        infos = [f.get("fit_info") for f in source.info.get("fold_scores", [])]
        if callable(from_cv) and infos and all(infos):
            recipe = from_cv(infos)
    run_id = new_run_id(model_name)
    with creating_run(runs_dir, comp.slug, run_id) as tmp:
        start = time.perf_counter()
        model = model_cls(params, seed=seed)
        context = {"log_dir": tmp / "logs" / "full", "unlabelled": data.test}
        _set_context(model, **context, **({"recipe": recipe} if recipe else {}))
        model.fit(data.train, None)
        model.save(tmp / "models" / "full")
        id_col = comp.id_column or "id"
        if data.test is not None:
            pred = _check_predictions(model.predict(data.test), len(data.test), comp, model_name)
            predictions_frame(data.test.ids, pred, comp.target_columns, id_col).to_csv(
                tmp / "test_predictions.csv", index=False, float_format="%.7g")
        info = base_record("fit", comp, model_name, params, seed, data)
        info.update({"threshold": threshold, "threshold_source": threshold_source,
                     "from_run": source.id if source is not None else None,
                     "recipe": recipe, "scores": {},
                     "seconds": round(time.perf_counter() - start, 3)})
        if getattr(model, "fit_info_", None):
            info["fit_info"] = model.fit_info_
        write_json(tmp / "run.json", info)
    return Run(Path(runs_dir) / comp.slug / run_id)


def held_out_record(data: Dataset, reports) -> dict:
    """``held_out`` and, when false, why: the scored rows were trained on, or a model
    stopped early on them (``early_stopping=valid``)."""
    reasons = list(data.leaks)
    if data.train_on_validated:
        reasons.append("the model trained on the rows it was scored on")
    if any((r.fit_info or {}).get("early_stopping") == "valid" for r in reports):
        reasons.append("early stopping watched the scored fold (early_stopping=valid)")
    return {"held_out": not reasons, **({"not_held_out_because": reasons} if reasons else {})}


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
