"""The W&B sweep template (docs/wandb-sweep.yaml) as `wandb agent` runs it: the command
built by wandb's own sweep utilities, the sampled values read by --params-file, the run
tracked offline with the metric the sweep optimises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("wandb")
yaml = pytest.importorskip("yaml")

from support import REPO  # noqa: E402
from support.tracking import wandb_offline_run  # noqa: E402


def agent_command(template: dict, values: dict, json_path: Path) -> list[str]:
    """What wandb's agent (wandb/wandb_agent.py, _command_run) runs for one trial."""
    from wandb.sdk.launch.sweeps import utils as sweep_utils

    command = {"args": {k: {"value": v} for k, v in values.items()}, "program": "kagglekit"}
    sweep_command = sweep_utils.create_sweep_command(list(template["command"]))
    sweep_vars = sweep_utils.create_sweep_command_args(command)
    json_path.write_text(sweep_vars["args_json"][0])
    sweep_vars["args_json_file"] = [str(json_path)]
    out = []
    for chunk in map(str, sweep_command):
        if chunk.startswith("${") and chunk.endswith("}"):
            out += sweep_vars.get(chunk[2:-1]) or []
        else:
            out.append(chunk)
    return out


def test_the_sweep_template_drives_kagglekit_cv(tmp_path):
    template = yaml.safe_load((REPO / "docs" / "wandb-sweep.yaml").read_text())
    assert template["metric"]["name"] == "nested_scores/f1"  # Quora's metric, held out
    values = {"C": 2.5, "min_df": 1, "word_ngram_max": 1}
    assert set(values) == set(template["parameters"])
    command = agent_command(template, values, tmp_path / "config-run1.json")
    assert command[:2] == ["kagglekit", "cv"] and "--params-file" in command
    # the test's own data: the sample of the same competition, 3 folds, its own runs folder
    command[0] = str(Path(sys.executable).with_name("kagglekit"))
    command += ["--sample", "--folds", "3", "--runs-dir", str(tmp_path / "runs"), "--json"]
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tmp_path / "wb"),
        "WANDB_SILENT": "true",
        "WANDB_PROJECT": "kagglekit-tests",
        "KAGGLEKIT_CACHE": str(tmp_path / "cache"),
    }
    env.pop("WANDB_API_KEY", None)
    proc = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    info = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    for key, value in values.items():
        assert info["params"][key] == value
    written = wandb_offline_run(tmp_path / "wb")
    assert written["summary"]["nested_scores/f1"] == pytest.approx(info["nested_scores"]["f1"])
