"""``kagglekit auto``'s tuning: the best one or two families' pruned Optuna studies
(``tune.run_tune``), each in its share of the budget left."""

from __future__ import annotations

import time

from kagglekit.auto.budget import duration
from kagglekit.auto.screening import figure
from kagglekit.errors import KaggleKitError


def tune(session, ctx, built, cv_runs: dict) -> list:
    """Tune the best one or two families (their best model each), in the budget left."""
    from kagglekit.tune.run import TuneOptions, run_tune
    from kagglekit.tune.space import Fixed, model_space

    previous = session.step("tune")
    if previous is not None:
        return previous
    try:
        from kagglekit.tune.study import require_optuna

        require_optuna()
    except KaggleKitError as exc:
        session.say(f"nothing tuned: {exc}")
        session.done("tune", [])
        return []
    greater = greater_is_better(ctx.comp)
    ranked = sorted(
        (m for m in cv_runs if cv_runs[m]["cv"] is not None),
        key=lambda m: -cv_runs[m]["cv"] if greater else cv_runs[m]["cv"],
    )
    families, chosen = set(), []
    for model in ranked:
        family = built[model][3].family
        if family not in families and model_space(model, built[model][1]):
            families.add(family)
            chosen.append(model)
    chosen = chosen[: ctx.options.tune_families]
    out = list(session.step("tune_partial") or [])  # families an earlier attempt finished
    for i, model in enumerate(chosen):
        if any(t["model"] == model for t in out):
            continue
        name, cls, params, cand = built[model]
        trial = trial_seconds(ctx, cls, cv_runs[model])
        share = (session.budget.left() - ctx.options.reserve_share * session.budget.total) / (
            len(chosen) - i
        )
        if share < 2.5 * trial:
            out.append(
                {
                    "model": model,
                    "skipped": (
                        f"a trial takes about {duration(trial)}; {duration(max(0, share))} of the "
                        f"budget is left for tuning it"
                    ),
                }
            )
            session.say(f"{model}: not tuned, {out[-1]['skipped']}")
            continue
        from kagglekit.params import parse_assignments

        fixed = {k: getattr(params, k) for k in parse_assignments(cand.assignments)}
        space = {k: d for k, d in model_space(model, cls).items() if k not in fixed}
        for key, dim in list(space.items()):
            if isinstance(dim, Fixed):
                fixed[key] = space.pop(key).value
        study = f"{session.record['name']}-{model}"
        session.say(f"{model}: tuning for about {duration(share)} (study {study})")
        t0 = time.monotonic()
        try:
            result = run_tune(
                ctx.comp,
                model,
                cls,
                fixed,
                space,
                ctx.data,
                ctx.folder,
                TuneOptions(
                    n_trials=ctx.options.max_trials,
                    timeout=max(1.0, share - trial),
                    study=study,
                    n_folds=ctx.options.n_folds,
                    seed=ctx.options.seed,
                    scheme=ctx.plan.scheme,
                    holdout=None,  # auto's own holdout is kept out of ctx.data already
                    pruner="median",
                    startup_trials=3,
                ),
                on_trial=ctx.on_trial,
                on_note=lambda message: None,
                on_event=None,  # a line per trial (on_trial), not per fold
                executor=ctx.executor,
            )
        except KaggleKitError as exc:
            out.append({"model": model, "study": study, "skipped": f"tuning failed: {exc}"})
            session.say(f"{model}: {out[-1]['skipped']}")
            continue
        out.append(
            {
                "model": model,
                "study": study,
                "trials": result.trials,
                "best": result.best,
                "seconds": round(time.monotonic() - t0, 3),
            }
        )
        session.say(
            f"{model}: {result.trials['complete']} trials complete, "
            f"{result.trials['pruned']} pruned; best CV {figure(result.best.get('value'))}"
        )
        session.record["steps"]["tune_partial"] = out
        session.save()
    session.record["steps"].pop("tune_partial", None)
    session.done("tune", out)
    return out


def trial_seconds(ctx, cls, cv_run: dict) -> float:
    """What one trial (a CV run of the model) should take: its CV run's jobs' own seconds
    spread over the jobs run at once, and never less than the CV step's wall time (which
    is about 0 when the run was found done)."""
    from kagglekit.auto.screening import parallel_jobs

    n_jobs = len(ctx.seeds) * ctx.options.n_folds
    spread = float(cv_run.get("run_seconds") or 0.0) / parallel_jobs(ctx, cls, n_jobs)
    return max(spread, float(cv_run.get("seconds") or 0.0), 1.0)


def greater_is_better(comp) -> bool:
    from kagglekit.metrics import get_metric

    return bool(get_metric(comp.metric).greater_is_better)
