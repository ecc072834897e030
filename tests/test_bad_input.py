"""Bad input: one clear line naming file/column/row and what to do, exit 2, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from support import run_kagglekit


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])
    return errors[0]


def assert_no_run_written(runs: Path = Path("runs")):
    if runs.exists():
        leftovers = [
            p
            for p in runs.rglob("*")
            if p.is_dir()
            and p.parent.name != "_samples"
            and p.name != "_samples"
            and "_samples" not in p.parts
        ]
        assert not [p for p in leftovers if p.parent != runs], leftovers


def cv(cli, data_dir, *extra):
    return cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--data-dir",
        data_dir,
        *extra,
        expect=None,
    )


def edit_train(directory: Path, change) -> None:
    frame = pd.read_csv(directory / "train.csv", dtype=str, keep_default_na=False)
    frame = change(frame)
    frame.to_csv(directory / "train.csv", index=False)


def test_missing_file(cli, tweets_dir):
    (tweets_dir / "test.csv").unlink()
    (tweets_dir / "train.csv").rename(tweets_dir / "train_old.csv")
    result = cv(cli, tweets_dir)
    assert_one_line_error(result, "no train.csv", "kagglekit fetch disaster-tweets", "--data-dir")
    assert_no_run_written()


def test_no_data_anywhere_says_where_it_looked(cli):
    result = cli("cv", "disaster-tweets", "--model", "tfidf-nb", expect=None)
    line = assert_one_line_error(result, "input/nlp-getting-started", "kagglekit fetch", "--sample")
    assert "no-kaggle-input/nlp-getting-started" in line


def test_missing_column(cli, tweets_dir):
    edit_train(tweets_dir, lambda f: f.rename(columns={"text": "tweet"}))
    result = cv(cli, tweets_dir)
    assert_one_line_error(result, "train.csv", "missing column 'text'", "found: id, keyword")
    assert_no_run_written()


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_or_nan_text(cli, tweets_dir, value):
    def blank(frame):
        frame.loc[4, "text"] = value
        frame.loc[9, "text"] = value
        return frame

    edit_train(tweets_dir, blank)
    ident = pd.read_csv(tweets_dir / "train.csv")["id"][4]
    result = cv(cli, tweets_dir)
    assert_one_line_error(
        result,
        "train.csv",
        "column 'text'",
        f"row 5 (id={ident})",
        "2 row(s)",
        "--allow-empty-text",
    )
    assert_no_run_written()
    # the escape hatch works
    ok = cv(cli, tweets_dir, "--allow-empty-text")
    assert ok.exit_code == 0, ok.output


def test_undecodable_bytes(cli, tweets_dir):
    raw = (tweets_dir / "train.csv").read_bytes()
    lines = raw.split(b"\n")
    lines[3] = lines[3].replace(b",", b",\xff\xfe caf\xe9 ", 1)
    (tweets_dir / "train.csv").write_bytes(b"\n".join(lines))
    result = cv(cli, tweets_dir)
    assert_one_line_error(
        result, "train.csv", "byte 0xff", "(line 4)", "not valid utf-8", "--encoding"
    )
    assert_no_run_written()
    ok = cv(cli, tweets_dir, "--encoding", "latin-1")
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("bad", ["2", "yes", ""])
def test_labels_outside_expected_set(cli, tweets_dir, bad):
    def spoil(frame):
        frame.loc[6, "target"] = bad
        return frame

    edit_train(tweets_dir, spoil)
    result = cv(cli, tweets_dir)
    what = "an empty value" if bad == "" else f"value '{bad}'"
    assert_one_line_error(
        result, "train.csv", "column 'target'", what, "row 7", "must be one of 0, 0.0, 1, 1.0"
    )
    assert_no_run_written()


def test_duplicate_ids(cli, tweets_dir):
    def dup(frame):
        frame.loc[10, "id"] = frame.loc[2, "id"]
        return frame

    edit_train(tweets_dir, dup)
    ident = pd.read_csv(tweets_dir / "train.csv", dtype=str)["id"][2]
    result = cv(cli, tweets_dir)
    assert_one_line_error(
        result,
        "train.csv",
        f"id '{ident}'",
        "appears 2 times",
        "rows 3, 11",
        "remove the duplicates",
    )


def test_empty_train(cli, tweets_dir):
    (tweets_dir / "train.csv").write_text("id,keyword,location,text,target\n")
    result = cv(cli, tweets_dir)
    assert_one_line_error(result, "train.csv", "no rows")
    (tweets_dir / "train.csv").write_text("")
    assert_one_line_error(cv(cli, tweets_dir), "train.csv", "empty")


def test_single_class_train(cli, tweets_dir):
    edit_train(tweets_dir, lambda f: f.assign(target="0"))
    assert_one_line_error(cv(cli, tweets_dir), "only one class")


def test_unknown_competition_and_model_suggest(cli, tweets_dir):
    result = cli("cv", "disaster-tweet", "--model", "tfidf-nb", expect=None)
    assert_one_line_error(
        result, "unknown competition 'disaster-tweet'", "did you mean 'disaster-tweets'?"
    )
    result = cli(
        "cv", "disaster-tweets", "--model", "tfidf-bn", "--data-dir", tweets_dir, expect=None
    )
    assert_one_line_error(
        result, "unknown model 'tfidf-bn'", "did you mean 'tfidf-nb'?", "kagglekit models"
    )
    assert_no_run_written()


def test_unknown_and_mistyped_params(cli, tweets_dir):
    result = cv(cli, tweets_dir, "-p", "alpah=2")
    assert_one_line_error(
        result,
        "tfidf-nb has no parameter 'alpah'",
        "did you mean 'alpha'?",
        "valid: alpha, max_features",
    )
    result = cv(cli, tweets_dir, "-p", "alpha=lots")
    assert_one_line_error(result, "alpha='lots' is not a valid float")
    result = cv(cli, tweets_dir, "-p", "alpha")
    assert_one_line_error(result, "expected key=value")
    result = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-lr",
        "-p",
        "C=-1",
        "--data-dir",
        tweets_dir,
        expect=None,
    )
    assert_one_line_error(result, "C must be > 0")
    assert_no_run_written()


def test_too_many_folds(cli, tweets_dir):
    result = cli(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "1",
        "--data-dir",
        tweets_dir,
        expect=None,
    )
    assert_one_line_error(result, "--folds must be at least 2")


def test_submission_that_does_not_match_is_refused(cli, tweets_dir):
    out = cli.json(
        "fit",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--threshold",
        "0.5",
        "--data-dir",
        tweets_dir,
    )
    sample = pd.read_csv(tweets_dir / "sample_submission.csv")
    sample.loc[3, "id"] = 99999999
    sample.to_csv(tweets_dir / "sample_submission.csv", index=False)
    result = cli("submit", out["run_id"], expect=None)
    assert_one_line_error(result, "no prediction for id '99999999'", "sample_submission.csv")
    assert not Path("submissions").exists() or not list(Path("submissions").rglob("*.csv"))


def test_validate_submission_catches_each_problem(tweets_dir):
    from kagglekit import plugins
    from kagglekit.errors import SubmissionError
    from kagglekit.submission import validate_submission

    comp = plugins.get_competition("disaster-tweets")
    sample = pd.read_csv(tweets_dir / "sample_submission.csv")
    good = sample.assign(target=1)
    validate_submission(comp, good, sample)
    cases = {
        "columns": good.rename(columns={"target": "label"}),
        "rows": good.head(10),
        "same and in the same order": good.iloc[::-1].reset_index(drop=True),
        "NaN": good.assign(target=[None] + [1] * (len(good) - 1)),
        "must be 0 or 1": good.assign(target=0.7),
    }
    for fragment, frame in cases.items():
        with pytest.raises(SubmissionError, match=fragment):
            validate_submission(comp, frame, sample)


def test_run_interrupted_by_a_failing_model_keeps_only_completed_jobs(cli, tweets_dir):
    from dataclasses import dataclass

    import numpy as np

    from kagglekit import plugins
    from kagglekit.hookspecs import hookimpl
    from kagglekit.model import Model

    fits = []

    class Exploding(Model):
        @dataclass
        class Params:
            pass

        def fit(self, train, valid=None):
            fits.append(len(train))
            if len(fits) == 2:
                raise RuntimeError("out of memory in the second fold")
            return self

        def predict(self, frame):
            return np.full((len(frame), 1), 0.5)

    class P:
        @hookimpl
        def register_models(self, register):
            register("exploding", Exploding)

    args = (
        "cv",
        "disaster-tweets",
        "--model",
        "exploding",
        "--folds",
        "3",
        "--data-dir",
        tweets_dir,
    )
    plugins.register_plugin(P(), name="exploding")
    try:
        with pytest.raises(RuntimeError, match="second fold"):
            cli(*args, expect=None)
        assert len(fits) == 2
        # no run and no temporary folder; only the completed job, kept for resuming (issue 12)
        slug_dir = Path("runs") / "nlp-getting-started"
        [partial] = list(slug_dir.iterdir())
        assert partial.name.startswith(".jobs-")
        assert sorted(p.name for p in partial.iterdir()) == ["jobs", "plan.json"]
        [job] = list((partial / "jobs").iterdir())  # no scratch folder of the failed job
        assert json.loads((job / "record.json").read_text())["fold"] == 0
        listing = cli.json("runs")
        assert listing["runs"] == [] and listing["incomplete"][0]["jobs_done"] == 1
        cli(*args)  # the same command again: fold 0 is reused, folds 1 and 2 fitted once each
        assert len(fits) == 4
        assert [p.name.startswith(".") for p in slug_dir.iterdir()] == [False]
    finally:
        plugins.unregister_plugin("exploding")


def test_real_process_error_has_no_traceback(tmp_path):
    proc = run_kagglekit(
        "cv", "disaster-tweets", "--model", "nope", "--data-dir", tmp_path, cwd=tmp_path
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("Error:")
    assert proc.stdout == ""


def test_submit_for_a_dataset_without_test_file_says_why(cli, tmp_path):
    from support import make_competition_dir

    data = make_competition_dir("imdb-50k", tmp_path / "imdb", n_train=120, n_test=0)
    out = cli.json("cv", "imdb-50k", "--model", "tfidf-nb", "--folds", "2", "--data-dir", data)
    result = cli("submit", out["run_id"], expect=None)
    assert_one_line_error(result, "has no test file", "kagglekit predict")
