"""``blend``: runs made on identical folds blended into a new run; a plugin like any other.
(Its table, ``output.print_report``, is also what ``cv --ensemble`` prints.)"""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.blend import BLEND_METHODS, META_MODELS
from kagglekit.cli.options import (
    json_option,
    runs_dir_option,
    said_tracked,
    tracking_from,
    tracking_options,
)
from kagglekit.cli.output import blend_report, emit_json, info, print_report
from kagglekit.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_refs", nargs=-1, required=True, metavar="RUN RUN ...")
    @click.option(
        "--method",
        type=click.Choice(list(BLEND_METHODS)),
        default="mean",
        show_default=True,
        help="mean | rank (mean rank) | weighted (weights optimised on OOF, nested CV) "
        "| stack (meta-model, nested CV) | vote (members' labels).",
    )
    @click.option(
        "--objective",
        metavar="METRIC",
        help="Metric the weighted blend optimises [default: the competition's].",
    )
    @click.option(
        "--meta-model",
        type=click.Choice(list(META_MODELS)),
        default="logistic",
        show_default=True,
        help="The stack's meta-model.",
    )
    @click.option(
        "--seed", type=int, default=None, help="Seed of the meta-model [default: the first run's]."
    )
    @click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        help="Where the training labels are [default: the runs' data folder].",
    )
    @tracking_options
    @runs_dir_option
    @json_option
    def blend(
        run_refs,
        method,
        objective,
        meta_model,
        seed,
        data_dir,
        tracker,
        log_models,
        runs_dir,
        as_json,
    ):
        """Blend runs made on identical folds into a new run, from their OOF predictions.

        Refused when the runs' competition, training rows, row order or folds differ.
        Weighted and stack blends are nested inside the folds, so their scores are
        cross-validated; the in-sample score is shown beside them.

        Example: kagglekit blend RUN1 RUN2 --method rank
        """
        from kagglekit import plugins
        from kagglekit.blend import check_distinct, create_blend
        from kagglekit.store.refs import resolve_run

        if objective:
            plugins.get_metric(objective)
        runs = [resolve_run(ref, runs_dir) for ref in run_refs]
        check_distinct(runs)
        tracking = tracking_from(tracker, log_models, {}, runs_dir)
        with tracking.run(runs[0].competition, f"blend-{method}") as tracked:
            run = create_blend(
                runs,
                method,
                runs_dir,
                data_dir=data_dir,
                objective=objective,
                meta_model=meta_model,
                seed=seed,
            )
            tracked.log_run(run)
        said_tracked(tracking)
        if run.info.get("sample"):
            info("Note: these runs used a generated sample, not the real data.")
        if as_json:
            emit_json(blend_report(run))
        else:
            print_report(run)
