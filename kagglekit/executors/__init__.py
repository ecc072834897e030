"""Executors: who runs a run's jobs. ``auto`` (the default: ``local`` workers for CPU-bound
models when cores and memory allow, else ``in-process``), ``in-process``, ``local`` worker
processes, ``ray`` tasks; plugins add more through ``register_executors``.

An executor runs in the driver process and is handed the jobs still to do and a
:class:`Tracker`; jobs run wherever the executor puts them, and every result comes back
to the driver, which alone writes the run's folders (``Tracker.finish`` commits a job).
"""

from __future__ import annotations

from kagglekit.executors.base import Executor, InProcess, Tracker, drive
from kagglekit.hookspecs import hookimpl

__all__ = ["Executor", "InProcess", "Tracker", "drive"]


@hookimpl
def register_executors(register):
    from kagglekit.executors.auto import Auto
    from kagglekit.executors.local import LocalWorkers
    from kagglekit.executors.ray_executor import RayTasks

    register("auto", Auto)
    register("in-process", InProcess)
    register("local", LocalWorkers)
    register("ray", RayTasks)
