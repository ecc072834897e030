"""cv / fit / predict / submit end to end on generated Disaster Tweets files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from support import run_kagglekit


@pytest.fixture
def cv_run(cli, tweets_dir):
    return cli.json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-lr",
        "--folds",
        "5",
        "--seed",
        "42",
        "--data-dir",
        tweets_dir.parent,
    )


def test_cv_run_directory_is_complete_and_consistent(cv_run, tweets_dir):
    run_dir = Path(cv_run["run_dir"])
    assert run_dir.parent.name == "nlp-getting-started"
    assert run_dir.parent.parent.name == "runs"
    for name in ("run.json", "folds.csv", "oof.csv", "test_predictions.csv", "test_folds.npy"):
        assert (run_dir / name).is_file(), name
    assert sorted(p.name for p in (run_dir / "models").iterdir()) == [f"fold-{k}" for k in range(5)]
    assert not list(run_dir.parent.glob(".tmp-*"))

    train = pd.read_csv(tweets_dir / "train.csv")
    folds = pd.read_csv(run_dir / "folds.csv")
    oof = pd.read_csv(run_dir / "oof.csv")
    # every row validated exactly once, in the file's order
    assert folds["id"].tolist() == train["id"].tolist() == oof["id"].tolist()
    assert sorted(folds["fold"].unique()) == [0, 1, 2, 3, 4]
    sizes = folds["fold"].value_counts()
    assert sizes.max() - sizes.min() <= 1
    # stratified: each fold's positive rate close to the overall one
    rate = train["target"].mean()
    for k in range(5):
        assert abs(train["target"][folds["fold"] == k].mean() - rate) < 0.02

    info = json.loads((run_dir / "run.json").read_text())
    y, p = train["target"].to_numpy(), oof["target"].to_numpy()
    threshold = info["threshold"]
    assert info["scores"]["f1"] == pytest.approx(f1_score(y, p >= threshold), abs=1e-6)
    assert info["scores"]["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-6)
    assert info["scores"]["accuracy"] == pytest.approx(np.mean((p >= threshold) == y), abs=1e-6)
    assert cv_run["scores"] == info["scores"]
    # the threshold is the best one on OOF, not a fixed 0.5
    grid = np.unique(p)
    best = max(f1_score(y, p >= t) for t in grid)
    assert info["scores"]["f1"] == pytest.approx(best, abs=1e-6)
    assert [f["fold"] for f in info["fold_scores"]] == [0, 1, 2, 3, 4]
    assert info["n_folds"] == 5 and info["seed"] == 42 and info["params"]["C"] == 4.0
    assert info["scores"]["auc"] > 0.8  # the generated sample is learnable

    test_pred = pd.read_csv(run_dir / "test_predictions.csv")
    per_fold = np.load(run_dir / "test_folds.npy")
    assert per_fold.shape == (5, 100, 1)
    np.testing.assert_allclose(test_pred["target"], per_fold.mean(axis=0)[:, 0], atol=1e-6)


def test_json_output_is_one_object_with_contract_keys(cli, tweets_dir):
    result = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--data-dir",
        tweets_dir,
        "--json",
    )
    payload = json.loads(result.stdout)  # the whole of stdout is one JSON object
    assert {"run_dir", "competition", "model", "scores"} <= set(payload)
    assert payload["competition"] == "nlp-getting-started"
    assert set(payload["scores"]) == {"f1", "accuracy", "auc"}


def test_same_seed_same_oof_other_seed_other_folds(cli, tweets_dir):
    args = ("cv", "disaster-tweets", "--model", "nbsvm", "--folds", "3", "--data-dir", tweets_dir)
    a = cli.json(*args, "--seed", "7")
    b = cli.json(*args, "--seed", "7", "--new")  # computed again: a run is never overwritten
    c = cli.json(*args, "--seed", "8")
    assert a["run_dir"] != b["run_dir"]
    oof_a = pd.read_csv(Path(a["run_dir"]) / "oof.csv")
    oof_b = pd.read_csv(Path(b["run_dir"]) / "oof.csv")
    pd.testing.assert_frame_equal(oof_a, oof_b)
    folds_a = pd.read_csv(Path(a["run_dir"]) / "folds.csv")["fold"]
    folds_c = pd.read_csv(Path(c["run_dir"]) / "folds.csv")["fold"]
    assert (folds_a != folds_c).any()


def test_the_same_cv_command_again_reuses_the_finished_run(cli, tweets_dir):
    args = (
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--model",
        "nbsvm",
        "--folds",
        "3",
        "--ensemble",
        "mean",
        "--data-dir",
        tweets_dir,
    )
    first = cli.json(*args)
    runs = Path("runs") / "nlp-getting-started"
    made = sorted(p.name for p in runs.iterdir())
    assert len(made) == 3  # two models and their blend
    again = cli(*args, "--json")
    assert "job start" not in again.stderr and "job done" not in again.stderr
    for member in first["runs"]:
        assert f"Reused run {member['run_id']}: a finished cv run of the same jobs" in again.stderr
    assert f"Reused blend run {first['run_id']}" in again.stderr
    assert "add --new to compute a fresh run" in again.stderr
    payload = json.loads(again.stdout)
    assert payload["run_dir"] == first["run_dir"]
    assert [r["run_dir"] for r in payload["runs"]] == [r["run_dir"] for r in first["runs"]]
    assert sorted(p.name for p in runs.iterdir()) == made  # nothing added, nothing left behind
    # anything that changes a job is another run; --new computes the same jobs again
    other = cli.json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "-p",
        "alpha=0.5",
        "--data-dir",
        tweets_dir,
    )
    assert other["run_dir"] not in [r["run_dir"] for r in first["runs"]]
    fresh = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--new",
        "--data-dir",
        tweets_dir,
        "--json",
    )
    assert "Reused" not in fresh.stderr and "job start" in fresh.stderr
    fresh = json.loads(fresh.stdout)
    assert fresh["run_dir"] != first["runs"][0]["run_dir"]
    assert fresh["scores"] == first["runs"][0]["scores"]
    # a fit too, as long as the threshold it takes is the same
    fit = cli.json("fit", "disaster-tweets", "--model", "nbsvm", "--data-dir", tweets_dir)
    same = cli("fit", "disaster-tweets", "--model", "nbsvm", "--data-dir", tweets_dir, "--json")
    assert f"Reused run {fit['run_id']}: a finished fit run" in same.stderr
    assert json.loads(same.stdout)["run_dir"] == fit["run_dir"]
    own = cli.json(
        "fit", "disaster-tweets", "--model", "nbsvm", "--threshold", "0.3", "--data-dir", tweets_dir
    )
    assert own["run_dir"] != fit["run_dir"] and own["threshold"] == 0.3


def test_several_models_share_identical_folds(cli, tweets_dir):
    out = cli.json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--model",
        "nbsvm",
        "--folds",
        "3",
        "--data-dir",
        tweets_dir,
        "-p",
        "nbsvm.C=2",
        "-p",
        "alpha=0.5",
    )
    assert [r["model"] for r in out["runs"]] == ["tfidf-nb", "nbsvm"]
    folds = [pd.read_csv(Path(r["run_dir"]) / "folds.csv") for r in out["runs"]]
    pd.testing.assert_frame_equal(*folds)
    infos = [json.loads((Path(r["run_dir"]) / "run.json").read_text()) for r in out["runs"]]
    assert infos[0]["params"]["alpha"] == 0.5 and infos[1]["params"]["alpha"] == 0.5
    assert infos[1]["params"]["C"] == 2.0


def test_config_file_params(cli, tweets_dir, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        'model = "tfidf-lr"\nfolds = 3\nseed = 5\n[params]\nC = 0.5\n'
        "[params.tfidf-lr]\nmin_df = 1\n"
    )
    out = cli.json(
        "cv", "disaster-tweets", "--config", config, "--data-dir", tweets_dir, "-p", "min_df=3"
    )
    info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert info["params"]["C"] == 0.5 and info["params"]["min_df"] == 3  # -p wins
    assert info["n_folds"] == 3 and info["seed"] == 5


def test_fit_predict_submit(cli, tweets_dir, tmp_path):
    cv = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "3", "--data-dir", tweets_dir
    )
    fit = cli.json(
        "fit",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--threshold-from",
        cv["run_id"],
        "--data-dir",
        tweets_dir,
    )
    fit_dir = Path(fit["run_dir"])
    info = json.loads((fit_dir / "run.json").read_text())
    assert info["kind"] == "fit" and info["scores"] == {}
    assert info["threshold"] == cv["threshold"] and info["threshold_source"] == cv["run_id"]
    assert (fit_dir / "models" / "full").is_dir()

    # predict in a new process, from a CSV with only the text column
    new = tmp_path / "new_tweets.csv"
    pd.DataFrame({"text": ["forest fire evacuation emergency", "love this song party"]}).to_csv(
        new, index=False
    )
    out_csv = tmp_path / "preds.csv"
    proc = run_kagglekit(
        "predict",
        fit["run_id"],
        "--input",
        new,
        "--output",
        out_csv,
        "--runs-dir",
        Path("runs").resolve(),
    )
    assert proc.returncode == 0, proc.stderr
    preds = pd.read_csv(out_csv)
    assert preds.columns.tolist() == ["row", "target", "target_label"]
    assert preds["target"][0] > 0.5 > preds["target"][1]

    # predict with a cv run averages its fold models; ids kept when present
    test = pd.read_csv(tweets_dir / "test.csv").head(5)
    test.to_csv(tmp_path / "few.csv", index=False)
    result = cli("predict", cv["run_id"], "--input", tmp_path / "few.csv")
    frame = pd.read_csv(__import__("io").StringIO(result.stdout))
    assert frame["id"].tolist() == test["id"].tolist()
    expected = pd.read_csv(Path(cv["run_dir"]) / "test_predictions.csv").head(5)
    np.testing.assert_allclose(frame["target"], expected["target"], atol=1e-6)

    # submit the fit run: ids in sample order, 0/1 from the CV threshold
    sub = cli.json("submit", fit["run_id"])
    path = Path(sub["path"])
    assert path == (Path("submissions") / "nlp-getting-started" / f"{fit['run_id']}.csv").resolve()
    submission = pd.read_csv(path)
    sample = pd.read_csv(tweets_dir / "sample_submission.csv")
    assert submission.columns.tolist() == ["id", "target"]
    assert submission["id"].tolist() == sample["id"].tolist()
    probs = pd.read_csv(fit_dir / "test_predictions.csv").set_index("id")["target"]
    expected = (probs.loc[sample["id"]].to_numpy() >= cv["threshold"]).astype(int)
    assert submission["target"].tolist() == expected.tolist()


def test_submit_defaults_to_best_cv_run(cli, tweets_dir):
    weak = cli.json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--data-dir",
        tweets_dir,
        "-p",
        "max_features=2",
    )
    strong = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-lr", "--folds", "3", "--data-dir", tweets_dir
    )
    assert strong["scores"]["f1"] > weak["scores"]["f1"]
    sub = cli.json("submit")
    assert sub["run_id"] == strong["run_id"]
    listed = cli.json("runs", "disaster-tweets")["runs"]
    assert {r["run_id"] for r in listed} == {weak["run_id"], strong["run_id"]}


def test_sample_mode_says_so_and_runs(cli):
    result = cli(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "3", "--sample", "--json"
    )
    assert "generated sample" in result.stderr
    payload = json.loads(result.stdout)
    info = json.loads((Path(payload["run_dir"]) / "run.json").read_text())
    assert info["sample"] is True
    sample_train = Path("runs/_samples/nlp-getting-started/train.csv")
    header = sample_train.read_text().splitlines()[0]
    assert header == "id,keyword,location,text,target"


def test_data_lookup_order(cli, tweets_dir, tmp_path, monkeypatch):
    # ./input/<slug> is found without any option
    local = Path("input") / "nlp-getting-started"
    local.mkdir(parents=True)
    for f in tweets_dir.iterdir():
        (local / f.name).write_bytes(f.read_bytes())
    assert cli.json("data", "disaster-tweets")["path"] == str(local)
    # $KAGGLEKIT_DATA/<slug> wins over ./input
    monkeypatch.setenv("KAGGLEKIT_DATA", str(tweets_dir.parent))
    assert cli.json("data", "disaster-tweets")["path"] == str(tweets_dir)
    # --data-dir wins over both, as the folder itself or a root holding <slug>/
    other = tmp_path / "other"
    from support import make_competition_dir

    made = make_competition_dir("disaster-tweets", other, n_train=50, n_test=10)
    assert cli.json("data", "disaster-tweets", "--data-dir", other)["path"] == str(made)
    assert cli.json("data", "disaster-tweets", "--data-dir", made)["n_train"] == 50


def test_an_explicit_data_dir_is_used_or_refused_never_passed_over(
    cli, tweets_dir, tmp_path, monkeypatch
):
    from support import one_line_error

    monkeypatch.setenv("KAGGLEKIT_DATA", str(tweets_dir.parent))  # would have the files
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (
        ("data", "disaster-tweets"),
        ("cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2"),
    ):
        line = one_line_error(cli(*command, "--data-dir", empty, expect=None))
        assert line.startswith(
            f"Error: --data-dir {empty}: no train.csv for nlp-getting-started "
            f"in it or in {empty / 'nlp-getting-started'} (it is empty)"
        ), line
        assert str(tweets_dir) not in line
    (empty / "notes.txt").write_text("x")
    line = one_line_error(cli("data", "disaster-tweets", "--data-dir", empty, expect=None))
    assert "(it holds notes.txt)" in line
    assert not Path("runs").exists()


def test_a_kagglekit_data_that_is_not_a_folder_is_said_plainly(
    cli, tweets_dir, tmp_path, monkeypatch
):
    from support import one_line_error

    wrong = tmp_path / "kagle-data"  # misspelled
    monkeypatch.setenv("KAGGLEKIT_DATA", str(wrong))
    line = one_line_error(cli("data", "disaster-tweets", expect=None))
    assert f"KAGGLEKIT_DATA={wrong} does not exist (misspelled?)" in line
    local = Path("input") / "nlp-getting-started"
    local.mkdir(parents=True)
    for f in tweets_dir.iterdir():
        (local / f.name).write_bytes(f.read_bytes())
    result = cli("data", "disaster-tweets", "--json")
    assert json.loads(result.stdout)["path"] == str(local)
    warnings = [x for x in result.stderr.splitlines() if x.startswith("Warning: ")]
    assert warnings == [
        f"Warning: KAGGLEKIT_DATA={wrong} does not exist (misspelled?); using {local} instead"
    ]
    monkeypatch.setenv("KAGGLEKIT_DATA", str(tweets_dir.parent))  # a good one: nothing said
    result = cli("data", "disaster-tweets")
    assert "Warning" not in result.stderr
    monkeypatch.setenv(
        "KAGGLEKIT_DATA", str(tmp_path / "data" / "nlp-getting-started" / "train.csv")
    )  # a file
    assert "is a file, not a folder" in cli("data", "disaster-tweets").stderr


def test_kaggle_input_is_looked_up_last(cli, tweets_dir, monkeypatch):
    import kagglekit.data

    monkeypatch.setattr(kagglekit.data, "KAGGLE_INPUT", tweets_dir.parent)
    assert cli.json("data", "disaster-tweets")["path"] == str(tweets_dir)


def test_zipped_files_as_kaggle_notebooks_mount_them(cli, tweets_dir):
    """/kaggle/input/<slug> may hold train.csv.zip instead of train.csv (Jigsaw does)."""
    import zipfile

    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        with zipfile.ZipFile(tweets_dir / f"{name}.zip", "w") as archive:
            archive.write(tweets_dir / name, arcname=name)
        (tweets_dir / name).unlink()
    out = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "3", "--data-dir", tweets_dir
    )
    assert out["scores"]["auc"] > 0.8
    info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert info["n_train"] == 300 and info["n_test"] == 100
    sub = pd.read_csv(cli.json("submit", out["run_id"])["path"])
    assert len(sub) == 100
    (tweets_dir / "train.csv.zip").write_bytes(b"not a zip")
    result = cli("cv", "disaster-tweets", "--model", "tfidf-nb", "--data-dir", tweets_dir, expect=2)
    assert "train.csv.zip: not a valid zip file" in result.stderr
