"""Blend runs built from run directories: checks, duplicates, files, threshold, submit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from kagglekit import plugins
from kagglekit.blend import BlendError, create_blend
from kagglekit.metrics import best_threshold, score_all
from kagglekit.store.run import Run
from support.blend import SLUG, FakeCompetition, as_saved, informative, useless

METHODS = ("mean", "rank", "weighted", "stack", "vote", "hill-climb")


@pytest.fixture
def comp(tmp_path):
    return FakeCompetition(tmp_path)


def members(comp):
    good = informative(comp.y, seed=1)
    other = informative(comp.y, strength=0.8, seed=5)
    return good, other


def oof_of(run: Run) -> np.ndarray:
    return run.oof()["target"].to_numpy()


@pytest.mark.parametrize("method", METHODS)
def test_blend_run_has_the_files_of_any_run(comp, method):
    good, other = members(comp)
    a, b = comp.run(good, threshold=0.4), comp.run(other, threshold=0.6)
    blend = create_blend([a, b], method, comp.runs_dir)
    assert blend.path.parent == comp.runs_dir / SLUG
    assert blend.kind == "blend" and blend.competition == SLUG
    assert blend.info["members"] == [str(a.path.resolve()), str(b.path.resolve())]
    assert [m["run_id"] for m in blend.info["member_runs"]] == [a.id, b.id]
    # the same folds.csv, byte for byte; OOF and test predictions for every row
    assert (blend.path / "folds.csv").read_bytes() == (a.path / "folds.csv").read_bytes()
    assert list(blend.oof()["id"]) == list(a.oof()["id"])
    assert list(blend.test_predictions()["id"]) == list(a.test_predictions()["id"])
    # threshold and scores are chosen and measured on the blend's own OOF
    y = comp.y[:, None]
    oof = oof_of(blend)[:, None]
    f1 = plugins.get_metric("f1")
    assert blend.threshold == pytest.approx(best_threshold(f1, y, oof), abs=1e-6)
    comp_spec = plugins.get_competition(SLUG)
    expected = score_all(comp_spec, y, oof, blend.threshold)
    assert blend.scores == pytest.approx(expected, abs=1e-5)
    assert set(blend.scores) == {"f1", "accuracy", "auc"}
    assert len(blend.info["fold_scores"]) == 5
    assert not list(comp.runs_dir.glob(f"{SLUG}/.tmp-*"))


@pytest.mark.parametrize("method", METHODS)
def test_duplicated_member_gets_no_extra_weight(comp, method):
    good, other = members(comp)
    a, b = comp.run(good), comp.run(other)
    a_again = comp.run(good, test=a.test_predictions()["target"].to_numpy())  # identical rerun
    pair = create_blend([a, b], method, comp.runs_dir)
    triple = create_blend([a, a_again, b], method, comp.runs_dir)
    np.testing.assert_array_equal(oof_of(triple), oof_of(pair))
    np.testing.assert_array_equal(
        triple.test_predictions()["target"], pair.test_predictions()["target"]
    )
    assert triple.scores == pair.scores
    rows = {r["run_id"]: r for r in triple.info["member_runs"]}
    assert rows[a_again.id]["duplicate_of"] == a.id
    assert rows[a_again.id]["weights"] == {"target": 0.0}
    assert rows[a.id]["weights"] == pair.info["member_runs"][0]["weights"]


@pytest.mark.parametrize("method", ["mean", "rank", "weighted", "vote"])
def test_blend_of_a_run_with_itself_scores_as_the_run(comp, method):
    good = as_saved(members(comp)[0])
    spec = plugins.get_competition(SLUG)
    y = comp.y[:, None]
    threshold = best_threshold(plugins.get_metric("f1"), y, good[:, None])
    a = comp.run(good, threshold=threshold, scores=score_all(spec, y, good[:, None], threshold))
    blend = create_blend([a, a], method, comp.runs_dir)
    if method == "vote":
        # vote is nested: fold k's members vote at thresholds chosen on the other folds, so
        # the blend scores as the member's nested figure; in sample it scores as the run
        from kagglekit.metrics import score_oof

        nested = score_oof(spec, y, good[:, None], comp.folds).nested_scores
        for name in ("f1", "accuracy"):
            assert blend.scores[name] == pytest.approx(nested[name], abs=1e-9), name
            assert blend.info["scores_in_sample"][name] == pytest.approx(
                a.scores[name], abs=1e-9
            ), name
        return
    for name in ("f1", "accuracy"):
        assert blend.scores[name] == pytest.approx(a.scores[name], abs=1e-9), name
    assert blend.scores["auc"] == pytest.approx(a.scores["auc"], abs=1e-9)


def test_good_plus_useless_blends_are_not_worse_than_good(comp):
    good, _ = members(comp)
    spec = plugins.get_competition(SLUG)
    y = comp.y[:, None]
    threshold = best_threshold(plugins.get_metric("f1"), y, good[:, None])
    a = comp.run(good, threshold=threshold, scores=score_all(spec, y, good[:, None], threshold))
    b = comp.run(useless(len(comp.y)))
    for method in ("weighted", "stack"):
        blend = create_blend([a, b], method, comp.runs_dir, objective="auc")
        assert blend.scores["auc"] >= a.scores["auc"] - 0.005, method
        rows = blend.info["member_runs"]
        assert abs(rows[1]["weights"]["target"]) < 0.1 * abs(rows[0]["weights"]["target"])
        assert blend.info["scores_in_sample"]["auc"] > 0.5


def test_weighted_reports_weights_in_sample_score_and_fold_weights(comp):
    good, other = members(comp)
    a, b = comp.run(good), comp.run(other)
    blend = create_blend([a, b], "weighted", comp.runs_dir)
    weights = blend.info["weights"]
    assert set(weights) == {a.id, b.id}
    assert sum(w["target"] for w in weights.values()) == pytest.approx(1, abs=1e-5)
    assert weights[a.id]["target"] > weights[b.id]["target"]
    assert len(blend.info["fold_weights"]["target"]) == 5
    assert set(blend.info["scores_in_sample"]) == set(blend.scores)
    assert blend.info["params"]["objective"] == "f1"


def test_fold_numbers_may_be_renamed_but_not_reassigned(comp):
    good, other = members(comp)
    a = comp.run(good)
    renamed = comp.run(other, folds=(comp.folds + 2) % 5)  # the same partition of rows
    create_blend([a, renamed], "mean", comp.runs_dir)
    moved = comp.folds.copy()
    moved[[0, 1]] = moved[[1, 0]] if moved[0] != moved[1] else (moved[[0, 1]] + 1) % 5
    c = comp.run(other, folds=moved)
    with pytest.raises(
        BlendError,
        match=r"different folds: 2 of 600 rows are assigned "
        r"differently .*the same --folds and --seed",
    ):
        create_blend([a, c], "mean", comp.runs_dir)


def test_refuses_other_row_order_or_rows(comp):
    good, other = members(comp)
    a = comp.run(good)
    order = np.r_[1, 0, 2 : len(comp.ids)]
    swapped = comp.run(other[order], ids=comp.ids[order], folds=comp.folds[order])
    with pytest.raises(BlendError, match=r"in a different order \(row 1 is id"):
        create_blend([a, swapped], "mean", comp.runs_dir)
    fewer = comp.run(other[1:], ids=comp.ids[1:], folds=comp.folds[1:])
    with pytest.raises(BlendError, match=r"different training rows \(600 vs 599 rows; e.g. id"):
        create_blend([a, fewer], "mean", comp.runs_dir)
    test_swapped = comp.run(other, test_ids=comp.test_ids[::-1], test=np.zeros(len(comp.test_ids)))
    with pytest.raises(BlendError, match="list the test rows in a different order"):
        create_blend([a, test_swapped], "mean", comp.runs_dir)


def test_refuses_other_competition_fit_runs_and_single_runs(comp):
    good, other = members(comp)
    a = comp.run(good)
    alien = comp.run(other, competition="quora-insincere-questions-classification")
    with pytest.raises(BlendError, match="are of different competitions"):
        create_blend([a, alien], "mean", comp.runs_dir)
    fit = comp.run(None, kind="fit", test=np.zeros(len(comp.test_ids)))
    with pytest.raises(BlendError, match="is a fit run without out-of-fold predictions"):
        create_blend([a, fit], "mean", comp.runs_dir)
    with pytest.raises(BlendError, match="at least two runs, got 1"):
        create_blend([a], "mean", comp.runs_dir)
    (a.path / "test_predictions.csv").unlink()
    b = comp.run(other)
    with pytest.raises(BlendError, match=f"run {a.id} has no test predictions but other"):
        create_blend([b, a], "mean", comp.runs_dir)
    assert len(list((comp.runs_dir / SLUG).iterdir())) == 3  # a, fit, b: no blend was written


def test_labels_come_from_data_dir_when_the_runs_folder_moved(comp, tmp_path):
    good, other = members(comp)
    gone = tmp_path / "gone"
    a, b = comp.run(good, data_dir=gone), comp.run(other, data_dir=gone)
    with pytest.raises(BlendError, match="pass --data-dir with the nlp-getting-started files"):
        create_blend([a, b], "mean", comp.runs_dir)
    blend = create_blend([a, b], "mean", comp.runs_dir, data_dir=comp.data_dir.parent)
    assert blend.info["data_dir"] == str(comp.data_dir.resolve())


def test_labels_must_match_the_runs_rows(comp, tmp_path):
    good, other = members(comp)
    a, b = comp.run(good), comp.run(other)
    train = pd.read_csv(comp.data_dir / "train.csv")
    other_dir = tmp_path / "other" / SLUG
    other_dir.mkdir(parents=True)
    train.iloc[::-1].to_csv(other_dir / "train.csv", index=False)
    with pytest.raises(BlendError, match="does not hold the training rows of run"):
        create_blend([a, b], "mean", comp.runs_dir, data_dir=other_dir)


def test_submit_and_best_run_treat_a_blend_as_any_run(comp, tmp_path):
    from kagglekit.store.ranking import best_run
    from kagglekit.submission import write_submission

    y = comp.y
    a = comp.run(informative(y, seed=31), scores={"f1": 0.1, "accuracy": 0.1, "auc": 0.1})
    b = comp.run(informative(y, seed=32), scores={"f1": 0.1, "accuracy": 0.1, "auc": 0.1})
    blend = create_blend([a, b], "mean", comp.runs_dir)
    assert best_run(SLUG, comp.runs_dir).id == blend.id
    path, frame = write_submission(plugins.get_competition(SLUG), blend, tmp_path / "sub.csv")
    test = blend.test_predictions().set_index("id")["target"]
    expected = (test.loc[frame["id"]].to_numpy() >= blend.threshold).astype(int)
    np.testing.assert_array_equal(frame["target"].to_numpy(), expected)
    assert list(pd.read_csv(path).columns) == ["id", "target"]


def test_blend_of_blends(comp):
    good, other = members(comp)
    a, b, c = comp.run(good), comp.run(other), comp.run(informative(comp.y, seed=40))
    inner = create_blend([a, b], "mean", comp.runs_dir)
    outer = create_blend([inner, c], "stack", comp.runs_dir)
    assert outer.info["member_runs"][0]["kind"] == "blend"
    assert json.loads((outer.path / "run.json").read_text())["kind"] == "blend"


def test_fold_differences_ignore_fold_numbers():
    from kagglekit.blend import fold_differences

    a = np.array([0, 0, 1, 1, 2, 2])
    assert len(fold_differences(a, np.array([2, 2, 0, 0, 1, 1]))) == 0
    assert list(fold_differences(a, np.array([0, 1, 1, 1, 2, 2]))) == [1]
    assert list(fold_differences(a, np.array([0, 0, 0, 0, 2, 2]))) in ([0, 1], [2, 3])  # merged
    assert list(fold_differences(np.array([0, 0, 0, 0, 2, 2]), a)) in ([0, 1], [2, 3])
