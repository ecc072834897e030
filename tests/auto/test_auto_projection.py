"""How many of a model's jobs auto expects to run at once: what its executor really does,
so that a projection from fold 1 is neither divided by cores nobody uses nor too slow."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from kagglekit.auto.screening import parallel_jobs, projected_cv
from kagglekit.executors.auto import MIN_ROWS, Auto
from kagglekit.executors.base import InProcess
from kagglekit.executors.local import LocalWorkers

pytest.importorskip("optuna")


class CPUModel:
    pass


def ctx(executor, n_rows: int, n_folds: int = 5):
    folds = np.arange(n_rows) % n_folds
    return SimpleNamespace(executor=executor, plan=SimpleNamespace(folds=folds))


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr("kagglekit.executors.local.available_cores", lambda: [0, 1, 2, 3])


def test_in_process_runs_one_job_at_a_time(four_cores):
    assert parallel_jobs(ctx(InProcess(), 50_000), CPUModel, 4) == 1
    assert parallel_jobs(ctx(None, 50_000), CPUModel, 4) == 1


def test_auto_stays_in_process_below_its_row_threshold(four_cores):
    # 5 folds: fold 1 trains on 4/5 of the rows
    small = int(MIN_ROWS * 5 / 4) - 5
    big = int(MIN_ROWS * 5 / 4) + 5
    assert parallel_jobs(ctx(Auto(), small), CPUModel, 4) == 1
    assert parallel_jobs(ctx(Auto(), big), CPUModel, 4) == 4
    assert parallel_jobs(ctx(Auto(), big), CPUModel, 2) == 2  # never more than the jobs


def test_workers_cap_the_jobs_at_once(four_cores):
    assert parallel_jobs(ctx(LocalWorkers(workers=2), 50_000), CPUModel, 4) == 2
    assert parallel_jobs(ctx(LocalWorkers(workers=8), 50_000), CPUModel, 4) == 4  # cores
    assert parallel_jobs(ctx(Auto(workers=3), 50_000), CPUModel, 4) == 3
    # a small sample on explicit workers still runs in parallel
    assert parallel_jobs(ctx(LocalWorkers(workers=2), 100), CPUModel, 4) == 2


def test_the_projection_is_not_divided_for_an_in_process_run(four_cores):
    screened = {"seconds": 10.0, "jobs": 5}
    assert projected_cv(screened, parallel_jobs(ctx(Auto(), 200), CPUModel, 4)) == 40.0
    assert projected_cv(screened, parallel_jobs(ctx(Auto(), 50_000), CPUModel, 4)) == 10.0
