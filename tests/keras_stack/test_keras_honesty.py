"""Known answers for every Keras family (issue 11): with labels shuffled at random the texts
carry no signal, so honest out-of-fold predictions score chance, AUC 0.5 within noise.

With ``early_stopping=inner`` (the default) the monitor, early stopping, the plateau schedule
and the best-weights restore only see a share of the *training* rows, so the validation
fold's labels never touch the model that predicts it. Under the null hypothesis (predictions
independent of the held-out labels) the pooled OOF AUC is a Mann-Whitney statistic with
mean 0.5 and standard deviation sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg)); the tests
allow 4 of those (a false alarm about once in 15,000 seeds; the seeds are fixed)."""

from __future__ import annotations

import numpy as np
import pytest

from support.honesty import null_bound, shuffled_oof
from support.rnn import make_texts

pytest.importorskip("keras")
pytest.importorskip("tokenizers")

TINY_RNN = {
    "units": 8,
    "embedding_dim": 8,
    "verbose": 0,
    "progress": False,
    "tensorboard": False,
    "batch_size": 16,
    "epochs": 4,
    "learning_rate": 0.01,
}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KAGGLEKIT_PRESET_DIRS", str(tmp_path / "no-mounts"))


@pytest.mark.parametrize("name,rows", [("dense", 1000), ("bigru", 400)])
def test_shuffled_labels_give_chance_oof_auc_for_word_models(name, rows):
    from kagglekit import plugins

    texts, y = make_texts(rows, seed=21)
    cls = plugins.get_model(name)
    auc, infos, shuffled = shuffled_oof(
        lambda k: cls.from_dict(TINY_RNN, seed=k, name=name), texts, y, folds=5
    )
    assert all(i["early_stopping"] == "inner" and i["n_early_stopping"] > 0 for i in infos)
    assert abs(auc - 0.5) < null_bound(shuffled), auc


def test_the_same_texts_with_their_labels_are_learned():
    """Control: the data and models above can score far from 0.5 when there is signal."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from kagglekit import plugins
    from kagglekit.frame import TextFrame

    texts, y = make_texts(400, seed=21)
    texts, y = np.asarray(texts, dtype=object), y[:, 0]
    oof = np.zeros(len(y))
    for k, (tr, va) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y)):
        model = plugins.get_model("dense").from_dict(TINY_RNN, seed=k, name="dense")
        model.fit(TextFrame.from_texts(texts[tr], y[tr]), TextFrame.from_texts(texts[va], y[va]))
        oof[va] = model.predict(TextFrame.from_texts(texts[va]))[:, 0]
    assert roc_auc_score(y, oof) > 0.5 + null_bound(y)


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    pytest.importorskip("keras_hub")
    pytest.importorskip("safetensors")
    from support.hub import hf_dir, keras_preset

    root = tmp_path_factory.mktemp("presets")
    return {
        "keras": keras_preset(root / "keras"),
        "st": hf_dir(root / "st", sentence_transformers=True),
    }


def test_shuffled_labels_give_chance_oof_auc_for_a_transformer(presets):
    from kagglekit_plugins.transformer import TransformerClassifier
    from support.hub import texts_and_labels

    texts, y = texts_and_labels(300, seed=5)
    params = {
        "preset": str(presets["keras"]),
        "epochs": 3,
        "learning_rate": 1e-2,
        "batch_size": 16,
        "max_length": 16,
        "verbose": 0,
        "tensorboard": False,
    }
    auc, infos, shuffled = shuffled_oof(
        lambda k: TransformerClassifier.from_dict(params, seed=k), texts, y, folds=4
    )
    assert all(i["early_stopping"] == "inner" and i["monitor"] == "auc" for i in infos)
    assert abs(auc - 0.5) < null_bound(shuffled), auc


def test_shuffled_labels_give_chance_oof_auc_for_a_sentence_encoder(presets):
    from kagglekit_plugins.sentence_encoder import SentenceTransformer
    from support.hub import texts_and_labels

    texts, y = texts_and_labels(600, seed=6)
    params = {
        "preset": str(presets["st"]),
        "epochs": 6,
        "learning_rate": 0.02,
        "verbose": 0,
        "tensorboard": False,
    }
    auc, infos, shuffled = shuffled_oof(
        lambda k: SentenceTransformer.from_dict(params, seed=k), texts, y, folds=5
    )
    assert all(i["early_stopping"] == "inner" for i in infos)
    assert abs(auc - 0.5) < null_bound(shuffled), auc
