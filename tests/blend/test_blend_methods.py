"""Blend methods on synthetic OOF predictions whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from kagglekit import plugins
from kagglekit.blend import (
    BLEND_METHODS,
    BlendContext,
    RankBlend,
    blend_arrays,
    ecdf,
    get_method,
    metric_score,
)
from kagglekit.errors import KaggleKitError
from support.blend import informative, labels_and_folds, useless


def metric(name):
    return plugins.get_metric(name)


def auc(y, p):
    return metric("auc")(np.asarray(y)[:, None], np.asarray(p).reshape(len(y), -1)[:, :1])


def context(name="auc", **kwargs):
    return BlendContext(metric=metric(name), **kwargs)


@pytest.fixture(scope="module")
def data():
    y, folds = labels_and_folds(n=1500)
    good = informative(y, seed=1)
    return y, folds, good, useless(len(y), seed=2)


def test_registry_and_unknown_method():
    assert set(BLEND_METHODS) == {"mean", "rank", "weighted", "stack", "vote", "hill-climb"}
    with pytest.raises(KaggleKitError, match="unknown blend method 'median'; choose one of mean"):
        get_method("median")


@pytest.mark.parametrize("name", ["auc", "mean_auc", "f1", "accuracy", "log_loss"])
def test_metric_score_equals_the_metric_at_its_best_threshold(name):
    """The optimiser's fast forms of AUC and F1 give the metric's own values."""
    from kagglekit.metrics import best_threshold

    rng = np.random.default_rng(5)
    y = (rng.random(700) < 0.3).astype(int)
    p = np.round(np.clip(0.3 * y + rng.random(700) * 0.8, 0, 1), 2)  # many ties
    m = metric(name)
    t = best_threshold(m, y[:, None], p[:, None]) if m.needs_threshold else 0.5
    assert metric_score(m, y, p) == pytest.approx(m(y[:, None], p[:, None], t), abs=1e-12)


def test_mean_and_rank_of_one_member_keep_its_ranking(data):
    y, folds, good, _ = data
    for name in ("mean", "rank"):
        r = blend_arrays(name, good[None, :, None], y, folds, context=context())
        assert auc(y, r.oof) == pytest.approx(auc(y, good), abs=1e-12)
        assert metric_score(metric("f1"), y, r.oof) == pytest.approx(
            metric_score(metric("f1"), y, good), abs=1e-12
        )
    mean = blend_arrays("mean", good[None, :, None], y, folds)
    np.testing.assert_allclose(mean.oof[:, 0], good)


def test_mean_of_two_members_is_their_average(data):
    y, folds, good, noise = data
    r = blend_arrays(
        "mean",
        np.stack([good, noise])[:, :, None],
        y,
        folds,
        test=np.array([[[0.2], [0.8]], [[0.6], [0.0]]]),
    )
    np.testing.assert_allclose(r.oof[:, 0], (good + noise) / 2)
    np.testing.assert_allclose(r.test[:, 0], [0.4, 0.4])
    assert r.in_sample is None  # nothing learnt from labels


def test_rank_is_the_ecdf_over_each_members_oof():
    ref = np.sort(np.array([0.1, 0.2, 0.2, 0.9]))
    np.testing.assert_allclose(
        ecdf(ref, np.array([0.1, 0.2, 0.9, 0.0, 1.0, 0.15])), [1 / 8, 4 / 8, 7 / 8, 0.0, 1.0, 2 / 8]
    )
    P = np.column_stack([[0.1, 0.9, 0.5, 0.3], [10.0, 30.0, 20.0, 40.0]])
    blender = RankBlend().fit(P)
    oof_ranks = blender.predict(P)
    # mid-ranks (r - 0.5) / n: [1, 4, 3, 2] and [1, 3, 2, 4] out of 4, averaged
    np.testing.assert_allclose(oof_ranks, [0.125, 0.75, 0.5, 0.625])
    # a new row is ranked against the members' OOF, alone or among others alike
    new = np.array([[0.5, 25.0], [0.0, 100.0]])
    together = blender.predict(new)
    np.testing.assert_allclose([blender.predict(new[:1])[0], blender.predict(new[1:])[0]], together)
    np.testing.assert_allclose(together, [(5 / 8 + 4 / 8) / 2, (0 + 1) / 2])


def test_vote_counts_members_at_their_thresholds():
    P = np.array([[0.9, 0.1, 0.6], [0.4, 0.2, 0.7], [0.0, 0.0, 0.0]])
    r = BLEND_METHODS["vote"](BlendContext(thresholds=(0.5, 0.1, 0.7))).fit(P)
    np.testing.assert_allclose(r.predict(P), [2 / 3, 2 / 3, 0.0])
    with pytest.raises(KaggleKitError, match="one threshold per member"):
        BLEND_METHODS["vote"](BlendContext(thresholds=(0.5,))).fit(P)


@pytest.mark.parametrize("objective", ["auc", "f1"])
def test_weighted_good_plus_useless_is_not_worse_than_good(data, objective):
    y, folds, good, noise = data
    m = metric(objective)
    r = blend_arrays(
        "weighted", np.stack([good, noise])[:, :, None], y, folds, context=context(objective)
    )
    weights = r.blenders[0].weights_
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    assert weights[1] < 0.05  # the useless member gets (almost) nothing
    # in-sample the optimum can only match or beat the best single member ...
    assert metric_score(m, y, r.in_sample) >= metric_score(m, y, good) - 1e-12
    # ... and its cross-validated score stays with the good member's
    assert metric_score(m, y, r.oof) >= metric_score(m, y, good) - 0.005


def test_stack_good_plus_useless_is_not_worse_than_good(data):
    y, folds, good, noise = data
    r = blend_arrays("stack", np.stack([good, noise])[:, :, None], y, folds, context=context())
    coef = r.blenders[0].weights_
    assert coef[0] > 0.5 and abs(coef[1]) < 0.1 * coef[0]
    assert auc(y, r.oof) >= auc(y, good) - 0.005
    assert ((r.oof > 0) & (r.oof < 1)).all()


def test_two_equally_good_independent_members_share_the_weight_and_beat_both():
    y, folds = labels_and_folds(n=2000, seed=3)
    a, b = informative(y, seed=11), informative(y, seed=12)
    P = np.stack([a, b])[:, :, None]
    weighted = blend_arrays("weighted", P, y, folds, context=context())
    w = weighted.blenders[0].weights_
    assert 0.3 < w[0] < 0.7 and w.sum() == pytest.approx(1)
    for name in ("mean", "rank", "weighted", "stack"):
        r = blend_arrays(name, P, y, folds, context=context())
        assert auc(y, r.oof) > max(auc(y, a), auc(y, b)) + 0.01, name


def test_weighted_favours_the_better_member():
    y, folds = labels_and_folds(n=2000, seed=4)
    strong, weak = informative(y, strength=1.5, seed=21), informative(y, strength=0.5, seed=22)
    w = (
        blend_arrays("weighted", np.stack([weak, strong])[:, :, None], y, folds, context=context())
        .blenders[0]
        .weights_
    )
    assert w[1] > 0.6


@pytest.mark.parametrize("name", ["weighted", "stack"])
def test_reported_score_is_cross_validated_not_in_sample(name):
    """Ten pure-noise members: fitting on all rows finds weights that look better than
    chance; the nested (reported) score does not."""
    y, folds = labels_and_folds(n=800, seed=6)
    P = np.random.default_rng(7).random((10, len(y), 1))
    r = blend_arrays(name, P, y, folds, context=context())
    in_sample, cv = auc(y, r.in_sample), auc(y, r.oof)
    assert in_sample > cv + 0.01
    assert abs(cv - 0.5) < 0.06


@pytest.mark.parametrize("name", ["weighted", "stack"])
def test_a_folds_oof_does_not_see_that_folds_labels(data, name):
    y, folds, good, _ = data
    other = informative(y, strength=0.8, seed=9)
    P = np.stack([good, other])[:, :, None]
    base = blend_arrays(name, P, y, folds, context=context())
    y2 = y.copy()
    held = folds == 0
    y2[held] = 1 - y2[held]  # scramble fold 0's labels
    changed = blend_arrays(name, P, y2, folds, context=context())
    np.testing.assert_array_equal(changed.oof[held], base.oof[held])
    # the other folds' blenders did learn from fold 0's labels
    assert not np.array_equal(changed.oof[~held], base.oof[~held])


def test_multilabel_is_blended_per_label():
    y, folds = labels_and_folds(n=1200, seed=8)
    y2 = labels_and_folds(n=1200, seed=9)[0]
    Y = np.column_stack([y, y2])
    a = np.column_stack([informative(y, seed=1), useless(len(y), seed=3)])  # good on label 0
    b = np.column_stack([useless(len(y), seed=4), informative(y2, seed=2)])  # good on label 1
    P = np.stack([a, b])
    w = blend_arrays("weighted", P, Y, folds, context=context("mean_auc"))
    assert w.blenders[0].weights_[0] > 0.9 and w.blenders[1].weights_[1] > 0.9
    s = blend_arrays("stack", P, Y, folds, context=context("mean_auc"))
    assert s.blenders[0].weights_[0] > 5 * abs(s.blenders[0].weights_[1])
    assert s.blenders[1].weights_[1] > 5 * abs(s.blenders[1].weights_[0])
    assert w.oof.shape == s.oof.shape == (1200, 2)


def test_stack_with_a_label_absent_from_the_training_folds_predicts_its_rate():
    y = np.zeros(50, dtype=int)
    y[0] = 1
    folds = np.arange(50) % 5
    P = np.random.default_rng(0).random((2, 50, 1))
    r = blend_arrays("stack", P, y, folds, context=context())
    assert r.oof[0, 0] == 0.0  # fold 0's meta-model saw no positive
    assert np.isfinite(r.oof).all()


def test_unknown_meta_model():
    y, folds = labels_and_folds(n=100)
    with pytest.raises(KaggleKitError, match="unknown meta-model 'svm'; choose one of logistic"):
        blend_arrays(
            "stack",
            np.random.default_rng(0).random((2, 100, 1)),
            y,
            folds,
            context=context(meta_model="svm"),
        )


def test_hgb_meta_model_runs(data):
    y, folds, good, noise = (a[:400] for a in data)
    r = blend_arrays(
        "stack", np.stack([good, noise])[:, :, None], y, folds, context=context(meta_model="hgb")
    )
    assert r.blenders[0].weights_ is None  # no coefficients to report
    assert auc(y, r.oof) > 0.85
