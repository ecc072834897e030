"""A finished run read back: its files checked, and run.json's format policy (store/run.py):
no ``format`` is format 0, read as before; a newer format is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kagglekit.errors import KaggleKitError, RunError
from kagglekit.store.run import FORMAT, Run, list_runs
from support import one_line_error


def test_a_missing_run_file_says_why(cli, tweets_dir):
    from kagglekit.errors import RunError
    from kagglekit.store.run import RECREATE, Run
    from support import one_line_error

    cv = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "3", "--data-dir", tweets_dir
    )
    fit = cli.json(
        "fit",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--threshold",
        "0.5",
        "--data-dir",
        tweets_dir,
    )
    with pytest.raises(
        RunError,
        match=r"is a fit run \(trained on every row\), so it has no "
        r"oof.csv; only cv and blend runs",
    ):
        Run(Path(fit["run_dir"])).oof()
    path = Path(cv["run_dir"]) / "test_predictions.csv"
    path.unlink()
    result = cli("submit", cv["run_id"], expect=2)
    assert one_line_error(result) == f"Error: {path}: missing; {RECREATE}"


def test_new_runs_say_their_format_and_old_ones_are_read_as_before(cli, tweets_dir):
    cv = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", tweets_dir
    )
    file = Path(cv["run_dir"]) / "run.json"
    record = json.loads(file.read_text())
    assert FORMAT == 1 and record["format"] == 1 and list(record)[0] == "format"
    del record["format"]  # a run written before run.json had a format: format 0
    file.write_text(json.dumps(record, indent=2) + "\n")
    assert Run(file.parent).info == record
    assert [r.id for r in list_runs("runs")] == [cv["run_id"]]
    sub = cli.json("submit", cv["run_id"], "--output", "sub.csv")
    assert Path(sub["path"]).is_file()


def test_a_newer_format_is_refused_in_one_line_saying_to_upgrade(cli, tweets_dir):
    cv = cli.json(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", tweets_dir
    )
    file = Path(cv["run_dir"]) / "run.json"
    record = json.loads(file.read_text())
    record["format"] = FORMAT + 1
    file.write_text(json.dumps(record))
    with pytest.raises(RunError) as caught:
        Run(file.parent)
    assert isinstance(caught.value, KaggleKitError)
    message = str(caught.value)
    assert cv["run_id"] in message and "upgrade kagglekit" in message
    assert f"format {FORMAT + 1}" in message
    line = one_line_error(cli("submit", cv["run_dir"], expect=2))
    assert line == f"Error: {message}"
    for bad in ("1", True, -1):
        file.write_text(json.dumps({**record, "format": bad}))
        with pytest.raises(RunError, match="not a run record .'format' is"):
            Run(file.parent)
