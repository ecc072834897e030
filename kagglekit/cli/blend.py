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
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl


def top_members(runs, k, study, competition, runs_dir):
    """--top K: the members, chosen by held-out score among the given runs, a study's
    trials or a competition's runs; says which were chosen and how many were left out."""
    from kagglekit import plugins
    from kagglekit.blend.candidates import top_candidates
    from kagglekit.store.folder import RunsFolder
    from kagglekit.store.refs import resolve_run
    from kagglekit.store.run import list_runs

    where = "the runs given"
    if study:
        from kagglekit.tune.run import read_study

        record = read_study(RunsFolder(runs_dir), study)
        runs = runs + [resolve_run(run_id, runs_dir) for run_id in record.get("runs", [])]
        where = f"study {study}'s trials"
    elif not runs:
        if not competition:
            raise KaggleKitError("--top K needs RUNs, --study NAME or --competition C")
        runs = list_runs(runs_dir, plugins.get_competition(competition).slug)
        where = f"the {competition} runs in {runs_dir}"
    if not runs:
        raise KaggleKitError(f"--top {k}: no runs among {where}")
    comp = plugins.get_competition(runs[0].competition)
    chosen, left_out = top_candidates(runs, comp.metric, k)
    out = ", ".join(f"{n} {why}" for why, n in left_out.items())
    info(
        f"--top {k}: {len(chosen)} of {len(runs)} runs among {where}, by held-out "
        f"{comp.metric}" + (f" (left out: {out})" if out else "")
    )
    return chosen


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_refs", nargs=-1, metavar="RUN RUN ...")
    @click.option(
        "--method",
        type=click.Choice(list(BLEND_METHODS)),
        default="mean",
        show_default=True,
        help="mean | rank (mean rank) | weighted (weights optimised on OOF, nested CV) "
        "| stack (meta-model, nested CV) | vote (members' labels) | hill-climb (greedy "
        "selection with replacement, nested CV), or one a plugin registers.",
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
        "--top",
        type=int,
        default=None,
        metavar="K",
        help="Blend the K best runs by held-out score among the RUNs given, a --study's "
        "trials, or every run of --competition (those blendable with the best one).",
    )
    @click.option("--study", default=None, help="With --top: choose among a tune study's trials.")
    @click.option(
        "--competition", default=None, help="With --top: choose among this competition's runs."
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
        top,
        study,
        competition,
        data_dir,
        tracker,
        log_models,
        runs_dir,
        as_json,
    ):
        """Blend runs made on identical folds into a new run, from their OOF predictions.

        Refused when the runs' competition, training rows, row order or folds differ.
        Weighted, stack, vote and hill-climb blends are nested inside the folds, so their
        scores are cross-validated; the in-sample score is shown beside them. --top K
        chooses the members by held-out score instead of naming them.

        Example: kagglekit blend RUN1 RUN2 --method rank

        Or: kagglekit blend --top 5 --competition quora --method hill-climb
        """
        from kagglekit import plugins
        from kagglekit.blend import check_distinct, create_blend
        from kagglekit.store.refs import resolve_run

        if objective:
            plugins.get_metric(objective)
        runs = [resolve_run(ref, runs_dir) for ref in run_refs]
        if top is not None:
            runs = top_members(runs, top, study, competition, runs_dir)
        elif study or competition:
            raise KaggleKitError("--study and --competition choose members with --top K")
        elif len(runs) < 2:
            raise KaggleKitError(
                f"a blend needs at least two runs, got {len(runs)}: give RUN RUN ..., or "
                f"--top K to choose them"
            )
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
