"""What the commands share: option decorators and the values they become.

    @json_option, @runs_dir_option, @data_options, @training_options, @new_option
    @job_options      --executor, --workers, --address, --seeds, --resume (cv, fit)
    data_options_from(...) / load_data(...)   the data options -> a loaded, validated dataset
    resolve_seeds, make_executor              option values -> the library's arguments
    resume_params / storable_params / command_line   --resume: a run's stored command
    interrupts()      Ctrl-C -> what was kept + how to resume on stderr, exit status 130
    @tracking_options --tracker, --log-models (cv, fit, blend); tracking_from(...) -> Tracking

Every command module registers its commands through ``register_commands`` like any
plugin, and stays thin over the library (sqlite-utils style).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path

import click

from kagglekit.cli.output import info
from kagglekit.errors import KaggleKitError
from kagglekit.store.folder import DEFAULT_ROOT, RunsFolder


def json_option(f):
    return click.option(
        "--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout."
    )(f)


def runs_dir_option(f):
    return click.option(
        "--runs-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=DEFAULT_ROOT,
        show_default=True,
        help="Where runs are kept.",
    )(f)


def data_options(f):
    """--data-dir, --sample, --encoding, --allow-empty-text, --no-prepare."""
    options = [
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            help="Folder with the competition files (or a data root holding <slug>/).",
        ),
        click.option(
            "--sample",
            is_flag=True,
            help="Use a small generated sample in the competition's exact schema.",
        ),
        click.option(
            "--encoding", default="utf-8", show_default=True, help="Encoding of the CSV files."
        ),
        click.option(
            "--allow-empty-text",
            is_flag=True,
            help="Treat NaN/empty texts as empty strings instead of refusing them.",
        ),
        click.option(
            "--prepare/--no-prepare",
            default=True,
            show_default=True,
            help="Apply the competition's text preparation (URLs, HTML, ...).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def training_options(f):
    options = [
        click.option(
            "--model",
            "-m",
            "models",
            multiple=True,
            help="Model name (repeatable); `kagglekit models` lists them.",
        ),
        click.option(
            "--param",
            "-p",
            "params",
            multiple=True,
            metavar="KEY=VALUE",
            help="Hyperparameter (repeatable); MODEL.KEY=VALUE for one model only.",
        ),
        click.option(
            "--params-file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="A JSON object of hyperparameters, each as -p KEY=VALUE (what a W&B sweep "
            "agent writes for ${args_json_file}); -p wins over it.",
        ),
        click.option(
            "--config",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="TOML file: model, folds, seed and a [params] table.",
        ),
        click.option(
            "--seed",
            type=int,
            multiple=True,
            help="Random seed [default: 42]; repeat it to average several seeds.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def with_params_file(params, path) -> tuple:
    """-p items with a --params-file's JSON object before them (so that -p wins)."""
    if path is None:
        return tuple(params or ())
    import json

    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KaggleKitError(f"{path}: not a JSON object of hyperparameters ({exc})") from None
    if not isinstance(values, dict):
        raise KaggleKitError(
            f'{path}: expected a JSON object {{"C": 4, ...}}, got {type(values).__name__}'
        )

    def text(value) -> str:
        if isinstance(value, dict) and set(value) == {"value"}:  # W&B's {"value": v} form
            value = value["value"]
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ",".join(text(v) for v in value)
        return str(value)

    return (*(f"{k}={text(v)}" for k, v in values.items()), *(params or ()))


def new_option(f):
    return click.option(
        "--new",
        is_flag=True,
        help="Compute a new run even when a finished run of the same jobs (data, folds, "
        "model, params, seeds) exists; without it that run is reused.",
    )(f)


def tracking_options(f):
    """--tracker, --log-models: every command that makes a run (kagglekit.tracking)."""
    options = [
        click.option(
            "--tracker",
            metavar="NAME",
            default=None,
            help="Also log each run to an experiment tracker: wandb, mlflow, or one a "
            "plugin registers; none for none [default: $KAGGLEKIT_TRACKER, else "
            "`tracker` in --config, else none].",
        ),
        click.option(
            "--log-models/--no-log-models",
            default=None,
            help="With --tracker: upload the fold models too [default: `log_models` "
            "in --config, else no].",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def tracking_from(tracker, log_models, config: dict, runs_dir):
    """The command's Tracking (inert without a tracker); a tracker that is not installed is
    refused here, before any training, with its pip line."""
    from kagglekit.tracking import open_tracking

    return open_tracking(tracker, runs_dir=runs_dir, log_models=log_models, config=config)


def said_tracked(tracking) -> None:
    """Where the tracked runs went (a W&B offline folder to sync, an MLflow run), once."""
    for where in tracking.locations:
        info(f"Tracked: {where}")
    tracking.locations.clear()


def job_options(f):
    """--executor, --workers, --address, --seeds, --resume."""
    options = [
        click.option(
            "--executor",
            default="auto",
            show_default=True,
            help="Who runs the (model, fold, seed) jobs: auto (local workers for "
            "CPU-bound models when cores and memory allow, else in-process), "
            "in-process, local, ray, or a plugin's (`kagglekit plugins`).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="--executor local: worker processes [default: one per GPU, else per "
            "CPU core]; auto: at most N; --executor ray: CPUs of the local Ray "
            "instance.",
        ),
        click.option(
            "--address",
            metavar="ADDR",
            default=None,
            help="--executor ray: the Ray cluster to use [default: start a local one].",
        ),
        click.option(
            "--seeds",
            "n_seeds",
            type=click.IntRange(min=1),
            default=None,
            help="Run every fold under N seeds (SEED, SEED+1, ...) and average them.",
        ),
        click.option(
            "--resume",
            metavar="RUN",
            default=None,
            help="Finish an interrupted run (`kagglekit runs` lists incomplete ones); "
            "re-running the same command does the same.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


# ------------------------------------------------------------- data


def data_options_from(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir, **more):
    from kagglekit.data import DataOptions

    return DataOptions(
        data_dir=data_dir,
        sample=sample,
        sample_root=RunsFolder(runs_dir).samples,
        encoding=encoding,
        allow_empty_text=allow_empty_text,
        prepare=prepare,
        **more,
    )


def load_data(comp, options, need_test=True):
    from kagglekit.cli.output import status
    from kagglekit.data import load_dataset
    from kagglekit.pseudo import is_pseudo_dir, load_pseudo_dataset

    load = load_pseudo_dataset if is_pseudo_dir(options.data_dir) else load_dataset
    # a spinner on a terminal; in a log file one line, only when it took a while
    with status(f"Reading and validating the {comp.slug} files", min_seconds=2.0):
        data = load(comp, options, need_test=need_test)
    n_pseudo = data.pseudo["n_pseudo"] if data.pseudo else 0
    extra = f" + {n_pseudo} pseudo-labelled" if n_pseudo else ""
    if data.sample:
        info(
            f"Using a generated sample of {len(data.train) - n_pseudo} training rows{extra} in "
            f"{data.directory} (not real data: pass --data-dir or run `kagglekit fetch` for "
            f"the real files)"
        )
    else:
        info(
            f"Data: {data.directory} ({len(data.train) - n_pseudo} train rows{extra}"
            f"{'' if data.test is None else f', {len(data.test)} test rows'})"
        )
    for note in data.notes:
        info(f"Note: {note}")
    return data


# ------------------------------------------------------------- runs and jobs


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

    from kagglekit.store.atomic import read_json
    from kagglekit.store.jobstore import PLAN
    from kagglekit.store.refs import find_incomplete

    overrides = {
        key: ctx.params[key]
        for key in ("executor", "workers", "address", "as_json")
        if ctx.get_parameter_source(key) == ParameterSource.COMMANDLINE
    }

    found = find_incomplete(ref, runs_dir)
    plan = read_json(Path(found["path"]) / PLAN) or {}
    stored = plan.get("command_params")
    if not stored:
        raise KaggleKitError(
            f"run {found['run_id']} did not record its command; re-run the command that started it"
        )
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
def interrupts(message: str | None = None):
    """Ctrl-C (or SIGTERM, as pre-emption sends): say what was kept and the command that
    resumes (``message``, when the command says it itself), exit status 130."""
    import signal
    import threading

    from kagglekit.jobs import RunInterrupted

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    except RunInterrupted as exc:
        click.echo(message or str(exc), err=True)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        click.echo(message or "Interrupted; no job had completed, nothing was kept.", err=True)
        raise SystemExit(130) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def forget(runs_dir, runs) -> None:
    """At the end of a command that made several runs: drop the jobs kept for resuming it."""
    if len(runs) > 1:
        from kagglekit.store.jobstore import forget_assembled

        forget_assembled(runs_dir, [r.id for r in runs])
