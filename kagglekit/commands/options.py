"""What the built-in commands share: option decorators, output helpers, loading data.

Every command module registers its commands through ``register_commands`` like any
plugin, and stays thin over the library (sqlite-utils style).
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

def emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def info(message: str) -> None:
    click.echo(message, err=True)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print exactly one JSON object on stdout.")(f)


def runs_dir_option(f):
    return click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("runs"), show_default=True,
                        help="Where runs are kept.")(f)


def data_options(f):
    """--data-dir, --sample, --encoding, --allow-empty-text, --no-prepare."""
    options = [
        click.option("--data-dir", type=click.Path(path_type=Path),
                     help="Folder with the competition files (or a data root holding <slug>/)."),
        click.option("--sample", is_flag=True,
                     help="Use a small generated sample in the competition's exact schema."),
        click.option("--encoding", default="utf-8", show_default=True,
                     help="Encoding of the CSV files."),
        click.option("--allow-empty-text", is_flag=True,
                     help="Treat NaN/empty texts as empty strings instead of refusing them."),
        click.option("--prepare/--no-prepare", default=True, show_default=True,
                     help="Apply the competition's text preparation (URLs, HTML, ...)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def training_options(f):
    options = [
        click.option("--model", "-m", "models", multiple=True,
                     help="Model name (repeatable); `kagglekit models` lists them."),
        click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
                     help="Hyperparameter (repeatable); MODEL.KEY=VALUE for one model only."),
        click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="TOML file: model, folds, seed and a [params] table."),
        click.option("--seed", type=int, multiple=True,
                     help="Random seed [default: 42]; repeat it to average several seeds."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def data_options_from(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir, **more):
    from kagglekit.data import DataOptions

    return DataOptions(data_dir=data_dir, sample=sample, sample_root=Path(runs_dir) / "_samples",
                       encoding=encoding, allow_empty_text=allow_empty_text, prepare=prepare,
                       **more)


def load_data(comp, options, need_test=True):
    from kagglekit.data import load_dataset
    from kagglekit.progress import status
    from kagglekit.pseudo import is_pseudo_dir, load_pseudo_dataset

    load = load_pseudo_dataset if is_pseudo_dir(options.data_dir) else load_dataset
    # a spinner on a terminal; in a log file one line, only when it took a while
    with status(f"Reading and validating the {comp.slug} files", min_seconds=2.0):
        data = load(comp, options, need_test=need_test)
    n_pseudo = data.pseudo["n_pseudo"] if data.pseudo else 0
    extra = f" + {n_pseudo} pseudo-labelled" if n_pseudo else ""
    if data.sample:
        info(f"Using a generated sample of {len(data.train) - n_pseudo} training rows{extra} in "
             f"{data.directory} (not real data: pass --data-dir or run `kagglekit fetch` for "
             f"the real files)")
    else:
        info(f"Data: {data.directory} ({len(data.train) - n_pseudo} train rows{extra}"
             f"{'' if data.test is None else f', {len(data.test)} test rows'})")
    for note in data.notes:
        info(f"Note: {note}")
    return data


def score_table(title, rows, columns):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if c not in ("model", "run", "rows") else "left",
                         no_wrap=c in ("run", "rows"))
    for row in rows:
        table.add_row(*[fmt(row.get(c)) for c in columns])
    Console(file=sys.stdout, width=max(100, 30 + 12 * len(columns))).print(table)


def fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def run_payload(run) -> dict:
    out = run.summary()
    out["path"] = str(run.path)
    return out


@contextlib.contextmanager
def progress_bar(enabled: bool = True):
    """A rich progress bar on stderr when it is a terminal; yields the (stage, done, total)
    callback (None when there is no bar to draw)."""
    from rich.console import Console

    console = Console(file=sys.stderr)  # bound now: the client's output is captured later
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn()]
    tasks: dict[str, int] = {}
    with Progress(*columns, console=console) as bar:
        def update(stage: str, done: int, total):
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def kaggle_notes(notes) -> None:
    for note in notes:
        info(f"kaggle: {note}")


# ------------------------------------------------------------- submit --upload
