"""--tracker and --log-models on the commands that make runs (cv, fit, blend), from the
option, $KAGGLEKIT_TRACKER or the --config file; one warning when the tracker fails."""

from __future__ import annotations

import pytest

from support import one_line_error

pytest.importorskip("mlflow")
pytest.importorskip("sqlalchemy")


def mlflow_runs(uri):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids) if ids else []


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'ml.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("KAGGLEKIT_TRACKER", raising=False)
    return uri


SAMPLE = ("disaster-tweets", "-m", "tfidf-nb", "--sample", "--folds", "2")


def test_cv_fit_and_blend_take_tracker(cli, store):
    cv = cli.json("cv", *SAMPLE, "-m", "tfidf-lr", "--tracker", "mlflow")
    fit = cli.json("fit", "disaster-tweets", "-m", "tfidf-nb", "--sample", "--tracker", "mlflow")
    runs = [r["run_id"] for r in cv["runs"]]
    blend = cli("blend", *runs, "--method", "rank", "--tracker", "mlflow")
    assert "Tracked: MLflow run " in blend.stderr
    found = {r.info.run_name: r for r in mlflow_runs(store)}
    assert len(found) == 4 and {*runs, fit["run_id"]} < set(found)
    kinds = sorted(r.data.params["kind"] for r in found.values())
    assert kinds == ["blend", "cv", "cv", "fit"]
    blended = next(r for r in found.values() if r.data.params["kind"] == "blend")
    assert blended.data.params["method"] == "rank"
    assert set(blended.data.params["members"].split(",")) == set(runs)


def test_the_environment_and_the_config_file_choose_too(cli, store, tmp_path, monkeypatch):
    config = tmp_path / "run.toml"
    config.write_text('tracker = "mlflow"\nlog_models = true\ntracking_project = "mine"\n')
    cli("cv", *SAMPLE, "--config", config)
    (only,) = mlflow_runs(store)
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=store)
    assert client.get_experiment(only.info.experiment_id).name == "mine"
    assert client.list_artifacts(only.info.run_id, "models")  # log_models from the file
    monkeypatch.setenv("KAGGLEKIT_TRACKER", "none")  # the environment over the file
    cli("cv", *SAMPLE, "--config", config, "--new")
    assert len(mlflow_runs(store)) == 1
    cli(
        "cv", *SAMPLE, "--config", config, "--new", "--tracker", "mlflow", "--no-log-models"
    )  # the option over both
    assert len(mlflow_runs(store)) == 2


def test_an_unknown_tracker_is_refused_before_any_work(cli, store, tmp_path):
    result = cli("cv", *SAMPLE, "--tracker", "mlfow", expect=None)
    assert "unknown tracker 'mlfow'; did you mean 'mlflow'?" in one_line_error(result)
    assert not (tmp_path / "work" / "runs").exists() or not any(
        (tmp_path / "work" / "runs").glob("*/2*")
    )


def test_a_server_that_is_down_is_one_warning_and_the_runs_are_saved(cli, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://admin:hunter2-secret@127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    result = cli("cv", *SAMPLE, "-m", "tfidf-lr", "--ensemble", "mean", "--tracker", "mlflow")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "tracker mlflow failed" in warnings[0]
    assert "hunter2-secret" not in result.stderr + result.stdout
    assert result.stdout.count("Run: ") == 3  # two CV runs and their blend, all saved
