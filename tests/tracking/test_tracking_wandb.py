"""W&B for real, offline (``WANDB_MODE=offline``): the run files wandb writes, read back."""

from __future__ import annotations

import pytest

pytest.importorskip("wandb")

from kagglekit.tracking import open_tracking  # noqa: E402
from support.tracking import TinyKeras, tracked_cv, tweets, wandb_offline_run  # noqa: E402


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_PROJECT", "kagglekit-tests")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for name in ("WANDB_API_KEY", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    import wandb

    wandb.teardown()  # wandb's process-wide settings from an earlier test (e.g. online)
    yield tmp_path / "wb"
    wandb.teardown()


def test_a_cv_run_offline(tmp_path, offline):
    comp, data = tweets(tmp_path)
    tracking = open_tracking("wandb", runs_dir=tmp_path / "runs")
    run = tracked_cv(tracking, comp, data, tmp_path / "runs", folds=3)
    written = wandb_offline_run(offline)
    assert written["name"] == run.id
    assert "held-out" in written["tags"] and "cv" in written["tags"]
    config, summary = written["config"], written["summary"]
    assert config["competition"] == comp.slug and config["model"] == "tfidf-nb"
    assert config["params.alpha"] == run.info["params"]["alpha"]
    assert config["folds_hash"] == run.info["folds_hash"] and config["data_fingerprint"]
    for name, value in run.scores.items():
        assert summary[f"scores/{name}"] == pytest.approx(value)
        assert summary[f"nested_scores/{name}"] == pytest.approx(run.info["nested_scores"][name])
    for row in run.info["fold_scores"]:
        assert summary[f"fold-{row['fold']}/f1"] == pytest.approx(row["f1"])
    assert summary["held_out"] == 1.0 and summary["wall_seconds"] > 0
    assert written["artifacts"] == {f"{run.id}-run-files": ["folds.csv", "oof.csv", "run.json"]}
    where = tracking.locations[0]
    assert where.startswith("W&B offline run ") and "wandb sync" in where


def test_per_epoch_curves_offline(tmp_path, offline):
    pytest.importorskip("keras")
    comp, data = tweets(tmp_path)
    tracking = open_tracking("wandb", runs_dir=tmp_path / "runs", log_models=True)
    run = tracked_cv(tracking, comp, data, tmp_path / "runs", model="tiny", cls=TinyKeras)
    written = wandb_offline_run(offline)
    for row in run.info["fold_scores"]:
        step = f"fold-{row['fold']}/epoch"
        rows = [h for h in written["history"] if step in h]
        assert [h[step] for h in rows] == [1, 2, 3]  # each epoch once, on the fold's own step
        assert [h[f"{step}/loss"] for h in rows] == pytest.approx(
            [e["loss"] for e in row["fit_info"]["history"]]
        )
    models = written["artifacts"][f"{run.id}-models"]
    assert {p.split("/")[1] for p in models} == {"fold-0", "fold-1"}
