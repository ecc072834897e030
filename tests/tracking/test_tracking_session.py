"""The tracking rules: which tracker (option > env > config), a missing package refused
with its pip line, trackers registered by hook, and a failing tracker: one warning, the run
complete and saved, no credential in any message."""

from __future__ import annotations

import socket
import warnings

import pytest

from kagglekit.errors import KaggleKitError
from kagglekit.tracking import ExperimentTracker, TrackerWarning, open_tracking, tracker_name
from kagglekit.tracking.base import check_available, scrub
from support.tracking import tracked_cv, tweets

FAKE_KEY = "fake0123456789abcdef0123456789abcdef0123"
PASSWORD = "s3cret-Pa55word"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once it is closed


def test_the_option_wins_over_the_environment_over_the_config(monkeypatch):
    monkeypatch.delenv("KAGGLEKIT_TRACKER", raising=False)
    assert tracker_name(None, {}) is None
    assert tracker_name(None, {"tracker": "mlflow"}) == "mlflow"
    monkeypatch.setenv("KAGGLEKIT_TRACKER", "wandb")
    assert tracker_name(None, {"tracker": "mlflow"}) == "wandb"
    assert tracker_name("mlflow", {"tracker": "wandb"}) == "mlflow"
    assert tracker_name("none", {"tracker": "wandb"}) is None  # none turns it off, at any level
    monkeypatch.setenv("KAGGLEKIT_TRACKER", "none")
    assert tracker_name(None, {"tracker": "mlflow"}) is None
    monkeypatch.delenv("KAGGLEKIT_TRACKER")
    with pytest.raises(KaggleKitError, match="tracker must be a name"):
        tracker_name(None, {"tracker": 3})


def test_an_unknown_tracker_and_a_missing_package_are_refused_up_front(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLEKIT_TRACKER", raising=False)
    with pytest.raises(KaggleKitError, match="unknown tracker 'mlfow'; did you mean 'mlflow'"):
        open_tracking("mlfow", runs_dir=tmp_path)

    class Missing(ExperimentTracker):
        name, module, extra = "wandb", "kagglekit_no_such_package", "wandb"

    with pytest.raises(KaggleKitError) as caught:
        check_available(Missing)
    assert str(caught.value).endswith('pip install "kagglekit[wandb]"')
    assert not open_tracking(None, runs_dir=tmp_path).enabled  # no tracker: an inert Tracking


def test_credentials_are_scrubbed(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    text = (
        f"key {FAKE_KEY} at https://user:{PASSWORD}@host:5000/api?token=abc123&x=1 "
        f"or postgresql://me:{PASSWORD}@db/x"
    )
    clean = scrub(text)
    assert FAKE_KEY not in clean and PASSWORD not in clean and "abc123" not in clean
    assert "https://***@host:5000" in clean and "token=***" in clean


class Flaky(ExperimentTracker):
    """Starts, then fails at its first metrics (a service that went away mid-run)."""

    name = "flaky"
    calls: list = []

    def start(self, experiment, name, tags):
        Flaky.calls.append("start")

    def log_params(self, params):
        Flaky.calls.append("params")

    def set_tags(self, tags):
        pass

    def log_summary(self, values):
        raise ConnectionError(
            f"connection to https://me:{PASSWORD}@tracker.example lost\nTraceback line two"
        )

    def finish(self, failed=False):
        Flaky.calls.append(("finish", failed))


class FlakyPlugin:
    from kagglekit.hookspecs import hookimpl

    @staticmethod
    @hookimpl
    def register_trackers(register):
        register("flaky", Flaky)


def test_a_plugin_tracker_that_fails_costs_one_warning_for_the_whole_command(tmp_path):
    from kagglekit import plugins

    comp, data = tweets(tmp_path)
    Flaky.calls = []
    plugins.register_plugin(FlakyPlugin, name="flaky-plugin")
    try:
        assert plugins.trackers().owner("flaky") == "flaky-plugin"
        tracking = open_tracking("flaky", runs_dir=tmp_path / "runs")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            first = tracked_cv(tracking, comp, data, tmp_path / "runs")
            second = tracked_cv(tracking, comp, data, tmp_path / "runs", model="tfidf-lr")
    finally:
        plugins.unregister_plugin("flaky-plugin")
    lines = [str(w.message) for w in seen if issubclass(w.category, TrackerWarning)]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("tracker flaky failed logging summary (ConnectionError: ")
    assert lines[0].endswith("the run is complete and saved, but not tracked")
    assert PASSWORD not in lines[0] and "***@tracker.example" in lines[0]
    assert Flaky.calls == ["start", "params", ("finish", True)]  # not called again after
    for run in (first, second):  # both runs complete and saved
        assert (run.path / "run.json").is_file() and (run.path / "oof.csv").is_file()


def test_an_mlflow_server_that_is_down(tmp_path, monkeypatch, capfd):
    pytest.importorskip("mlflow")
    comp, data = tweets(tmp_path)
    port = closed_port()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://admin:{PASSWORD}@127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    tracking = open_tracking("mlflow", runs_dir=tmp_path / "runs")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        run = tracked_cv(tracking, comp, data, tmp_path / "runs")
    lines = [str(w.message) for w in seen if issubclass(w.category, TrackerWarning)]
    assert len(lines) == 1 and lines[0].startswith("tracker mlflow failed starting (")
    assert (run.path / "run.json").is_file() and run.scores
    out, err = capfd.readouterr()
    assert PASSWORD not in lines[0] + out + err


def test_a_wandb_server_that_is_down_with_a_bad_key(tmp_path, monkeypatch, capfd):
    pytest.importorskip("wandb")
    comp, data = tweets(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_API_KEY", FAKE_KEY)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wb"))
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "3")
    import wandb

    wandb.teardown()  # start from fresh process-wide settings, and leave them so
    tracking = open_tracking("wandb", runs_dir=tmp_path / "runs")
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            run = tracked_cv(tracking, comp, data, tmp_path / "runs")
    finally:
        wandb.teardown()
    lines = [str(w.message) for w in seen if issubclass(w.category, TrackerWarning)]
    assert len(lines) == 1 and lines[0].startswith("tracker wandb failed starting (")
    assert (run.path / "run.json").is_file() and run.scores
    out, err = capfd.readouterr()
    assert FAKE_KEY not in lines[0] + out + err
