"""``run_auto``: a Kaggler's first day on a competition, within a time budget.

    holdout set aside (tune.holdout: one fold of a round(1/share)-fold plan)
    -> plan: the portfolio for this machine (portfolio.py), said with its reasons
    -> screening: every model's fold 1 (in-process, under a time limit); models clearly
       behind the best, or whose projected time does not fit, are dropped, with the reason
    -> the kept models' remaining folds: ordinary CV runs (resumed from their job stores)
    -> the best one or two families tuned (tune.run_tune: pruned Optuna studies)
    -> a hill-climbing blend of the best runs, its threshold chosen on its OOF
    -> the holdout figure: the blend (and each member) predict the untouched rows once
    -> the submission: the blend's test predictions (its members' fold models), validated

Nothing it chooses sees the holdout: every run, trial and blend is made on the other rows
(their run.json's ``row_subset``). The session's record (``RunsFolder.auto_record``) is
written after every step, so the same command after a crash, kill -9 or Ctrl-C goes on
from the completed steps, runs, jobs and trials, and with the budget that is left.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kagglekit.auto import finish, screening, tuning
from kagglekit.auto.budget import Budget, duration
from kagglekit.auto.portfolio import Candidate, choose, find_environment
from kagglekit.errors import KaggleKitError

AUTO_FORMAT = 1
HOLDOUT_WHY = "kagglekit auto holds these rows out of everything it trains and chooses on"


@dataclass
class AutoOptions:
    budget: float  # seconds for the whole command, fit and submission included
    models: list[str] | None = None  # None: the portfolio for this machine
    n_seeds: int = 1
    seed: int = 42
    n_folds: int = 5
    scheme: str = "auto"
    holdout: float = 0.15
    drop_margin: float = 0.02  # fold 1 behind the best by more than this share: dropped
    first_fold_share: float = 0.25  # a model's fold 1 may use at most this share of the budget
    reserve_share: float = 0.08  # kept back for the blend, the holdout and the submission
    tune_families: int = 2
    max_trials: int = 200
    top: int = 8  # blend members at most
    submissions_dir: Path = Path("submissions")
    started: float | None = None  # time.monotonic() when the command started (its clock)


@dataclass
class AutoResult:
    name: str
    record: dict
    path: Path  # auto.json
    final_run: object  # the chosen Run (a blend, or the one run left): the holdout figure's
    submission: Path | None
    seconds: float
    submitted_run: object = None  # the Run the submission came from (final_run, or its refit)

    def payload(self) -> dict:
        return {**self.record, "record": str(self.path), "seconds": self.seconds}


@dataclass
class _Session:
    """The record on disk and the budget; every step saves it."""

    path: Path
    record: dict
    budget: Budget
    note: Callable[[str], None]
    attempt_started: float = field(default_factory=time.monotonic)

    def say(self, message: str) -> None:
        self.note(f"[auto {self.budget.label()}] {message}")

    def save(self) -> None:
        from kagglekit.store.atomic import write_json

        self.record["spent_seconds"] = round(self.budget.spent(), 3)
        write_json(self.path, self.record)

    def step(self, key: str):
        return self.record["steps"].get(key)

    def done(self, key: str, value) -> None:
        self.record["steps"][key] = value
        self.save()


def session_name(comp, data, candidates: list[Candidate], options: AutoOptions) -> str:
    """Named after what it runs on, so that the same command continues the same session
    (the budget is not part of it: a larger --budget goes on with the same work)."""
    from kagglekit.jobs import data_fingerprint

    key = json.dumps(
        {
            "competition": comp.slug,
            "data": data_fingerprint(data),
            "candidates": [c.record() for c in candidates],
            "folds": options.n_folds,
            "seed": options.seed,
            "seeds": options.n_seeds,
            "scheme": options.scheme,
            "holdout": options.holdout,
        },
        sort_keys=True,
    )
    return f"auto-{comp.slug[:24]}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def run_auto(
    comp,
    data,
    folder,
    options: AutoOptions,
    *,
    executor=None,
    on_note: Callable[[str], None] | None = None,
    on_event: Callable | None = None,
    on_trial: Callable | None = None,
) -> AutoResult:
    from kagglekit.folds import dataset_folds
    from kagglekit.tune.holdout import split_holdout

    started = time.perf_counter()
    env = find_environment(data.directory)
    candidates, left_out = choose(env, options.models)
    if not candidates:
        raise KaggleKitError(
            "kagglekit auto has no model to run here: " + "; ".join(left_out or ["none given"])
        )
    name = session_name(comp, data, candidates, options)
    path = folder.auto_record(name)
    record = _load_record(path, name) or {
        "format": AUTO_FORMAT,
        "kind": "auto",
        "name": name,
        "competition": comp.slug,
        "metric": comp.metric,
        "environment": env.record(),
        "candidates": [c.record() for c in candidates],
        "left_out": left_out,
        "options": {
            "folds": options.n_folds,
            "seed": options.seed,
            "seeds": options.n_seeds,
            "scheme": options.scheme,
            "holdout": options.holdout,
            "drop_margin": options.drop_margin,
        },
        "attempts": 0,
        "spent_seconds": 0.0,
        "steps": {},
    }
    record["budget_seconds"] = float(options.budget)
    record["attempts"] = int(record.get("attempts", 0)) + 1
    budget = Budget(float(options.budget), float(record.get("spent_seconds") or 0.0))
    if options.started is not None:  # data loading before run_auto counts too
        budget.started = min(budget.started, options.started)
    session = _Session(path, record, budget, on_note or (lambda message: None))
    path.parent.mkdir(parents=True, exist_ok=True)
    session.save()

    if record["attempts"] > 1:
        done = ", ".join(record["steps"]) or "nothing yet"
        session.say(
            f"resuming session {name} (attempt {record['attempts']}; done: {done}); "
            f"{duration(budget.spent_before)} of the budget spent before"
        )
    _say_plan(session, comp, candidates, left_out, env, options)

    trials_data, holdout_frame, holdout = split_holdout(
        data,
        options.holdout,
        options.seed,
        options.scheme,
        note="auto: a holdout share of the training rows is kept out (never trained on or "
        "chosen on)",
        why=HOLDOUT_WHY,
    )
    record["holdout"] = holdout.record(len(data.train))
    session.say(
        f"holdout: {len(holdout.rows):,} of {len(data.train):,} rows set aside; nothing "
        f"auto trains or chooses on sees them"
    )
    plan = dataset_folds(trials_data, options.n_folds, options.seed, options.scheme)
    seeds = [options.seed + i for i in range(max(1, options.n_seeds))]
    built = _build(candidates, folder, session)
    ctx = _Context(
        comp,
        trials_data,
        plan,
        seeds,
        folder,
        executor,
        _saving(session, on_event),
        _saving(session, on_trial),
        options,
    )

    screened = session.step("screening") or screening.screen(session, ctx, built)
    if session.step("screening") is None:
        session.done("screening", screened)
    kept = [m for m, s in screened.items() if s["status"] == "kept"]
    cv_runs = screening.complete(session, ctx, built, kept, screened)
    tuned = tuning.tune(session, ctx, built, cv_runs)
    final = finish.blend(session, ctx, cv_runs, tuned)
    finish.score_holdout(session, ctx, final, cv_runs, holdout_frame)
    submitted = finish.refit(session, ctx, final, data)
    submission = finish.submit(session, ctx, submitted, options)
    seconds = round(time.perf_counter() - started, 3)
    record["seconds_this_attempt"] = seconds
    record["finished"] = True
    session.save()
    return AutoResult(name, record, path, final, submission, seconds, submitted)


@dataclass
class _Context:
    comp: object
    data: object  # the trial rows
    plan: object  # their folds, shared by every run
    seeds: list[int]
    folder: object
    executor: object
    on_event: Callable | None
    on_trial: Callable | None
    options: AutoOptions


def _saving(session: _Session, callback: Callable | None, every: float = 5.0) -> Callable:
    """``callback``, and the budget spent saved in the record at most every ``every``
    seconds, so that a kill -9 in the middle of a step loses little of it."""
    last = [time.monotonic()]

    def call(event) -> None:
        if callback is not None:
            callback(event)
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            session.save()

    return call


def _load_record(path: Path, name: str) -> dict | None:
    from kagglekit.store.atomic import read_json

    if not path.is_file():
        return None
    record = read_json(path)
    if not isinstance(record, dict) or record.get("kind") != "auto":
        raise KaggleKitError(f"{path}: not a kagglekit auto record; remove it to start afresh")
    if int(record.get("format", 0)) > AUTO_FORMAT:
        raise KaggleKitError(
            f"{path} was written by a newer kagglekit (format {record['format']}); upgrade"
        )
    return record


def _say_plan(session, comp, candidates, left_out, env, options) -> None:
    where = (
        f"{env.accelerator.upper()}"
        if env.accelerator != "cpu"
        else f"CPU ({env.cores} core{'s' if env.cores != 1 else ''})"
    )
    session.say(
        f"plan for {comp.slug} on {where}, budget {duration(options.budget)}: fold 1 of "
        f"each model, drop the ones clearly behind or too slow, finish the rest, tune the "
        f"best family, blend by hill climbing, score the holdout once, submit"
    )
    for cand in candidates:
        session.say(f"  {cand.label}: {cand.why}")
    for why in left_out:
        session.say(f"  {why}")


def _build(candidates, folder, session) -> dict:
    """model -> (name, cls, Params), each checked; a model that cannot run is left out."""
    from kagglekit.params import resolve_models

    built = {}
    for cand in candidates:
        try:
            ((name, cls, params),) = resolve_models([cand.model], cand.assignments, {}, folder)
        except KaggleKitError as exc:
            session.say(f"{cand.model} left out: {exc}")
            continue
        built[name] = (name, cls, params, cand)
    return built
