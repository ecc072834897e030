"""Known-answer tests for the pitfalls that make a CV number mean less than it says
(issue 11): thresholds tuned on the rows they score, fits that do not reproduce the CV
recipe, run records that differ from what was done, silent fold and test-file problems."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kagglekit import plugins
from kagglekit.hookspecs import hookimpl
from kagglekit.model import Model


def _info(out) -> dict:
    return json.loads((Path(out["run_dir"]) / "run.json").read_text())


def _error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


# --- thresholds: nested beside optimistic -----------------------------------------------


def _comp_f1():
    return plugins.get_competition("disaster-tweets")


def test_nested_threshold_is_chosen_on_the_other_folds_only():
    from kagglekit.metrics import best_threshold, get_metric, score_oof

    rng = np.random.default_rng(0)
    n = 600
    y = rng.integers(0, 2, n)[:, None]
    oof = np.clip(0.5 * y + rng.normal(0.25, 0.3, (n, 1)), 0, 1)
    folds = np.repeat(np.arange(4), n // 4)
    result = score_oof(_comp_f1(), y, oof, folds)
    f1 = get_metric("f1")
    for k in range(4):
        other = folds != k
        assert result.fold_thresholds[k] == best_threshold(f1, y[other], oof[other])
        mine = folds == k
        assert result.fold_scores[k]["f1"] == round(
            f1(y[mine], oof[mine], result.fold_thresholds[k]), 6
        )
    # the nested F1 is F1 of every row labelled at its own fold's threshold
    labels = np.concatenate([oof[folds == k] >= result.fold_thresholds[k] for k in range(4)])
    from sklearn.metrics import f1_score

    assert result.nested_scores["f1"] == round(f1_score(y[:, 0], labels[:, 0]), 6)
    assert result.threshold == best_threshold(f1, y, oof)
    assert result.scores["auc"] == result.nested_scores["auc"]  # no threshold, same figure


def test_tuning_the_threshold_on_the_scored_rows_is_optimistic_under_no_signal():
    """Labels with no relation to the predictions: the all-rows threshold still finds an
    F1 above what a threshold chosen elsewhere gets, in (nearly) every trial."""
    from kagglekit.metrics import score_oof

    wins = 0
    for trial in range(20):
        rng = np.random.default_rng(trial)
        y = (rng.random((400, 1)) < 0.3).astype(int)
        oof = rng.random((400, 1))
        result = score_oof(_comp_f1(), y, oof, rng.integers(0, 5, 400))
        wins += result.scores["f1"] > result.nested_scores["f1"]
    assert wins >= 18


def test_one_scored_fold_has_no_nested_figure_and_ranks_last():
    from kagglekit.metrics import ranking_score, score_oof

    y = np.array([0, 1, 0, 1, 1, 0])[:, None]
    oof = np.array([0.1, 0.9, 0.2, 0.8, 0.7, 0.3])[:, None]
    result = score_oof(_comp_f1(), y, oof, np.array([-1, -1, 0, 0, 0, 0]))
    assert result.nested_scores is None
    assert ranking_score(result.record(), "f1") is None


def test_cv_records_the_nested_scores_and_fold_thresholds(cli, tweets_dir):
    out = cli.json(
        "cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "3", "--data-dir", tweets_dir
    )
    info = _info(out)
    assert set(info["fold_thresholds"]) == {"0", "1", "2"}
    assert out["nested_scores"]["f1"] == info["nested_scores"]["f1"]
    assert info["threshold_metric"] == "f1"
    for fold in info["fold_scores"]:  # fold scores use the fold's own nested threshold
        assert 0 <= info["fold_thresholds"][str(fold["fold"])] <= 1


# --- fit reproduces the CV recipe --------------------------------------------------------


def test_fit_then_submit_uses_the_cv_threshold_of_the_same_recipe(cli, tweets_dir):
    cv = cli.json(
        "cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "3", "--data-dir", tweets_dir
    )
    other = cli.json(
        "cv",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "-p",
        "alpha=0.2",
        "--folds",
        "3",
        "--data-dir",
        tweets_dir,
    )  # newer, other params
    result = cli("fit", "disaster-tweets", "-m", "tfidf-nb", "--data-dir", tweets_dir, "--json")
    assert f"reproducing CV run {cv['run_id']}" in result.stderr
    fit = json.loads(result.stdout)
    info = _info(fit)
    assert info["threshold"] == cv["threshold"] != other["threshold"]
    assert info["threshold_source"] == info["from_run"] == cv["run_id"]
    sub = cli.json("submit", fit["run_id"])
    labels = pd.read_csv(sub["path"])["target"]
    probs = pd.read_csv(Path(fit["run_dir"]) / "test_predictions.csv")["target"]
    assert labels.tolist() == (probs >= cv["threshold"]).astype(int).tolist()


def test_fit_without_a_matching_cv_run_is_refused_before_training(cli, tweets_dir):
    cv = cli.json(
        "cv",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "-p",
        "alpha=0.2",
        "--folds",
        "3",
        "--data-dir",
        tweets_dir,
    )
    runs = Path("runs") / "nlp-getting-started"
    before = sorted(p.name for p in runs.iterdir())
    # the second model has no CV run: refused before the first one trains
    for models in (
        ["-m", "tfidf-nb"],
        ["-m", "tfidf-nb", "-p", "tfidf-nb.alpha=0.2", "-m", "tfidf-lr"],
    ):
        result = cli(
            "fit", "disaster-tweets", *models, "--data-dir", tweets_dir, "--json", expect=2
        )
        line = _error_line(result)
        name = models[-1]
        assert line.startswith(
            f"Error: no CV run of {name} with these params in runs to take its f1 threshold from"
        ), line
        assert f"kagglekit cv disaster-tweets --model {name}" in line and "--threshold" in line
        assert "job start" not in result.stderr and "fitting on all" not in result.stderr
        assert result.stdout == ""
        assert sorted(p.name for p in runs.iterdir()) == before
    # with the CV run's params it reproduces that run
    ok = cli.json(
        "fit", "disaster-tweets", "-m", "tfidf-nb", "-p", "alpha=0.2", "--data-dir", tweets_dir
    )
    assert _info(ok)["from_run"] == cv["run_id"]
    # an explicit threshold of your own is allowed, and recorded as such
    own = cli.json(
        "fit", "disaster-tweets", "-m", "tfidf-nb", "--threshold", "0.3", "--data-dir", tweets_dir
    )
    assert _info(own)["threshold_source"] == "--threshold"
    cli.json("submit", own["run_id"])


def test_fit_without_a_cv_run_trains_when_the_metric_needs_no_threshold(cli):
    result = cli("fit", "jigsaw", "--sample", "-m", "tfidf-nb", "--json")  # mean ROC AUC
    assert "Note: no CV run of tfidf-nb with these params in runs; training" in result.stderr
    fit = json.loads(result.stdout)
    assert Path(fit["path"], "test_predictions.csv").is_file()
    assert _info(fit)["threshold_source"] is None


def test_fit_from_a_run_of_another_recipe_is_refused_naming_the_difference(cli, tweets_dir):
    cv = cli.json(
        "cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "3", "--data-dir", tweets_dir
    )
    for extra, fragment in (
        (["-m", "tfidf-lr"], 'model "tfidf-nb" there, "tfidf-lr" here'),
        (["-m", "tfidf-nb", "-p", "alpha=0.5"], "param alpha=1.0 there, 0.5 here"),
        (["-m", "tfidf-nb", "--no-prepare"], "prepared_text true there, false here"),
    ):
        result = cli(
            "fit",
            "disaster-tweets",
            *extra,
            "--from",
            cv["run_id"],
            "--data-dir",
            tweets_dir,
            expect=2,
        )
        line = _error_line(result)
        assert f"--from {cv['run_id']}: not the same recipe" in line and fragment in line, line
    for old_name in ("--from", "--threshold-from"):
        ok = cli.json(
            "fit",
            "disaster-tweets",
            "-m",
            "tfidf-nb",
            old_name,
            cv["run_id"],
            "--data-dir",
            tweets_dir,
        )
        assert _info(ok)["threshold"] == cv["threshold"]


class EpochModel(Model):
    """Records the recipe the fit was given; 'learns' for a number of epochs."""

    @dataclass
    class Params:
        epochs: int = 9

    recipe_ = None

    def set_context(self, recipe=None, **_):
        self.given_recipe = recipe

    @classmethod
    def recipe_from_cv(cls, fit_infos):
        return {"epochs": int(np.median([f["best_epoch"] for f in fit_infos]))}

    def fit(self, train, valid=None):
        self.n_ = train.y.shape[1]
        recipe = getattr(self, "given_recipe", None)
        epochs = recipe["epochs"] if recipe else self.params.epochs
        self.fit_info_ = {
            "best_epoch": 2 + int(self.seed) % 3,
            "epochs_run": epochs,
            "early_stopping": "inner",
        }
        return self

    def predict(self, frame):
        return np.full((len(frame), self.n_), 0.5)

    def save(self, directory):
        self.save_params(directory)

    @classmethod
    def load(cls, directory):
        return cls.from_saved_params(directory)


@pytest.fixture
def epoch_model():
    class Plugin:
        @hookimpl
        def register_models(register):
            register("epochs", EpochModel)

    plugins.register_plugin(Plugin, name="epoch-model")
    yield
    plugins.unregister_plugin("epoch-model")


def test_fit_replays_the_cv_folds_epochs(cli, tweets_dir, epoch_model):
    cv = cli.json(
        "cv",
        "disaster-tweets",
        "-m",
        "epochs",
        "--folds",
        "3",
        "--seed",
        "1",
        "--data-dir",
        tweets_dir,
    )
    best = [f["fit_info"]["best_epoch"] for f in _info(cv)["fold_scores"]]
    fit = cli.json("fit", "disaster-tweets", "-m", "epochs", "--data-dir", tweets_dir)
    info = _info(fit)
    assert info["recipe"] == {"epochs": int(np.median(best))}
    assert info["fit_info"]["epochs_run"] == int(np.median(best)) != 9


# --- the record says what was done --------------------------------------------------------


@pytest.mark.parametrize("prepare", [True, False])
def test_text_preparation_is_recorded_as_done_and_predict_replays_it(
    cli, tweets_dir, prepare, tmp_path
):
    flag = [] if prepare else ["--no-prepare"]
    fit = cli.json(
        "fit",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--threshold",
        "0.5",
        "--data-dir",
        tweets_dir,
        *flag,
    )
    info = _info(fit)
    assert info["prepared_text"] is prepare
    assert info["text_columns"] == ["text"] and info["encoding"] == "utf-8"
    out = tmp_path / "p.csv"
    cli("predict", fit["run_id"], "--input", tweets_dir / "test.csv", "--output", out)
    again = pd.read_csv(out)
    saved = pd.read_csv(Path(fit["run_dir"]) / "test_predictions.csv")
    assert np.allclose(again["target"], saved["target"], atol=1e-6)


def test_the_encoding_is_recorded(cli, tweets_dir):
    train = pd.read_csv(tweets_dir / "train.csv")
    train.loc[0, "text"] = "café fire évacuation"
    train.to_csv(tweets_dir / "train.csv", index=False, encoding="latin-1")
    pd.read_csv(tweets_dir / "test.csv").to_csv(
        tweets_dir / "test.csv", index=False, encoding="latin-1"
    )
    out = cli.json(
        "cv",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--folds",
        "2",
        "--encoding",
        "latin-1",
        "--data-dir",
        tweets_dir,
    )
    assert _info(out)["encoding"] == "latin-1"


# --- folds and files ---------------------------------------------------------------------


def test_folds_zero_is_refused(cli, tweets_dir):
    line = _error_line(
        cli(
            "cv",
            "disaster-tweets",
            "-m",
            "tfidf-nb",
            "--folds",
            "0",
            "--data-dir",
            tweets_dir,
            expect=2,
        )
    )
    assert "--folds must be at least 2, got 0" in line
    assert not Path("runs/nlp-getting-started").exists() or not any(
        Path("runs/nlp-getting-started").iterdir()
    )


def test_duplicates_are_kept_together_and_counted(cli, tweets_dir):
    train = pd.read_csv(tweets_dir / "train.csv")
    train.loc[1:20, "text"] = train.loc[0, "text"]  # one group of 21 identical tweets
    train.to_csv(tweets_dir / "train.csv", index=False)
    result = cli(
        "cv",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--folds",
        "3",
        "--data-dir",
        tweets_dir,
        "--json",
    )
    assert "groups of identical texts" in result.stderr
    out = json.loads(result.stdout)
    info = _info(out)
    assert info["duplicates"]["kept_together"] is True and info["duplicates"]["groups"] >= 1
    folds = pd.read_csv(Path(out["run_dir"]) / "folds.csv")
    assert folds["fold"].iloc[:21].nunique() == 1
    off = cli.json(
        "cv",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--folds",
        "3",
        "--no-group-duplicates",
        "--data-dir",
        tweets_dir,
    )
    assert _info(off)["duplicates"]["kept_together"] is False


def test_a_missing_test_file_is_said_and_such_runs_are_never_submitted(cli, tweets_dir):
    (tweets_dir / "test.csv").unlink()
    result = cli(
        "cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "2", "--data-dir", tweets_dir
    )
    assert "no test.csv in" in result.stderr and "cannot be submitted" in result.stderr
    line = _error_line(cli("submit", "-c", "disaster-tweets", expect=2))
    assert "has test predictions" in line


def test_shuffled_labels_give_chance_level_oof_auc_for_tfidf(cli, tweets_dir):
    """No signal, no score: a known answer for the TF-IDF family (the neural families have
    theirs beside their models' tests)."""
    train = pd.read_csv(tweets_dir / "train.csv")
    aucs = []
    for seed in range(3):
        train["target"] = np.random.default_rng(seed).permutation(train["target"].to_numpy())
        train.to_csv(tweets_dir / "train.csv", index=False)
        for model in ("tfidf-nb", "tfidf-lr", "nbsvm"):
            out = cli.json(
                "cv",
                "disaster-tweets",
                "-m",
                model,
                "--folds",
                "5",
                "--seed",
                str(seed),
                "--data-dir",
                tweets_dir,
            )
            aucs.append(out["scores"]["auc"])
    # 300 rows: the AUC of pure noise has a standard deviation of about 0.034
    assert abs(np.mean(aucs) - 0.5) < 0.04 and max(abs(a - 0.5) for a in aucs) < 0.12


def test_early_stopping_on_the_scored_fold_is_labelled_not_held_out(cli, tweets_dir):
    class ValidStopper(EpochModel):
        def fit(self, train, valid=None):
            super().fit(train, valid)
            self.fit_info_["early_stopping"] = "valid"
            return self

    class Plugin:
        @hookimpl
        def register_models(register):
            register("valid-stopper", ValidStopper)

    plugins.register_plugin(Plugin, name="valid-stopper")
    try:
        result = cli(
            "cv",
            "disaster-tweets",
            "-m",
            "valid-stopper",
            "--folds",
            "2",
            "--data-dir",
            tweets_dir,
            "--json",
        )
    finally:
        plugins.unregister_plugin("valid-stopper")
    info = _info(json.loads(result.stdout))
    assert info["held_out"] is False
    assert info["not_held_out_because"] == [
        "early stopping watched the scored fold (early_stopping=valid)"
    ]
    assert "scores are NOT held out: early stopping watched the scored fold" in result.stderr
