"""MLflow for real: a SQLite store in tmp_path, read back with ``MlflowClient``."""

from __future__ import annotations

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sqlalchemy")

from kagglekit.tracking import open_tracking  # noqa: E402
from support.tracking import TinyKeras, tracked_cv, tweets  # noqa: E402


def one_run(uri: str):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiments = client.search_experiments()
    found = client.search_runs([e.experiment_id for e in experiments])
    assert len(found) == 1
    return client, found[0]


def test_a_cv_run_in_the_default_sqlite_store(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    comp, data = tweets(tmp_path)
    runs = tmp_path / "runs"
    tracking = open_tracking("mlflow", runs_dir=runs)
    run = tracked_cv(tracking, comp, data, runs, folds=3)
    assert (runs / "mlflow.db").is_file()  # the default: a SQLite database beside the runs
    client, found = one_run(f"sqlite:///{runs / 'mlflow.db'}")
    assert found.info.run_name == run.id and found.info.status == "FINISHED"
    params, metrics, tags = found.data.params, found.data.metrics, found.data.tags
    assert params["competition"] == comp.slug and params["model"] == "tfidf-nb"
    assert params["kind"] == "cv" and params["n_folds"] == "3"
    assert params["params.alpha"] == str(run.info["params"]["alpha"])
    assert len(params["data_fingerprint"]) >= 16
    assert params["folds_hash"] == run.info["folds_hash"]
    for name, value in run.scores.items():
        assert metrics[f"scores/{name}"] == pytest.approx(value)
        assert metrics[f"nested_scores/{name}"] == pytest.approx(run.info["nested_scores"][name])
    for row in run.info["fold_scores"]:
        assert metrics[f"fold-{row['fold']}/f1"] == pytest.approx(row["f1"])
    assert metrics["held_out"] == 1.0 and tags["kagglekit.held_out"] == "true"
    assert metrics["threshold"] == pytest.approx(run.threshold)
    assert metrics["wall_seconds"] > 0 and metrics["job_seconds"] > 0
    assert tags["kagglekit.run_id"] == run.id
    files = sorted(a.path for a in client.list_artifacts(found.info.run_id, "run-files"))
    assert files == ["run-files/folds.csv", "run-files/oof.csv", "run-files/run.json"]
    assert not client.list_artifacts(found.info.run_id, "models")  # only with --log-models
    # artifacts live beside the database, not in the working directory
    assert found.info.artifact_uri.startswith((runs / "mlartifacts").as_uri())


def test_per_epoch_curves_of_each_neural_fold_and_the_models(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    comp, data = tweets(tmp_path)
    uri = f"sqlite:///{tmp_path / 'store' / 'ml.db'}"
    (tmp_path / "store").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # any tracking URI
    tracking = open_tracking("mlflow", runs_dir=tmp_path / "runs", log_models=True)
    run = tracked_cv(tracking, comp, data, tmp_path / "runs", model="tiny", cls=TinyKeras)
    client, found = one_run(uri)
    for row in run.info["fold_scores"]:
        history = row["fit_info"]["history"]
        assert len(history) == 3
        for figure in ("loss", "neg_mse", "lr"):
            points = client.get_metric_history(
                found.info.run_id, f"fold-{row['fold']}/epoch/{figure}"
            )
            # each epoch once (logged live by the training loop's EpochLog, not again)
            assert [p.step for p in points] == [1, 2, 3]
            assert [p.value for p in points] == pytest.approx([e[figure] for e in history])
    models = [a.path for a in client.list_artifacts(found.info.run_id, "models/models")]
    assert models == ["models/models/fold-0", "models/models/fold-1"]


def test_curves_replayed_from_the_record_when_the_folds_trained_elsewhere(tmp_path, monkeypatch):
    """A fold that did not train in this process (a worker, or a job reused from an earlier
    attempt) is logged from the saved run's fit_info history: same steps, same values."""
    pytest.importorskip("keras")
    comp, data = tweets(tmp_path)
    runs = tmp_path / "runs"
    first = tracked_cv(
        open_tracking(None, runs_dir=runs), comp, data, runs, model="tiny", cls=TinyKeras
    )  # untracked; the second command reuses this run
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'ml.db'}")
    again = tracked_cv(
        open_tracking("mlflow", runs_dir=runs), comp, data, runs, model="tiny", cls=TinyKeras
    )
    assert again.id == first.id
    client, found = one_run(f"sqlite:///{tmp_path / 'ml.db'}")
    points = client.get_metric_history(found.info.run_id, "fold-1/epoch/loss")
    history = first.info["fold_scores"][1]["fit_info"]["history"]
    assert [(p.step, p.value) for p in points] == [
        (e["epoch"], pytest.approx(e["loss"])) for e in history
    ]
