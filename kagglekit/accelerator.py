"""Accelerator detection. ``describe_environment`` looks without importing a framework."""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata
from pathlib import Path


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def hint_accelerator() -> str:
    """A cheap guess (no framework import): 'tpu', 'gpu' or 'cpu'."""
    if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR") or \
            os.environ.get("TPU_ACCELERATOR_TYPE") or Path("/dev/accel0").exists():
        return "tpu"
    if Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi"):
        return "gpu"
    return "cpu"


def describe_environment() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "accelerator_hint": hint_accelerator(),
        "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "kaggle_notebook": Path("/kaggle/input").is_dir(),
        "packages": {name: _version(name) for name in (
            "kagglekit", "numpy", "pandas", "scikit-learn", "tensorflow", "tensorflow-cpu",
            "keras", "keras-hub", "tokenizers", "jax", "kaggle")},
    }
