"""``--executor auto``, the default: local worker processes for CPU-bound models when the
machine has cores and memory to spare, else in-process.

The choice is made when the jobs are known, before any worker starts, and said in the
first progress line with its reason:

- in-process when there is one job, one core, a model that trains on an accelerator (or
  runs its own threads: the Keras families), or too few rows for workers to pay off;
- else ``min(cores, jobs, --workers)`` workers, fewer when the memory the jobs need does
  not fit: a job's working memory is estimated from the characters of training text as
  ``memory_per_char * chars + memory_base`` (the model's bytes per character and fixed
  bytes, a line through what the TF-IDF models measured at 10% and 100% of Quora's size in
  benchmarks/RESULTS_scale.md), and the workers must fit in 85% of the available memory.
"""

from __future__ import annotations

import os

from kagglekit.executors.base import Executor, InProcess
from kagglekit.executors.local import LocalWorkers, available_cores

# below this many training rows a fold takes about a second in-process: workers don't pay
MIN_ROWS = 2_000
# working memory per character of training text when a model does not say (bytes)
DEFAULT_MEMORY_PER_CHAR = 300
# what every worker holds besides its job (the interpreter, scikit-learn; bytes)
WORKER_BASE = 150 * 2**20


def available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def job_memory(ctx) -> int:
    """Estimated peak working memory of one job, in bytes.

    A line in the characters of training text: per character (the features, which grow
    with the text) and a fixed part (what grows more slowly: a vocabulary being counted
    before it is cut to ``max_features``), both the model's, plus what every worker holds.
    """
    texts = getattr(ctx.train, "text", ())
    chars = sum(map(len, texts))
    per_char = getattr(ctx.model_cls, "memory_per_char", None) or DEFAULT_MEMORY_PER_CHAR
    base = getattr(ctx.model_cls, "memory_base", None) or 0
    return int(per_char * chars) + int(base) + WORKER_BASE


def gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


class Auto(Executor):
    """Local workers when they pay and fit, else in-process (see the module's docstring)."""

    name = "auto"

    def describe(self) -> str:
        return "auto: workers when cores and memory allow"

    def choose(self, ctx, jobs, cores=None, memory=None) -> tuple[Executor, str]:
        """(the executor to run ``jobs`` on, why)."""
        cores = available_cores() if cores is None else cores
        if len(jobs) < 2:
            return InProcess(), "one job"
        if ctx.needs_gpu:
            return InProcess(), "the model uses an accelerator or its own threads"
        if len(cores) < 2:
            return InProcess(), "one CPU core"
        if len(ctx.train) < MIN_ROWS:
            return InProcess(), f"{len(ctx.train):,} training rows: workers would not pay"
        want = min(len(cores), len(jobs), int(self.workers or len(cores)))
        if want < 2:
            return InProcess(), "--workers 1"
        memory = available_memory() if memory is None else memory
        need = job_memory(ctx)
        fit = want if memory is None else int(0.85 * memory // need)
        n = min(want, fit)
        if n < 2:
            return InProcess(), (
                f"memory: {gib(memory)} available, about {gib(need)} per job "
                f"(--executor local --workers N to override)"
            )
        room = "" if memory is None else f", {gib(memory)} available, about {gib(need)} per job"
        return LocalWorkers(workers=n), f"{len(cores)} cores{room}"

    def jobs_at_once(self, ctx, n_jobs: int) -> int:
        runner, _why = self.choose(ctx, range(n_jobs))
        return runner.jobs_at_once(ctx, n_jobs)

    def run(self, ctx, jobs, tracker) -> None:
        if not jobs:
            return
        runner, why = self.choose(ctx, jobs)
        tracker.note(f"executor auto: {runner.describe()} ({why})")
        runner.run(ctx, jobs, tracker)
