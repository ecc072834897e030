"""kagglekit tune on Optuna, for real: an SQLite study, per-fold pruning, the untouched
holdout, resuming after kill -9, workers sharing one study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from kagglekit import plugins  # noqa: E402
from kagglekit.data import DataOptions, load_dataset  # noqa: E402
from kagglekit.errors import KaggleKitError  # noqa: E402
from kagglekit.store.folder import RunsFolder  # noqa: E402
from kagglekit.store.run import Run  # noqa: E402
from kagglekit.tune import Choice, Float, model_space  # noqa: E402
from kagglekit.tune.run import TuneOptions, run_tune  # noqa: E402
from support import REPO, make_competition_dir  # noqa: E402

SPACE = {"alpha": Float(0.05, 2.0, log=True)}


def tweets(tmp_path, n_train=400):
    directory = make_competition_dir(
        "disaster-tweets", tmp_path / "data", n_train=n_train, n_test=50
    )
    comp = plugins.get_competition("disaster-tweets")
    return comp, load_dataset(comp, DataOptions(data_dir=str(directory)))


def tune(tmp_path, comp, data, **options):
    folder = RunsFolder(tmp_path / "runs")
    options.setdefault("n_trials", 4)
    options.setdefault("n_folds", 3)
    cls = plugins.models().get("tfidf-nb")
    reports, notes = [], []
    result = run_tune(
        comp,
        "tfidf-nb",
        cls,
        {},
        options.pop("space", SPACE),
        data,
        folder,
        TuneOptions(**options),
        on_trial=reports.append,
        on_note=notes.append,
    )
    return result, reports, notes, folder


def test_space_declared_beside_params_and_overridden_in_toml():
    cls = plugins.models().get("tfidf-lr")
    space = model_space("tfidf-lr", cls)
    assert {"C", "min_df", "word_ngram_max"} <= set(space)
    config = {
        "tune": {
            "space": {
                "C": {"low": 1, "high": 5},
                "min_df": 2,
                "tfidf-lr": {"word_ngram_max": {"choices": [1, 2]}},
            }
        }
    }
    over = model_space("tfidf-lr", cls, config)
    assert over["C"].low == 1 and over["C"].high == 5 and type(over["C"]).__name__ == "Int"
    assert type(over["min_df"]).__name__ == "Fixed" and over["min_df"].value == 2
    assert over["word_ngram_max"] == Choice((1, 2))
    with pytest.raises(KaggleKitError, match="has no such parameter; did you mean C"):
        model_space("tfidf-lr", cls, {"tune": {"space": {"c": {"low": 1, "high": 2}}}})
    with pytest.raises(KaggleKitError, match="low must be below high"):
        model_space("tfidf-lr", cls, {"tune": {"space": {"C": {"low": 3, "high": 2}}}})


def test_a_study_of_ordinary_runs_with_best_toml_and_a_holdout_figure(tmp_path):
    comp, data = tweets(tmp_path)
    result, reports, notes, folder = tune(tmp_path, comp, data, pruner="none")
    assert result.trials["complete"] == 4 and len(reports) == 4
    # trial 0 is the defaults, then the sampler's choices; every trial is a cv run
    assert reports[0].params == {"alpha": 1.0}
    for report in reports:
        run = Run(folder.run_dir(comp.slug, report.run_id))
        assert run.kind == "cv" and run.model == "tfidf-nb"
        assert run.info["params"]["alpha"] == pytest.approx(report.params["alpha"])
        assert report.value == pytest.approx(run.info["nested_scores"]["f1"])
    best = max(reports, key=lambda r: r.value)
    assert result.best["number"] == best.number and result.best["value"] == best.value
    # the holdout: one fold of a 7-fold plan, never in any trial's rows
    held = result.holdout["record"]
    assert held["rows"] == len(data.train) - len(
        Run(folder.run_dir(comp.slug, reports[0].run_id)).oof()
    )
    assert 0.1 < held["share"] < 0.2
    assert set(result.holdout) >= {"best", "record"}
    assert result.holdout["best"]["value"] == result.holdout["best"]["scores"]["f1"]
    # best.toml is a config `kagglekit cv --config` reads
    text = (result.directory / "best.toml").read_text()
    assert "optimistic" in text and "holdout" in text
    import tomllib

    cfg = tomllib.loads(text)
    assert cfg["model"] == "tfidf-nb"
    assert cfg["params"]["alpha"] == pytest.approx(result.best["params"]["alpha"])
    record = json.loads((result.directory / "study.json").read_text())
    assert record["kind"] == "study" and record["best"]["number"] == best.number
    assert any("set aside" in n for n in notes)


def test_the_holdout_rows_are_in_no_trials_training_or_scoring_rows(tmp_path):
    comp, data = tweets(tmp_path)
    result, reports, _, folder = tune(tmp_path, comp, data, n_trials=2, pruner="none")
    from kagglekit.tune.holdout import split_holdout

    _, frame, holdout = split_holdout(data, 0.15, 42)
    held_ids = set(map(str, frame.ids))
    assert len(held_ids) == result.holdout["record"]["rows"]
    for report in reports:
        run = Run(folder.run_dir(comp.slug, report.run_id))
        seen = set(map(str, run.oof()["id"])) | set(map(str, run.folds()["id"]))
        assert not seen & held_ids
        assert run.info["n_train"] == len(data.train) - len(held_ids)


def test_no_holdout_is_labelled(tmp_path):
    comp, data = tweets(tmp_path)
    result, _, notes, _ = tune(tmp_path, comp, data, n_trials=2, holdout=None, pruner="none")
    assert result.holdout is None and not result.held_out
    assert any("optimistic" in n for n in notes)
    assert "holdout" not in (result.directory / "best.toml").read_text().split("model =")[
        0
    ].replace("no holdout", "")


def test_the_same_command_continues_the_study(tmp_path):
    comp, data = tweets(tmp_path)
    first, reports1, _, _ = tune(tmp_path, comp, data, n_trials=2, pruner="none")
    again, reports2, _, _ = tune(tmp_path, comp, data, n_trials=3, pruner="none")
    assert again.study == first.study
    assert len(reports2) == 1 and again.trials["complete"] == 3  # one more, none repeated
    same, reports3, _, _ = tune(tmp_path, comp, data, n_trials=3, pruner="none")
    assert reports3 == [] and same.best == again.best


def test_pruned_trials_stop_after_their_first_folds(tmp_path):
    """Trials clearly worse after a fold are stopped there (the median pruner), and their
    folds are not kept. Large alphas smooth the words away: near chance level."""
    comp, data = tweets(tmp_path)
    space = {"alpha": Float(0.5, 1e6, log=True)}
    result, reports, _, folder = tune(
        tmp_path, comp, data, n_trials=8, space=space, pruner="median", n_folds=4, startup_trials=2
    )
    pruned = [r for r in reports if r.state == "pruned"]
    complete = [r for r in reports if r.state == "complete"]
    assert pruned and complete, [(r.params, r.state, r.value) for r in reports]
    assert all(r.folds_done < 4 and r.value is None for r in pruned)
    assert all(r.folds_done == 4 for r in complete)
    assert result.trials["pruned"] == len(pruned)
    log_alpha = lambda rs: np.mean([np.log(r.params["alpha"]) for r in rs])  # noqa: E731
    assert log_alpha(pruned) > log_alpha(complete)
    assert result.best["number"] in {r.number for r in complete}
    # a pruned trial leaves no job store behind, and no run
    assert not folder.job_stores(comp.slug)
    assert len(folder.run_dirs(comp.slug)) == len(complete)


WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.store.folder import RunsFolder
    from kagglekit.tune import Float
    from kagglekit.tune.run import TuneOptions, run_tune
    comp = plugins.get_competition("disaster-tweets")
    data = load_dataset(comp, DataOptions(data_dir={data!r}))
    def on_trial(r):
        print("TRIAL", r.number, r.state, flush=True)
    run_tune(comp, "tfidf-nb", plugins.models().get("tfidf-nb"), {{}},
             {{"alpha": Float(0.05, 2.0, log=True)}}, data, RunsFolder({runs!r}),
             TuneOptions(n_trials={n}, n_folds=2, pruner="none", workers={workers}),
             on_trial=on_trial)
    print("DONE", flush=True)
""")


def worker_script(tmp_path, n, workers=1):
    directory = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=200, n_test=20)
    return WORKER.format(
        tests=str(REPO / "tests"),
        data=str(directory),
        runs=str(tmp_path / "runs"),
        n=n,
        workers=workers,
    )


def study_trials(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs' / '_studies' / 'studies.db'}"
    names = optuna.get_all_study_names(url)
    assert len(names) == 1
    return optuna.load_study(study_name=names[0], storage=url).trials


def test_killed_with_kill_9_resumes_without_repeating_a_finished_trial(tmp_path):
    script = worker_script(tmp_path, n=3)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "KAGGLEKIT_CACHE": str(tmp_path / "cache")},
    )
    lines = []
    while True:  # kill it as soon as two trials are finished
        line = proc.stdout.readline()
        assert line, "the tune process ended before two trials"
        lines.append(line)
        if sum(line.startswith("TRIAL") for line in lines) == 2:
            break
    proc.send_signal(signal.SIGKILL)  # trial 1 is reported but not yet marked complete
    proc.wait()
    before = study_trials(tmp_path)
    done_before = {t.number for t in before if t.state.name == "COMPLETE"}
    killed = [t.number for t in before if t.state.name == "RUNNING"]
    assert done_before and killed
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "KAGGLEKIT_CACHE": str(tmp_path / "cache")},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    again = [int(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("TRIAL")]
    assert not set(again) & done_before  # no finished trial ran again
    trials = study_trials(tmp_path)
    assert sum(t.state.name == "COMPLETE" for t in trials) == 3
    # the killed trial was failed and its parameters ran again, resuming its folds
    assert [t.state.name for t in trials if t.number in killed] == ["FAIL"] * len(killed)
    retried = [t for t in trials if t.user_attrs.get("retry_of") in killed]
    assert len(retried) == len(killed) and all(t.state.name == "COMPLETE" for t in retried)
    for t in retried:
        assert t.params == trials[t.user_attrs["retry_of"]].params


def test_two_workers_share_one_sqlite_study(tmp_path):
    script = worker_script(tmp_path, n=4, workers=2)
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "KAGGLEKIT_CACHE": str(tmp_path / "cache")},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    trials = study_trials(tmp_path)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert 4 <= len(complete) <= 5  # a worker may finish the trial it had started
    pids = {t.user_attrs["kagglekit_owner"]["pid"] for t in complete}
    assert len(pids) == 2  # both processes ran trials
