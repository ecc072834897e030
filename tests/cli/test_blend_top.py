"""`blend --top K`: members chosen among many runs by held-out score, for a hill-climbing
blend; from a competition's runs or a tune study's trials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def cv(cli, *params):
    args = ["cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "3", "--sample", "--json"]
    for p in params:
        args += ["-p", p]
    return cli.json(*args)


def nested_f1(run):
    info = json.loads((Path(run["run_dir"]) / "run.json").read_text())
    return info["nested_scores"]["f1"]


def test_top_k_of_a_competitions_runs_by_held_out_score(cli):
    runs = [cv(cli, f"alpha={a}") for a in (0.05, 1.0, 30.0)]
    ranked = sorted(runs, key=nested_f1, reverse=True)
    result = cli(
        "blend",
        "--top",
        "2",
        "--competition",
        "disaster-tweets",
        "--method",
        "hill-climb",
        "--json",
    )
    out = json.loads(result.stdout)
    members = [m["run_id"] for m in out["member_runs"]]
    assert members == [r["run_id"] for r in ranked[:2]]
    assert "--top 2: 2 of 3 runs among the disaster-tweets runs" in result.stderr
    info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    weights = [m["weights"]["target"] for m in info["member_runs"]]
    assert sum(weights) == pytest.approx(1.0) and all(w >= 0 for w in weights)
    assert info["nested_scores"]["f1"] > 0  # the blend's figure is nested like any blend's


def test_identical_runs_count_once(cli):
    a = cv(cli, "alpha=1.0")
    again = cli.json(
        "cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "3", "--sample", "--new", "--json"
    )  # the same predictions in a new run
    b = cv(cli, "alpha=0.2")
    out = cli.json("blend", "--top", "3", "--competition", "disaster-tweets", "--json")
    members = {m["run_id"] for m in out["member_runs"]}
    assert len(members) == 2 and b["run_id"] in members
    assert len(members & {a["run_id"], again["run_id"]}) == 1


def test_top_k_of_a_study(cli):
    pytest.importorskip("optuna")
    study = cli.json(
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
    other = cv(cli, "alpha=0.3")  # on all rows: not blendable with the trials (holdout)
    out = cli.json(
        "blend", "--top", "2", "--study", study["study"], "--method", "hill-climb", "--json"
    )
    members = [m["run_id"] for m in out["member_runs"]]
    assert members[0] == study["best"]["run_id"] and other["run_id"] not in members


@pytest.mark.parametrize(
    "args, message",
    [
        (["--top", "1", "--competition", "disaster-tweets"], "--top 1: a blend needs at least 2"),
        (["--top", "2"], "--top K needs RUNs, --study NAME or --competition C"),
        ([], "a blend needs at least two runs, got 0: give RUN RUN ..., or --top K"),
        (["--study", "nope", "--top", "2"], "no finished study 'nope'"),
    ],
)
def test_bad_input_is_one_line(cli, args, message):
    from support import one_line_error

    cv(cli, "alpha=1.0")
    assert message in one_line_error(cli("blend", *args, expect=2))
