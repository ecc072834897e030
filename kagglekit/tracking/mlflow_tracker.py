"""MLflow through the ``mlflow`` package (``pip install "kagglekit[mlflow]"``: mlflow-skinny
with SQLAlchemy and Alembic for the SQLite store; the full ``mlflow`` package works too).

The tracking URI is ``MLFLOW_TRACKING_URI``, else ``tracking_uri`` of the config, else a
SQLite database beside the runs (``sqlite:///<runs>/mlflow.db``: a real database, read by
``mlflow ui --backend-store-uri sqlite:///<runs>/mlflow.db``); any URI MLflow takes works
(``http://host:5000``, ``postgresql://...``, ``databricks``). The experiment is
``MLFLOW_EXPERIMENT_NAME``, else ``tracking_project``, else the competition's slug; a new
experiment on a SQLite (or file) store keeps its artifacts beside the database
(``mlartifacts/``), never in the working directory. A server that is down is given few,
short retries (``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` 2, ``..._BACKOFF_FACTOR`` 1,
``..._TIMEOUT`` 20 s unless set), so it costs seconds, not minutes.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from kagglekit.store.folder import MLFLOW_ARTIFACTS, RunsFolder
from kagglekit.tracking.base import ExperimentTracker

HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}
BATCH = 100  # MLflow's log_batch takes at most 100 params (and 1000 metrics) per call
KEY = re.compile(r"[^\w\-. /]")  # the characters MLflow allows in a key


def default_uri(runs_dir: RunsFolder | Path) -> str:
    """``sqlite:///`` the runs folder's MLflow database (``RunsFolder.mlflow_store``)."""
    return f"sqlite:///{RunsFolder.of(runs_dir).mlflow_store().resolve()}"


def key(name: str) -> str:
    return KEY.sub("_", str(name))[:250]


class MlflowTracker(ExperimentTracker):
    name = "mlflow"
    module = "mlflow"
    extra = "mlflow"

    client: Any = None  # the MlflowClient, from start on
    run_id: str | None = None

    def tracking_uri(self) -> str:
        return os.environ.get("MLFLOW_TRACKING_URI") or self.uri or default_uri(self.folder)

    def start(self, experiment: str, name: str, tags: dict) -> None:
        for variable, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(variable, value)
        from mlflow import MlflowClient

        uri = self.tracking_uri()
        artifacts = None
        if uri.startswith("sqlite:///"):
            database = Path(uri.removeprefix("sqlite:///"))
            if uri == default_uri(self.folder):
                database.parent.mkdir(parents=True, exist_ok=True)
                artifacts = self.folder.mlflow_artifacts().resolve().as_uri()
            else:  # a database of its own: the artifacts beside it, as beside the default one
                artifacts = (database.parent / MLFLOW_ARTIFACTS).resolve().as_uri()
        self.uri_used = uri
        self.client = MlflowClient(tracking_uri=uri)
        name_ = os.environ.get("MLFLOW_EXPERIMENT_NAME") or self.project or experiment
        found = self.client.get_experiment_by_name(name_)
        if found is None:
            try:
                experiment_id = self.client.create_experiment(
                    name_, artifact_location=f"{artifacts}/{key(name_)}" if artifacts else None
                )
            except Exception:  # another process created it meanwhile
                found = self.client.get_experiment_by_name(name_)
                if found is None:
                    raise
                experiment_id = found.experiment_id
        else:
            experiment_id = found.experiment_id
        run = self.client.create_run(
            experiment_id, run_name=name, tags={key(k): str(v) for k, v in tags.items()}
        )
        self.run_id = run.info.run_id

    def _batch(self, metrics=(), params=(), tags=()) -> None:
        metrics, params, tags = list(metrics), list(params), list(tags)
        for i in range(0, max(len(metrics), len(params), len(tags)), BATCH):
            self.client.log_batch(
                self.run_id,
                metrics=metrics[i : i + BATCH],
                params=params[i : i + BATCH],
                tags=tags[i : i + BATCH],
            )

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        self._batch(params=[Param(key(k), str(v)[:6000]) for k, v in params.items()])

    def _metrics(self, values: dict, step: int) -> list:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        return [Metric(key(k), float(v), now, int(step)) for k, v in values.items()]

    def log_metrics(self, metrics: dict, step: int, step_key: str) -> None:
        self._batch(metrics=self._metrics(metrics, step))

    def log_summary(self, values: dict) -> None:
        self._batch(metrics=self._metrics(values, 0))

    def set_tags(self, tags: dict) -> None:
        from mlflow.entities import RunTag

        self._batch(tags=[RunTag(key(k), str(v)[:5000]) for k, v in tags.items()])

    def log_files(self, paths: list, name: str) -> None:
        for path in paths:
            path = Path(path)
            if path.is_dir():
                self.client.log_artifacts(self.run_id, str(path), f"{name}/{path.name}")
            else:
                self.client.log_artifact(self.run_id, str(path), name)

    def finish(self, failed: bool = False) -> None:
        if self.run_id is not None:
            run_id, self.run_id = self.run_id, None
            self._where = f"MLflow run {run_id} in {self.uri_used}"
            self.client.set_terminated(run_id, "FAILED" if failed else "FINISHED")

    _where: str | None = None
    uri_used: str | None = None

    def where(self) -> str | None:
        return self._where
