"""How many of a model's jobs auto expects to run at once: what its executor really does,
so that a projection from fold 1 is neither divided by cores nobody uses nor too slow."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kagglekit.auto.screening import parallel_jobs, projected_cv
from kagglekit.executors.auto import MIN_ROWS, Auto
from kagglekit.executors.base import InProcess
from kagglekit.executors.local import LocalWorkers
from kagglekit.executors.ray_executor import RayTasks


class CPUModel:
    wants_accelerator = False


class GPUModel:
    wants_accelerator = True


class Rows:
    """Training rows as the executors see them: a length and texts."""

    def __init__(self, text):
        self.text = text

    def __len__(self):
        return len(self.text)


def ctx(executor, n_rows: int, chars: int = 40):
    rows = Rows(["x" * chars] * n_rows)
    return SimpleNamespace(executor=executor, data=SimpleNamespace(train=rows))


@pytest.fixture
def four_cores(monkeypatch):
    cores = lambda: [0, 1, 2, 3]  # noqa: E731
    monkeypatch.setattr("kagglekit.executors.local.available_cores", cores)
    monkeypatch.setattr("kagglekit.executors.auto.available_cores", cores)
    monkeypatch.setattr("kagglekit.executors.auto.available_memory", lambda: 64 * 2**30)


def test_in_process_runs_one_job_at_a_time(four_cores):
    assert parallel_jobs(ctx(InProcess(), 50_000), CPUModel, 4) == 1
    assert parallel_jobs(ctx(None, 50_000), CPUModel, 4) == 1


def test_auto_is_asked_for_its_own_choice(four_cores, monkeypatch):
    # its row threshold is on every training row, as Auto.choose counts them
    assert parallel_jobs(ctx(Auto(), MIN_ROWS - 1), CPUModel, 4) == 1
    assert parallel_jobs(ctx(Auto(), MIN_ROWS), CPUModel, 4) == 4
    assert parallel_jobs(ctx(Auto(), MIN_ROWS), CPUModel, 2) == 2  # never more than the jobs
    assert parallel_jobs(ctx(Auto(workers=3), 50_000), CPUModel, 4) == 3
    assert parallel_jobs(ctx(Auto(), 50_000), GPUModel, 4) == 1  # accelerator: in-process
    # too little memory for two workers: auto runs in-process, and so does the projection
    monkeypatch.setattr("kagglekit.executors.auto.available_memory", lambda: 300 * 2**20)
    assert parallel_jobs(ctx(Auto(), 50_000), CPUModel, 4) == 1


def test_local_workers_as_many_as_they_start(four_cores, monkeypatch):
    assert parallel_jobs(ctx(LocalWorkers(workers=2), 50_000), CPUModel, 4) == 2
    assert parallel_jobs(ctx(LocalWorkers(workers=2), 100), CPUModel, 4) == 2  # small: still
    assert parallel_jobs(ctx(LocalWorkers(), 50_000), CPUModel, 3) == 3  # a core each
    monkeypatch.setattr("kagglekit.executors.local.visible_gpus", lambda: [0])
    assert parallel_jobs(ctx(LocalWorkers(), 50_000), GPUModel, 4) == 1  # one per GPU


def test_ray_before_it_runs(four_cores):
    assert parallel_jobs(ctx(RayTasks(workers=3), 50_000), CPUModel, 4) == 3
    # a cluster not reached yet: at least this machine's cores, whatever --workers says
    assert parallel_jobs(ctx(RayTasks(workers=2, address="ray://x:1"), 50_000), CPUModel, 8) == 4


def test_the_projection_is_not_divided_for_an_in_process_run(four_cores):
    screened = {"seconds": 10.0, "jobs": 5}
    assert projected_cv(screened, parallel_jobs(ctx(Auto(), 200), CPUModel, 4)) == 40.0
    assert projected_cv(screened, parallel_jobs(ctx(Auto(), 50_000), CPUModel, 4)) == 10.0
