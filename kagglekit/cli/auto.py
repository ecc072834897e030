"""``auto``: from the competition files to a validated submission within a time budget
(kagglekit.auto)."""

from __future__ import annotations

import click

from kagglekit import plugins
from kagglekit.cli.options import (
    data_options,
    data_options_from,
    interrupts,
    json_option,
    load_data,
    make_executor,
    runs_dir_option,
)
from kagglekit.cli.output import emit_json, info, job_line, score_table
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl


def headline(record: dict) -> list[dict]:
    """The figures auto reports, each labelled: the holdout (held out) beside the CV of the
    chosen blend (chosen on those rows) and the best single default model's."""
    metric = record["metric"]
    steps = record["steps"]
    holdout, blend = steps.get("holdout") or {}, steps.get("blend") or {}
    rows = [
        {
            "figure": f"holdout ({holdout.get('rows', 0):,} untouched rows): held out",
            metric: (holdout.get("final") or {}).get("value"),
        },
        {
            "figure": f"CV of the chosen {'blend' if len(blend.get('members', [])) > 1 else 'run'}"
            " (chosen on these rows: optimistic)",
            metric: blend.get("cv"),
        },
    ]
    best = holdout.get("best_default")
    if best:
        rows.append(
            {
                "figure": f"holdout, best single default model ({best['model']})",
                metric: best["value"],
            }
        )
    return rows


def print_summary(record: dict) -> None:
    metric = record["metric"]
    screening = record["steps"].get("screening") or {}
    rows = [
        {
            "model": model,
            "fold 1": s.get("fold1"),
            "seconds": s.get("seconds"),
            "status": s["status"] + (f": {s['why']}" if s.get("why") else ""),
        }
        for model, s in screening.items()
    ]
    if rows:
        score_table("candidates (fold 1)", rows, ["model", "fold 1", "seconds", "status"])
    score_table(f"kagglekit auto: {record['competition']}", headline(record), ["figure", metric])


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition")
    @click.option(
        "--budget",
        required=True,
        metavar="DURATION",
        help="Time for the whole command, submission included (e.g. 600, 30m, 2h).",
    )
    @click.option(
        "--models",
        default=None,
        metavar="LIST",
        help="Comma-separated models to consider instead of the portfolio for this machine.",
    )
    @click.option("--seeds", "n_seeds", type=click.IntRange(min=1), default=1, show_default=True)
    @click.option("--seed", type=int, default=42, show_default=True)
    @click.option("--folds", "-k", type=click.IntRange(min=2), default=5, show_default=True)
    @click.option(
        "--holdout",
        type=float,
        default=0.15,
        show_default=True,
        help="Share of the training rows nothing auto trains or chooses on sees; the "
        "reported figure is scored there.",
    )
    @click.option(
        "--executor",
        default="auto",
        show_default=True,
        help="Who runs the fold jobs (as for cv): auto, in-process, local, ray.",
    )
    @click.option("--workers", type=click.IntRange(min=1), default=None)
    @click.option("--address", metavar="ADDR", default=None, help="--executor ray: the cluster.")
    @click.option(
        "--upload",
        is_flag=True,
        help="Send the validated submission to Kaggle (needs Kaggle credentials).",
    )
    @data_options
    @runs_dir_option
    @json_option
    def auto(
        competition,
        budget,
        models,
        n_seeds,
        seed,
        folds,
        holdout,
        executor,
        workers,
        address,
        upload,
        data_dir,
        sample,
        encoding,
        allow_empty_text,
        prepare,
        runs_dir,
        as_json,
    ):
        """A Kaggler's first day within a time budget: fold 1 of every model that fits the
        machine, the weak and the slow dropped, the rest finished, the best family tuned, a
        hill-climbing blend, a figure on an untouched holdout, a refit on every row when the
        budget allows, a validated submission. The same command after a crash or Ctrl-C
        continues where it stopped.

        Example: kagglekit auto quora --budget 2h
        """
        import time

        from kagglekit.auto import AutoOptions, run_auto

        started = time.monotonic()
        from kagglekit.cli.tune import seconds, trial_line
        from kagglekit.store.folder import RunsFolder

        total = seconds(budget, "--budget")
        if total is None or total <= 0:
            raise KaggleKitError(f"--budget {budget!r}: give a positive duration (e.g. 30m)")
        comp = plugins.get_competition(competition)
        if upload:
            from kagglekit.cli.submit import submit_output  # noqa: F401 - checked below

        names = [m.strip() for m in models.split(",") if m.strip()] if models else None
        runner = make_executor(executor, workers, address)
        data = load_data(
            comp,
            data_options_from(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir),
        )
        options = AutoOptions(
            budget=total,
            models=names,
            n_seeds=n_seeds,
            seed=seed,
            n_folds=folds,
            holdout=holdout,
            started=started,
        )
        # Ctrl-C or SIGTERM, in a fold job or between them: one line, exit status 130
        with interrupts(
            "Interrupted: finished steps, runs, jobs and trials are kept; the same command "
            "continues."
        ):
            result = run_auto(
                comp,
                data,
                RunsFolder(runs_dir),
                options,
                executor=runner,
                on_note=info,
                on_event=job_line,
                on_trial=trial_line,
            )
        payload = result.payload()
        if upload and result.submission is not None:
            from kagglekit.cli.submit import submit_output, upload_submission

            run = result.submitted_run or result.final_run
            path = submit_output(comp, run, result.submission, True, False)
            payload["upload"] = upload_submission(comp, run, path, None, False, 0.0, as_json)
        if as_json:
            emit_json(payload)
            return
        print_summary(result.record)
        if result.submission is not None:
            click.echo(f"Submission: {result.submission}")
        click.echo(f"Report: kagglekit report --auto {result.name}")
