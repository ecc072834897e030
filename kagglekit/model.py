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
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

from kagglekit.params import build_params, params_to_dict


class Model:
    """Base class: stores Params and a seed; pickles fitted state by default."""

    @dataclass
    class Params:
        pass

    name = "model"

    def __init__(self, params=None, *, seed: int = 0):
        self.params = params if params is not None else self.Params()
        self.seed = seed

    @classmethod
    def from_dict(cls, values: dict, *, seed: int = 0, name: str | None = None):
        return cls(build_params(cls.Params, values, name or cls.name), seed=seed)

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
        (directory / "params.json").write_text(json.dumps(
            {"params": params_to_dict(self.params), "seed": self.seed}, indent=2))
        return directory

    @classmethod
    def from_saved_params(cls, directory):
        """An unfitted model with the hyperparameters and seed saved by ``save_params``."""
        meta = json.loads((Path(directory) / "params.json").read_text())
        return cls.from_dict(meta["params"], seed=meta.get("seed", 0))

    def save(self, directory) -> None:
        directory = self.save_params(directory)
        with open(directory / "state.pkl", "wb") as fh:
            pickle.dump(self.fitted_state(), fh, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, directory):
        directory = Path(directory)
        model = cls.from_saved_params(directory)
        with open(directory / "state.pkl", "rb") as fh:
            for key, value in pickle.load(fh).items():
                setattr(model, key, value)
        return model
