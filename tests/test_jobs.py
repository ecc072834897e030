"""Runs as (model, fold, seed) jobs: kill -9 / Ctrl-C / a dying worker, then resume to the
byte-identical result of an uninterrupted run; no completed job runs twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from support import default_sigint, make_competition_dir, one_ray_at_a_time
from support import jobs as gated

SLUG = "nlp-getting-started"
HELPER = Path(gated.__file__)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Generated files, read-only, shared by the module's tests (a run depends on their
    contents, not on where they are)."""
    root = tmp_path_factory.mktemp("jobs")
    return root, make_competition_dir("disaster-tweets", root / "data", n_train=240, n_test=60)


@pytest.fixture
def tweets(shared):
    return shared[1]


def cv_args(data, runs, *extra):
    return [
        "cv",
        "disaster-tweets",
        "--model",
        "gated",
        "--folds",
        "3",
        "--seed",
        "7",
        "--data-dir",
        str(data),
        "--runs-dir",
        str(runs),
        *extra,
    ]


def start(args, tmp_path, **env):
    full = {**os.environ, "KK_FITS": str(tmp_path / "fits.log"), **env}
    return subprocess.Popen(
        [sys.executable, str(HELPER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
        cwd=tmp_path,
        preexec_fn=default_sigint,
    )


def finish(args, tmp_path, **env):
    proc = start(args, tmp_path, **env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out, err


def wait_for(condition, timeout=90.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("timed out")


def records(runs: Path) -> list[Path]:
    return sorted(runs.glob(f"{SLUG}/.jobs-*/jobs/*/record.json"))


def finished_runs(runs: Path) -> list[Path]:
    return sorted(p.parent for p in runs.glob(f"{SLUG}/*/run.json"))


def assert_same_outputs(a: Path, b: Path):
    for name in ("oof.csv", "test_predictions.csv", "folds.csv", "test_folds.npy"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def reference(shared):
    """An uninterrupted run of the same command."""
    root, data = shared
    finish(cv_args(data, root / "ref-runs"), root)
    [run] = finished_runs(root / "ref-runs")
    return run


def blocked_after_first_job(tweets, tmp_path, runs):
    """A real CV process that completed its first job and is stuck in its second fit."""
    proc = start(cv_args(tweets, runs), tmp_path, KK_BLOCK_AFTER="1")
    wait_for(
        lambda: len(records(runs)) == 1 and len(gated.fits(tmp_path / "fits.log")) == 2,
        proc=proc,
    )
    return proc


def check_resumed(run: Path, reference: Path, tmp_path, first_pid: int):
    assert_same_outputs(run, reference)
    info = json.loads((run / "run.json").read_text())
    jobs = info["jobs"]["list"]
    assert [j["fold"] for j in jobs] == [0, 1, 2]
    assert [j["attempt"] for j in jobs] == [1, 2, 2]  # fold 0 kept from the first attempt
    assert info["jobs"]["attempts"] == 2
    fits = gated.fits(tmp_path / "fits.log")
    later = [f for f in fits if f[2] != first_pid]
    # attempt 1 fitted fold 0 (done) and fold 1 (killed); attempt 2 fitted folds 1 and 2 only
    assert len(fits) == 4 and len(later) == 2
    assert sorted(f[1] for f in later) == [8, 9]  # seed + fold: folds 1 and 2, never fold 0 again
    leftovers = [p for p in (run.parent).iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the incomplete run and every temporary folder are gone


def test_kill9_after_first_job_resumes_byte_identical(tweets, tmp_path, reference, cli):
    runs = tmp_path / "runs"
    proc = blocked_after_first_job(tweets, tmp_path, runs)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert finished_runs(runs) == []
    assert len(list(runs.glob(f"{SLUG}/.jobs-*/jobs/.tmp-*"))) == 1  # the killed job's scratch

    listing = cli.json("runs", "--runs-dir", runs)
    assert listing["runs"] == []
    [row] = listing["incomplete"]
    assert (row["jobs_done"], row["jobs_total"], row["state"]) == (1, 3, "stopped")
    table = cli("runs", "--runs-dir", runs).stdout
    assert "1/3 jobs done" in table and row["run_id"] in table

    _, err = finish(cv_args(tweets, runs), tmp_path)  # the same command again
    assert "job kept:  gated fold 0 seed 7" in err
    [run] = finished_runs(runs)
    assert run.name == row["run_id"]
    check_resumed(run, reference, tmp_path, proc.pid)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_jobs_says_how_to_resume_and_exits_130(tweets, tmp_path, reference, signum):
    runs = tmp_path / "runs"
    proc = blocked_after_first_job(tweets, tmp_path, runs)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Aborted" not in err and "Traceback" not in err
    assert "Interrupted: kept 1 of 3 completed jobs of run " in err
    run_id = err.split("completed jobs of run ")[1].split()[0]
    assert f"kagglekit cv --resume {run_id}" in err
    assert finished_runs(runs) == []
    assert list(runs.glob(f"{SLUG}/.jobs-*/jobs/.tmp-*")) == []  # a clean stop: no scratch left
    assert not list(runs.glob(f"{SLUG}/.jobs-*/owner.json"))  # released

    finish(["cv", "--resume", run_id, "--runs-dir", str(runs)], tmp_path)
    [run] = finished_runs(runs)
    assert run.name == run_id
    check_resumed(run, reference, tmp_path, proc.pid)


def test_local_worker_dying_mid_job_is_retried(tweets, tmp_path, reference):
    runs = tmp_path / "runs"
    _, err = finish(
        cv_args(tweets, runs, "--executor", "local", "--workers", "2"),
        tmp_path,
        KK_CRASH_ONCE=str(tmp_path / "crashed"),
    )
    assert (tmp_path / "crashed").exists()
    assert "worker died (exit code -9); retrying" in err
    [run] = finished_runs(runs)
    assert_same_outputs(run, reference)
    info = json.loads((run / "run.json").read_text())
    assert {j["worker"] for j in info["jobs"]["list"]} <= {"local-0", "local-1"}
    fits = gated.fits(tmp_path / "fits.log")
    seeds = sorted(f[1] for f in fits)
    assert len(fits) == 4 and len(set(seeds)) == 3  # one job started twice (killed once), no other
    assert len({f[2] for f in fits}) >= 2  # ran in worker processes, not in the driver
    assert "\r" not in err and "\x1b" not in err


def test_local_workers_give_the_in_process_result(cli, tweets, tmp_path):
    args = ("cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "3", "--data-dir", tweets)
    a = cli.json(*args, "--runs-dir", tmp_path / "a")
    b = cli.json(*args, "--runs-dir", tmp_path / "b", "--executor", "local", "--workers", "2")
    assert_same_outputs(Path(a["run_dir"]), Path(b["run_dir"]))
    assert a["scores"] == b["scores"]
    from kagglekit.executors.local import device_plan

    shares = {len(p["cores"]) for p in device_plan(2)}  # each worker: its share of the cores
    jobs = json.loads((Path(b["run_dir"]) / "run.json").read_text())["jobs"]["list"]
    assert {j["blas_threads"] for j in jobs} <= shares


def test_ray_gives_the_in_process_oof(cli, tweets, tmp_path):
    pytest.importorskip("ray")
    args = ("cv", "disaster-tweets", "--model", "tfidf-lr", "--folds", "3", "--data-dir", tweets)
    a = cli.json(*args, "--runs-dir", tmp_path / "a")
    with one_ray_at_a_time():
        result = cli(
            *args, "--runs-dir", tmp_path / "b", "--executor", "ray", "--workers", "2", "--json"
        )
    b = json.loads(result.stdout)
    assert_same_outputs(Path(a["run_dir"]), Path(b["run_dir"]))
    info = json.loads((Path(b["run_dir"]) / "run.json").read_text())
    assert all(j["worker"].startswith("ray:") for j in info["jobs"]["list"])
    assert sorted(p.name for p in (Path(b["run_dir"]) / "models").iterdir()) == [
        "fold-0",
        "fold-1",
        "fold-2",
    ]


def test_ray_missing_is_one_clear_line(cli, tweets, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "2",
        "--data-dir",
        tweets,
        "--executor",
        "ray",
        expect=2,
    )
    assert 'pip install "kagglekit[ray]"' in result.stderr


class SeedModel:
    """Predictions that depend on the seed only (to see seed averaging at work)."""

    from dataclasses import dataclass as _dc

    @_dc
    class Params:
        pass

    def __init__(self, params=None, *, seed=0):
        self.params, self.seed = params, seed

    def fit(self, train, valid=None):
        return self

    def predict(self, frame):
        return np.random.default_rng(self.seed).uniform(size=(len(frame), 1))

    def save(self, directory):
        Path(directory).mkdir(parents=True)
        (Path(directory) / "seed.json").write_text(json.dumps(self.seed))

    @classmethod
    def load(cls, directory):  # pragma: no cover - not used
        return cls(seed=json.loads((Path(directory) / "seed.json").read_text()))


def test_several_seeds_are_averaged_and_recorded(tweets, tmp_path):
    from kagglekit import plugins
    from kagglekit.cv import run_cv
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.folds import competition_folds

    comp = plugins.get_competition("disaster-tweets")
    data = load_dataset(comp, DataOptions(data_dir=str(tweets)))
    folds, _ = competition_folds(comp, data.train, 3, 5)

    def run(seeds):
        return run_cv(
            comp,
            "seedy",
            SeedModel,
            SeedModel.Params(),
            data,
            folds=folds,
            seeds=seeds,
            runs_dir=tmp_path / "runs",
        )

    single = [run([s]) for s in (5, 9)]
    both = run([5, 9])
    oofs = [r.oof()["target"].to_numpy() for r in (*single, both)]
    assert not np.allclose(oofs[0], oofs[1])
    np.testing.assert_allclose(oofs[2], (oofs[0] + oofs[1]) / 2, atol=1e-6)
    tests = [r.test_predictions()["target"].to_numpy() for r in (*single, both)]
    np.testing.assert_allclose(tests[2], (tests[0] + tests[1]) / 2, atol=1e-6)
    info = both.info
    assert info["seeds"] == [5, 9] and info["seed"] == 5
    assert [s["seed"] for s in info["seed_scores"]] == [5, 9]
    for k, r in enumerate(single):  # each seed's score is that seed's run's score
        assert info["seed_scores"][k]["auc"] == pytest.approx(r.scores["auc"], abs=1e-6)
    assert info["seed_spread"]["auc"] == pytest.approx(
        np.std([r.scores["auc"] for r in single]), abs=1e-6
    )
    assert sorted(p.name for p in (both.path / "models").iterdir()) == [
        f"fold-{k}-seed-{s}" for k in range(3) for s in (5, 9)
    ]
    assert [s["model_seed"] for s in info["fold_scores"][2]["seeds"]] == [7, 11]
    assert np.load(both.path / "test_folds.npy").shape == (3, 60, 1)


def test_seeds_option_runs_consecutive_seeds(cli, tweets):
    out = cli.json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "2",
        "--data-dir",
        tweets,
        "--seed",
        "5",
        "--seeds",
        "3",
    )
    info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert info["seeds"] == [5, 6, 7] and len(info["seed_scores"]) == 3


def test_seed_options_are_checked(cli, tweets):
    result = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--data-dir",
        tweets,
        "--seed",
        "1",
        "--seed",
        "2",
        "--seeds",
        "2",
        expect=2,
    )
    assert "--seeds N or several --seed" in result.stderr


def test_fit_with_seeds_and_resume_option(cli, tweets, tmp_path):
    out = cli.json(
        "fit",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--data-dir",
        tweets,
        "--seeds",
        "2",
        "--threshold",
        "0.5",
    )
    run = Path(out["run_dir"])
    assert sorted(p.name for p in (run / "models").iterdir()) == ["full-seed-42", "full-seed-43"]
    assert [s["seed"] for s in json.loads((run / "run.json").read_text())["seed_fits"]] == [42, 43]
    result = cli("cv", "--resume", "nope", expect=2)
    assert "no incomplete run 'nope'" in result.stderr


def test_a_command_with_two_models_resumes_without_redoing_the_first(tweets, tmp_path):
    runs = tmp_path / "runs"
    args = [
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--model",
        "gated",
        "--folds",
        "3",
        "--seed",
        "7",
        "--data-dir",
        str(tweets),
        "--runs-dir",
        str(runs),
    ]
    proc = start(args, tmp_path, KK_BLOCK_AFTER="1")
    wait_for(
        lambda: len(gated.fits(tmp_path / "fits.log")) == 2 and len(records(runs)) == 4,
        proc=proc,
    )  # tfidf-nb's 3 jobs (kept for the command) + gated's first
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    [first] = finished_runs(runs)
    assert json.loads((first / "run.json").read_text())["model"] == "tfidf-nb"
    created = (first / "run.json").stat().st_mtime_ns
    _, err = finish(args, tmp_path)
    assert first in finished_runs(runs) and len(finished_runs(runs)) == 2
    assert (first / "run.json").stat().st_mtime_ns == created  # reused, not made again
    assert "job kept:  gated fold 0 seed 7" in err
    assert [p.name for p in runs.glob(f"{SLUG}/.*")] == []  # the kept jobs are gone at the end


def test_ctrl_c_under_local_workers_stops_them_and_resumes(tweets, tmp_path, reference):
    runs = tmp_path / "runs"
    args = cv_args(tweets, runs, "--executor", "local", "--workers", "2")
    proc = start(args, tmp_path, KK_BLOCK_AFTER="1")  # each worker's second fit blocks
    wait_for(
        lambda: len(records(runs)) == 2 and len(gated.fits(tmp_path / "fits.log")) == 3,
        proc=proc,
    )
    workers = {f[2] for f in gated.fits(tmp_path / "fits.log")}
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Interrupted: kept 2 of 3 completed jobs" in err, err
    for pid in workers:  # no worker outlives the driver
        wait_for(
            lambda pid=pid: (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]
            ),
            timeout=10,
        )
    assert list(runs.glob(f"{SLUG}/.jobs-*/jobs/.tmp-*")) == []
    finish(cv_args(tweets, runs), tmp_path)  # resumed in-process: same result
    [run] = finished_runs(runs)
    assert_same_outputs(run, reference)
    assert [j["attempt"] for j in json.loads((run / "run.json").read_text())["jobs"]["list"]] == [
        1,
        1,
        2,
    ]


def test_a_job_error_in_a_worker_is_one_clear_line(cli, tweets):
    from dataclasses import dataclass

    from kagglekit import plugins
    from kagglekit.hookspecs import hookimpl
    from kagglekit.model import Model

    class Wrong(Model):
        @dataclass
        class Params:
            pass

        def fit(self, train, valid=None):
            return self

        def predict(self, frame):
            return np.zeros((len(frame), 3))

    class P:
        @hookimpl
        def register_models(self, register):
            register("wrong", Wrong)

    plugins.register_plugin(P(), name="wrong")
    try:
        result = cli(
            "cv",
            "disaster-tweets",
            "--model",
            "wrong",
            "--folds",
            "2",
            "--data-dir",
            tweets,
            "--executor",
            "local",
            "--workers",
            "2",
            expect=2,
        )
    finally:
        plugins.unregister_plugin("wrong")
    assert (
        "Error: model 'wrong' returned predictions of shape (120, 3); expected (120, 1)"
        in result.stderr
    )
    assert not list(Path("runs").glob("*/*"))  # no job completed: nothing kept
