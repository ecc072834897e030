"""Incomplete runs, stale temporary folders, job ids, executors' registry and device plans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support import make_competition_dir

SLUG = "nlp-getting-started"


@pytest.fixture
def tweets(tmp_path):
    return make_competition_dir("disaster-tweets", tmp_path / "data", n_train=120, n_test=30)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def fake_incomplete(runs: Path, name: str, owner_pid: int | None, done: int = 1) -> Path:
    """An incomplete run folder as an interrupted `kagglekit cv` leaves it."""
    from kagglekit.store.atomic import owner_record

    path = runs / SLUG / f".jobs-{name}"
    jobs = [{"id": f"{name}{k}", "fold": k, "seed": 42} for k in range(3)]
    for job in jobs[:done]:
        (path / "jobs" / job["id"]).mkdir(parents=True)
        (path / "jobs" / job["id"] / "record.json").write_text(json.dumps({"job": job["id"]}))
    (path / "jobs").mkdir(parents=True, exist_ok=True)
    (path / "plan.json").write_text(
        json.dumps(
            {
                "run_id": f"20260101-000000-tfidf-lr-{name}",
                "kind": "cv",
                "competition": SLUG,
                "model": "tfidf-lr",
                "jobs": jobs,
            }
        )
    )
    if owner_pid is not None:
        owner = owner_record()
        owner["pid"] = owner_pid
        if owner_pid != os.getpid():
            owner["start"] = None
        (path / "owner.json").write_text(json.dumps(owner))
    return path


def test_incomplete_runs_are_listed_never_best_and_cleaned_after_asking(cli, tweets, tmp_path):
    runs = Path("runs")
    done = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", tweets
    )
    stopped = fake_incomplete(runs, "aaaa", dead_pid(), done=2)
    running = fake_incomplete(runs, "bbbb", os.getpid(), done=1)
    listing = cli.json("runs")
    assert [r["run_dir"] for r in listing["runs"]] == [done["run_dir"]]
    states = {
        r["run_id"][-4:]: (r["jobs_done"], r["jobs_total"], r["state"])
        for r in listing["incomplete"]
    }
    assert states == {"aaaa": (2, 3, "stopped"), "bbbb": (1, 3, "running")}
    out = cli("runs").stdout
    assert "2/3 jobs done  (stopped)" in out and "1/3 jobs done  (running)" in out
    # submit without a RUN picks the best finished run, never an incomplete one
    submitted = cli.json("submit", "--competition", "disaster-tweets")
    assert submitted["run_dir"] == done["run_dir"]

    refused = cli("runs", "--clean", input="n\n")
    assert refused.exit_code == 0 and "Nothing removed" in refused.stderr
    assert stopped.is_dir() and str(stopped) in refused.stderr
    asked = cli("runs", "--clean", input="y\n")
    assert asked.exit_code == 0 and not stopped.exists()
    assert running.is_dir()  # a live process's incomplete run is never touched
    assert Path(done["run_dir"]).is_dir()
    removed = cli.json("runs", "--clean", "--yes")
    assert removed == {"removed": []}


def test_stale_temporary_folders_of_dead_processes_are_cleaned(cli, tweets):
    from kagglekit.store.atomic import owner_record

    parent = Path("runs") / SLUG
    dead, live, legacy = (
        parent / ".tmp-dead-run",
        parent / ".tmp-live-run",
        parent / ".tmp-old-version",
    )
    for path in (dead, live, legacy):
        path.mkdir(parents=True)
        (path / "models").mkdir()
    (dead / ".owner.json").write_text(
        json.dumps({**owner_record(), "pid": dead_pid(), "start": None})
    )
    (live / ".owner.json").write_text(json.dumps(owner_record()))
    cli("cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", tweets)
    assert not dead.exists()  # cleaned when the next run starts
    assert live.is_dir() and legacy.is_dir()  # live owner: kept; no owner: only --clean, once old
    os.utime(legacy, (0, 0))
    cli("runs", "--clean", "--yes")
    assert not legacy.exists() and live.is_dir()


def test_a_run_owned_by_a_live_process_is_not_taken_over(cli, tweets):
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.folds import competition_folds
    from kagglekit.jobs import data_fingerprint, job_set_hash, plan_jobs
    from kagglekit.store.atomic import owner_record

    comp = plugins.get_competition("disaster-tweets")
    cls = plugins.get_model("tfidf-nb")
    data = load_dataset(comp, DataOptions(data_dir=str(tweets)))
    folds, _ = competition_folds(comp, data.train, 2, 42)
    jobs = plan_jobs("tfidf-nb", cls.Params(), [42], folds, data_fingerprint(data), False, cls)
    path = Path("runs") / SLUG / f".jobs-{job_set_hash(jobs)}"
    (path / "jobs").mkdir(parents=True)
    (path / "plan.json").write_text(json.dumps({"run_id": "x", "jobs": []}))
    other = {**owner_record(), "pid": os.getppid(), "start": None}  # alive, not us
    (path / "owner.json").write_text(json.dumps(other))
    result = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "2",
        "--data-dir",
        tweets,
        expect=2,
    )
    assert f"is being computed by process {os.getppid()}" in result.stderr
    assert path.is_dir()
    (path / "owner.json").unlink()
    (path / "plan.json").write_text("{damaged")  # e.g. a full disk: started afresh
    out = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", tweets
    )
    assert Path(out["run_dir"]).is_dir() and not path.exists()


def test_job_ids_follow_what_determines_the_result(tweets):
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.jobs import data_fingerprint, plan_jobs

    comp = plugins.get_competition("disaster-tweets")
    cls = plugins.get_model("tfidf-lr")
    data = load_dataset(comp, DataOptions(data_dir=str(tweets)))
    raw = load_dataset(comp, DataOptions(data_dir=str(tweets), prepare=False))
    folds = np.arange(len(data.train)) % 3
    key = data_fingerprint(data)
    ids = [j.id for j in plan_jobs("tfidf-lr", cls.Params(), [1, 2], folds, key, False, cls)]
    assert len(set(ids)) == 6
    assert ids == [
        j.id for j in plan_jobs("tfidf-lr", cls.Params(), [1, 2], folds, key, False, cls)
    ]
    others = [
        plan_jobs("tfidf-lr", cls.Params(C=1.0), [1], folds, key, False, cls),
        plan_jobs("tfidf-lr", cls.Params(), [1], folds[::-1].copy(), key, False, cls),
        plan_jobs("tfidf-lr", cls.Params(), [1], folds, data_fingerprint(raw), False, cls),
        plan_jobs("nbsvm", cls.Params(), [1], folds, key, False, cls),
        plan_jobs("tfidf-lr", cls.Params(), [1], folds, key, True, cls),
    ]
    for jobs in others:
        assert not {j.id for j in jobs} & set(ids)


def test_executors_are_registered_by_hook_and_collisions_name_both(cli):
    from kagglekit import plugins
    from kagglekit.errors import PluginError
    from kagglekit.executors import InProcess
    from kagglekit.hookspecs import hookimpl

    registry = plugins.executors()
    assert {"auto", "in-process", "local", "ray"} <= set(registry.items)
    assert registry.owner("local") == "executors"
    listing = cli.json("plugins")
    assert any(
        row["executors"] == ["auto", "in-process", "local", "ray"] for row in listing["plugins"]
    )

    class Clash:
        @hookimpl
        def register_executors(self, register):
            register("local", InProcess)

    plugins.register_plugin(Clash(), name="clash")
    try:
        with pytest.raises(PluginError, match="'executors' and plugin 'clash'"):
            plugins.executors()
    finally:
        plugins.unregister_plugin("clash")
    result = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--sample",
        "--executor",
        "threads",
        expect=2,
    )
    assert "unknown executor 'threads'" in result.stderr


def test_local_workers_get_their_own_device():
    from kagglekit.executors.local import device_plan

    gpu = device_plan(2, gpus=["0", "1"], cores=[0, 1, 2, 3])
    assert [p["env"]["CUDA_VISIBLE_DEVICES"] for p in gpu] == ["0", "1"]
    cpu = device_plan(2, gpus=[], cores=[0, 1, 2, 3])
    assert [p["cores"] for p in cpu] == [[0, 2], [1, 3]]
    assert all(
        p["env"]["OMP_NUM_THREADS"] == "2" and "CUDA_VISIBLE_DEVICES" not in p["env"] for p in cpu
    )
    assert [p["env"]["OMP_NUM_THREADS"] for p in device_plan(4, gpus=[], cores=[0, 1])] == ["2"] * 4


def test_progress_lines_are_plain_and_name_job_worker_score_seconds(cli, tweets):
    result = cli(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", tweets
    )
    lines = [line for line in result.stderr.splitlines() if "job " in line]
    assert lines[0] == "[0/2] job start: tfidf-nb fold 0 seed 42 on worker main"
    assert lines[1].startswith("[1/2] job done:  tfidf-nb fold 0 seed 42 on worker main  auc=")
    assert lines[1].endswith("s)") and len(lines) == 4
    assert "\r" not in result.stderr and "\x1b" not in result.stderr


def test_each_folds_score_is_printed_once_and_needs_no_threshold(cli, tweets):
    """F1 of a fold at 0.5 says nothing (6% positives on Quora: 0.0000); as a fold finishes
    its line shows AUC, and the table then shows every metric at the fold's threshold
    chosen on the other folds. No fold's score is printed a third time."""
    import re

    result = cli(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "3", "--data-dir", tweets
    )
    run = Path(result.stdout.split("Run: ")[1].split()[0])
    folds = json.loads((run / "run.json").read_text())["fold_scores"]
    done = [line for line in result.stderr.splitlines() if "job done:" in line]
    assert [re.search(r"  auc=(\d\.\d{4})  ", line).group(1) for line in done] == [
        f"{f['auc']:.4f}" for f in folds
    ]
    assert "@0.5" not in result.stderr and "f1=" not in result.stderr
    assert not [line for line in result.stderr.splitlines() if line.strip().startswith("fold ")]
    for f in folds:  # the table: each fold once, with its F1 at its nested threshold
        rows = [line for line in result.stdout.splitlines() if f"│ fold {f['fold']} " in line]
        assert len(rows) == 1 and f"{f['f1']:.4f}" in rows[0], rows


def test_a_plugin_executor_runs_the_jobs(cli, tweets):
    from kagglekit import plugins
    from kagglekit.executors import Executor
    from kagglekit.hookspecs import hookimpl
    from kagglekit.jobs import execute_job

    order = []

    class Backwards(Executor):
        name = "backwards"

        def run(self, ctx, jobs, tracker):
            for job in reversed(jobs):
                order.append(job.fold)
                tracker.start(job, "back")
                scratch = tracker.store.scratch(job)
                tracker.finish(job, scratch, execute_job(ctx, job, scratch, "back"))

    class P:
        @hookimpl
        def register_executors(self, register):
            register("backwards", Backwards)

    plugins.register_plugin(P(), name="backwards")
    try:
        args = (
            "cv",
            "disaster-tweets",
            "--model",
            "tfidf-nb",
            "--folds",
            "3",
            "--data-dir",
            tweets,
        )
        out = cli.json(*args, "--executor", "backwards", "--runs-dir", "a")
        ref = cli.json(*args, "--runs-dir", "b")
    finally:
        plugins.unregister_plugin("backwards")
    assert order == [2, 1, 0]
    for name in ("oof.csv", "test_predictions.csv"):
        assert (Path(out["run_dir"]) / name).read_bytes() == (
            Path(ref["run_dir"]) / name
        ).read_bytes()
    workers = [
        j["worker"]
        for j in json.loads((Path(out["run_dir"]) / "run.json").read_text())["jobs"]["list"]
    ]
    assert workers == ["back"] * 3


def test_ctrl_c_while_loading_data_exits_130_not_aborted(cli, tweets, monkeypatch):
    import kagglekit.data

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kagglekit.data, "load_dataset", interrupted)
    result = cli("cv", "disaster-tweets", "--model", "tfidf-nb", "--data-dir", tweets, expect=130)
    assert result.stderr.strip() == "Interrupted; nothing was written."
    assert not Path("runs").exists()
