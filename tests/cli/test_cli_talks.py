"""A CLI that talks: library noise hidden unless --verbose (set by the CLI only), progress
on stderr that stays readable in a log file, `models NAME`, and `predict` named like the
submission with the label at the run's threshold."""

from __future__ import annotations

import io
import os
import sys

import numpy as np
import pandas as pd
import pytest

from kagglekit.cli import output as progress  # the one progress renderer
from support import make_competition_dir

# ---------------------------------------------------------------- --verbose and the noise


@pytest.fixture
def clean_quiet(monkeypatch):
    from kagglekit import quiet

    for name in quiet.QUIET_ENV:
        monkeypatch.delenv(name, raising=False)
    yield quiet
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, quiet._QuietImport)]


def test_noise_variables_are_set_by_the_cli_only_and_not_with_verbose(cli, clean_quiet):
    import kagglekit  # noqa: F401 - importing the library changes nothing

    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    cli("--verbose", "competitions")
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    cli("competitions")
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_noise_lines_are_dropped_and_the_rest_kept(clean_quiet):
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to "
        "STDERR\nI0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. ...\n"
        "E0000 00:00:1.0 1 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
        "Error: a real problem\n"
    )
    assert clean_quiet.noise_free(text) == "Error: a real problem\n"


def test_tensorflow_start_up_noise_is_hidden_unless_verbose(tmp_path):
    pytest.importorskip("tensorflow")
    import subprocess

    from kagglekit.quiet import QUIET_ENV

    # as a user starts it: none of the logging variables set (other tests may have set them)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in QUIET_ENV and k not in ("KAGGLEKIT_VERBOSE", "TF_CPP_MIN_VLOG_LEVEL")
    }
    exe = os.path.join(os.path.dirname(sys.executable), "kagglekit")

    def run(*args):
        return subprocess.run(
            [exe, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
        )

    quiet = run("env", "--probe")
    loud = run("--verbose", "env", "--probe")
    assert quiet.returncode == 0 and loud.returncode == 0, (quiet.stderr, loud.stderr)
    noisy = [
        line
        for line in loud.stderr.splitlines()
        if "oneDNN" in line
        or "cuInit" in line
        or "absl::InitializeLog" in line
        or "cuda drivers" in line
    ]
    assert noisy, loud.stderr  # there is noise to hide on this machine
    for line in noisy:
        assert line not in quiet.stderr
    assert quiet.stderr.strip() == "", quiet.stderr


# ---------------------------------------------------------------- progress


def test_progress_in_a_log_file_is_plain_lines(monkeypatch):
    stream = io.StringIO()  # not a terminal
    with progress.steps("Predicting", total=1000, unit="rows", stream=stream) as advance:
        for _ in range(100):
            advance(10)
    lines = stream.getvalue().splitlines()
    assert 5 <= len(lines) <= 11  # about one line per tenth, not one per call
    assert lines[-1].startswith("Predicting: 1000/1000 rows (")
    assert "ETA" in lines[0]
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()

    stream = io.StringIO()
    with progress.steps("Report", total=3, stream=stream) as advance:
        for what in ("scores", "curves", "data"):
            advance(what=what)
    assert [line.split(" (")[0] for line in stream.getvalue().splitlines()] == [
        "Report: 1/3 steps scores",
        "Report: 2/3 steps curves",
        "Report: 3/3 steps data",
    ]

    stream = io.StringIO()
    with progress.status("Reading train.csv", stream=stream):
        pass
    assert stream.getvalue().startswith("Reading train.csv: done (")


def test_progress_on_a_terminal_draws_a_bar(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    with progress.steps("Predicting", total=4, unit="rows", stream=stream) as advance:
        advance(4)
    assert "Predicting" in stream.getvalue() and "4/4" in stream.getvalue()
    monkeypatch.setenv("KAGGLEKIT_PROGRESS", "plain")  # a terminal can ask for lines too
    assert not progress.is_terminal(Tty())


# ---------------------------------------------------------------- models NAME


def test_models_name_shows_one_models_parameters_with_choices(cli):
    out = cli("models", "tfidf-lr").stdout
    assert out.splitlines()[0].startswith("tfidf-lr  [tfidf]")
    assert "same family: nbsvm, tfidf-nb" in out
    assert "    C: float = 4.0" in out
    one = cli.json("models", "tfidf-lr")
    assert one["name"] == "tfidf-lr" and one["family"] == ["nbsvm", "tfidf-lr", "tfidf-nb"]
    assert {p["name"]: p["default"] for p in one["params"]}["C"] == 4.0
    result = cli("models", "tfidf-lx", expect=2)
    assert "did you mean 'tfidf-lr'" in result.stderr


def test_models_show_a_familys_shared_parameters_once(cli):
    rows = {m["name"]: m for m in cli.json("models")["models"]}
    if "bigru" not in rows:
        pytest.skip("the rnn plugin is not loaded")
    out = cli("models").stdout
    block = out[out.index("rnn: ") :]
    block = block[: block.index("\n\n")]
    assert block.count("max_words:") == 1  # shared by the family: shown once
    assert "shared by all" in block
    bigru = cli("models", "bigru").stdout
    assert "truncating: Literal = 'post'  (one of pre, post)" in bigru
    truncating = {p["name"]: p for p in rows["bigru"]["params"]}["truncating"]
    assert truncating["choices"] == ["pre", "post"]


@pytest.fixture
def without_keras(monkeypatch):
    """As on a core install: `import keras` fails (find_spec answers None)."""
    monkeypatch.setitem(sys.modules, "keras", None)


def test_a_model_whose_extra_is_missing_is_refused_before_any_work(cli, tweets_dir, without_keras):
    from support import one_line_error

    for command in ("cv", "fit"):
        result = cli(
            command, "disaster-tweets", "--model", "bigru", "--data-dir", tweets_dir, expect=None
        )
        line = one_line_error(result)
        assert line.startswith("Error: bigru needs the [keras] extra (keras"), line
        assert line.endswith("not installed); install it with: pip install 'kagglekit[keras]'")
        assert "Data:" not in result.stderr and "job start" not in result.stderr
    assert not os.path.exists("runs")


def test_models_say_which_extra_each_needs(cli, without_keras):
    rows = {m["name"]: m for m in cli.json("models")["models"]}
    if "bigru" not in rows:
        pytest.skip("the rnn plugin is not loaded")
    for name in ("tfidf-lr", "nbsvm", "tfidf-nb"):
        assert (rows[name]["extra"], rows[name]["extra_installed"], rows[name]["install"]) == (
            None,
            True,
            None,
        )
    neural = {name for name, row in rows.items() if row["extra"]}
    assert {"bigru", "lstm", "distilbert", "transformer", "llm", "use"} <= neural
    for name in neural:
        assert rows[name]["extra"] == "keras" and rows[name]["extra_installed"] is False
        assert rows[name]["install"] == "pip install 'kagglekit[keras]'"
    out = cli("models").stdout
    said = "needs the [keras] extra, NOT installed: pip install 'kagglekit[keras]'"
    rnn = out[out.index("rnn: ") :]
    assert rnn.splitlines()[1] == f"  {said}"
    tfidf = out[out.index("tfidf: ") :]
    assert "needs the" not in tfidf[: tfidf.index("\n\n")]
    assert cli("models", "bigru").stdout.splitlines()[1] == f"  {said}"
    assert cli.json("models", "bigru")["extra"] == "keras"


# ---------------------------------------------------------------- predict


def test_predict_names_columns_like_the_submission_and_labels_at_the_threshold(
    cli, tmp_path, monkeypatch
):
    import kagglekit.predict

    monkeypatch.setattr(kagglekit.predict, "PROGRESS_AFTER_SECONDS", 0.0)  # lines at once
    data = make_competition_dir("quora", tmp_path / "data", n_train=300, n_test=60)
    run = cli.json("cv", "quora", "-m", "tfidf-nb", "--folds", "2", "--data-dir", data)
    threshold = run["threshold"]
    out = tmp_path / "p.csv"
    result = cli("predict", run["run_id"], "--input", data / "test.csv", "--output", out)
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["qid", "prediction", "prediction_label"]
    assert (
        frame["prediction_label"].tolist()
        == (frame["prediction"] >= threshold).astype(int).tolist()
    )
    assert 0 < frame["prediction_label"].sum() < len(frame) or threshold > 0
    assert f"OOF threshold {threshold:.4f}" in result.stderr
    saved = pd.read_csv(f"{run['run_dir']}/test_predictions.csv")
    np.testing.assert_allclose(frame["prediction"], saved["target"], atol=1e-6)
    # no id column: numbered rows, and it says so
    pd.read_csv(data / "test.csv").drop(columns=["qid"]).head(3).to_csv(
        tmp_path / "n.csv", index=False
    )
    result = cli("predict", run["run_id"], "--input", tmp_path / "n.csv")
    assert result.stdout.splitlines()[0] == "row,prediction,prediction_label"
    assert "has no id column: rows are numbered from 0" in result.stderr
    assert "Predicting 3 rows with each of 2 models: 6/6 row predictions" in result.stderr


def test_predict_on_a_metric_without_threshold_has_no_label_column(cli, tmp_path):
    data = make_competition_dir("jigsaw", tmp_path / "data", n_train=200, n_test=20)
    run = cli.json("cv", "jigsaw", "-m", "tfidf-nb", "--folds", "2", "--data-dir", data)
    out = cli("predict", run["run_id"], "--input", data / "test.csv").stdout
    assert out.splitlines()[0] == "id,toxic,severe_toxic,obscene,threat,insult,identity_hate"


def test_a_quick_task_stays_silent_off_a_terminal():
    stream = io.StringIO()
    with progress.steps("Report", total=3, stream=stream, min_seconds=60) as advance:
        for _ in range(3):
            advance()
    assert stream.getvalue() == ""


def test_a_quick_prediction_prints_no_progress_line(cli, tweets_dir):
    run = cli.json(
        "cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "2", "--data-dir", tweets_dir
    )
    result = cli("predict", run["run_id"], "--input", tweets_dir / "test.csv")
    assert "Predicting" not in result.stderr  # (a long one does: see the test above)
