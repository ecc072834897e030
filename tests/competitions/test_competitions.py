"""The built-in competitions on fixtures generated in their exact schemas: files and
columns, loading, fold schemes, and every model running CV and a validated submission on
every competition."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kagglekit.data import DataOptions, load_dataset
from support.competitions import (
    COMPETITIONS,
    MODELS,
    competition,
    make_data,
    run_cli,
    run_json,
    small_params,
)

JIGSAW_LABELS = "toxic,severe_toxic,obscene,threat,insult,identity_hate"
# file -> exact header line, per competition (what the Kaggle downloads hold)
HEADERS = {
    "nlp-getting-started": {
        "train.csv": "id,keyword,location,text,target",
        "test.csv": "id,keyword,location,text",
        "sample_submission.csv": "id,target",
    },
    "jigsaw-toxic-comment-classification-challenge": {
        "train.csv": f"id,comment_text,{JIGSAW_LABELS}",
        "test.csv": "id,comment_text",
        "sample_submission.csv": f"id,{JIGSAW_LABELS}",
        "test_labels.csv": f"id,{JIGSAW_LABELS}",
    },
    "jigsaw-multilingual-toxic-comment-classification": {
        "jigsaw-toxic-comment-train.csv": f"id,comment_text,{JIGSAW_LABELS}",
        "validation.csv": "id,comment_text,lang,toxic",
        "test.csv": "id,content,lang",
        "sample_submission.csv": "id,toxic",
    },
    "quora-insincere-questions-classification": {
        "train.csv": "qid,question_text,target",
        "test.csv": "qid,question_text",
        "sample_submission.csv": "qid,prediction",
    },
    "word2vec-nlp-tutorial": {
        "labeledTrainData.tsv": "id\tsentiment\treview",
        "testData.tsv": "id\treview",
        "unlabeledTrainData.tsv": "id\treview",
        "sampleSubmission.csv": "id,sentiment",
    },
    "imdb-dataset-of-50k-movie-reviews": {"IMDB Dataset.csv": "review,sentiment"},
}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for slug in COMPETITIONS:
        make_data(root, slug)
    return root


def test_every_competition_is_registered_with_its_alias():
    out = run_json(["competitions"])
    names = {c["name"]: c for c in out["competitions"]}
    for slug, alias in COMPETITIONS.items():
        assert slug in names
        assert alias in names[slug]["aliases"]
        assert competition(alias).slug == slug
    params = {
        p["name"]: p["default"]
        for p in names["jigsaw-multilingual-toxic-comment-classification"]["params"]
    }
    assert params == {
        "train_on_validation": False,
        "unintended_bias": False,
        "unintended_bias_threshold": 0.5,
    }
    assert names["aclImdb"]["files"] == ["train", "test", "train/unsup"]
    assert names["aclImdb"]["group_column"] == "movie"


@pytest.mark.parametrize("slug", sorted(HEADERS))
def test_generated_files_have_the_exact_headers(data_root, slug):
    for name, header in HEADERS[slug].items():
        first = (data_root / slug / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert first == header, name


def test_tutorial_tsv_quotes_ids_and_escapes_quotes_like_kaggle(data_root):
    lines = (data_root / "word2vec-nlp-tutorial" / "labeledTrainData.tsv").read_text().splitlines()
    pattern = re.compile(r'^"(\d+)_(\d+)"\t([01])\t"(.*)"$')
    for line in lines[1:]:
        match = pattern.match(line)
        assert match, line[:80]
        rating, label = int(match.group(2)), int(match.group(3))
        assert (rating >= 7) == (label == 1) and rating not in (5, 6)
    assert any('\\"' in line for line in lines), "some reviews hold escaped quotes"
    assert any("<br /><br />" in line for line in lines)


def test_tutorial_loads_unquoted_ids_and_unescaped_prepared_reviews(data_root):
    comp = competition("imdb")
    data = load_dataset(comp, DataOptions(data_dir=str(data_root)))
    assert all(re.fullmatch(r"\d+_\d+", i) for i in data.train.ids)
    assert all(re.fullmatch(r"\d+_\d+", i) for i in data.test.ids)
    text = " ".join(data.train.text)
    assert "\\" not in text and "<br" not in text and '"' in text
    from kagglekit.data import load_split

    unlabeled = load_split(comp, data.directory, "unlabeled")
    assert unlabeled.y is None and all(i.endswith("_0") for i in unlabeled.ids)


def test_acl_imdb_layout(data_root):
    root = data_root / "aclImdb"
    for split, polarities in (("train", ("pos", "neg", "unsup")), ("test", ("pos", "neg"))):
        for polarity in polarities:
            files = sorted((root / split / polarity).glob("*.txt"))
            assert files
            ratings = [int(re.fullmatch(r"(\d+)_(\d+)", f.stem).group(2)) for f in files]
            allowed = {"pos": range(7, 11), "neg": range(1, 5), "unsup": [0]}[polarity]
            assert set(ratings) <= set(allowed)
            urls = (root / split / f"urls_{polarity}.txt").read_text().splitlines()
            assert len(urls) == len(files)
            assert all(
                re.fullmatch(r"http://www\.imdb\.com/title/tt\d+/usercomments", u) for u in urls
            )


def test_acl_imdb_loads_folders_with_labels_and_movies(data_root):
    comp = competition("aclimdb")
    data = load_dataset(comp, DataOptions(data_dir=str(data_root)))
    ids = list(data.train.ids)
    assert len(ids) == 160 and len(data.test) == 60
    labels = dict(zip(ids, data.train.y[:, 0]))
    assert all(labels[i] == (1 if i.startswith("pos/") else 0) for i in ids)
    assert data.train.extra["movie"].str.fullmatch(r"tt\d+").all()
    # review 3 of train/pos is the 4th line of urls_pos.txt
    urls = (data_root / "aclImdb" / "train" / "urls_pos.txt").read_text().splitlines()
    row = data.train.extra[data.train.extra["id"].str.match(r"pos/3_")]
    assert row["movie"].iloc[0] in urls[3]


def test_acl_imdb_cv_keeps_each_movie_in_one_fold(data_root, tmp_path):
    out = run_json(
        [
            "cv",
            "aclimdb",
            "--model",
            "tfidf-nb",
            "--folds",
            "3",
            "--data-dir",
            data_root,
            "--runs-dir",
            tmp_path,
        ]
    )
    run_dir = Path(out["run_dir"])
    import json

    assert json.loads((run_dir / "run.json").read_text())["cv_scheme"] == "group"
    folds = pd.read_csv(run_dir / "folds.csv", dtype={"id": str})
    comp = competition("aclimdb")
    data = load_dataset(comp, DataOptions(data_dir=str(data_root)))
    movie = dict(zip(data.train.ids, data.train.extra["movie"]))
    per_movie = folds.assign(movie=folds["id"].map(movie)).groupby("movie")["fold"].nunique()
    assert (per_movie == 1).all()


def test_50k_dataset_maps_positive_negative_and_has_no_test(data_root):
    data = load_dataset(competition("imdb-50k"), DataOptions(data_dir=str(data_root)))
    raw = pd.read_csv(data_root / "imdb-dataset-of-50k-movie-reviews" / "IMDB Dataset.csv")
    assert data.test is None
    assert data.train.y[:, 0].tolist() == (raw["sentiment"] == "positive").astype(int).tolist()
    assert list(data.train.ids) == list(range(len(raw)))


def test_jigsaw_is_multilabel_with_six_columns(data_root):
    data = load_dataset(competition("jigsaw"), DataOptions(data_dir=str(data_root)))
    assert data.train.y.shape == (160, 6)
    assert (data.train.y.sum(axis=0) > 0).all()
    # the other labels only on toxic rows, as in the real data
    assert (data.train.y[:, 1:].max(axis=1) <= data.train.y[:, 0]).all()


def _expected_submission(slug, data_root):
    comp = competition(slug)
    if comp.sample_submission_file:
        return pd.read_csv(data_root / slug / comp.sample_submission_file, dtype=str)
    return None


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("slug", list(COMPETITIONS))
def test_every_model_runs_cv_and_submits_on_every_competition(slug, model, data_root, tmp_path):
    alias = COMPETITIONS[slug]
    comp = competition(slug)
    out = run_json(
        [
            "cv",
            alias,
            "--model",
            model,
            "--folds",
            "2",
            "--data-dir",
            data_root,
            "--runs-dir",
            tmp_path,
            *small_params(model),
        ]
    )
    assert out["competition"] == slug and out["model"] == model
    assert set(out["scores"]) == set(comp.metrics)
    primary = out["scores"][comp.metric]
    # fixtures are learnable: well above chance on the competition's metric
    assert primary > {"auc": 0.7, "mean_auc": 0.7, "accuracy": 0.65, "f1": 0.3}[comp.metric]
    oof = pd.read_csv(Path(out["run_dir"]) / "oof.csv")
    assert list(oof.columns[1:]) == list(comp.target_columns)
    assert oof.iloc[:, 1:].to_numpy().min() >= 0 and oof.iloc[:, 1:].to_numpy().max() <= 1
    if comp.test_file is None:
        result = run_cli(["submit", out["run_id"], "--runs-dir", tmp_path], expect=2)
        assert "has no test file, so there is nothing to submit" in result.stderr
        return
    sub_path = tmp_path / "sub.csv"
    run_cli(["submit", out["run_id"], "--runs-dir", tmp_path, "--output", sub_path])
    sub = pd.read_csv(sub_path, dtype=str)
    sample = _expected_submission(slug, data_root)
    values = sub.iloc[:, 1:].astype(float).to_numpy()
    if sample is not None:
        assert list(sub.columns) == list(sample.columns)
        assert sub.iloc[:, 0].tolist() == sample.iloc[:, 0].tolist()
    else:
        assert list(sub.columns) == [comp.id_column, *comp.sub_columns]
    if comp.submission_kind == "label":
        assert set(np.unique(values)) <= {0.0, 1.0}
    else:
        assert ((values >= 0) & (values <= 1)).all() and len(np.unique(values)) > 2
