"""The runs folder's layout, known here only: every path under the root comes from
``RunsFolder``.

    runs/                                   RunsFolder(root); DEFAULT_ROOT is ./runs
      <slug>/<run-id>/                      a finished run (store/run.py, store/record.py)
      <slug>/.tmp-<run-id>/                 a run being assembled (store/create.py)
      <slug>/.jobs-<job-set hash>/          an incomplete run's jobs (store/jobstore.py)
      <slug>/.tmp-jobs-<hash>-<token>/      a job store being created
      <slug>/.submissions.json              the account's submissions (leaderboard.py)
      _samples/<slug>/                      generated sample files (data.sample_dir)
      _kernels/<run-id>.json                the notebook pushed for a run (kaggle_client)
      _pseudo/<run-id>-<rule>/              pseudo-labels made from a run (pseudo.py)
      _studies/studies.db                   tuning studies (Optuna's SQLite storage)
      _studies/<study>/                     a study's best.toml, study.json, holdout fits
      _auto/<name>/auto.json                a `kagglekit auto` session's record (auto/)
      mlflow.db                             MLflow's default store (tracking/mlflow_tracker.py)
      mlartifacts/                          the artifacts of the runs tracked in mlflow.db
      wandb/                                W&B's run files (the root is wandb.init's dir)

Names starting with "." (temporaries, job stores, caches) or "_" (shared folders) are
never runs or competitions, nor are the trackers' folders (mlartifacts/, wandb/).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = Path("runs")
RUN_FILE = "run.json"
TMP_PREFIX = ".tmp-"
JOBS_PREFIX = ".jobs-"
SUBMISSIONS_FILE = ".submissions.json"
SAMPLES_DIR = "_samples"
KERNELS_DIR = "_kernels"
PSEUDO_DIR = "_pseudo"
STUDIES_DIR = "_studies"
AUTO_DIR = "_auto"
AUTO_FILE = "auto.json"
MLFLOW_STORE = "mlflow.db"
MLFLOW_ARTIFACTS = "mlartifacts"  # beside MLflow's SQLite database, wherever that is
WANDB_DIR = "wandb"  # what W&B makes in the folder it is given


def hidden(name: str) -> bool:
    """A folder name that is no run or competition: a temporary, a job store, a cache, one
    of the shared folders, or a tracker's."""
    return name.startswith((".", "_")) or name in (MLFLOW_ARTIFACTS, WANDB_DIR)


@dataclass(frozen=True)
class RunsFolder:
    """The runs folder at ``root`` (``--runs-dir``) and every path under it."""

    root: Path = DEFAULT_ROOT

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def of(cls, value: RunsFolder | Path | str | None) -> RunsFolder:
        """``value`` as a RunsFolder: a RunsFolder as it is, a path as its root, None as
        the default root."""
        if isinstance(value, RunsFolder):
            return value
        return cls(DEFAULT_ROOT if value is None else Path(value))

    @classmethod
    def of_run(cls, run_dir) -> RunsFolder:
        """The runs folder a run folder (``<root>/<slug>/<run-id>``) lies in."""
        return cls(Path(run_dir).parent.parent)

    def __str__(self) -> str:
        return str(self.root)

    # -- runs ----------------------------------------------------------------------------------
    def competition(self, slug: str) -> Path:
        """``<root>/<slug>``: a competition's runs, job stores and temporaries."""
        return self.root / slug

    def run_dir(self, slug: str, run_id: str) -> Path:
        return self.root / slug / run_id

    def run_temp(self, slug: str, run_id: str) -> Path:
        """Where a run is assembled before its one rename to ``run_dir``."""
        return self.root / slug / f"{TMP_PREFIX}{run_id}"

    def competitions(self) -> list[Path]:
        """The competition folders (sorted), shared and hidden folders left out."""
        if not self.root.is_dir():
            return []
        return [p for p in sorted(self.root.iterdir()) if p.is_dir() and not hidden(p.name)]

    def run_dirs(self, slug: str | None = None) -> list[Path]:
        """Every folder holding a run.json, by competition then run id (oldest first)."""
        out = []
        for slug_dir in self.competitions():
            if slug and slug_dir.name != slug:
                continue
            out += [
                p
                for p in sorted(slug_dir.iterdir())
                if p.is_dir() and not p.name.startswith(".") and (p / RUN_FILE).is_file()
            ]
        return out

    def run_names(self) -> list[str]:
        """The names of the folders in the competition folders, run.json or not (what a
        shortened run id must stay unique among)."""
        return [
            p.name
            for slug_dir in self.competitions()
            for p in slug_dir.iterdir()
            if p.is_dir() and not p.name.startswith(".")
        ]

    # -- temporaries and incomplete runs -------------------------------------------------------
    def temporaries(self, slug: str) -> list[Path]:
        """A competition's ``.tmp-*`` entries (runs and job stores being made)."""
        return sorted(self.competition(slug).glob(f"{TMP_PREFIX}*"))

    def job_store(self, slug: str, jobset: str) -> Path:
        return self.root / slug / f"{JOBS_PREFIX}{jobset}"

    def job_store_temp(self, slug: str, jobset: str) -> Path:
        return self.root / slug / f"{TMP_PREFIX}jobs-{jobset}-{uuid.uuid4().hex[:6]}"

    def job_stores(self, slug: str | None = None) -> list[Path]:
        """Every ``.jobs-*`` folder (of ``slug``), sorted by competition then name."""
        return [
            p
            for slug_dir in self.competitions()
            if not slug or slug_dir.name == slug
            for p in sorted(slug_dir.glob(f"{JOBS_PREFIX}*"))
        ]

    # -- what lives beside the runs ------------------------------------------------------------
    @property
    def samples(self) -> Path:
        """Where generated sample files are made (``--sample``)."""
        return self.root / SAMPLES_DIR

    def submissions(self, slug: str) -> Path:
        """The cached list of the account's submissions to ``slug``."""
        return self.root / slug / SUBMISSIONS_FILE

    def kernel_record(self, run_id: str) -> Path:
        """What ``package --push`` pushed for a run."""
        return self.root / KERNELS_DIR / f"{run_id}.json"

    def pseudo_labels(self, name: str) -> Path:
        """Where ``kagglekit pseudo-label`` writes by default."""
        return self.root / PSEUDO_DIR / name

    @property
    def studies(self) -> Path:
        """Where tuning studies are kept."""
        return self.root / STUDIES_DIR

    def study_storage(self) -> Path:
        """The default Optuna storage of ``kagglekit tune``: one SQLite file for all studies."""
        return self.studies / "studies.db"

    def study_dir(self, name: str) -> Path:
        """A study's own files: best.toml, study.json, holdout/ (the holdout fits)."""
        return self.studies / name

    @property
    def autos(self) -> Path:
        """Where ``kagglekit auto`` keeps its sessions' records."""
        return self.root / AUTO_DIR

    def auto_record(self, name: str) -> Path:
        """An auto session's record (auto.json): what it planned, ran, dropped and chose."""
        return self.autos / name / AUTO_FILE

    # -- experiment tracking (tracking/) -------------------------------------------------------
    def mlflow_store(self) -> Path:
        """MLflow's default SQLite database (``sqlite:///<root>/mlflow.db``)."""
        return self.root / MLFLOW_STORE

    def mlflow_artifacts(self) -> Path:
        """Where MLflow keeps the artifacts of the runs tracked in ``mlflow_store()``."""
        return self.root / MLFLOW_ARTIFACTS

    def wandb_dir(self) -> Path:
        """What W&B is given as its ``dir`` (``$WANDB_DIR`` overrides it): the root itself,
        under which W&B writes its ``wandb/`` folder."""
        return self.root
