"""Jigsaw multilingual: the official validation file as the scoring fold, training on it
(then the score is not held out), the optional unintended-bias training file, and the
test file's ``content`` column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support.competitions import make_data, run_cli, run_json

SLUG = "jigsaw-multilingual-toxic-comment-classification"
N_TRAIN, N_VALID, N_TEST = 150, 60, 40
FAST = ["-p", "max_word_features=2000", "-p", "max_char_features=2000"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("ml"), SLUG, n_train=N_TRAIN, n_test=N_TEST)


def cv(data_dir, runs_dir, *extra):
    return run_json(
        [
            "cv",
            "jigsaw-multilingual",
            "--model",
            "tfidf-lr",
            "--data-dir",
            data_dir,
            "--runs-dir",
            runs_dir,
            *FAST,
            *extra,
        ]
    )


def info(out) -> dict:
    return json.loads((Path(out["run_dir"]) / "run.json").read_text())


def test_validation_file_is_the_one_held_out_fold(data_dir, tmp_path):
    out = cv(data_dir, tmp_path, "--validation-as-fold")
    meta = info(out)
    assert meta["cv_scheme"] == "predefined" and meta["n_folds"] == 1
    assert meta["held_out"] is True and out["held_out"] is True
    assert meta["n_scored"] == N_VALID and meta["n_train"] == N_TRAIN + N_VALID
    assert meta["fold_scores"][0]["n_train"] == N_TRAIN
    assert meta["fold_scores"][0]["n_valid"] == N_VALID
    folds = pd.read_csv(Path(out["run_dir"]) / "folds.csv", dtype={"id": str})
    valid_ids = pd.read_csv(data_dir / "validation.csv", dtype=str)["id"]
    assert folds.loc[folds["id"].isin(valid_ids), "fold"].eq(0).all()
    assert folds.loc[~folds["id"].isin(valid_ids), "fold"].eq(-1).sum() == N_TRAIN
    oof = pd.read_csv(Path(out["run_dir"]) / "oof.csv", dtype={"id": str})
    assert sorted(oof["id"]) == sorted(valid_ids)  # OOF only where there is a held-out score
    # the score is the AUC of the OOF predictions on the validation labels
    from sklearn.metrics import roc_auc_score

    labels = pd.read_csv(data_dir / "validation.csv", dtype={"id": str}).set_index("id")["toxic"]
    assert out["scores"]["auc"] == pytest.approx(
        roc_auc_score(labels.loc[oof["id"]], oof["toxic"]), abs=1e-6
    )


def test_train_on_validation_says_the_score_is_not_held_out(data_dir, tmp_path):
    held = cv(data_dir, tmp_path, "--validation-as-fold")
    result = run_cli(
        [
            "cv",
            "jigsaw-multilingual",
            "--model",
            "tfidf-lr",
            "--data-dir",
            data_dir,
            "--runs-dir",
            tmp_path,
            *FAST,
            "--validation-as-fold",
            "-p",
            "train_on_validation=true",
            "--json",
        ]
    )
    out = json.loads(result.stdout)
    meta = info(out)
    assert out["held_out"] is False and meta["held_out"] is False
    assert meta["competition_params"]["train_on_validation"] is True
    assert meta["fold_scores"][0]["n_train"] == N_TRAIN + N_VALID  # trained on the scored rows
    assert "NOT held out" in result.stderr
    assert any("NOT held out" in note for note in meta["notes"])
    # training on the rows it is scored on can only look better
    assert out["scores"]["auc"] >= held["scores"]["auc"]
    listed = {r["run_id"]: r for r in run_json(["runs", "--runs-dir", tmp_path])["runs"]}
    assert listed[out["run_id"]]["held_out"] is False
    # submit without RUN never picks a score that is not held out
    picked = run_json(
        [
            "submit",
            "--competition",
            "jigsaw-multilingual",
            "--runs-dir",
            tmp_path,
            "--output",
            tmp_path / "sub.csv",
        ]
    )
    assert picked["run_id"] == held["run_id"]


def test_train_on_validation_without_the_fold_cross_validates_all_rows(data_dir, tmp_path):
    meta = info(cv(data_dir, tmp_path, "--folds", "3", "-p", "train_on_validation=true"))
    assert meta["n_train"] == N_TRAIN + N_VALID and meta["n_scored"] == N_TRAIN + N_VALID
    assert meta["held_out"] is True and meta["n_folds"] == 3


def test_plain_cv_uses_the_training_file_only(data_dir, tmp_path):
    meta = info(cv(data_dir, tmp_path, "--folds", "3"))
    assert meta["n_train"] == N_TRAIN and meta["competition_params"] == {
        "train_on_validation": False,
        "unintended_bias": False,
        "unintended_bias_threshold": 0.5,
    }


def test_fit_can_train_on_validation_too(data_dir, tmp_path):
    out = run_json(
        [
            "fit",
            "jigsaw-multilingual",
            "--model",
            "tfidf-nb",
            "--data-dir",
            data_dir,
            "--runs-dir",
            tmp_path,
            "-p",
            "train_on_validation=true",
        ]
    )
    assert info(out)["n_train"] == N_TRAIN + N_VALID


def test_unintended_bias_rows_are_added_with_the_toxic_share_threshold(data_dir, tmp_path):
    bias = pd.read_csv(data_dir / "jigsaw-unintended-bias-train.csv")
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset

    comp = plugins.get_competition("jigsaw-multilingual")
    for threshold in (0.5, 0.2):
        params = comp.params_class()(unintended_bias=True, unintended_bias_threshold=threshold)
        data = load_dataset(comp, DataOptions(data_dir=str(data_dir), competition_params=params))
        assert len(data.train) == N_TRAIN + len(bias)
        added = data.train.y[N_TRAIN:, 0]
        assert added.tolist() == (bias["toxic"] >= threshold).astype(int).tolist()
    meta = info(cv(data_dir, tmp_path, "--folds", "2", "-p", "unintended_bias=true"))
    assert meta["n_train"] == N_TRAIN + len(bias)


def test_unintended_bias_file_missing_is_one_clear_line(tmp_path):
    directory = make_data(tmp_path / "d", SLUG, n_train=80, n_test=20)
    (directory / "jigsaw-unintended-bias-train.csv").unlink()
    result = run_cli(
        [
            "cv",
            "jigsaw-multilingual",
            "--model",
            "tfidf-nb",
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path / "runs",
            "-p",
            "unintended_bias=true",
        ],
        expect=2,
    )
    assert "jigsaw-unintended-bias-train.csv not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any((tmp_path / "runs").glob("*/*"))  # nothing half-written


def test_bad_competition_param_value_is_refused(data_dir, tmp_path):
    result = run_cli(
        [
            "cv",
            "jigsaw-multilingual",
            "--model",
            "tfidf-nb",
            "--data-dir",
            data_dir,
            "--runs-dir",
            tmp_path,
            "-p",
            "train_on_validation=maybe",
        ],
        expect=2,
    )
    assert "train_on_validation='maybe'" in result.stderr


def test_validation_as_fold_needs_a_validation_file(tmp_path):
    directory = make_data(tmp_path / "q", "quora-insincere-questions-classification")
    result = run_cli(
        [
            "cv",
            "quora",
            "--model",
            "tfidf-nb",
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path / "runs",
            "--validation-as-fold",
        ],
        expect=2,
    )
    assert "has no official validation file" in result.stderr
    missing = make_data(tmp_path / "m", SLUG, n_train=80, n_test=20)
    (missing / "validation.csv").unlink()
    result = run_cli(
        [
            "cv",
            "jigsaw-multilingual",
            "--model",
            "tfidf-nb",
            "--data-dir",
            missing,
            "--runs-dir",
            tmp_path / "runs",
            "--validation-as-fold",
        ],
        expect=2,
    )
    assert "validation.csv not found" in result.stderr


def test_test_file_content_column_reaches_the_submission(data_dir, tmp_path):
    out = cv(data_dir, tmp_path, "--validation-as-fold")
    sub = run_json(
        ["submit", out["run_id"], "--runs-dir", tmp_path, "--output", tmp_path / "s.csv"]
    )
    frame = pd.read_csv(sub["path"])
    sample = pd.read_csv(data_dir / "sample_submission.csv")
    assert list(frame.columns) == ["id", "toxic"] and frame["id"].tolist() == sample["id"].tolist()
    assert frame["toxic"].between(0, 1).all() and frame["toxic"].nunique() > 2
    # predict accepts the test file's own column name
    preds = tmp_path / "p.csv"
    run_cli(
        [
            "predict",
            out["run_id"],
            "--runs-dir",
            tmp_path,
            "--input",
            data_dir / "test.csv",
            "--output",
            preds,
        ]
    )
    assert np.allclose(pd.read_csv(preds)["toxic"], frame["toxic"], atol=1e-6)


def test_runs_scored_on_the_validation_file_can_be_blended(data_dir, tmp_path):
    """oof.csv keeps the scored rows only while folds.csv keeps the -1 rows too: blends
    read both, and their labels come from the validation file."""
    out = run_json(
        [
            "cv",
            "jigsaw-multilingual",
            "--model",
            "tfidf-lr",
            "--model",
            "tfidf-nb",
            "--data-dir",
            data_dir,
            "--runs-dir",
            tmp_path,
            *[a.replace("max_", "tfidf-lr.max_") for a in FAST],
            "--validation-as-fold",
            "--ensemble",
            "mean",
        ]
    )
    members = [r["run_dir"] for r in out["runs"]]
    blend = json.loads((Path(out["blends"][0]["run_dir"]) / "run.json").read_text())
    oof = pd.read_csv(Path(out["blends"][0]["run_dir"]) / "oof.csv", dtype={"id": str})
    valid = pd.read_csv(data_dir / "validation.csv", dtype={"id": str}).set_index("id")
    assert sorted(oof["id"]) == sorted(valid.index) and blend["n_folds"] == 1
    from sklearn.metrics import roc_auc_score

    mean = (
        sum(
            pd.read_csv(Path(m) / "oof.csv", dtype={"id": str}).set_index("id")["toxic"]
            for m in members
        )
        / 2
    )
    assert blend["scores"]["auc"] == pytest.approx(
        roc_auc_score(valid.loc[mean.index, "toxic"], mean), abs=1e-5
    )


def test_a_blend_of_runs_not_held_out_is_not_held_out(data_dir, tmp_path):
    out = run_json(
        [
            "cv",
            "jigsaw-multilingual",
            "--model",
            "tfidf-lr",
            "--model",
            "tfidf-nb",
            "--data-dir",
            data_dir,
            "--runs-dir",
            tmp_path,
            *[a.replace("max_", "tfidf-lr.max_") for a in FAST],
            "--validation-as-fold",
            "-p",
            "train_on_validation=true",
            "--ensemble",
            "rank",
        ]
    )
    blend = json.loads((Path(out["blends"][0]["run_dir"]) / "run.json").read_text())
    assert blend["held_out"] is False and out["held_out"] is False
    assert all(
        "trained on the rows it was scored on" in why for why in blend["not_held_out_because"]
    )
