"""`kagglekit tune` as a user runs it: trials as runs, the figures labelled, best.toml usable
by cv --config, the study in `runs`, errors in one line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("optuna")


def test_tune_writes_best_toml_that_cv_reproduces(cli):
    out = cli.json(
        "tune",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--trials",
        "3",
        "--folds",
        "3",
        "--sample",
        "--pruner",
        "none",
        "--json",
    )
    assert out["trials"]["complete"] == 3 and out["metric"] == "f1"
    assert out["held_out"] is True and out["holdout"]["best"]["n_rows"] > 0
    best = Path(out["directory"]) / "best.toml"
    assert best.is_file()
    run = cli.json(
        "cv", "disaster-tweets", "--config", str(best), "--folds", "3", "--sample", "--json"
    )
    # the same params, folds and rows as the best trial's run... except the holdout rows:
    # cv on all rows is a new run, with the tuned params
    assert run["model"] == "tfidf-nb"
    info = json.loads((Path(run["run_dir"]) / "run.json").read_text())
    assert info["params"]["alpha"] == pytest.approx(out["best"]["params"]["alpha"])
    listing = cli.json("runs", "--json")
    assert [s["study"] for s in listing["studies"]] == [out["study"]]
    trial_runs = {r["run_id"] for r in listing["runs"]}
    assert out["best"]["run_id"] in trial_runs  # each trial is an ordinary run


def test_the_table_labels_optimistic_and_held_out(cli):
    result = cli(
        "tune",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--trials",
        "2",
        "--folds",
        "3",
        "--sample",
        "--pruner",
        "none",
    )
    assert "optimistic" in result.output and "held out" in result.output
    assert "trial 0: alpha=1" in result.stderr  # the defaults run first
    assert "best.toml" in result.output
    again = cli(
        "tune",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--trials",
        "2",
        "--folds",
        "3",
        "--sample",
        "--pruner",
        "none",
    )
    assert not re.search(r"^trial \d+:", again.stderr, re.M)  # finished: nothing ran again
    assert "2 of 2 trials finished" in again.stderr


def test_no_holdout_says_so(cli):
    result = cli(
        "tune",
        "disaster-tweets",
        "-m",
        "tfidf-nb",
        "--trials",
        "2",
        "--folds",
        "3",
        "--sample",
        "--no-holdout",
        "--pruner",
        "none",
    )
    assert "no holdout" in result.output.lower() and "optimistic" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeout", "soon"], "--timeout 'soon': expected seconds or a duration"),
        (["--holdout", "0.7"], "the holdout share must be above 0 and below 0.5"),
        (["-p", "alpha=0.5", "-p", "max_features=none"], "nothing left to search"),
        (
            ["--storage", "postgresql://kk:s3cret@127.0.0.1:1/db"],
            "--storage postgresql://kk:***@127.0.0.1:1/db: cannot open the study storage",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    from support import one_line_error

    result = cli(
        "tune", "disaster-tweets", "-m", "tfidf-nb", "--trials", "1", "--sample", *args, expect=2
    )
    line = one_line_error(result)
    assert message in line
    assert "s3cret" not in result.output + result.stderr


def test_space_override_in_toml_is_checked(cli, tmp_path):
    from support import one_line_error

    config = tmp_path / "t.toml"
    config.write_text("[tune.space]\nalpah = { low = 0.1, high = 2 }\n")
    result = cli(
        "tune", "disaster-tweets", "-m", "tfidf-nb", "--config", str(config), "--sample", expect=2
    )
    assert (
        "[tune.space] alpah: tfidf-nb has no such parameter; did you mean alpha?"
        in one_line_error(result)
    )
