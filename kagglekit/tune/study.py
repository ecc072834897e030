"""``kagglekit tune``'s search: an Optuna study over ordinary CV runs.

    holdout set aside (holdout.py)  ->  one fold plan for every trial
    -> trial: params sampled from the space (space.py) -> run_cv (an ordinary run, resumable
       through its job store) -> after each fold the cumulative mean of the fold figures is
       reported, and the pruner may stop the trial there
    -> objective: the run's held-out CV score (the nested figure for thresholded metrics)
    -> the best configuration fit on every trial row and scored once on the holdout

The study lives in Optuna's RDB storage: by default a SQLite file in the runs folder
(``RunsFolder.studies``); any SQLAlchemy URL works (PostgreSQL shared by many machines).
``n_trials`` counts the study's finished trials (complete or pruned), so the same command
after a crash, kill -9 or Ctrl-C goes on where the study stopped: a trial whose process died
is failed and its parameters enqueued again, and its run resumes from its completed folds.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kagglekit.errors import KaggleKitError

if TYPE_CHECKING:
    from kagglekit.competition import Competition
    from kagglekit.data import Dataset
    from kagglekit.folds import FoldPlan
    from kagglekit.model import Model
    from kagglekit.store.folder import RunsFolder

PRUNERS = ("median", "hyperband", "none")
OWNER_ATTR = "kagglekit_owner"
RUN_ATTR = "run_id"


def require_optuna():
    try:
        import optuna
    except ImportError:
        raise KaggleKitError(
            "kagglekit tune needs Optuna; install it with: pip install 'kagglekit[tune]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def shown_url(url: str) -> str:
    """A storage URL fit to print: its password hidden."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL sqlalchemy knows: show only its scheme
        return url.split("://", 1)[0] + "://***" if "@" in url else url


def default_storage(folder) -> str:
    path = folder.study_storage()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def open_storage(url: str):
    optuna = require_optuna()
    from optuna.storages import RDBStorage

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # several worker processes write one SQLite file: wait for its lock, don't fail
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    try:
        with warnings.catch_warnings():  # "experimental feature": library noise
            warnings.simplefilter("ignore")
            # a trial whose process stopped beating for grace_period s is failed and retried
            retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
            if retry is not None:  # Optuna >= 4.9
                kwargs["heartbeat_stale_trial_callback"] = retry(3)
            else:
                kwargs["failed_trial_callback"] = optuna.storages.RetryFailedTrialCallback(3)
            storage = RDBStorage(url, heartbeat_interval=30, grace_period=120, **kwargs)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy/optuna raise many kinds
        raise KaggleKitError(
            f"--storage {shown_url(url)}: cannot open the study storage "
            f"({type(exc).__name__}: {first_line(exc)})"
        ) from None
    if sqlite_file(url):
        serialize_sqlite_transactions(storage.engine)
    return storage


def sqlite_file(url: str) -> bool:
    """Whether the URL names a SQLite database file (not ``sqlite://``, in memory: one
    process's, whose only connection must stay open)."""
    if not url.startswith("sqlite"):
        return False
    path = url.split("://", 1)[-1].split("?", 1)[0]
    return path not in ("", "/", "/:memory:") and "mode=memory" not in url


def serialize_sqlite_transactions(engine) -> None:
    """Every transaction on ``engine`` starts with ``BEGIN IMMEDIATE``, so that a read and the
    write it decides stay one step. Optuna pops an enqueued trial by reading that it is
    WAITING, then setting it RUNNING; SQLite ignores the SELECT ... FOR UPDATE other
    databases lock the row with, so two workers starting together could both pop the same
    trial (optuna/optuna#4621) and run one job set twice at once. Under ``BEGIN IMMEDIATE``
    the second waits (up to the connection's timeout) and then reads RUNNING."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # pysqlite's own BEGIN is deferred

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections made before the listeners get them when reopened


def first_line(exc) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def make_pruner(name: str, startup_trials: int = 5):
    """``median`` (the default): a trial is stopped after a fold when its cumulative mean is
    worse than the median of earlier trials' at that fold, once ``startup_trials`` trials
    have finished; ``hyperband``; ``none``."""
    optuna = require_optuna()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise KaggleKitError(f"--pruner {name!r}: choose one of {', '.join(PRUNERS)}")


def load_or_create(storage, name: str, direction: str, pruner, seed: int):
    optuna = require_optuna()
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction=direction,
        pruner=pruner,
        sampler=sampler,
        load_if_exists=True,
    )
    if study.direction.name.lower() != direction:
        raise KaggleKitError(
            f"study {name!r} exists with direction "
            f"{study.direction.name.lower()}, not {direction}; give another "
            f"--study name"
        )
    return study


def recover_dead_trials(study) -> list[int]:
    """Fail the study's running trials whose owning process on this machine is gone (kill -9,
    a crash), and enqueue their parameters again; returns their numbers. Trials of live
    processes, or of other machines, are left to Optuna's heartbeat."""
    from optuna.trial import TrialState

    from kagglekit.store.atomic import owner_alive

    host = os.uname().nodename
    recovered = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = trial.user_attrs.get(OWNER_ATTR)
        if not owner or owner.get("host") != host or owner_alive(owner):
            continue
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        study.enqueue_trial(
            trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False
        )
        recovered.append(trial.number)
    return recovered


def finished(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


@dataclass
class TrialReport:
    """What the CLI shows of a trial."""

    number: int
    params: dict
    state: str  # "complete" | "pruned" | "failed"
    value: float | None
    run_id: str | None
    seconds: float
    folds_done: int
    best_value: float | None = None
    best_number: int | None = None
    message: str = ""


@dataclass
class Objective:
    """One trial = one ordinary CV run of the model with the trial's params."""

    comp: Competition
    model_name: str
    model_cls: type[Model]
    fixed: dict
    space: dict
    data: Dataset  # the trials' dataset (holdout removed)
    plan: FoldPlan  # the folds every trial shares
    folder: RunsFolder
    seed: int
    metric_name: str
    executor: object = None
    on_trial: Callable[[TrialReport], None] | None = None
    on_event: Callable | None = None
    reports: list = field(default_factory=list)

    def params_for(self, values: dict):
        from kagglekit.params import build_params

        return build_params(self.model_cls.Params, {**self.fixed, **values}, self.model_name)

    def __call__(self, trial):
        import optuna

        from kagglekit.cv import run_cv
        from kagglekit.jobs import RunInterrupted
        from kagglekit.store.atomic import owner_record
        from kagglekit.tune.space import suggest

        trial.set_user_attr(OWNER_ATTR, owner_record(host=os.uname().nodename))
        values = suggest(trial, self.space)
        params = self.params_for(values)
        check = getattr(self.model_cls, "check_inputs", None)
        if check is not None:
            check(params)
        started = time.perf_counter()
        figures: dict[int, list[float]] = {}

        def on_scored(job, value):
            figures.setdefault(job.fold, []).append(value)
            means = [sum(v) / len(v) for v in figures.values()]
            trial.report(sum(means) / len(means), step=len(figures))
            if trial.should_prune():
                raise optuna.TrialPruned(f"after {len(figures)} fold(s)")

        try:
            run = run_cv(
                self.comp,
                self.model_name,
                self.model_cls,
                params,
                self.data,
                seed=self.seed,
                folds=self.plan,
                runs_dir=self.folder,
                executor=self.executor,
                on_event=self.on_event,
                on_scored=on_scored,
            )
        except optuna.TrialPruned:
            self._forget_jobs(params)
            self._report(trial, values, "pruned", None, None, started, len(figures))
            raise
        except RunInterrupted:
            # Ctrl-C: the folds done are kept; the same command tries these params again
            trial.study.enqueue_trial(trial.params, skip_if_exists=False)
            raise KeyboardInterrupt from None
        value = objective_value(run, self.metric_name)
        trial.set_user_attr(RUN_ATTR, run.id)
        trial.set_user_attr("held_out", bool(run.info.get("held_out", True)))
        self._report(trial, values, "complete", value, run.id, started, len(figures))
        return value

    def _forget_jobs(self, params) -> None:
        """A pruned trial is never resumed: its completed folds are removed."""
        import numpy as np

        from kagglekit.jobs import data_fingerprint, job_set_hash, plan_jobs

        jobs = plan_jobs(
            self.model_name,
            params,
            [self.seed],
            np.asarray(self.plan.folds),
            data_fingerprint(self.data),
            self.data.train_on_validated,
            self.model_cls,
        )
        shutil.rmtree(self.folder.job_store(self.comp.slug, job_set_hash(jobs)), ignore_errors=True)

    def _report(self, trial, values, state, value, run_id, started, folds_done) -> None:
        report = TrialReport(
            trial.number,
            values,
            state,
            value,
            run_id,
            round(time.perf_counter() - started, 3),
            folds_done,
        )
        try:
            best = trial.study.best_trial
            report.best_value, report.best_number = best.value, best.number
        except ValueError:  # no complete trial yet
            pass
        if state == "complete" and (
            report.best_value is None or better(trial.study, value, report.best_value)
        ):
            report.best_value, report.best_number = value, trial.number
        self.reports.append(report)
        if self.on_trial is not None:
            self.on_trial(report)


def better(study, a, b) -> bool:
    return a > b if study.direction.name == "MAXIMIZE" else a < b


def objective_value(run, metric_name: str) -> float:
    """The run's held-out CV figure for the metric: the nested one when the metric needs a
    threshold (chosen on the other folds), else the plain OOF score."""
    nested = run.info.get("nested_scores") or {}
    value = nested.get(metric_name, run.scores.get(metric_name))
    if value is None:
        raise KaggleKitError(f"run {run.id} has no {metric_name} score to tune on")
    return float(value)


def worker_study(name: str, url: str, options):
    """The study as a worker opens it: from the storage URL, with the study's pruner (a
    loaded study would otherwise prune with Optuna's default median pruner)."""
    optuna = require_optuna()
    return optuna.load_study(
        study_name=name,
        storage=open_storage(url),
        pruner=make_pruner(options.pruner, options.startup_trials),
    )


def optimize_here(study, objective, n_trials: int, timeout: float | None) -> None:
    """Trials in this process until the study has ``n_trials`` finished ones."""
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    if finished(study) >= n_trials:  # a worker that started late: nothing left to do
        return
    study.optimize(
        objective,
        timeout=timeout,
        gc_after_trial=False,
        callbacks=[MaxTrialsCallback(n_trials, states=(TrialState.COMPLETE, TrialState.PRUNED))],
        catch=(),
    )
