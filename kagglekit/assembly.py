"""A finished run, assembled by the driver from completed jobs (jobs.py, jobstore.py).

    OOF  = each fold's validation predictions (averaged over seeds), filled by index
    test = the mean over every (fold, seed) job's test predictions
    threshold chosen on OOF -> scores, per-fold scores, per-seed scores -> run.json

Saved models and logs are hard-linked (copied where links are impossible) from the job
folders into the run, which is renamed into place only when complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from kagglekit.jobs import FULL
from kagglekit.metrics import best_threshold, score_all, score_oof, thresholded_metric
from kagglekit.store.atomic import write_json
from kagglekit.store.create import creating_run
from kagglekit.store.folder import RUN_FILE, RunsFolder
from kagglekit.store.record import base_record
from kagglekit.store.run import Run, hash_array, predictions_frame


def link_tree(source: Path, target: Path) -> None:
    """Hard-link every file of ``source`` under ``target`` (copy when linking fails)."""
    if not Path(source).is_dir():
        return

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return dst

    shutil.copytree(source, target, copy_function=link)


def _folder_name(job, several_seeds: bool) -> str:
    return f"{job.model_dir}-seed-{job.run_seed}" if several_seeds else job.model_dir


def _link_job_files(store, jobs, tmp: Path, several_seeds: bool) -> None:
    for job in jobs:
        name = _folder_name(job, several_seeds)
        link_tree(store.job_dir(job) / "model", tmp / "models" / name)
        link_tree(store.job_dir(job) / "logs", tmp / "logs" / name)


def _load(store, job, name: str) -> np.ndarray:
    return np.load(store.job_dir(job) / name, allow_pickle=False)


def _seed_spread(seed_scores: list[dict], metrics) -> dict:
    return {m: round(float(np.std([s[m] for s in seed_scores])), 6) for m in metrics}


def assemble_cv(
    comp,
    model_name,
    params,
    data,
    jobs,
    store,
    plan,
    seeds,
    runs_dir,
    on_fold=None,
    report_cls=None,
) -> Run:
    """Write the CV run (run.json, folds.csv, oof.csv, test_predictions.csv, test_folds.npy,
    models/) from the store's completed jobs; ``plan``: the folds.FoldPlan."""
    train, test = data.train, data.test
    folds = np.asarray(plan.folds)
    scored = folds >= 0
    fold_numbers = sorted({j.fold for j in jobs})
    several = len(seeds) > 1
    records = {j.id: store.record(j) for j in jobs}
    per_seed = {}
    for s in seeds:  # each seed's OOF, filled by index
        oof = np.full(train.y.shape, np.nan, dtype=np.float64)
        for job in jobs:
            if job.run_seed == s:
                oof[folds == job.fold] = _load(store, job, "oof.npy")
        per_seed[s] = oof
    oof = per_seed[seeds[0]] if not several else np.mean([per_seed[s] for s in seeds], axis=0)
    test_folds = []
    if test is not None:
        for k in fold_numbers:
            fold_tests = [_load(store, j, "test.npy") for j in jobs if j.fold == k]
            test_folds.append(fold_tests[0] if not several else np.mean(fold_tests, axis=0))
    metric = thresholded_metric(comp)
    result = score_oof(comp, train.y, oof, folds)  # all-OOF threshold and the nested figure
    scores = result.scores
    reports = []
    for k in fold_numbers:
        fold_jobs = [j for j in jobs if j.fold == k]
        first = records[fold_jobs[0].id]
        report = report_cls(
            k,
            first["n_train"],
            first["n_valid"],
            sum(records[j.id]["seconds"] for j in fold_jobs),
            result.fold_scores[k],
            first.get("fit_info") if not several else None,
        )
        reports.append(report)
        if on_fold:
            on_fold(report)
    fit_infos = [records[j.id].get("fit_info") or {} for j in jobs]
    info = base_record("cv", comp, model_name, params, seeds[0], data)
    fold_rows = []
    for r in reports:
        row = {
            "fold": r.fold,
            "n_train": r.n_train,
            "n_valid": r.n_valid,
            "seconds": round(r.seconds, 3),
            **r.scores,
            **({"fit_info": r.fit_info} if r.fit_info else {}),
        }
        if several:
            row["seeds"] = [
                {
                    "seed": j.run_seed,
                    "model_seed": j.seed,
                    "seconds": records[j.id]["seconds"],
                    **(
                        {"fit_info": records[j.id]["fit_info"]}
                        if records[j.id].get("fit_info")
                        else {}
                    ),
                }
                for j in jobs
                if j.fold == r.fold
            ]
        fold_rows.append(row)
    info.update(
        {
            "n_folds": len(fold_numbers),
            **plan.info(),
            **result.record(),
            **held_out_record(data, fit_infos),
            "n_scored": int(scored.sum()),
            "fold_scores": fold_rows,
            "fold_spread": {
                m: round(float(np.std([r.scores[m] for r in reports])), 6) for m in scores
            },
            "folds_hash": hash_array(train.ids, folds),
            "seconds": round(sum(r.seconds for r in reports), 3),
        }
    )
    if several:
        seed_scores = []
        for s in seeds:
            t = best_threshold(metric, train.y[scored], per_seed[s][scored]) if metric else 0.5
            seed_scores.append(
                {
                    "seed": s,
                    "threshold": t,
                    **score_all(comp, train.y[scored], per_seed[s][scored], t),
                }
            )
        info.update(
            {
                "seeds": list(seeds),
                "seed_scores": seed_scores,
                "seed_spread": _seed_spread(seed_scores, scores),
            }
        )
    info["jobs"] = _job_summary(jobs, records, store)
    id_col = comp.id_column or "id"
    with creating_run(runs_dir, comp.slug, store.run_id) as tmp:
        _link_job_files(store, jobs, tmp, several)
        predictions_frame(train.ids, folds, ["fold"], id_col).to_csv(tmp / "folds.csv", index=False)
        predictions_frame(train.ids[scored], oof[scored], comp.target_columns, id_col).to_csv(
            tmp / "oof.csv", index=False, float_format="%.7g"
        )
        if test is not None:
            stacked = np.stack(test_folds)
            np.save(tmp / "test_folds.npy", stacked.astype(np.float32))
            predictions_frame(test.ids, stacked.mean(axis=0), comp.target_columns, id_col).to_csv(
                tmp / "test_predictions.csv", index=False, float_format="%.7g"
            )
        write_json(tmp / RUN_FILE, info)
    return Run(RunsFolder.of(runs_dir).run_dir(comp.slug, store.run_id))


def assemble_fit(
    comp,
    model_name,
    params,
    data,
    jobs,
    store,
    seeds,
    runs_dir,
    threshold,
    threshold_source,
    source=None,
    recipe=None,
) -> Run:
    """Write the fit run (run.json, test_predictions.csv, models/full/) from its jobs;
    ``source``: the CV run whose recipe (threshold, ``recipe``) it reproduces."""
    several = len(seeds) > 1
    records = {j.id: store.record(j) for j in jobs}
    info = base_record("fit", comp, model_name, params, seeds[0], data)
    info.update(
        {
            "threshold": threshold,
            "threshold_source": threshold_source,
            "from_run": source.id if source is not None else None,
            "recipe": recipe,
            "scores": {},
            "seconds": round(sum(r["seconds"] for r in records.values()), 3),
        }
    )
    first = records[jobs[0].id]
    if first.get("fit_info") and not several:
        info["fit_info"] = first["fit_info"]
    if several:
        info["seeds"] = list(seeds)
        info["seed_fits"] = [
            {
                "seed": j.run_seed,
                "seconds": records[j.id]["seconds"],
                **(
                    {"fit_info": records[j.id]["fit_info"]} if records[j.id].get("fit_info") else {}
                ),
            }
            for j in jobs
        ]
    info["jobs"] = _job_summary(jobs, records, store)
    id_col = comp.id_column or "id"
    with creating_run(runs_dir, comp.slug, store.run_id) as tmp:
        _link_job_files(store, jobs, tmp, several)
        if data.test is not None:
            preds = [_load(store, j, "test.npy") for j in jobs if j.fold == FULL]
            pred = preds[0] if not several else np.mean(preds, axis=0)
            predictions_frame(data.test.ids, pred, comp.target_columns, id_col).to_csv(
                tmp / "test_predictions.csv", index=False, float_format="%.7g"
            )
        write_json(tmp / RUN_FILE, info)
    return Run(RunsFolder.of(runs_dir).run_dir(comp.slug, store.run_id))


def held_out_record(data, fit_infos) -> dict:
    """``held_out`` and, when false, why: the scored rows were trained on, or a model
    stopped early on them (``early_stopping=valid``)."""
    reasons = list(getattr(data, "leaks", ()))  # e.g. pseudo labels from the scored rows
    if data.train_on_validated:
        reasons.append("the model trained on the rows it was scored on")
    if any((info or {}).get("early_stopping") == "valid" for info in fit_infos):
        reasons.append("early stopping watched the scored fold (early_stopping=valid)")
    for info in fit_infos:  # a student inherits its teacher's leak (kagglekit.keras.distill)
        reasons += [
            r for r in (info or {}).get("teacher_not_held_out_because") or [] if r not in reasons
        ]
    return {"held_out": not reasons, **({"not_held_out_because": reasons} if reasons else {})}


def _job_summary(jobs, records, store) -> dict:
    """How the run was computed: jobs, attempts, workers (not what it scored)."""
    return {
        "total": len(jobs),
        "attempts": store.attempt,
        "executors": sorted(
            {str(r.get("worker", "?")).split(":")[0].split("-")[0] for r in records.values()}
        ),
        "list": [
            {
                "id": j.id,
                "fold": j.fold,
                "seed": j.run_seed,
                "attempt": records[j.id].get("attempt"),
                "worker": records[j.id].get("worker"),
                "blas_threads": records[j.id].get("blas_threads"),
            }
            for j in jobs
        ],
    }
