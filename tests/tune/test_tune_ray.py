"""kagglekit tune --executor ray: the study's trials as tasks on a real local Ray instance,
every task sharing the one SQLite study; Ctrl-C keeps the finished trials; a clear line when
Ray is missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

optuna = pytest.importorskip("optuna")

from kagglekit import plugins  # noqa: E402
from kagglekit.data import DataOptions, load_dataset  # noqa: E402
from kagglekit.errors import KaggleKitError  # noqa: E402
from kagglekit.store.folder import RunsFolder  # noqa: E402
from kagglekit.store.run import Run  # noqa: E402
from kagglekit.tune import Float  # noqa: E402
from kagglekit.tune.run import TuneOptions, run_tune  # noqa: E402
from support import (  # noqa: E402
    REPO,
    default_sigint,
    invoke,
    make_competition_dir,
    one_line_error,
    one_ray_at_a_time,
)

SPACE = {"alpha": Float(0.05, 2.0, log=True)}


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory):
    """One local Ray instance (2 CPUs) for the module, its two workers started and warm so
    that both are ready when a study's tasks arrive. Its workers keep the environment of
    ``ray.init``: a cache of their own, not the user's."""
    ray = pytest.importorskip("ray")

    def warm(n: int) -> int:  # local: sent by value (the workers cannot import tests/)
        """Load what a trial task loads, and hold the CPU a moment."""
        import time

        import sklearn.naive_bayes  # noqa: F401

        import kagglekit.tune.ray_trials  # noqa: F401

        time.sleep(1.0)
        return os.getpid()

    with one_ray_at_a_time():
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("KAGGLEKIT_CACHE", str(tmp_path_factory.mktemp("ray-cache")))
            ray.init(
                num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False
            )
        try:
            task = ray.remote(warm).options(num_cpus=1)
            assert len(set(ray.get([task.remote(i) for i in range(2)]))) == 2
            yield ray
        finally:
            ray.shutdown()


def tweets(tmp_path, n_train=400):
    directory = make_competition_dir(
        "disaster-tweets", tmp_path / "data", n_train=n_train, n_test=50
    )
    comp = plugins.get_competition("disaster-tweets")
    return comp, load_dataset(comp, DataOptions(data_dir=str(directory))), directory


def test_ray_tasks_share_one_study_and_the_result_is_the_study(ray_local, tmp_path):
    comp, data, _ = tweets(tmp_path)
    folder = RunsFolder(tmp_path / "runs")
    reports, notes = [], []
    result = run_tune(
        comp,
        "tfidf-nb",
        plugins.models().get("tfidf-nb"),
        {},
        SPACE,
        data,
        folder,
        TuneOptions(n_trials=4, n_folds=3, pruner="none", executor="ray"),
        on_trial=reports.append,
        on_note=notes.append,
    )
    assert ray_local.is_initialized()  # a Ray the caller started is left running
    url = f"sqlite:///{folder.study_storage()}"
    study = optuna.load_study(study_name=result.study, storage=url)
    trials = study.get_trials()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert 4 <= len(complete) <= 5  # a task may finish the trial it had started
    assert not [t for t in trials if t.state.name not in ("COMPLETE", "WAITING")]
    # the trials ran in the Ray workers, and both of them ran some
    pids = {t.user_attrs["kagglekit_owner"]["pid"] for t in complete}
    assert len(pids) == 2 and os.getpid() not in pids
    # the result is the study's contents
    counts = {"complete": len(complete), "pruned": 0, "failed": 0, "running": 0}
    assert {k: result.trials[k] for k in counts} == counts
    best = study.best_trial
    assert result.best["number"] == best.number and result.best["value"] == best.value
    assert result.best["params"] == best.params
    assert result.best["run_id"] == best.user_attrs["run_id"]
    record = json.loads((result.directory / "study.json").read_text())
    assert sorted(record["runs"]) == sorted(t.user_attrs["run_id"] for t in complete)
    assert record["trials"] == result.trials
    # the defaults ran as trial 0; every trial is an ordinary cv run in the runs folder
    assert trials[0].params == {"alpha": 1.0} and trials[0].user_attrs.get("defaults")
    for t in complete:
        run = Run(folder.run_dir(comp.slug, t.user_attrs["run_id"]))
        assert run.kind == "cv" and run.info["params"]["alpha"] == pytest.approx(t.params["alpha"])
        assert t.value == pytest.approx(run.info["nested_scores"]["f1"])
    # the driver reported each finished trial once, with the study's figures
    assert sorted(r.number for r in reports) == sorted(t.number for t in complete)
    by_number = {t.number: t for t in complete}
    for r in reports:
        assert r.state == "complete" and r.value == by_number[r.number].value
        assert r.params == by_number[r.number].params and r.folds_done == 3
    assert reports[-1].best_number == best.number
    # the holdout figure was scored on the driver, from the best trial's run
    assert result.holdout["best"]["trial"] == best.number
    assert result.holdout["best"]["cv_run"] == best.user_attrs["run_id"]


DRIVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.store.folder import RunsFolder
    from kagglekit.tune import Float
    from kagglekit.tune.run import TuneOptions, run_tune
    from support.jobs import register
    register()
    comp = plugins.get_competition("disaster-tweets")
    data = load_dataset(comp, DataOptions(data_dir={data!r}))
    def on_trial(r):
        print("TRIAL", r.number, r.state, flush=True)
    try:
        run_tune(comp, "gated", plugins.models().get("gated"), {{}},
                 {{"alpha": Float(0.05, 2.0, log=True)}}, data, RunsFolder({runs!r}),
                 TuneOptions(n_trials={n}, n_folds=3, pruner="none", executor="ray",
                             workers=2),
                 on_trial=on_trial)
    except KeyboardInterrupt:
        print("INTERRUPTED", flush=True)
        sys.exit(130)
    print("DONE", flush=True)
""")


@pytest.mark.slow  # ~30 s; local Ctrl-C and kill -9 resume stay in the suite
def test_ctrl_c_cancels_the_tasks_and_the_same_command_continues(tmp_path):
    """The driver starts its own Ray (2 CPUs). Each Ray worker finishes one trial, then its
    next trial blocks in its first fold (the ``gated`` model, KK_BLOCK_AFTER=3 fits); Ctrl-C
    then cancels the tasks: the finished trials are kept, the blocked ones are failed and
    their parameters queued again, none is left running; the same command finishes the
    study without running a finished trial again."""
    pytest.importorskip("ray")
    directory = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=200, n_test=20)
    script = DRIVER.format(
        tests=str(REPO / "tests"), data=str(directory), runs=str(tmp_path / "runs"), n=6
    )
    env = {
        **os.environ,
        "KAGGLEKIT_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": str(REPO / "tests"),  # the Ray workers import the gated model
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**env, "KK_BLOCK_AFTER": "3"},
        preexec_fn=default_sigint,
    )
    lines = []
    try:
        while True:
            line = proc.stdout.readline()
            assert line, f"the driver ended before a trial finished: {lines}"
            lines.append(line)
            if line.startswith("TRIAL"):
                break
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "INTERRUPTED" in rest, (lines, rest)
    url = f"sqlite:///{tmp_path / 'runs' / '_studies' / 'studies.db'}"
    (name,) = optuna.get_all_study_names(url)
    before = optuna.load_study(study_name=name, storage=url).trials
    done_before = {t.number for t in before if t.state.name == "COMPLETE"}
    failed = [t for t in before if t.state.name == "FAIL"]
    assert 1 <= len(done_before) <= 2 and failed, [(t.number, t.state.name) for t in before]
    assert not [t for t in before if t.state.name == "RUNNING"]
    for t in failed:  # an interrupted trial's parameters are queued to run again
        assert any(
            w.state.name == "WAITING" and w.system_attrs.get("fixed_params") == t.params
            for w in before
        )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0 and "DONE" in out.stdout, out.stderr[-2000:]
    again = [int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("TRIAL")]
    assert again and not set(again) & done_before
    after = optuna.load_study(study_name=name, storage=url).trials
    complete = [t for t in after if t.state.name == "COMPLETE"]
    assert 6 <= len(complete) <= 7 and {t.number for t in complete} >= done_before
    for t in failed:  # ... and ran again
        assert any(c.params == t.params for c in complete)


def test_a_worker_opens_the_study_with_its_pruner(tmp_path):
    """Local workers and Ray tasks load the study with --pruner, not Optuna's default."""
    from kagglekit.tune.parallel import worker_study

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    optuna.create_study(study_name="s", storage=url)
    none = worker_study("s", url, TuneOptions(pruner="none"))
    assert isinstance(none.pruner, optuna.pruners.NopPruner)
    median = worker_study("s", url, TuneOptions(pruner="median", startup_trials=2))
    assert isinstance(median.pruner, optuna.pruners.MedianPruner)
    assert median.pruner._n_startup_trials == 2


def test_ray_missing_is_one_line_before_any_work(tmp_path, monkeypatch):
    comp, data, directory = tweets(tmp_path, n_train=60)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(KaggleKitError, match=r'pip install "kagglekit\[ray\]"'):
        run_tune(
            comp,
            "tfidf-nb",
            plugins.models().get("tfidf-nb"),
            {},
            SPACE,
            data,
            RunsFolder(tmp_path / "runs"),
            TuneOptions(n_trials=2, executor="ray"),
        )
    assert not (tmp_path / "runs").exists()  # no study, no holdout, no run
    args = ("tune", "disaster-tweets", "-m", "tfidf-nb", "--data-dir", directory)
    line = one_line_error(
        invoke(*args, "--runs-dir", tmp_path / "runs", "--executor", "ray", expect=None)
    )
    assert "--executor ray needs Ray" in line and 'pip install "kagglekit[ray]"' in line
    line = one_line_error(
        invoke(*args, "--runs-dir", tmp_path / "runs", "--address", "auto", expect=None)
    )
    assert "--address auto" in line and "--executor ray" in line
    assert not (tmp_path / "runs").exists()
