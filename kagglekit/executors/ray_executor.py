"""``--executor ray [--address ADDR]``: each job a Ray task with the resources it needs.

A neural model's job asks for one GPU when the cluster has GPUs; every job asks for one CPU.
A task runs its job in a temporary folder on whichever node Ray picks and returns the files
(saved model, logs, predictions) to the driver, which alone writes the run. Ray is an
optional extra (``pip install "kagglekit[ray]"``), imported only here, only when used.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from kagglekit.errors import KaggleKitError
from kagglekit.executors.base import Executor
from kagglekit.jobs import execute_job


def import_ray():
    try:
        import ray
    except ImportError:
        raise KaggleKitError('--executor ray needs Ray: pip install "kagglekit[ray]"') from None
    return ray


def run_remote(ctx, job) -> tuple[dict, dict]:
    """Inside a Ray task: run the job in a temporary folder; return (record, {path: bytes})."""
    import socket

    folder = Path(tempfile.mkdtemp(prefix=f"kagglekit-job-{job.id[:8]}-"))
    try:
        record = execute_job(ctx, job, folder, f"ray:{socket.gethostname()}:{os.getpid()}")
        files = {
            str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return record, files


def unpack(files: dict, folder: Path) -> None:
    for rel, blob in files.items():
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            raise KaggleKitError(f"a Ray task returned a file outside its folder: {rel!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)


def start_ray(ray, address: str | None = None, workers: int | None = None) -> bool:
    """Start Ray quietly (no dashboard, workers' output not copied to this terminal) unless
    it already runs in this process: a local instance, ``workers`` CPUs when given, or the
    cluster at ``address``. Returns whether this call started it (then shut it down)."""
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {
        "address": address,
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if not address and workers:
        options["num_cpus"] = int(workers)
    ray.init(**options)
    return True


def task_result(ray, ref):
    """``ray.get(ref)``; a KaggleKitError raised in the task is raised here as its one line."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.as_instanceof_cause()
        if isinstance(cause, KaggleKitError):
            raise KaggleKitError(str(cause).splitlines()[-1]) from None
        raise


def cancel_tasks(ray, refs, force: bool = True) -> None:
    """Cancel the tasks behind ``refs``, best effort (on the way out of an error or Ctrl-C)."""
    for ref in refs:
        try:
            ray.cancel(ref, force=force)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


class RayTasks(Executor):
    """Every job a Ray task (a local Ray instance, or the cluster at --address)."""

    name = "ray"

    def describe(self) -> str:
        return f"ray ({self.address or 'local'})"

    def jobs_at_once(self, ctx, n_jobs: int) -> int:
        """The CPUs its tasks get: the running Ray's, else what ``start_ray`` would give
        (``--workers`` on a local Ray; a cluster not reached yet: this machine's cores at
        least). An accelerator model's jobs are counted one at a time."""
        import sys

        from kagglekit.executors.local import available_cores

        if getattr(ctx, "needs_gpu", False):
            return 1
        ray = sys.modules.get("ray")  # never imported just to count
        if ray is not None and ray.is_initialized():
            cpus = int(ray.cluster_resources().get("CPU", 1))
        elif self.workers and not self.address:
            cpus = int(self.workers)
        else:
            cpus = len(available_cores())
        return max(1, min(cpus, n_jobs))

    def run(self, ctx, jobs, tracker) -> None:
        if not jobs:
            return
        ray = import_ray()
        started_here = start_ray(ray, self.address, self.workers)
        pending = {}
        try:
            gpus = ray.cluster_resources().get("GPU", 0)
            task = ray.remote(run_remote).options(
                num_cpus=1, num_gpus=1 if ctx.needs_gpu and gpus else 0, max_retries=2
            )
            shared = ray.put(ctx)
            for job in jobs:
                pending[task.remote(shared, job)] = job
                tracker.start(job, "ray")
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(ready[0])
                record, files = task_result(ray, ready[0])
                scratch = tracker.store.scratch(job)
                try:
                    unpack(files, scratch)
                except BaseException:
                    shutil.rmtree(scratch, ignore_errors=True)
                    raise
                tracker.finish(job, scratch, record)
        finally:
            cancel_tasks(ray, pending)
            if started_here:
                ray.shutdown()
