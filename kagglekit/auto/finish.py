"""``kagglekit auto``'s end: the blend of the best runs, the holdout figure, the refit (or
reuse of the fold models, by measured cost) and the validated submission."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from kagglekit.auto.budget import duration
from kagglekit.auto.screening import figure
from kagglekit.auto.tuning import greater_is_better
from kagglekit.errors import KaggleKitError


def blend(session, ctx, cv_runs: dict, tuned: list):
    """A hill-climbing blend of the best runs (or the one run when only one is left)."""
    from kagglekit.blend.candidates import top_candidates
    from kagglekit.blend.create import create_blend, finished_blend
    from kagglekit.store.run import Run

    folder = ctx.folder
    slug = ctx.comp.slug
    step = session.step("blend")
    if step is not None:
        return Run(folder.run_dir(slug, step["run_id"]))
    from kagglekit.store.ranking import ranked

    def existing(ids) -> list:
        paths = [folder.run_dir(slug, i) for i in dict.fromkeys(ids)]
        return [Run(p) for p in paths if (p / "run.json").is_file()]

    # every model's own CV run, then the best tuned trials: the blend keeps its variety
    own = existing(c["run_id"] for c in cv_runs.values())
    trial_ids: list[str] = []
    for t in tuned:
        if "study" in t and "skipped" not in t:
            from kagglekit.tune.run import read_study

            try:
                trial_ids += read_study(folder, t["study"]).get("runs", [])
            except KaggleKitError:
                pass
    trials = [
        r for r in ranked(existing(trial_ids), ctx.comp.metric) if r.id not in {o.id for o in own}
    ]
    runs = own + trials[: max(0, ctx.options.top - len(own))]
    if not runs:
        raise KaggleKitError(
            "kagglekit auto finished no model within the budget; give a larger --budget"
        )
    t0 = time.monotonic()
    if len(runs) == 1:
        final, how = runs[0], "one run left: no blend"
        members = [final.id]
    else:
        try:
            members_runs, _ = top_candidates(runs, ctx.comp.metric, len(runs))
        except KaggleKitError:
            members_runs = []
        if len(members_runs) < 2:
            final, how = ranked(runs, ctx.comp.metric)[0], "no two runs to blend: the best run"
            members = [final.id]
        else:
            final = finished_blend(members_runs, "hill-climb", folder) or create_blend(
                members_runs, "hill-climb", folder
            )
            how = (
                f"hill-climbing blend of {len(own)} model(s)' runs and "
                f"{len(members_runs) - len(own)} tuned trial(s)"
            )
            members = [r.id for r in members_runs]
    from kagglekit.metrics import ranking_score

    cv = ranking_score(final.info, ctx.comp.metric)
    session.say(f"{how}: CV {ctx.comp.metric} {figure(cv)} (run {final.id})")
    session.done(
        "blend",
        {
            "run_id": final.id,
            "how": how,
            "members": members,
            "weights": final.info.get("weights"),
            "cv": cv,
            "candidates": len(own) + len(trials),
            "seconds": round(time.monotonic() - t0, 3),
        },
    )
    return final


def score_holdout(session, ctx, final, cv_runs: dict, holdout_frame) -> dict:
    """The blend and each member scored once on the untouched rows."""
    from kagglekit.predict import predict_with_run
    from kagglekit.store.run import Run
    from kagglekit.tune.holdout import unlabelled

    step = session.step("holdout")
    if step is not None:
        return step
    t0 = time.monotonic()
    frame = unlabelled(holdout_frame)
    y = holdout_frame.y
    cache: dict = {}

    def member(run, rows):
        if run.id not in cache:
            cache[run.id] = predict_with_run(run, rows)
        return cache[run.id]

    if final.kind == "blend":
        from kagglekit.blend.predicting import predict_blend

        pred = predict_blend(final, frame, member)
    else:
        pred = member(final, frame)
    members: dict[str, dict] = {}
    out: dict = {
        "rows": int(len(holdout_frame)),
        "final": _scored(ctx.comp, y, pred, final),
        "members": members,
    }
    folder, slug = ctx.folder, ctx.comp.slug
    defaults = {c["run_id"]: m for m, c in cv_runs.items()}
    for run_id in [*cache, *defaults]:
        if run_id in members:
            continue
        run = Run(folder.run_dir(slug, run_id))
        values = member(run, frame)
        members[run_id] = {
            "model": run.model,
            "default_params": run_id in defaults,
            **_scored(ctx.comp, y, values, run),
        }
    # the best single default model: the one whose CV was best (chosen without the holdout)
    greater = greater_is_better(ctx.comp)
    best = sorted(
        (c for c in cv_runs.values() if c["cv"] is not None),
        key=lambda c: -c["cv"] if greater else c["cv"],
    )
    if best:
        out["best_default"] = {"run_id": best[0]["run_id"], **members[best[0]["run_id"]]}
    out["seconds"] = round(time.monotonic() - t0, 3)
    metric = ctx.comp.metric
    session.say(
        f"holdout ({out['rows']:,} untouched rows): {metric} {figure(out['final']['value'])} "
        f"(held out); CV {figure(session.record['steps']['blend']['cv'])} (chosen on the CV "
        f"rows)"
    )
    session.done("holdout", out)
    return out


def _scored(comp, y, pred, run) -> dict:
    from kagglekit.metrics import score_all

    scores = score_all(comp, y, np.asarray(pred), run.threshold)
    return {"value": scores.get(comp.metric), "scores": scores, "threshold": run.threshold}


REFIT_MARGIN = 1.5  # a refit is started when 1.5x its projected time fits the budget left


def refit_seconds(run, n_rows: int) -> float:
    """Projected seconds to fit ``run``'s recipe on ``n_rows`` rows, from its folds' measured
    times (fit and predict, every seed), scaled by rows."""
    folds = [f for f in run.info.get("fold_scores") or [] if f.get("seconds") is not None]
    if not folds:
        return float("inf")
    seconds = float(np.mean([f["seconds"] for f in folds]))
    n_train = float(np.mean([f.get("n_train") or n_rows for f in folds])) or 1.0
    return seconds * max(1.0, n_rows / n_train)


def refit(session, ctx, final, data):
    """The run the submission comes from: ``final``'s members refit on every training row
    (the holdout's too: it has given its figure) when 1.5x the measured cost fits the budget
    left, combined as ``final`` combines them; else ``final`` itself (its fold models' mean
    test predictions). Either way the choice and its reason go in the record."""
    from kagglekit import deadline, plugins
    from kagglekit.blend.refit import blend_members, refit_blend
    from kagglekit.cv import run_fit
    from kagglekit.params import build_params
    from kagglekit.store.run import Run

    folder, slug = ctx.folder, ctx.comp.slug
    step = session.step("refit")
    if step is not None:
        if step.get("run_id") and (folder.run_dir(slug, step["run_id"]) / "run.json").is_file():
            return Run(folder.run_dir(slug, step["run_id"]))
        if not step.get("run_id"):
            return final
    if ctx.comp.test_file is None:
        session.done("refit", {"run_id": None, "how": "no test file: nothing to predict"})
        return final
    members = blend_members(final) if final.kind == "blend" else [final]
    n_rows = len(data.train)
    need = sum(refit_seconds(m, n_rows) for m in members)
    reserve = max(1.0, 0.02 * session.budget.total)  # the submission's own write
    left = session.budget.left() - reserve
    reuse = "the fold models' mean test predictions (no refit)"
    if REFIT_MARGIN * need > left:
        why = (
            f"a refit on all {n_rows:,} rows would take about {duration(need)}; "
            f"{duration(max(0.0, left))} of the budget is left"
        )
        session.say(f"no refit: {why}; the submission is {reuse}")
        session.done("refit", {"run_id": None, "how": reuse, "why": why, "projected": need})
        return final
    session.say(
        f"refit: {len(members)} run(s) on all {n_rows:,} training rows (about {duration(need)})"
    )
    t0 = time.monotonic()
    fits = {}
    try:
        with deadline.deadline(left, "the refit"):
            for member in members:
                cls = plugins.get_model(member.model)
                params = build_params(cls.Params, member.info.get("params") or {}, member.model)
                fits[member.id] = run_fit(
                    ctx.comp,
                    member.model,
                    cls,
                    params,
                    data,
                    seed=int(member.info.get("seed", ctx.seeds[0])),
                    seeds=member.info.get("seeds") or [member.info.get("seed", ctx.seeds[0])],
                    runs_dir=folder,
                    threshold=member.threshold,
                    threshold_source=member.id,
                    source=member,
                    executor=ctx.executor,
                    on_event=ctx.on_event,
                )
    except deadline.OutOfTime:
        why = f"the refit ran out of budget after {duration(time.monotonic() - t0)}"
        session.say(f"no refit: {why}; the submission is {reuse}")
        session.done("refit", {"run_id": None, "how": reuse, "why": why, "projected": need})
        return final
    run = refit_blend(final, fits, folder) if final.kind == "blend" else fits[final.id]
    how = (
        f"refit on all {n_rows:,} training rows (holdout included), combined as "
        f"{final.id}; its threshold from the blend's OOF"
        if final.kind == "blend"
        else f"refit on all {n_rows:,} training rows (holdout included); threshold from "
        f"{final.id}'s OOF"
    )
    session.say(f"refit done in {duration(time.monotonic() - t0)} (run {run.id})")
    session.done(
        "refit",
        {
            "run_id": run.id,
            "how": how,
            "fits": {m: f.id for m, f in fits.items()},
            "projected": round(need, 3),
            "seconds": round(time.monotonic() - t0, 3),
        },
    )
    return run


def submit(session, ctx, final, options):
    """The validated submission of ``final`` (the refit, or the fold models' run)."""
    from kagglekit.submission import write_submission

    step = session.step("submission")
    if step is not None and (step["path"] is None or Path(step["path"]).is_file()):
        return None if step["path"] is None else Path(step["path"])
    if ctx.comp.test_file is None:
        session.say(f"{ctx.comp.slug} has no test file: no submission")
        session.done("submission", {"path": None, "how": "none"})
        return None
    t0 = time.monotonic()
    path, _ = write_submission(ctx.comp, final, submissions_dir=options.submissions_dir)
    how = (session.step("refit") or {}).get("how") or (
        "the fold models' mean test predictions (no refit)"
    )
    session.say(f"submission: {path} ({how}), validated against sample_submission.csv")
    session.done(
        "submission",
        {
            "path": str(Path(path).resolve()),
            "run_id": final.id,
            "how": how,
            "seconds": round(time.monotonic() - t0, 3),
        },
    )
    return path
