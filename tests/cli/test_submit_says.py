"""`kagglekit submit` says on stderr which run it submits and that run's score, the
held-out figure labelled as such; stdout stays the path (or the one JSON object)."""

from __future__ import annotations

import json
from pathlib import Path

from support import make_competition_dir


def test_submit_names_the_best_run_and_its_held_out_score(cli, tmp_path):
    data = make_competition_dir("quora", tmp_path / "data", n_train=240, n_test=40)
    runs = [
        cli.json("cv", "quora", "-m", model, "--folds", "3", "--data-dir", data)
        for model in ("tfidf-nb", "tfidf-lr")
    ]
    result = cli("submit", "-c", "quora", "--json")
    payload = json.loads(result.stdout)  # stdout: the JSON object only
    best = next(r for r in runs if r["run_id"] == payload["run_id"])
    assert best["nested_scores"]["f1"] == max(r["nested_scores"]["f1"] for r in runs)
    line = next(s for s in result.stderr.splitlines() if s.startswith("Best run for"))
    record = json.loads((Path(best["run_dir"]) / "run.json").read_text())
    assert line.startswith(
        "Best run for quora-insincere-questions-classification (by the "
        f"held-out CV figure): {best['run_id']} ({best['model']}): "
    )
    assert f"CV f1 {best['nested_scores']['f1']:.4f} ± {record['fold_spread']['f1']:.4f}" in line
    assert "(held out; nested: each fold's threshold chosen on the other folds)" in line
    assert (
        f"{best['scores']['f1']:.4f} at the threshold chosen on all OOF rows (not held out)" in line
    )

    # a RUN given by name: the same line, without "best"; AUC is simply out-of-fold
    imdb = make_competition_dir("imdb", tmp_path / "data", n_train=200, n_test=30)
    run = cli.json("cv", "imdb", "-m", "tfidf-nb", "--folds", "2", "--data-dir", imdb)
    result = cli("submit", run["run_id"])
    assert result.stdout.strip().endswith(f"{run['run_id']}.csv")
    assert (
        f"Run {run['run_id']} (tfidf-nb): CV auc {run['scores']['auc']:.4f}" in result.stderr
    ) and "(held out: out-of-fold)" in result.stderr
    assert "nested" not in result.stderr


def test_submit_says_a_score_is_not_held_out_and_that_a_fit_run_has_none(cli, tmp_path):
    data = make_competition_dir("quora", tmp_path / "data", n_train=200, n_test=30)
    run = cli.json("cv", "quora", "-m", "tfidf-nb", "--folds", "2", "--data-dir", data)
    record_path = Path(run["run_dir"]) / "run.json"
    record = json.loads(record_path.read_text())
    record.update(held_out=False, not_held_out_because=["early stopping watched the scored fold"])
    record_path.write_text(json.dumps(record))
    stderr = cli("submit", run["run_id"]).stderr
    assert (
        f"CV f1 {run['nested_scores']['f1']:.4f}" in stderr
        and "(NOT held out: early stopping watched the scored fold)" in stderr
    )
    fit = cli.json("fit", "quora", "-m", "tfidf-nb", "--threshold", "0.3", "--data-dir", data)
    stderr = cli("submit", fit["run_id"]).stderr
    assert (
        f"Run {fit['run_id']} (tfidf-nb): no CV score (a fit run, trained on every row)" in stderr
    )


def test_a_probability_submission_from_a_fit_without_a_cv_run_needs_no_threshold(cli, tmp_path):
    """IMDb's submission is probabilities: a fit with no CV run (so no threshold) submits."""
    import pandas as pd

    imdb = make_competition_dir("imdb", tmp_path / "data", n_train=200, n_test=30)
    fit = cli.json("fit", "imdb", "-m", "tfidf-nb", "--data-dir", imdb)
    assert json.loads((Path(fit["run_dir"]) / "run.json").read_text()).get("threshold") is None
    result = cli("submit", fit["run_id"], "--output", tmp_path / "sub.csv")
    frame = pd.read_csv(tmp_path / "sub.csv")
    preds = pd.read_csv(Path(fit["run_dir"]) / "test_predictions.csv")
    assert len(frame) == 30 and frame["sentiment"].between(0, 1).all()
    assert sorted(frame["sentiment"].round(6)) == sorted(preds["sentiment"].round(6))
    assert not result.stderr.startswith("Error")


def test_a_submit_that_fails_says_only_its_error(cli, tmp_path):
    data = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=200, n_test=30)
    run = cli.json("cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "2", "--data-dir", data)
    (Path(run["run_dir"]) / "test_predictions.csv").write_text("id,target\n")
    result = cli("submit", run["run_id"], expect=2)
    assert result.stderr.startswith("Error:") and result.stderr.count("\n") == 1, result.stderr
