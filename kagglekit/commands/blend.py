"""The ``blend`` command, and the blends ``cv --ensemble`` makes; a plugin like any other."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kagglekit.blend import BLEND_METHODS, META_MODELS
from kagglekit.commands.options import emit_json, info, json_option, runs_dir_option
from kagglekit.hookspecs import hookimpl


def blend_report(run) -> dict:
    """One JSON-able object: the blend run's summary, its members' scores and weights."""
    out = run.summary()
    out["path"] = str(run.path)
    for key in ("method", "member_runs", "weights", "scores_in_sample", "fold_spread",
                "threshold_metric"):
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
    from kagglekit.runs import Run

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
        notes += [f"{', '.join(sorted(tuned))}: held out (nested: each fold at a threshold "
                  f"chosen on the other folds)",
                  "*: optimistic, at the threshold tuned on all OOF rows: NOT held out"]
    if run.info.get("scores_in_sample"):
        notes.append("in-sample: the final blender scored on the rows it was fit on, NOT held "
                     "out")
    table = Table(title=title, caption="\n".join(notes) or None, caption_justify="left")
    optimistic = [m for m in metrics if m in tuned]
    columns = ["run", "model", weight_title, *metrics, *[f"{m}*" for m in optimistic]]
    for column in columns:
        table.add_column(column, justify="left" if column in ("run", "model") else "right",
                         no_wrap=column != "model", overflow="fold")
    for member in run.info.get("member_runs", []):
        weight = _weight_text(member["weights"])
        if member.get("duplicate_of"):
            weight = f"0 (= {_short(member['duplicate_of'])})"
        nested = _member_nested(member)
        table.add_row(_short(member["run_id"]), member["model"], weight,
                      *[_fmt(_held_out(member["scores"], nested, m, tuned), "n/a")
                        for m in metrics],
                      *[_fmt(member["scores"].get(m)) for m in optimistic])
    nested = run.info.get("nested_scores")
    table.add_row("blend", run.model, "",
                  *[_fmt(_held_out(run.scores, nested, m, tuned), "n/a") for m in metrics],
                  *[_fmt(run.scores.get(m)) for m in optimistic], style="bold")
    if run.info.get("scores_in_sample"):
        table.add_row("blend, in-sample (NOT held out)", "", "",
                      *[_fmt(run.info["scores_in_sample"].get(m)) for m in metrics],
                      *["" for _ in optimistic], style="dim")
    Console(file=sys.stdout, width=120).print(table)
    click.echo(f"Run: {run.path}")


def _short(run_id: str) -> str:
    """The run id's unique tail (the full ids are in --json and run.json)."""
    return "…" + run_id.rsplit("-", 1)[-1]


def _fmt(value, missing: str = "") -> str:
    return missing if value is None else f"{value:.4f}"


def ensemble_runs(member_runs, methods, runs_dir: Path, as_json: bool, new: bool = False) -> list:
    """What ``cv --ensemble`` calls once its member runs are done: one blend run per method
    (the blend made earlier of the same member runs is reused, unless ``new``)."""
    from kagglekit.blend import create_blend, finished_blend

    blends = []
    for method in methods:
        blend = None if new else finished_blend(list(member_runs), method, runs_dir)
        if blend is not None:
            info(f"Reused blend run {blend.id}: the {method} blend of the same {len(member_runs)} "
                 f"runs (--new makes a new one)")
        else:
            info(f"{method} blend of {len(member_runs)} runs")
            blend = create_blend(list(member_runs), method, runs_dir)
        blends.append(blend)
        if not as_json:
            print_report(blend)
    return blends


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_refs", nargs=-1, required=True, metavar="RUN RUN ...")
    @click.option("--method", type=click.Choice(list(BLEND_METHODS)), default="mean",
                  show_default=True,
                  help="mean | rank (mean rank) | weighted (weights optimised on OOF, nested CV) "
                       "| stack (meta-model, nested CV) | vote (members' labels).")
    @click.option("--objective", metavar="METRIC",
                  help="Metric the weighted blend optimises [default: the competition's].")
    @click.option("--meta-model", type=click.Choice(list(META_MODELS)), default="logistic",
                  show_default=True, help="The stack's meta-model.")
    @click.option("--seed", type=int, default=None,
                  help="Seed of the meta-model [default: the first run's].")
    @click.option("--data-dir", type=click.Path(path_type=Path),
                  help="Where the training labels are [default: the runs' data folder].")
    @runs_dir_option
    @json_option
    def blend(run_refs, method, objective, meta_model, seed, data_dir, runs_dir, as_json):
        """Blend runs made on identical folds into a new run, from their OOF predictions.

        Refused when the runs' competition, training rows, row order or folds differ.
        Weighted and stack blends are nested inside the folds, so their scores are
        cross-validated; the in-sample score is shown beside them.

        Example: kagglekit blend RUN1 RUN2 --method rank
        """
        from kagglekit import plugins
        from kagglekit.blend import check_distinct, create_blend
        from kagglekit.runs import resolve_run

        if objective:
            plugins.get_metric(objective)
        runs = [resolve_run(ref, runs_dir) for ref in run_refs]
        check_distinct(runs)
        run = create_blend(runs, method, runs_dir, data_dir=data_dir, objective=objective,
                           meta_model=meta_model, seed=seed)
        if run.info.get("sample"):
            info("Note: these runs used a generated sample, not the real data.")
        if as_json:
            emit_json(blend_report(run))
        else:
            print_report(run)
