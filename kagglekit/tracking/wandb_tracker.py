"""Weights & Biases through the ``wandb`` package (``pip install "kagglekit[wandb]"``).

One W&B run per kagglekit run, in the project ``WANDB_PROJECT`` (else ``tracking_project``
of the config, else the competition's slug), written under ``WANDB_DIR`` (else the runs
folder: ``<runs>/wandb/``). Offline: ``WANDB_MODE=offline`` writes the run to disk only;
``wandb sync <runs>/wandb/offline-run-*`` uploads it later. Each fold's per-epoch curves
have their own step (``fold-<k>/epoch``, declared with ``define_metric``), since W&B's
global step only grows. ``WANDB_INIT_TIMEOUT`` (default here 30 s) bounds how long an
unreachable server can hold the start of a run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from kagglekit.tracking.base import ExperimentTracker


def artifact_name(text: str) -> str:
    """W&B artifact names: letters, digits, dashes, underscores and dots."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:128]


class WandbTracker(ExperimentTracker):
    name = "wandb"
    module = "wandb"
    extra = "wandb"

    run: Any = None  # the wandb Run, from start to finish
    _steps: set = set()

    def start(self, experiment: str, name: str, tags: dict) -> None:
        import wandb

        directory = Path(os.environ.get("WANDB_DIR") or self.folder.wandb_dir())
        directory.mkdir(parents=True, exist_ok=True)
        timeout = float(os.environ.get("WANDB_INIT_TIMEOUT") or 30)
        self._steps = set()
        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or self.project or experiment,
            name=name,
            dir=str(directory),
            config={},
            tags=[v for v in (tags.get("kagglekit.kind"), tags.get("kagglekit.model")) if v],
            settings=wandb.Settings(silent=True, console="off", init_timeout=timeout),
        )
        self.set_tags(tags)

    def log_params(self, params: dict) -> None:
        self.run.config.update(params, allow_val_change=True)

    def log_metrics(self, metrics: dict, step: int, step_key: str) -> None:
        if step_key not in self._steps:
            self.run.define_metric(step_key, hidden=True)
            self.run.define_metric(f"{step_key}/*", step_metric=step_key)
            self._steps.add(step_key)
        self.run.log({step_key: step, **metrics})

    def log_summary(self, values: dict) -> None:
        self.run.summary.update(values)

    def set_tags(self, tags: dict) -> None:
        if tags.get("kagglekit.run_id"):
            self.run.name = tags["kagglekit.run_id"]
        held = tags.get("kagglekit.held_out")
        if held is not None:
            label = "held-out" if held == "true" else "not-held-out"
            self.run.tags = tuple(
                t for t in self.run.tags if t not in ("held-out", "not-held-out")
            ) + (label,)
        self.run.config.update(tags, allow_val_change=True)

    def log_files(self, paths: list, name: str) -> None:
        import wandb

        artifact = wandb.Artifact(
            artifact_name(f"{self.run.name}-{name}"),
            type="kagglekit-models" if name == "models" else "kagglekit-run",
        )
        for path in paths:
            path = Path(path)
            if path.is_dir():
                artifact.add_dir(str(path), name=path.name)
            else:
                artifact.add_file(str(path), name=path.name)
        self.run.log_artifact(artifact)

    def finish(self, failed: bool = False) -> None:
        if self.run is not None:
            run, self.run = self.run, None
            self._where = self._location(run)
            run.finish(exit_code=1 if failed else 0)

    _where: str | None = None

    def _location(self, run) -> str | None:
        directory = getattr(getattr(run, "settings", None), "sync_dir", None)
        if getattr(getattr(run, "settings", None), "mode", None) in ("offline", "dryrun"):
            return f"W&B offline run {directory}; upload it with `wandb sync {directory}`"
        url = getattr(run, "url", None)
        return f"W&B run {url}" if url else None

    def where(self) -> str | None:
        return self._where
