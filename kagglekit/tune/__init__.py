"""``kagglekit tune``: hyperparameter search on Optuna over ordinary CV runs, pruned per
fold, resumable and parallel through Optuna's RDB storage, and honest about selection (an
untouched holdout scores the chosen configuration).

    space.py    search spaces: declared by each model beside its Params, overridable in TOML
    holdout.py  the rows no trial ever sees
    study.py    storage, pruners, the objective (one trial = one run_cv), dead-trial recovery
    run.py      run_tune: holdout, search, the best configuration scored on the holdout,
                best.toml and study.json

Only the space's names are imported here (model plugins declare their spaces with them);
``from kagglekit.tune.run import run_tune`` for the search.
"""

from kagglekit.tune.space import Choice, Fixed, Float, Int, model_space

__all__ = ["Choice", "Fixed", "Float", "Int", "model_space"]
