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
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kagglekit import __version__
from kagglekit.errors import KaggleKitError, KaggleKitWarning, RunError, os_error_line, show
from kagglekit.params import params_to_dict

if TYPE_CHECKING:
    from kagglekit.competition import Competition
    from kagglekit.data import Dataset

RUN_FILE = "run.json"
# what every run.json holds, whatever made it: key -> type
RECORD_KEYS = {"kind": str, "competition": str, "model": str}
# keys that must have this type when present (readers that need them say so when absent)
TYPED_KEYS = {"target_columns": list, "data_dir": str, "scores": dict, "n_folds": int,
              "fold_scores": list, "threshold": (int, float)}
RECREATE = "re-create it with the same `kagglekit cv ...` (or fit/blend) command, or remove it"


class DamagedRunWarning(KaggleKitWarning):
    """A run folder was skipped because its run.json cannot be read."""


def new_run_id(model: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "-", model)[:40]
    return f"{stamp}-{safe}-{uuid.uuid4().hex[:6]}"


def missing_ancestors(path: Path) -> list[Path]:
    """``path`` and its parents that do not exist yet, deepest first."""
    out = []
    while not path.exists() and not path.is_symlink() and path != path.parent:
        out.append(path)
        path = path.parent
    return out


def remove_empty(dirs: list[Path]) -> None:
    for d in dirs:  # deepest first
        try:
            d.rmdir()
        except OSError:
            return


@contextlib.contextmanager
def creating_run(runs_dir: Path, slug: str, run_id: str):
    """Yield a temporary directory; on success rename it to runs/<slug>/<run-id>.

    On any failure the temporary directory is removed, and so are the folders made for it
    (runs/, runs/<slug>/) when they are left empty: the runs folder is as it was. An OS
    error (disk full, read-only, file too large, ...) becomes one line naming the run.
    """
    parent = Path(runs_dir) / slug
    created = missing_ancestors(parent)
    tmp = parent / f".tmp-{run_id}"
    owner = tmp / ".owner.json"  # who builds it: a dead owner's folder is stale (jobstore.py)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        owner.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "start": _process_start(os.getpid())}))
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise KaggleKitError(os_error_line(exc, parent)) from None
    try:
        yield tmp
        if not (tmp / RUN_FILE).is_file():
            raise RunError(f"internal error: run {run_id} has no {RUN_FILE}")
        owner.unlink()
        final = parent / run_id
        os.rename(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise KaggleKitError(os_error_line(exc, parent / run_id, "writing the run; nothing "
                                                                 "was kept")) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise


def _process_start(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file and a rename; an OS error becomes one line naming
    ``path``, and neither ``path`` nor the folders made for it are left behind."""
    path = Path(path)
    created = missing_ancestors(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise KaggleKitError(os_error_line(exc, path, "writing it")) from None
    finally:
        if tmp.exists():
            tmp.unlink()
        if not path.exists():
            remove_empty(created)


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
            self.info = json.loads(file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunError(f"{file}: damaged ({type(exc).__name__}: {exc}); {RECREATE}") from None
        check_record(self.info, file)

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
        value = self.info.get("threshold", 0.5)
        if value is None:
            raise RunError(
                f"run {self.id} has no decision threshold: it is a fit made without a CV run "
                f"of the same recipe; run `kagglekit cv {self.competition} --model {self.model}` "
                f"(same -p options), then `kagglekit fit ... --from RUN`, or fit with --threshold")
        return float(value)

    @property
    def data_dir(self) -> Path:
        """The folder of the competition files the run was made on."""
        if not self.info.get("data_dir"):
            raise RunError(f"{self.path / RUN_FILE}: no 'data_dir'; {RECREATE}")
        return Path(self.info["data_dir"])

    @property
    def target_columns(self) -> list[str]:
        if not self.info.get("target_columns"):
            raise RunError(f"{self.path / RUN_FILE}: no 'target_columns'; {RECREATE}")
        return self.info["target_columns"]

    def _read(self, name: str):
        import pandas as pd

        path = self.path / name
        if not path.is_file():
            raise RunError(self._missing(name, path))
        try:
            return pd.read_csv(path, dtype={self.info.get("id_column") or "id": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise RunError(f"{path}: damaged ({type(exc).__name__}); {RECREATE}") from None

    def _missing(self, name: str, path: Path) -> str:  # the kind never has it, or damaged
        if name in ("oof.csv", "folds.csv") and self.kind == "fit":
            return (f"run {self.id} is a fit run (trained on every row), so it has no {name}; "
                    f"only cv and blend runs have out-of-fold predictions")
        if name == "test_predictions.csv" and self.info.get("n_test") == 0:
            return (f"run {self.id} predicted no test rows (its data had no test file), so it "
                    f"has no {name}")
        return f"{path}: missing; {RECREATE}"

    def folds(self):
        return self._read("folds.csv")

    def oof(self):
        return check_predictions(self._read("oof.csv"), self.path / "oof.csv",
                                 self.info.get("id_column") or "id", self.target_columns)

    def test_predictions(self):
        """test_predictions.csv, checked: one probability per id and target, as many rows as
        the run predicted (``n_test`` in run.json)."""
        path = self.path / "test_predictions.csv"
        frame = check_predictions(self._read("test_predictions.csv"), path,
                                  self.info.get("id_column") or "id", self.target_columns)
        expected = self.info.get("n_test")
        if isinstance(expected, int) and not isinstance(expected, bool) and len(frame) != expected:
            raise RunError(f"{path}: has {len(frame)} rows, but run {self.id} predicted "
                           f"{expected} test rows; the file is damaged: {RECREATE}")
        return frame

    def summary(self) -> dict:
        return {"run_id": self.id, "run_dir": str(self.path), "kind": self.kind,
                "competition": self.competition, "model": self.model,
                "scores": self.scores, "nested_scores": self.info.get("nested_scores"),
                "threshold": self.info.get("threshold"),
                "created": self.info.get("created"), "sample": self.info.get("sample", False),
                "held_out": self.info.get("held_out", self.kind != "fit")}


def check_record(info, file: Path) -> None:
    """run.json must be an object with the keys every run has; else a RunError naming it."""
    if not isinstance(info, dict):
        raise RunError(f"{file}: not a run record (a JSON {type(info).__name__}, not an "
                       f"object); {RECREATE}")
    for key, kind in RECORD_KEYS.items():
        if not isinstance(info.get(key), kind):
            what = "missing" if key not in info else f"not a {kind.__name__}"
            raise RunError(f"{file}: not a run record ({key!r} is {what}); {RECREATE}")
    for key, kind in TYPED_KEYS.items():
        if key in info and info[key] is not None and (
                not isinstance(info[key], kind) or isinstance(info[key], bool)):
            raise RunError(f"{file}: not a run record ({key!r} has the wrong type); {RECREATE}")


def check_predictions(frame, path: Path, id_column: str, columns) -> "object":
    """Predictions must be one finite probability in [0, 1] per id and column, ids unique
    and present: checked before anything (submission, blend, score) is derived from them."""
    import pandas as pd

    for column in [id_column, *columns]:
        if column not in frame.columns:
            raise RunError(f"{path}: missing column {show(column)}; {RECREATE}")
    ids = frame[id_column]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise RunError(f"{path}: row {row + 1} has no id; {RECREATE}")
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise RunError(f"{path}: id {show(ids.iloc[row])} appears more than once (row {row + 1}); "
                       f"{RECREATE}")
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0) | (values > 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RunError(f"{path}: column {show(column)} has {show(frame[column].iloc[row])} in "
                           f"row {row + 1} (id {show(ids.iloc[row])}); predictions must be "
                           f"probabilities in [0, 1]: {RECREATE}")
    return frame


def list_runs(runs_dir: Path, competition: str | None = None) -> list[Run]:
    """Every readable run under runs_dir; a damaged one is skipped with a DamagedRunWarning."""
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
                try:
                    out.append(Run(run_dir))
                except RunError as exc:
                    warnings.warn(f"skipping {run_dir}: {exc}", DamagedRunWarning, stacklevel=2)
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
    if path.is_dir() or len(path.parts) > 1:  # a path, not a run id
        why = f"not a run folder (no {RUN_FILE})" if path.is_dir() else "no such run folder"
        raise RunError(f"{path}: {why}; pass a run directory, a run id or --runs-dir")
    raise RunError(f"no run {ref!r} in {runs_dir} (`kagglekit runs` lists them; "
                   f"pass a run directory or --runs-dir)")


# -- the run record (run.json) ------------------------------------------------------------------
def environment() -> dict:
    return {"kagglekit": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "argv": sys.argv[1:]}


def record(kind: str, comp: "Competition", model: str, params: dict, seed: int, *,
           data_dir, sample: bool, prepared_text: bool, text_columns, encoding: str = "utf-8",
           allow_empty_text: bool = False, n_train: int, n_test: int,
           competition_params: dict | None = None, notes=(), id_column: str | None = None,
           **more) -> dict:
    """The one builder of run.json's common part (cv, fit and blend runs); ``more`` adds the
    kind's own keys (scores, folds, members, ...)."""
    return {
        "kind": kind, "competition": comp.slug, "model": model, "params": dict(params),
        "seed": seed, "task": comp.task, "id_column": id_column or comp.id_column or "id",
        "target_columns": list(comp.target_columns), "metric": comp.metric,
        "data_dir": str(Path(data_dir).resolve()), "sample": bool(sample),
        # what shaped the texts, as it was done (predict and submit replay exactly this)
        "prepared_text": bool(prepared_text), "text_columns": list(text_columns or ()),
        "encoding": encoding, "allow_empty_text": bool(allow_empty_text),
        "n_train": int(n_train), "n_test": int(n_test),
        "competition_params": dict(competition_params or {}), "notes": list(notes),
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "environment": environment(), **more,
    }


def base_record(kind: str, comp: Competition, model: str, params, seed: int, data: Dataset) -> dict:
    """``record`` for a run trained on a loaded dataset (cv and fit)."""
    return record(
        kind, comp, model, params_to_dict(params) if params is not None else {}, seed,
        data_dir=data.directory, sample=data.sample,
        prepared_text=data.competition.prepare_text is not None,
        text_columns=data.competition.text_columns, encoding=data.encoding,
        allow_empty_text=data.allow_empty_text, n_train=len(data.train),
        n_test=0 if data.test is None else len(data.test),
        competition_params=(params_to_dict(data.competition_params)
                            if data.competition_params is not None else {}),
        notes=data.notes, **({"pseudo": data.pseudo} if data.pseudo else {}))


def best_run(competition, runs_dir, *, need_test: bool = True):
    """The CV (or blend) run with the best held-out OOF score on the competition's metric
    (the nested figure for thresholded metrics); with ``need_test`` only runs that have
    test predictions (what ``submit`` needs)."""
    from kagglekit import plugins
    from kagglekit.metrics import ranking_score

    slug = plugins.get_competition(competition).slug if competition else None
    everything = [r for r in list_runs(runs_dir, slug) if r.scores]
    found = [r for r in everything
             if not need_test or (r.path / "test_predictions.csv").is_file()]
    real = [r for r in found if not r.info.get("sample")]
    found = real or found  # a run on a generated sample only when there is nothing else
    held_out = [r for r in found if r.info.get("held_out", True)]
    found = held_out or found  # a score that is not held out cannot win against one that is
    if not slug:
        slugs = sorted({r.competition for r in found})
        if len(slugs) > 1:
            raise KaggleKitError(f"runs of several competitions in {runs_dir} "
                                 f"({', '.join(slugs)}); pass RUN or --competition")
    if not found:
        where = f" for {slug}" if slug else ""
        if everything:
            raise KaggleKitError(f"no scored run{where} in {runs_dir} has test predictions "
                                 f"(was the test file missing?); pass a RUN or fetch the "
                                 f"competition's test file and run `kagglekit cv` again")
        raise KaggleKitError(f"no scored run{where} in {runs_dir}; run `kagglekit cv` first "
                             f"or pass a RUN")
    comp = plugins.get_competition(found[0].competition)
    metric = plugins.get_metric(comp.metric)
    sign = 1 if metric.greater_is_better else -1

    def key(run):
        value = ranking_score(run.info, comp.metric)
        return float("-inf") if value is None else sign * value

    return max(found, key=key)
