"""``report``: an HTML page of plots and tables for a run, or a comparison of runs."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info
from kagglekit.hookspecs import hookimpl
from kagglekit.store.refs import resolve_run


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_refs", metavar="RUN [RUN ...]", nargs=-1, required=True)
    @click.option(
        "--output",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("reports"),
        show_default=True,
        help="Folder for the report (reports/<slug>/<run-id>.html).",
    )
    @click.option("--open", "open_it", is_flag=True, help="Open the report in a web browser.")
    @runs_dir_option
    @json_option
    def report(run_refs, output, open_it, runs_dir, as_json):
        """Write one self-contained HTML report (plots inline) of a run, or comparing runs.

        One RUN: scores with their fold spread and the nested threshold figure, per-fold
        scores, OOF ROC/PR curves, threshold curve, confusion matrix, calibration, score
        by text length, the most confidently wrong rows, learning curves, embedding
        coverage, blend weights, data summary. Several RUNs: overlaid curves, the
        correlation of their OOF predictions and their scores side by side.

        Example: kagglekit report RUN --open
        """
        from kagglekit.report import write_report

        runs = [resolve_run(ref, runs_dir) for ref in run_refs]
        path = write_report(runs, output)
        info(f"Report of {', '.join(r.id for r in runs)}: {path}")
        if open_it:
            import webbrowser

            webbrowser.open(path.resolve().as_uri())
        if as_json:  # the first run's fields (as every --json), the report's path, every run
            payload = runs[0].summary()
            payload.update(
                path=str(path.resolve()),
                runs=[r.id for r in runs],
                summaries=[r.summary() for r in runs],
            )
            emit_json(payload)
        else:
            click.echo(str(path))
