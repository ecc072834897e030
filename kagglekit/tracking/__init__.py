"""Experiment tracking: each run a command makes is also logged to W&B or MLflow.

    kagglekit cv quora -m bigru --tracker wandb          (or mlflow; --log-models adds models)
    with open_tracking("mlflow", runs_dir=...).run(slug, model) as t:   (the library)
        run = run_cv(..., on_event=t.watch(on_event)); t.log_run(run, data)

Which tracker: ``--tracker`` (the option), else ``KAGGLEKIT_TRACKER``, else ``tracker`` in
the ``--config`` TOML file, else none: the usual order, the command line over the
environment over the file; ``none`` turns tracking off at any level. The config file may
also hold ``log_models = true``, ``tracking_uri`` (MLflow) and ``tracking_project`` (the
W&B project or MLflow experiment; the competition's slug by default). Credentials stay in
the services' own variables (``WANDB_API_KEY``, ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``,
...): no option takes them, and no message shows them.

Trackers are plugins (``register_trackers``: ``register(name, ExperimentTracker
subclass)``); ``wandb`` and ``mlflow`` are built in and import their package only when a
run is tracked (the optional extras ``kagglekit[wandb]``, ``kagglekit[mlflow]``). What is
logged, and the rule that a failing tracker costs one warning and never the run:
``session.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.store.folder import DEFAULT_ROOT, RunsFolder
from kagglekit.tracking.base import ExperimentTracker, TrackerWarning, check_available
from kagglekit.tracking.session import TrackedRun, Tracking

__all__ = [
    "ExperimentTracker",
    "TrackedRun",
    "Tracking",
    "TrackerWarning",
    "open_tracking",
    "tracker_name",
]

ENV = "KAGGLEKIT_TRACKER"
OFF = ("", "none", "off")


@hookimpl
def register_trackers(register):
    from kagglekit.tracking.mlflow_tracker import MlflowTracker
    from kagglekit.tracking.wandb_tracker import WandbTracker

    register("wandb", WandbTracker)
    register("mlflow", MlflowTracker)


def tracker_name(option: str | None = None, config: dict | None = None) -> str | None:
    """The tracker asked for: ``option`` > ``$KAGGLEKIT_TRACKER`` > config ``tracker``;
    None for none."""
    for value in (option, os.environ.get(ENV), (config or {}).get("tracker")):
        if value is not None:
            if not isinstance(value, str):
                raise KaggleKitError(
                    f"tracker must be a name (wandb, mlflow or none), got {value!r}"
                )
            return None if value.strip().lower() in OFF else value.strip()
    return None


def open_tracking(
    option: str | None = None,
    *,
    runs_dir: RunsFolder | Path = DEFAULT_ROOT,
    log_models: bool | None = None,
    config: dict | None = None,
) -> Tracking:
    """A command's ``Tracking``: the tracker chosen (see ``tracker_name``), checked to be
    registered and installed before any training; an inert one when none is chosen."""
    config = config or {}
    name = tracker_name(option, config)
    if log_models is None:
        log_models = bool(config.get("log_models", False))
    if name is None:
        return Tracking(None, runs_dir, log_models=log_models)
    from kagglekit import plugins

    cls = plugins.trackers().get(name)
    check_available(cls)
    return Tracking(
        cls,
        runs_dir,
        log_models=log_models,
        uri=config.get("tracking_uri"),
        project=config.get("tracking_project"),
    )
