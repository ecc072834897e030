"""Cross-validation and full fits: the loop that turns a competition + model into a run.

    dataset (data.py) -> folds (folds.py) -> jobs, one per (fold, seed) (jobs.py)
    -> run on an executor, skipping jobs completed earlier (executors/, store/jobstore.py)
    -> assembled: OOF, threshold on OOF, scores, test predictions -> run (assembly.py, store/)

``runs_dir``: the runs folder (a ``store.folder.RunsFolder``, or its root).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kagglekit.assembly import assemble_cv, assemble_fit, held_out_record
from kagglekit.competition import Competition
from kagglekit.data import Dataset
from kagglekit.executors import drive
from kagglekit.folds import FoldPlan, dataset_folds
from kagglekit.jobs import JobContext, data_fingerprint, job_set_hash, needs_accelerator, plan_jobs
from kagglekit.metrics import get_metric
from kagglekit.store.create import new_run_id
from kagglekit.store.folder import DEFAULT_ROOT, RunsFolder
from kagglekit.store.jobstore import JobStore, finished_run
from kagglekit.store.run import Run


@dataclass
class FoldReport:
    fold: int
    n_train: int
    n_valid: int
    seconds: float
    scores: dict
    fit_info: dict | None = None


def run_cv(
    comp: Competition,
    model_name: str,
    model_cls,
    params,
    data: Dataset,
    *,
    n_folds: int = 5,
    seed: int = 42,
    scheme: str = "auto",
    runs_dir: RunsFolder | Path = DEFAULT_ROOT,
    folds: np.ndarray | FoldPlan | None = None,
    on_fold: Callable[[FoldReport], None] | None = None,
    seeds=None,
    executor=None,
    on_event=None,
    command: str | None = None,
    command_params=None,
    keep_jobs: bool = False,
    new: bool = False,
    on_reused: Callable[[Run], None] | None = None,
    on_scored: Callable[[object, float], None] | None = None,
) -> Run:
    """K-fold CV of one model (under one or several seeds); returns the finished run.

    ``folds``: a FoldPlan (folds.dataset_folds), a fold number per row, or None to make
    them here from ``n_folds``, ``seed`` and ``scheme``.

    Re-running with the same inputs resumes: jobs completed by an earlier, interrupted
    attempt are reused, and a finished run of the same jobs on the same files is returned
    as it is (``on_reused(run)`` is told), unless ``new``: then the jobs are computed
    again into a new run. ``keep_jobs``: keep them after assembly too (a command making
    several runs removes them at its end with ``store.jobstore.forget_assembled``).
    ``on_scored(job, value)`` is told each job's fold figure (``progress_metric``) as soon
    as the job is done or found done by an earlier attempt; it may raise to stop the run
    (``tune`` prunes a trial this way), which keeps the completed jobs.
    """
    train = data.train
    if folds is None:
        folds = dataset_folds(data, n_folds, seed, scheme)
    plan = folds if isinstance(folds, FoldPlan) else FoldPlan(np.asarray(folds), scheme)
    folds = np.asarray(plan.folds)
    seeds = list(seeds) if seeds else [seed]
    jobs = plan_jobs(
        model_name, params, seeds, folds, data_fingerprint(data), data.train_on_validated, model_cls
    )
    ctx = JobContext(
        model_name,
        model_cls,
        params,
        train,
        data.test,
        folds,
        data.train_on_validated,
        comp.n_targets,
        needs_accelerator(model_cls),
    )
    done = _reuse(runs_dir, comp, "cv", jobs, data, new, on_reused)
    if done is not None:
        return done
    store = _open_store(runs_dir, comp, "cv", model_name, jobs, command, command_params, new)
    path = store.assembled_run()
    if path is not None:  # finished by an earlier attempt of the command
        store.finish(path.name, keep_jobs)
        return _reused(Run(path), on_reused)

    metric = progress_metric(comp)
    labels = train.y
    assert labels is not None  # training rows are labelled

    def fold_value(job) -> float:  # this fold alone, a figure needing no threshold
        oof = np.load(store.job_dir(job) / "oof.npy", allow_pickle=False)
        return float(metric(labels[folds == job.fold], oof))

    def scorer(job):  # the progress line's figure
        value = fold_value(job)
        fit_info = (store.record(job) or {}).get("fit_info")
        held = held_out_record(data, [fit_info])["held_out"]
        return f"{metric.name}={value:.4f}" + ("" if held else " (NOT held out)")

    def scored_events(event):
        if on_event is not None:
            on_event(event)
        assert on_scored is not None  # the events go here only then
        if event.kind in ("done", "reused") and event.job is not None:
            on_scored(event.job, fold_value(event.job))

    events = on_event if on_scored is None else scored_events
    drive(ctx, jobs, store, executor, events, scorer, command)
    run = assemble_cv(
        comp, model_name, params, data, jobs, store, plan, seeds, runs_dir, on_fold, FoldReport
    )
    store.finish(run.id, keep_jobs)
    return run


def progress_metric(comp: Competition):
    """The figure a fold's progress line shows as soon as the fold is done: the competition's
    metric when it needs no threshold, else its first one that needs none (AUC), else (mean)
    AUC. A thresholded metric (F1) of one fold means something only at a threshold chosen
    on the other folds, which are not all done yet: the run's table shows it per fold."""
    for name in (comp.metric, *comp.metrics):
        candidate = get_metric(name)
        if not candidate.needs_threshold:
            return candidate
    return get_metric("auc" if comp.n_targets == 1 else "mean_auc")


def cv_recipe(model_cls, source: Run | None) -> dict | None:
    """What a full fit takes from the CV run it reproduces, for models that learn epoch by
    epoch (``model_cls.recipe_from_cv`` of the folds' fit_info), or None."""
    if source is None:
        return None
    from_cv = getattr(model_cls, "recipe_from_cv", None)
    infos = [f.get("fit_info") for f in source.info.get("fold_scores", [])]
    return from_cv(infos) if callable(from_cv) and infos and all(infos) else None


def run_fit(
    comp: Competition,
    model_name: str,
    model_cls,
    params,
    data: Dataset,
    *,
    seed: int = 42,
    runs_dir: RunsFolder | Path = DEFAULT_ROOT,
    threshold: float | None = 0.5,
    threshold_source: str | None = None,
    source: Run | None = None,
    seeds=None,
    executor=None,
    on_event=None,
    command: str | None = None,
    command_params=None,
    keep_jobs: bool = False,
    new: bool = False,
    on_reused: Callable[[Run], None] | None = None,
) -> Run:
    """Train on every training row and predict test; a run with no held-out score.

    ``source``: the CV run whose recipe this fit reproduces (same model, params and text
    preparation): its threshold, and for models that learn epoch by epoch its epoch count
    and learning rates (``model_cls.recipe_from_cv``). A finished fit of the same jobs,
    files and threshold is returned as it is, unless ``new`` (see ``run_cv``)."""
    recipe = cv_recipe(model_cls, source)
    seeds = list(seeds) if seeds else [seed]
    jobs = plan_jobs(
        model_name, params, seeds, None, data_fingerprint(data), False, model_cls, recipe=recipe
    )
    ctx = JobContext(
        model_name,
        model_cls,
        params,
        data.train,
        data.test,
        None,
        False,
        comp.n_targets,
        needs_accelerator(model_cls),
        recipe=recipe,
    )
    done = _reuse(
        runs_dir,
        comp,
        "fit",
        jobs,
        data,
        new,
        on_reused,
        threshold=threshold,
        threshold_source=threshold_source,
        from_run=source.id if source is not None else None,
    )
    if done is not None:
        return done
    store = _open_store(runs_dir, comp, "fit", model_name, jobs, command, command_params, new)
    path = store.assembled_run()
    if path is not None:
        store.finish(path.name, keep_jobs)
        return _reused(Run(path), on_reused)
    drive(ctx, jobs, store, executor, on_event, None, command)
    run = assemble_fit(
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
        source=source,
        recipe=recipe,
    )
    store.finish(run.id, keep_jobs)
    return run


def _reuse(runs_dir, comp, kind, jobs, data, new, on_reused, **same) -> Run | None:
    """The finished run of these jobs (store.jobstore.finished_run), unless ``new``."""
    if new:
        return None
    path = finished_run(runs_dir, comp.slug, jobs, kind, data.directory, **same)
    return None if path is None else _reused(Run(path), on_reused)


def _reused(run: Run, on_reused) -> Run:
    if on_reused is not None:
        on_reused(run)
    return run


def _open_store(
    runs_dir, comp, kind, model_name, jobs, command, command_params, new: bool = False
) -> JobStore:
    import os

    plan = {
        "run_id": new_run_id(model_name),
        "kind": kind,
        "competition": comp.slug,
        "model": model_name,
        "resume_command": command,
        "command_params": command_params,
        "cwd": os.getcwd(),
        "jobs": [{"id": j.id, "fold": j.fold, "seed": j.run_seed} for j in jobs],
    }
    store = JobStore.open(runs_dir, comp.slug, job_set_hash(jobs), plan)
    if new and store.assembled_run() is not None:  # jobs kept from a finished run: afresh
        store.remove()
        store = JobStore.open(runs_dir, comp.slug, job_set_hash(jobs), plan)
    return store
