"""CLI glue for jobs and executors: option decorators and helpers that ``cv``/``fit``/``runs``
apply (kept here so the command modules only pass values through).

    @job_options     --executor, --workers, --address, --seeds, --resume
    run_options(...)  -> executor instance, seeds list, progress callback, resume command
    interrupts()      Ctrl-C -> what was kept + how to resume on stderr, exit status 130
    incomplete_rows / clean_runs   for ``kagglekit runs`` and ``kagglekit runs --clean``
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
from pathlib import Path

import click

from kagglekit.errors import KaggleKitError


def job_options(f):
    """--executor, --workers, --address, --seeds, --resume."""
    options = [
        click.option("--executor", default="auto", show_default=True,
                     help="Who runs the (model, fold, seed) jobs: auto (local workers for "
                          "CPU-bound models when cores and memory allow, else in-process), "
                          "in-process, local, ray, or a plugin's (`kagglekit plugins`)."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="--executor local: worker processes [default: one per GPU, else per "
                          "CPU core]; auto: at most N; --executor ray: CPUs of the local Ray "
                          "instance."),
        click.option("--address", metavar="ADDR", default=None,
                     help="--executor ray: the Ray cluster to use [default: start a local one]."),
        click.option("--seeds", "n_seeds", type=click.IntRange(min=1), default=None,
                     help="Run every fold under N seeds (SEED, SEED+1, ...) and average them."),
        click.option("--resume", metavar="RUN", default=None,
                     help="Finish an interrupted run (`kagglekit runs` lists incomplete ones); "
                          "re-running the same command does the same."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def resolve_seeds(seed, n_seeds, config: dict) -> list[int]:
    """--seed S (repeatable) and --seeds N -> the run's seeds (first one: folds and records)."""
    given = [int(s) for s in (seed or ())]
    if not given:
        cfg = config.get("seeds", config.get("seed", 42))
        given = [int(s) for s in cfg] if isinstance(cfg, list) else [int(cfg)]
    if n_seeds:
        if len(given) > 1:
            raise KaggleKitError("give --seeds N or several --seed, not both")
        given = [given[0] + i for i in range(n_seeds)]
    if len(set(given)) != len(given):
        raise KaggleKitError(f"--seed values must differ, got {', '.join(map(str, given))}")
    return given


def make_executor(name: str, workers=None, address=None):
    from kagglekit import plugins

    cls = plugins.executors().get(name)
    if address and name != "ray":
        raise KaggleKitError(f"--address is for --executor ray, not {name}")
    return cls(workers=workers, address=address)


def progress(event) -> None:
    """One plain line per job start/finish on stderr (readable in a log file)."""
    click.echo(event.line(), err=True)


def command_line() -> str | None:
    """The command that started this process, when it is the kagglekit CLI."""
    name = Path(sys.argv[0]).name if sys.argv else ""
    if name in ("kagglekit", "__main__.py"):
        return "kagglekit " + shlex.join(sys.argv[1:])
    return None


def resume_params(ref: str, runs_dir, ctx) -> dict:
    """The stored command parameters of an incomplete run, with --executor, --workers and
    --address overridden when given on this command line."""
    from click.core import ParameterSource

    from kagglekit.jobstore import PLAN, find_incomplete, read_json

    overrides = {key: ctx.params[key] for key in ("executor", "workers", "address", "as_json")
                 if ctx.get_parameter_source(key) == ParameterSource.COMMANDLINE}

    found = find_incomplete(ref, runs_dir)
    plan = read_json(Path(found["path"]) / PLAN) or {}
    stored = plan.get("command_params")
    if not stored:
        raise KaggleKitError(f"run {found['run_id']} did not record its command; re-run the "
                             f"command that started it")
    params = dict(stored)
    params.update(overrides)
    params["resume"] = None
    for key in ("data_dir", "runs_dir", "config"):
        if params.get(key) is not None:
            params[key] = Path(params[key])
    for key in ("models", "params", "seed", "ensembles"):
        if key in params and params[key] is not None:
            params[key] = tuple(params[key])
    return params


def storable_params(params: dict) -> dict:
    """A command's parameters as JSON, paths made absolute (for --resume)."""
    out = {}
    for key, value in params.items():
        if isinstance(value, Path):  # absolute, links kept (a broken one is reported later)
            value = os.path.abspath(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def _terminated(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts():
    """Ctrl-C (or SIGTERM, as pre-emption sends): say what was kept and the command that
    resumes, exit status 130."""
    import signal
    import threading

    from kagglekit.jobs import RunInterrupted

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    except RunInterrupted as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        click.echo("Interrupted; no job had completed, nothing was kept.", err=True)
        raise SystemExit(130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def forget(runs_dir, runs) -> None:
    """At the end of a command that made several runs: drop the jobs kept for resuming it."""
    if len(runs) > 1:
        from kagglekit.jobstore import forget_assembled

        forget_assembled(runs_dir, [r.id for r in runs])


def incomplete_rows(runs_dir, slug=None) -> list[dict]:
    from kagglekit.jobstore import incomplete_runs

    return incomplete_runs(runs_dir, slug)


def show_incomplete(rows) -> None:
    if not rows:
        return
    click.echo("Incomplete runs (never picked as best; `kagglekit cv --resume RUN` finishes one):")
    for row in rows:
        click.echo(f"  {row['run_id']}  {row['model']}  {row['kind']}  "
                   f"{row['jobs_done']}/{row['jobs_total']} jobs done  ({row['state']})")


def clean_runs(runs_dir, slug=None, yes: bool = False) -> list[str]:
    """Remove stopped incomplete runs and stale temporary folders, after asking."""
    from kagglekit.jobstore import dead_incomplete

    found = dead_incomplete(runs_dir, slug)
    if not found:
        click.echo(f"Nothing to clean in {runs_dir}.", err=True)
        return []
    for path in found:
        click.echo(f"  {path}", err=True)
    if not yes and not click.confirm(f"Remove these {len(found)} folder(s)?", err=True):
        click.echo("Nothing removed.", err=True)
        return []
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    click.echo(f"Removed {len(found)} folder(s).", err=True)
    return [str(p) for p in found]
