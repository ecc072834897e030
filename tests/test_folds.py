"""Property tests of the fold schemes: folds never overlap, every row is validated exactly
once, fold sizes are balanced, label proportions are kept, groups never straddle folds."""

from __future__ import annotations

import numpy as np
import pytest

from kagglekit.errors import KaggleKitError
from kagglekit.folds import competition_folds, find_duplicates, fold_indices, make_folds
from kagglekit.frame import TextFrame
from kagglekit.hookspecs import hookimpl

CASES = [(n, k, seed) for n in (97, 600, 2001) for k in (2, 3, 5) for seed in (0, 7)]


def binary_labels(n: int, rate: float = 0.12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    y[:6] = 1  # enough positives for any K <= 5 even at small n
    return y[:, None]


def jigsaw_like_labels(n: int, seed: int = 0) -> np.ndarray:
    """Six correlated labels, the rarer ones only on 'toxic' rows, as in Jigsaw."""
    rng = np.random.default_rng(seed)
    toxic = (rng.random(n) < 0.2).astype(int)
    toxic[:12] = 1
    others = [toxic & (rng.random(n) < r) for r in (0.3, 0.5, 0.15, 0.5, 0.2)]
    y = np.column_stack([toxic, *others])
    y[:6, 1:] = 1  # every label has a few positives
    return y


def assert_partition(folds: np.ndarray, n: int, k: int) -> None:
    """Each row in exactly one validation fold; train and valid never overlap."""
    assert folds.shape == (n,)
    assert set(np.unique(folds)) == set(range(k))
    seen = np.zeros(n, dtype=int)
    for _fold, train_idx, valid_idx in fold_indices(folds):
        assert len(np.intersect1d(train_idx, valid_idx)) == 0
        assert len(train_idx) + len(valid_idx) == n
        assert np.array_equal(np.sort(np.concatenate([train_idx, valid_idx])), np.arange(n))
        seen[valid_idx] += 1
    assert (seen == 1).all(), "every row is validated exactly once"


@pytest.mark.parametrize("n,k,seed", CASES)
def test_stratified_partition_sizes_and_class_balance(n, k, seed):
    y = binary_labels(n, seed=seed)
    folds = make_folds(y, k, seed, "stratified")
    assert_partition(folds, n, k)
    sizes = np.bincount(folds, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    positives = np.bincount(folds[y[:, 0] == 1], minlength=k)
    assert positives.max() - positives.min() <= 1, "each class is spread evenly over folds"


@pytest.mark.parametrize("n,k,seed", CASES)
def test_multilabel_partition_sizes_and_every_label_balanced(n, k, seed):
    y = jigsaw_like_labels(n, seed)
    folds = make_folds(y, k, seed, "auto")  # auto picks multilabel for several columns
    assert np.array_equal(folds, make_folds(y, k, seed, "multilabel"))
    assert_partition(folds, n, k)
    sizes = np.bincount(folds, minlength=k)
    assert sizes.max() - sizes.min() <= 1
    for j in range(y.shape[1]):
        counts = np.bincount(folds[y[:, j] == 1], minlength=k)
        expected = y[:, j].sum() / k
        # iterative stratification keeps each label's positives within a few rows of an
        # even split (a random split is off by about sqrt(expected))
        assert np.abs(counts - expected).max() <= 4, (j, counts, expected)


def test_multilabel_keeps_rare_labels_in_every_fold():
    y = jigsaw_like_labels(600, seed=3)
    y[:, 3] = 0
    y[:10, 3] = 1  # a label with 10 positives: 2 per fold of 5
    folds = make_folds(y, 5, 3, "multilabel")
    assert np.bincount(folds[y[:, 3] == 1], minlength=5).tolist() == [2, 2, 2, 2, 2]


@pytest.mark.parametrize("k,seed", [(2, 0), (3, 1), (5, 2)])
def test_group_folds_never_split_a_group(k, seed):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(150), rng.integers(1, 8, 150))
    y = (rng.random(len(groups)) < 0.4).astype(int)[:, None]
    folds = make_folds(y, k, seed, "group", groups=groups)
    assert_partition(folds, len(groups), k)
    for g in np.unique(groups):
        assert len(np.unique(folds[groups == g])) == 1, f"group {g} straddles folds"


@pytest.mark.parametrize("n,k,seed", CASES)
def test_kfold_partition(n, k, seed):
    folds = make_folds(np.zeros((n, 1)), k, seed, "kfold")
    assert_partition(folds, n, k)
    sizes = np.bincount(folds, minlength=k)
    assert sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("scheme", ["stratified", "multilabel", "kfold"])
def test_folds_depend_on_the_seed_only(scheme):
    y = jigsaw_like_labels(400) if scheme == "multilabel" else binary_labels(400)
    assert np.array_equal(make_folds(y, 5, 1, scheme), make_folds(y, 5, 1, scheme))
    assert not np.array_equal(make_folds(y, 5, 1, scheme), make_folds(y, 5, 2, scheme))


def test_fold_errors_state_the_constraint():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0])[:, None]
    with pytest.raises(KaggleKitError, match="rarest class"):
        make_folds(y, 3, 0, "stratified")
    with pytest.raises(KaggleKitError, match="at least 2"):
        make_folds(y, 1, 0, "stratified")
    with pytest.raises(KaggleKitError, match="group column"):
        make_folds(y, 2, 0, "group")
    with pytest.raises(KaggleKitError, match="unknown --cv scheme"):
        make_folds(y, 2, 0, "random")


def test_predefined_folds_train_only_rows_are_never_validated():
    folds = np.array([-1, -1, -1, 0, 0])
    splits = list(fold_indices(folds))
    assert len(splits) == 1
    k, train_idx, valid_idx = splits[0]
    assert k == 0 and valid_idx.tolist() == [3, 4] and train_idx.tolist() == [0, 1, 2]


# --- competition_folds: the scheme a competition gets --------------------------------


def _frame(n=120, groups=True, multilabel=False):
    import pandas as pd

    rng = np.random.default_rng(0)
    y = jigsaw_like_labels(n) if multilabel else binary_labels(n, rate=0.4)
    extra = pd.DataFrame(
        {"movie": rng.integers(0, 30, n).astype(str)} if groups else {"x": [1] * n}
    )
    text = np.array([f"t{i}" for i in range(n)], dtype=object)  # distinct: no duplicate groups
    return TextFrame(ids=np.arange(n), text=text, y=y, extra=extra)


def _comp(group_column=None, task="binary", targets=("y",)):
    from kagglekit.competition import Competition

    return Competition(
        name="c",
        title="c",
        task=task,
        id_column="id",
        text_columns=("t",),
        target_columns=targets,
        metric="auc",
        group_column=group_column,
    )


def test_auto_uses_the_declared_group_column():
    frame = _frame()
    folds, scheme = competition_folds(_comp("movie"), frame, 4, 0, "auto")
    assert scheme == "group"
    movies = frame.extra["movie"].to_numpy()
    assert all(len(set(folds[movies == m])) == 1 for m in set(movies))


def test_auto_stratifies_when_the_group_column_is_absent_and_group_refuses():
    frame = _frame(groups=False)
    assert competition_folds(_comp("movie"), frame, 4, 0, "auto")[1] == "stratified"
    with pytest.raises(KaggleKitError, match="no group column 'movie'"):
        competition_folds(_comp("movie"), frame, 4, 0, "group")
    with pytest.raises(KaggleKitError, match="declares no group column"):
        competition_folds(_comp(None), _frame(), 4, 0, "group")


def test_auto_is_multilabel_for_several_targets():
    frame = _frame(groups=False, multilabel=True)
    comp = _comp(task="multilabel", targets=tuple("abcdef"))
    assert competition_folds(comp, frame, 5, 0, "auto")[1] == "multilabel"


# --- exact duplicates share a fold; schemes are plugins ---------------------------------


@pytest.mark.parametrize("scheme", ["stratified", "multilabel", "kfold"])
def test_identical_texts_always_share_a_fold(scheme):
    rng = np.random.default_rng(3)
    n = 400
    y = jigsaw_like_labels(n) if scheme == "multilabel" else binary_labels(n)
    texts = np.array([f"text {i}" for i in rng.integers(0, 150, n)], dtype=object)  # many dups
    together = find_duplicates(texts).codes
    folds = make_folds(y, 5, 0, scheme, together=together)
    assert set(np.unique(folds)) == set(range(5))
    for t in np.unique(texts):
        assert len(set(folds[texts == t])) == 1, t
    # without the grouping the same texts straddle folds (the leak this prevents)
    loose = make_folds(y, 5, 0, scheme)
    assert any(len(set(loose[texts == t])) > 1 for t in np.unique(texts))


def test_duplicates_merge_with_the_competition_groups():
    n = 120
    movies = np.array([f"m{i // 4}" for i in range(n)], dtype=object)  # 30 movies of 4 rows
    texts = np.array([f"t{i}" for i in range(n)], dtype=object)
    texts[4::8] = texts[3::8]  # one text shared by movie 2k and 2k+1: 15 linked groups
    folds = make_folds(
        binary_labels(n, rate=0.4),
        3,
        0,
        "group",
        groups=movies,
        together=find_duplicates(texts).codes,
    )
    for key in (movies, texts):
        assert all(len(set(folds[key == v])) == 1 for v in np.unique(key))


def test_find_duplicates_counts_groups_rows_and_conflicts():
    texts = np.array(["a", "b", "a", "c", "b", "a", "d"], dtype=object)
    y = np.array([1, 0, 1, 0, 1, 1, 0])[:, None]
    dup = find_duplicates(texts, y)
    assert (dup.groups, dup.rows, dup.conflicting) == (2, 5, 1)  # "b" has labels 0 and 1


def test_no_duplicates_leaves_the_folds_unchanged():
    y = binary_labels(300)
    texts = np.array([f"t{i}" for i in range(300)], dtype=object)
    assert np.array_equal(
        make_folds(y, 5, 7, "stratified", together=find_duplicates(texts).codes),
        make_folds(y, 5, 7, "stratified"),
    )


def test_a_plugin_registers_a_fold_scheme():
    from kagglekit import plugins
    from kagglekit.folds import FoldScheme

    class EvenOdd(FoldScheme):
        def split(self, y, groups=None):
            idx = np.arange(len(y))
            for k in range(self.n_splits):
                yield idx[idx % self.n_splits != k], idx[idx % self.n_splits == k]

    class Plugin:
        @hookimpl
        def register_fold_schemes(register):
            register("modulo", EvenOdd)

    plugins.register_plugin(Plugin, name="modulo-plugin")
    try:
        folds = make_folds(binary_labels(20), 2, 0, "modulo")
        assert folds.tolist() == [0, 1] * 10
        assert plugins.fold_schemes().owner("modulo") == "modulo-plugin"
        assert "modulo" in {n for row in plugins.plugin_listing() for n in row["fold_schemes"]}
    finally:
        plugins.unregister_plugin("modulo-plugin")


def test_a_fold_scheme_name_collision_names_both_plugins():
    from kagglekit import plugins
    from kagglekit.errors import PluginError
    from kagglekit.folds import KFold

    class Plugin:
        @hookimpl
        def register_fold_schemes(register):
            register("kfold", KFold)

    plugins.register_plugin(Plugin, name="clash")
    try:
        with pytest.raises(
            PluginError, match="'kfold' is registered by both plugin 'folds' and plugin 'clash'"
        ):
            plugins.fold_schemes()
    finally:
        plugins.unregister_plugin("clash")
