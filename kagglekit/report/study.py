"""``kagglekit report --study NAME``: one self-contained HTML page of a tuning study.

    from kagglekit.report.study import write_study_report
    path, payload = write_study_report(RunsFolder("runs"), "disaster-tweets-tfidf-nb-1a2b3c4d")

The trials are read through Optuna's API from the study's storage: the default SQLite file
of the runs folder, the storage ``study.json`` names (when its URL carries no password, which
study.json never keeps) or ``storage=`` (``--storage URL``). The headline figures come from
study.json, written when ``kagglekit tune`` finished: the best trial's CV (optimistic, chosen
out of the trials) beside its holdout score (held out). The page is written atomically,
at ``reports/<slug>/study-<name>.html`` by default.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kagglekit import __version__
from kagglekit.errors import KaggleKitError
from kagglekit.progress import steps
from kagglekit.report import ReportError, check_extra
from kagglekit.report.html import Section, render_page
from kagglekit.store.atomic import atomic_write_text
from kagglekit.store.folder import RunsFolder

IMPORTANCE_SEED = 0  # fANOVA fits a random forest: the same page for the same study
STATES = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "waiting",
}


@dataclass
class TrialRow:
    number: int
    state: str  # complete | pruned | failed | running | waiting
    params: dict
    value: float | None  # the objective of a complete trial
    run_id: str | None
    seconds: float | None
    steps: dict = field(default_factory=dict)  # folds done -> the figure reported then
    note: str = ""

    @property
    def last_step(self) -> int | None:
        return max(self.steps) if self.steps else None


@dataclass
class StudyData:
    name: str
    record: dict | None  # study.json; None when no `kagglekit tune` of it has finished
    metric: str
    direction: str  # maximize | minimize
    storage: str  # as shown: password hidden
    trials: list[TrialRow]
    space: dict  # param -> {"log": bool, "choices": list | None}
    importances: dict | None
    no_importances: str  # why there are none ("" when there are)
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict:
        out = {s: 0 for s in STATES.values()}
        for t in self.trials:
            out[t.state] += 1
        return out

    @property
    def best(self) -> TrialRow | None:
        complete = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not complete:
            return None
        pick = max if self.direction == "maximize" else min
        return pick(complete, key=lambda t: float(t.value or 0.0))


def load_study_data(folder: RunsFolder, name: str, storage: str | None = None) -> StudyData:
    """The study's trials from its storage, and its study.json when tune finished it."""
    from kagglekit.tune.run import read_study
    from kagglekit.tune.study import shown_url

    missing: KaggleKitError | None = None
    record: dict | None = None
    try:
        record = read_study(folder, name)
    except KaggleKitError as exc:  # no finished tune: the storage alone is reported
        missing = exc
    study, url = _open(folder, name, record, storage)
    if study is None:
        if record is None:
            raise ReportError(str(missing)) from None
        raise ReportError(url)
    trials = [_row(t) for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)]
    data = StudyData(
        name=name,
        record=record,
        metric=(record or {}).get("metric") or "objective",
        direction=study.direction.name.lower(),
        storage=shown_url(url),
        trials=trials,
        space=_space(study),
        importances=None,
        no_importances="",
    )
    data.importances, data.no_importances = importances(study, data)
    if record is None:
        data.notes.append(
            f"No finished `kagglekit tune` wrote study {name}'s record (it stopped, or is "
            f"still running): there is no holdout figure yet, so nothing here is held out "
            f"from the selection. The same `kagglekit tune` command continues the study."
        )
    else:
        then = record.get("trials") or {}
        now = data.counts
        if any(then.get(k, 0) != now[k] for k in ("complete", "pruned", "failed")):
            data.notes.append(
                "The study has changed since its record was written (then: "
                + _counts_text(then)
                + "; now: "
                + _counts_text(now)
                + "): the headline figures are the record's; the plots and the table are now's."
            )
    return data


def _open(folder: RunsFolder, name: str, record: dict | None, storage: str | None):
    """(the study, its URL), or (None, why not)."""
    from kagglekit.tune.study import default_storage, open_storage, require_optuna, shown_url

    optuna = require_optuna()
    recorded = (record or {}).get("storage")
    candidates: list[str] = []
    if storage:
        candidates.append(storage)
    else:
        if recorded and "***" not in recorded:
            candidates.append(recorded)
        if folder.study_storage().is_file():
            candidates.append(default_storage(folder))
    tried = []
    for url in dict.fromkeys(candidates):
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
            tried.append(f"{shown_url(url)} (no such file)")
            continue
        try:
            return optuna.load_study(study_name=name, storage=open_storage(url)), url
        except KeyError:
            tried.append(f"{shown_url(url)} (no study {name!r} there)")
    if not candidates and recorded:
        return None, (
            f"study {name} lives in {recorded}; study.json keeps no password: pass --storage URL"
        )
    where = "; ".join(tried) or f"no study storage in {folder.studies}"
    return None, f"study {name}: not found ({where}); pass --storage URL if it lives elsewhere"


def _row(trial) -> TrialRow:
    state = STATES.get(trial.state.name, trial.state.name.lower())
    seconds = None
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        seconds = round((trial.datetime_complete - trial.datetime_start).total_seconds(), 1)
    row = TrialRow(
        number=trial.number,
        state=state,
        params=dict(trial.params),
        value=float(trial.value) if state == "complete" and trial.value is not None else None,
        run_id=trial.user_attrs.get("run_id"),
        seconds=seconds,
        steps={int(k): float(v) for k, v in trial.intermediate_values.items()},
    )
    notes = []
    if trial.user_attrs.get("defaults"):
        notes.append("the model's defaults")
    if trial.user_attrs.get("retry_of") is not None:
        notes.append(f"retry of trial {trial.user_attrs['retry_of']}")
    if state == "pruned":
        figure = f" (mean so far {row.steps[row.last_step]:.4f})" if row.last_step else ""
        notes.append(f"pruned after fold {row.last_step or 0}{figure}")
    if state == "failed":
        reason = trial.system_attrs.get("fail_reason")
        notes.append(f"failed: {str(reason).splitlines()[0][:160]}" if reason else "failed")
    row.note = "; ".join(notes)
    return row


def _space(study) -> dict:
    """Each searched parameter: whether it was searched on a log scale, its choices."""
    out: dict[str, dict] = {}
    for trial in study.get_trials(deepcopy=False):
        for name, dist in trial.distributions.items():
            choices = getattr(dist, "choices", None)
            out.setdefault(
                name,
                {
                    "log": bool(getattr(dist, "log", False)),
                    "choices": list(choices) if choices is not None else None,
                    "kind": type(dist).__name__.replace("Distribution", "").lower(),
                },
            )
    return out


def importances(study, data: StudyData) -> tuple[dict | None, str]:
    """Optuna's parameter importances (fANOVA, the default evaluator, seeded), or None and
    why there are none."""
    complete = data.counts["complete"]
    if complete < 2:
        return None, (
            f"No parameter importances: {complete} complete trial(s); they need at least 2."
        )
    if len(data.space) < 2:
        only = next(iter(data.space), "nothing")
        return None, (
            f"No parameter importances: only one parameter ({only}) was searched, so it has "
            f"all of it; its slice below shows how the objective varies with it."
        )
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=IMPORTANCE_SEED)
            values = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except Exception as exc:  # noqa: BLE001 - evaluators raise many kinds on odd studies
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        return None, f"No parameter importances: Optuna could not compute them ({first})."
    values = {k: float(v) for k, v in values.items()}
    if not values or not all(math.isfinite(v) for v in values.values()):
        return None, (
            "No parameter importances: the complete trials' objective does not vary enough "
            "to tell the parameters apart."
        )
    return values, ""


def param_text(value) -> str:
    """A parameter's value as the trial lines of ``kagglekit tune`` show it."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "no trials"


def report_path(data: StudyData, output: Path) -> Path:
    """reports/<slug>/study-<name>.html."""
    slug = (data.record or {}).get("competition") or "studies"
    return Path(output) / slug / f"study-{data.name}.html"


def write_study_report(
    folder: RunsFolder,
    name: str,
    output: Path = Path("reports"),
    *,
    storage: str | None = None,
    path: Path | None = None,
) -> tuple[Path, dict]:
    """Render the study's report and write it atomically: (its path, the --json payload)."""
    check_extra()
    from kagglekit.report import study_plots

    builders = [
        ("headline", headline_section),
        ("history", lambda d: history_section(d, study_plots)),
        ("importances", lambda d: importance_section(d, study_plots)),
        ("slices", lambda d: slice_section(d, study_plots)),
        ("trials", trials_section),
        ("settings", settings_section),
    ]
    with steps(
        f"Report of study {name}", total=1 + len(builders), unit="steps", min_seconds=2.0
    ) as advance:
        data = load_study_data(folder, name, storage)
        advance(what=f"read {len(data.trials)} trials")
        sections = []
        for title, build in builders:
            sections.append(build(data))
            advance(what=title)
    path = Path(path) if path else report_path(data, output)
    record = data.record or {}
    subtitle = [
        " · ".join(
            x
            for x in (
                f"study {name}",
                f"{record['model']} on {record['competition']}" if record else None,
                f"{data.direction} {data.metric} (each trial's held-out CV figure)",
            )
            if x
        ),
        f"storage {data.storage} · trials: {_counts_text(data.counts)}",
    ]
    page = render_page(
        f"Study {name}",
        subtitle,
        data.notes,
        sections,
        __version__,
        _dt.datetime.now().isoformat(timespec="seconds"),
    )
    atomic_write_text(path, page)
    best = data.best
    payload = {
        **{k: v for k, v in record.items() if k not in ("runs",)},
        "study": name,
        "path": str(path.resolve()),
        "storage": data.storage,
        "metric": data.metric,
        "direction": data.direction,
        "held_out": bool(record.get("held_out")),
        "trials_now": data.counts,
        "best_now": None if best is None else {"number": best.number, "value": best.value},
        "importances": data.importances,
        "no_importances": data.no_importances or None,
    }
    return path, payload


# ------------------------------------------------------------------ sections


def headline_section(data: StudyData) -> Section:
    from kagglekit.tune.run import headline_figures

    s = Section("scores", "Best configuration")
    record = data.record
    if record is None:
        best = data.best
        if best is None:
            return s.say("No trial has completed yet.", cls="note")
        n = data.counts["complete"]
        s.say(f"{data.metric} {best.value:.4f}", cls="big")
        s.say(
            f"CV of the best of {n} trials (trial {best.number}): optimistic, chosen on it; "
            f"no holdout figure yet: not held out.",
            cls="note",
        )
        return s.table(
            ["param", "value"],
            [{"param": k, "value": param_text(v)} for k, v in best.params.items()],
        )
    figures = headline_figures(record)
    cv, held = figures[0][1], figures[1][1]
    n = record["trials"]["complete"]
    beside = (
        f"holdout {held:.4f} (held out)"
        if held is not None
        else "no holdout: not held out (--no-holdout)"
    )
    s.say(f"{data.metric}: best CV {cv:.4f} (optimistic: chosen out of {n}) · {beside}", cls="big")
    if held is None:
        s.say(
            "This study kept no holdout (--no-holdout): its best CV figure was chosen as the "
            "best of the trials, so it is optimistic, and nothing else scored it.",
            cls="note",
        )
    s.table(
        ["figure", data.metric],
        [{"figure": label, data.metric: value} for label, value in figures],
        text_columns=("figure",),
    )
    best = record["best"]
    rows = [
        {"param": k, "value": param_text(v)}
        for k, v in {**record.get("fixed", {}), **best["params"]}.items()
    ]
    s.table(
        ["param", "value"],
        rows,
        caption=f"The chosen configuration (trial {best['number']}, run {best.get('run_id')}); "
        f"best.toml has it for `kagglekit cv --config`",
        text_columns=("value",),
    )
    return s


def history_section(data: StudyData, plots) -> Section:
    s = Section("history", "Optimisation history")
    s.figure(plots.history(data.trials, data.direction == "maximize", data.metric))
    s.figure(plots.per_fold(data.trials))
    if not data.trials:
        s.say("The study has no trials.", cls="note")
    return s


def importance_section(data: StudyData, plots) -> Section:
    s = Section("importances", "Parameter importances", narrow=True)
    if data.importances is None:
        return s.say(data.no_importances, cls="note")
    s.figure(plots.importances(data.importances, data.counts["complete"]))
    return s.table(
        ["param", "importance"],
        [{"param": k, "importance": v} for k, v in data.importances.items()],
    )


def slice_section(data: StudyData, plots) -> Section:
    s = Section("slices", "Each parameter against the objective")
    best = data.best
    figure = plots.slices(data.trials, data.space, data.metric, best.number if best else None)
    if figure is None:
        return s.say("No complete trial to plot.", cls="note")
    logs = [k for k, d in data.space.items() if d["log"]]
    if logs:
        s.say(f"Searched on a log scale (log axis): {', '.join(logs)}.", cls="muted")
    return s.figure(figure)


def trials_section(data: StudyData) -> Section:
    s = Section("trials", f"Trials ({_counts_text(data.counts)})")
    names = list(data.space)
    rows = []
    for t in data.trials:
        row: dict[str, Any] = {
            "trial": t.number,
            "state": t.state,
            **{n: param_text(t.params[n]) if n in t.params else "" for n in names},
            data.metric: t.value,
            "run": t.run_id,
            "seconds": None if t.seconds is None else f"{t.seconds:.1f}",
            "note": t.note,
        }
        rows.append(row)
    return s.table(
        ["trial", "state", *names, data.metric, "run", "seconds", "note"],
        rows,
        caption=f"{data.metric}: the trial's held-out CV figure (complete trials); pruned "
        f"trials stop after a fold and leave no run",
        text_columns=("run", "note"),
    )


def settings_section(data: StudyData) -> Section:
    s = Section("settings", "The study")
    record = data.record or {}
    rows: list[dict[str, Any]] = [
        {"setting": "competition", "value": record.get("competition")},
        {"setting": "model", "value": record.get("model")},
        {"setting": "storage", "value": data.storage},
        {"setting": "direction", "value": data.direction},
        {"setting": "folds", "value": record.get("n_folds")},
        {"setting": "seed", "value": record.get("seed")},
        {"setting": "pruner", "value": record.get("pruner")},
        {"setting": "fixed params", "value": record.get("fixed") or None},
    ]
    s.table(
        ["setting", "value"], [r for r in rows if r["value"] is not None], text_columns=("value",)
    )
    space = [
        {
            "param": k,
            "searched": (record.get("space") or {}).get(k)
            or (f"choices {d['choices']}" if d["choices"] is not None else d["kind"])
            + (" (log)" if d["log"] else ""),
        }
        for k, d in data.space.items()
    ]
    return s.table(["param", "searched"], space, caption="Search space", text_columns=("searched",))
