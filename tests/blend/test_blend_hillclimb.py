"""The hill-climbing blend (Caruana et al. 2004) on synthetic members whose right answer is
known: greedy selection with replacement, weights as shares of the selections, nested in
the folds like the other supervised methods."""

from __future__ import annotations

import numpy as np
import pytest

from kagglekit import plugins
from kagglekit.blend import BlendContext, HillClimbBlend, blend_arrays, metric_score
from support.blend import informative, labels_and_folds, useless


def context(name="auc"):
    return BlendContext(metric=plugins.get_metric(name))


def auc(y, p):
    m = plugins.get_metric("auc")
    return m(np.asarray(y)[:, None], np.asarray(p).reshape(len(y), -1)[:, :1])


def test_registered_and_described():
    from kagglekit.blend import BLEND_METHODS

    assert BLEND_METHODS["hill-climb"] is HillClimbBlend
    assert HillClimbBlend.supervised


def test_starts_from_the_best_single_member_and_never_scores_below_it():
    y, _ = labels_and_folds(n=1500, seed=1)
    weak, strong = informative(y, strength=0.4, seed=2), informative(y, strength=1.5, seed=3)
    noise = useless(len(y), seed=4)
    P = np.column_stack([weak, noise, strong])
    h = HillClimbBlend(context()).fit(P, y)
    assert h.path_[0] == pytest.approx(auc(y, strong), abs=1e-12)  # step 1: the best member
    assert h.score_ >= auc(y, strong) - 1e-12
    assert h.score_ == pytest.approx(auc(y, h.predict(P)), abs=1e-12)
    assert h.weights_[2] == h.weights_.max()
    assert h.weights_[1] <= 0.1  # noise is (almost) never chosen


def test_weights_are_shares_of_the_selections():
    y, _ = labels_and_folds(n=1200, seed=5)
    P = np.column_stack([informative(y, seed=s) for s in (6, 7, 8)])
    h = HillClimbBlend(context()).fit(P, y)
    assert h.counts_.dtype.kind == "i" and (h.counts_ >= 0).all()
    np.testing.assert_allclose(h.weights_, h.counts_ / h.counts_.sum())
    assert h.weights_.sum() == pytest.approx(1.0)
    assert len(h.path_) <= HillClimbBlend.max_steps
    # the kept ensemble is the best met along the path
    assert h.score_ == pytest.approx(h.path_.max(), abs=1e-12)


def test_selection_with_replacement_weights_the_better_of_two_members_more():
    y, _ = labels_and_folds(n=3000, seed=9)
    strong, weaker = informative(y, strength=1.4, seed=10), informative(y, strength=0.9, seed=11)
    h = HillClimbBlend(context()).fit(np.column_stack([weaker, strong]), y)
    assert h.counts_[1] > h.counts_[0] >= 1  # both used, the stronger chosen more often
    assert h.score_ > auc(y, strong) + 0.005  # two independent members beat either


def test_a_duplicate_member_changes_nothing():
    y, folds = labels_and_folds(n=1000, seed=12)
    a, b = informative(y, seed=13), informative(y, strength=0.8, seed=14)
    pair = blend_arrays("hill-climb", np.stack([a, b])[:, :, None], y, folds, context=context())
    triple = blend_arrays(
        "hill-climb", np.stack([a, b, a])[:, :, None], y, folds, context=context()
    )
    # ties go to the earlier member, so the copy is never chosen
    assert triple.blenders[0].counts_[2] == 0
    np.testing.assert_array_equal(triple.oof, pair.oof)


@pytest.mark.parametrize("objective", ["f1", "log_loss"])
def test_metric_direction_and_thresholds(objective):
    """F1 is scored at its best threshold for every candidate; log loss is minimised."""
    y, _ = labels_and_folds(n=1500, seed=15)
    good, noise = informative(y, seed=16), useless(len(y), seed=17)
    m = plugins.get_metric(objective)
    h = HillClimbBlend(context(objective)).fit(np.column_stack([noise, good]), y)
    single = metric_score(m, y, good)
    if m.greater_is_better:
        assert h.score_ >= single - 1e-12
    else:
        assert h.score_ <= single + 1e-12
    assert h.weights_[1] >= 0.8  # noise may be picked once or twice in-sample


def test_reported_score_is_cross_validated_not_in_sample():
    """Ten pure-noise members: the selection made on all rows looks better than chance;
    the nested (reported) OOF score does not."""
    y, folds = labels_and_folds(n=800, seed=18)
    P = np.random.default_rng(19).random((10, len(y), 1))
    r = blend_arrays("hill-climb", P, y, folds, context=context())
    assert auc(y, r.in_sample) > auc(y, r.oof) + 0.01
    assert abs(auc(y, r.oof) - 0.5) < 0.06


def test_shuffled_labels_give_chance_level_oof():
    y, folds = labels_and_folds(n=1500, seed=20)
    P = np.stack([informative(y, seed=s) for s in (21, 22, 23)])[:, :, None]
    shuffled = np.random.default_rng(24).permutation(y)
    r = blend_arrays("hill-climb", P, shuffled, folds, context=context())
    assert abs(auc(shuffled, r.oof) - 0.5) < 0.05


def test_a_folds_oof_does_not_see_that_folds_labels():
    y, folds = labels_and_folds(n=1200, seed=25)
    P = np.stack([informative(y, seed=26), informative(y, strength=0.8, seed=27)])[:, :, None]
    base = blend_arrays("hill-climb", P, y, folds, context=context())
    y2 = y.copy()
    held = folds == 0
    y2[held] = 1 - y2[held]
    changed = blend_arrays("hill-climb", P, y2, folds, context=context())
    np.testing.assert_array_equal(changed.oof[held], base.oof[held])
    assert base.fold_weights[0] and len(base.fold_weights[0]) == 5


def test_single_member_and_one_class_fall_back_to_equal_weights():
    y = np.zeros(50, dtype=int)
    h = HillClimbBlend(context()).fit(np.random.default_rng(0).random((50, 3)), y)
    np.testing.assert_allclose(h.weights_, [1 / 3] * 3)
    one = HillClimbBlend(context()).fit(np.random.default_rng(0).random((50, 1)), y % 2)
    np.testing.assert_allclose(one.weights_, [1.0])


def test_saved_and_loaded_blender_predicts_the_same(tmp_path):
    from kagglekit.blend import load_blenders, save_blenders

    y, _ = labels_and_folds(n=600, seed=28)
    P = np.column_stack([informative(y, seed=29), informative(y, strength=0.7, seed=30)])
    h = HillClimbBlend(context()).fit(P, y)
    save_blenders(tmp_path, "hill-climb", [h], ["target"], members=[])
    state = load_blenders(tmp_path)
    assert state["method"] == "hill-climb"
    again = state["blenders"][0]
    assert isinstance(again, HillClimbBlend)
    np.testing.assert_array_equal(again.counts_, h.counts_)
    np.testing.assert_array_equal(again.predict(P), h.predict(P))
