"""A new Keras family is one small class: a character model written here in a few lines gets
the whole stack (bucketing, early stopping on inner rows, fit_info, saved fold, reload)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
import pytest

from support.rnn import frames

keras = pytest.importorskip("keras")

from kagglekit.keras.model import KerasModel, KerasParams  # noqa: E402
from kagglekit.keras.ragged import Ragged  # noqa: E402


class CharModel(KerasModel):
    """Characters -> embedding -> masked mean+max pooling (the base adds the sigmoid)."""

    name = "chars"

    @dataclass
    class Params(KerasParams):
        dim: int = 8
        maxlen: int = 96

    def fit_encoder(self, train, valid):
        chars = sorted({c for text in train.text for c in str(text).lower()})
        self.chars_ = {c: i + 2 for i, c in enumerate(chars)}  # 0 padding, 1 unknown
        self.maxlen_ = self.params.maxlen
        return self.features(train.text)

    def features(self, texts):
        rows = [[self.chars_.get(c, 1) for c in str(t).lower()][: self.maxlen_] for t in texts]
        return Ragged.from_lengths([i for r in rows for i in r], [len(r) for r in rows])

    def body(self, keras):
        from kagglekit.keras.layers import PaddingMask, pool

        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        x = keras.layers.Embedding(len(self.chars_) + 2, self.params.dim)(ids)
        return ids, pool(x, PaddingMask()(ids), ("mean", "max"))

    def state(self):
        return {"chars": self.chars_}

    def restore(self, state, directory):
        self.chars_ = state["chars"]


def test_a_new_family_is_one_small_class(tmp_path, monkeypatch):
    from sklearn.metrics import roc_auc_score

    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    assert len(inspect.getsource(CharModel).splitlines()) < 40
    train, valid = frames(200, seed=3)
    model = CharModel.from_dict(
        {"epochs": 4, "learning_rate": 0.02, "batch_size": 16, "verbose": 0, "tensorboard": False},
        seed=1,
        name="chars",
    )
    prob = model.fit(train, valid).predict(valid)
    assert prob.shape == (50, 1) and roc_auc_score(valid.y[:, 0], prob[:, 0]) > 0.75
    info = model.fit_info_
    assert info["early_stopping"] == "inner" and info["n_early_stopping"] == 15
    assert info["monitor"] == "auc" and 1 <= info["best_epoch"] <= info["epochs_run"] <= 4
    assert info["bucketing"] is True and 0.5 < info["padding_efficiency"] <= 1
    model.save(tmp_path / "fold")
    assert sorted(p.name for p in (tmp_path / "fold").iterdir()) == [
        "model.keras",
        "params.json",
        "state.json",
    ]
    again = CharModel.load(tmp_path / "fold")
    np.testing.assert_allclose(again.predict(valid), prob, atol=1e-6)
    assert again.fit_info_ == info
