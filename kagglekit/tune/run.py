"""``run_tune``: set the holdout aside, search, fit the best configuration on the trial rows,
score it once on the holdout, and write ``best.toml`` and the study's record."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kagglekit.errors import KaggleKitError
from kagglekit.tune.holdout import DEFAULT_SHARE, split_holdout
from kagglekit.tune.study import (
    Objective,
    finished,
    load_or_create,
    make_pruner,
    open_storage,
    recover_dead_trials,
    require_optuna,
    shown_url,
)

STUDY_FORMAT = 1


@dataclass
class TuneOptions:
    n_trials: int = 30
    timeout: float | None = None  # seconds: no new trial starts after it
    storage: str | None = None  # SQLAlchemy URL; default: SQLite in the runs folder
    study: str | None = None  # default: named after the model and what the study searches
    n_folds: int = 5
    seed: int = 42
    scheme: str = "auto"
    holdout: float | None = DEFAULT_SHARE  # None: --no-holdout
    pruner: str = "median"
    startup_trials: int = 5  # finished trials before the median pruner stops any
    # trials run on "local" processes (this one and workers - 1 forked ones) or "ray" tasks
    executor: str = "local"
    address: str | None = None  # --executor ray: the cluster [default: a local Ray instance]
    # processes or Ray tasks sharing the study [default: 1 local; Ray: the cluster's CPUs]
    workers: int | None = None


@dataclass
class TuneResult:
    study: str
    storage: str  # as shown (password hidden)
    directory: Path  # best.toml, study.json, holdout/
    metric: str
    direction: str
    best: dict  # number, params, value, run_id
    trials: dict  # complete / pruned / failed / running counts
    holdout: dict | None  # record + scores of the best (and default) configuration
    held_out: bool  # whether the headline figure is held out
    seconds: float
    recovered: list = field(default_factory=list)

    def payload(self) -> dict:
        return {
            "study": self.study,
            "storage": self.storage,
            "directory": str(self.directory),
            "metric": self.metric,
            "direction": self.direction,
            "best": self.best,
            "trials": self.trials,
            "holdout": self.holdout,
            "held_out": self.held_out,
            "seconds": self.seconds,
            "recovered": self.recovered,
        }


def headline_figures(record: dict) -> list[tuple[str, float | None]]:
    """The study's figures as ``kagglekit tune`` prints them and ``report --study`` shows
    them, each labelled: the best trial's CV (optimistic: chosen out of the trials) and the
    holdout scores (held out), or that nothing is held out (``--no-holdout``)."""
    best, n = record["best"], record["trials"]["complete"]
    out: list[tuple[str, float | None]] = [
        (
            f"CV of the best of {n} trials (trial {best['number']}): optimistic, chosen on it",
            best["value"],
        )
    ]
    holdout = record.get("holdout")
    if not holdout:
        out.append(("no holdout (--no-holdout): the CV figure is not held out", None))
        return out
    scored = holdout["best"]
    out.append(
        (
            f"holdout, best configuration ({scored['n_rows']:,} untouched rows): held out",
            scored["value"],
        )
    )
    defaults = holdout.get("defaults")
    if defaults is not None:
        same = " (they were the best)" if defaults["trial"] == scored["trial"] else ""
        out.append((f"holdout, the model's defaults{same}: held out", defaults["value"]))
    return out


def study_name(comp, model_name: str, fixed: dict, space: dict, options: TuneOptions) -> str:
    """Named after what it searches, so that the same command continues the same study."""
    key = json.dumps(
        {
            "competition": comp.slug,
            "model": model_name,
            "fixed": fixed,
            "space": {k: repr(v) for k, v in sorted(space.items())},
            "folds": options.n_folds,
            "seed": options.seed,
            "scheme": options.scheme,
            "holdout": options.holdout,
        },
        sort_keys=True,
        default=str,
    )
    return f"{comp.slug[:24]}-{model_name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def run_tune(
    comp,
    model_name: str,
    model_cls,
    fixed: dict,
    space: dict,
    data,
    folder,
    options: TuneOptions,
    *,
    on_trial: Callable | None = None,
    on_note: Callable[[str], None] | None = None,
    on_event: Callable | None = None,
    executor=None,
) -> TuneResult:
    from kagglekit.folds import dataset_folds
    from kagglekit.metrics import get_metric
    from kagglekit.tune.parallel import check_executor, optimize
    from kagglekit.tune.space import check_space

    optuna = require_optuna()
    check_executor(options)
    started = time.perf_counter()
    note = on_note or (lambda message: None)
    check_space(model_name, model_cls, space, fixed)
    metric = get_metric(comp.metric)
    direction = "maximize" if metric.greater_is_better else "minimize"
    name = options.study or study_name(comp, model_name, fixed, space, options)
    url = options.storage or _default_storage(folder)
    directory = folder.study_dir(name)
    directory.mkdir(parents=True, exist_ok=True)

    holdout = holdout_frame = None
    trials_data = data
    if options.holdout:
        trials_data, holdout_frame, holdout = split_holdout(
            data, options.holdout, options.seed, options.scheme
        )
        note(
            f"holdout: {len(holdout.rows):,} of {len(data.train):,} rows set aside "
            f"({len(holdout.rows) / len(data.train):.1%}); no trial trains or is scored on them"
        )
    else:
        note(
            "no holdout (--no-holdout): the best trial's CV score is optimistic, chosen out "
            "of the trials"
        )
    plan = dataset_folds(trials_data, options.n_folds, options.seed, options.scheme)

    storage = open_storage(url)
    pruner = make_pruner(options.pruner, options.startup_trials)
    study = load_or_create(storage, name, direction, pruner, options.seed)
    recovered = recover_dead_trials(study)
    if recovered:
        note(
            f"study {name}: trial(s) {', '.join(map(str, recovered))} stopped without "
            f"finishing (killed?): their parameters run again, resuming their folds"
        )
    if not study.trials:  # the defaults first: the search then starts from a known point
        defaults = {
            k: getattr(model_cls.Params(), k)
            for k in space
            if k not in fixed and _suggestible(space[k], getattr(model_cls.Params(), k))
        }
        if defaults:
            study.enqueue_trial(defaults, user_attrs={"defaults": True})
    note(
        f"study {name} in {shown_url(url)}: {finished(study)} of {options.n_trials} trials "
        f"finished; optimising {comp.metric} ({direction}, held-out CV)"
    )

    objective = Objective(
        comp,
        model_name,
        model_cls,
        fixed,
        space,
        trials_data,
        plan,
        folder,
        options.seed,
        comp.metric,
        executor=executor,
        on_trial=on_trial,
        on_event=on_event,
    )
    optimize(study, objective, options, url, name)

    study = optuna.load_study(study_name=name, storage=open_storage(url))
    counts = _counts(study)
    try:
        best_trial = study.best_trial
    except ValueError:
        raise KaggleKitError(
            f"study {name}: no trial finished (counts: {counts}); see the errors above"
        ) from None
    best = {
        "number": best_trial.number,
        "params": best_trial.params,
        "value": best_trial.value,
        "run_id": best_trial.user_attrs.get("run_id"),
        "held_out": bool(best_trial.user_attrs.get("held_out", True)),
    }
    scored = None
    if holdout is not None and holdout_frame is not None:  # set together
        from kagglekit.tune.holdout_fit import HoldoutFit

        scored = HoldoutFit(
            comp=comp,
            model_name=model_name,
            model_cls=model_cls,
            fixed=fixed,
            trials_data=trials_data,
            holdout_frame=holdout_frame,
            holdout=holdout,
            folder=folder,
            directory=directory,
            seed=options.seed,
            note=note,
        ).scores(study, best_trial)
    write_best_toml(
        directory / "best.toml",
        model_name,
        {**fixed, **best_trial.params},
        name,
        comp.metric,
        best,
        scored,
        counts,
    )
    result = TuneResult(
        name,
        shown_url(url),
        directory,
        comp.metric,
        direction,
        best,
        counts,
        scored,
        holdout is not None,
        round(time.perf_counter() - started, 3),
        recovered,
    )
    from kagglekit.store.atomic import write_json

    write_json(
        directory / "study.json",
        {
            "format": STUDY_FORMAT,
            "kind": "study",
            "competition": comp.slug,
            "model": model_name,
            "fixed": fixed,
            "space": {k: repr(v) for k, v in space.items()},
            "n_folds": options.n_folds,
            "seed": options.seed,
            "pruner": options.pruner,
            # the complete trials' runs, for `kagglekit blend --top K --study NAME`
            "runs": [
                t.user_attrs["run_id"]
                for t in study.get_trials(deepcopy=False)
                if t.state.name == "COMPLETE" and t.user_attrs.get("run_id")
            ],
            **result.payload(),
        },
    )
    return result


def _suggestible(dim, value) -> bool:
    from kagglekit.tune.space import Choice, Fixed, Float, Int

    if isinstance(dim, Choice):
        return value in dim.choices
    if isinstance(dim, (Float, Int)):
        return isinstance(value, (int, float)) and dim.low <= value <= dim.high
    return not isinstance(dim, Fixed)


def _default_storage(folder) -> str:
    from kagglekit.tune.study import default_storage

    return default_storage(folder)


def _counts(study) -> dict:
    out = {"complete": 0, "pruned": 0, "failed": 0, "running": 0, "waiting": 0}
    for trial in study.get_trials(deepcopy=False):
        key = {
            "COMPLETE": "complete",
            "PRUNED": "pruned",
            "FAIL": "failed",
            "RUNNING": "running",
            "WAITING": "waiting",
        }[trial.state.name]
        out[key] += 1
    return out


def write_best_toml(
    path,
    model_name: str,
    params: dict,
    study: str,
    metric: str,
    best: dict,
    holdout: dict | None,
    counts: dict,
) -> None:
    """``best.toml``: a config for ``kagglekit cv --config`` and ``fit --config``."""
    from kagglekit.store.atomic import atomic_write_text

    cv = (
        f"{metric} {best['value']:.6g} (held-out CV of the best of {counts['complete']} "
        f"complete trials: optimistic)"
    )
    lines = [f"# kagglekit tune: study {study}, trial {best['number']}", f"# CV: {cv}"]
    if holdout and "best" in holdout:
        lines.append(
            f"# holdout: {metric} {holdout['best']['value']:.6g} (untouched rows, "
            f"{holdout['best']['n_rows']:,} of them)"
        )
    lines += [f"model = {json.dumps(model_name)}", "", "[params]"]
    for key in sorted(params):
        lines.append(f"{key} = {_toml_value(params[key])}")
    atomic_write_text(path, "\n".join(lines) + "\n")


def _toml_value(value) -> str:
    if value is None:  # TOML has no null: kagglekit's params read "none" as None
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise KaggleKitError(f"cannot write {value!r} to best.toml")


def list_studies(folder, competition: str | None = None) -> list[dict]:
    """The studies ``tune`` finished in the runs folder (their study.json), newest first."""
    from kagglekit.store.atomic import read_json

    out = []
    root = folder.studies
    for path in sorted(root.glob("*/study.json")) if root.is_dir() else []:
        try:
            record = read_json(path)
        except (OSError, ValueError, KaggleKitError):
            continue
        if not isinstance(record, dict) or record.get("kind") != "study":
            continue
        if competition is None or record.get("competition") == competition:
            out.append({**record, "best_toml": str(path.parent / "best.toml")})
    return sorted(out, key=lambda r: path_mtime(r["best_toml"]), reverse=True)


def path_mtime(path: str) -> float:
    from pathlib import Path

    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


def read_study(folder, name: str) -> dict:
    """A finished study's record (study.json), or a one-line error saying what to run."""
    from kagglekit.store.atomic import read_json

    path = folder.study_dir(name) / "study.json"
    if not path.is_file():
        known = [s["study"] for s in list_studies(folder)]
        hint = f"; known: {', '.join(known[:5])}" if known else ""
        raise KaggleKitError(
            f"no finished study {name!r} in {folder.studies} (run `kagglekit tune` first){hint}"
        )
    record = read_json(path)
    if not isinstance(record, dict) or record.get("kind") != "study":
        raise KaggleKitError(f"{path}: not a study record; run the same `kagglekit tune` again")
    return record
