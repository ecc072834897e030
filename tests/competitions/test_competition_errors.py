"""Bad competition files get one clear line (file, column or row, what to do), exit
status 2 and no run; competition options also come from --config."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from support.competitions import make_data, run_cli, run_json


def fails(args, *needles, runs_dir=None):
    result = run_cli(args, expect=2)
    lines = result.stderr.strip().splitlines()  # progress lines may come first
    error = lines[-1]
    assert error.startswith("Error: ") and sum(x.startswith("Error") for x in lines) == 1, lines
    for needle in needles:
        assert needle in error, error
    if runs_dir is not None:
        assert not any(Path(runs_dir).glob("*/*")), "a failed command leaves no run"
    return error


def cv(alias, directory, runs_dir, *extra):
    return [
        "cv",
        alias,
        "--model",
        "tfidf-nb",
        "--folds",
        "2",
        "--data-dir",
        directory,
        "--runs-dir",
        runs_dir,
        *extra,
    ]


@pytest.fixture
def acl(tmp_path):
    return make_data(tmp_path / "data", "aclImdb", n_train=60, n_test=20)


def test_acl_stray_file_in_a_review_folder(acl, tmp_path):
    (acl / "train" / "pos" / "notes.txt").write_text("hello")
    fails(
        cv("aclimdb", acl, tmp_path / "runs"),
        "notes.txt",
        "<id>_<rating>.txt",
        runs_dir=tmp_path / "runs",
    )


def test_acl_review_that_is_not_utf8(acl, tmp_path):
    bad = next((acl / "train" / "neg").glob("*.txt"))
    bad.write_bytes(b"caf\xe9 was bad")
    fails(cv("aclimdb", acl, tmp_path / "runs"), bad.name, "0xe9", "--encoding")
    # and --encoding latin-1 reads it
    run_json(cv("aclimdb", acl, tmp_path / "runs", "--encoding", "latin-1"))


def test_acl_short_urls_file(acl, tmp_path):
    urls = acl / "train" / "urls_pos.txt"
    urls.write_text("\n".join(urls.read_text().splitlines()[:5]) + "\n")
    fails(cv("aclimdb", acl, tmp_path / "runs"), "urls_pos.txt", "5 lines")


def test_acl_missing_polarity_folder(acl):
    for f in (acl / "test" / "neg").glob("*"):
        f.unlink()
    (acl / "test" / "neg").rmdir()
    fails(["data", "aclimdb", "--data-dir", acl], "test/neg", "folder not found")


def test_acl_without_url_files_has_no_groups(acl, tmp_path):
    for f in (acl / "train").glob("urls_*.txt"):
        f.unlink()
    out = run_json(cv("aclimdb", acl, tmp_path / "runs"))
    assert json.loads((Path(out["run_dir"]) / "run.json").read_text())["cv_scheme"] == "stratified"
    fails(cv("aclimdb", acl, tmp_path / "runs", "--cv", "group"), "no group column 'movie'")


def test_tutorial_label_outside_zero_one(tmp_path):
    directory = make_data(tmp_path / "data", "word2vec-nlp-tutorial", n_train=40, n_test=10)
    path = directory / "labeledTrainData.tsv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("\t1\t", "\t2\t").replace("\t0\t", "\t2\t")
    path.write_text("\n".join(lines) + "\n")
    fails(
        cv("imdb", directory, tmp_path / "runs"),
        "labeledTrainData.tsv",
        "'sentiment'",
        "value '2'",
        "row 3",
    )


def test_50k_label_that_is_not_positive_or_negative(tmp_path):
    directory = make_data(tmp_path / "data", "imdb-dataset-of-50k-movie-reviews", n_train=40)
    path = directory / "IMDB Dataset.csv"
    frame = pd.read_csv(path)
    frame.loc[7, "sentiment"] = "neutral"
    frame.to_csv(path, index=False)
    fails(cv("imdb-50k", directory, tmp_path / "runs"), "'neutral'", "row 8", "negative, positive")


def test_quora_duplicate_qid_and_jigsaw_missing_label_column(tmp_path):
    quora = make_data(tmp_path / "q", "quora-insincere-questions-classification", n_train=60)
    frame = pd.read_csv(quora / "train.csv", dtype=str)
    frame.loc[5, "qid"] = frame.loc[2, "qid"]
    frame.to_csv(quora / "train.csv", index=False)
    fails(cv("quora", quora, tmp_path / "runs"), "'qid'", "rows 3, 6", "unique")

    jigsaw = make_data(tmp_path / "j", "jigsaw-toxic-comment-classification-challenge", n_train=60)
    frame = pd.read_csv(jigsaw / "train.csv", dtype=str).drop(columns=["threat"])
    frame.to_csv(jigsaw / "train.csv", index=False)
    fails(cv("jigsaw", jigsaw, tmp_path / "runs"), "train.csv", "missing column 'threat'")


def test_group_cv_without_a_group_column(tmp_path):
    jigsaw = make_data(tmp_path / "j", "jigsaw-toxic-comment-classification-challenge", n_train=60)
    fails(cv("jigsaw", jigsaw, tmp_path / "runs", "--cv", "group"), "declares no group column")


def test_multilingual_validation_id_also_in_train(tmp_path):
    directory = make_data(
        tmp_path / "m", "jigsaw-multilingual-toxic-comment-classification", n_train=60, n_test=20
    )
    train_id = pd.read_csv(directory / "jigsaw-toxic-comment-train.csv", dtype=str)["id"][0]
    valid = pd.read_csv(directory / "validation.csv", dtype=str)
    valid.loc[0, "id"] = train_id
    valid.to_csv(directory / "validation.csv", index=False)
    fails(
        cv("jigsaw-multilingual", directory, tmp_path / "runs", "--validation-as-fold"),
        "validation.csv",
        train_id,
        "also in jigsaw-toxic-comment-train.csv",
    )


def test_competition_options_from_a_config_file(tmp_path):
    directory = make_data(
        tmp_path / "m", "jigsaw-multilingual-toxic-comment-classification", n_train=60, n_test=20
    )
    config = tmp_path / "run.toml"
    config.write_text('model = "tfidf-nb"\n[params]\ntrain_on_validation = true\nalpha = 0.5\n')
    out = run_json(
        [
            "cv",
            "jigsaw-multilingual",
            "--config",
            config,
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path / "runs",
            "--validation-as-fold",
        ]
    )
    info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert info["held_out"] is False and info["params"] == {"alpha": 0.5, "max_features": None}
    # -p wins over the config file
    out = run_json(
        [
            "cv",
            "jigsaw-multilingual",
            "--config",
            config,
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path / "runs",
            "--validation-as-fold",
            "-p",
            "train_on_validation=false",
        ]
    )
    assert out["held_out"] is True
