"""A finished run folder, read back and checked.

    <root>/<slug>/<run-id>/
      run.json               what was run: competition, model(s), params, seed, folds,
                             scores, per-fold scores, threshold, data dir, versions
      folds.csv              id,fold                    (cv runs)
      oof.csv                id,<target columns>        (cv runs: out-of-fold probabilities)
      test_predictions.csv   id,<target columns>        (mean over fold models)
      test_folds.npy         (n_folds, n_test, n_targets) per-fold test probabilities
      models/fold-<k>/       each fold's saved model; models/full/ for fit runs

run.json's format: ``"format": FORMAT`` (1) in every record written now (store/record.py).
A run.json without ``format`` is format 0, the records written before it had a number:
read exactly as before. A run.json of a newer format than this code knows is refused in
one line naming the run and saying to upgrade kagglekit (a RunError: exit status 2).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kagglekit.errors import RECREATE_RUN, KaggleKitWarning, RunError, show
from kagglekit.store.folder import RUN_FILE, RunsFolder

if TYPE_CHECKING:
    import pandas as pd

FORMAT = 1  # the newest run.json format this code reads (and the one it writes)
# what every run.json holds, whatever made it: key -> type
RECORD_KEYS: dict[str, type] = {"kind": str, "competition": str, "model": str}
# keys that must have this type when present (readers that need them say so when absent)
TYPED_KEYS: dict[str, type | tuple[type, ...]] = {
    "target_columns": list,
    "data_dir": str,
    "scores": dict,
    "n_folds": int,
    "fold_scores": list,
    "threshold": (int, float),
}
RECREATE = RECREATE_RUN  # (errors.py: one sentence for every damaged-run check)


class DamagedRunWarning(KaggleKitWarning):
    """A run folder was skipped because its run.json cannot be read."""


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
    def folder(self) -> RunsFolder:
        """The runs folder this run lies in."""
        return RunsFolder.of_run(self.path)

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
    def held_out(self) -> bool:
        """Whether the run's scores are held out; a record that does not say is held out
        unless it is a fit (trained on every row)."""
        return self.info.get("held_out", self.kind != "fit")

    @property
    def threshold(self) -> float:
        value = self.info.get("threshold", 0.5)
        if value is None:
            raise RunError(
                f"run {self.id} has no decision threshold: it is a fit made without a CV run "
                f"of the same recipe; run `kagglekit cv {self.competition} --model {self.model}` "
                f"(same -p options), then `kagglekit fit ... --from RUN`, or fit with --threshold"
            )
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
            return (
                f"run {self.id} is a fit run (trained on every row), so it has no {name}; "
                f"only cv and blend runs have out-of-fold predictions"
            )
        if name == "test_predictions.csv" and self.info.get("n_test") == 0:
            return (
                f"run {self.id} predicted no test rows (its data had no test file), so it "
                f"has no {name}"
            )
        return f"{path}: missing; {RECREATE}"

    def folds(self):
        return self._read("folds.csv")

    def oof(self):
        return check_predictions(
            self._read("oof.csv"),
            self.path / "oof.csv",
            self.info.get("id_column") or "id",
            self.target_columns,
        )

    def test_predictions(self):
        """test_predictions.csv, checked: one probability per id and target, as many rows as
        the run predicted (``n_test`` in run.json)."""
        path = self.path / "test_predictions.csv"
        frame = check_predictions(
            self._read("test_predictions.csv"),
            path,
            self.info.get("id_column") or "id",
            self.target_columns,
        )
        expected = self.info.get("n_test")
        if isinstance(expected, int) and not isinstance(expected, bool) and len(frame) != expected:
            raise RunError(
                f"{path}: has {len(frame)} rows, but run {self.id} predicted "
                f"{expected} test rows; the file is damaged: {RECREATE}"
            )
        return frame

    def summary(self) -> dict:
        return {
            "run_id": self.id,
            "run_dir": str(self.path),
            "kind": self.kind,
            "competition": self.competition,
            "model": self.model,
            "scores": self.scores,
            "nested_scores": self.info.get("nested_scores"),
            "threshold": self.info.get("threshold"),
            "created": self.info.get("created"),
            "sample": self.info.get("sample", False),
            "held_out": self.held_out,
        }


def check_format(info: dict, file: Path) -> None:
    """Refuse a run.json of a newer format than FORMAT (see the module docstring)."""
    value = info.get("format", 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RunError(f"{file}: not a run record ('format' is {show(value)}); {RECREATE}")
    if value > FORMAT:
        raise RunError(
            f"run {file.parent.name}: its run.json is in format {value}, newer than "
            f"this kagglekit reads (format {FORMAT}); upgrade kagglekit "
            f"(pip install -U kagglekit) to read it"
        )


def check_record(info, file: Path) -> None:
    """run.json must be an object with the keys every run has, in a format this code reads;
    else a RunError naming it."""
    if not isinstance(info, dict):
        raise RunError(
            f"{file}: not a run record (a JSON {type(info).__name__}, not an object); {RECREATE}"
        )
    check_format(info, file)
    for key, kind in RECORD_KEYS.items():
        if not isinstance(info.get(key), kind):
            what = "missing" if key not in info else f"not a {kind.__name__}"
            raise RunError(f"{file}: not a run record ({key!r} is {what}); {RECREATE}")
    for key, kinds in TYPED_KEYS.items():
        if (
            key in info
            and info[key] is not None
            and (not isinstance(info[key], kinds) or isinstance(info[key], bool))
        ):
            raise RunError(f"{file}: not a run record ({key!r} has the wrong type); {RECREATE}")


def check_predictions(frame, path: Path, id_column: str, columns) -> pd.DataFrame:
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
        raise RunError(
            f"{path}: id {show(ids.iloc[row])} appears more than once (row {row + 1}); {RECREATE}"
        )
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0) | (values > 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise RunError(
                f"{path}: column {show(column)} has {show(frame[column].iloc[row])} in "
                f"row {row + 1} (id {show(ids.iloc[row])}); predictions must be "
                f"probabilities in [0, 1]: {RECREATE}"
            )
    return frame


def list_runs(runs_dir, competition: str | None = None) -> list[Run]:
    """Every readable run in a runs folder (a RunsFolder or its root); a damaged one is
    skipped with a DamagedRunWarning."""
    out = []
    for run_dir in RunsFolder.of(runs_dir).run_dirs(competition):
        try:
            out.append(Run(run_dir))
        except RunError as exc:
            warnings.warn(f"skipping {run_dir}: {exc}", DamagedRunWarning, stacklevel=2)
    return out
