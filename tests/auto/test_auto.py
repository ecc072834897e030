"""kagglekit auto, for real on generated samples: the whole command, its budget, resuming
after kill -9 without repeating work, and a holdout nothing it chose ever saw."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("optuna")

from kagglekit import plugins  # noqa: E402
from kagglekit.auto import AutoOptions, run_auto  # noqa: E402
from kagglekit.data import DataOptions, load_dataset  # noqa: E402
from kagglekit.store.folder import RunsFolder  # noqa: E402
from kagglekit.store.run import Run, list_runs  # noqa: E402
from kagglekit.tune.holdout import split_holdout  # noqa: E402
from support import REPO, default_sigint, make_competition_dir  # noqa: E402

MODELS = ["tfidf-nb", "nbsvm", "tfidf-lr"]


def tweets(root: Path, n_train: int = 400):
    directory = make_competition_dir("disaster-tweets", root / "data", n_train=n_train, n_test=50)
    comp = plugins.get_competition("disaster-tweets")
    return comp, directory


def auto(root: Path, directory: Path, **options):
    comp = plugins.get_competition("disaster-tweets")
    data = load_dataset(comp, DataOptions(data_dir=str(directory)))
    notes: list[str] = []
    options.setdefault("budget", 600)
    options.setdefault("models", MODELS)
    options.setdefault("n_folds", 3)
    options.setdefault("max_trials", 6)
    options.setdefault("submissions_dir", root / "submissions")
    result = run_auto(
        comp, data, RunsFolder(root / "runs"), AutoOptions(**options), on_note=notes.append
    )
    return result, notes, data


def test_auto_runs_every_step_and_writes_a_valid_submission(tmp_path):
    comp, directory = tweets(tmp_path)
    result, notes, data = auto(tmp_path, directory)
    steps = result.record["steps"]
    assert list(steps) == ["screening", "cv", "tune", "blend", "holdout", "refit", "submission"]
    assert set(steps["screening"]) == set(MODELS)
    kept = [m for m, s in steps["screening"].items() if s["status"] == "kept"]
    assert set(steps["cv"]) == set(kept) and kept
    # tuned: the best family's best model, through a study of ordinary runs
    (tuned,) = steps["tune"]
    assert tuned["model"] in kept and tuned["trials"]["complete"] >= 1
    assert tuned["trials"]["complete"] + tuned["trials"]["pruned"] == 6
    # the submission: validated against sample_submission.csv, in its order
    sub = pd.read_csv(result.submission)
    sample = pd.read_csv(directory / "sample_submission.csv")
    assert list(sub.columns) == list(sample.columns)
    assert sub["id"].tolist() == sample["id"].tolist()
    assert set(sub["target"].unique()) <= {0, 1}
    # figures labelled: held out, and the chosen blend's CV beside it
    holdout = steps["holdout"]
    assert holdout["rows"] == result.record["holdout"]["rows"] > 0
    assert 0.0 <= holdout["final"]["value"] <= 1.0
    assert steps["blend"]["cv"] is not None
    assert any("held out" in n for n in notes) and any(n.startswith("[auto ") for n in notes)
    assert result.final_run.id == steps["blend"]["run_id"]
    # the budget allowed a refit: the blend's members refit on every row, holdout included
    refit = steps["refit"]
    assert refit["run_id"] == steps["submission"]["run_id"] == result.submitted_run.id
    assert refit["projected"] > 0
    assert "refit on all 400 training rows" in steps["submission"]["how"]
    blend = result.final_run
    assert blend.kind == "blend"
    run = Run(blend.path.parent / refit["run_id"])
    assert run.kind == "fit" and not run.held_out and run.threshold == blend.threshold
    fits = {m: Run(blend.path.parent / f) for m, f in refit["fits"].items()}
    assert set(fits) == set(steps["blend"]["members"])
    for member, fit in fits.items():
        assert fit.kind == "fit" and fit.info["n_train"] == 400 and fit.info["from_run"] == member
        assert "row_subset" not in fit.info
    # its test predictions: the blend's weights on the fits' test predictions
    weights = blend.info["weights"]
    expected = sum(
        np.asarray(weights[m]["target"], dtype=float)
        * fits[m].test_predictions()["target"].to_numpy()
        for m in fits
    )
    got = run.test_predictions()["target"].to_numpy()
    np.testing.assert_allclose(got, expected, atol=5e-6)
    # ... and the submission labels them at the blend's OOF threshold
    assert sub["target"].tolist() == (got >= blend.threshold).astype(int).tolist()
    # it predicts new rows as a blend does: through the fits' saved models
    from kagglekit.predict import predict_with_run

    rows = data.test.take(np.arange(10))
    np.testing.assert_allclose(predict_with_run(run, rows)[:, 0], got[:10], atol=5e-6)


def test_no_refit_when_its_measured_cost_does_not_fit(tmp_path, monkeypatch):
    from kagglekit.auto import finish

    monkeypatch.setattr(finish, "refit_seconds", lambda run, n_rows: 1e6)
    comp, directory = tweets(tmp_path, n_train=200)
    result, notes, _ = auto(tmp_path, directory, models=["tfidf-nb", "nbsvm"], max_trials=3)
    steps = result.record["steps"]
    assert steps["refit"]["run_id"] is None and "would take about" in steps["refit"]["why"]
    assert steps["submission"]["run_id"] == result.final_run.id == result.submitted_run.id
    assert steps["submission"]["how"] == "the fold models' mean test predictions (no refit)"
    assert any(n.endswith("(no refit)") and "no refit:" in n for n in notes)
    runs = [Run(p) for p in (tmp_path / "runs" / comp.slug).iterdir() if (p / "run.json").is_file()]
    assert not [r for r in runs if r.kind == "fit"]


def test_the_holdout_is_never_trained_on_or_chosen_on(tmp_path, monkeypatch):
    """No run auto makes has a holdout row among its rows. Known answer: with the holdout's
    labels flipped and its texts shuffled after the split, nothing auto chose changes
    (fold-1 scores, CV runs, tuned trials, blend members and weights): only the holdout
    figure does."""
    from dataclasses import replace

    import kagglekit.tune.holdout as holdout_module

    comp, directory = tweets(tmp_path / "a")
    first, _, data = auto(tmp_path / "a", directory)
    _, frame, holdout = split_holdout(data, 0.15, 42, "auto")
    held_ids = set(frame.ids.astype(str))
    assert len(held_ids) == first.record["holdout"]["rows"]
    runs = list_runs(tmp_path / "a" / "runs")
    # the refit for the submission, made once the holdout had given its figure, is the only
    # thing trained on every row
    refit = first.record["steps"]["refit"]
    fits = [r for r in runs if r.kind == "fit"]
    assert {r.id for r in fits} == {refit["run_id"], *refit["fits"].values()}
    assert all(r.info["n_train"] == len(data.train) for r in fits)
    runs = [r for r in runs if r.kind != "fit"]
    assert len(runs) >= 4
    for run in runs:
        oof_ids = set(run.oof()[run.info.get("id_column") or "id"].astype(str))
        assert not oof_ids & held_ids, run.id
        assert run.info["n_train"] == len(data.train) - len(held_ids)
        if run.kind == "cv":
            assert run.info["row_subset"]["why"].startswith("kagglekit auto holds these rows")

    real_split = holdout_module.split_holdout

    def corrupted(*args, **kwargs):
        trials, rows, made = real_split(*args, **kwargs)
        rng = np.random.default_rng(0)
        texts = np.asarray(rows.text, dtype=object)[rng.permutation(len(rows))]
        return trials, replace(rows, y=1 - np.asarray(rows.y), text=texts), made

    monkeypatch.setattr(holdout_module, "split_holdout", corrupted)
    second, _, _ = auto(tmp_path / "b", directory)

    a, b = first.record["steps"], second.record["steps"]
    for model in a["screening"]:
        assert a["screening"][model]["fold1"] == b["screening"][model]["fold1"]
        assert a["screening"][model]["status"] == b["screening"][model]["status"]
    assert {m: c["cv"] for m, c in a["cv"].items()} == {m: c["cv"] for m, c in b["cv"].items()}
    assert a["tune"][0]["best"]["params"] == b["tune"][0]["best"]["params"]
    assert a["tune"][0]["best"]["value"] == b["tune"][0]["best"]["value"]
    assert a["blend"]["cv"] == b["blend"]["cv"]
    assert list(a["blend"]["weights"].values()) == list(b["blend"]["weights"].values())
    # ... while the holdout figure sees the corrupted rows
    assert a["holdout"]["final"]["value"] != b["holdout"]["final"]["value"]
    assert b["holdout"]["final"]["value"] < a["holdout"]["final"]["value"]


def test_the_budget_is_respected(tmp_path):
    comp, directory = tweets(tmp_path)
    budget = 12.0
    t0 = time.monotonic()
    result, notes, _ = auto(tmp_path, directory, budget=budget, max_trials=10_000)
    elapsed = time.monotonic() - t0
    assert elapsed <= 1.1 * budget, notes[-5:]
    assert result.record["spent_seconds"] <= 1.1 * budget
    # the budget was used, not skipped: tuning ran trials until its share was spent
    (tuned,) = result.record["steps"]["tune"]
    assert tuned["trials"]["complete"] + tuned["trials"]["pruned"] >= 3
    assert result.submission is not None and result.submission.is_file()


def test_a_model_too_slow_for_its_first_fold_is_dropped_with_the_reason(tmp_path, monkeypatch):
    """Fold 1 runs under a time limit (kagglekit.deadline); past it the model is dropped."""
    from kagglekit import deadline

    comp, directory = tweets(tmp_path)
    cls = plugins.models().get("nbsvm")
    real_fit = cls.fit

    def slow_fit(self, *args, **kwargs):
        end = time.monotonic() + 30
        while time.monotonic() < end:  # a training loop that checks the limit
            deadline.check()
            time.sleep(0.05)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(cls, "fit", slow_fit)
    result, notes, _ = auto(tmp_path, directory, budget=8, models=["tfidf-nb", "nbsvm"])
    screening = result.record["steps"]["screening"]
    assert screening["nbsvm"]["status"] == "dropped"
    assert "fold 1 alone took more than its" in screening["nbsvm"]["why"]
    assert screening["tfidf-nb"]["status"] == "kept"
    assert any("nbsvm: dropped, fold 1 alone" in n for n in notes)
    assert "nbsvm" not in result.record["steps"]["cv"]


def test_a_later_fold_is_measured_when_fold_1_paid_for_what_the_others_reuse(tmp_path, monkeypatch):
    """Known answer: nbsvm's first fit in a process costs 2 s more (as a frozen encoder
    embeds every text once per process), later ones do not. Projected from fold 1 its other
    folds do not fit; one more fold, measured in this process, shows they do: it is kept,
    and its remaining folds run in this process (every fit's pid is this one)."""
    from kagglekit.auto import screening as screening_module

    comp, directory = tweets(tmp_path)
    cls = plugins.models().get("nbsvm")
    real_fit = cls.fit
    pids = tmp_path / "pids.txt"
    state = {"first": True}

    def fit_paying_once(self, *args, **kwargs):
        with open(pids, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        if state["first"]:
            state["first"] = False
            time.sleep(2.0)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(cls, "fit", fit_paying_once)
    real_projection = screening_module.projected_cv
    # from fold 1 alone nbsvm's other folds look far too long for the budget
    monkeypatch.setattr(
        screening_module,
        "projected_cv",
        lambda s, parallel: 1e6 if s["seconds"] >= 2.0 else real_projection(s, parallel),
    )
    real_complete = screening_module.complete
    cv_pids: list[str] = []

    def complete(*args, **kwargs):  # the pids of the fits up to the end of the CV runs
        out = real_complete(*args, **kwargs)
        cv_pids.extend(pids.read_text().split())
        return out

    monkeypatch.setattr(screening_module, "complete", complete)
    result, notes, _ = auto(
        tmp_path, directory, budget=60, models=["tfidf-nb", "nbsvm"], tune_families=0
    )
    nbsvm = result.record["steps"]["screening"]["nbsvm"]
    assert nbsvm["seconds"] >= 2.0 and nbsvm["later_job_seconds"] < 1.5
    assert nbsvm["status"] == "kept" and nbsvm["in_process"] is True
    # 3 folds: one more job left after the measured one
    assert nbsvm["projected_seconds"] == pytest.approx(nbsvm["later_job_seconds"], abs=1e-3)
    assert any("nbsvm: a later fold took" in n for n in notes)
    assert "nbsvm" in result.record["steps"]["cv"]
    assert len(cv_pids) >= 3 and set(cv_pids) == {str(os.getpid())}


def test_clearly_behind_models_are_dropped(tmp_path):
    comp, directory = tweets(tmp_path)
    result, notes, _ = auto(tmp_path, directory, drop_margin=0.0)
    screening = result.record["steps"]["screening"]
    kept = [m for m, s in screening.items() if s["status"] == "kept"]
    # with no margin only the best fold 1 is kept; the others are behind, said so
    assert len(kept) == 1
    for model, s in screening.items():
        if model not in kept:
            assert s["why"].startswith("clearly behind: fold 1 auc"), s


def test_resume_after_kill_9_repeats_nothing(tmp_path):
    comp, directory = tweets(tmp_path, n_train=400)
    env = {**os.environ, "KAGGLEKIT_PROGRESS": "plain", "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "kagglekit",
        "auto",
        "disaster-tweets",
        "--budget",
        "24",
        "--models",
        ",".join(MODELS),
        "--folds",
        "3",
        "--data-dir",
        str(directory),
        "--runs-dir",
        str(tmp_path / "runs"),
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    first = []
    assert proc.stderr is not None
    for line in proc.stderr:
        first.append(line)
        if "tuning for about" in line:  # screening and CV done, the study under way
            time.sleep(1.0)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(first[-20:])
    cv_before = {r.id for r in list_runs(tmp_path / "runs") if r.kind == "cv"}

    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    lines = again.stderr.splitlines()
    assert any("resuming session" in line for line in lines)
    # nothing screened or cross-validated again: no first fold, no fold job of a default run
    assert not any("fold 1 (at most" in line for line in lines)
    assert not any("the other folds" in line for line in lines)
    record = json.loads(next((tmp_path / "runs" / "_auto").glob("*/auto.json")).read_text())
    assert record["attempts"] == 2 and record["finished"]
    # every default CV run of the first attempt is the one the session kept
    kept_ids = {c["run_id"] for c in record["steps"]["cv"].values()}
    assert kept_ids <= cv_before
    defaults = [r for r in list_runs(tmp_path / "runs") if r.kind == "cv" and r.id in kept_ids]
    assert len(defaults) == len(kept_ids)
    # the study went on from its trials: trials of attempt 1 are still there
    study = record["steps"]["tune"][0]
    assert study["trials"]["complete"] >= 1
    assert Path(record["steps"]["submission"]["path"]).is_file()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_is_one_line_and_exit_status_130(tmp_path, sig):
    comp, directory = tweets(tmp_path, n_train=400)
    env = {**os.environ, "KAGGLEKIT_PROGRESS": "plain", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "kagglekit", "auto", "disaster-tweets", "--budget", "60"]
    cmd += ["--models", ",".join(MODELS), "--folds", "3", "--data-dir", str(directory)]
    proc = subprocess.Popen(
        [*cmd, "--runs-dir", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=default_sigint,
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "the other folds" in line:  # in the middle of a CV run's jobs
            proc.send_signal(sig)
            break
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 130, "".join(lines[-10:]) + rest
    assert "Traceback" not in rest
    last = rest.strip().splitlines()[-1]
    assert last.startswith("Interrupted: finished steps, runs, jobs and trials are kept")


def test_a_bad_budget_is_one_line_naming_the_option(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kagglekit",
            "auto",
            "disaster-tweets",
            "--sample",
            "--budget",
            "abc",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("Error: --budget 'abc': expected")
    assert not (tmp_path / "runs").exists()


def test_cli_auto_on_a_generated_sample_within_a_minute(tmp_path):
    t0 = time.monotonic()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kagglekit",
            "auto",
            "disaster-tweets",
            "--sample",
            "--budget",
            "20",
        ],
        cwd=tmp_path,
        env={**os.environ, "KAGGLEKIT_PROGRESS": "plain"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    assert elapsed < 60
    assert "holdout (" in out.stdout and "held out" in out.stdout
    assert "optimistic" in out.stdout
    assert "Submission: submissions/nlp-getting-started/" in out.stdout
    name = out.stdout.strip().splitlines()[-1].split()[-1]
    report = subprocess.run(
        [sys.executable, "-m", "kagglekit", "report", "--auto", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    page = Path(tmp_path / report.stdout.strip()).read_text()
    for text in ("Candidates: fold 1", "tfidf-lr", "Hill-climbing weights", "untouched rows"):
        assert text in page
    record = json.loads(next((tmp_path / "runs" / "_auto").glob("*/auto.json")).read_text())
    refit = record["steps"]["refit"]
    if refit["run_id"]:  # the refit or its reason, as the record says
        assert f"Refit run {refit['run_id']}" in page
    else:
        assert f"No refit: {refit['why']}" in page
    assert REPO.is_dir()
