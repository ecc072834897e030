"""submit --upload/--wait and kagglekit submissions, with the real kaggle client on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("kagglesdk", reason="needs the kaggle client: pip install 'kagglekit[kaggle]'")

from kagglekit import kaggle_client, plugins
from kagglekit.competition import Competition
from kagglekit.hookspecs import hookimpl
from support.fake_kaggle import TOKEN, assert_no_secrets, flat_zip, invoke, one_line_error

TWEETS = "nlp-getting-started"
CODE = "kk-test-code-competition"


def tweets_run(tmp_path) -> tuple[str, Path]:
    """A 2-fold tfidf-nb CV run on generated Disaster Tweets files (not --sample)."""
    data = tmp_path / "data" / TWEETS
    data.mkdir(parents=True)
    plugins.get_competition("disaster-tweets").make_sample(data, n_train=120, n_test=40, seed=0)
    out = invoke(
        "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--data-dir", data, "--json"
    )
    return json.loads(out.stdout)["run_id"], data


def write_questions(directory: Path, n_train=60, n_test=20, seed=0) -> None:
    """Quora's schema (qid,question_text,target; submission qid,prediction), learnable words."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    good, bad = ("why how what learn best".split(), "stupid hate idiots worst dumb".split())
    rows = ["qid,question_text,target"]
    for i in range(n_train):
        target = i % 4 == 0
        words = rng.choice(bad if target else good, 4)
        rows.append(f"q{i:05d},{' '.join(words)} question,{int(target)}")
    (directory / "train.csv").write_text("\n".join(rows) + "\n")
    test = ["qid,question_text"] + [
        f"t{i:05d},{' '.join(rng.choice(good, 3))}" for i in range(n_test)
    ]
    (directory / "test.csv").write_text("\n".join(test) + "\n")
    sample = ["qid,prediction"] + [f"t{i:05d},0" for i in range(n_test)]
    (directory / "sample_submission.csv").write_text("\n".join(sample) + "\n")


class CodeCompetitionPlugin:
    @staticmethod
    @hookimpl
    def register_competitions(register):
        register(
            Competition(
                name=CODE,
                title="a code competition",
                task="binary",
                id_column="qid",
                text_columns=("question_text",),
                target_columns=("target",),
                submission_columns=("prediction",),
                submission_kind="label",
                metric="f1",
                code_competition=True,
            )
        )


@pytest.fixture
def code_run(tmp_path, isolated_kaggle):
    plugins.register_plugin(CodeCompetitionPlugin, name="kk-test-code")
    try:
        data = tmp_path / "data" / CODE
        write_questions(data)
        out = invoke(
            "cv", CODE, "--model", "tfidf-nb", "--folds", "2", "--data-dir", data, "--json"
        )
        yield json.loads(out.stdout)["run_id"]
    finally:
        plugins.unregister_plugin("kk-test-code")


def test_upload_wait_prints_the_public_score(kaggle_server, tmp_path):
    run_id, data = tweets_run(tmp_path)
    kaggle_server.add(TWEETS, flat_zip({}))
    kaggle_server.polls_until_scored = 2  # pending twice, then scored
    result = invoke("submit", run_id, "--upload", "-m", "nb 2-fold", "--wait")
    path = Path("submissions") / TWEETS / f"{run_id}.csv"
    lines = result.stdout.splitlines()
    assert lines == [str(path), "Public score: 0.81234"]
    assert "as submission 41001" in result.stderr and "pending after" in result.stderr
    # the validated file is what Kaggle received, under its own name and description
    assert kaggle_server.uploads["blob-1"] == path.read_bytes()
    assert kaggle_server.upload_names["blob-1"] == path.name
    assert kaggle_server.submissions[TWEETS][0]["description"] == "nb 2-fold"
    assert kaggle_server.count("ListSubmissions") == 3


def test_upload_json_and_default_message(kaggle_server, tmp_path):
    run_id, _ = tweets_run(tmp_path)
    kaggle_server.add(TWEETS, flat_zip({}))
    payload = json.loads(invoke("submit", run_id, "--upload", "--json").stdout)
    assert payload["upload"] == {
        "uploaded": True,
        "ref": 41001,
        "message": f"kagglekit {run_id}",
        "status": "pending",
        "public_score": None,
    }
    assert payload["path"].endswith(f"{run_id}.csv")
    assert kaggle_server.count("ListSubmissions") == 0  # no --wait: no polling
    waited = json.loads(invoke("submit", run_id, "--upload", "--wait", "--json").stdout)
    assert waited["upload"]["status"] == "complete"
    assert waited["upload"]["public_score"] == pytest.approx(0.81234)


def test_a_scoring_error_is_one_line(kaggle_server, tmp_path):
    run_id, _ = tweets_run(tmp_path)
    kaggle_server.add(TWEETS, flat_zip({}))
    kaggle_server.score_error = "Submission CSV is missing the 'target' column"
    error = one_line_error(invoke("submit", run_id, "--upload", "--wait", expect=None))
    assert "could not score submission 41001" in error and "'target' column" in error


def test_wait_gives_up_after_the_timeout(kaggle_server, tmp_path):
    run_id, _ = tweets_run(tmp_path)
    kaggle_server.add(TWEETS, flat_zip({}))
    kaggle_server.polls_until_scored = 10**6
    error = one_line_error(
        invoke("submit", run_id, "--upload", "--wait", "--wait-timeout", "0", expect=None)
    )
    assert "still not scored" in error and f"kagglekit submissions {TWEETS}" in error


def test_upload_errors_403_and_404(kaggle_server, tmp_path):
    run_id, _ = tweets_run(tmp_path)
    error = one_line_error(invoke("submit", run_id, "--upload", expect=None))
    assert "HTTP 404" in error and f"'{TWEETS}'" in error
    kaggle_server.add(TWEETS, flat_zip({}), rules_accepted=False)
    error = one_line_error(invoke("submit", run_id, "--upload", expect=None))
    assert f"https://www.kaggle.com/competitions/{TWEETS}/rules" in error
    assert kaggle_server.uploads == {}


def test_submissions_lists_scores(kaggle_server, tmp_path):
    run_id, _ = tweets_run(tmp_path)
    kaggle_server.add(TWEETS, flat_zip({}))
    assert "No submissions" in invoke("submissions", "disaster-tweets").stdout
    invoke("submit", run_id, "--upload", "-m", "first")
    invoke("submit", run_id, "--upload", "-m", "second")
    kaggle_server.polls_until_scored = 1
    listed = json.loads(invoke("submissions", "disaster-tweets", "--json").stdout)
    assert listed["competition"] == TWEETS
    rows = listed["submissions"]
    assert [(r["ref"], r["description"], r["status"]) for r in rows] == [
        (41002, "second", "pending"),
        (41001, "first", "pending"),
    ]
    table = invoke("submissions", "disaster-tweets").stdout
    assert "0.81234" in table and "second" in table and "complete" in table


def test_wait_needs_upload_and_sample_runs_are_not_uploaded(kaggle_server, tmp_path):
    run_id, _ = tweets_run(tmp_path)
    error = one_line_error(invoke("submit", run_id, "--wait", expect=None))
    assert "--wait needs --upload" in error
    sample = json.loads(
        invoke(
            "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--sample", "--json"
        ).stdout
    )["run_id"]
    error = one_line_error(invoke("submit", sample, "--upload", expect=None))
    assert "generated sample" in error
    assert kaggle_server.requests == []


def test_code_competition_is_not_uploaded_from_outside_a_notebook(kaggle_server, code_run):
    error = one_line_error(invoke("submit", code_run, "--upload", "-m", "x", expect=None))
    assert f"{CODE} is a code competition" in error and "notebook" in error
    assert "/kaggle/working/submission.csv" in error.replace(
        str(kaggle_client.submit.KAGGLE_WORKING), "/kaggle/working"
    )
    assert kaggle_server.requests == []
    assert not Path("submissions").exists()  # refused before anything was written
    # without --upload the file is still written, with a note
    plain = invoke("submit", code_run)
    assert Path(plain.stdout.strip()).is_file() and "code competition" in plain.stderr


def test_code_competition_inside_a_notebook_writes_kaggle_working(
    kaggle_server, code_run, tmp_path, monkeypatch
):
    working = tmp_path / "kaggle" / "working"
    working.mkdir(parents=True)
    monkeypatch.setattr(kaggle_client.submit, "KAGGLE_WORKING", working)
    result = invoke("submit", code_run, "--upload", "-m", "bigru 5-fold", "--json")
    payload = json.loads(result.stdout)
    assert payload["path"] == str(working / "submission.csv")
    assert payload["upload"] == {
        "uploaded": False,
        "reason": "code competition",
        "path": str(working / "submission.csv"),
    }
    written = (working / "submission.csv").read_text().splitlines()
    assert written[0] == "qid,prediction" and len(written) == 21
    assert {line.split(",")[1] for line in written[1:]} <= {"0", "1"}
    assert "nothing was uploaded" in result.stderr
    assert kaggle_server.requests == []


def test_credentials_never_appear_when_submitting(kaggle_server, tmp_path, caplog, monkeypatch):
    import logging

    caplog.set_level(logging.DEBUG)
    run_id, _ = tweets_run(tmp_path)
    kaggle_server.add(TWEETS, flat_zip({}))
    outputs = []
    for args in (
        ("submit", run_id, "--upload", "-m", "a", "--wait"),
        ("submit", run_id, "--upload", "--wait", "--json"),
        ("submissions", TWEETS),
        ("submissions", TWEETS, "--json"),
    ):
        r = invoke(*args)
        outputs += [r.stdout, r.stderr]
    monkeypatch.setenv("KAGGLE_API_TOKEN", TOKEN)
    r = invoke("submit", run_id, "--upload", "--wait", "--json")
    outputs += [r.stdout, r.stderr]
    assert_no_secrets(*outputs, caplog.text, files_under=tmp_path, skip=tmp_path / "home")
