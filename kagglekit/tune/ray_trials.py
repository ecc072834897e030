"""``kagglekit tune --executor ray``: a study's trials as Ray tasks.

Each task (one CPU) opens the study from the same storage URL and runs ``study.optimize``
until the study has ``n_trials`` finished trials, like a local worker: the same pruner, the
same dead-trial recovery (a task's process is the trial's owner). A trial's CV runs its
folds in the task's process and writes its run to the runs folder; the storage and the runs
folder must therefore be reachable from every node (one machine, or a shared file system
and a database such as PostgreSQL). The driver starts the tasks, reports each trial as the
study records it finished, and on Ctrl-C cancels the tasks: a cancelled trial is failed and
its parameters queued again, so the same command continues the study.

Ray is imported only here and in ``kagglekit.executors.ray_executor``, whose helpers start
it and turn its errors into one line.
"""

from __future__ import annotations

import time
from dataclasses import replace

from kagglekit.errors import KaggleKitError
from kagglekit.tune.study import TrialReport, better, finished, first_line

POLL_S = 1.0  # how often the driver looks for newly finished trials
GRACE_S = 15.0  # after Ctrl-C: how long cancelled trials get to record themselves failed


def optimize_on_ray(study, objective, options, url: str, name: str) -> None:
    """Run the study's remaining trials as Ray tasks; return when all have ended."""
    from kagglekit.executors.ray_executor import cancel_tasks, import_ray, start_ray

    ray = import_ray()
    started_here = start_ray(ray, options.address, options.workers)
    try:
        left = options.n_trials - finished(study)
        cpus = int(ray.cluster_resources().get("CPU", 1))
        n_tasks = max(1, min(int(options.workers or cpus), left))
        shared = _put_objective(ray, objective)
        deadline = None if options.timeout is None else time.time() + options.timeout
        task = ray.remote(trial_task).options(num_cpus=1, max_retries=0)
        pending = [task.remote(shared, options, url, name, deadline) for _ in range(n_tasks)]
        watcher = TrialWatcher(study, objective)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
                watcher.poll()
                for ref in ready:
                    _result(ray, ref)
        except BaseException:  # Ctrl-C, or a task's error: stop the other tasks' trials
            _stop(ray, pending)
            raise
        finally:
            cancel_tasks(ray, pending)
        watcher.poll()
        _check_runs_here(study, objective)
    finally:
        if started_here:
            ray.shutdown()


def trial_task(objective, options, url: str, name: str, deadline: float | None) -> None:
    """Inside a Ray task: trials of the study until it has ``n_trials`` finished ones."""
    from kagglekit.tune.study import optimize_here, worker_study

    timeout = None if deadline is None else deadline - time.time()
    if timeout is not None and timeout <= 0:
        return
    optimize_here(worker_study(name, url, options), objective, options.n_trials, timeout)


def _put_objective(ray, objective):
    """The objective as the tasks get it: without the driver's callbacks (the driver reports
    the trials), its folds run in the task's process, its runs folder an absolute path."""
    from kagglekit.store.folder import RunsFolder

    remote = replace(
        objective,
        executor=None,
        on_trial=None,
        on_event=None,
        reports=[],
        folder=RunsFolder(objective.folder.root.resolve()),
    )
    try:
        return ray.put(remote)
    except Exception as exc:  # noqa: BLE001 - pickling fails in many ways
        raise KaggleKitError(
            f"--executor ray: the trials' data cannot be sent to Ray tasks "
            f"({type(exc).__name__}: {first_line(exc)}); run the trials locally with "
            f"--workers N instead"
        ) from None


def _result(ray, ref) -> None:
    """A task's end: its KaggleKitError as its one line; a task that died as one line; a bug
    in the trial's code as Ray reports it (with the task's traceback)."""
    from kagglekit.executors.ray_executor import task_result

    try:
        task_result(ray, ref)
    except ray.exceptions.RayTaskError:
        raise
    except ray.exceptions.RayError as exc:
        raise KaggleKitError(
            f"a Ray trial task failed ({type(exc).__name__}: {first_line(exc)}); run the same "
            f"command again to continue the study"
        ) from None


def _stop(ray, refs) -> None:
    """Ctrl-C: interrupt the running trials (each is failed and its parameters queued
    again), give them ``GRACE_S`` to say so in the study, then stop what is left."""
    from kagglekit.executors.ray_executor import cancel_tasks

    if not refs:
        return
    cancel_tasks(ray, refs, force=False)
    try:
        ray.wait(refs, num_returns=len(refs), timeout=GRACE_S)
    except KeyboardInterrupt:  # a second Ctrl-C: stop now
        pass
    cancel_tasks(ray, refs, force=True)


def _check_runs_here(study, objective) -> None:
    """The trials' runs must be in this machine's runs folder (the holdout fit reads the
    best one's threshold): not so when the nodes do not share it."""
    from optuna.trial import TrialState

    missing = [
        t.number
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("run_id")
        and not objective.folder.run_dir(objective.comp.slug, t.user_attrs["run_id"]).is_dir()
    ]
    if missing:
        raise KaggleKitError(
            f"trial(s) {', '.join(map(str, missing[:5]))}: their runs are not in "
            f"{objective.folder} on this machine; with --executor ray on several machines, "
            f"--runs-dir must be a folder every node shares"
        )


class TrialWatcher:
    """On the driver: each trial the tasks finish (complete or pruned) reported as the local
    objective reports its own (``on_trial``), read from the study in the order they ended."""

    def __init__(self, study, objective):
        from optuna.trial import TrialState

        self.study, self.objective = study, objective
        trials = study.get_trials(deepcopy=False)
        self.seen = {t.number for t in trials if t.state.is_finished()}
        self.best: tuple[float, int] | None = None
        for t in trials:
            if t.state == TrialState.COMPLETE:
                self._consider(t)

    def _consider(self, trial) -> None:
        if self.best is None or better(self.study, trial.value, self.best[0]):
            self.best = (trial.value, trial.number)

    def poll(self) -> list[TrialReport]:
        from optuna.trial import TrialState

        states = (TrialState.COMPLETE, TrialState.PRUNED)
        new = [
            t
            for t in self.study.get_trials(deepcopy=False, states=states)
            if t.number not in self.seen
        ]
        new.sort(key=lambda t: (t.datetime_complete is None, t.datetime_complete, t.number))
        out = []
        for trial in new:
            self.seen.add(trial.number)
            complete = trial.state == TrialState.COMPLETE
            if complete:
                self._consider(trial)
            space = self.objective.space
            report = TrialReport(
                trial.number,
                {k: trial.params.get(k, getattr(d, "value", None)) for k, d in space.items()},
                "complete" if complete else "pruned",
                trial.value if complete else None,
                trial.user_attrs.get("run_id"),
                round(trial.duration.total_seconds(), 3) if trial.duration else 0.0,
                len(trial.intermediate_values),
            )
            if self.best is not None:
                report.best_value, report.best_number = self.best
            out.append(report)
            self.objective.reports.append(report)
            if self.objective.on_trial is not None:
                self.objective.on_trial(report)
        return out
