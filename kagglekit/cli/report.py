"""``report``: an HTML page of plots and tables for a run, a comparison of runs, or a tuning
study (``--study NAME``)."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info
from kagglekit.errors import KaggleKitError, RunError
from kagglekit.hookspecs import hookimpl
from kagglekit.store.refs import resolve_run


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_refs", metavar="RUN [RUN ...] | --study NAME", nargs=-1)
    @click.option(
        "--study",
        "study",
        default=None,
        metavar="NAME",
        help="Report a `kagglekit tune` study instead of runs (`kagglekit runs` lists them).",
    )
    @click.option(
        "--auto",
        "auto_name",
        default=None,
        metavar="NAME",
        help="Report a `kagglekit auto` session (its last line names it).",
    )
    @click.option(
        "--storage",
        default=None,
        metavar="URL",
        help="With --study: its Optuna storage when it is not the runs folder's SQLite file "
        "(study.json keeps no password).",
    )
    @click.option(
        "--output",
        "-o",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("reports"),
        show_default=True,
        help="Folder for the report (reports/<slug>/<run-id>.html, "
        "reports/<slug>/study-<name>.html).",
    )
    @click.option("--open", "open_it", is_flag=True, help="Open the report in a web browser.")
    @runs_dir_option
    @json_option
    def report(run_refs, study, auto_name, storage, output, open_it, runs_dir, as_json):
        """Write one self-contained HTML report (plots inline) of a run, comparing runs, or
        of a tuning study (--study NAME).

        One RUN: scores with their fold spread and the nested threshold figure, per-fold
        scores, OOF ROC/PR curves, threshold curve, confusion matrix, calibration, score
        by text length, the most confidently wrong rows, learning curves, embedding
        coverage, blend weights, data summary. Several RUNs: overlaid curves, the
        correlation of their OOF predictions and their scores side by side. --study NAME:
        the best CV (optimistic) beside the holdout score (held out), the optimisation
        history, parameter importances, each parameter against the objective, every trial.
        --auto NAME: each candidate's fold-1 score and time, what was dropped and why,
        the tuning, the blend's weights, the holdout figure beside the CV.

        Example: kagglekit report RUN --open; kagglekit report --study NAME
        """
        if auto_name:
            if run_refs or study:
                raise KaggleKitError("give RUNs, --study NAME or --auto NAME, one of them")
            from kagglekit.report.auto import write_auto_report
            from kagglekit.store.folder import RunsFolder

            path, payload = write_auto_report(RunsFolder(runs_dir), auto_name, output)
            info(f"Report of auto session {auto_name}: {path}")
        elif study:
            if run_refs:
                raise KaggleKitError("give RUNs or --study NAME, not both")
            path, payload = _study_report(study, storage, output, runs_dir)
        else:
            if storage:
                raise KaggleKitError("--storage goes with --study NAME")
            if not run_refs:
                raise KaggleKitError("give the runs to report (RUN [RUN ...]) or --study NAME")
            path, payload = _runs_report(run_refs, output, runs_dir)
        if open_it:
            import webbrowser

            webbrowser.open(path.resolve().as_uri())
        if as_json:
            emit_json(payload)
        else:
            click.echo(str(path))


def _runs_report(run_refs, output, runs_dir) -> tuple[Path, dict]:
    from kagglekit.report import write_report

    runs = [_resolve(ref, runs_dir) for ref in run_refs]
    path = write_report(runs, output)
    info(f"Report of {', '.join(r.id for r in runs)}: {path}")
    # the first run's fields (as every --json), the report's path, every run
    payload = runs[0].summary()
    payload.update(
        path=str(path.resolve()),
        runs=[r.id for r in runs],
        summaries=[r.summary() for r in runs],
    )
    return path, payload


def _resolve(ref, runs_dir):
    """A run; when there is none of that name but a study is, the error says --study."""
    from kagglekit.store.folder import RunsFolder

    try:
        return resolve_run(ref, runs_dir)
    except RunError as exc:
        if (RunsFolder(runs_dir).study_dir(ref) / "study.json").is_file():
            raise RunError(f"{exc}; {ref} is a study: kagglekit report --study {ref}") from None
        raise


def _study_report(name, storage, output, runs_dir) -> tuple[Path, dict]:
    from kagglekit.report.study import write_study_report
    from kagglekit.store.folder import RunsFolder

    path, payload = write_study_report(RunsFolder(runs_dir), name, output, storage=storage)
    info(f"Report of study {name}: {path}")
    return path, payload
