"""``kagglekit report``: one self-contained HTML page per run, or per comparison of runs.

    from kagglekit.report import write_report
    path = write_report([run], Path("reports"))

The page is built whole in memory (figures as inline PNG data) and written atomically,
so a failure leaves no partial file. Needs the ``report`` extra (matplotlib, jinja2).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from pathlib import Path

from kagglekit import __version__
from kagglekit.errors import KaggleKitError
from kagglekit.progress import steps
from kagglekit.report import gather
from kagglekit.report.html import Section, render_page
from kagglekit.store.atomic import atomic_write_text
from kagglekit.store.run import Run


class ReportError(KaggleKitError):
    """A report cannot be written (a missing extra, no runs)."""


def check_extra() -> None:
    missing = []
    for module in ("matplotlib", "jinja2"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ReportError(f"reports need {' and '.join(missing)}: pip install 'kagglekit[report]'")


def report_path(runs: list[Run], output: Path) -> Path:
    """reports/<slug>/<run-id>.html, or reports/<slug>/compare-<hash of the ids>.html."""
    slugs = sorted({r.competition for r in runs})
    folder = Path(output) / (slugs[0] if len(slugs) == 1 else "mixed")
    if len(runs) == 1:
        return folder / f"{runs[0].id}.html"
    digest = hashlib.sha256("\n".join(r.id for r in runs).encode()).hexdigest()[:10]
    return folder / f"compare-{digest}.html"


def write_report(runs: list[Run], output: Path, path: Path | None = None) -> Path:
    """Render the report of ``runs`` and write it atomically; its path."""
    if not runs:
        raise ReportError("no run to report on")
    check_extra()
    path = Path(path) if path else report_path(runs, output)
    builders = single_builders() if len(runs) == 1 else comparison_builders()
    what = runs[0].id if len(runs) == 1 else f"{len(runs)} runs"
    with steps(
        f"Report of {what}", total=len(runs) + len(builders), unit="steps", min_seconds=2.0
    ) as advance:
        datas = []
        for run in runs:
            datas.append(gather.load_run_data(run))
            advance(what=f"read {run.id}")
        sections = []
        for title, build in builders:
            made = build(datas[0] if len(runs) == 1 else datas)
            made = [s for s in (made if isinstance(made, list) else [made]) if s is not None]
            sections.extend(made)
            advance(what=title if made else f"{title}: nothing to show")
    if len(runs) == 1:
        page = render_page(
            datas[0].title, _subtitle(datas[0]), datas[0].notes, sections, __version__, _created()
        )
    else:
        slugs = sorted({d.run.competition for d in datas})
        notes = [f"{d.run.id}: {n}" for d in datas for n in d.notes]
        page = render_page(
            f"{len(datas)} runs on {', '.join(slugs)}",
            [" · ".join(d.run.id for d in datas)],
            notes,
            sections,
            __version__,
            _created(),
        )
    atomic_write_text(path, page)
    return path


def _created() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _subtitle(data: gather.RunData) -> list[str]:
    info = data.info
    line = [
        f"run {data.run.id}",
        f"{info.get('kind')} run",
        f"{info.get('n_folds')} folds" if info.get("n_folds") else None,
        f"seed {info.get('seed')}" if info.get("seed") is not None else None,
        f"created {info.get('created')}" if info.get("created") else None,
    ]
    params = info.get("params") or {}
    shown = ", ".join(f"{k}={v}" for k, v in list(params.items())[:12])
    out = [" · ".join(x for x in line if x)]
    if shown:
        out.append(f"params: {shown}")
    if info.get("sample"):
        out.append("trained on a GENERATED SAMPLE, not the real data")
    return out


# ------------------------------------------------------------------ one run


def single_builders() -> list:
    """(title, build(data) -> Section | list | None) of a run's page, in order."""
    from kagglekit.report import plots

    def labelled(build):
        return lambda data: build(data) if data.has_labels else None

    def threshold(data):
        if data.has_labels and data.info.get("threshold_metric"):
            return Section("threshold", "Threshold", narrow=True).figure(
                plots.threshold_curve(data)
            )
        return None

    def learning(data):
        histories = gather.histories(data)
        if not histories:
            return None
        return (
            Section("learning", "Learning curves")
            .figure(plots.learning_curves(histories))
            .figure(plots.lr_curve(histories))
        )

    def blend(data):
        return blend_section(data, plots) if data.info.get("kind") == "blend" else None

    return [
        ("scores", headline_section),
        ("folds", folds_section),
        (
            "ROC and PR curves",
            labelled(
                lambda d: Section("curves", "ROC and precision-recall").figure(plots.roc_pr(d))
            ),
        ),
        ("threshold curve", threshold),
        ("confusion matrix", labelled(lambda d: confusion_section(d, plots))),
        (
            "calibration",
            labelled(
                lambda d: Section("calibration", "Calibration", narrow=True).figure(
                    plots.calibration(d)
                )
            ),
        ),
        ("score by length", labelled(lambda d: length_section(d, plots))),
        ("most wrong rows", labelled(wrong_section)),
        ("learning curves", learning),
        ("embeddings", embeddings_section),
        ("blend", blend),
        ("data", data_section),
    ]


def headline_section(data: gather.RunData) -> Section:
    h = gather.headline(data)
    s = Section("scores", "Scores")
    main = next((r for r in h["rows"] if r["metric"] == h["metric"]), None)
    if main is not None:
        value = main["nested"] if main["nested"] is not None else main["score"]
        spread = f" ± {main['spread']:.4f} across folds" if main["spread"] is not None else ""
        s.say(f"{h['metric']} {value:.4f}{spread}", cls="big")
        if main["nested"] is not None and main["optimistic"]:
            s.say(
                f"nested thresholds (held out); {main['score']:.4f} with one threshold "
                f"chosen on all OOF rows (optimistic)",
                cls="muted",
            )
    if not h["held_out"]:
        reasons = "; ".join(h["not_held_out_because"]) or "a fit run has no held-out rows"
        s.say(f"NOT held out: {reasons}.", cls="note")
    rows = []
    for r in h["rows"]:
        rows.append(
            {
                "metric": r["metric"],
                "OOF (all rows)": r["score"],
                "nested (held out)": r["nested"],
                "fold spread (std)": r["spread"],
            }
        )
    if rows:
        s.table(["metric", "OOF (all rows)", "nested (held out)", "fold spread (std)"], rows)
    if h["threshold_metric"]:
        s.say(
            f"Threshold {h['threshold']:.4f} was chosen for {h['threshold_metric']} on all "
            f"OOF rows, so the 'OOF (all rows)' {h['threshold_metric']} is optimistic; the "
            f"nested figure chooses each fold's threshold on the other folds' rows and is "
            f"the one runs are ranked by.",
            cls="muted",
        )
    return s


def folds_section(data: gather.RunData) -> Section:
    columns, rows = gather.fold_rows(data)
    s = Section("folds", "Per-fold scores")
    if rows:
        s.table(columns, rows)
    else:
        s.say("This run has no folds (a fit on all training rows).", cls="muted")
    return s


def confusion_section(data: gather.RunData, plots) -> Section:
    s = Section("confusion", "Confusion matrix", narrow=True)
    figure = plots.confusion(data)
    if figure is not None:
        return s.figure(figure)
    rows = []
    labels, oof = data.labelled()
    for j, name in enumerate(data.targets):
        y, pred = labels[:, j], oof[:, j] >= data.threshold
        rows.append(
            {
                "label": name,
                "TP": int((y == 1).sum() - ((y == 1) & ~pred).sum()),
                "FP": int(((y == 0) & pred).sum()),
                "FN": int(((y == 1) & ~pred).sum()),
                "TN": int(((y == 0) & ~pred).sum()),
            }
        )
    why = "" if data.info.get("threshold_metric") else f" ({data.metric} needs no threshold)"
    return s.table(
        ["label", "TP", "FP", "FN", "TN"],
        rows,
        caption=f"Per label at threshold {data.threshold:.3f}{why}",
    )


def length_section(data: gather.RunData, plots) -> Section:
    rows = gather.length_buckets(data)
    s = Section("length", "Score by text length")
    s.figure(plots.length_plot(rows, data.metric))
    if rows:
        s.table(
            ["bucket", "rows", "score", "positives"],
            rows,
            caption=f"{data.metric} per bucket"
            + (f" at threshold {data.threshold:.3f}" if data.info.get("threshold_metric") else "")
            + "; positives: share of positive labels",
        )
    return s


def wrong_section(data: gather.RunData) -> Section:
    rows = gather.most_wrong(data)
    s = Section("wrong", f"The {len(rows)} most confidently wrong OOF rows")
    columns = ["id", "target", "label", "probability", "fold", "text"]
    if len(data.targets) == 1:
        columns.remove("target")
    return s.table(columns, rows, text_columns=("text",))


def embeddings_section(data: gather.RunData) -> Section | None:
    reports = gather.embedding_reports(data)
    if not reports:
        return None
    s = Section("embeddings", "Embedding coverage")
    rows = [
        {
            "fold": r.get("fold"),
            "dim": r.get("dim"),
            "vocab": r.get("vocab_size"),
            "vocabulary found": r.get("vocab_coverage"),
            "tokens found": r.get("token_coverage"),
        }
        for r in reports
    ]
    s.table(["fold", "dim", "vocab", "vocabulary found", "tokens found"], rows)
    files = [
        {
            "file": f.get("path"),
            "dim": f.get("dim"),
            "vocabulary found": f.get("vocab_coverage"),
            "tokens found": f.get("token_coverage"),
        }
        for f in reports[0].get("files") or []
        if isinstance(f, dict)
    ]
    if files:
        s.table(
            ["file", "dim", "vocabulary found", "tokens found"],
            files,
            caption="Each embeddings file (first fold)",
            text_columns=("file",),
        )
    top = reports[0].get("top_missing") or []
    if top:
        s.table(
            ["word", "count"],
            [{"word": w, "count": c} for w, c in top],
            caption="Most frequent words without a vector (first fold)",
            text_columns=("word",),
        )
    return s


def blend_section(data: gather.RunData, plots) -> Section:
    members = gather.blend_weights(data)
    s = Section("blend", "Blend")
    s.say(
        f"Method: {data.info.get('method')}"
        + (
            f" ({data.info.get('method_description')})"
            if data.info.get("method_description")
            else ""
        )
    )
    s.figure(plots.blend_plot(members, data.targets))
    metric = data.metric
    rows = [
        {
            "member": m["run_id"],
            "model": m["model"],
            "weight": ", ".join(
                gather.fmt_weight(w) for w in gather.weight_values(m["weights"], data.targets)
            ),
            metric: (m["scores"] or {}).get(metric),
        }
        for m in members
    ]
    return s.table(["member", "model", "weight", metric], rows, text_columns=("member",))


def data_section(data: gather.RunData) -> Section:
    d = gather.data_summary(data)
    s = Section("data", "Data")
    s.table(
        ["rows", "value"],
        [
            {"rows": "training rows", "value": d["n_train"]},
            {"rows": "test rows", "value": d["n_test"]},
            {"rows": "scored OOF rows", "value": d["n_scored"]},
            {"rows": "folds", "value": d["n_folds"]},
            {"rows": "fold scheme", "value": d["cv_scheme"]},
            {"rows": "text prepared", "value": d["prepared_text"]},
            {"rows": "generated sample", "value": d["sample"]},
            {"rows": "data folder", "value": d["data_dir"]},
        ],
        text_columns=("value",),
    )
    if d["balance"]:
        s.table(["target", "positives", "share"], d["balance"], caption="Class balance")
    dup = d["duplicates"]
    if isinstance(dup, dict) and dup:
        s.table(list(dup), [dup], caption="Duplicate texts (kept together in one fold)")
    for note in d["notes"]:
        s.say(f"Note: {note}", cls="muted")
    for note in gather.model_notes(data):
        s.say(f"Model note: {note}", cls="muted")
    return s


# ------------------------------------------------------------------ several runs


def comparison_builders() -> list:
    from kagglekit.report import plots

    return [
        ("scores", comparison_table),
        ("curves", lambda datas: Section("curves", "Curves").figure(plots.overlay(datas))),
        ("correlation", lambda datas: correlation_section(datas, plots)),
    ]


def comparison_table(datas: list[gather.RunData]) -> Section:
    metrics = list(dict.fromkeys(m for d in datas for m in (d.info.get("scores") or {})))
    table = Section("scores", "Scores side by side")
    rows = []
    for d in datas:
        nested = d.info.get("nested_scores") or {}
        spread = d.info.get("fold_spread") or {}
        row = {
            "run": d.run.id,
            "model": d.run.model,
            "kind": d.run.kind,
            "sample": bool(d.info.get("sample")),
            "held out": d.info.get("held_out", d.run.kind != "fit"),
        }
        for m in metrics:
            row[m] = (d.info.get("scores") or {}).get(m)
            if m in nested and nested[m] != row[m]:
                row[f"{m} nested"] = nested[m]
            row[f"{m} spread"] = spread.get(m)
        rows.append(row)
    columns = ["run", "model", "kind", "sample", "held out"]
    for m in metrics:
        columns.append(m)
        if any(f"{m} nested" in r for r in rows):
            columns.append(f"{m} nested")
        columns.append(f"{m} spread")
    return table.table(columns, rows, text_columns=("run", "model"))


def correlation_section(datas: list[gather.RunData], plots) -> Section:
    names, matrix, n_rows = gather.correlations(datas)
    corr = Section("correlation", "Correlation of OOF predictions")
    if matrix is None:
        return corr.say(
            "The runs share too few OOF rows to correlate (are they on the same training rows?).",
            cls="note",
        )
    corr.figure(plots.correlation_plot(names, matrix))
    corr.say(
        f"On the {n_rows} OOF rows all runs share (runs named by model and the end of "
        f"their id). Runs that correlate less with the others add more to a blend.",
        cls="muted",
    )
    return corr.table(
        ["run", *names],
        [
            {"run": a, **{b: float(matrix[i, j]) for j, b in enumerate(names)}}
            for i, a in enumerate(names)
        ],
        text_columns=("run",),
    )
