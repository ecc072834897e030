"""kagglekit package --push and submit --upload --wait on a code competition, with the real
kaggle client against the stand-in Kaggle on loopback (tests/support/fake_kaggle_code.py)."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("kagglesdk", reason="needs the kaggle client: pip install 'kagglekit[kaggle]'")

from kagglekit import plugins
from kagglekit.competition import Competition
from kagglekit.hookspecs import hookimpl
from support.fake_kaggle import assert_no_secrets, flat_zip, invoke, one_line_error
from support.package import PYTHON, cv_run, this_platform, write_preinstalled

CODE = "kk-test-code-package"
DATASET = f"kk-tester/kagglekit-{CODE}"
KERNEL = f"kk-tester/kagglekit-{CODE}-submission"


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


def write_questions(directory: Path, n_train=60, n_test=20) -> None:
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    good, bad = "why how what learn best".split(), "stupid hate idiots worst dumb".split()
    rows = ["qid,question_text,target"] + [
        f"q{i:05d},{' '.join(rng.choice(bad if i % 4 == 0 else good, 4))} question,"
        f"{int(i % 4 == 0)}"
        for i in range(n_train)
    ]
    (directory / "train.csv").write_text("\n".join(rows) + "\n")
    test = ["qid,question_text"] + [
        f"t{i:05d},{' '.join(rng.choice(good, 3))}" for i in range(n_test)
    ]
    (directory / "test.csv").write_text("\n".join(test) + "\n")
    sample = ["qid,prediction"] + [f"t{i:05d},0" for i in range(n_test)]
    (directory / "sample_submission.csv").write_text("\n".join(sample) + "\n")


@pytest.fixture
def code_run(tmp_path, kaggle_server):
    plugins.register_plugin(CodeCompetitionPlugin, name="kk-test-code-package")
    try:
        write_questions(tmp_path / "data" / CODE)
        kaggle_server.add(CODE, flat_zip({}))
        yield cv_run(tmp_path / "data" / CODE, CODE)
    finally:
        plugins.unregister_plugin("kk-test-code-package")


def push(run_id, tmp_path, *more):
    preinstalled = write_preinstalled(tmp_path / "preinstalled.txt")
    return invoke(
        "package",
        run_id,
        "--push",
        "--python-version",
        PYTHON,
        "--platform",
        this_platform(),
        "--preinstalled",
        preinstalled,
        "--no-index",
        "--json",
        *more,
    )


def methods(state) -> list[str]:
    return [path.rsplit("/", 1)[1] for verb, path in state.requests if verb == "POST"]


def test_push_creates_then_versions_the_dataset_and_pushes_the_notebook(
    kaggle_server, code_run, tmp_path
):
    result = push(code_run, tmp_path)
    payload = json.loads(result.stdout)
    assert payload["pushed"] == {
        **payload["pushed"],
        "run_id": code_run,
        "kernel": KERNEL,
        "version": 1,
        "dataset": DATASET,
        "competition": CODE,
    }
    assert methods(kaggle_server)[0] == "GetDatasetStatus"  # 404: not there yet
    assert methods(kaggle_server).count("CreateDataset") == 1
    assert "CreateDatasetVersion" not in methods(kaggle_server)
    assert methods(kaggle_server)[-1] == "SaveKernel"
    code = kaggle_server.code

    # what was uploaded is the package: the manifest, and runs/ and wheels/ zipped
    files = code.files(DATASET, uploads=kaggle_server.uploads)
    assert sorted(files) == ["kagglekit-manifest.json", "runs.zip", "wheels.zip"]
    manifest = json.loads(files["kagglekit-manifest.json"])
    checked = 0
    for top in ("runs", "wheels"):
        with zipfile.ZipFile(io.BytesIO(files[f"{top}.zip"])) as zf:
            for name, entry in manifest["files"].items():
                if name.startswith(top + "/"):
                    data = zf.read(name[len(top) + 1 :])
                    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
                    checked += 1
    assert checked == len(manifest["files"]) and checked > 3
    assert code.datasets[DATASET][0]["private"] is True

    # the notebook: internet off, the dataset and the competition as inputs, the script
    # bound to this manifest
    saved = code.kernels[KERNEL][0]
    assert saved["enableInternet"] is False and saved["kernelType"] == "notebook"
    assert saved["datasetDataSources"] == [DATASET] and saved["competitionDataSources"] == [CODE]
    source = json.loads(saved["text"])["cells"][0]["source"]
    assert hashlib.sha256(files["kagglekit-manifest.json"]).hexdigest() in source
    assert 'pip", "install", "--no-index"' in source
    record = json.loads((Path("runs") / "_kernels" / f"{code_run}.json").read_text())
    assert record["kernel"] == KERNEL and record["version"] == 1

    # pushing again makes a new dataset version and notebook version 2
    kaggle_server.requests.clear()
    again = json.loads(push(code_run, tmp_path, "-m", "second try").stdout)
    assert again["pushed"]["version"] == 2
    assert "CreateDatasetVersion" in methods(kaggle_server)
    assert "CreateDataset" not in methods(kaggle_server)
    assert [v["notes"] for v in code.datasets[DATASET]] == ["", "second try"]
    assert len(code.kernels[KERNEL]) == 2
    record = json.loads((Path("runs") / "_kernels" / f"{code_run}.json").read_text())
    assert record["version"] == 2
    assert_no_secrets(result.stdout, result.stderr, files_under=tmp_path, skip=tmp_path / "home")


def test_submit_upload_wait_submits_the_notebook_version_and_prints_the_score(
    kaggle_server, code_run, tmp_path
):
    push(code_run, tmp_path)
    kaggle_server.code.kernel_polls_until_done = 2
    result = invoke("submit", code_run, "--upload", "-m", "tfidf notebook", "--wait")
    assert "Public score: 0.81234" in result.stdout
    assert "notebook running" in result.stderr
    sent = kaggle_server.code.code_submissions
    assert len(sent) == 1
    assert {
        k: sent[0].get(k)
        for k in (
            "competitionName",
            "kernelOwner",
            "kernelSlug",
            "kernelVersion",
            "fileName",
            "submissionDescription",
        )
    } == {
        "competitionName": CODE,
        "kernelOwner": "kk-tester",
        "kernelSlug": KERNEL.split("/")[1],
        "kernelVersion": 1,
        "fileName": "submission.csv",
        "submissionDescription": "tfidf notebook",
    }
    assert methods(kaggle_server).count("GetKernelSessionStatus") == 3
    assert "CreateSubmission" not in methods(kaggle_server)  # no file was uploaded

    as_json = json.loads(invoke("submit", code_run, "--upload", "--wait", "--json").stdout)
    assert as_json["upload"]["uploaded"] is True and as_json["upload"]["public_score"] == 0.81234
    assert (as_json["upload"]["kernel"], as_json["upload"]["kernel_version"]) == (KERNEL, 1)
    assert (
        kaggle_server.code.code_submissions[-1]["submissionDescription"] == f"kagglekit {code_run}"
    )


def test_a_failed_notebook_is_not_submitted(kaggle_server, code_run, tmp_path):
    push(code_run, tmp_path)
    kaggle_server.code.kernel_status = "ERROR"
    kaggle_server.code.kernel_failure = "kagglekit: run.json is damaged"
    error = one_line_error(invoke("submit", code_run, "--upload", "--wait", expect=None))
    assert "failed on Kaggle" in error and "run.json is damaged" in error
    assert f"https://www.kaggle.com/code/{KERNEL}" in error
    assert kaggle_server.code.code_submissions == []


def test_submit_upload_without_a_pushed_notebook_says_to_package_it(kaggle_server, code_run):
    error = one_line_error(invoke("submit", code_run, "--upload", expect=None))
    assert f"kagglekit package {code_run} --push" in error
    assert kaggle_server.requests == []


def test_push_without_credentials_is_one_line_before_anything_is_built(
    kaggle_server, code_run, tmp_path, monkeypatch
):
    monkeypatch.delenv("KAGGLE_KEY")
    error = one_line_error(
        invoke(
            "package",
            code_run,
            "--push",
            "--owner",
            "kk-tester",
            "--preinstalled",
            write_preinstalled(tmp_path / "pre.txt"),
            "--no-index",
            expect=None,
        )
    )
    assert "KAGGLE_KEY" in error
    assert not Path("packages").exists()
    assert kaggle_server.requests == []


def test_a_run_on_a_generated_sample_is_never_pushed(kaggle_server, tmp_path):
    sample = json.loads(
        invoke(
            "cv", "disaster-tweets", "--model", "tfidf-nb", "--folds", "2", "--sample", "--json"
        ).stdout
    )["run_id"]
    error = one_line_error(invoke("package", sample, "--push", expect=None))
    assert "generated sample" in error and sample in error
    assert kaggle_server.requests == [] and not Path("packages").exists()
