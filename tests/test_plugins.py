"""The plugin system: entry points, listings, in-test plugins, collisions, broken plugins."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kagglekit import plugins
from kagglekit.competition import Competition
from kagglekit.errors import PluginError
from kagglekit.hookspecs import hookimpl
from kagglekit.model import Model
from support import REPO, one_line_error, run_kagglekit


def test_builtins_arrive_through_entry_points(cli):
    listing = cli.json("plugins")["plugins"]
    by_name = {row["name"]: row for row in listing}
    assert by_name["tfidf"]["models"] == ["nbsvm", "tfidf-lr", "tfidf-nb"]
    assert by_name["tfidf"]["package"] == "kagglekit"
    assert by_name["tfidf"]["module"] == "kagglekit_plugins.tfidf"
    assert "nlp-getting-started" in by_name["disaster_tweets"]["competitions"]
    assert by_name["cv"]["commands"] == ["cv"]  # one module per command, named after it
    assert by_name["cv"]["module"] == "kagglekit.cli.cv"
    assert by_name["fit"]["commands"] == ["fit"]
    assert by_name["fit"]["module"] == "kagglekit.cli.fit"
    assert by_name["predict"]["commands"] == ["predict"]
    assert by_name["submit"]["commands"] == ["submit"]
    assert by_name["submissions"]["commands"] == ["submissions"]
    assert {"f1", "auc", "mean_auc", "accuracy"} <= set(by_name["metrics"]["metrics"])


def test_competitions_and_models_json(cli):
    comps = {c["name"]: c for c in cli.json("competitions")["competitions"]}
    tweets = comps["nlp-getting-started"]
    assert tweets["aliases"][0] == "disaster-tweets"
    assert tweets["metric"] == "f1" and tweets["task"] == "binary"
    assert tweets["submission"] == ["id", "target"]
    models = {m["name"]: m for m in cli.json("models")["models"]}
    nb = {p["name"]: p for p in models["tfidf-nb"]["params"]}
    assert nb["alpha"] == {"name": "alpha", "type": "float", "default": 1.0}
    lr = {p["name"]: p for p in models["tfidf-lr"]["params"]}
    assert lr["C"]["default"] == 4.0


def test_env_json_does_not_probe_by_default(cli):
    report = cli.json("env")
    assert report["packages"]["kagglekit"] == "0.1.0"
    assert report["accelerator_hint"] in ("cpu", "gpu", "tpu")
    assert "accelerator" not in report


@dataclass
class _ConstParams:
    value: float = 0.25


class ConstModel(Model):
    """Predicts a constant."""

    Params = _ConstParams

    def fit(self, train, valid=None):
        self.n_ = train.y.shape[1]
        return self

    def predict(self, frame):
        return np.full((len(frame), self.n_), self.params.value)


class InTestPlugin:
    @hookimpl
    def register_models(self, register):
        register("const", ConstModel)


def test_in_test_plugin_model_used_from_cli(cli, tweets_dir):
    plugins.register_plugin(InTestPlugin(), name="in-test")
    try:
        out = cli.json(
            "cv",
            "disaster-tweets",
            "--model",
            "const",
            "-p",
            "value=0.3",
            "--folds",
            "2",
            "--data-dir",
            tweets_dir.parent,
        )
        assert out["model"] == "const"
        assert out["scores"]["auc"] == 0.5  # a constant ranks nothing
        owners = {r["name"]: r for r in cli.json("plugins")["plugins"]}
        assert owners["in-test"]["models"] == ["const"]
    finally:
        plugins.unregister_plugin("in-test")
    assert "const" not in plugins.models().items


@dataclass
class _CountParams:
    epochs: int = 1
    scale: float = 2.0


class CountingPretraining:
    """Counts the texts (an in-test pretraining family); writes counts.json.

    Only the first paragraph is --model's help."""

    Params = _CountParams
    what = "pretrain --model counting"
    loss = "count"
    makes = "Counts"

    def source(self, params):
        return None

    def describe(self, source):
        return "a text counter"

    def pretrain(self, source, texts, params, output=None, *, on_epoch=None, sources=None):
        output.mkdir(parents=True, exist_ok=True)
        (output / "counts.json").write_text(json.dumps({"texts": len(texts)}))
        on_epoch({"epoch": 1, "train_loss": None, "heldout_loss": 0.5, "heldout_accuracy": 1.0})
        record = {"family": "counting", "texts": len(texts), "scale": params.scale, **sources}
        return output, record, False

    def use(self, directory):
        return f"-m const -p counts={directory}"


class PretrainFamilyPlugin:
    @hookimpl
    def register_pretrain_families(self, register):
        register("counting", CountingPretraining)


def test_builtin_pretrain_families_are_plugins(cli):
    by_name = {row["name"]: row for row in cli.json("plugins")["plugins"]}
    assert by_name["transformer"]["pretrain_families"] == ["transformer"]
    assert by_name["rnn"]["pretrain_families"] == ["lstm"]
    assert "pretrain_families: lstm" in cli("plugins").stdout


def test_in_test_plugin_pretrain_family_used_from_cli(cli, tweets_dir, tmp_path):
    plugins.register_plugin(PretrainFamilyPlugin(), name="in-test-pretrain")
    try:
        helptext = " ".join(cli("pretrain", "--help").stdout.split())  # unwrapped
        assert "[counting|lstm|transformer]" in helptext
        assert "counting: Counts the texts (an in-test pretraining family)" in helptext
        assert "Only the first paragraph" not in helptext
        assert "scale: float = 2.0" in helptext  # -p names, types and defaults from Params
        result = cli(
            "pretrain",
            "disaster-tweets",
            "--model",
            "counting",
            "-p",
            "scale=3",
            "--texts",
            "train",
            "--output",
            tmp_path / "counts",
            "--data-dir",
            tweets_dir.parent,
            "--json",
        )
        out = json.loads(result.stdout)
        assert out["family"] == "counting" and out["scale"] == 3.0 and out["train"] > 0
        assert out["texts"] == out["train"] and out["cached"] is False
        assert out["path"] == str((tmp_path / "counts").resolve())
        assert json.loads((tmp_path / "counts" / "counts.json").read_text()) == {
            "texts": out["train"]
        }
        assert f"Pretraining a text counter on {out['train']} texts" in result.stderr
        assert "held-out count loss 0.5000" in result.stderr
        assert f"Counts: {tmp_path / 'counts'}  (use it: -m const -p counts=" in result.stderr
        bad = cli("pretrain", "disaster-tweets", "--model", "counting", "-p", "nope=1", expect=2)
        assert "pretrain --model counting has no parameter 'nope'" in one_line_error(bad)
        owners = {r["name"]: r for r in cli.json("plugins")["plugins"]}
        assert owners["in-test-pretrain"]["pretrain_families"] == ["counting"]
    finally:
        plugins.unregister_plugin("in-test-pretrain")
    assert "counting" not in plugins.pretrain_families().items
    gone = cli("pretrain", "disaster-tweets", "--model", "counting", expect=2)
    assert "'counting' is not one of 'lstm', 'transformer'" in gone.stderr


class CollidingPlugin:
    @hookimpl
    def register_models(self, register):
        register("tfidf-lr", ConstModel)


def test_name_collision_names_both_plugins():
    plugins.register_plugin(CollidingPlugin(), name="colliding")
    try:
        with pytest.raises(PluginError) as info:
            plugins.models()
        message = str(info.value)
        assert "'tfidf-lr'" in message and "'tfidf'" in message and "'colliding'" in message
    finally:
        plugins.unregister_plugin("colliding")


class AliasCollision:
    @hookimpl
    def register_competitions(self, register):
        register(
            Competition(
                name="other-comp",
                title="x",
                task="binary",
                id_column="id",
                text_columns=("text",),
                target_columns=("y",),
                metric="auc",
                aliases=("disaster-tweets",),
            )
        )


def test_alias_collision_is_an_error_too():
    plugins.register_plugin(AliasCollision(), name="alias-thief")
    try:
        with pytest.raises(PluginError, match="'disaster-tweets'.*disaster_tweets.*alias-thief"):
            plugins.competitions()
    finally:
        plugins.unregister_plugin("alias-thief")


class RaisingPlugin:
    @hookimpl
    def register_models(self, register):
        raise RuntimeError("boom")


def test_plugin_whose_hook_raises_is_isolated(capsys):
    plugins.register_plugin(RaisingPlugin(), name="raising")
    try:
        registry = plugins.models()
        assert "tfidf-lr" in registry.items  # the others still work
        err = capsys.readouterr().err
        assert "raising" in err and "boom" in err
    finally:
        plugins.unregister_plugin("raising")


class BadModelPlugin:
    @hookimpl
    def register_models(self, register):
        register("half", object)


def test_model_without_contract_is_refused():
    plugins.register_plugin(BadModelPlugin(), name="bad-model")
    try:
        with pytest.raises(PluginError, match="half.*Params, fit, predict, save and load"):
            plugins.models()
    finally:
        plugins.unregister_plugin("bad-model")


@pytest.fixture(scope="module")
def example_site(tmp_path_factory) -> Path:
    """tests/plugin_example installed with pip into a target dir (not into the venv)."""
    pytest.importorskip("wheel", reason="building the example package needs wheel")
    target = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(REPO / "tests" / "plugin_example"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(target.glob("kagglekit_example_plugin-0.3.1.dist-info"))
    return target


def test_third_party_package_through_entry_points(example_site, tmp_path):
    env = {"PYTHONPATH": str(example_site)}
    proc = run_kagglekit("plugins", "--json", env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {r["name"]: r for r in data["plugins"]}
    assert rows["example"]["package"] == "kagglekit-example-plugin"
    assert rows["example"]["version"] == "0.3.1"
    assert rows["example"]["models"] == ["keyword"]
    assert rows["example"]["competitions"] == ["example-reviews"]
    assert rows["example"]["commands"] == ["hello"]
    # the broken entry point: one warning naming it, everything else keeps working
    assert [f["name"] for f in data["failed"]] == ["example_broken"]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "example_broken" in warnings[0]
    assert "Traceback" not in proc.stderr
    assert "tfidf" in rows


def test_third_party_competition_and_model_from_cli(example_site, tmp_path):
    env = {"PYTHONPATH": str(example_site)}
    data_root = tmp_path / "data"
    make = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from kk_example.plugin import make_sample; "
            "d = Path(sys.argv[1]); d.mkdir(parents=True); make_sample(d)",
            str(data_root / "example-reviews"),
        ],
        env={**__import__("os").environ, **env},
        capture_output=True,
        text=True,
    )
    assert make.returncode == 0, make.stderr
    proc = run_kagglekit(
        "cv",
        "reviews",
        "--model",
        "keyword",
        "--folds",
        "3",
        "--data-dir",
        data_root,
        "--runs-dir",
        tmp_path / "runs",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["competition"] == "example-reviews" and out["model"] == "keyword"
    assert out["scores"]["auc"] == 1.0  # the keyword separates the generated classes
    sub = run_kagglekit(
        "submit", out["run_id"], "--runs-dir", tmp_path / "runs", "--json", env=env, cwd=tmp_path
    )
    assert sub.returncode == 0, sub.stderr
    lines = Path(json.loads(sub.stdout)["path"]).read_text().splitlines()
    assert lines[0] == "review_id,label" and len(lines) == 51
    hello = run_kagglekit("hello", env=env, cwd=tmp_path)
    assert hello.stdout.strip() == "hello from kk_example"


def test_allowlist_env_var_limits_loaded_plugins(example_site, tmp_path):
    env = {"PYTHONPATH": str(example_site), "KAGGLEKIT_LOAD_PLUGINS": "tfidf,metrics,example"}
    proc = run_kagglekit("plugins", "--json", env=env, cwd=tmp_path)
    names = {r["name"] for r in json.loads(proc.stdout)["plugins"]}
    # the core's own modules always load (commands, executors, folds, blend methods,
    # metrics); of the competitions and models only the named ones
    commands = {
        "auto",
        "blend",
        "competitions",
        "cv",
        "data",
        "env",
        "fetch",
        "fit",
        "models",
        "package",
        "plugins",
        "predict",
        "pretrain",
        "pseudo_label",
        "report",
        "runs",
        "score",
        "submissions",
        "submit",
        "tune",
    }  # kagglekit/cli/: one module per command
    assert names == commands | {
        "executors",
        "folds",
        "blend_methods",
        "blend_methods_hillclimb",
        "tracking",
        "tfidf",
        "metrics",
        "example",
    }
    assert "Warning" not in proc.stderr  # the broken one was not even tried
