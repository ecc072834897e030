"""Run references are resolved once, against one runs folder (kagglekit.store.refs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from kagglekit.errors import ParamError
from kagglekit.store.folder import RunsFolder
from kagglekit.store.refs import open_run, resolve_run, resolve_run_params

TINY = {
    "units": 8,
    "embedding_dim": 8,
    "epochs": 1,
    "verbose": 0,
    "progress": False,
    "tensorboard": False,
    "batch_size": 32,
    "early_stopping": "off",
}


@dataclass
class _Params:
    teacher: str | None = None
    other: str | None = None


class _Model:
    run_params = ("teacher",)


def _teacher(cli, tweets_dir, runs: Path) -> dict:
    return cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        tweets_dir,
        "--model",
        "tfidf-lr",
        "--folds",
        "3",
        "--runs-dir",
        runs,
    )


def test_a_run_param_becomes_the_folder_of_the_run_in_the_runs_folder(cli, tweets_dir, tmp_path):
    runs = tmp_path / "elsewhere"  # not ./runs
    teacher = _teacher(cli, tweets_dir, runs)
    folder = str(Path(teacher["run_dir"]).resolve())
    for ref in (teacher["run_id"], teacher["run_id"][:-2], teacher["run_dir"]):
        resolved = resolve_run_params(
            "m", _Model, _Params(teacher=ref, other="x"), RunsFolder(runs)
        )
        assert resolved == _Params(teacher=folder, other="x")
        assert open_run(resolved.teacher).id == teacher["run_id"]
    assert resolve_run_params("m", _Model, _Params(), runs) == _Params()
    with pytest.raises(ParamError, match=r"^m: teacher=nosuch: no run 'nosuch' in "):
        resolve_run_params("m", _Model, _Params(teacher="nosuch"), runs)
    with pytest.raises(ParamError, match="no run"):  # not in ./runs either
        resolve_run_params("m", _Model, _Params(teacher=teacher["run_id"]), None)
    assert resolve_run(teacher["run_id"], runs).path == Path(folder)


def test_teacher_is_resolved_once_against_a_non_default_runs_dir(
    cli, tweets_dir, tmp_path, monkeypatch
):
    """``-p teacher=RUN-ID --runs-dir R``: the id is looked up once, in R, before any job
    runs; the folds open the folder carried in their params, never looking it up again
    (each fold looked it up against ./runs before)."""
    pytest.importorskip("keras")
    import kagglekit.store.refs as refs
    from kagglekit.params import resolve_models

    runs = tmp_path / "elsewhere"
    teacher = _teacher(cli, tweets_dir, runs)
    folder = str(Path(teacher["run_dir"]).resolve())
    calls = []
    original = refs.resolve_run

    def counting(ref, runs_dir):
        calls.append(ref)
        return original(ref, runs_dir)

    monkeypatch.setattr(refs, "resolve_run", counting)
    ((name, _, params),) = resolve_models(
        ["dense"], [f"teacher={teacher['run_id']}"], {}, RunsFolder(runs)
    )
    assert params.teacher == folder and calls == [teacher["run_id"]]
    calls.clear()
    args = [
        f"-p{k}={v}"
        for k, v in {**TINY, "teacher": teacher["run_id"], "distill_alpha": 1.0}.items()
    ]
    out = cli.json(
        "cv",
        "disaster-tweets",
        "--data-dir",
        tweets_dir,
        "--model",
        "dense",
        "--folds",
        "3",
        "--runs-dir",
        runs,
        "--executor",
        "in-process",
        *args,
    )
    assert calls == [teacher["run_id"]]
    info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    assert info["params"]["teacher"] == folder
    assert {f["fit_info"]["teacher"] for f in info["fold_scores"]} == {folder}
    assert Path(out["run_dir"]).parent.parent == runs.resolve()
