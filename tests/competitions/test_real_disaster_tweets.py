"""The real Disaster Tweets files in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support import shared_path

pytestmark = pytest.mark.real_data


@pytest.fixture
def real_dir() -> Path:
    return shared_path("data", "nlp-getting-started")


def test_loads_real_files_with_their_nans(real_dir):
    from kagglekit import plugins
    from kagglekit.data import load_split

    comp = plugins.get_competition("disaster-tweets")
    train = load_split(comp, real_dir, "train")
    test = load_split(comp, real_dir, "test")
    assert len(train) == 7613 and len(test) == 3263
    assert train.y[:, 0].sum() == 3271
    assert train.extra["keyword"].isna().sum() > 0 and train.extra["location"].isna().sum() > 0
    assert not any("http://" in t for t in train.text)  # URLs prepared away


def test_tfidf_nb_reproduces_the_published_course_accuracy(real_dir):
    """TfidfVectorizer() + MultinomialNB() on the course split: 79.27% accuracy."""
    from sklearn.model_selection import train_test_split

    from kagglekit.frame import TextFrame
    from kagglekit_plugins.tfidf import TfidfNB

    frame = pd.read_csv(real_dir / "train.csv").sample(frac=1, random_state=42)
    x_tr, x_va, y_tr, y_va = train_test_split(
        frame["text"].to_numpy(), frame["target"].to_numpy(), test_size=0.1, random_state=42
    )
    assert (len(x_tr), len(x_va)) == (6851, 762)
    model = TfidfNB().fit(TextFrame.from_texts(x_tr, y_tr), None)
    accuracy = np.mean((model.predict(TextFrame.from_texts(x_va))[:, 0] >= 0.5) == y_va)
    assert round(100 * accuracy, 2) == 79.27


def test_cv_and_submission_on_real_files(cli, real_dir):
    out = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "3", "--data-dir", real_dir
    )
    assert 0.72 < out["scores"]["f1"] < 0.85
    # identical tweets now share a fold: ~0.84, where the leaky folds gave > 0.85
    assert 0.82 < out["scores"]["auc"] < 0.95
    assert out["nested_scores"]["f1"] <= out["scores"]["f1"]
    leaky = cli.json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--data-dir",
        real_dir,
        "--no-group-duplicates",
    )
    assert leaky["scores"]["auc"] > out["scores"]["auc"] + 0.005
    sub = cli.json("submit", out["run_id"])
    submission = pd.read_csv(sub["path"])
    sample = pd.read_csv(real_dir / "sample_submission.csv")
    assert submission.columns.tolist() == sample.columns.tolist()
    assert submission["id"].tolist() == sample["id"].tolist()
    assert set(submission["target"].unique()) == {0, 1}


def test_identical_real_tweets_no_longer_straddle_folds(real_dir):
    """302 groups of identical prepared tweets (962 rows); by default each lies in one fold."""
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.folds import dataset_folds

    data = load_dataset(
        plugins.get_competition("disaster-tweets"), DataOptions(data_dir=str(real_dir))
    )
    texts = np.asarray(data.train.text, dtype=object)

    def straddling(folds):
        frame = pd.DataFrame({"t": texts, "f": folds})
        per_text = frame.groupby("t")["f"].agg(["nunique", "size"])
        return int((per_text["nunique"] > 1).sum()), int((per_text["size"] > 1).sum())

    plan = dataset_folds(data, 5, 42)
    assert straddling(plan.folds) == (0, plan.duplicates["groups"])
    assert plan.duplicates["groups"] == 302 and plan.duplicates["rows"] == 962
    assert plan.duplicates["conflicting_labels"] == 69
    loose = dataset_folds(data, 5, 42, group_duplicates=False)
    assert straddling(loose.folds)[0] > 200 and loose.duplicates["kept_together"] is False
