"""What the commands print: messages on stderr, ``--json`` on stdout, tables, and the one
progress implementation.

Library code never prints. It reports long steps through ``kagglekit.progress`` (an event
interface with no rendering), job events through the executors' ``on_event`` callback
(``JobEvent``), downloads through a ``(stage, done, total)`` callback; the renderers of all
three live here. The CLI group installs ``steps``/``status`` as kagglekit.progress's renderer.

Progress stays readable in a log file. ``steps(description, total)`` yields
``advance(n=1, what="")``: on a terminal a rich bar with elapsed time and ETA; when stderr
is not a terminal (a log file, a pipe, a CI job), plain lines instead - one per step, or
about one per tenth for many small steps - with no ANSI codes and no carriage returns.
``status(description)`` is the same for one step of unknown length (a spinner on a
terminal, one line with its seconds otherwise). ``KAGGLEKIT_PROGRESS=plain`` asks a
terminal for lines, ``off`` silences progress.

    with steps("Predicting", total=n_rows, unit="rows") as advance:
        for chunk in chunks:
            ...
            advance(len(chunk))
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

import click

PLAIN_LINES = 10  # lines per task at most when stderr is not a terminal (unit != "steps")


# ------------------------------------------------------------- messages and --json


def emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def info(message: str) -> None:
    click.echo(message, err=True)


def kaggle_notes(notes) -> None:
    for note in notes:
        info(f"kaggle: {note}")


def run_payload(run) -> dict:
    out = run.summary()
    out["path"] = str(run.path)
    return out


def said_reused(command: str):
    """What cv/fit say on stderr when the run asked for is already finished."""

    def say(run) -> None:
        info(
            f"Reused run {run.id}: a finished {command} run of the same jobs (data, folds, "
            f"model, params, seeds), so nothing was computed; add --new to compute a fresh "
            f"run"
        )

    return say


# ------------------------------------------------------------- tables


def score_table(title, rows, columns):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(
            c,
            justify="right" if c not in ("model", "run", "rows") else "left",
            no_wrap=c in ("run", "rows"),
        )
    for row in rows:
        table.add_row(*[fmt(row.get(c)) for c in columns])
    Console(file=sys.stdout, width=max(100, 30 + 12 * len(columns))).print(table)


def fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def show_incomplete(rows) -> None:
    """The incomplete runs, after ``kagglekit runs``' tables."""
    if not rows:
        return
    click.echo("Incomplete runs (never picked as best; `kagglekit cv --resume RUN` finishes one):")
    for row in rows:
        click.echo(
            f"  {row['run_id']}  {row['model']}  {row['kind']}  "
            f"{row['jobs_done']}/{row['jobs_total']} jobs done  ({row['state']})"
        )


# ------------------------------------------------------------- blends (blend, cv --ensemble)


def blend_report(run) -> dict:
    """One JSON-able object: the blend run's summary, its members' scores and weights."""
    out = run.summary()
    out["path"] = str(run.path)
    for key in (
        "method",
        "member_runs",
        "weights",
        "scores_in_sample",
        "fold_spread",
        "threshold_metric",
    ):
        if run.info.get(key) is not None:
            out[key] = run.info[key]
    return out


def _weight_text(weights: dict) -> str:
    values = [w for w in weights.values() if w is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{sum(values) / len(values):.3f} (mean of {len(values)})"


def _member_nested(member: dict):
    """A member's held-out (nested) scores: in the blend's record, or (blends made before it
    was recorded) in the member's own run.json; None when it has none (one scored fold)."""
    if "nested_scores" in member:
        return member["nested_scores"]
    from kagglekit.errors import KaggleKitError
    from kagglekit.store.run import Run

    try:
        return Run(member["path"]).info.get("nested_scores")
    except (KaggleKitError, KeyError, TypeError, OSError):
        return None


def _held_out(scores: dict, nested, metric: str, tuned: set):
    """The held-out figure of a metric: the nested one for a thresholded metric (None when
    there is none), else the figure itself (AUC needs no threshold)."""
    if metric in tuned:
        return (nested or {}).get(metric)
    return scores.get(metric)


def print_report(run) -> None:
    """The blend's table: every member's held-out OOF scores and weight next to the blend's;
    figures at a threshold tuned on the very rows they score only in their own, labelled
    columns, and the final blender's in-sample scores in a row saying so."""
    from rich.console import Console
    from rich.table import Table

    from kagglekit import plugins

    metrics = list(run.scores)
    tuned = {m for m in metrics if plugins.get_metric(m).needs_threshold}
    method = run.info.get("method")
    weight_title = "coef" if method == "stack" else "weight"
    title = f"{method} blend on {run.competition}"
    notes = []
    if tuned:
        title += f"  (test predictions labelled at {run.threshold:.3f})"
        notes += [
            f"{', '.join(sorted(tuned))}: held out (nested: each fold at a threshold "
            f"chosen on the other folds)",
            "*: optimistic, at the threshold tuned on all OOF rows: NOT held out",
        ]
    if run.info.get("scores_in_sample"):
        notes.append("in-sample: the final blender scored on the rows it was fit on, NOT held out")
    table = Table(title=title, caption="\n".join(notes) or None, caption_justify="left")
    optimistic = [m for m in metrics if m in tuned]
    columns = ["run", "model", weight_title, *metrics, *[f"{m}*" for m in optimistic]]
    for column in columns:
        table.add_column(
            column,
            justify="left" if column in ("run", "model") else "right",
            no_wrap=column != "model",
            overflow="fold",
        )
    for member in run.info.get("member_runs", []):
        weight = _weight_text(member["weights"])
        if member.get("duplicate_of"):
            weight = f"0 (= {_short(member['duplicate_of'])})"
        nested = _member_nested(member)
        table.add_row(
            _short(member["run_id"]),
            member["model"],
            weight,
            *[_fmt(_held_out(member["scores"], nested, m, tuned), "n/a") for m in metrics],
            *[_fmt(member["scores"].get(m)) for m in optimistic],
        )
    nested = run.info.get("nested_scores")
    table.add_row(
        "blend",
        run.model,
        "",
        *[_fmt(_held_out(run.scores, nested, m, tuned), "n/a") for m in metrics],
        *[_fmt(run.scores.get(m)) for m in optimistic],
        style="bold",
    )
    if run.info.get("scores_in_sample"):
        table.add_row(
            "blend, in-sample (NOT held out)",
            "",
            "",
            *[_fmt(run.info["scores_in_sample"].get(m)) for m in metrics],
            *["" for _ in optimistic],
            style="dim",
        )
    Console(file=sys.stdout, width=120).print(table)
    click.echo(f"Run: {run.path}")


def _short(run_id: str) -> str:
    """The run id's unique tail (the full ids are in --json and run.json)."""
    return "…" + run_id.rsplit("-", 1)[-1]


def _fmt(value, missing: str = "") -> str:
    return missing if value is None else f"{value:.4f}"


# ------------------------------------------------------------- progress


def job_line(event) -> None:
    """One plain line per job start/finish on stderr (readable in a log file): the
    executors' ``on_event`` callback."""
    click.echo(event.line(), err=True)


def is_terminal(stream=None) -> bool:
    """Whether progress may draw (a TTY, and not turned off by KAGGLEKIT_PROGRESS=plain)."""
    stream = stream or sys.stderr
    if os.environ.get("KAGGLEKIT_PROGRESS", "").lower() in ("plain", "off", "0"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _write(stream, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def _enabled() -> bool:
    return os.environ.get("KAGGLEKIT_PROGRESS", "").lower() != "off"


@contextlib.contextmanager
def steps(
    description: str,
    total: int | None,
    *,
    unit: str = "steps",
    stream=None,
    min_seconds: float = 0.0,
    transient: bool = False,
):
    """Yield ``advance(n=1, what="")``; see the module docstring. Off a terminal, no line
    is written before ``min_seconds`` have passed (a quick task stays silent); a
    ``transient`` task draws a bar on a terminal that goes when it ends, and writes no
    line off a terminal. ``unit="bytes"`` counts in kB/MB/GB."""
    stream = stream or sys.stderr
    start = time.perf_counter()
    if not _enabled():
        yield lambda n=1, what="": None
        return
    if is_terminal(stream):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(file=stream)
        count = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            count,
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[what]}"),
            console=console,
            transient=transient,
        ) as bar:
            task = bar.add_task(description, total=total, what="")

            def advance_bar(n: int = 1, what: str = "") -> None:
                bar.update(task, advance=n, what=what)

            yield advance_bar
        return
    if transient:
        yield lambda n=1, what="": None
        return
    state = {"done": 0, "printed": -1}
    every = 1 if unit == "steps" or not total else max(1, total // PLAIN_LINES)

    def advance(n: int = 1, what: str = "") -> None:
        state["done"] += n
        done = state["done"]
        if time.perf_counter() - start < min_seconds:
            return
        if done // every == state["printed"] // every and done != total:
            return
        state["printed"] = done
        of = f"/{total}" if total else ""
        elapsed = time.perf_counter() - start
        eta = ""
        if total and 0 < done < total:
            eta = f", ETA {_seconds(elapsed / done * (total - done))}"
        label = f" {what}" if what else ""
        _write(stream, f"{description}: {done}{of} {unit}{label} ({_seconds(elapsed)}{eta})")

    yield advance


@contextlib.contextmanager
def status(description: str, *, stream=None, min_seconds: float = 0.0):
    """One step of unknown length: a spinner on a terminal, else one line when it ends
    (only when it took at least ``min_seconds``)."""
    stream = stream or sys.stderr
    start = time.perf_counter()
    if not _enabled():
        yield
        return
    if is_terminal(stream):
        from rich.console import Console

        with Console(file=stream).status(description):
            yield
    else:
        yield
    elapsed = time.perf_counter() - start
    if elapsed >= min_seconds:
        _write(stream, f"{description}: done ({_seconds(elapsed)})")


@contextlib.contextmanager
def download_bar(enabled: bool = True):
    """A rich progress bar on stderr when it is a terminal; yields the (stage, done, total)
    callback the kaggle client reports to (None when there is no bar to draw)."""
    from rich.console import Console

    console = Console(file=sys.stderr)  # bound now: the client's output is captured later
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    ]
    tasks: dict[str, TaskID] = {}
    with Progress(*columns, console=console) as bar:

        def update(stage: str, done: int, total):
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
