"""The model contract every family follows, and a base class that saves Params.

    class SomeModel(Model):
        @dataclass
        class Params: ...
        def fit(self, train: TextFrame, valid: TextFrame | None) -> "SomeModel"
        def predict(self, frame: TextFrame) -> np.ndarray   # (n_rows, n_targets) probabilities
        def save(self, directory) -> None
        @classmethod
        def load(cls, directory) -> "SomeModel"

The constructor only stores hyperparameters (safe to make one per fold); fitted state
lives in attributes ending in ``_``.

Saved state never goes through pickle: a file in a run folder must not be able to run
code when the run is loaded (a run may come from a teammate's zip or a Kaggle dataset).
The base class stores the fitted attributes as ``state.json`` + ``state.npz``
(:mod:`kagglekit.safestate`: JSON and arrays, linear in the state's size), which rebuilds
only the types it is told to trust: scikit-learn's own, plus the class's ``trusted_types``.
Folds saved earlier as ``state.skops`` still load, through ``skops.io``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kagglekit.errors import RECREATE_RUN, RunError
from kagglekit.params import build_params, params_to_dict
from kagglekit.safestate import TREE_FILE as STATE_FILE  # (+ state.npz)

# what kagglekit wrote until December 2026 (skops.io: safe, but quadratic in a
# vocabulary's size): still loaded
SKOPS_STATE_FILE = "state.skops"
# what kagglekit before 0.2 wrote: never loaded (unpickling can run arbitrary code)
LEGACY_STATE_FILE = "state.pkl"


def refuse_legacy(directory: Path, legacy: str) -> None:
    """Refuse a model folder written with pickle by an older kagglekit."""
    raise RunError(
        f"{Path(directory) / legacy}: saved with pickle by an older kagglekit, which "
        f"is never loaded because it could run code; {RECREATE_RUN}"
    )


def read_json_file(path: Path, what: str = "file"):
    """A JSON file of a run, or a RunError naming it (missing, unreadable, damaged)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: missing; the run is incomplete: {RECREATE_RUN}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(
            f"{path}: damaged {what} ({type(exc).__name__}: {exc}); {RECREATE_RUN}"
        ) from None


class Model:
    """Base class: stores Params and a seed; saves fitted state as JSON + arrays (no pickle)."""

    @dataclass
    class Params:
        pass

    name = "model"
    # fully qualified names of non-scikit-learn classes held in the fitted state that
    # ``load`` may build (scikit-learn's estimators and numpy/scipy arrays are trusted)
    trusted_types: tuple[str, ...] = ()

    def __init__(self, params=None, *, seed: int = 0):
        # each model's own Params dataclass (its fields differ by model: Any to the checker)
        self.params: Any = params if params is not None else self.Params()
        self.seed = seed

    @classmethod
    def from_dict(cls, values: dict, *, seed: int = 0, name: str | None = None):
        return cls(build_params(cls.Params, values, name or cls.name), seed=seed)

    @classmethod
    def check_inputs(cls, params) -> None:
        """Check what ``params`` point to outside themselves (a folder, a run), before any
        work: ``cv``/``fit`` call it once, right after parsing ``-p``. Raise KaggleKitError
        with one line naming the param. ``Params.validate`` checks values only, because it
        also runs when a saved fold is loaded, where such files need not exist any more."""

    def fit(self, train, valid=None):  # pragma: no cover - interface
        raise NotImplementedError

    def predict(self, frame):  # pragma: no cover - interface
        raise NotImplementedError

    def fitted_state(self) -> dict:
        """Attributes ending in ``_``: what save() stores by default."""
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def save_params(self, directory) -> Path:
        """Create ``directory`` and write params.json (hyperparameters + seed) into it."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "params.json").write_text(
            json.dumps({"params": params_to_dict(self.params), "seed": self.seed}, indent=2)
        )
        return directory

    @classmethod
    def from_saved_params(cls, directory):
        """An unfitted model with the hyperparameters and seed saved by ``save_params``."""
        path = Path(directory) / "params.json"
        meta = read_json_file(path, "params.json")
        if not isinstance(meta, dict) or not isinstance(meta.get("params", {}), dict):
            raise RunError(
                f'{path}: not a params record (expected an object with "params"); {RECREATE_RUN}'
            )
        try:
            return cls.from_dict(meta.get("params", {}), seed=int(meta.get("seed", 0)))
        except (TypeError, ValueError) as exc:
            raise RunError(f"{path}: {exc}; {RECREATE_RUN}") from None

    def save(self, directory) -> None:
        from kagglekit.safestate import save_tree

        directory = self.save_params(directory)
        save_tree(self.fitted_state(), directory)

    @classmethod
    def load(cls, directory):
        from kagglekit.safestate import has_tree, load_tree

        directory = Path(directory)
        if has_tree(directory):
            state = load_tree(directory, cls.trusted_types, RECREATE_RUN)
            if not isinstance(state, dict):
                raise RunError(f"{directory / STATE_FILE}: not a saved model state; {RECREATE_RUN}")
        elif (directory / SKOPS_STATE_FILE).is_file():
            state = load_state(directory / SKOPS_STATE_FILE, cls.trusted_types)
        elif (directory / LEGACY_STATE_FILE).exists():
            refuse_legacy(directory, LEGACY_STATE_FILE)
        else:
            raise RunError(
                f"{directory / STATE_FILE}: missing; the run is incomplete: {RECREATE_RUN}"
            )
        model = cls.from_saved_params(directory)
        for key, value in state.items():
            setattr(model, key, value)
        return model


def load_state(path: Path, trusted=(), hint: str = RECREATE_RUN) -> dict:
    """A dict saved with ``skops.io.dump`` (folds saved before state.json, a stack's
    meta-models); only scikit-learn's types and ``trusted`` are built.
    Every problem is a RunError naming the file and ending with ``hint``."""
    import zipfile

    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    path = Path(path)
    if not path.is_file():
        raise RunError(f"{path}: missing; the run is incomplete: {hint}")
    try:
        state = skops.io.load(path, trusted=list(trusted))
    except UntrustedTypesFoundException as exc:
        raise RunError(
            f"{path}: holds types this model does not trust ({exc}); it was not "
            f"made by this model: {hint}"
        ) from None
    except (zipfile.BadZipFile, EOFError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise RunError(f"{path}: damaged or truncated ({type(exc).__name__}); {hint}") from None
    if not isinstance(state, dict):
        raise RunError(f"{path}: not a saved model state; {hint}")
    return state
