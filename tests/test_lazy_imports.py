"""Heavy imports are lazy: --help and TF-IDF runs never import TensorFlow or Keras (nor
wandb or mlflow, unless --tracker asks for one)."""

from __future__ import annotations

import json
import subprocess
import sys

from support import make_competition_dir

PROBE = """
import json, sys
from kagglekit.cli import cli
try:
    cli.main(args=sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
heavy = sorted(m for m in ("tensorflow", "keras", "keras_hub", "jax", "torch", "sklearn", "pandas",
                           "ray", "wandb", "mlflow")
               if m in sys.modules)
print("HEAVY=" + json.dumps(heavy))
"""


def _heavy_modules(*args, cwd=None) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("HEAVY=")][-1]
    return json.loads(line[len("HEAVY=") :])


def test_help_imports_nothing_heavy(tmp_path):
    assert _heavy_modules("--help", cwd=tmp_path) == []
    assert _heavy_modules("models", cwd=tmp_path) == []


def test_tfidf_cv_never_imports_tensorflow(tmp_path):
    data = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=120, n_test=30)
    heavy = _heavy_modules(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "2",
        "--data-dir",
        data,
        cwd=tmp_path,
    )
    assert "sklearn" in heavy  # the probe does see imports
    assert not {"tensorflow", "keras", "keras_hub", "jax", "torch", "ray", "wandb", "mlflow"} & set(
        heavy
    )


def test_ray_is_imported_only_for_the_ray_executor(tmp_path):
    data = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=120, n_test=30)
    heavy = _heavy_modules(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "2",
        "--executor",
        "local",
        "--workers",
        "2",
        "--data-dir",
        data,
        cwd=tmp_path,
    )
    assert "sklearn" in heavy and "ray" not in heavy
    assert "ray" not in _heavy_modules("plugins", cwd=tmp_path)


def test_a_tracker_imports_only_its_own_package(tmp_path):
    import pytest

    pytest.importorskip("mlflow")
    data = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=120, n_test=30)
    heavy = _heavy_modules(
        "cv",
        "disaster-tweets",
        "--model",
        "tfidf-nb",
        "--folds",
        "2",
        "--data-dir",
        data,
        "--tracker",
        "mlflow",
        cwd=tmp_path,
    )
    assert "mlflow" in heavy and not {"wandb", "tensorflow", "keras"} & set(heavy)
