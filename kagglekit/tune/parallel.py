"""Who runs a study's trials: this process and ``workers - 1`` forked local ones (the
default, ``--workers N``), or Ray tasks (``--executor ray``, ray_trials.py). Every worker
opens the study from the same storage URL, with the study's pruner, and stops once the study
has ``n_trials`` finished (complete or pruned) trials.
"""

from __future__ import annotations

import multiprocessing

from kagglekit.errors import KaggleKitError
from kagglekit.tune.study import finished, optimize_here, worker_study

EXECUTORS = ("local", "ray")


def check_executor(options) -> None:
    """A wrong ``--executor`` / ``--address``, or Ray missing, said before any work."""
    if options.executor not in EXECUTORS:
        raise KaggleKitError(
            f"--executor {options.executor!r}: kagglekit tune runs trials on "
            f"{' or '.join(EXECUTORS)}"
        )
    if options.address and options.executor != "ray":
        raise KaggleKitError(
            f"--address {options.address}: a Ray cluster's address; add --executor ray"
        )
    if options.workers is not None and int(options.workers) < 1:
        raise KaggleKitError(f"--workers {options.workers}: expected 1 or more")
    if options.executor == "ray":
        from kagglekit.executors.ray_executor import import_ray

        import_ray()


def optimize(study, objective, options, url: str, name: str) -> None:
    """Run trials until the study has ``n_trials`` finished ones (or the timeout)."""
    if finished(study) >= options.n_trials:
        return
    if options.executor == "ray":
        from kagglekit.tune.ray_trials import optimize_on_ray

        optimize_on_ray(study, objective, options, url, name)
        return
    workers = max(1, int(options.workers or 1))
    children = []
    if workers > 1:
        mp = multiprocessing.get_context("fork")
        children = [
            mp.Process(target=_worker, args=(objective, options, url, name), daemon=True)
            for _ in range(workers - 1)
        ]
        for child in children:
            child.start()
    try:
        optimize_here(study, objective, options.n_trials, options.timeout)
    finally:
        for child in children:
            child.join()
    failed = [c.exitcode for c in children if c.exitcode not in (0, None)]
    if failed:
        raise KaggleKitError(
            f"{len(failed)} tune worker process(es) failed (exit status "
            f"{failed}); run the same command again to continue the study"
        )


def _worker(objective, options, url, name) -> None:
    from kagglekit.executors.local import die_with_parent

    die_with_parent()
    optimize_here(worker_study(name, url, options), objective, options.n_trials, options.timeout)
