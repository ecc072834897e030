"""The fit recipe built from a CV run's fold records, and the early-stopping rows: pure
functions of kagglekit.keras (no Keras needed)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from kagglekit.keras import recipe_from_fold_infos
from kagglekit.keras.stopping import holdout_split


def info(best, lrs):
    return {
        "best_epoch": best,
        "epochs_run": len(lrs),
        "history": [{"epoch": i + 1, "loss": 0.5, "lr": lr} for i, lr in enumerate(lrs)],
    }


def test_recipe_takes_the_median_best_epoch_and_averages_the_rates():
    folds = [
        info(2, [1e-3, 1e-3, 5e-4, 5e-4]),
        info(3, [1e-3, 5e-4, 5e-4, 2.5e-4]),
        info(4, [1e-3, 1e-3, 1e-3, 5e-4, 2.5e-4]),
    ]
    recipe = recipe_from_fold_infos(folds)
    assert recipe["epochs"] == 3
    np.testing.assert_allclose(recipe["learning_rates"], [1e-3, 2.5e-3 / 3, 2e-3 / 3])


def test_recipe_rounds_half_up_and_uses_only_folds_that_ran_an_epoch():
    recipe = recipe_from_fold_infos([info(1, [0.1]), info(2, [0.1, 0.05])])
    assert recipe == {"epochs": 2, "learning_rates": [0.1, 0.05]}  # median 1.5 -> 2
    assert recipe_from_fold_infos([info(3, [0.1, 0.2, 0.3])])["learning_rates"] == [0.1, 0.2, 0.3]


def test_recipe_refuses_records_without_a_best_epoch():
    with pytest.raises(ValueError, match="no fold has a fit_info"):
        recipe_from_fold_infos([])
    with pytest.raises(ValueError, match="fold 1's fit_info has no best_epoch"):
        recipe_from_fold_infos([info(2, [0.1, 0.1]), {"history": []}])


def test_holdout_split_is_stratified_and_disjoint():
    y = np.r_[np.zeros(80), np.ones(20)][:, None]
    fit_idx, stop_idx = holdout_split(y, 0.2, seed=0)
    assert len(stop_idx) == 20 and set(fit_idx).isdisjoint(stop_idx)
    assert len(fit_idx) + len(stop_idx) == 100 and y[stop_idx].sum() == 4
    again, _ = holdout_split(y, 0.2, seed=0)
    other, _ = holdout_split(y, 0.2, seed=1)
    assert np.array_equal(fit_idx, again) and not np.array_equal(fit_idx, other)


def test_pure_modules_do_not_import_keras():
    code = (
        "import sys, kagglekit.keras, kagglekit.keras.ragged, kagglekit.keras.batching, "
        "kagglekit.keras.stopping, kagglekit.text.tokenizer, kagglekit.text.embeddings\n"
        "bad = [m for m in ('tensorflow', 'keras', 'jax') if m in sys.modules]\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_keras_family_offers_the_recipe_to_the_fit_loop():
    from kagglekit import plugins

    folds = [info(2, [0.01, 0.01, 0.005]), info(2, [0.01, 0.005, 0.005])]
    for name in ("dense", "bigru", "transformer", "distilbert", "use", "sentence-encoder"):
        assert plugins.get_model(name).recipe_from_cv(folds) == {
            "epochs": 2,
            "learning_rates": [0.01, 0.0075],
        }
