"""kagglekit score RUN --labels FILE: local evaluation of test predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from support.competitions import make_data, run_cli, run_json

JIGSAW = "jigsaw-toxic-comment-classification-challenge"
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


@pytest.fixture(scope="module")
def jigsaw_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("jigsaw")
    directory = make_data(root, JIGSAW, n_train=200, n_test=120)
    runs = root / "runs"
    out = run_json(
        [
            "cv",
            "jigsaw",
            "--model",
            "tfidf-nb",
            "--folds",
            "2",
            "--data-dir",
            directory,
            "--runs-dir",
            runs,
        ]
    )
    return directory, runs, out


def test_jigsaw_minus_one_rows_are_not_scored(jigsaw_run):
    directory, runs, out = jigsaw_run
    result = run_json(["score", out["run_id"], "--runs-dir", runs])
    labels = pd.read_csv(directory / "test_labels.csv", dtype={"id": str})
    scored = labels[(labels[LABELS] != -1).all(axis=1)]
    assert 0 < len(scored) < len(labels)
    assert result["n_scored"] == len(scored)
    assert result["n_unscored"] == len(labels) - len(scored)
    preds = pd.read_csv(f"{out['run_dir']}/test_predictions.csv", dtype={"id": str}).set_index("id")
    p = preds.loc[scored["id"]]
    # mean over the label columns that hold both classes among the scored rows
    both = [c for c in LABELS if scored[c].nunique() == 2]
    assert len(both) >= 4
    expected = np.mean([roc_auc_score(scored[c], p[c]) for c in both])
    assert result["test_scores"]["mean_auc"] == pytest.approx(expected, abs=1e-6)
    # the OOF scores stay what they were: scoring does not change the run
    assert result["scores"] == out["scores"]


def test_explicit_labels_file_and_its_errors(jigsaw_run, tmp_path):
    directory, runs, out = jigsaw_run
    labels = pd.read_csv(directory / "test_labels.csv", dtype=str)
    copy = tmp_path / "labels.csv"
    labels.iloc[:50].to_csv(copy, index=False)
    result = run_json(["score", out["run_id"], "--runs-dir", runs, "--labels", copy])
    assert result["n_scored"] + result["n_unscored"] == 50 and result["labels"] == str(copy)

    bad = labels.copy()
    bad.loc[bad.index[bad["toxic"] != "-1"][0], "toxic"] = "2"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    error = run_cli(
        ["score", out["run_id"], "--runs-dir", runs, "--labels", tmp_path / "bad.csv"], expect=2
    ).stderr
    assert "column 'toxic' has value '2'" in error and len(error.strip().splitlines()) == 1

    unknown = labels.copy()
    unknown.loc[unknown.index[unknown["toxic"] != "-1"][0], "id"] = "ffffffffffffffff"
    unknown.to_csv(tmp_path / "unknown.csv", index=False)
    error = run_cli(
        ["score", out["run_id"], "--runs-dir", runs, "--labels", tmp_path / "unknown.csv"], expect=2
    ).stderr
    assert "no test prediction for id 'ffffffffffffffff'" in error

    error = run_cli(
        ["score", out["run_id"], "--runs-dir", runs, "--labels", tmp_path / "absent.csv"], expect=2
    ).stderr
    assert "absent.csv: not found" in error

    only_unscored = labels.assign(**{c: "-1" for c in LABELS})
    only_unscored.to_csv(tmp_path / "none.csv", index=False)
    error = run_cli(
        ["score", out["run_id"], "--runs-dir", runs, "--labels", tmp_path / "none.csv"], expect=2
    ).stderr
    assert "nothing to score" in error


def test_acl_imdb_test_folders_are_the_labels(tmp_path):
    directory = make_data(tmp_path, "aclImdb", n_train=160, n_test=80)
    out = run_json(
        [
            "cv",
            "aclimdb",
            "--model",
            "tfidf-lr",
            "--folds",
            "2",
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path / "runs",
        ]
    )
    default = run_json(["score", out["run_id"], "--runs-dir", tmp_path / "runs"])
    from_root = run_json(
        ["score", out["run_id"], "--runs-dir", tmp_path / "runs", "--labels", directory]
    )
    assert default["test_scores"] == from_root["test_scores"]
    assert default["n_scored"] == 80 and default["n_unscored"] == 0
    preds = pd.read_csv(f"{out['run_dir']}/test_predictions.csv", dtype={"id": str})
    truth = preds["id"].str.startswith("pos/").astype(int)
    accuracy = ((preds["sentiment"] >= default["threshold"]).astype(int) == truth).mean()
    assert default["test_scores"]["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert default["test_scores"]["auc"] == pytest.approx(
        roc_auc_score(truth, preds["sentiment"]), abs=1e-6
    )


def test_labels_for_any_competition_with_ids(tmp_path):
    directory = make_data(tmp_path, "nlp-getting-started", n_train=150, n_test=50)
    out = run_json(
        [
            "cv",
            "disaster-tweets",
            "--model",
            "tfidf-nb",
            "--folds",
            "2",
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path / "runs",
        ]
    )
    error = run_cli(["score", out["run_id"], "--runs-dir", tmp_path / "runs"], expect=2).stderr
    assert "declares no test labels file; pass --labels FILE" in error
    test = pd.read_csv(directory / "test.csv", dtype=str)
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"id": test["id"], "target": [i % 2 for i in range(len(test))]}).to_csv(
        labels, index=False
    )
    result = run_json(["score", out["run_id"], "--runs-dir", tmp_path / "runs", "--labels", labels])
    assert result["n_scored"] == 50 and set(result["test_scores"]) == {"f1", "accuracy", "auc"}
