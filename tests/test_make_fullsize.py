"""benchmarks/make_fullsize.py at a tiny --scale, for every competition whose real rows are
in ../shared/data (skipped when absent): the adapter's files and columns, round(scale x
Kaggle's count) rows, unique ids, a vocabulary that grows with the rows, folders that
``kagglekit data`` validates, and a second build with the same options that does nothing."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support import REPO, invoke_json, shared_path

pytestmark = pytest.mark.real_data

MULTILINGUAL = "jigsaw-multilingual-toxic-comment-classification"
SCRIPT = REPO / "benchmarks" / "make_fullsize.py"
SCALE = 0.002
ALIAS = {
    "quora-insincere-questions-classification": "quora",
    "jigsaw-toxic-comment-classification-challenge": "jigsaw",
    "nlp-getting-started": "disaster-tweets",
    "jigsaw-multilingual-toxic-comment-classification": "jigsaw-multilingual",
    "word2vec-nlp-tutorial": "imdb",
}
# Kaggle's row count of every file
KAGGLE_ROWS = {
    "quora-insincere-questions-classification": {
        "train.csv": 1_306_122,
        "test.csv": 375_806,
        "sample_submission.csv": 375_806,
    },
    "jigsaw-toxic-comment-classification-challenge": {
        "train.csv": 159_571,
        "test.csv": 153_164,
        "test_labels.csv": 153_164,
        "sample_submission.csv": 153_164,
    },
    "nlp-getting-started": {"train.csv": 7_613, "test.csv": 3_263, "sample_submission.csv": 3_263},
    "jigsaw-multilingual-toxic-comment-classification": {
        "jigsaw-toxic-comment-train.csv": 223_549,
        "jigsaw-unintended-bias-train.csv": 1_902_194,
        "validation.csv": 8_000,
        "test.csv": 63_812,
        "sample_submission.csv": 63_812,
    },
    "word2vec-nlp-tutorial": {
        "labeledTrainData.tsv": 25_000,
        "testData.tsv": 25_000,
        "unlabeledTrainData.tsv": 50_000,
        "sampleSubmission.csv": 25_000,
    },
}
# files whose ids repeat another file's, as on Kaggle: the submission files and the test
# labels hold the test ids
NOT_CROSS_CHECKED = {"sample_submission.csv", "sampleSubmission.csv", "test_labels.csv"}
TRAIN_FILE = {
    "jigsaw-multilingual-toxic-comment-classification": "jigsaw-toxic-comment-train.csv",
    "word2vec-nlp-tutorial": "labeledTrainData.tsv",
}


def script_module():
    spec = importlib.util.spec_from_file_location("make_fullsize", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run_script(*args) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{slug: folder} of every competition whose source rows exist, built at SCALE."""
    shared = shared_path("data")
    sources = script_module().SOURCES
    slugs = [s for s in ALIAS if all((shared / f).is_file() for f in sources[s])]
    if not slugs:
        pytest.skip(f"none of the source files are in {shared}")
    out = tmp_path_factory.mktemp("fullsize")
    result = run_script("--scale", SCALE, "--out", out, *[a for s in slugs for a in ("-c", s)])
    folders = [Path(line) for line in result.stdout.splitlines()]
    assert folders == [out / s for s in slugs]
    assert "distinct words at 10% / 30% / 100% of rows" in result.stderr
    return dict(zip(slugs, folders))


def folder_of(built, slug) -> Path:
    if slug not in built:
        pytest.skip(f"the source rows of {slug} are not in ../shared/data")
    return built[slug]


def read(comp, path: Path):
    from kagglekit.data import read_csv

    options = dict(comp.read_options) if path.suffix == ".tsv" else {}
    return read_csv(path, **options)


@pytest.mark.parametrize("slug", list(ALIAS))
def test_files_columns_counts_and_ids_are_kaggles(slug, built, tmp_path):
    from kagglekit import plugins

    folder = folder_of(built, slug)
    comp = plugins.get_competition(slug)
    sample = tmp_path / "sample"
    sample.mkdir()
    comp.make_sample(sample, n_train=200, n_test=60, seed=0)
    made = sorted(p.name for p in folder.iterdir() if p.name != ".fullsize.json")
    assert made == sorted(p.name for p in sample.iterdir()) == sorted(KAGGLE_ROWS[slug])
    ids = []
    # the multilingual test.csv numbers its rows from 0 like validation.csv, as on Kaggle
    # (the loader needs only the training files' ids distinct)
    exempt = NOT_CROSS_CHECKED | ({"test.csv"} if slug == MULTILINGUAL else set())
    for name, real in KAGGLE_ROWS[slug].items():
        frame = read(comp, folder / name)
        assert list(frame.columns) == list(read(comp, sample / name).columns), name
        assert len(frame) == round(SCALE * real), name
        assert frame.iloc[:, 0].is_unique, name
        if name not in exempt:
            ids.append(frame.iloc[:, 0])
    every = np.concatenate([i.to_numpy() for i in ids])
    assert len(set(every)) == len(every)  # unique across the competition's files too
    meta = json.loads((folder / ".fullsize.json").read_text())
    assert meta["options"]["scale"] == SCALE and meta["options"]["competition"] == slug


def test_id_styles(built):
    for slug, pattern, files in [
        ("quora-insincere-questions-classification", r"[0-9a-f]{20}", ["train.csv"]),
        (
            "jigsaw-toxic-comment-classification-challenge",
            r"[0-9a-f]{16}",
            ["train.csv", "test.csv"],
        ),
        ("nlp-getting-started", r"\d+", ["train.csv", "test.csv"]),
    ]:
        if slug in built:
            for name in files:
                lines = (built[slug] / name).read_text().splitlines()
                assert re.fullmatch(pattern, lines[1].split(",")[0]), (slug, lines[1])
    if "word2vec-nlp-tutorial" in built:  # quoted "<number>_<rating>", quotes escaped
        folder = built["word2vec-nlp-tutorial"]
        first = (folder / "labeledTrainData.tsv").read_text().splitlines()[:2]
        assert first[0] == "id\tsentiment\treview"
        assert re.match(r'"\d+_(\d+)"\t([01])\t"', first[1])
        rating, label = re.match(r'"\d+_(\d+)"\t([01])\t"', first[1]).groups()
        assert (int(rating) >= 7) == (label == "1")
        assert re.match(
            r'"\d+_0"\t"', (folder / "unlabeledTrainData.tsv").read_text().splitlines()[1]
        )


@pytest.mark.parametrize("slug", list(ALIAS))
def test_kagglekit_data_validates_the_folder(slug, built):
    folder = folder_of(built, slug)
    rows = KAGGLE_ROWS[slug]
    out = invoke_json("data", ALIAS[slug], "--data-dir", folder)
    assert out["n_train"] == round(SCALE * rows[TRAIN_FILE.get(slug, "train.csv")])
    assert out["n_test"] == out["n_sample_submission"]


def test_multilingual_validation_and_unintended_bias_load(built):
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset

    folder = folder_of(built, "jigsaw-multilingual-toxic-comment-classification")
    comp = plugins.get_competition("jigsaw-multilingual")
    params = comp.params_class()(unintended_bias=True)
    data = load_dataset(
        comp, DataOptions(data_dir=folder, validation_as_fold=True, competition_params=params)
    )
    rows = KAGGLE_ROWS[comp.slug]
    assert len(data.train) == sum(
        round(SCALE * rows[f])
        for f in (
            "jigsaw-toxic-comment-train.csv",
            "jigsaw-unintended-bias-train.csv",
            "validation.csv",
        )
    )
    test = read(comp, folder / "test.csv")
    assert set(test["lang"]) <= {"es", "fr", "it", "pt", "ru", "tr"}


def test_jigsaw_test_labels_mostly_unscored(built):
    from kagglekit import plugins
    from kagglekit.scoring import load_test_labels

    folder = folder_of(built, "jigsaw-toxic-comment-classification-challenge")
    comp = plugins.get_competition("jigsaw")
    ids, y, n_unscored = load_test_labels(comp, folder / "test_labels.csv")
    n_test = round(SCALE * 153_164)
    assert len(ids) == round(n_test * 63_978 / 153_164) and n_unscored == n_test - len(ids)
    assert n_unscored > n_test / 2
    assert set(ids) <= set(read(comp, folder / "test.csv")["id"])


def test_label_rates_are_the_real_ones(built):
    folder = folder_of(built, "quora-insincere-questions-classification")
    from kagglekit import plugins

    comp = plugins.get_competition("quora")
    real = read(comp, shared_path("data", comp.slug, "train.csv"))["target"].astype(int).mean()
    made = read(comp, folder / "train.csv")["target"].astype(int).mean()
    assert abs(made - real) < 0.02


def test_vocabulary_grows_with_rows_and_scale(built, tmp_path):
    for slug, folder in built.items():
        meta = json.loads((folder / ".fullsize.json").read_text())
        counts = meta["files"][TRAIN_FILE.get(slug, "train.csv")]["distinct_words"]
        assert counts["10%"] < counts["30%"] < counts["100%"], (slug, counts)
    folder = folder_of(built, "quora-insincere-questions-classification")
    small = json.loads((folder / ".fullsize.json").read_text())
    run_script("--scale", 3 * SCALE, "--out", tmp_path, "-c", "quora")
    bigger = json.loads((tmp_path / folder.name / ".fullsize.json").read_text())
    n_small = small["files"]["train.csv"]["distinct_words"]["100%"]
    n_big = bigger["files"]["train.csv"]["distinct_words"]["100%"]
    assert n_big > 1.5 * n_small  # far more words than the source rows hold
    # about --novel-share of the words are made up: not in the source questions
    comp_words = set(
        re.findall(
            r"\w+", shared_path("data", folder.name, "train.csv").read_text(encoding="utf-8")
        )
    )
    made = re.findall(r"\w+", (tmp_path / folder.name / "train.csv").read_text(encoding="utf-8"))
    novel = np.mean([w not in comp_words for w in made])
    assert 0.05 < novel < 0.15


def test_same_options_do_nothing_and_other_options_rebuild(built, tmp_path):
    folder = folder_of(built, "nlp-getting-started")
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    out = folder.parent
    again = run_script("--scale", SCALE, "--out", out, "-c", "disaster-tweets")
    assert "already built with the same options" in again.stderr
    assert Path(again.stdout.strip()) == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    other = tmp_path / "other"
    run_script("--scale", SCALE, "--out", other, "-c", "disaster-tweets", "--seed", "1")
    run_script("--scale", SCALE, "--out", other, "-c", "disaster-tweets", "--seed", "2")
    meta = json.loads((other / folder.name / ".fullsize.json").read_text())
    assert meta["options"]["seed"] == 2
    assert sorted(p.name for p in other.iterdir()) == [folder.name]  # no temporary folder left
