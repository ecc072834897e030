"""``kagglekit report --auto NAME``: one HTML page of a ``kagglekit auto`` session.

Read from its record (``RunsFolder.auto_record``): the plan and why, each candidate's fold-1
score and time, what was dropped and why, the CV runs, the tuning studies, the blend's
members and weights, the holdout figures (held out) beside the blend's CV (chosen on those
rows), and the submission. Written atomically at ``reports/<slug>/auto-<name>.html``.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from kagglekit import __version__
from kagglekit.auto.budget import duration
from kagglekit.report import ReportError
from kagglekit.report.html import Section, render_page
from kagglekit.store.atomic import atomic_write_text, read_json
from kagglekit.store.folder import RunsFolder


def read_auto(folder: RunsFolder, name: str) -> dict:
    path = folder.auto_record(name)
    if not path.is_file():
        known = sorted(p.parent.name for p in folder.autos.glob("*/auto.json"))
        hint = f"; known: {', '.join(known[:5])}" if known else ""
        raise ReportError(f"no kagglekit auto session {name!r} in {folder.autos}{hint}")
    record = read_json(path)
    if not isinstance(record, dict) or record.get("kind") != "auto":
        raise ReportError(f"{path}: not a kagglekit auto record")
    return record


def write_auto_report(
    folder: RunsFolder, name: str, output: Path = Path("reports"), *, path: Path | None = None
) -> tuple[Path, dict]:
    record = read_auto(folder, name)
    sections = [
        headline_section(record),
        plan_section(record),
        candidates_section(record),
        runs_section(record),
        tune_section(record),
        blend_section(record),
        holdout_section(record),
    ]
    path = Path(path) if path else Path(output) / record["competition"] / f"{name}.html"
    steps = record.get("steps", {})
    subtitle = [
        f"{record['competition']} · {record['metric']} · budget "
        f"{duration(record.get('budget_seconds'))}, spent {duration(record.get('spent_seconds'))}"
        f" over {record.get('attempts', 1)} attempt(s)",
    ]
    notes = []
    if not record.get("finished"):
        notes.append(
            "This session has not finished (it stopped, or is still running): the same "
            "`kagglekit auto` command continues it."
        )
    page = render_page(
        f"kagglekit auto {name}",
        subtitle,
        notes,
        sections,
        __version__,
        _dt.datetime.now().isoformat(timespec="seconds"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, page)
    payload = {
        "auto": name,
        "path": str(path.resolve()),
        "competition": record["competition"],
        "metric": record["metric"],
        "holdout": (steps.get("holdout") or {}).get("final"),
        "cv": (steps.get("blend") or {}).get("cv"),
        "finished": bool(record.get("finished")),
    }
    return path, payload


def _headline_rows(record: dict) -> list[dict]:
    metric = record["metric"]
    steps = record.get("steps", {})
    holdout, blend = steps.get("holdout") or {}, steps.get("blend") or {}
    rows = []
    if holdout:
        rows.append(
            {
                "figure": f"holdout ({holdout['rows']:,} untouched rows)",
                metric: holdout["final"]["value"],
                "held out": "yes: nothing auto chose saw these rows",
            }
        )
    if blend:
        rows.append(
            {
                "figure": f"CV of the chosen run ({blend['how']})",
                metric: blend.get("cv"),
                "held out": "no: chosen on these rows (optimistic)",
            }
        )
    best = holdout.get("best_default")
    if best:
        rows.append(
            {
                "figure": f"holdout, best single default model ({best['model']})",
                metric: best["value"],
                "held out": "yes",
            }
        )
    return rows


def headline_section(record: dict) -> Section:
    metric = record["metric"]
    s = Section("scores", "Scores")
    rows = _headline_rows(record)
    if rows:
        s.table(["figure", metric, "held out"], rows, text_columns=("figure", "held out"))
    else:
        s.say("No figure yet: the session stopped before its blend.", "note")
    sub = (record.get("steps") or {}).get("submission") or {}
    if sub.get("path"):
        s.say(f"Submission: {sub['path']} ({sub['how']}).")
    refit = (record.get("steps") or {}).get("refit") or {}
    if refit.get("run_id"):
        s.say(
            f"Refit run {refit['run_id']}: the members refit on every training row "
            f"(projected {_seconds(refit.get('projected'))}, took "
            f"{_seconds(refit.get('seconds'))}); not scored, as a fit never is."
        )
    elif refit.get("why"):
        s.say(f"No refit: {refit['why']}.")
    return s


def _seconds(value) -> str:
    from kagglekit.auto.budget import duration

    return "?" if value is None else duration(float(value))


def plan_section(record: dict) -> Section:
    env = record.get("environment", {})
    s = Section("plan", "Plan")
    s.say(
        f"Machine: {env.get('accelerator', '?')}, {env.get('cores', '?')} core(s); "
        f"weights attached: {len(env.get('presets', []))}; embeddings attached: "
        f"{len(env.get('embeddings', []))}."
    )
    s.table(
        ["model", "params", "why"],
        [
            {"model": c["model"], "params": " ".join(c["params"]), "why": c["why"]}
            for c in record.get("candidates", [])
        ],
        text_columns=("params", "why"),
    )
    for why in record.get("left_out", []):
        s.say(why, "muted")
    h = record.get("holdout")
    if h:
        s.say(f"Holdout: {h['rows']:,} of {h['of']:,} training rows ({h['made_as']}).")
    return s


def candidates_section(record: dict) -> Section:
    s = Section("candidates", "Candidates: fold 1")
    screening = (record.get("steps") or {}).get("screening") or (record.get("steps") or {}).get(
        "screening_partial"
    )
    if not screening:
        s.say("No model has finished its fold 1 yet.", "note")
        return s
    s.table(
        ["model", "fold 1", "metric", "time", "projected", "status", "why"],
        [
            {
                "model": m,
                "fold 1": v.get("fold1"),
                "metric": v.get("metric"),
                "time": duration(v.get("seconds")) if v.get("seconds") is not None else "",
                "projected": duration(v["projected_seconds"]) if "projected_seconds" in v else "",
                "status": v["status"],
                "why": v.get("why", ""),
            }
            for m, v in screening.items()
        ],
        caption="Each model's first fold (the same rows for all); 'projected': its other folds.",
        text_columns=("why",),
    )
    return s


def runs_section(record: dict) -> Section:
    s = Section("runs", "CV runs")
    cv = (record.get("steps") or {}).get("cv") or {}
    s.table(
        ["model", record["metric"], "time", "run"],
        [
            {
                "model": m,
                record["metric"]: v.get("cv"),
                "time": duration(v.get("seconds")),
                "run": v["run_id"],
            }
            for m, v in cv.items()
        ],
        caption="Held-out CV on the trial rows (the nested figure for a thresholded metric).",
    )
    return s


def tune_section(record: dict) -> Section:
    s = Section("tune", "Tuning")
    tuned = (record.get("steps") or {}).get("tune") or []
    if not tuned:
        s.say("Nothing was tuned.", "muted")
    for t in tuned:
        if t.get("skipped"):
            s.say(f"{t['model']}: not tuned: {t['skipped']}")
            continue
        counts = ", ".join(f"{v} {k}" for k, v in t["trials"].items() if v)
        s.say(
            f"{t['model']}: study {t['study']} ({counts}) in {duration(t['seconds'])}; best "
            f"trial {t['best']['number']}: CV {t['best']['value']:.4f} (chosen out of the "
            f"trials: optimistic). `kagglekit report --study {t['study']}` shows it in full."
        )
    return s


def blend_section(record: dict) -> Section:
    s = Section("blend", "Blend")
    blend = (record.get("steps") or {}).get("blend")
    if not blend:
        s.say("No blend yet.", "muted")
        return s
    s.say(f"{blend['how']} (run {blend['run_id']}).")
    weights = blend.get("weights") or {}
    if weights:
        s.table(
            ["member", "weight"],
            [
                {"member": run_id, "weight": _weight(w)}
                for run_id, w in sorted(weights.items(), key=lambda kv: -_weight(kv[1]))
            ],
            caption="Hill-climbing weights: each member's share of the selections.",
        )
    return s


def _weight(w) -> float:
    if isinstance(w, dict):
        return float(sum(w.values()) / max(1, len(w)))
    if isinstance(w, (list, tuple)):
        return float(sum(w) / max(1, len(w)))
    return float(w or 0.0)


def holdout_section(record: dict) -> Section:
    s = Section("holdout", "Holdout: every member")
    holdout = (record.get("steps") or {}).get("holdout")
    if not holdout:
        s.say("The holdout has not been scored yet.", "muted")
        return s
    metric = record["metric"]
    s.table(
        ["run", "model", metric, "defaults"],
        [
            {
                "run": run_id,
                "model": v["model"],
                metric: v["value"],
                "defaults": v["default_params"],
            }
            for run_id, v in holdout["members"].items()
        ],
        caption="Scored once, for information: nothing was chosen on these figures.",
    )
    return s
