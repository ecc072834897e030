"""The adapters on the real Kaggle files in ../shared/data (skipped when absent): each
loads them, CV runs, and a submission validates against the real sample_submission.csv.
Kept quick: 2 folds of the word-level tfidf-nb (char n-gram models on the real Jigsaw
comments take minutes; benchmarks/bench_competitions.py runs them)."""

from __future__ import annotations

import pandas as pd
import pytest

from support.competitions import competition, run_cli, run_json, shared_dir, small_params

pytestmark = pytest.mark.real_data

# slug -> (alias, train rows, test rows) as described in ../shared/README.md
REAL = {
    "nlp-getting-started": ("disaster-tweets", 7613, 3263),
    "quora-insincere-questions-classification": ("quora", 20898, 5225),
    "jigsaw-toxic-comment-classification-challenge": ("jigsaw", 6382, 7700),
    "imdb-dataset-of-50k-movie-reviews": ("imdb-50k", 2000, 0),
}
# well above chance for 2-fold tfidf-nb (predicting every row positive gets F1 0.60 on the
# tweets and 0.12 on Quora; measured: tweets F1 0.75, Quora F1 0.25, Jigsaw mean AUC 0.77,
# IMDb accuracy 0.82)
FLOOR = {
    "nlp-getting-started": 0.65,
    "quora-insincere-questions-classification": 0.2,
    "jigsaw-toxic-comment-classification-challenge": 0.7,
    "imdb-dataset-of-50k-movie-reviews": 0.7,
}


@pytest.mark.parametrize("slug", list(REAL))
def test_adapter_loads_the_real_files(slug):
    alias, n_train, n_test = REAL[slug]
    out = run_json(["data", alias, "--data-dir", shared_dir(slug)])
    assert out["competition"] == slug
    assert (out["n_train"], out["n_test"]) == (n_train, n_test)
    if n_test:
        assert out["n_sample_submission"] == n_test


@pytest.mark.parametrize("slug", list(REAL))
def test_cv_and_submission_on_the_real_files(slug, tmp_path):
    alias, n_train, n_test = REAL[slug]
    directory = shared_dir(slug)
    comp = competition(alias)
    out = run_json(
        [
            "cv",
            alias,
            "--model",
            "tfidf-nb",
            "--folds",
            "2",
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path,
        ]
    )
    assert out["scores"][comp.metric] > FLOOR[slug]
    if not n_test:
        return
    path = tmp_path / "submission.csv"
    run_cli(["submit", out["run_id"], "--runs-dir", tmp_path, "--output", path])
    sub = pd.read_csv(path, dtype=str)
    sample = pd.read_csv(directory / comp.sample_submission_file, dtype=str)
    assert list(sub.columns) == list(sample.columns)
    assert sub.iloc[:, 0].tolist() == sample.iloc[:, 0].tolist()
    values = sub.iloc[:, 1:].astype(float)
    if comp.submission_kind == "label":
        assert set(values.stack().unique()) == {0.0, 1.0}
    else:
        assert values.stack().between(0, 1).all()


def test_real_imdb_reviews_lose_their_br_tags():
    from kagglekit.data import DataOptions, load_dataset

    comp = competition("imdb-50k")
    directory = shared_dir("imdb-dataset-of-50k-movie-reviews")
    raw = load_dataset(comp, DataOptions(data_dir=str(directory), prepare=False)).train.text
    prepared = load_dataset(comp, DataOptions(data_dir=str(directory))).train.text
    assert sum("<br />" in t for t in raw) > 1000
    assert not any("<br" in t.lower() for t in prepared)


def test_real_tweets_cv_of_a_char_ngram_model(tmp_path):
    directory = shared_dir("nlp-getting-started")
    out = run_json(
        [
            "cv",
            "disaster-tweets",
            "--model",
            "nbsvm",
            "--folds",
            "2",
            "--data-dir",
            directory,
            "--runs-dir",
            tmp_path,
            *small_params("nbsvm"),
        ]
    )
    assert out["scores"]["f1"] > 0.7
