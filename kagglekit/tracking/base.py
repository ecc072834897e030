"""The contract of an experiment tracker, and keeping credentials out of every message.

A tracker translates a few primitives (start a run, params, metrics with or without a
step, summary values, files, finish) into one service's API; what a kagglekit run logs
is decided once, in ``session.py``, for every tracker alike. Named ``ExperimentTracker``
because ``executors.Tracker`` is the progress tracker of a run's jobs.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from kagglekit.errors import KaggleKitError, KaggleKitWarning
from kagglekit.store.folder import RunsFolder


class TrackerWarning(KaggleKitWarning):
    """A tracker failed; the run is complete and saved, only not tracked."""


class ExperimentTracker:
    """Base class of a tracker plugin (``register_trackers``: ``register(name, cls)``).

    The constructor only stores its options; ``start`` opens the service's run. Every
    method may raise: the session turns the first failure into one warning and stops
    calling the tracker, and the kagglekit run is saved either way.
    """

    name = "none"
    module: str | None = None  # the package it imports, checked (not imported) before a run
    extra: str | None = None  # the kagglekit extra that installs it

    def __init__(
        self, runs_dir: RunsFolder | Path, *, uri: str | None = None, project: str | None = None
    ):
        self.folder = RunsFolder.of(runs_dir)  # where its local files go (mlflow.db, wandb/)
        self.runs_dir = self.folder.root
        self.uri = uri
        self.project = project

    def start(self, experiment: str, name: str, tags: dict) -> None:
        """Open a run named ``name`` in ``experiment`` (the competition's slug by default)."""

    def log_params(self, params: dict) -> None:
        """Flat ``name -> str | number | bool`` hyperparameters and settings."""

    def log_metrics(self, metrics: dict, step: int, step_key: str) -> None:
        """One point of a curve per metric: ``step`` (an epoch) named ``step_key``."""

    def log_summary(self, values: dict) -> None:
        """Final figures (scores, wall time): ``name -> number``."""

    def set_tags(self, tags: dict) -> None:
        """Text labels (the run id, held out or not, ...)."""

    def log_files(self, paths: list, name: str) -> None:
        """Files and folders as one artifact called ``name``."""

    def finish(self, failed: bool = False) -> None:
        """Close the run (``failed``: the kagglekit run did not complete)."""


def check_available(cls) -> None:
    """Refuse, before any training, a tracker whose package is not installed."""
    module = getattr(cls, "module", None)
    if not module:
        return
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise KaggleKitError(
            f"--tracker {cls.name} needs the {module} package, which is not "
            f'installed: pip install "kagglekit[{cls.extra or cls.name}]"'
        )


# environment variables whose values are secrets: never shown in a message
SECRET_NAME = re.compile(r"KEY|TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|AUTH", re.IGNORECASE)
URL_USER = re.compile(r"(?<=//)[^/@\s'\"]+@")  # user:password@ (or token@) in a URL
QUERY_SECRET = re.compile(r"((?:api[_-]?key|token|password|secret|sig)=)[^&\s'\"]+", re.IGNORECASE)


def scrub(text: str, *secrets: str) -> str:
    """``text`` with credentials replaced by ``***``: the values of secret-looking
    environment variables (WANDB_API_KEY, MLFLOW_TRACKING_PASSWORD, ...), ``secrets``,
    the user and password of URLs and secret query parameters."""
    text = URL_USER.sub("***@", text)
    text = QUERY_SECRET.sub(r"\1***", text)
    # then the secrets' values, long enough not to be an ordinary word of the message (a
    # library's env var with a secret-looking name may hold "token" or "true")
    values = [v for k, v in os.environ.items() if SECRET_NAME.search(k)]
    for value in sorted({*values, *secrets}, key=len, reverse=True):
        if value and len(value) >= 8:
            text = text.replace(value, "***")
    return text


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one scrubbed line: its type and the first line of its message."""
    message = str(exc).strip().splitlines()
    first = message[0].strip() if message else ""
    line = scrub(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
    return line if len(line) <= limit else line[: limit - 3] + "..."
