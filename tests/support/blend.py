"""Helpers for the blend tests: synthetic members whose right answer is known, and fake
run directories (exactly the files a cv run writes) holding them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SLUG = "nlp-getting-started"  # Disaster Tweets: binary, F1 (+ accuracy, auc), label submission


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def labels_and_folds(n: int = 1000, k: int = 5, rate: float = 0.4, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    folds = rng.permutation(np.arange(n) % k)
    return y, folds


def informative(y, strength: float = 1.2, noise: float = 1.2, seed: int = 1):
    """Probabilities that carry the label plus independent noise."""
    rng = np.random.default_rng(seed)
    return sigmoid(strength * (2 * np.asarray(y) - 1) + rng.normal(0, noise, len(y)))


def as_saved(p):
    """Values as a run's CSV files keep them (7 significant digits)."""
    return np.array([float(f"{v:.7g}") for v in np.asarray(p, dtype=float)])


def useless(n: int, seed: int = 2):
    return np.random.default_rng(seed).random(n)


def write_tweets_data(directory: Path, ids, y, test_ids) -> Path:
    """train.csv / test.csv / sample_submission.csv in Disaster Tweets' schema."""
    import pandas as pd

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "id": ids,
            "keyword": "",
            "location": "",
            "text": [f"tweet {i}" for i in ids],
            "target": np.asarray(y).reshape(-1),
        }
    ).to_csv(directory / "train.csv", index=False)
    pd.DataFrame(
        {"id": test_ids, "keyword": "", "location": "", "text": [f"tweet {i}" for i in test_ids]}
    ).to_csv(directory / "test.csv", index=False)
    pd.DataFrame({"id": test_ids, "target": 0}).to_csv(
        directory / "sample_submission.csv", index=False
    )
    return directory


def write_run(
    runs_dir: Path,
    run_id: str,
    *,
    ids,
    folds,
    oof,
    data_dir: Path,
    test_ids=None,
    test=None,
    kind: str = "cv",
    competition: str = SLUG,
    threshold: float = 0.5,
    columns=("target",),
    scores=None,
    model: str = "fake",
) -> Path:
    """A run directory as run_cv writes it (no saved models)."""
    import pandas as pd

    path = Path(runs_dir) / competition / run_id
    path.mkdir(parents=True)
    columns = list(columns)
    if kind == "cv":
        oof = np.asarray(oof, dtype=float).reshape(len(ids), -1)
        pd.DataFrame({"id": ids, "fold": folds}).to_csv(path / "folds.csv", index=False)
        frame = pd.DataFrame(oof, columns=columns)
        frame.insert(0, "id", ids)
        frame.to_csv(path / "oof.csv", index=False, float_format="%.7g")
    if test is not None:
        frame = pd.DataFrame(
            np.asarray(test, dtype=float).reshape(len(test_ids), -1), columns=columns
        )
        frame.insert(0, "id", test_ids)
        frame.to_csv(path / "test_predictions.csv", index=False, float_format="%.7g")
    info = {
        "kind": kind,
        "competition": competition,
        "model": model,
        "params": {},
        "seed": 42,
        "task": "binary",
        "id_column": "id",
        "target_columns": columns,
        "metric": "f1",
        "data_dir": str(Path(data_dir).resolve()),
        "sample": False,
        "prepared_text": True,
        "n_train": len(ids),
        "n_test": 0 if test_ids is None else len(test_ids),
        "threshold": threshold,
        "scores": scores or {},
        "n_folds": int(np.max(folds)) + 1,
        "cv_scheme": "stratified",
        "folds_hash": "fake",
    }
    (path / "run.json").write_text(json.dumps(info))
    return path


class FakeCompetition:
    """Members A, B, ... on one competition's rows and folds, written as runs."""

    def __init__(self, root: Path, n: int = 600, n_test: int = 50, seed: int = 0):
        self.root = Path(root)
        self.y, self.folds = labels_and_folds(n, seed=seed)
        rng = np.random.default_rng(seed + 100)
        self.ids = np.sort(rng.choice(np.arange(1, 10 * n), n, replace=False))
        self.test_ids = np.arange(10 * n, 10 * n + n_test)
        self.runs_dir = self.root / "runs"
        self.data_dir = write_tweets_data(
            self.root / "data" / SLUG, self.ids, self.y, self.test_ids
        )
        self._count = 0

    def run(self, oof, test=None, **kwargs) -> Path:
        from kagglekit.store.run import Run

        self._count += 1
        if test is None and kwargs.get("kind", "cv") == "cv":
            test = np.clip(np.random.default_rng(self._count).random(len(self.test_ids)), 0, 1)
        kwargs.setdefault("folds", self.folds)
        kwargs.setdefault("test_ids", self.test_ids)
        run_id = kwargs.pop("run_id", f"20250101-000000-m{self._count}-{self._count:06x}")
        return Run(
            write_run(
                self.runs_dir,
                run_id,
                ids=kwargs.pop("ids", self.ids),
                oof=oof,
                test=test,
                data_dir=kwargs.pop("data_dir", self.data_dir),
                **kwargs,
            )
        )
