"""A run as a set of jobs, one per (model, fold, seed).

    plan_jobs(...)    -> [Job]: each identified by a hash of what determines its result
                         (the data's fingerprint, text preparation, fold assignment, model,
                         params, seed, kagglekit version)
    execute_job(...)  fits one fold (or all rows) in a scratch folder: saved model, OOF slice
                      and test predictions as exact float64 .npy; returns the job's record
    the store (jobstore.py) commits a finished scratch folder atomically, with its
    completion record; the run is assembled from completed jobs (cv.py).

A job reads only the shared, immutable :class:`JobContext`; it never writes the run folder.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kagglekit import __version__
from kagglekit.cache import content_hash, file_fingerprint
from kagglekit.errors import KaggleKitError
from kagglekit.params import params_to_dict

if TYPE_CHECKING:
    from kagglekit.frame import TextFrame

FULL = -1  # the fold number of a job that trains on every row (``kagglekit fit``)


@dataclass(frozen=True)
class Job:
    model: str
    fold: int  # FULL for a fit on all rows
    seed: int  # the model's seed (the run's seed + fold, as before jobs existed)
    run_seed: int  # the run seed this job belongs to (--seed / --seeds)
    id: str

    @property
    def label(self) -> str:
        where = "full" if self.fold == FULL else f"fold {self.fold}"
        return f"{self.model} {where} seed {self.run_seed}"

    @property
    def model_dir(self) -> str:
        """Its folder under the run's models/ (and logs/)."""
        return "full" if self.fold == FULL else f"fold-{self.fold}"


@dataclass
class JobContext:
    """What every job of a run shares, read-only: the model, the rows and the folds."""

    model_name: str
    model_cls: type
    params: object
    train: TextFrame
    test: TextFrame | None
    folds: np.ndarray | None  # None for a full fit
    train_on_validated: bool = False
    n_targets: int = 1
    needs_gpu: bool = False
    recipe: dict | None = None  # a full fit's recipe from its CV run (set_context(recipe=...))


def data_fingerprint(data) -> str:
    """Hash of a loaded dataset: its files (cache.file_fingerprint) and the prepared rows."""
    comp = data.competition
    files = []
    for name in (comp.train_file, comp.test_file, comp.validation_file):
        path = Path(data.directory) / name if name else None
        if path is not None and path.is_file():
            files.append((name, file_fingerprint(path)))
    parts = [
        comp.slug,
        files,
        comp.prepare_text is not None,
        getattr(comp.prepare_text, "__qualname__", ""),
        data.train.ids.astype(str),
        data.train.text,
        data.train.y,
    ]
    if data.test is not None:
        parts += [data.test.ids.astype(str), data.test.text]
    if data.competition_params is not None:
        parts.append(params_to_dict(data.competition_params))
    return content_hash(*parts)


def plan_jobs(
    model_name: str,
    params,
    seeds,
    folds: np.ndarray | None,
    data_hash: str,
    train_on_validated: bool = False,
    model_cls=None,
    recipe: dict | None = None,
) -> list[Job]:
    """One job per (fold, seed); ``folds`` None plans full fits, one per seed."""
    code = model_fingerprint(model_cls) if model_cls is not None else ""
    parts = [
        "job",
        __version__,
        data_hash,
        model_name,
        code,
        params_to_dict(params) if params is not None else {},
        "none" if folds is None else np.asarray(folds, dtype=np.int64),
        bool(train_on_validated),
    ]
    if recipe is not None:  # a fit replaying a CV recipe is another job than a plain fit
        parts.append(recipe)
    base = content_hash(*parts)
    numbers = [FULL] if folds is None else [int(k) for k in np.unique(folds) if k >= 0]
    jobs = []
    for run_seed in seeds:
        for k in numbers:
            seed = run_seed if k == FULL else run_seed + k
            jobs.append(Job(model_name, k, seed, run_seed, content_hash(base, k, seed, run_seed)))
    return jobs


def job_set_hash(jobs) -> str:
    return content_hash("jobset", sorted(j.id for j in jobs))[:16]


def fold_rows(ctx: JobContext, job: Job):
    """(train index, valid index or None) of a job."""
    n = len(ctx.train)
    if job.fold == FULL:
        return np.arange(n), None
    va_idx = np.flatnonzero(ctx.folds == job.fold)
    tr_idx = np.arange(n) if ctx.train_on_validated else np.flatnonzero(ctx.folds != job.fold)
    return tr_idx, va_idx


def set_context(model, **context) -> None:
    """Optional model hook: ``set_context(log_dir=..., unlabelled=...)`` tells a model where
    its logs go and gives it the unlabelled test rows."""
    setter = getattr(model, "set_context", None)
    if callable(setter):
        setter(**context)


def execute_job(ctx: JobContext, job: Job, out_dir: Path, worker: str = "main") -> dict:
    """Fit and predict one job into ``out_dir``: model/, logs/, oof.npy, test.npy.

    Returns the job's record (the completion record, less what the driver adds).
    """
    out_dir = Path(out_dir)
    started = time.time()
    start = time.perf_counter()
    tr_idx, va_idx = fold_rows(ctx, job)
    model = ctx.model_cls(ctx.params, seed=job.seed)
    set_context(
        model,
        log_dir=out_dir / "logs",
        unlabelled=ctx.test,
        **({"recipe": ctx.recipe} if ctx.recipe else {}),
    )
    fold_valid = None if va_idx is None else ctx.train.take(va_idx)
    model.fit(ctx.train if job.fold == FULL else ctx.train.take(tr_idx), fold_valid)
    if fold_valid is not None:
        oof = check_predictions(model.predict(fold_valid), len(va_idx), ctx.n_targets, job.model)
        np.save(out_dir / "oof.npy", oof)
    if ctx.test is not None:
        test = check_predictions(model.predict(ctx.test), len(ctx.test), ctx.n_targets, job.model)
        np.save(out_dir / "test.npy", test)
    model.save(out_dir / "model")
    fit_info = getattr(model, "fit_info_", None)
    return {
        "job": job.id,
        "model": job.model,
        "fold": job.fold,
        "seed": job.seed,
        "run_seed": job.run_seed,
        "n_train": int(len(tr_idx)),
        "n_valid": 0 if va_idx is None else int(len(va_idx)),
        "seconds": round(time.perf_counter() - start, 3),
        "started": round(started, 3),
        "worker": worker,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "blas_threads": _blas_threads(),
        "kagglekit": __version__,
        **({"fit_info": fit_info} if fit_info else {}),
    }


def _blas_threads() -> int | None:
    """Threads of the BLAS the job ran with (results of long dot products depend on it)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    return max(counts) if counts else None


def check_predictions(pred, n_rows: int, n_targets: int, model_name: str) -> np.ndarray:
    pred = np.asarray(pred, dtype=np.float64)
    if pred.ndim == 1:
        pred = pred[:, None]
    if pred.shape != (n_rows, n_targets):
        raise KaggleKitError(
            f"model {model_name!r} returned predictions of shape {pred.shape}; "
            f"expected ({n_rows}, {n_targets})"
        )
    if not np.isfinite(pred).all():
        raise KaggleKitError(f"model {model_name!r} returned NaN or infinite predictions")
    return pred


# -- progress: one line per job start / finish --------------------------------------------------
@dataclass
class JobEvent:
    kind: str  # "start" | "done" | "reused" | "retry" | "note" (about the run; no job)
    job: Job | None
    worker: str = "main"
    seconds: float | None = None
    score: str | None = None  # e.g. "auc=0.9712" (a figure that needs no threshold)
    done: int = 0
    total: int = 0
    message: str = ""

    def line(self) -> str:
        """One plain line (no terminal control codes)."""
        head = f"[{self.done}/{self.total}] " if self.total else ""
        if self.kind == "note":
            return f"{head}{self.message}"
        assert self.job is not None  # every event but a note is about a job
        if self.kind == "start":
            return f"{head}job start: {self.job.label} on worker {self.worker}"
        if self.kind == "done":
            score = f"  {self.score}" if self.score else ""
            return (
                f"{head}job done:  {self.job.label} on worker {self.worker}{score}  "
                f"({self.seconds:.1f}s)"
            )
        if self.kind == "reused":
            return f"{head}job kept:  {self.job.label} (completed earlier, reused)"
        return f"{head}job {self.kind}: {self.job.label} on worker {self.worker}: {self.message}"


class RunInterrupted(Exception):
    """Ctrl-C (or SIGTERM) stopped a run; completed jobs are kept for resuming."""

    def __init__(
        self, run_id: str, path, done: int, total: int, command: str | None, kind: str = "cv"
    ):
        self.run_id, self.path, self.done, self.total, self.command, self.kind = (
            run_id,
            path,
            done,
            total,
            command,
            kind,
        )
        super().__init__(self.message())

    def message(self) -> str:
        if not self.done:
            return "Interrupted before any job completed; nothing was kept."
        resume = f"kagglekit {self.kind} --resume {self.run_id}"
        again = f"{self.command}\n   or: {resume}" if self.command else resume
        return (
            f"Interrupted: kept {self.done} of {self.total} completed jobs of run "
            f"{self.run_id} in {self.path}.\nResume with: {again}"
        )


def needs_accelerator(model_cls) -> bool:
    """Whether a model family trains on GPUs/TPUs: its ``wants_accelerator`` attribute, else
    whether it comes from kagglekit's Keras stack."""
    flag = getattr(model_cls, "wants_accelerator", None)
    if flag is not None:
        return bool(flag)
    modules = [c.__module__ or "" for c in getattr(model_cls, "__mro__", ())]
    return any(
        m.startswith(
            (
                "kagglekit.keras",
                "kagglekit.hub",
                "kagglekit.text",
                "kagglekit_plugins.rnn",
                "kagglekit_plugins.transformer",
                "kagglekit_plugins.sentence_encoder",
            )
        )
        for m in modules
    )


def model_fingerprint(model_cls) -> str:
    """The source file of a model's class (a fixed plugin bug gives new job ids)."""
    import inspect

    try:
        source = inspect.getsourcefile(model_cls)
        if source is not None:
            return file_fingerprint(Path(source), full=True)
    except (TypeError, OSError):
        pass
    return getattr(model_cls, "__qualname__", repr(model_cls))
