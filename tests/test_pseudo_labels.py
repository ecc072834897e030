"""Pseudo-labels: `kagglekit pseudo-label RUN` and `cv --data-dir` on the derived dataset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kagglekit.pseudo import LABELS_FILE, PSEUDO_FILE, confidence, select_rows
from support import one_line_error


def test_select_rows_by_confidence_and_by_top_fraction():
    pred = np.array([0.99, 0.5, 0.02, 0.8, 0.96, 0.3])
    assert confidence(pred).tolist() == pytest.approx([0.99, 0.5, 0.98, 0.8, 0.96, 0.7])
    assert select_rows(pred, min_confidence=0.95).tolist() == [0, 2, 4]
    assert select_rows(pred, top=0.5).tolist() == [0, 2, 4]
    assert select_rows(pred, top=0.34).tolist() == [0, 2]
    # several targets: the least confident target decides
    multi = np.array([[0.99, 0.6], [0.99, 0.01]])
    assert select_rows(multi, min_confidence=0.9).tolist() == [1]
    with pytest.raises(Exception, match="exactly one"):
        select_rows(pred, min_confidence=0.9, top=0.1)


@pytest.fixture
def base_run(cli, tweets_dir, tmp_path):
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
    return Path(payload["path"])


def _pseudo(cli, run, tmp_path, *args):
    out = tmp_path / "pseudo"
    record = cli.json("pseudo-label", run, "--output", out, "--runs-dir", tmp_path / "runs", *args)
    return out, record


def test_pseudo_rows_train_every_fold_and_are_never_scored(cli, base_run, tmp_path):
    out, record = _pseudo(cli, base_run, tmp_path, "--top", "0.3")
    assert record["n_pseudo"] == 30 and record["n_test"] == 100 and not record["soft"]
    labels = pd.read_csv(out / LABELS_FILE, dtype={"id": str})
    test_pred = pd.read_csv(base_run / "test_predictions.csv", dtype={"id": str}).set_index("id")
    # the 30 most confident test rows, labelled 0/1 at 0.5
    conf = np.maximum(test_pred["target"], 1 - test_pred["target"])
    assert set(labels["id"]) == set(conf.sort_values(ascending=False).index[:30])
    assert (
        labels.set_index("id")["target"]
        == (test_pred.loc[labels["id"], "target"] >= 0.5).astype(int)
    ).all()

    payload = cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
    )
    run = Path(payload["path"])
    info = json.loads((run / "run.json").read_text())
    base_info = json.loads((base_run / "run.json").read_text())
    assert info["pseudo"]["n_pseudo"] == 30
    assert info["pseudo"]["source_run"] == base_run.name and info["pseudo"]["top"] == 0.3
    assert info["n_train"] == base_info["n_train"] + 30
    assert info["n_scored"] == base_info["n_train"]
    # the scores are labelled: the pseudo labels came from models that saw the scored rows
    assert info["held_out"] is False
    assert any("pseudo" in r for r in info["not_held_out_because"])
    # pseudo rows are never in oof.csv; the real rows are, with the folds of the base run
    oof = pd.read_csv(run / "oof.csv", dtype={"id": str})
    base_oof = pd.read_csv(base_run / "oof.csv", dtype={"id": str})
    assert sorted(oof["id"]) == sorted(base_oof["id"])
    assert not set(oof["id"]) & set(labels["id"])
    folds = pd.read_csv(run / "folds.csv", dtype={"id": str}).set_index("id")["fold"]
    base_folds = pd.read_csv(base_run / "folds.csv", dtype={"id": str}).set_index("id")["fold"]
    assert (folds.loc[base_folds.index] == base_folds).all()
    assert (folds.loc[labels["id"]] == -1).all()
    assert len(folds) == len(base_folds) + 30
    # each fold trained on its other folds plus the 30 pseudo rows
    n_real = base_info["n_train"]
    for fold in info["fold_scores"]:
        k = fold["fold"]
        assert fold["n_valid"] == int((base_folds == k).sum())
        assert fold["n_train"] == n_real - fold["n_valid"] + 30


def test_soft_labels_are_the_training_targets(cli, base_run, tmp_path):
    from kagglekit import plugins
    from kagglekit.cli.options import data_options_from, load_data
    from kagglekit.cv import run_cv
    from kagglekit.folds import dataset_folds
    from kagglekit.model import Model

    out, record = _pseudo(cli, base_run, tmp_path, "--min-confidence", "0.6", "--soft")
    assert record["soft"] and record["n_pseudo"] > 0
    comp = plugins.get_competition("disaster-tweets")
    data = load_data(
        comp, data_options_from(str(out), False, "utf-8", False, True, tmp_path / "runs")
    )
    soft = pd.read_csv(out / LABELS_FILE, dtype={"id": str}).set_index("id")["target"]
    test_pred = pd.read_csv(base_run / "test_predictions.csv", dtype={"id": str}).set_index("id")
    assert np.allclose(soft, test_pred.loc[soft.index, "target"], atol=1e-6)
    assert not np.isin(soft, [0.0, 1.0]).all()  # really probabilities

    seen = []

    class Recorder(Model):
        name = "recorder"
        soft_targets = True

        def fit(self, train, valid=None):
            seen.append((list(map(str, train.ids)), train.y.copy(), list(map(str, valid.ids))))
            return self

        def predict(self, frame):
            return np.full((len(frame), 1), 0.5)

        def save(self, directory):
            self.save_params(directory)

    plan = dataset_folds(data, 3, 42)
    run_cv(
        comp, "recorder", Recorder, Recorder.Params(), data, folds=plan, runs_dir=tmp_path / "runs"
    )
    assert len(seen) == 3
    for ids, y, valid_ids in seen:
        frame = pd.Series(y[:, 0], index=ids)
        assert np.allclose(frame.loc[soft.index], soft.to_numpy(), atol=1e-6)  # soft targets
        assert not set(valid_ids) & set(soft.index)  # never a validation row
        real = frame.drop(soft.index)
        assert set(np.unique(real)) <= {0.0, 1.0}  # the real rows keep their 0/1 labels


def test_soft_labels_refused_for_a_model_that_needs_0_1(cli, base_run, tmp_path):
    out, _ = _pseudo(cli, base_run, tmp_path, "--top", "0.2", "--soft")
    result = cli(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    last = result.stderr.strip().splitlines()[-1]  # after the Data:/Note: lines, one error line
    assert "soft labels" in last and "tfidf-lr" in last
    assert not list((tmp_path / "runs" / "nlp-getting-started").glob("*-tfidf-lr-*"))[1:]


def test_pseudo_label_refuses_bad_input(cli, base_run, tmp_path):
    result = cli(
        "pseudo-label",
        base_run,
        "--min-confidence",
        "0.9999999",
        "--runs-dir",
        tmp_path / "runs",
        "--output",
        tmp_path / "none",
        expect=2,
    )
    assert "lower --min-confidence" in result.stderr
    assert not (tmp_path / "none").exists()
    out, first = _pseudo(cli, base_run, tmp_path, "--top", "0.1")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # the same command again returns the folder it made, untouched (like pretrain's cache)
    same = cli.json(
        "pseudo-label", base_run, "--top", "0.1", "--output", out, "--runs-dir", tmp_path / "runs"
    )
    assert same["existing"] is True and same["n_pseudo"] == first["n_pseudo"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # ...but not when its labels were edited since (or the source run changed)
    (out / LABELS_FILE).write_text("\n".join((out / LABELS_FILE).read_text().splitlines()[:3]))
    edited = cli(
        "pseudo-label",
        base_run,
        "--top",
        "0.1",
        "--output",
        out,
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert one_line_error(edited) == (
        f"Error: {out / LABELS_FILE}: differs from what run {base_run.name} gives by this "
        f"rule (edited, or the run changed); choose a new --output folder"
    )
    (out / LABELS_FILE).write_bytes(before[LABELS_FILE])
    again = cli(
        "pseudo-label",
        base_run,
        "--top",
        "0.2",
        "--output",
        out,
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert "already exists" in again.stderr and "not an empty folder" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    record = json.loads((out / PSEUDO_FILE).read_text())
    record["competition"] = "imdb"
    (out / PSEUDO_FILE).write_text(json.dumps(record))
    wrong = cli(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert "pseudo-labels for imdb" in wrong.stderr


def test_a_damaged_labels_file_is_refused_naming_the_row(cli, base_run, tmp_path):
    out, _ = _pseudo(cli, base_run, tmp_path, "--top", "0.1")
    good = (out / LABELS_FILE).read_text()
    header, first = good.splitlines()[:2]
    first_id = first.split(",")[0]
    for content, message in [
        (header + "\n", "has no rows"),
        (good + first + "\n", f"id '{first_id}' appears more than once"),
        (
            header + "\n" + first_id + ",0.7\n",
            "row 2 has label [0.7], but this set has hard labels (0 or 1)",
        ),
    ]:
        (out / LABELS_FILE).write_text(content)
        result = cli(
            "cv",
            "disaster-tweets",
            "--data-dir",
            out,
            "--model",
            "tfidf-lr",
            "--runs-dir",
            tmp_path / "runs",
            expect=2,
        )
        assert message in result.stderr and str(out / LABELS_FILE) in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_soft_pseudo_labels_train_a_keras_model(cli, base_run, tmp_path):
    pytest.importorskip("keras")
    out, _ = _pseudo(cli, base_run, tmp_path, "--top", "0.5", "--soft")
    tiny = {
        "units": 8,
        "embedding_dim": 8,
        "epochs": 2,
        "verbose": 0,
        "progress": False,
        "tensorboard": False,
        "batch_size": 16,
    }
    payload = cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "dense",
        "--folds",
        "2",
        "--runs-dir",
        tmp_path / "runs",
        *[f"-p{k}={v}" for k, v in tiny.items()],
    )
    info = json.loads((Path(payload["path"]) / "run.json").read_text())
    assert info["pseudo"]["soft"] is True and info["pseudo"]["n_pseudo"] == 50
    assert all(f["fit_info"]["n_fit"] > f["n_valid"] for f in info["fold_scores"])
    oof = pd.read_csv(Path(payload["path"]) / "oof.csv")
    assert len(oof) == info["n_scored"] == info["n_train"] - 50


def test_a_source_run_missing_test_rows_is_refused(cli, base_run, tmp_path):
    file = Path(base_run) / "test_predictions.csv"
    lines = file.read_text().splitlines(keepends=True)
    file.write_text("".join(lines[:-1]))
    result = cli(
        "pseudo-label",
        base_run,
        "--top",
        "0.1",
        "--runs-dir",
        tmp_path / "runs",
        "--output",
        tmp_path / "p",
        expect=2,
    )
    assert f"has {len(lines) - 2} rows, but run" in result.stderr
    assert f"predicted {len(lines) - 1} test rows" in result.stderr
    # the check lives in Run.test_predictions(): submit and blend refuse the file too
    twin = base_run.with_name(base_run.name + "-copy")  # blend refuses one run named twice
    shutil.copytree(base_run, twin)
    for command in (
        ["submit", base_run, "--output", tmp_path / "s.csv"],
        ["blend", base_run, twin],
    ):
        result = cli(*command, "--runs-dir", tmp_path / "runs", expect=2)
        assert f"{file}: has {len(lines) - 2} rows, but run" in result.stderr, command
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.csv").exists()
    assert not (tmp_path / "p").exists()


def test_output_that_is_a_file_is_one_line(cli, base_run, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    result = cli(
        "pseudo-label",
        base_run,
        "--top",
        "0.1",
        "--runs-dir",
        tmp_path / "runs",
        "--output",
        afile,
        expect=2,
    )
    assert result.stderr.strip().splitlines() == [
        f"Error: --output {afile}: already exists and is not an empty folder (nor this run's "
        f"labels by this rule); choose a new folder"
    ]
    assert afile.read_text() == "mine\n"


def test_a_moved_data_folder_and_sample_are_named(cli, base_run, tmp_path, tweets_dir):
    out, _ = _pseudo(cli, base_run, tmp_path, "--top", "0.2")
    sample = cli(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--sample",
        "--model",
        "tfidf-lr",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert sample.stderr.strip().splitlines()[-1] == (
        f"Error: --sample cannot be used with the pseudo-label folder {out}: its rows come "
        f"from {tweets_dir}; drop --sample"
    )
    moved = tmp_path / "moved"
    tweets_dir.rename(moved)
    result = cli(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--runs-dir",
        tmp_path / "runs",
        expect=2,
    )
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {out / PSEUDO_FILE}: its data_dir {tweets_dir} is not a folder (moved?); set "
        f"data_dir in that file to where the competition's files are now, or make the labels "
        f"again"
    )
    record = json.loads((out / PSEUDO_FILE).read_text())
    (out / PSEUDO_FILE).write_text(json.dumps({**record, "data_dir": str(moved)}))
    payload = cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
    )
    assert payload["scores"]


def test_a_pseudo_run_blends_with_its_source_and_the_blend_is_not_held_out(cli, base_run, tmp_path):
    out, _ = _pseudo(cli, base_run, tmp_path, "--top", "0.2")
    pseudo_run = cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
    )
    source_oof = pd.read_csv(base_run / "oof.csv")
    blends = []
    for members in ([base_run, pseudo_run["path"]], [pseudo_run["path"], base_run]):
        blend = cli.json("blend", *members, "--method", "mean", "--runs-dir", tmp_path / "runs")
        info = json.loads((Path(blend["path"]) / "run.json").read_text())
        assert info["held_out"] is False
        assert any("pseudo-labelled test rows" in why for why in info["not_held_out_because"])
        blend_oof = pd.read_csv(Path(blend["path"]) / "oof.csv")
        assert blend_oof["id"].astype(str).tolist() == source_oof["id"].astype(str).tolist()
        # whichever member comes first, the blend's folds are the source run's, byte for byte
        assert (Path(blend["path"]) / "folds.csv").read_bytes() == (
            base_run / "folds.csv"
        ).read_bytes()
        blends.append(blend["path"])
    # and the blend blends again, with the source run
    again = cli.json(
        "blend", blends[1], base_run, "--method", "mean", "--runs-dir", tmp_path / "runs"
    )
    assert json.loads((Path(again["path"]) / "run.json").read_text())["held_out"] is False
    data = {
        r["run_id"]: r["data"] for r in cli.json("runs", "--runs-dir", tmp_path / "runs")["runs"]
    }
    assert (
        data[Path(blends[0]).name]
        == f"members with pseudo-labelled rows: {pseudo_run['run_id']} (+20)"
    )


def test_data_counts_pseudo_rows_apart(cli, base_run, tmp_path, tweets_dir):
    out, record = _pseudo(cli, base_run, tmp_path, "--top", "0.2")
    plain = cli.json("data", "disaster-tweets", "--data-dir", tweets_dir)
    payload = cli.json("data", "disaster-tweets", "--data-dir", out)
    assert payload["n_train"] == plain["n_train"] == 300
    assert payload["positive_rate"] == plain["positive_rate"]
    assert payload["n_pseudo"] == record["n_pseudo"] == 20
    assert payload["pseudo_source_run"] == record["source_run"]
    assert payload["pseudo_soft"] is False and "n_pseudo" not in plain


def test_runs_shows_which_run_trained_on_pseudo_labels(cli, base_run, tmp_path):
    out, record = _pseudo(cli, base_run, tmp_path, "--top", "0.2")
    pseudo_run = cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
    )
    payload = cli.json("runs", "--runs-dir", tmp_path / "runs")
    data = {r["run_id"]: r["data"] for r in payload["runs"]}
    label = f"+20 pseudo-labelled (run {record['source_run']})"
    assert data == {base_run.name: "", pseudo_run["run_id"]: label}
    table = cli("runs", "--runs-dir", tmp_path / "runs").stdout
    line = next(line for line in table.splitlines() if pseudo_run["run_id"] in line)
    assert "+20 pseudo-labelled" in line


def test_every_fold_line_of_a_pseudo_run_says_not_held_out(cli, base_run, tmp_path, tweets_dir):
    out, _ = _pseudo(cli, base_run, tmp_path, "--top", "0.2")
    result = cli(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        tmp_path / "runs",
    )
    text = result.stdout + result.stderr
    fold_lines = [line for line in text.splitlines() if "fold " in line and "=" in line]
    assert len(fold_lines) == 3  # one progress line per fold (job done); the table below
    assert all("NOT held out" in line for line in fold_lines), fold_lines
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ fold")]
    assert len(rows) == 3 and all("fold " in r and "(NOT held out)" in r for r in rows), rows
    assert "(300 train rows + 20 pseudo-labelled, 100 test rows)" in result.stderr
    plain = cli(
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
    assert "held out" not in (plain.stdout + plain.stderr).replace("held-out", "")


def test_pseudo_labels_of_a_sample_run_stay_a_sample(cli, tmp_path):
    runs = tmp_path / "runs"
    source = cli.json(
        "cv",
        "disaster-tweets",
        "--sample",
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        runs,
    )
    out = tmp_path / "pseudo"
    cli.json("pseudo-label", source["path"], "--top", "0.2", "--output", out, "--runs-dir", runs)
    result = cli(
        "cv",
        "disaster-tweets",
        "--data-dir",
        out,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        runs,
        "--json",
    )
    run = json.loads(result.stdout)
    assert json.loads((Path(run["path"]) / "run.json").read_text())["sample"] is True
    assert "Using a generated sample" in result.stderr
    refused = cli("submit", run["path"], "--upload", "--runs-dir", runs, expect=2)
    assert "generated sample" in one_line_error(refused)
