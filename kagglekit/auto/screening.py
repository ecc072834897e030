"""``kagglekit auto``'s screening: every model's fold 1 under a time limit, the models
clearly behind or too slow dropped with the reason, then the kept models' full CV runs."""

from __future__ import annotations

import time

import numpy as np

from kagglekit.auto.budget import duration
from kagglekit.errors import KaggleKitError


class _FirstFoldDone(Exception):
    """Raised from run_cv's on_scored: fold 1 is done and kept in the job store."""

    def __init__(self, value: float):
        super().__init__(value)
        self.value = value


def screen(session, ctx, built) -> dict:
    """Fold 1 of every model; the kept and the dropped, each with its reason."""
    from kagglekit import deadline
    from kagglekit.cv import progress_metric
    from kagglekit.executors.base import InProcess

    metric = progress_metric(ctx.comp)
    out: dict = {}
    n_jobs = len(ctx.seeds) * len(
        np.unique(np.asarray(ctx.plan.folds)[np.asarray(ctx.plan.folds) >= 0])
    )
    partial = dict(session.step("screening_partial") or {})  # an earlier attempt's
    for model, (name, cls, params, _cand) in built.items():
        if model in partial:
            out[model] = partial[model]
            continue
        limit = min(
            ctx.options.first_fold_share * session.budget.total,
            session.budget.left() - ctx.options.reserve_share * session.budget.total,
        )
        if limit <= 0:
            out[model] = _dropped(f"no budget left for its fold 1 ({session.budget.label()})")
            session.say(f"{model}: dropped, {out[model]['why']}")
            continue
        session.say(f"{model}: fold 1 (at most {duration(limit)})")
        t0 = time.monotonic()
        timed = _JobSeconds(ctx.on_event)

        def first(job, value):
            raise _FirstFoldDone(value)

        try:
            with deadline.deadline(limit, f"fold 1 of {model}"):
                cv_run(ctx, (name, cls, params), InProcess(), timed, on_scored=first)
        except _FirstFoldDone as done:
            # the job's own time (kept in its record when an earlier attempt computed it)
            seconds = timed.seconds[0] if timed.seconds else time.monotonic() - t0
            out[model] = {
                "status": "kept",
                "fold1": float(done.value),
                "metric": metric.name,
                "seconds": round(seconds, 3),
                "jobs": n_jobs,
                "why": "",
            }
            session.say(f"{model}: fold 1 {metric.name} {done.value:.4f} in {duration(seconds)}")
        except deadline.OutOfTime:
            out[model] = _dropped(
                f"fold 1 alone took more than its {duration(limit)} "
                f"({ctx.options.first_fold_share:.0%} of the budget)",
                seconds=time.monotonic() - t0,
            )
            session.say(f"{model}: dropped, {out[model]['why']}")
        except KaggleKitError as exc:
            out[model] = _dropped(f"failed in fold 1: {exc}", seconds=time.monotonic() - t0)
            session.say(f"{model}: dropped, {out[model]['why']}")
        else:  # a finished run of the same jobs was found: its first fold is known
            seconds = time.monotonic() - t0
            out[model] = {
                "status": "kept",
                "fold1": None,
                "metric": metric.name,
                "seconds": round(seconds, 3),
                "jobs": n_jobs,
                "why": "",
            }
        session.record["steps"]["screening_partial"] = out
        session.save()
    session.record["steps"].pop("screening_partial", None)
    _drop(session, ctx, out, metric, built)
    return out


def figure(value) -> str:
    """A score as the notes print it ("n/a" when there is none)."""
    return "n/a" if value is None else f"{value:.4f}"


def cv_run(ctx, model, executor, on_event, **more):
    """``run_cv`` of ``model`` ((name, cls, params)) on auto's trial rows and folds."""
    from kagglekit.cv import run_cv

    name, cls, params = model
    return run_cv(
        ctx.comp,
        name,
        cls,
        params,
        ctx.data,
        folds=ctx.plan,
        seed=ctx.seeds[0],
        seeds=ctx.seeds,
        scheme=ctx.plan.scheme,
        runs_dir=ctx.folder,
        executor=executor,
        on_event=on_event,
        keep_jobs=bool(more.get("on_scored")),  # a stopped run keeps its jobs to go on
        **more,
    )


class _JobSeconds:
    """An ``on_event`` that passes events on and keeps each finished (or reused) job's own
    seconds, in order."""

    def __init__(self, on_event):
        self.on_event, self.seconds = on_event, []

    def __call__(self, event) -> None:
        if event.kind in ("done", "reused") and event.job is not None:
            self.seconds.append(event.seconds)
        if self.on_event is not None:
            self.on_event(event)


def _dropped(why: str, seconds: float | None = None) -> dict:
    return {
        "status": "dropped",
        "fold1": None,
        "seconds": None if seconds is None else round(seconds, 3),
        "why": why,
    }


def parallel_jobs(ctx, model_cls, n_left: int) -> int:
    """How many of a model's remaining jobs run at once on ``ctx.executor`` (its
    ``jobs_at_once``: ``--executor auto`` answers with its own choice for these rows)."""
    from types import SimpleNamespace

    from kagglekit.jobs import needs_accelerator

    if ctx.executor is None or n_left < 2:
        return 1
    like = SimpleNamespace(
        train=ctx.data.train, needs_gpu=needs_accelerator(model_cls), model_cls=model_cls
    )
    return ctx.executor.jobs_at_once(like, n_left)


def projected_cv(screened: dict, parallel: int) -> float:
    """Seconds a model's remaining jobs should take, from its fold 1."""
    return float(screened["seconds"]) * max(0, screened["jobs"] - 1) / max(1, parallel)


def _drop(session, ctx, out: dict, metric, built=None) -> None:
    """Drop the models whose other folds do not fit what is left (the best first), then
    those clearly behind the best model that fits.

    A model whose fold 1 projects too long gets one more job measured, in this process,
    before it is dropped: its fold 1 may have paid once for what later folds reuse (a
    frozen encoder embeds every text once per process). When that later job projects to
    fit, the model is kept and its remaining folds run in this process too."""
    from kagglekit import plugins

    def rank(m):
        value = out[m]["fold1"]
        if value is None:
            return 0.0
        return -value if metric.greater_is_better else value

    order = sorted((m for m, s in out.items() if s["status"] == "kept"), key=rank)
    reserve = ctx.options.reserve_share * session.budget.total
    committed = 0.0  # projected seconds of the models kept so far

    def room() -> float:
        return session.budget.left() - reserve - committed

    for model in order:
        s = out[model]
        need = projected_cv(s, parallel_jobs(ctx, plugins.get_model(model), s["jobs"] - 1))
        s["projected_seconds"] = round(need, 3)
        if need > room() and built is not None and s["jobs"] > 2 and s["fold1"] is not None:
            later = _later_job(session, ctx, built[model], model, min(room(), s["seconds"]))
            if later is not None:
                s["later_job_seconds"] = round(later, 3)
                need = later * (s["jobs"] - 2)
                s["projected_seconds"] = round(need, 3)
                if need <= room():
                    s["in_process"] = True
                    session.say(
                        f"{model}: a later fold took {duration(later)} (fold 1 paid for "
                        f"what the others reuse): its other folds fit, in this process"
                    )
        if need > room():
            s.update(
                status="dropped",
                why=f"its other folds would take about {duration(need)}; "
                f"{duration(max(0.0, room()))} of the budget is left for CV",
            )
            session.say(f"{model}: dropped, {s['why']}")
        else:
            committed += need
    fits = {m: s for m, s in out.items() if s["status"] == "kept" and s["fold1"] is not None}
    if not fits:
        return
    pick = max if metric.greater_is_better else min
    best_model = pick(fits, key=lambda m: fits[m]["fold1"])
    best = fits[best_model]["fold1"]
    for model, s in fits.items():
        gap = (best - s["fold1"]) if metric.greater_is_better else (s["fold1"] - best)
        if gap > ctx.options.drop_margin * max(abs(best), 1e-12):
            s.update(
                status="dropped",
                why=f"clearly behind: fold 1 {metric.name} {s['fold1']:.4f} vs "
                f"{best_model}'s {best:.4f} (more than {ctx.options.drop_margin:.0%} behind)",
            )
            session.say(f"{model}: dropped, {s['why']}")


def _later_job(session, ctx, built_model, model: str, limit: float) -> float | None:
    """Seconds of the model's next job after fold 1 (in this process, within ``limit``), or
    None when it did not finish within the limit."""
    from kagglekit import deadline
    from kagglekit.executors.base import InProcess

    if limit <= 0:
        return None
    name, cls, params, _cand = built_model
    timed = _JobSeconds(ctx.on_event)

    def second(job, value):
        if len(timed.seconds) >= 2:  # the first is fold 1, found done in the job store
            raise _FirstFoldDone(value)

    session.say(f"{model}: one more fold, to see what later folds cost (at most {duration(limit)})")
    try:
        with deadline.deadline(limit, f"a later fold of {model}"):
            cv_run(ctx, (name, cls, params), InProcess(), timed, on_scored=second)
    except _FirstFoldDone:
        return timed.seconds[1]  # its own time, also when an earlier attempt computed it
    except (deadline.OutOfTime, KaggleKitError):
        return None
    return None


def complete(session, ctx, built, kept: list[str], screened: dict | None = None) -> dict:
    """The kept models' full CV runs: model -> {run_id, cv, seconds}."""
    from kagglekit.executors.base import InProcess
    from kagglekit.metrics import ranking_score

    screened = screened or {}
    done = dict(session.step("cv") or {})
    for model in kept:
        if (
            model in done
            and (ctx.folder.run_dir(ctx.comp.slug, done[model]["run_id"]) / "run.json").is_file()
        ):
            continue
        name, cls, params, cand = built[model]
        t0 = time.monotonic()
        session.say(f"{model}: the other folds")
        # a model whose later folds reuse what fold 1 computed here stays in this process
        in_process = screened.get(model, {}).get("in_process")
        run = cv_run(
            ctx, (name, cls, params), InProcess() if in_process else ctx.executor, ctx.on_event
        )
        cv = ranking_score(run.info, ctx.comp.metric)
        done[model] = {
            "run_id": run.id,
            "cv": cv,
            "seconds": round(time.monotonic() - t0, 3),
            "run_seconds": run.info.get("seconds"),
        }
        session.say(f"{model}: CV {ctx.comp.metric} {figure(cv)} (run {run.id})")
        session.done("cv", done)
    if "cv" not in session.record["steps"]:
        session.done("cv", done)
    return done
