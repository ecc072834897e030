"""`kagglekit blend` and `kagglekit cv --ensemble` on real runs (TF-IDF models on a
generated Disaster Tweets sample), and what submit, runs and predict make of a blend."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from kagglekit import plugins
from support.blend import SLUG


def invoke(*args, expect=0):
    from kagglekit.cli import cli

    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == expect, (result.exit_code, result.output)
    return result


def invoke_json(*args):
    result = invoke(*args, "--json")
    return json.loads(result.stdout)  # exactly one JSON object, or this fails


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Sample data and one `cv --ensemble` command's runs, shared by this module's tests."""
    root = tmp_path_factory.mktemp("blend-cli")
    data = root / "data" / SLUG
    data.mkdir(parents=True)
    plugins.get_competition(SLUG).make_sample(data, n_train=240, n_test=60, seed=3)
    runs = root / "runs"
    payload = invoke_json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--seed",
        "7",
        "--ensemble",
        "mean",
        "--ensemble",
        "weighted",
        "--data-dir",
        data,
        "--runs-dir",
        runs,
    )
    return {"root": root, "data": data, "runs": runs, "payload": payload}


def test_cv_ensemble_makes_members_on_shared_folds_and_blends_linking_them(workspace):
    payload = workspace["payload"]
    members = [m["run_dir"] for m in payload["runs"]]
    assert [m["model"] for m in payload["runs"]] == ["tfidf-nb", "tfidf-lr"]
    folds = [(Path(m) / "folds.csv").read_bytes() for m in members]
    assert folds[0] == folds[1]
    assert [b["method"] for b in payload["blends"]] == ["mean", "weighted"]
    assert payload["run_dir"] == payload["blends"][0]["run_dir"]  # the result is the blend
    assert payload["kind"] == "blend" and payload["competition"] == SLUG
    assert payload["model"] == "mean(tfidf-nb+tfidf-lr)"
    for blend in payload["blends"]:
        info = json.loads((Path(blend["run_dir"]) / "run.json").read_text())
        assert info["members"] == [str(Path(m).resolve()) for m in members]
        assert (Path(blend["run_dir"]) / "folds.csv").read_bytes() == folds[0]
    weighted = payload["blends"][1]
    assert set(weighted["scores_in_sample"]) == set(weighted["scores"]) == {"f1", "accuracy", "auc"}


@pytest.mark.parametrize("method", ["mean", "rank", "weighted", "stack", "vote"])
def test_blend_command_reports_members_next_to_the_blend(workspace, method):
    a, b = (m["run_dir"] for m in workspace["payload"]["runs"])
    report = invoke_json("blend", a, b, "--method", method, "--runs-dir", workspace["runs"])
    assert {"run_dir", "competition", "model", "scores"} <= set(report)
    assert report["kind"] == "blend" and report["method"] == method
    assert 0 <= report["scores"]["f1"] <= 1
    for row, path in zip(report["member_runs"], (a, b)):
        member = json.loads((Path(path) / "run.json").read_text())
        assert row["scores"] == member["scores"]
        assert row["model"] == member["model"]
    weights = [row["weights"]["target"] for row in report["member_runs"]]
    if method in ("mean", "rank", "vote"):
        assert weights == [0.5, 0.5]
    elif method == "weighted":
        assert sum(weights) == pytest.approx(1, abs=1e-5)
    assert report["weights"] == {r["run_id"]: r["weights"] for r in report["member_runs"]}


def _table_rows(out: str) -> dict:
    """The table's rows by their first cell: {label: [cells]}."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip("│").split("│")]
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("method", ["mean", "stack"])
def test_blend_table_headlines_the_held_out_figures(workspace, method):
    """The headline F1 of the blend and of every member is the nested (held-out) one; the
    figure at a threshold tuned on all OOF rows only in its own column, labelled optimistic,
    and the blender's in-sample scores in a row saying NOT held out."""
    a, b = (m["run_dir"] for m in workspace["payload"]["runs"])
    out = invoke("blend", a, b, "--method", method, "--runs-dir", workspace["runs"]).stdout
    blend = json.loads((Path(out.split("Run: ")[1].split()[0]) / "run.json").read_text())
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    columns = [c.strip() for c in header.strip("┃").split("┃")]
    assert columns == [
        "run",
        "model",
        "coef" if method == "stack" else "weight",
        "f1",
        "accuracy",
        "auc",
        "f1*",
        "accuracy*",
    ]
    rows = _table_rows(out)
    for path in (a, b):
        member = json.loads((Path(path) / "run.json").read_text())
        cells = rows["…" + Path(path).name.rsplit("-", 1)[-1]]
        assert cells[2:] == [
            f"{member['nested_scores']['f1']:.4f}",
            f"{member['nested_scores']['accuracy']:.4f}",
            f"{member['scores']['auc']:.4f}",
            f"{member['scores']['f1']:.4f}",
            f"{member['scores']['accuracy']:.4f}",
        ]
    assert rows["blend"][2:] == [
        f"{blend['nested_scores']['f1']:.4f}",
        f"{blend['nested_scores']['accuracy']:.4f}",
        f"{blend['scores']['auc']:.4f}",
        f"{blend['scores']['f1']:.4f}",
        f"{blend['scores']['accuracy']:.4f}",
    ]
    assert "blend (CV)" not in out
    assert "*: optimistic, at the threshold tuned on all OOF rows: NOT held out" in out
    assert (
        "accuracy, f1: held out (nested: each fold at a threshold chosen on the other folds)" in out
    )
    if method == "stack":
        in_sample = rows["blend, in-sample (NOT held out)"]
        assert in_sample[2] == f"{blend['scores_in_sample']['f1']:.4f}"
    else:
        assert not [r for r in rows if "in-sample" in r]
        # a blend made before members' nested scores were recorded: read from their runs
        from kagglekit.cli.output import print_report
        from kagglekit.store.run import Run

        path = Path(out.split("Run: ")[1].split()[0])
        for member in blend["member_runs"]:
            del member["nested_scores"]
        (path / "run.json").write_text(json.dumps(blend))
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            print_report(Run(path))
        assert _table_rows(buffer.getvalue()) == rows


def test_submit_runs_and_predict_on_a_blend(workspace, tmp_path):
    blend = workspace["payload"]["blends"][1]  # weighted
    runs = workspace["runs"]
    out = tmp_path / "sub.csv"
    submitted = invoke_json("submit", blend["run_dir"], "--output", out, "--runs-dir", runs)
    assert submitted["path"] == str(out) and submitted["kind"] == "blend"
    sub = pd.read_csv(out)
    sample = pd.read_csv(workspace["data"] / "sample_submission.csv")
    assert list(sub.columns) == ["id", "target"] and list(sub["id"]) == list(sample["id"])
    test = pd.read_csv(Path(blend["run_dir"]) / "test_predictions.csv").set_index("id")["target"]
    threshold = json.loads((Path(blend["run_dir"]) / "run.json").read_text())["threshold"]
    np.testing.assert_array_equal(sub["target"], (test.loc[sub["id"]] >= threshold).astype(int))

    listed = invoke_json("runs", "disaster-tweets", "--runs-dir", runs)["runs"]
    kinds = {r["run_id"]: r["kind"] for r in listed}
    assert kinds[Path(blend["run_dir"]).name] == "blend"

    preds = tmp_path / "preds.csv"
    invoke(
        "predict",
        blend["run_dir"],
        "--input",
        workspace["data"] / "test.csv",
        "--output",
        preds,
        "--runs-dir",
        runs,
    )
    predicted = pd.read_csv(preds).set_index("id")["target"]
    np.testing.assert_allclose(predicted.loc[test.index], test, atol=1e-6)


@pytest.mark.parametrize("method", ["rank", "stack", "vote"])
def test_predict_on_a_blend_combines_the_members_as_its_test_predictions(
    workspace, method, tmp_path
):
    a, b = (m["run_dir"] for m in workspace["payload"]["runs"])
    blend = invoke_json("blend", a, b, "--method", method, "--runs-dir", workspace["runs"])
    preds = tmp_path / "preds.csv"
    invoke(
        "predict",
        blend["run_dir"],
        "--input",
        workspace["data"] / "test.csv",
        "--output",
        preds,
        "--runs-dir",
        workspace["runs"],
    )
    test = pd.read_csv(Path(blend["run_dir"]) / "test_predictions.csv")
    predicted = pd.read_csv(preds)
    assert list(predicted["id"]) == list(test["id"])
    # members' saved test predictions have 7 digits: a vote or rank may move by one row
    close = np.isclose(predicted["target"], test["target"], atol=1e-5)
    assert close.mean() >= 0.98
    # a single new row is predicted on the same scale
    one = tmp_path / "one.csv"
    pd.read_csv(workspace["data"] / "test.csv").head(1).to_csv(one, index=False)
    single = invoke(
        "predict", blend["run_dir"], "--input", one, "--runs-dir", workspace["runs"]
    ).stdout
    assert float(single.splitlines()[1].split(",")[1]) == pytest.approx(
        predicted["target"].iloc[0], abs=1e-9
    )


def test_blend_refuses_runs_on_other_folds(workspace):
    runs = workspace["runs"]
    other = invoke_json(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "3",
        "--seed",
        "8",
        "--data-dir",
        workspace["data"],
        "--runs-dir",
        runs,
    )
    a = workspace["payload"]["runs"][0]["run_dir"]
    before = sorted(p.name for p in (runs / SLUG).iterdir())
    result = invoke("blend", a, other["run_dir"], "--runs-dir", runs, expect=2)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "use different folds" in lines[0] and lines[0].startswith("Error:")
    assert sorted(p.name for p in (runs / SLUG).iterdir()) == before


def test_blend_refuses_fit_runs_and_unknown_things(workspace):
    runs = workspace["runs"]
    fit = invoke_json(
        "fit",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--data-dir",
        workspace["data"],
        "--runs-dir",
        runs,
    )
    a = workspace["payload"]["runs"][0]["run_dir"]
    result = invoke("blend", a, fit["run_dir"], "--runs-dir", runs, expect=2)
    assert "is a fit run without out-of-fold predictions" in result.stderr
    result = invoke("blend", a, "no-such-run", "--runs-dir", runs, expect=2)
    assert "no run 'no-such-run'" in result.stderr
    result = invoke("blend", a, a, "--objective", "nope", "--runs-dir", runs, expect=2)
    assert "nope" in result.stderr
    invoke("blend", a, a, "--method", "median", "--runs-dir", runs, expect=2)  # click's choice


def test_blend_refuses_the_same_run_twice(workspace):
    runs = workspace["runs"]
    a = Path(workspace["payload"]["runs"][0]["run_dir"])
    b = workspace["payload"]["runs"][1]["run_dir"]
    before = sorted(p.name for p in (runs / SLUG).iterdir())
    for refs in ((a, a), (a, b, a.name[:-3]), (a.name, a / ".." / a.name)):
        result = invoke("blend", *refs, "--runs-dir", runs, expect=2)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert f"run {a.name} is given twice" in lines[0]
        assert result.stdout == ""
    assert sorted(p.name for p in (runs / SLUG).iterdir()) == before


def test_cv_ensemble_needs_two_models_and_a_known_method(workspace):
    args = (
        "cv",
        "disaster-tweets",
        "--folds",
        "3",
        "--data-dir",
        workspace["data"],
        "--runs-dir",
        workspace["root"] / "other-runs",
    )
    result = invoke(*args, "--model", "tfidf-nb", "--ensemble", "rank", expect=2)
    assert "--ensemble needs at least two --model, got 1" in result.stderr
    result = invoke(
        *args, "--model", "tfidf-nb", "--model", "tfidf-lr", "--ensemble", "median", expect=2
    )
    assert "unknown blend method 'median'" in result.stderr
    assert not (workspace["root"] / "other-runs" / SLUG).exists()  # refused before training


def test_blend_command_is_documented():
    result = invoke("blend", "--help")
    assert "Example: kagglekit blend" in result.stdout
    assert "--ensemble METHOD" in invoke("cv", "--help").stdout


class ToyMultilabel:
    """An in-test plugin: a two-label competition scored by mean column-wise AUC."""

    @staticmethod
    def make_sample(directory, n_train=240, n_test=40, seed=0):
        rng = np.random.default_rng(seed)
        words = ("storm", "flood", "music", "party", "the", "a", "of", "day", "new", "now")

        def text(y1, y2):
            out = list(rng.choice(words[4:], 6))
            out += ["storm"] if rng.random() < (0.7 if y1 else 0.1) else []
            out += ["music"] if rng.random() < (0.7 if y2 else 0.1) else []
            return " ".join(out)

        y = (rng.random((n_train, 2)) < 0.4).astype(int)
        pd.DataFrame(
            {
                "id": [f"r{i}" for i in range(n_train)],
                "text": [text(*r) for r in y],
                "storm": y[:, 0],
                "music": y[:, 1],
            }
        ).to_csv(Path(directory) / "train.csv", index=False)
        test_ids = [f"t{i}" for i in range(n_test)]
        pd.DataFrame({"id": test_ids, "text": [text(0, 1) for _ in test_ids]}).to_csv(
            Path(directory) / "test.csv", index=False
        )
        pd.DataFrame({"id": test_ids, "storm": 0.5, "music": 0.5}).to_csv(
            Path(directory) / "sample_submission.csv", index=False
        )

    from kagglekit.hookspecs import hookimpl

    @staticmethod
    @hookimpl
    def register_competitions(register):
        from kagglekit.competition import Competition

        register(
            Competition(
                name="toy-multilabel",
                title="Toy",
                task="multilabel",
                id_column="id",
                text_columns=("text",),
                target_columns=("storm", "music"),
                metric="mean_auc",
                make_sample=ToyMultilabel.make_sample,
            )
        )


def test_multilabel_runs_are_blended_per_label(tmp_path):
    plugins.register_plugin(ToyMultilabel, name="toy-multilabel-plugin")
    try:
        data = tmp_path / "toy-multilabel"
        data.mkdir()
        ToyMultilabel.make_sample(data)
        runs = tmp_path / "runs"
        payload = invoke_json(
            "cv",
            "toy-multilabel",
            "-m",
            "tfidf-nb",
            "-m",
            "tfidf-lr",
            "--cv",
            "kfold",
            "--folds",
            "3",
            "--ensemble",
            "weighted",
            "--ensemble",
            "stack",
            "--data-dir",
            data,
            "--runs-dir",
            runs,
        )
        for blend in payload["blends"]:
            assert set(blend["scores"]) == {"mean_auc"} and blend["scores"]["mean_auc"] > 0.7
            for member in blend["member_runs"]:
                assert set(member["weights"]) == {"storm", "music"}
            test = pd.read_csv(Path(blend["run_dir"]) / "test_predictions.csv")
            assert list(test.columns) == ["id", "storm", "music"] and len(test) == 40
        weighted = payload["blends"][0]
        for label in ("storm", "music"):
            assert sum(m["weights"][label] for m in weighted["member_runs"]) == pytest.approx(
                1, abs=1e-5
            )
        out = tmp_path / "sub.csv"
        invoke("submit", weighted["run_dir"], "--output", out, "--runs-dir", runs)
        sub = pd.read_csv(out)
        assert list(sub.columns) == ["id", "storm", "music"]
        assert sub[["storm", "music"]].apply(lambda c: c.between(0, 1).all()).all()
    finally:
        plugins.unregister_plugin("toy-multilabel-plugin")
