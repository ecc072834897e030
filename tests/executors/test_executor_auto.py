"""``--executor auto``, the default: local workers for CPU-bound models when the machine has
cores and memory to spare, else in-process; the choice and its reason are said."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from kagglekit.executors.auto import MIN_ROWS, WORKER_BASE, Auto, job_memory
from kagglekit.executors.base import InProcess
from kagglekit.executors.local import LocalWorkers, available_cores

GIB = 2**30


def ctx(n_rows=10_000, chars=50, needs_gpu=False, per_char=100, base=None, model=None):
    model = model or type("M", (), {"memory_per_char": per_char, "memory_base": base})
    return SimpleNamespace(train=_Frame(n_rows, chars), model_cls=model, needs_gpu=needs_gpu)


class _Frame:
    """n texts of ``chars`` characters each (a fraction: the total is n * chars, rounded)."""

    def __init__(self, n, chars):
        total, each = round(n * chars), int(chars)
        self.text = np.array(
            ["x" * each] * (n - 1) + ["x" * (total - each * (n - 1))], dtype=object
        )

    def __len__(self):
        return len(self.text)


JOBS = list(range(5))


def test_job_memory_is_the_models_bytes_per_character_of_training_text():
    assert job_memory(ctx(n_rows=1000, chars=50, per_char=100)) == 100 * 50_000 + WORKER_BASE
    default = job_memory(ctx(n_rows=1000, chars=50, per_char=None))
    assert default > job_memory(ctx(n_rows=1000, chars=50, per_char=100))
    # plus the model's fixed part, when it has one
    with_base = job_memory(ctx(n_rows=1000, chars=50, per_char=100, base=2**20))
    assert with_base == 100 * 50_000 + 2**20 + WORKER_BASE


# a fold's working memory measured on the Quora stand-ins (benchmarks/RESULTS_scale.md):
# (training rows, characters of prepared text, bytes); at full size, each of the two
# workers' share of the defaults' peak (13.1 GB tfidf-lr, 16.4 GB nbsvm) beyond the
# parent's loaded data (1.05 GB) and a worker's base
MEASURED = {
    "tfidf-lr": [(130_612, 9_500_000, 0.91e9), (1_306_122, 94_874_560, 5.85e9)],
    "nbsvm": [(130_612, 9_500_000, 1.13e9), (1_306_122, 94_874_560, 7.5e9)],
}


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_the_estimate_covers_what_was_measured_and_lets_two_full_size_folds_run(name):
    from kagglekit import plugins

    cls = plugins.get_model(name)
    for rows, chars, measured in MEASURED[name]:
        need = job_memory(ctx(rows, chars / rows, model=cls)) - WORKER_BASE
        # at least what was measured, and not twice it (which kept full-size folds in-process)
        assert measured <= need < 1.5 * measured, (rows, need, measured)
    # the full Quora files on this project's 24 GiB machine (about 21 GiB available once the
    # data is loaded): two workers
    rows, chars, _ = MEASURED[name][-1]
    runner, _why = Auto().choose(
        ctx(n_rows=rows, chars=chars / rows, model=cls), JOBS, cores=[0, 1], memory=21 * GIB
    )
    assert isinstance(runner, LocalWorkers) and runner.n_workers == 2


@pytest.mark.parametrize(
    "kwargs, jobs, cores, memory, why",
    [
        ({}, JOBS[:1], [0, 1], 20 * GIB, "one job"),
        ({"needs_gpu": True}, JOBS, [0, 1], 20 * GIB, "accelerator"),
        ({}, JOBS, [0], 20 * GIB, "one CPU core"),
        ({"n_rows": MIN_ROWS - 1}, JOBS, [0, 1], 20 * GIB, f"{MIN_ROWS - 1:,} training rows"),
        # 10,000 rows x 50 chars x 10 kB per char = 5 GB per job: one fits in 8 GiB
        ({"per_char": 10_000}, JOBS, [0, 1], 8 * GIB, "memory: 8.0 GiB available, about 4.8 GiB"),
        ({"workers": 1}, JOBS, [0, 1], None, "--workers 1"),
    ],
)
def test_auto_stays_in_process_when_workers_would_not_pay_or_fit(kwargs, jobs, cores, memory, why):
    workers = kwargs.pop("workers", None)
    runner, reason = Auto(workers=workers).choose(ctx(**kwargs), jobs, cores=cores, memory=memory)
    assert isinstance(runner, InProcess) and why in reason


def test_auto_takes_a_worker_per_core_bounded_by_jobs_memory_and_workers():
    runner, reason = Auto().choose(ctx(), JOBS, cores=[0, 1, 2, 3], memory=20 * GIB)
    assert isinstance(runner, LocalWorkers) and runner.n_workers == 4
    assert reason.startswith("4 cores, 20.0 GiB available")
    assert Auto().choose(ctx(), JOBS[:3], cores=list(range(8)), memory=20 * GIB)[0].n_workers == 3
    assert (
        Auto(workers=2).choose(ctx(), JOBS, cores=list(range(8)), memory=20 * GIB)[0].n_workers == 2
    )
    # 10,000 x 50 x 2,000 B = 1 GB (+ base) per job: 85% of 3 GiB holds two
    assert (
        Auto().choose(ctx(per_char=2_000), JOBS, cores=list(range(8)), memory=3 * GIB)[0].n_workers
        == 2
    )


def test_the_tfidf_models_declare_their_memory_and_are_cpu_bound():
    from kagglekit import plugins
    from kagglekit.jobs import needs_accelerator

    for name in ("tfidf-nb", "tfidf-lr", "nbsvm"):
        cls = plugins.get_model(name)
        assert cls.memory_per_char > 0 and not needs_accelerator(cls)


@pytest.mark.skipif(len(available_cores()) < 2, reason="needs two CPU cores")
def test_cv_uses_workers_by_default_and_says_so_with_the_same_oof(cli, tmp_path):
    from support import make_competition_dir

    data = make_competition_dir(
        "disaster-tweets", tmp_path / "data", n_train=MIN_ROWS + 500, n_test=200
    )
    auto = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--data-dir",
        data,
        "--runs-dir",
        tmp_path / "a",
        "--json",
    )
    assert "executor auto: local (2 workers) (" in auto.stderr
    assert "on worker local-1" in auto.stderr
    plain = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--data-dir",
        data,
        "--runs-dir",
        tmp_path / "b",
        "--executor",
        "in-process",
        "--json",
    )
    assert "executor auto" not in plain.stderr and "on worker main" in plain.stderr
    a, b = (Path(json.loads(r.stdout)["run_dir"]) for r in (auto, plain))
    assert (a / "oof.csv").read_bytes() == (b / "oof.csv").read_bytes()
    assert (a / "test_predictions.csv").read_bytes() == (b / "test_predictions.csv").read_bytes()


def test_small_data_stays_in_process_by_default_and_says_why(cli, tweets_dir):
    result = cli(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", tweets_dir
    )
    assert (
        "executor auto: in-process (" in result.stderr and "workers would not pay" in result.stderr
    )
    assert "on worker main" in result.stderr
