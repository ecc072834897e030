"""A blend's fitted blenders on disk, without pickle: JSON + arrays (+ skops for a meta-model).

    blender.json     method, target columns, members, and per column the blender's fitted
                     attributes: numbers and strings inline, arrays by key into blender.npz,
                     a scikit-learn meta-model by key into blender.skops
    blender.npz      the arrays (numpy's format, read with allow_pickle=False)
    blender.skops    stack only: the meta-models (skops.io, only their own types trusted)

Loading builds nothing but the registered method class, arrays and the trusted estimator
types, so a blend run folder cannot run code. Blends written by kagglekit before this
format (blender.pkl) are refused with a line saying how to re-create them.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from kagglekit.blend.members import BlendError
from kagglekit.blend.methods import get_method
from kagglekit.store.atomic import write_json

STATE_FILE = "blender.json"
ARRAYS_FILE = "blender.npz"
ESTIMATORS_FILE = "blender.skops"
LEGACY_FILE = "blender.pkl"  # written by older versions with pickle: never loaded
# the meta-models ``stack`` can hold (built-in META_MODELS); skops builds only these
TRUSTED_ESTIMATORS = (
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
)


def _fitted(blender) -> dict:
    return {k: v for k, v in vars(blender).items() if k.endswith("_") and not k.startswith("_")}


def save_blenders(
    directory: Path, method: str, blenders: list, columns: list, members: list
) -> None:
    """Write blender.json (+ .npz, + .skops) for one fitted blender per target column."""
    # Any: numpy's stub types savez's **kwds against its allow_pickle: bool
    arrays: dict[str, Any] = {}
    estimators: dict[str, Any] = {}
    per_column = []
    for j, blender in enumerate(blenders):
        attrs: dict[str, Any] = {}
        for name, value in _fitted(blender).items():
            key = f"c{j}.{name}"
            if isinstance(value, np.ndarray):
                arrays[key] = value
                attrs[name] = {"array": key}
            elif (
                isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value)
            ):
                for i, v in enumerate(value):
                    arrays[f"{key}.{i}"] = v
                attrs[name] = {"arrays": [f"{key}.{i}" for i in range(len(value))]}
            elif value is None or isinstance(value, (bool, int, float, str)):
                attrs[name] = value
            elif isinstance(value, (np.integer, np.floating)):
                attrs[name] = value.item()
            elif hasattr(value, "get_params"):  # a scikit-learn meta-model
                estimators[key] = value
                attrs[name] = {"estimator": key}
            else:
                raise TypeError(
                    f"blend method {method!r}: cannot save attribute {name} "
                    f"of type {type(value).__name__} without pickle"
                )
        per_column.append(attrs)
    directory = Path(directory)
    if arrays:
        with open(directory / ARRAYS_FILE, "wb") as fh:
            np.savez(fh, **arrays)
    if estimators:
        import skops.io

        skops.io.dump(estimators, directory / ESTIMATORS_FILE)
    write_json(
        directory / STATE_FILE,
        {
            "format": 1,
            "method": method,
            "columns": list(columns),
            "members": members,
            "blenders": per_column,
        },
    )


def has_state(directory: Path) -> bool:
    return (Path(directory) / STATE_FILE).is_file()


def _damaged(path: Path, why: str) -> BlendError:
    return BlendError(
        f"{path}: {why}; re-create the blend with the same `kagglekit blend ...` command"
    )


def load_blenders(directory: Path) -> dict:
    """{"method", "columns", "members", "blenders"}: the blenders rebuilt, ready to predict."""
    directory = Path(directory)
    path = directory / STATE_FILE
    if not path.is_file():
        if (directory / LEGACY_FILE).exists():
            raise BlendError(
                f"{directory / LEGACY_FILE}: saved with pickle by an older kagglekit, "
                f"which is never loaded because it could run code; re-create the "
                f"blend with the same `kagglekit blend ...` command"
            )
        raise _damaged(path, "missing; this blend cannot predict new rows")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _damaged(path, f"damaged ({type(exc).__name__})") from None
    if (
        not isinstance(state, dict)
        or not isinstance(state.get("blenders"), list)
        or not isinstance(state.get("members"), list)
    ):
        raise _damaged(path, "not a blender record")
    arrays = _load_arrays(directory / ARRAYS_FILE) if (directory / ARRAYS_FILE).exists() else {}
    estimators = (
        _load_estimators(directory / ESTIMATORS_FILE)
        if (directory / ESTIMATORS_FILE).exists()
        else {}
    )
    cls = get_method(str(state.get("method")))
    blenders = []
    for attrs in state["blenders"]:
        blender = cls(None)
        try:
            for name, value in attrs.items():
                if isinstance(value, dict) and "array" in value:
                    value = arrays[value["array"]]
                elif isinstance(value, dict) and "arrays" in value:
                    value = [arrays[k] for k in value["arrays"]]
                elif isinstance(value, dict) and "estimator" in value:
                    value = estimators[value["estimator"]]
                setattr(blender, name, value)
        except (KeyError, TypeError, AttributeError):
            raise _damaged(path, "refers to arrays or estimators that are missing") from None
        blenders.append(blender)
    state["blenders"] = blenders
    return state


def _load_arrays(path: Path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise _damaged(path, f"damaged or truncated ({type(exc).__name__})") from None


def _load_estimators(path: Path) -> dict:
    from kagglekit.model import load_state

    return load_state(
        path,
        TRUSTED_ESTIMATORS,
        hint="re-create the blend with the same `kagglekit blend ...` command",
    )
