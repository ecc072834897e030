"""kagglekit package: a tfidf run as a Kaggle dataset + offline notebook, installed into a
fresh virtual environment with pip --no-index, run on a fake /kaggle/input, submission
checked against the sample submission and against `kagglekit submit`."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from support import SHARED, make_competition_dir
from support.fake_kaggle import invoke, one_line_error
from support.package import (
    cv_run,
    fresh_venv,
    kaggle_layout,
    package_args,
    run_script,
    write_preinstalled,
)

TWEETS = "nlp-getting-started"


@pytest.fixture
def tweets_data(tmp_path) -> Path:
    """Disaster Tweets from ../shared when present, else generated files in its schema."""
    real = SHARED / "data" / TWEETS
    if (real / "train.csv").is_file() and (real / "test.csv").is_file():
        return real
    return make_competition_dir("disaster-tweets", tmp_path / "data", n_train=400, n_test=120)


def test_package_installs_offline_and_writes_a_valid_submission(tmp_path, tweets_data):
    run_id = cv_run(tweets_data, "disaster-tweets")
    preinstalled = write_preinstalled(tmp_path / "preinstalled.txt")
    out = tmp_path / "pkg"
    result = invoke(*package_args(run_id, out, preinstalled, "--json"))
    built = json.loads(result.stdout)
    assert built["dataset"] == "kk-tester/kagglekit-nlp-getting-started"
    assert built["kernel"] == "kk-tester/kagglekit-nlp-getting-started-submission"
    # everything kagglekit needs is "preinstalled" here: the wheelhouse is kagglekit alone
    assert built["wheels"] == ["kagglekit-0.1.0-py3-none-any.whl"]
    assert {"numpy", "pandas", "scikit-learn"} <= set(built["left_to_image"])
    dataset, kernel = out / "dataset", out / "kernel"

    # the run folder is copied file for file, and the manifest has every file's sha256
    manifest = json.loads((dataset / "kagglekit-manifest.json").read_text())
    run_dir = Path("runs") / TWEETS / run_id
    copied = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    assert copied and "run.json" in copied and any(c.startswith("models/") for c in copied)
    listed = {name: entry for name, entry in manifest["files"].items()}
    for name in copied:
        entry = listed[f"runs/{TWEETS}/{run_id}/{name}"]
        assert entry["sha256"] == hashlib.sha256((run_dir / name).read_bytes()).hexdigest()
    assert set(listed) == {f"runs/{TWEETS}/{run_id}/{n}" for n in copied} | {
        "wheels/kagglekit-0.1.0-py3-none-any.whl"
    }
    assert manifest["install"] == ["kagglekit==0.1.0"] and manifest["submit_run"] == run_id
    with zipfile.ZipFile(dataset / "wheels" / "kagglekit-0.1.0-py3-none-any.whl") as whl:
        names = whl.namelist()
    assert "kagglekit/package/runtime.py" in names and "kagglekit_plugins/tfidf.py" in names
    meta = json.loads((dataset / "dataset-metadata.json").read_text())
    assert meta["id"] == built["dataset"] and meta["licenses"] == [{"name": "CC0-1.0"}]
    assert 6 <= len(meta["title"]) <= 50

    # kernel: internet off, the dataset and the competition as inputs, no GPU for tfidf
    kmeta = json.loads((kernel / "kernel-metadata.json").read_text())
    assert kmeta["enable_internet"] is False and kmeta["enable_gpu"] is False
    assert kmeta["dataset_sources"] == [built["dataset"]]
    assert kmeta["competition_sources"] == [TWEETS]
    script_path = kernel / "kagglekit-nlp-getting-started-submission.py"
    script = script_path.read_text()
    cells = json.loads((kernel / kmeta["code_file"]).read_text())["cells"]
    assert len(cells) == 1 and "".join(cells[0]["source"]) == script

    python = fresh_venv(tmp_path / "env")
    inputs, working = kaggle_layout(
        tmp_path / "damaged", dataset, "kagglekit-nlp-getting-started", tweets_data, TWEETS
    )
    # a damaged file is refused before anything is installed
    model_file = next(
        p
        for p in sorted((inputs / "kagglekit-nlp-getting-started").rglob("*"))
        if p.is_file() and "/models/" in p.as_posix()
    )
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    done = run_script(python, script_path, inputs, working, tmp_path / "home")
    assert done.returncode == 2, done.stderr
    assert "is damaged" in done.stderr and model_file.name in done.stderr
    assert not (working / "submission.csv").exists()
    assert "kagglekit" not in _installed(python)

    inputs, working = kaggle_layout(
        tmp_path / "good", dataset, "kagglekit-nlp-getting-started", tweets_data, TWEETS
    )
    done = run_script(python, script_path, inputs, working, tmp_path / "home")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "verified" in done.stdout and "--no-index" in done.stdout
    # kagglekit came from the package's wheel, into the fresh environment
    assert _installed(python).get("kagglekit", "").startswith(str(tmp_path / "env" / "venv"))

    submission = pd.read_csv(working / "submission.csv")
    sample = pd.read_csv(tweets_data / "sample_submission.csv")
    assert list(submission.columns) == list(sample.columns) == ["id", "target"]
    assert submission["id"].tolist() == sample["id"].tolist()
    assert set(submission["target"].unique()) <= {0, 1} and submission["target"].nunique() == 2
    # the same file `kagglekit submit` writes from the run's own test predictions
    local = Path(invoke("submit", run_id, "--output", tmp_path / "local.csv").stdout.strip())
    assert submission.equals(pd.read_csv(local))

    # a dataset whose folders stayed zipped as uploaded (runs.zip, wheels.zip) still works
    inputs, working = kaggle_layout(
        tmp_path / "zipped", dataset, "kagglekit-nlp-getting-started", tweets_data, TWEETS
    )
    mounted = inputs / "kagglekit-nlp-getting-started"
    for top in ("runs", "wheels"):
        shutil.make_archive(str(mounted / top), "zip", mounted / top)
        shutil.rmtree(mounted / top)
    done = run_script(python, script_path, inputs, working, tmp_path / "home")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "unpacked" in done.stdout
    assert pd.read_csv(working / "submission.csv").equals(submission)
    assert sorted(p.name for p in working.iterdir()) == ["submission.csv"]  # the only output


def _installed(python: Path) -> dict:
    """{'kagglekit': its folder} when the fresh environment imports kagglekit."""
    import subprocess

    code = (
        "import importlib.util as u; s = u.find_spec('kagglekit'); "
        "print(s.submodule_search_locations[0] if s else '')"
    )
    found = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, cwd="/"
    ).stdout.strip()
    return {"kagglekit": found} if found else {}


def test_package_refuses_a_bad_owner_a_foreign_output_and_an_output_under_a_file(
    tmp_path, tweets_dir
):
    run_id = cv_run(tweets_dir, "disaster-tweets")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    error = one_line_error(
        invoke(
            "package", run_id, "--output", tmp_path / "taken", "--owner", "kk-tester", expect=None
        )
    )
    assert "is not a kagglekit package" in error
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    error = one_line_error(invoke("package", run_id, "--owner", "not a user!", expect=None))
    assert "--owner" in error
    assert not Path("packages").exists()
    error = one_line_error(
        invoke(
            "package",
            run_id,
            "--owner",
            "kk-tester",
            "--output",
            tmp_path / "taken" / "notes.txt" / "pkg",
            expect=None,
        )
    )
    assert "cannot write the package" in error and "notes.txt" in error
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]


def submittable_competitions() -> list[str]:
    """Every built-in competition `kagglekit submit` can write a file for (it has a test
    split): the packaged notebook must write its submission.csv."""
    from kagglekit import plugins

    registry = plugins.competitions()
    return sorted(
        name
        for name, comp in registry.items.items()
        if comp.test_file and registry.owners[name] in BUILTIN_COMPETITIONS
    )


BUILTIN_COMPETITIONS = {"disaster_tweets", "imdb", "jigsaw", "jigsaw_multilingual", "quora"}
NOTEBOOK_CASES = [
    *[(slug, "tfidf-nb") for slug in submittable_competitions()],
    ("quora-insincere-questions-classification", "stack"),
]


def test_every_submittable_competition_is_packaged_quora_the_code_competition_included():
    slugs = {slug for slug, _ in NOTEBOOK_CASES}
    assert {
        "quora-insincere-questions-classification",
        "nlp-getting-started",
        "aclImdb",
        "word2vec-nlp-tutorial",
        "jigsaw-toxic-comment-classification-challenge",
        "jigsaw-multilingual-toxic-comment-classification",
    } == slugs


@pytest.mark.parametrize("slug,what", NOTEBOOK_CASES, ids=[f"{s}-{w}" for s, w in NOTEBOOK_CASES])
def test_the_packaged_notebook_writes_the_submission_of_every_competition(tmp_path, slug, what):
    """A generated sample in the competition's exact schema -> a run (or a stack blend) ->
    package -> the notebook in a fake /kaggle layout, offline: submission.csv has the sample
    submission's ids in order, its columns and the right kind of values, and is the file
    `kagglekit submit` writes for the run."""
    from kagglekit import plugins

    comp = plugins.get_competition(slug)
    data = make_competition_dir(slug, tmp_path / "data", n_train=240, n_test=60)
    if what == "stack":
        members = [cv_run(data, slug, model) for model in ("tfidf-nb", "tfidf-lr")]
        run_id = json.loads(invoke("blend", *members, "--method", "stack", "--json").stdout)[
            "run_id"
        ]
    else:
        run_id = cv_run(data, slug, what)
    out = tmp_path / "pkg"
    built = json.loads(
        invoke(
            *package_args(run_id, out, write_preinstalled(tmp_path / "pre.txt"), "--json")
        ).stdout
    )
    local = pd.read_csv(
        invoke("submit", run_id, "--output", tmp_path / "local.csv").stdout.strip(),
        dtype={comp.sub_id_column: str},
    )
    shutil.rmtree("runs")  # as on Kaggle: only the package's copies exist
    files = [name for name in (comp.test_file, comp.sample_submission_file) if name]
    inputs, working = kaggle_layout(
        tmp_path / "kaggle",
        out / "dataset",
        built["dataset"].split("/")[1],
        data,
        slug,
        files=files,
    )
    script = next((out / "kernel").glob("*.py"))
    done = run_script(fresh_venv(tmp_path / "env"), script, inputs, working, tmp_path / "home")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert sorted(p.name for p in working.iterdir()) == ["submission.csv"]

    submission = pd.read_csv(working / "submission.csv", dtype={comp.sub_id_column: str})
    columns = [comp.sub_id_column, *comp.sub_columns]
    assert list(submission.columns) == columns
    if comp.sample_submission_file:
        sample = pd.read_csv(data / comp.sample_submission_file, dtype={comp.sub_id_column: str})
        assert list(submission.columns) == list(sample.columns)
        assert submission[comp.sub_id_column].tolist() == sample[comp.sub_id_column].tolist()
    else:  # aclImdb: one row per test review, ids as the run predicted them
        assert len(submission) == 60 and submission[comp.sub_id_column].is_unique
    values = submission[list(comp.sub_columns)]
    if comp.submission_kind == "label":
        assert all(str(t).startswith("int") for t in values.dtypes)
        assert set(values.stack().unique()) <= {0, 1}
    else:
        assert all(str(t).startswith("float") for t in values.dtypes)
        assert ((values >= 0) & (values <= 1)).all().all() and values.stack().nunique() > 2
    pd.testing.assert_frame_equal(submission, local)
