"""Metrics, threshold search and hyperparameter parsing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from kagglekit import plugins
from kagglekit.errors import ParamError
from kagglekit.metrics import best_threshold, f1_at_thresholds
from kagglekit.params import build_params, describe, parse_assignments


@pytest.fixture
def noisy():
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.2).astype(int)
    p = np.clip(0.35 * y + rng.random(500) * 0.7, 0, 1)
    return y, p


def test_vectorised_f1_matches_sklearn(noisy):
    y, p = noisy
    thresholds = np.unique(p)[::7]
    fast = f1_at_thresholds(y, p, thresholds)
    slow = [f1_score(y, p >= t) for t in thresholds]
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_best_threshold_is_the_argmax_of_f1(noisy):
    y, p = noisy
    f1 = plugins.get_metric("f1")
    t = best_threshold(f1, y, p)
    best = max(f1_score(y, p >= c) for c in np.unique(p))
    assert f1(y, p, t) == pytest.approx(best)
    assert f1(y, p, t) > f1(y, p, 0.5)  # a fixed 0.5 is not the answer here


def test_threshold_for_metric_without_one_is_half(noisy):
    y, p = noisy
    assert best_threshold(plugins.get_metric("auc"), y, p) == 0.5


def test_auc_and_mean_auc():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (200, 3))
    p = np.clip(y * 0.3 + rng.random((200, 3)), 0, 1)
    expected = np.mean([roc_auc_score(y[:, j], p[:, j]) for j in range(3)])
    assert plugins.get_metric("mean_auc")(y, p) == pytest.approx(expected)
    assert plugins.get_metric("auc")(y[:, 0], p[:, 0]) == pytest.approx(
        roc_auc_score(y[:, 0], p[:, 0])
    )
    # a label column with one class is skipped, not an error
    y[:, 2] = 0
    assert plugins.get_metric("mean_auc")(y, p) == pytest.approx(
        np.mean([roc_auc_score(y[:, j], p[:, j]) for j in range(2)])
    )


def test_accuracy_and_log_loss():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.7, 0.4, 0.1])
    assert plugins.get_metric("accuracy")(y, p, 0.5) == 0.75
    assert plugins.get_metric("accuracy")(y, p, 0.3) == 1.0
    expected = -np.mean(np.log([0.8, 0.7, 0.4, 0.9]))
    assert plugins.get_metric("log_loss")(y, p) == pytest.approx(expected)


@dataclass
class P:
    rate: float = 0.1
    units: int = 64
    bidirectional: bool = True
    name: str = "x"
    layers: tuple[int, ...] = (64, 32)
    files: tuple[str, ...] = ()
    cap: int | None = None
    mode: Literal["mean", "max"] = "mean"


def test_params_coerce_each_type():
    params = build_params(
        P,
        parse_assignments(
            [
                "rate=1e-3",
                "units=128",
                "bidirectional=false",
                "name=abc",
                "layers=8,4",
                "files=a.txt,b.vec",
                "cap=none",
                "mode=max",
            ]
        ),
        "m",
    )
    assert params == P(0.001, 128, False, "abc", (8, 4), ("a.txt", "b.vec"), None, "max")
    assert build_params(P, {"cap": "12"}, "m").cap == 12
    assert build_params(P, {"units": 3, "rate": 2}, "m").rate == 2.0  # TOML values


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("units", "1.5", "units='1.5' is not a valid int"),
        ("units", "many", "not a valid int"),
        ("bidirectional", "maybe", "not a valid bool"),
        ("mode", "sum", "must be one of mean, max"),
        ("rte", "1", "did you mean 'rate'"),
    ],
)
def test_params_errors(key, value, message):
    with pytest.raises(ParamError, match=message):
        build_params(P, {key: value}, "m")


@dataclass
class Cased:
    C: float = 1.0
    max_features: int = 100


@pytest.mark.parametrize(
    "key,meant",
    [
        ("c", "C"),
        ("Max_Features", "max_features"),
        ("max_featurs", "max_features"),
        ("MAX_FEATURS", "max_features"),
    ],
)
def test_param_suggestions_ignore_case(key, meant):
    with pytest.raises(
        ParamError, match=f"has no parameter '{key}' \\(did you mean '{meant}'\\?\\)"
    ):
        build_params(Cased, {key: "2"}, "m")


def test_describe_lists_defaults():
    rows = {r["name"]: r for r in describe(P)}
    assert rows["layers"]["default"] == [64, 32]
    assert rows["cap"]["type"] in ("Optional[int]", "int | None")


def test_content_hash_of_texts_keeps_boundaries_and_is_fast_path_equivalent():
    from kagglekit.cache import content_hash

    assert content_hash(["ab", "c"]) != content_hash(["a", "bc"])
    assert content_hash(["a", "b"]) != content_hash(["a", "b", ""])
    texts = np.array(["x", "héllo", "a\x00b"], dtype=object)
    assert content_hash(texts) == content_hash(list(texts))
    assert content_hash(texts) != content_hash(texts[:2])
    assert content_hash([1, 2]) != content_hash(["1", "2"])


def test_f1_is_scikit_learns_to_the_last_bit():
    from sklearn.metrics import f1_score

    from kagglekit.metrics import get_metric

    f1 = get_metric("f1")
    rng = np.random.default_rng(0)
    for n, rate in [(1000, 0.5), (5000, 0.06), (20, 0.0), (30, 1.0), (7, 0.3)]:
        y = (rng.random(n) < rate).astype(np.int8)
        p = rng.random(n)
        for t in (0.0, 0.1, 0.5, 0.93, 1.1):
            expected = f1_score(y, (p >= t).astype(int), zero_division=0)
            assert f1(y, p, t) == expected, (n, rate, t)
    assert f1(np.zeros(5), np.zeros(5), 0.5) == 0.0  # nothing positive anywhere
