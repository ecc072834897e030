"""Distillation: -p teacher=RUN trains on the teacher's OOF probabilities, never in-fold ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kagglekit.keras.distill import distill_targets, soften

pytest.importorskip("keras")

TINY = {
    "units": 8,
    "embedding_dim": 8,
    "epochs": 1,
    "verbose": 0,
    "progress": False,
    "tensorboard": False,
    "batch_size": 32,
    "early_stopping": "off",
}


def test_soften_and_mix():
    p = np.array([[0.9], [0.2], [0.5]])
    assert np.allclose(soften(p, 1.0), p)
    hot = soften(p, 2.0)  # T > 1: toward 0.5, same side
    assert np.all(np.abs(hot - 0.5) < np.abs(p - 0.5) + 1e-12) and hot[2, 0] == pytest.approx(0.5)
    assert hot[0, 0] == pytest.approx(1 / (1 + np.exp(-np.log(9) / 2)))
    y = np.array([[1], [0], [1]])
    assert np.allclose(distill_targets(y, p, 0.0), y)
    assert np.allclose(distill_targets(y, p, 1.0), p)
    assert np.allclose(distill_targets(y, p, 0.25), 0.75 * y + 0.25 * p)


@pytest.fixture
def teacher(cli, tweets_dir, tmp_path):
    """A CV teacher whose oof.csv holds values no teacher model predicted in-fold."""
    payload = cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        tweets_dir,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
    )
    run = Path(payload["path"])
    oof = pd.read_csv(run / "oof.csv", dtype={"id": str})
    oof["target"] = np.random.default_rng(7).uniform(0.05, 0.95, len(oof)).round(6)
    oof.to_csv(run / "oof.csv", index=False)
    return run


def _student(cli, tweets_dir, tmp_path, teacher, *more, expect=0):
    params = {**TINY, "teacher": teacher, "distill_alpha": 1.0, "temperature": 1.0}
    return cli(
        "cv",
        "disaster-tweets",
        "--data-dir",
        tweets_dir,
        "--model",
        "dense",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
        *[f"-p{k}={v}" for k, v in params.items()],
        *more,
        expect=expect,
    )


def test_student_trains_on_the_teachers_oof_values(cli, tweets_dir, tmp_path, teacher, monkeypatch):
    import kagglekit.keras.data
    from kagglekit.keras.model import KerasModel

    seen_ids, seen_y = [], []
    original_targets = KerasModel.training_targets
    original_batches = kagglekit.keras.data.Batches

    def targets(self, train, valid, y, teacher=None):
        seen_ids.append(list(map(str, train.ids)))
        return original_targets(self, train, valid, y, teacher)

    def batches(x, y=None, *args, **kwargs):
        if kwargs.get("shuffle"):  # the training batches, not prediction's
            seen_y.append(np.array(y))
        return original_batches(x, y, *args, **kwargs)

    monkeypatch.setattr(KerasModel, "training_targets", targets)
    monkeypatch.setattr(kagglekit.keras.data, "Batches", batches)
    result = _student(cli, tweets_dir, tmp_path, teacher, "--json")
    run = Path(json.loads(result.stdout)["path"])
    oof = pd.read_csv(teacher / "oof.csv", dtype={"id": str}).set_index("id")["target"]
    folds = pd.read_csv(teacher / "folds.csv", dtype={"id": str}).set_index("id")["fold"]
    assert len(seen_ids) == len(seen_y) == 3
    for ids, y in zip(seen_ids, seen_y):
        # the targets are exactly the teacher's OOF values of the training rows
        assert np.allclose(y[:, 0], oof.loc[ids].to_numpy(), atol=1e-6)
        assert len(set(folds.loc[ids])) == 2  # the fold's training rows: two teacher folds
    info = json.loads((run / "run.json").read_text())
    fit = info["fold_scores"][0]["fit_info"]
    assert fit["teacher"] == str(teacher) and fit["distill_alpha"] == 1.0
    assert info["params"]["teacher"] == str(teacher)
    assert fit["teacher_not_held_out_because"] == [] and info["held_out"] is True


def test_a_student_of_a_teacher_that_is_not_held_out_is_not_held_out(
    cli, tweets_dir, tmp_path, teacher
):
    record = json.loads((teacher / "run.json").read_text())
    record.update(held_out=False, not_held_out_because=["the 40 pseudo-labelled test rows"])
    (teacher / "run.json").write_text(json.dumps(record))
    result = _student(cli, tweets_dir, tmp_path, teacher, "--json")
    info = json.loads((Path(json.loads(result.stdout)["path"]) / "run.json").read_text())
    assert info["held_out"] is False
    assert info["not_held_out_because"] == [
        f"its distillation teacher {teacher.name} is not held out (the 40 pseudo-labelled "
        f"test rows)"
    ]
    assert "NOT held out" in result.stderr + result.stdout


def test_teacher_on_other_folds_or_a_fit_run_is_refused(cli, tweets_dir, tmp_path, teacher):
    other = _student(cli, tweets_dir, tmp_path, teacher, "--seed", "7", expect=2)
    assert "same folds" in other.stderr.strip().splitlines()[-1]
    fewer = _student(cli, tweets_dir, tmp_path, teacher, "--folds", "2", expect=2)
    assert (
        "same folds" in fewer.stderr.strip().splitlines()[-1]
        or "same rows" in fewer.stderr.strip().splitlines()[-1]
    )
    fit = cli.json(
        "fit",
        "disaster-tweets",
        "--data-dir",
        tweets_dir,
        "--model",
        "tfidf-lr",
        "--runs-dir",
        tmp_path / "runs",
        "--threshold",
        "0.5",
    )
    refused = _student(cli, tweets_dir, tmp_path, fit["path"], expect=2)
    assert "must be a CV run" in refused.stderr.strip().splitlines()[-1]
    assert refused.stderr.strip().count("\n") == 0, refused.stderr  # named before any work
    missing = _student(cli, tweets_dir, tmp_path, tmp_path / "no-such-run", expect=2)
    assert missing.stderr.strip().count("\n") == 0, missing.stderr
    assert "no-such-run" in missing.stderr and "Traceback" not in missing.stderr
    assert f"{tmp_path / 'no-such-run'}: no such run folder" in missing.stderr
    bad = _student(cli, tweets_dir, tmp_path, teacher, "-p", "distill_alpha=2", expect=2)
    assert "distill_alpha" in bad.stderr


def test_a_teacher_id_is_looked_up_under_runs_dir_and_recorded_as_its_folder(
    cli, tweets_dir, tmp_path, teacher
):
    """teacher=<run id> finds the run under --runs-dir (not ./runs), and run.json records the
    run's folder, which every worker reads."""
    payload = json.loads(_student(cli, tweets_dir, tmp_path, teacher.name, "--json").stdout)
    info = json.loads((Path(payload["path"]) / "run.json").read_text())
    assert info["params"]["teacher"] == str(teacher.resolve())
    assert {f["fit_info"]["teacher"] for f in info["fold_scores"]} == {str(teacher.resolve())}
    missing = _student(cli, tweets_dir, tmp_path, "nosuchrun", expect=2)
    assert missing.stderr.strip().startswith(
        f"Error: dense: teacher=nosuchrun: no run 'nosuchrun' in {tmp_path / 'runs'}"
    )
