"""The executor contract (``Executor``), the in-process executor, the ``Tracker`` that
commits finished jobs, and ``drive``, which runs a run's remaining jobs on an executor."""

from __future__ import annotations

import shutil
from pathlib import Path

from kagglekit.errors import KaggleKitError, os_error_line
from kagglekit.jobs import JobEvent, execute_job


class Executor:
    """Base class: ``run(ctx, jobs, tracker)`` runs every job, or raises."""

    name = "in-process"

    def __init__(self, workers: int | None = None, address: str | None = None):
        self.workers = workers
        self.address = address

    def describe(self) -> str:
        return self.name

    def jobs_at_once(self, ctx, n_jobs: int) -> int:
        """How many of ``n_jobs`` jobs of ``ctx`` (its training rows, model and accelerator
        need) this executor would run at the same time: what a projection of their time
        from one job's divides by. An executor that says nothing: its ``--workers``."""
        return max(1, min(int(self.workers or 1), n_jobs))

    def run(self, ctx, jobs, tracker) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class InProcess(Executor):
    """Each job in turn, in this process (today's behaviour, and the fastest for one core)."""

    name = "in-process"

    def jobs_at_once(self, ctx, n_jobs: int) -> int:
        return 1

    def run(self, ctx, jobs, tracker) -> None:
        for job in jobs:
            tracker.start(job, "main")
            scratch = tracker.store.scratch(job)
            try:
                record = execute_job(ctx, job, scratch, "main")
            except BaseException:
                shutil.rmtree(scratch, ignore_errors=True)
                raise
            tracker.finish(job, scratch, record)


class Tracker:
    """The driver's side of running jobs: progress events, committing finished jobs."""

    def __init__(self, store, total: int, done: int, on_event=None, scorer=None):
        self.store = store
        self.total = total
        self.done = done
        self.on_event = on_event
        self.scorer = scorer

    def _emit(self, event: JobEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def note(self, message: str) -> None:
        """A line about the run as a whole (e.g. which executor ``auto`` chose)."""
        self._emit(JobEvent("note", None, done=self.done, total=self.total, message=message))

    def reused(self, job) -> None:
        record = self.store.record(job) or {}  # the seconds it took when it was computed
        seconds = record.get("seconds")
        self._emit(
            JobEvent(
                "reused",
                job,
                done=self.done,
                total=self.total,
                seconds=None if seconds is None else float(seconds),
            )
        )

    def start(self, job, worker: str) -> None:
        self._emit(JobEvent("start", job, worker, done=self.done, total=self.total))

    def retry(self, job, worker: str, message: str) -> None:
        self._emit(
            JobEvent("retry", job, worker, done=self.done, total=self.total, message=message)
        )

    def finish(self, job, scratch: Path, record: dict) -> None:
        """Commit a job's finished scratch folder (atomically), then report it."""
        self.store.commit(job, scratch, record)
        self.done += 1
        score = self.scorer(job) if self.scorer else None
        self._emit(
            JobEvent(
                "done",
                job,
                record.get("worker", "?"),
                record.get("seconds"),
                score,
                self.done,
                self.total,
            )
        )


def drive(
    ctx, jobs, store, executor=None, on_event=None, scorer=None, command: str | None = None
) -> None:
    """Run the jobs the store has not completed yet on ``executor`` (default: in-process).

    Ctrl-C becomes :class:`~kagglekit.jobs.RunInterrupted` (completed jobs kept); any other
    failure keeps completed jobs too, and removes the store when none completed.
    """
    from kagglekit.jobs import RunInterrupted

    done = store.completed(jobs)
    tracker = Tracker(store, len(jobs), len(done), on_event, scorer)
    for job in jobs:
        if job.id in done:
            tracker.reused(job)
    todo = [j for j in jobs if j.id not in done]
    try:
        (executor or InProcess()).run(ctx, todo, tracker)
    except KeyboardInterrupt:
        kept = len(store.completed(jobs))
        store.release()
        if not kept:
            store.remove()
        raise RunInterrupted(
            store.run_id, store.path, kept, len(jobs), command, store.plan.get("kind", "cv")
        ) from None
    except BaseException as exc:
        kept = store.completed(jobs)
        if not kept:
            store.remove()
        else:
            store.release()
        if isinstance(exc, OSError):  # one line naming where, saying what was kept
            doing = (
                f"writing the run's jobs; {len(kept)} completed job(s) kept for resuming"
                if kept
                else "writing the run's jobs; nothing was kept"
            )
            raise KaggleKitError(
                os_error_line(exc, store.path if kept else store.path.parent, doing)
            ) from None
        raise
