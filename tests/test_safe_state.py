"""Nothing read from a run folder can run code: fitted state without pickle, planted payloads
that never run, damaged runs skipped, plugins that exit isolated, blend methods by hook."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support import REPO, make_competition_dir, run_kagglekit

SLUG = "nlp-getting-started"


# --- TF-IDF models: JSON + arrays state, identical predictions after reload in a new process

RELOAD = """
import sys, numpy as np
from kagglekit import plugins
from kagglekit.frame import TextFrame
cls = plugins.get_model(sys.argv[1])
model = cls.load(sys.argv[2])
texts = np.array(open(sys.argv[3], encoding="utf-8").read().split("\\n"), dtype=object)
np.save(sys.argv[4], model.predict(TextFrame(ids=np.arange(len(texts)), text=texts,
                                             target_names=["a", "b"])))
"""


def small_frame(n=80, seed=0):
    from kagglekit.frame import TextFrame

    rng = np.random.default_rng(seed)
    words = ["storm", "fire", "sunny", "happy", "flood", "quiet", "party", "crash"]
    text = np.array(
        [" ".join(rng.choice(words, 6)) + f" w{i % 11}" for i in range(n)], dtype=object
    )
    y = np.column_stack(
        [(np.char.find(text.astype(str), "fire") >= 0).astype(int), np.zeros(n, dtype=int)]
    )  # a column with one class: _OneClass
    return TextFrame(ids=np.arange(n), text=text, y=y, target_names=["a", "b"])


@pytest.mark.parametrize("name", ["tfidf-nb", "tfidf-lr", "nbsvm"])
def test_tfidf_models_predict_identically_after_reload_in_a_new_process(name, tmp_path):
    from kagglekit import plugins

    cls = plugins.get_model(name)
    model = cls.from_dict({} if name == "tfidf-nb" else {"min_df": 1}, seed=3)
    train, new = small_frame(), small_frame(30, seed=1)
    model.fit(train)
    expected = model.predict(new)
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "params.json",
        "state.json",
        "state.npz",
    ]
    import zipfile

    assert json.loads((tmp_path / "m" / "state.json").read_text())["format"] == "kagglekit-state"
    assert zipfile.is_zipfile(tmp_path / "m" / "state.npz")  # numpy's npz, not a pickle
    with np.load(tmp_path / "m" / "state.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    (tmp_path / "texts.txt").write_text("\n".join(new.text), encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            RELOAD,
            name,
            tmp_path / "m",
            tmp_path / "texts.txt",
            tmp_path / "out.npy",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "out.npy", allow_pickle=False)
    assert got.shape == (30, 2)
    assert np.array_equal(got, expected)
    assert np.all(got[:, 1] == 0.0)  # the one-class column came back as what it was


def test_untrusted_types_are_refused(tmp_path):
    from kagglekit import plugins
    from kagglekit.errors import RunError

    cls = plugins.get_model("tfidf-nb")
    model = cls.from_dict({}).fit(small_frame())
    model.save(tmp_path / "m")
    tree = json.loads((tmp_path / "m" / "state.json").read_text())
    tree["root"]["dict"]["vectorizer_"] = {"object": f"{__name__}.Evil", "state": {"x": 1}}
    (tmp_path / "m" / "state.json").write_text(json.dumps(tree))
    with pytest.raises(RunError, match=r"state.json: holds types this model does not trust"):
        cls.load(tmp_path / "m")


def test_untrusted_types_are_refused_in_the_older_skops_state_too(tmp_path):
    import skops.io

    from kagglekit import plugins
    from kagglekit.errors import RunError

    cls = plugins.get_model("tfidf-nb")
    model = cls.from_dict({}).fit(small_frame())
    model.save(tmp_path / "m")
    for name in ("state.json", "state.npz"):
        (tmp_path / "m" / name).unlink()
    skops.io.dump({"vectorizer_": Evil()}, tmp_path / "m" / "state.skops")
    with pytest.raises(RunError, match=r"state.skops: holds types this model does not trust"):
        cls.load(tmp_path / "m")


class Evil:
    def __init__(self):
        self.x = 1


# --- planted payloads -------------------------------------------------------------------


def payload(marker: Path) -> bytes:
    """A pickle that creates ``marker`` when unpickled."""

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    return pickle.dumps(Payload())


def test_the_payload_does_what_it_says(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(payload(marker))  # the test below can fail: unpickling it does run code
    assert marker.exists()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A cv run pair, a fit run and a stack blend, made once."""
    root = tmp_path_factory.mktemp("planted")
    data = make_competition_dir("disaster-tweets", root / "data", n_train=120, n_test=40)
    runs = root / "runs"

    def made(*args):
        proc = run_kagglekit(*args, "--runs-dir", runs, "--json", cwd=root)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    cv = made(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--model",
        "nbsvm",
        "-p",
        "nbsvm.min_df=1",
        "--folds",
        "2",
        "--data-dir",
        data,
    )
    fit = made("fit", "disaster-tweets", "--model", "tfidf-nb", "--data-dir", data)
    blend = made("blend", cv["runs"][0]["run_dir"], cv["runs"][1]["run_dir"], "--method", "stack")
    return {
        "root": root,
        "data": data,
        "runs": runs,
        "cv": Path(cv["runs"][0]["run_dir"]),
        "cv2": Path(cv["runs"][1]["run_dir"]),
        "fit": Path(fit["run_dir"]),
        "blend": Path(blend["run_dir"]),
    }


def copy_world(planted, tmp_path) -> dict:
    import shutil

    shutil.copytree(planted["runs"], tmp_path / "runs")
    out = {
        k: tmp_path / "runs" / SLUG / v.name
        for k, v in planted.items()
        if k in ("cv", "cv2", "fit", "blend")
    }
    return {**out, "runs": tmp_path / "runs"}


def plant_everywhere(runs: Path, marker: Path) -> int:
    """The payload under every name a loader might look for, in every run and model folder."""
    bad = payload(marker)
    names = (
        "state.pkl",
        "model.pkl",
        "state.joblib",
        "blender.pkl",
        "fitted.pickle",
        "model.pickle",
        "tokenizer.pkl",
        "state.npy",
    )
    count = 0
    for folder in [p for p in runs.rglob("*") if p.is_dir()] + [runs]:
        for name in names:
            (folder / name).write_bytes(bad)
            count += 1
    return count


def test_loading_runs_never_runs_a_planted_payload(planted, tmp_path):
    world = copy_world(planted, tmp_path)
    marker = tmp_path / "PAYLOAD-RAN"
    assert plant_everywhere(world["runs"], marker) > 20
    test_csv = planted["data"] / "test.csv"
    for key in ("cv", "cv2", "fit", "blend"):
        proc = run_kagglekit(
            "predict",
            world[key],
            "--input",
            test_csv,
            "--output",
            tmp_path / f"{key}.csv",
            cwd=tmp_path,
        )
        assert proc.returncode == 0, (key, proc.stderr)
    for args in (
        ["runs", "--runs-dir", world["runs"]],
        ["submit", world["blend"], "--output", tmp_path / "sub.csv"],
        [
            "blend",
            world["cv"],
            world["cv2"],
            "--method",
            "stack",
            "--runs-dir",
            tmp_path / "more-runs",
        ],
    ):
        proc = run_kagglekit(*args, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
    assert not marker.exists()


@pytest.mark.parametrize(
    "damage",
    [
        "state-removed",
        "state-is-the-payload",
        "arrays-are-the-payload",
        "blender-json-removed",
        "blender-npz-is-the-payload",
        "blender-skops-is-the-payload",
    ],
)
def test_a_payload_in_place_of_the_safe_files_is_refused_not_run(planted, tmp_path, damage):
    world = copy_world(planted, tmp_path)
    marker = tmp_path / "PAYLOAD-RAN"
    plant_everywhere(world["runs"], marker)
    bad = payload(marker)
    target = "blend" if damage.startswith("blender") else "cv"
    if damage == "state-removed":
        for d in (world["cv"] / "models").glob("fold-*"):
            (d / "state.json").unlink()
            (d / "state.npz").unlink()
    elif damage == "state-is-the-payload":
        (world["cv"] / "models" / "fold-1" / "state.json").write_bytes(bad)
    elif damage == "arrays-are-the-payload":
        (world["cv"] / "models" / "fold-1" / "state.npz").write_bytes(bad)
    elif damage == "blender-json-removed":
        (world["blend"] / "blender.json").unlink()
    else:
        name = "blender.npz" if "npz" in damage else "blender.skops"
        (world["blend"] / name).write_bytes(bad)
    proc = run_kagglekit(
        "predict",
        world[target],
        "--input",
        planted["data"] / "test.csv",
        "--output",
        tmp_path / "p.csv",
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Error:") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    expected = {
        "state-removed": "state.pkl: saved with pickle by an older kagglekit",
        "state-is-the-payload": "fold-1/state.json: damaged or truncated",
        "arrays-are-the-payload": "fold-1/state.npz: damaged or truncated",
        "blender-json-removed": "blender.pkl: saved with pickle",
        "blender-npz-is-the-payload": "blender.npz: damaged or truncated",
        "blender-skops-is-the-payload": "blender.skops: damaged or truncated",
    }[damage]
    assert expected in proc.stderr
    assert not marker.exists()
    assert not (tmp_path / "p.csv").exists()


# the package never unpickles: no pickle/joblib/dill load, no numpy or pandas load that allows it
UNSAFE = [
    r"\bpickle\.loads?\(",
    r"\bimport pickle\b",
    r"\bjoblib\.load\(",
    r"\bcloudpickle\b",
    r"\bdill\.load",
    r"allow_pickle\s*=\s*True",
    r"\bread_pickle\(",
    r"\btorch\.load\(",
    r"safe_mode\s*=\s*False",
    r"\bshelve\.open\(",
    r"\bmarshal\.loads?\(",
]


def unsafe_lines(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if any(re.search(p, line) for p in UNSAFE):
            out.append(line.strip())
        elif re.search(r"\bnp\.load\(|\bnumpy\.load\(", line) and "allow_pickle=False" not in line:
            out.append(line.strip())
    return out


def test_the_grep_catches_what_it_looks_for():
    assert unsafe_lines("x = pickle.load(fh)\nimport pickle\ny = np.load(p)\n") == [
        "x = pickle.load(fh)",
        "import pickle",
        "y = np.load(p)",
    ]
    assert unsafe_lines("with np.load(path, allow_pickle=False) as d:\n") == []


def test_no_pickle_load_anywhere_in_the_package():
    found = {}
    for folder in ("kagglekit", "plugins", "competitions"):
        for path in sorted((REPO / folder).rglob("*.py")):
            lines = unsafe_lines(path.read_text(encoding="utf-8"))
            if lines:
                found[str(path.relative_to(REPO))] = lines
    assert found == {}


# --- damaged runs: skipped with a warning by `runs` and `submit -c` -----------------------


def test_a_truncated_run_json_is_skipped_with_a_warning(planted, tmp_path):
    world = copy_world(planted, tmp_path)
    damaged = world["cv2"] / "run.json"
    damaged.write_text(damaged.read_text()[:100])
    proc = run_kagglekit("runs", "--runs-dir", world["runs"], "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    listed = {r["run_id"] for r in json.loads(proc.stdout)["runs"]}
    assert listed == {world[k].name for k in ("cv", "fit", "blend")}
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and str(world["cv2"]) in warnings[0] and "damaged" in warnings[0]
    proc = run_kagglekit(
        "submit",
        "-c",
        "disaster-tweets",
        "--runs-dir",
        world["runs"],
        "--output",
        tmp_path / "s.csv",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["run_id"] in listed
    assert (tmp_path / "s.csv").is_file()
    assert any(line.startswith("Warning: skipping") for line in proc.stderr.splitlines())


# --- plugins that exit or interrupt at import ----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "import sys\nsys.exit(3)\n",
        "raise SystemExit('bye')\n",
        "raise KeyboardInterrupt\n",
        "raise RuntimeError('broken')\n",
    ],
)
def test_a_plugin_that_exits_at_import_is_isolated(body, tmp_path):
    site = tmp_path / "site"
    (site / "kk_exiting_plugin.py").parent.mkdir(parents=True)
    (site / "kk_exiting_plugin.py").write_text(body)
    dist = site / "kk_exiting_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kk-exiting-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[kagglekit]\nexiting = kk_exiting_plugin\n")
    env = {"PYTHONPATH": str(site)}
    proc = run_kagglekit("plugins", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [f["name"] for f in data["failed"]] == ["exiting"]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("Warning:")]
    assert (
        len(warnings) == 1 and "'exiting'" in warnings[0] and "continuing without it" in warnings[0]
    )
    assert "tfidf" in {r["name"] for r in data["plugins"]}
    models = run_kagglekit("models", "--json", env=env, cwd=tmp_path)
    assert models.returncode == 0 and "tfidf-lr" in models.stdout


# --- blend methods arrive through register_blend_methods ----------------------------------


def test_a_plugin_adds_a_blend_method_and_a_clash_names_both_plugins(tmp_path):
    from kagglekit import plugins
    from kagglekit.blend import BLEND_METHODS, BlendMethod, blend_arrays, get_method
    from kagglekit.blend.state import load_blenders, save_blenders
    from kagglekit.errors import PluginError
    from kagglekit.hookspecs import hookimpl

    class MaxBlend(BlendMethod):
        name = "max"
        description = "the largest member probability"

        def fit(self, P, y=None):
            super().fit(P, y)
            self.seen_ = np.max(np.asarray(P), axis=0)
            return self

        def predict(self, P):
            return np.max(np.asarray(P, dtype=np.float64), axis=1)

    class Adds:
        @hookimpl
        def register_blend_methods(self, register):
            register("max", MaxBlend)

    class Clashes:
        @hookimpl
        def register_blend_methods(self, register):
            register("mean", MaxBlend)

    plugins.register_plugin(Adds(), name="kk-test-max")
    try:
        assert "max" in BLEND_METHODS and get_method("max") is MaxBlend
        assert plugins.blend_methods().owner("mean") == "blend_methods"
        oof = np.array([[[0.1], [0.9], [0.4]], [[0.3], [0.2], [0.8]]])
        result = blend_arrays("max", oof, np.array([0, 1, 1]), np.array([0, 1, 0]))
        assert result.oof[:, 0].tolist() == [0.3, 0.9, 0.8]
        save_blenders(tmp_path, "max", result.blenders, ["target"], [])
        loaded = load_blenders(tmp_path)["blenders"][0]
        assert isinstance(loaded, MaxBlend) and loaded.seen_.tolist() == [0.9, 0.8]
        plugins.register_plugin(Clashes(), name="kk-test-clash")
        try:
            with pytest.raises(
                PluginError,
                match="'mean' is registered by both plugin "
                "'blend_methods' and plugin 'kk-test-clash'",
            ):
                get_method("mean")
        finally:
            plugins.unregister_plugin("kk-test-clash")
    finally:
        plugins.unregister_plugin("kk-test-max")
    assert "max" not in BLEND_METHODS
