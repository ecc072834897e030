"""The run directory: immutable, written atomically, enough to score, blend, submit or redo.

    runs/<slug>/<run-id>/
      run.json               what was run: competition, model(s), params, seed, folds,
                             scores, per-fold scores, threshold, data dir, versions
      folds.csv              id,fold                    (cv runs)
      oof.csv                id,<target columns>        (cv runs: out-of-fold probabilities)
      test_predictions.csv   id,<target columns>        (mean over fold models)
      test_folds.npy         (n_folds, n_test, n_targets) per-fold test probabilities
      models/fold-<k>/       each fold's saved model; models/full/ for fit runs

A run is built in a hidden temporary directory and renamed into place only when
complete, so an interrupted or failed run leaves no run folder behind (a CV or fit run's
completed jobs are kept for resuming it: jobstore.py). The temporary directory records
its owner process, so that a dead process's one is recognised as stale.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
import re
import shutil
import socket
import uuid
from pathlib import Path

import numpy as np

from kagglekit import __version__
from kagglekit.errors import RunError
from kagglekit.params import params_to_dict

RUN_FILE = "run.json"


def new_run_id(model: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "-", model)[:40]
    return f"{stamp}-{safe}-{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def creating_run(runs_dir: Path, slug: str, run_id: str):
    """Yield a temporary directory; on success rename it to runs/<slug>/<run-id>."""
    parent = Path(runs_dir) / slug
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".tmp-{run_id}"
    tmp.mkdir()
    owner = tmp / ".owner.json"  # who builds it: a dead owner's folder is stale (jobstore.py)
    owner.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "start": _process_start(os.getpid())}))
    try:
        yield tmp
        if not (tmp / RUN_FILE).is_file():
            raise RunError(f"internal error: run {run_id} has no {RUN_FILE}")
        owner.unlink()
        final = parent / run_id
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _process_start(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def predictions_frame(ids, preds: np.ndarray, columns, id_column: str = "id"):
    import pandas as pd

    preds = np.asarray(preds)
    if preds.ndim == 1:
        preds = preds[:, None]
    frame = pd.DataFrame(preds, columns=list(columns))
    frame.insert(0, id_column, ids)
    return frame


def hash_array(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        h.update(str(a.shape).encode())
        h.update(("\x1f".join(map(str, a.ravel().tolist()))).encode())
    return h.hexdigest()[:16]


class Run:
    """A finished run directory (read-only)."""

    def __init__(self, path: Path):
        self.path = Path(path).resolve()
        file = self.path / RUN_FILE
        if not file.is_file():
            raise RunError(f"{self.path} is not a kagglekit run (no {RUN_FILE})")
        try:
            self.info = json.loads(file.read_text())
        except json.JSONDecodeError as exc:
            raise RunError(f"{file}: damaged ({exc}); remove the run directory") from None

    def __repr__(self):
        return f"Run({str(self.path)!r})"

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return self.info["kind"]

    @property
    def competition(self) -> str:
        return self.info["competition"]

    @property
    def model(self) -> str:
        return self.info["model"]

    @property
    def scores(self) -> dict:
        return self.info.get("scores", {})

    @property
    def threshold(self) -> float:
        return float(self.info.get("threshold", 0.5))

    @property
    def target_columns(self) -> list[str]:
        return self.info["target_columns"]

    def _read(self, name: str):
        import pandas as pd

        path = self.path / name
        if not path.is_file():
            raise RunError(f"run {self.id} has no {name} (a {self.kind} run)")
        return pd.read_csv(path, dtype={self.info.get("id_column") or "id": str})

    def folds(self):
        return self._read("folds.csv")

    def oof(self):
        return self._read("oof.csv")

    def test_predictions(self):
        return self._read("test_predictions.csv")

    def summary(self) -> dict:
        return {"run_id": self.id, "run_dir": str(self.path), "kind": self.kind,
                "competition": self.competition, "model": self.model,
                "scores": self.scores, "threshold": self.info.get("threshold"),
                "created": self.info.get("created"), "sample": self.info.get("sample", False),
                "held_out": self.info.get("held_out", self.kind != "fit")}


def list_runs(runs_dir: Path, competition: str | None = None) -> list[Run]:
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    out = []
    for slug_dir in sorted(runs_dir.iterdir()):
        if not slug_dir.is_dir() or slug_dir.name.startswith((".", "_")):
            continue
        if competition and slug_dir.name != competition:
            continue
        for run_dir in sorted(slug_dir.iterdir()):
            if run_dir.is_dir() and not run_dir.name.startswith(".") and (run_dir / RUN_FILE).is_file():
                out.append(Run(run_dir))
    return out


def resolve_run(ref: str, runs_dir: Path) -> Run:
    """A run from a path, a run id, or a unique prefix of a run id."""
    path = Path(ref)
    if (path / RUN_FILE).is_file():
        return Run(path)
    matches = [r for r in list_runs(runs_dir) if r.id == ref] or [
        r for r in list_runs(runs_dir) if r.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise RunError(f"run {ref!r} is ambiguous: {', '.join(r.id for r in matches[:5])}; "
                       f"give more of the id")
    raise RunError(f"no run {ref!r} in {runs_dir} (`kagglekit runs` lists them; "
                   f"pass a run directory or --runs-dir)")


# -- the run record (run.json) ------------------------------------------------------------------
def environment() -> dict:
    return {"kagglekit": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "argv": sys.argv[1:]}


def base_record(kind: str, comp: Competition, model: str, params, seed: int, data: Dataset) -> dict:
    return {
        "kind": kind, "competition": comp.slug, "model": model,
        "params": params_to_dict(params) if params is not None else {}, "seed": seed,
        "task": comp.task, "id_column": comp.id_column or "id",
        "target_columns": list(comp.target_columns), "metric": comp.metric,
        "data_dir": str(Path(data.directory).resolve()), "sample": data.sample,
        "prepared_text": comp.prepare_text is not None,
        "n_train": len(data.train), "n_test": 0 if data.test is None else len(data.test),
        "competition_params": (params_to_dict(data.competition_params)
                               if data.competition_params is not None else {}),
        "notes": list(data.notes),
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "environment": environment(),
    }
