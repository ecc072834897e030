"""``--executor local --workers N``: N worker processes on this machine, each on its own device.

One GPU per worker (``CUDA_VISIBLE_DEVICES``) when there are GPUs, else the CPU cores split
between the workers (``OMP_NUM_THREADS`` and friends, plus CPU affinity where the OS has it).
A worker that dies in the middle of a job (killed, out of memory) is replaced and the job
retried once; a job that raises stops the run (completed jobs are kept for resuming).
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import shutil
import signal
import subprocess
import traceback
from multiprocessing.connection import wait

from kagglekit.errors import KaggleKitError
from kagglekit.executors.base import Executor
from kagglekit.jobs import execute_job

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
)


def visible_gpus() -> list[str]:
    """GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` when set, else nvidia-smi's list."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.stdout.splitlines()) if line.startswith("GPU ")]


def available_cores() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def device_plan(workers: int, gpus=None, cores=None) -> list[dict]:
    """Per worker: the environment it gets and the CPU cores it is pinned to."""
    gpus = visible_gpus() if gpus is None else list(gpus)
    cores = available_cores() if cores is None else list(cores)
    plans = []
    for slot in range(workers):
        if gpus:
            gpu = gpus[slot % len(gpus)]
            share = cores[slot::workers] or cores
            plans.append(
                {
                    "env": {
                        "CUDA_VISIBLE_DEVICES": gpu,
                        **{v: str(len(share)) for v in THREAD_VARS},
                    },
                    "cores": share,
                    "device": f"gpu {gpu}",
                }
            )
        else:
            share = cores[slot::workers] if len(cores) >= workers else cores
            plans.append(
                {
                    "env": {v: str(len(share)) for v in THREAD_VARS},
                    "cores": share,
                    "device": f"cpu {','.join(map(str, share))}",
                }
            )
    return plans


def die_with_parent() -> None:
    """Linux: the kernel kills this worker when the driver dies (kill -9 included)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_main(conn, ctx, plan: dict, name: str) -> None:
    """A worker's loop: receive (job, scratch folder), run it, send back its record."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver handles Ctrl-C
    os.environ.update(plan["env"])
    if plan.get("cores") and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, plan["cores"])
        except OSError:
            pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(plan["env"]["OMP_NUM_THREADS"]))
    except Exception:  # noqa: BLE001 - thread limits are an optimisation only
        pass
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job, scratch = message
        try:
            record = execute_job(ctx, job, scratch, name)
        except BaseException as exc:  # noqa: BLE001 - reported to the driver
            conn.send(("error", job.id, _portable(exc), traceback.format_exc()))
            continue
        conn.send(("ok", job.id, record, None))


def _portable(exc: BaseException) -> tuple[bool, str]:
    """(is it kagglekit's one-line error, its text): what crosses back to the driver."""
    if isinstance(exc, KaggleKitError):
        return True, str(exc)
    return False, f"{type(exc).__name__}: {exc}"


class LocalWorkers(Executor):
    """N worker processes on this machine, each pinned to its own GPU or CPU cores."""

    name = "local"
    max_retries = 1

    def describe(self) -> str:
        return f"local ({self.n_workers} workers)"

    @property
    def n_workers(self) -> int:
        if self.workers:
            return int(self.workers)
        return max(1, len(visible_gpus()) or len(available_cores()))

    def jobs_at_once(self, ctx, n_jobs: int) -> int:
        return max(1, min(self.n_workers, n_jobs))

    def run(self, ctx, jobs, tracker) -> None:
        if not jobs:
            return
        methods = multiprocessing.get_all_start_methods()
        mp = (
            multiprocessing.get_context("fork")
            if "fork" in methods
            else multiprocessing.get_context("spawn")
        )
        n = min(self.n_workers, len(jobs))
        plans = device_plan(n)
        workers: dict[int, tuple] = {}
        queue = collections.deque(jobs)
        running: dict[int, tuple] = {}  # slot -> (job, scratch)
        tries: collections.Counter[str] = collections.Counter()

        def spawn(slot):
            parent, child = mp.Pipe()
            proc = mp.Process(
                target=worker_main,
                args=(child, ctx, plans[slot], f"local-{slot}"),
                name=f"kagglekit-worker-{slot}",
                daemon=True,
            )
            proc.start()
            child.close()
            workers[slot] = (proc, parent)

        try:
            for slot in range(n):
                spawn(slot)
            while queue or running:
                for slot in range(n):
                    if slot not in running and queue:
                        job = queue.popleft()
                        scratch = tracker.store.scratch(job)
                        running[slot] = (job, scratch)
                        tracker.start(job, f"local-{slot} ({plans[slot]['device']})")
                        workers[slot][1].send((job, scratch))
                by_handle = {}
                for slot in running:
                    proc, conn = workers[slot]
                    by_handle[conn] = slot
                    by_handle[proc.sentinel] = slot
                for handle in wait(list(by_handle)):
                    slot = by_handle[handle]
                    if slot not in running:
                        continue
                    self._handle(slot, handle, workers, running, queue, tries, tracker, spawn)
        finally:
            for _proc, conn in workers.values():
                try:
                    conn.send(None)
                except (OSError, ValueError):
                    pass
            for proc, conn in workers.values():
                proc.join(timeout=2)
                if proc.is_alive():
                    proc.kill()
                    proc.join(timeout=5)
                conn.close()
            for _job, scratch in running.values():
                shutil.rmtree(scratch, ignore_errors=True)

    def _handle(self, slot, handle, workers, running, queue, tries, tracker, spawn) -> None:
        proc, conn = workers[slot]
        job, scratch = running[slot]
        message = None
        if handle is conn or conn.poll():
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = None
        if message is not None:
            kind, _, payload, trace = message
            del running[slot]
            if kind == "ok":
                tracker.finish(job, scratch, payload)
                return
            shutil.rmtree(scratch, ignore_errors=True)
            user_error, text = payload
            if user_error:
                raise KaggleKitError(text)
            raise KaggleKitError(f"{job.label} failed on worker local-{slot}: {text}\n{trace}")
        # the worker died in the middle of the job
        proc.join(timeout=5)
        del running[slot]
        shutil.rmtree(scratch, ignore_errors=True)
        conn.close()
        tries[job.id] += 1
        code = proc.exitcode
        if tries[job.id] > self.max_retries:
            raise KaggleKitError(
                f"{job.label}: worker process died (exit code {code}) "
                f"{tries[job.id]} times; completed jobs are kept, re-run the "
                f"command to resume"
            )
        tracker.retry(job, f"local-{slot}", f"worker died (exit code {code}); retrying")
        queue.appendleft(job)
        spawn(slot)
