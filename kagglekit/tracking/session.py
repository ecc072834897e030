"""What a tracked kagglekit run logs, the same for every tracker, and the failure rule.

    params     competition, kind, model, seed, folds, fold scheme, metric, data
               fingerprint, folds hash, the model's params (``params.<name>``), a blend's
               method and members
    curves     ``fold-<k>/epoch/<figure>`` (loss, lr, the monitored score, seconds) per
               epoch of each neural fold, step ``fold-<k>/epoch`` (``full`` for a fit;
               ``-seed-<s>`` added with several seeds): live from the training loop when the
               fold trains in this process, else from the run's record once it is saved
    summary    ``fold-<k>/<metric>`` per-fold scores; ``scores/<metric>`` (the OOF scores at
               the threshold chosen on all OOF rows: optimistic for thresholded metrics)
               beside ``nested_scores/<metric>`` (each fold at a threshold chosen on the
               other folds); ``held_out`` (1 or 0, also a tag with the reasons), the
               threshold, ``wall_seconds`` (the command's clock) and ``job_seconds``
    artifact   ``run-files``: run.json, folds.csv, oof.csv; ``models`` (the fold models)
               only with ``log_models``

A tracker that fails (no network, a bad key, a server that is down) gives ONE warning
(``TrackerWarning``: its type and first line, credentials scrubbed) for the whole
command and is not called again; the kagglekit run is complete and saved either way.
Each tracker call runs with Python-level stdout/stderr and logging captured, so the
service's own chatter (and anything it might echo) stays out of the terminal.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

from kagglekit.store.folder import DEFAULT_ROOT, RunsFolder
from kagglekit.tracking.base import TrackerWarning, one_line, scrub
from kagglekit.tracking.live import listening

LIGHT_FILES = ("run.json", "folds.csv", "oof.csv")


@contextlib.contextmanager
def captured():
    """Python-level stdout, stderr and logging (below CRITICAL) captured for the block."""
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


class Tracking:
    """A command's tracker: its name (None: no tracking), options and failure state.
    ``run(...)`` tracks one kagglekit run; the same object serves every run the command
    makes, so one failure stops all of them with one warning."""

    def __init__(
        self,
        tracker_cls,
        runs_dir: RunsFolder | Path = DEFAULT_ROOT,
        *,
        log_models: bool = False,
        uri: str | None = None,
        project: str | None = None,
    ):
        self.tracker_cls = tracker_cls
        self.runs_dir = RunsFolder.of(runs_dir).root
        self.log_models = log_models
        self.uri, self.project = uri, project
        self.failed = False
        self.locations: list[str] = []  # where each tracked run went (for the CLI to say)

    @property
    def enabled(self) -> bool:
        return self.tracker_cls is not None and not self.failed

    @property
    def name(self) -> str:
        return getattr(self.tracker_cls, "name", "none")

    def run(
        self, competition: str | None = None, model: str | None = None, *, seeds=None
    ) -> TrackedRun:
        """A context tracking one run: ``with tracking.run(slug, model) as t: run = ...;
        t.log_run(run)``. ``competition`` and ``model`` name the tracker's run before the
        kagglekit run exists (live curves); ``seeds``: the run seeds, when several."""
        return TrackedRun(self, competition, model, seeds)

    def fail(self, exc: BaseException, doing: str) -> None:
        if self.failed:
            return
        self.failed = True
        warnings.warn(
            f"tracker {self.name} failed {doing} ({one_line(exc)}); the run is "
            f"complete and saved, but not tracked",
            TrackerWarning,
            stacklevel=3,
        )


class TrackedRun:
    """One kagglekit run tracked from its first job to its saved record (see the module)."""

    def __init__(self, tracking: Tracking, competition, model, seeds):
        self.tracking = tracking
        self.competition, self.model = competition, model
        self.several = len(list(seeds or ())) > 1
        self.tracker: Any = None  # the ExperimentTracker, once the first job opens it
        self.started = time.perf_counter()  # reset by __enter__
        self.job = None  # the job training in this process now (its label)
        self.live: set[str] = set()  # labels whose epochs were logged live
        self.done = False
        self._listen: contextlib.AbstractContextManager | None = None

    # -- the context: the clock and the live listener --------------------------------------
    def __enter__(self) -> TrackedRun:
        self.started = time.perf_counter()
        if self.tracking.enabled:
            self._listen = listening(self.on_epoch)
            self._listen.__enter__()
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if self._listen is not None:
            self._listen.__exit__(None, None, None)
            self._listen = None
        if self.tracker is not None and not self.done:  # the kagglekit run did not complete
            self._call("finishing", self.tracker.finish, True)
            self.done = True

    def watch(self, on_event=None):
        """``on_event`` for run_cv / run_fit: it learns which job trains now (for the live
        curves) and passes every event on."""

        def event(ev):
            if ev.kind == "start" and ev.job is not None:
                self.job = ev.job
            elif ev.kind == "done":
                self.job = None
            if on_event is not None:
                on_event(ev)

        return event

    # -- logging ------------------------------------------------------------------------------
    def _call(self, doing: str, fn, *args) -> bool:
        if self.tracking.failed:
            return False
        try:
            with captured():
                fn(*args)
            return True
        except Exception as exc:  # noqa: BLE001 - any service failure: the run goes on untracked
            self.tracking.fail(exc, doing)
            if self.tracker is not None and fn != self.tracker.finish:
                with contextlib.suppress(Exception), captured():
                    self.tracker.finish(True)
            self.done = True
            return False

    def _open(self, competition: str, name: str, tags: dict) -> bool:
        if self.tracker is not None:
            return not self.tracking.failed
        if not self.tracking.enabled:
            return False
        t = self.tracking
        self.tracker = t.tracker_cls(t.runs_dir, uri=t.uri, project=t.project)
        return self._call("starting", self.tracker.start, competition, name, tags)

    def label(self, fold: int, seed=None) -> str:
        where = "full" if fold < 0 else f"fold-{fold}"
        return f"{where}-seed-{seed}" if self.several and seed is not None else where

    def on_epoch(self, entry: dict) -> None:
        """One epoch of the job training now (called by the training loop's EpochLog)."""
        if self.job is None or not self.tracking.enabled or not self.competition:
            return
        if not self._open(
            self.competition, self.model or self.job.model, {"kagglekit.model": self.job.model}
        ):
            return
        label = self.label(self.job.fold, self.job.run_seed)
        self.live.add(label)
        self._epoch(label, entry)

    def _epoch(self, label: str, entry: dict) -> None:
        step_key = f"{label}/epoch"
        figures = {
            f"{step_key}/{k}": float(v)
            for k, v in entry.items()
            if k != "epoch" and isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        self._call(
            "logging an epoch",
            self.tracker.log_metrics,
            figures,
            int(entry.get("epoch", 0)),
            step_key,
        )

    def log_run(self, run, data=None) -> None:
        """Log a saved run (see the module) and close the tracker's run. ``data``: the
        loaded dataset, for its fingerprint when the record holds none."""
        if self.done or not self.tracking.enabled:
            return
        info = run.info
        tags = {
            "kagglekit.run_id": run.id,
            "kagglekit.kind": run.kind,
            "kagglekit.model": run.model,
            "kagglekit.run_dir": str(run.path),
            "kagglekit.held_out": str(bool(info.get("held_out", run.kind != "fit"))).lower(),
        }
        why = info.get("not_held_out_because")
        if why:
            tags["kagglekit.not_held_out_because"] = "; ".join(why)
        if not self._open(run.competition, run.id, tags):
            return
        steps: list[tuple[Any, ...]] = [
            ("params", self.tracker.log_params, run_params(run, data)),
            ("tags", self.tracker.set_tags, tags),
        ]
        for label, history in epoch_histories(run, self.several):
            if label not in self.live:
                steps += [("epochs", self._replay, label, history)]
        summary = run_summary(run)
        summary["wall_seconds"] = round(time.perf_counter() - self.started, 3)
        steps.append(("summary", self.tracker.log_summary, summary))
        files = [run.path / f for f in LIGHT_FILES if (run.path / f).is_file()]
        steps.append(("files", self.tracker.log_files, files, "run-files"))
        if self.tracking.log_models and (run.path / "models").is_dir():
            steps.append(("models", self.tracker.log_files, [run.path / "models"], "models"))
        for doing, fn, *args in steps:
            if not self._call(f"logging {doing}", fn, *args):
                return
        if self._call("finishing", self.tracker.finish, False):
            where = getattr(self.tracker, "where", lambda: None)()
            if where:
                self.tracking.locations.append(scrub(where))
        self.done = True

    def _replay(self, label: str, history: list) -> None:
        for entry in history:
            self._epoch(label, entry)


def _flat(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def run_params(run, data=None) -> dict:
    """The tracker's params of a run: settings, data identity and hyperparameters."""
    info = run.info
    out = {"competition": run.competition, "kind": run.kind, "model": run.model}
    for key in (
        "seed",
        "seeds",
        "n_folds",
        "cv_scheme",
        "metric",
        "task",
        "sample",
        "n_train",
        "n_test",
        "data_fingerprint",
        "folds_hash",
        "method",
        "from_run",
        "threshold_source",
    ):
        if info.get(key) is not None:
            out[key] = _flat(info[key])
    if "data_fingerprint" not in out and data is not None:
        from kagglekit.jobs import data_fingerprint

        out["data_fingerprint"] = data_fingerprint(data)
    members = info.get("member_runs") or info.get("members")
    if members:  # run ids: member_runs rows, or the members' folders
        out["members"] = ",".join(
            m.get("run_id") or Path(str(m.get("path"))).name
            if isinstance(m, dict)
            else Path(str(m)).name
            for m in members
        )
    for key, value in (info.get("params") or {}).items():
        out[f"params.{key}"] = _flat(value)
    for key, value in (info.get("competition_params") or {}).items():
        out[f"competition_params.{key}"] = _flat(value)
    return out


def _numbers(prefix: str, values) -> dict:
    return {
        f"{prefix}{k}": float(v)
        for k, v in (values or {}).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def run_summary(run) -> dict:
    """Final figures: OOF scores (optimistic and nested), per-fold scores, held out."""
    info = run.info
    out = {
        **_numbers("scores/", info.get("scores")),
        **_numbers("nested_scores/", info.get("nested_scores")),
        **_numbers("fold_spread/", info.get("fold_spread")),
        "held_out": float(bool(info.get("held_out", run.kind != "fit"))),
    }
    for row in info.get("fold_scores") or []:
        fold = row.get("fold")
        out.update(
            _numbers(
                f"fold-{fold}/",
                {k: v for k, v in row.items() if k not in ("fold", "n_train", "n_valid")},
            )
        )
    for key in ("threshold", "n_scored"):
        if isinstance(info.get(key), (int, float)) and not isinstance(info.get(key), bool):
            out[key] = float(info[key])
    if isinstance(info.get("seconds"), (int, float)):
        out["job_seconds"] = float(info["seconds"])
    return out


def epoch_histories(run, several: bool | None = None):
    """(label, per-epoch entries) of each neural fold in a run's record."""
    info = run.info
    several = len(info.get("seeds") or []) > 1 if several is None else several

    def label(fold, seed):
        where = "full" if fold < 0 else f"fold-{fold}"
        return f"{where}-seed-{seed}" if several and seed is not None else where

    for row in info.get("fold_scores") or []:
        if row.get("seeds"):
            for s in row["seeds"]:
                history = (s.get("fit_info") or {}).get("history")
                if history:
                    yield label(row["fold"], s.get("seed")), history
        elif (row.get("fit_info") or {}).get("history"):
            yield label(row["fold"], None), row["fit_info"]["history"]
    if (info.get("fit_info") or {}).get("history"):
        yield label(-1, None), info["fit_info"]["history"]
    for s in info.get("seed_fits") or []:
        if (s.get("fit_info") or {}).get("history"):
            yield label(-1, s.get("seed")), s["fit_info"]["history"]
