"""The bad-input corpus: damaged files, damaged runs and failing environments, each driven
through the CLI in a subprocess (see support/bad_input.py for what every case asserts:
exit 2, one ``Error:`` line naming the file/column/row or path, no traceback, no file
created, removed or changed)."""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from support.bad_input import (
    SMALL,
    Case,
    check,
    edit_csv,
    edit_json,
    kagglekit,
    mount_tmpfs,
    run_case,
)

SLUG = "nlp-getting-started"
NUL_ID = "\x00" * 5000


class World:
    """Real runs made once: two cv runs on shared folds, a fit run, a mean blend of the two."""

    def __init__(self, root: Path):
        from support.fake_kaggle import KEY, USERNAME

        self.root = root
        self.base = root / "base"
        for sub in ("work", "out", "home/.kaggle"):
            (self.base / sub).mkdir(parents=True)
        (self.base / "afile").write_text("a file, not a folder\n")
        self.env = {
            "HOME": str(self.base / "home"),
            "KAGGLE_CONFIG_DIR": str(self.base / "home" / ".kaggle"),
            "KAGGLE_USERNAME": USERNAME,
            "KAGGLE_KEY": KEY,
            "KAGGLEKIT_CACHE": str(root / "cache"),
        }
        self.server_url = ""
        self.ids: dict[str, str] = {}

    def build(self):
        from kagglekit import plugins

        data = self.base / "data" / SLUG
        data.mkdir(parents=True)
        plugins.get_competition("disaster-tweets").make_sample(data, n_train=160, n_test=60, seed=0)
        import pandas as pd

        test = pd.read_csv(data / "test.csv", dtype=str)
        pd.DataFrame({"id": test["id"], "target": [i % 2 for i in range(len(test))]}).to_csv(
            self.base / "labels.csv", index=False
        )
        runs = self.base / "runs"

        def json_of(*args):
            proc = kagglekit(
                *args, "--runs-dir", runs, "--json", cwd=self.base / "work", env=self.env
            )
            assert proc.returncode == 0, proc.stderr
            return json.loads(proc.stdout)

        cv = json_of(
            "cv",
            "disaster-tweets",
            "--model",
            "tfidf-nb",
            "--model",
            "tfidf-lr",
            *SMALL,
            "--folds",
            "3",
            "--data-dir",
            data,
        )
        self.ids["cv"], self.ids["cv2"] = (r["run_id"] for r in cv["runs"])
        self.ids["fit"] = json_of(
            "fit", "disaster-tweets", "--model", "tfidf-nb", "--data-dir", data
        )["run_id"]
        self.ids["blend"] = json_of(
            "blend",
            runs / SLUG / self.ids["cv"],
            runs / SLUG / self.ids["cv2"],
            "--method",
            "stack",
        )["run_id"]

    def mapping(self, case_dir: Path) -> dict:
        out = {
            "case": case_dir,
            "runs": case_dir / "runs",
            "data": case_dir / "data",
            "out": case_dir / "out",
            "afile": case_dir / "afile",
            "labels": case_dir / "labels.csv",
        }
        for key, run_id in self.ids.items():
            out[key] = case_dir / "runs" / SLUG / run_id
        return out


def run_dir(case_dir: Path, world, key: str) -> Path:
    return case_dir / "runs" / SLUG / world.ids[key]


def on_run(key, change):
    """prepare(): change(run folder) of the case's copy of a world run."""
    return lambda case_dir, world: change(run_dir(case_dir, world, key))


def on_data(change):
    return lambda case_dir, world: change(case_dir / "data" / SLUG)


def on_train(change):
    return on_data(lambda d: edit_csv(d / "train.csv", change))


def set_cell(column, row, value):
    def change(frame):
        frame.loc[row, column] = value
        return frame

    return change


def truncate(path: Path, keep: float = 0.5):
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


def remove(path: Path):
    shutil.rmtree(path) if path.is_dir() else path.unlink()


def with_pred(file, column, row, value):
    return lambda run: edit_csv(run / file, set_cell(column, row, value))


def point_data_at_case(key):
    """The run's data_dir -> the case's own copy of the data (so the case may damage it)."""

    def prepare(case_dir, world):
        edit_json(
            run_dir(case_dir, world, key) / "run.json",
            lambda info: {**info, "data_dir": str(case_dir / "data" / SLUG)},
        )

    return prepare


def both(*steps):
    def prepare(case_dir, world):
        for step in steps:
            reason = step(case_dir, world)
            if reason:
                return reason

    return prepare


def mount(sub: str, options: str, then=None):
    def prepare(case_dir, world):
        reason = mount_tmpfs(case_dir / sub, options)
        if reason is None and then is not None:
            then(case_dir / sub)
        return reason

    return prepare


def read_only(sub: str):
    return mount(sub, "ro,size=1m")


def no_write(sub: str):
    """A folder nobody may write to (root included: the case drops dac_override)."""

    def prepare(case_dir, world):
        (case_dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(case_dir / sub, 0o555)

    return prepare


def symlink_loop(name: str):
    def prepare(case_dir, world):
        os.symlink(case_dir / f"{name}-b", case_dir / name)
        os.symlink(case_dir / name, case_dir / f"{name}-b")

    return prepare


def nul_id_duplicated(d: Path):
    text = (d / "train.csv").read_text()
    lines = text.splitlines()
    for i in (2, 5):
        lines[i] = NUL_ID + lines[i][lines[i].index(",") :]
    (d / "train.csv").write_text("\n".join(lines) + "\n")


def long_id_duplicated(frame):
    frame.loc[[3, 8], "id"] = "x" * 5000
    return frame


def cv(model="tfidf-nb", folds="3", runs="{runs}", data="{data}", *extra):
    return [
        "cv",
        "disaster-tweets",
        "--model",
        model,
        "--folds",
        folds,
        "--runs-dir",
        runs,
        "--data-dir",
        data,
        *extra,
    ]


def fit(model="tfidf-nb", runs="{runs}", data="{data}", *extra):
    return [
        "fit",
        "disaster-tweets",
        "--model",
        model,
        "--runs-dir",
        runs,
        "--data-dir",
        data,
        *extra,
    ]


CV = cv()
FIT = fit()
TEST_CSV = "{data}/" + SLUG + "/test.csv"


def predict(run="{cv}", *extra, input_=TEST_CSV):
    return [
        "predict",
        run,
        "--input",
        input_,
        "--runs-dir",
        "{runs}",
        "--output",
        "{out}/p.csv",
        *extra,
    ]


def submit(run="{cv}", *extra):
    return ["submit", run, "--runs-dir", "{runs}", "--output", "{out}/s.csv", *extra]


CASES = [
    # --- cv: the competition's files ---------------------------------------------------
    Case(
        "cv-no-train-file",
        CV,
        ("no train.csv", "kagglekit fetch"),
        on_data(lambda d: (d / "train.csv").unlink()),
    ),
    Case("cv-data-dir-is-a-file", cv(data="{afile}"), ("afile", "is a file, not a folder")),
    Case(
        "cv-data-dir-symlink-loop",
        cv(data="{case}/loop"),
        ("loop", "symbolic link loop"),
        symlink_loop("loop"),
    ),
    Case("cv-data-dir-missing", cv(data="{case}/nowhere"), ("nowhere", "does not exist")),
    Case(
        "cv-missing-text-column",
        CV,
        ("train.csv", "missing column 'text'"),
        on_train(lambda f: f.rename(columns={"text": "tweet"})),
    ),
    Case(
        "cv-missing-target-column",
        CV,
        ("train.csv", "missing column 'target'"),
        on_train(lambda f: f.drop(columns=["target"])),
    ),
    Case(
        "cv-empty-text",
        CV,
        ("train.csv", "column 'text'", "row 4", "--allow-empty-text"),
        on_train(set_cell("text", 3, "")),
    ),
    Case(
        "cv-every-text-empty-allowed",
        [*CV, "--allow-empty-text"],
        ("train.csv", "every row's text is empty"),
        on_train(lambda f: f.assign(text="")),
    ),
    Case(
        "cv-bad-utf8",
        CV,
        ("train.csv", "byte 0xff", "not valid utf-8", "--encoding"),
        on_data(
            lambda d: (d / "train.csv").write_bytes(
                (d / "train.csv").read_bytes().replace(b"\n", b"\n\xff", 1)
            )
        ),
    ),
    Case(
        "cv-label-2",
        CV,
        ("train.csv", "column 'target'", "value '2'", "row 7"),
        on_train(set_cell("target", 6, "2")),
    ),
    Case(
        "cv-label-empty",
        CV,
        ("train.csv", "column 'target'", "an empty value", "row 2"),
        on_train(set_cell("target", 1, "")),
    ),
    Case(
        "cv-duplicate-id",
        CV,
        ("train.csv", "appears 2 times", "rows 3, 11"),
        on_train(
            lambda f: f.assign(id=[f["id"][2] if i == 10 else v for i, v in enumerate(f["id"])])
        ),
    ),
    Case(
        "cv-long-id-shortened",
        CV,
        ("train.csv", "appears 2 times", "5000 characters"),
        on_train(long_id_duplicated),
    ),
    Case(
        "cv-nul-id-quoted",
        CV,
        ("train.csv", "\\x00\\x00", "5000 characters"),
        on_data(nul_id_duplicated),
    ),
    Case(
        "cv-empty-train-file",
        CV,
        ("train.csv", "empty"),
        on_data(lambda d: (d / "train.csv").write_text("")),
    ),
    Case(
        "cv-header-only",
        CV,
        ("train.csv", "no rows"),
        on_data(lambda d: (d / "train.csv").write_text("id,keyword,location,text,target\n")),
    ),
    Case(
        "cv-single-class",
        CV,
        ("train.csv", "only one class"),
        on_train(lambda f: f.assign(target="0")),
    ),
    Case(
        "cv-test-missing-column",
        CV,
        ("test.csv", "missing column 'text'"),
        on_data(lambda d: edit_csv(d / "test.csv", lambda f: f.drop(columns=["text"]))),
    ),
    Case(
        "cv-test-duplicate-id",
        CV,
        ("test.csv", "appears 2 times"),
        on_data(
            lambda d: edit_csv(
                d / "test.csv",
                lambda f: f.assign(id=[f["id"][0] if i == 4 else v for i, v in enumerate(f["id"])]),
            )
        ),
    ),
    Case(
        "cv-train-is-a-folder",
        CV,
        ("train.csv",),
        on_data(lambda d: ((d / "train.csv").unlink(), (d / "train.csv").mkdir())),
    ),
    # --- cv: the command line -----------------------------------------------------------
    Case("cv-unknown-model", cv("tfidf-bn"), ("unknown model 'tfidf-bn'",)),
    Case(
        "cv-unknown-competition",
        ["cv", "disaster-tweet", "--model", "tfidf-nb"],
        ("unknown competition 'disaster-tweet'",),
    ),
    Case("cv-bad-param-type", [*CV, "-p", "alpha=lots"], ("alpha='lots'",)),
    Case("cv-unknown-param", [*CV, "-p", "alpah=2"], ("no parameter 'alpah'",)),
    Case("cv-one-fold", cv(folds="1"), ("--folds must be at least 2",)),
    Case(
        "cv-bad-toml",
        [*CV, "--config", "{case}/bad.toml"],
        ("bad.toml", "not valid TOML"),
        lambda c, w: (c / "bad.toml").write_text("model = [unclosed\n") and None,
    ),
    # --- cv: the environment ------------------------------------------------------------
    Case("cv-runs-dir-under-a-file", cv(runs="{afile}/runs"), ("afile", "not a folder")),
    Case(
        "cv-runs-dir-read-only",
        cv(runs="{case}/ro/runs"),
        ("ro/runs", "Read-only file system", "EROFS"),
        read_only("ro"),
    ),
    Case(
        "cv-disk-full",
        cv(runs="{case}/full/runs"),
        ("full/runs", "No space left on device", "ENOSPC", "nothing was kept"),
        mount("full", "size=24k"),
    ),
    Case("cv-file-size-limit", CV, ("runs", "EFBIG"), limit_file_size=4_000),
    Case(
        "cv-runs-dir-no-permission",
        cv(runs="{case}/locked/runs"),
        ("locked", "Permission denied"),
        no_write("locked"),
        drop_root_permissions=True,
    ),
    # --- fit ------------------------------------------------------------------------------
    Case("fit-unknown-model", fit("nope"), ("unknown model 'nope'",)),
    Case(
        "fit-no-cv-run-to-take-the-threshold-from",
        fit(runs="{case}/other-runs"),
        ("no CV run of tfidf-nb", "kagglekit cv disaster-tweets --model tfidf-nb", "--threshold"),
    ),
    Case(
        "fit-threshold-out-of-range", [*FIT, "--threshold", "2"], ("--threshold must be in [0, 1]",)
    ),
    Case("fit-threshold-from-unknown-run", [*FIT, "--threshold-from", "nope"], ("no run 'nope'",)),
    Case(
        "fit-threshold-both",
        [*FIT, "--threshold", "0.3", "--threshold-from", "{cv}"],
        ("not both",),
    ),
    Case(
        "fit-missing-text-column",
        FIT,
        ("train.csv", "missing column 'text'"),
        on_train(lambda f: f.drop(columns=["text"])),
    ),
    Case(
        "fit-label-bad",
        FIT,
        ("train.csv", "value 'yes'", "row 3"),
        on_train(set_cell("target", 2, "yes")),
    ),
    Case(
        "fit-runs-dir-under-a-file",
        fit("tfidf-nb", "{afile}/runs", "{data}", "--threshold", "0.5"),
        ("afile", "not a folder"),
    ),
    Case("fit-file-size-limit", FIT, ("EFBIG",), limit_file_size=4_000),
    Case(
        "fit-disk-full",
        fit("tfidf-nb", "{case}/full/runs", "{data}", "--threshold", "0.5"),
        ("ENOSPC",),
        mount("full", "size=24k"),
    ),
    # --- predict: damaged runs ------------------------------------------------------------
    Case(
        "predict-run-json-empty-object",
        predict(),
        ("run.json", "not a run record"),
        on_run("cv", lambda r: (r / "run.json").write_text("{}")),
    ),
    Case(
        "predict-run-json-a-list",
        predict(),
        ("run.json", "a JSON list"),
        on_run("cv", lambda r: (r / "run.json").write_text("[1, 2]")),
    ),
    Case(
        "predict-run-json-truncated",
        predict(),
        ("run.json", "damaged"),
        on_run("cv", lambda r: truncate(r / "run.json")),
    ),
    Case(
        "predict-run-json-model-not-a-string",
        predict(),
        ("run.json", "'model'"),
        on_run("cv", lambda r: edit_json(r / "run.json", lambda i: {**i, "model": 3})),
    ),
    Case(
        "predict-params-json-missing",
        predict(),
        ("fold-0", "params.json", "missing"),
        on_run("cv", lambda r: (r / "models" / "fold-0" / "params.json").unlink()),
    ),
    Case(
        "predict-params-json-damaged",
        predict(),
        ("params.json", "damaged"),
        on_run("cv", lambda r: truncate(r / "models" / "fold-1" / "params.json")),
    ),
    Case(
        "predict-state-truncated",
        predict(),
        ("fold-0", "state.npz", "truncated"),
        on_run("cv", lambda r: truncate(r / "models" / "fold-0" / "state.npz")),
    ),
    Case(
        "predict-state-tree-truncated",
        predict(),
        ("fold-0", "state.json", "truncated"),
        on_run("cv", lambda r: truncate(r / "models" / "fold-0" / "state.json")),
    ),
    Case(
        "predict-state-missing",
        predict(),
        ("fold-2", "state.json", "missing"),
        on_run(
            "cv",
            lambda r: (
                [(r / "models" / "fold-2" / f).unlink() for f in ("state.json", "state.npz")]
                and None
            ),
        ),
    ),
    Case(
        "predict-state-arrays-missing",
        predict(),
        ("fold-2", "state.npz", "missing"),
        on_run("cv", lambda r: (r / "models" / "fold-2" / "state.npz").unlink()),
    ),
    Case(
        "predict-fold-deleted",
        predict(),
        ("fold-1", "missing", "kagglekit cv"),
        on_run("cv", lambda r: shutil.rmtree(r / "models" / "fold-1")),
    ),
    Case(
        "predict-fit-model-deleted",
        predict("{fit}"),
        ("models/full", "missing"),
        on_run("fit", lambda r: shutil.rmtree(r / "models" / "full")),
    ),
    Case(
        "predict-legacy-pickle-refused",
        predict(),
        ("state.pkl", "pickle", "kagglekit cv"),
        on_run(
            "cv",
            lambda r: (
                [
                    ((d / "state.json").rename(d / "state.pkl"), (d / "state.npz").unlink())
                    for d in (r / "models").iterdir()
                ]
                and None
            ),
        ),
    ),
    Case(
        "predict-untrusted-type-refused",
        predict(),
        ("state.json", "not trust"),
        on_run("cv", lambda r: plant_untrusted(r / "models" / "fold-0" / "state.json")),
    ),
    Case(
        "predict-old-skops-untrusted-refused",
        predict(),
        ("state.skops", "not trust"),
        on_run("cv", lambda r: plant_untrusted_skops(r / "models" / "fold-0")),
    ),
    Case("predict-unknown-run", predict("nope"), ("no run 'nope'",)),
    Case(
        "predict-blend-legacy-pickle",
        predict("{blend}"),
        ("blender.pkl", "pickle", "kagglekit blend"),
        on_run("blend", lambda r: (r / "blender.json").rename(r / "blender.pkl")),
    ),
    Case(
        "predict-blend-arrays-truncated",
        predict("{blend}"),
        ("blender.npz", "truncated"),
        on_run("blend", lambda r: truncate(r / "blender.npz")),
    ),
    Case(
        "predict-blend-meta-model-truncated",
        predict("{blend}"),
        ("blender.skops",),
        on_run("blend", lambda r: truncate(r / "blender.skops")),
    ),
    Case(
        "predict-blend-state-damaged",
        predict("{blend}"),
        ("blender.json", "damaged"),
        on_run("blend", lambda r: truncate(r / "blender.json")),
    ),
    # --- predict: the input and the output ------------------------------------------------
    Case("predict-input-missing", predict(input_="{case}/nope.csv"), ("nope.csv", "not found")),
    Case("predict-input-is-a-folder", predict(input_="{out}"), ("out", "is a folder")),
    Case(
        "predict-input-symlink-loop",
        predict(input_="{case}/loop"),
        ("loop", "link loop"),
        symlink_loop("loop"),
    ),
    Case(
        "predict-input-missing-column",
        predict(input_="{case}/in.csv"),
        ("in.csv", "missing column 'text'"),
        lambda c, w: (c / "in.csv").write_text("id,tweet\n1,hello\n") and None,
    ),
    Case(
        "predict-input-empty-text",
        predict(input_="{case}/in.csv"),
        ("in.csv", "column 'text'", "row 2", "--allow-empty-text"),
        lambda c, w: (c / "in.csv").write_text("id,text\n1,hello\n2,\n") and None,
    ),
    Case(
        "predict-output-under-a-file", [*predict()[:-1], "{afile}/p.csv"], ("afile", "not a folder")
    ),
    Case(
        "predict-output-read-only",
        [*predict()[:-1], "{case}/ro/p.csv"],
        ("ro/p.csv", "Read-only file system"),
        read_only("ro"),
    ),
    Case(
        "predict-output-no-permission",
        [*predict()[:-1], "{case}/locked/p.csv"],
        ("locked/p.csv", "Permission denied"),
        no_write("locked"),
        drop_root_permissions=True,
    ),
    # --- submit -------------------------------------------------------------------------
    Case(
        "submit-nan-prediction",
        submit(),
        ("test_predictions.csv", "column 'target'", "nan", "row 5"),
        on_run("cv", with_pred("test_predictions.csv", "target", 4, "nan")),
    ),
    Case(
        "submit-prediction-above-one",
        submit(),
        ("test_predictions.csv", "has 1.5 in row 2"),
        on_run("cv", with_pred("test_predictions.csv", "target", 1, "1.5")),
    ),
    Case(
        "submit-prediction-not-a-number",
        submit(),
        ("test_predictions.csv", "'abc'", "row 1"),
        on_run("cv", with_pred("test_predictions.csv", "target", 0, "abc")),
    ),
    Case(
        "submit-negative-infinity",
        submit(),
        ("test_predictions.csv", "-inf"),
        on_run("cv", with_pred("test_predictions.csv", "target", 3, "-inf")),
    ),
    Case(
        "submit-duplicate-prediction-id",
        submit(),
        ("test_predictions.csv", "more than once"),
        on_run(
            "cv",
            lambda r: edit_csv(
                r / "test_predictions.csv",
                lambda f: f.assign(id=[f["id"][0] if i == 1 else v for i, v in enumerate(f["id"])]),
            ),
        ),
    ),
    Case(
        "submit-predictions-missing",
        submit(),
        ("test_predictions.csv",),
        on_run("cv", lambda r: (r / "test_predictions.csv").unlink()),
    ),
    Case(
        "submit-run-json-a-list",
        submit(),
        ("run.json", "a JSON list"),
        on_run("cv", lambda r: (r / "run.json").write_text("[]")),
    ),
    Case(
        "submit-output-under-a-file", [*submit()[:-1], "{afile}/s.csv"], ("afile", "not a folder")
    ),
    Case(
        "submit-output-read-only",
        [*submit()[:-1], "{case}/ro/s.csv"],
        ("ro/s.csv", "Read-only file system"),
        read_only("ro"),
    ),
    Case("submit-output-too-large", submit(), ("s.csv", "EFBIG"), limit_file_size=300),
    Case(
        "submit-no-runs",
        ["submit", "-c", "disaster-tweets", "--runs-dir", "{case}/none"],
        ("no scored run",),
    ),
    Case(
        "submit-sample-submission-missing",
        submit(),
        ("sample_submission.csv", "not found"),
        both(point_data_at_case("cv"), on_data(lambda d: (d / "sample_submission.csv").unlink())),
    ),
    Case(
        "submit-sample-other-ids",
        submit(),
        ("no prediction for id",),
        both(
            point_data_at_case("cv"),
            on_data(lambda d: edit_csv(d / "sample_submission.csv", set_cell("id", 2, "99999999"))),
        ),
    ),
    # --- blend ----------------------------------------------------------------------------
    Case("blend-one-run", ["blend", "{cv}", "--runs-dir", "{runs}"], ("at least two",)),
    Case(
        "blend-with-a-fit-run",
        ["blend", "{cv}", "{fit}", "--runs-dir", "{runs}"],
        ("without out-of-fold",),
    ),
    Case(
        "blend-nan-in-oof",
        ["blend", "{cv}", "{cv2}", "--runs-dir", "{runs}"],
        ("oof.csv", "column 'target'", "row 3"),
        on_run("cv2", with_pred("oof.csv", "target", 2, "nan")),
    ),
    Case(
        "blend-oof-damaged",
        ["blend", "{cv}", "{cv2}", "--runs-dir", "{runs}"],
        ("oof.csv", "damaged"),
        on_run("cv2", lambda r: (r / "oof.csv").write_text("")),
    ),
    Case(
        "blend-different-folds",
        ["blend", "{cv}", "{cv2}", "--runs-dir", "{runs}"],
        ("different folds",),
        on_run(
            "cv2",
            lambda r: edit_csv(
                r / "folds.csv", lambda f: f.assign(fold=[str(i % 3) for i in range(len(f))])
            ),
        ),
    ),
    Case(
        "blend-unknown-run", ["blend", "{cv}", "nope", "--runs-dir", "{runs}"], ("no run 'nope'",)
    ),
    Case(
        "blend-run-json-empty",
        ["blend", "{cv}", "{cv2}", "--runs-dir", "{runs}"],
        ("run.json", "not a run record"),
        on_run("cv2", lambda r: (r / "run.json").write_text("{}")),
    ),
    Case(
        "blend-runs-dir-under-a-file",
        ["blend", "{cv}", "{cv2}", "--runs-dir", "{afile}/r"],
        ("afile", "not a folder"),
    ),
    Case(
        "blend-disk-full",
        ["blend", "{cv}", "{cv2}", "--runs-dir", "{case}/full/r"],
        ("ENOSPC",),
        mount("full", "size=8k"),
    ),
    # --- score ----------------------------------------------------------------------------
    Case(
        "score-labels-missing",
        ["score", "{cv}", "--labels", "{case}/nope.csv", "--runs-dir", "{runs}"],
        ("nope.csv", "not found"),
    ),
    Case(
        "score-labels-missing-column",
        ["score", "{cv}", "--labels", "{labels}", "--runs-dir", "{runs}"],
        ("labels.csv", "missing column 'target'"),
        lambda c, w: edit_csv(c / "labels.csv", lambda f: f.drop(columns=["target"])),
    ),
    Case(
        "score-labels-bad-value",
        ["score", "{cv}", "--labels", "{labels}", "--runs-dir", "{runs}"],
        ("labels.csv", "value 'maybe'"),
        lambda c, w: edit_csv(c / "labels.csv", set_cell("target", 5, "maybe")),
    ),
    Case(
        "score-nan-prediction",
        ["score", "{cv}", "--labels", "{labels}", "--runs-dir", "{runs}"],
        ("test_predictions.csv", "nan", "row 1"),
        on_run("cv", with_pred("test_predictions.csv", "target", 0, "nan")),
    ),
    Case(
        "score-run-truncated",
        ["score", "{cv}", "--labels", "{labels}", "--runs-dir", "{runs}"],
        ("run.json", "damaged"),
        on_run("cv", lambda r: truncate(r / "run.json", 0.3)),
    ),
    # --- fetch (the real kaggle client against a stand-in Kaggle on loopback) -------------
    Case(
        "fetch-data-dir-under-a-file",
        ["fetch", "disaster-tweets", "--data-dir", "{afile}/d"],
        ("afile",),
        fetch=True,
    ),
    Case(
        "fetch-data-dir-read-only",
        ["fetch", "disaster-tweets", "--data-dir", "{case}/ro"],
        ("ro", "Read-only file system"),
        read_only("ro"),
        fetch=True,
    ),
    Case(
        "fetch-unknown-competition",
        ["fetch", "no-such-thing", "--data-dir", "{data}"],
        ("no competition 'no-such-thing'", "HTTP 404"),
        fetch=True,
    ),
    Case(
        "fetch-not-on-the-server",
        ["fetch", "quora", "--data-dir", "{case}/q"],
        ("quora",),
        fetch=True,
    ),
    Case(
        "fetch-no-credentials",
        ["fetch", "disaster-tweets", "--data-dir", "{case}/d"],
        ("credentials",),
        fetch=True,
        env={"KAGGLE_USERNAME": "", "KAGGLE_KEY": ""},
    ),
    Case(
        "fetch-disk-full",
        ["fetch", "disaster-tweets", "--data-dir", "{case}/full"],
        ("disk full", "/full"),
        mount("full", "size=8k"),
        fetch=True,
    ),
]


def plant_untrusted(path: Path):
    """A well-formed state.json naming a type no model trusts: a class of this test module
    (its import would run this module's code), in place of the vectorizer."""
    tree = json.loads(path.read_text())
    tree["root"]["dict"]["vectorizer_"] = {"object": f"{__name__}.Untrusted", "state": {"value": 1}}
    path.write_text(json.dumps(tree))


def plant_untrusted_skops(folder: Path):
    """A fold saved in the older format (state.skops) holding a type no model trusts."""
    import skops.io

    for name in ("state.json", "state.npz"):
        (folder / name).unlink()
    skops.io.dump({"vectorizer_": Untrusted()}, folder / "state.skops")


class Untrusted:
    def __init__(self):
        self.value = 1


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case, run in parallel (a few at a time) against one world of real runs."""
    from support.fake_kaggle import FakeKaggle, LoopbackServer, csv_files, flat_zip

    world = World(tmp_path_factory.mktemp("bad-input"))
    world.build()
    state = FakeKaggle()
    state.add(SLUG, flat_zip(csv_files(world.base / "data" / SLUG)))
    with LoopbackServer(state):
        world.server_url = state.url
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda c: run_case(c, world), CASES))
    return {r.case.name: r for r in results}


def test_corpus_is_large_and_covers_every_command():
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES)
    commands = {c.args[0] for c in CASES}
    assert {"cv", "fit", "predict", "submit", "blend", "score", "fetch"} <= commands


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_bad_input_case(outcomes, name):
    if name.startswith("fetch-"):
        pytest.importorskip(
            "kagglesdk", reason="needs the kaggle client: pip install 'kagglekit[kaggle]'"
        )
    outcome = outcomes[name]
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    check(outcome)
