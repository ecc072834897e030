"""``cv``: cross-validate a competition's models into runs (and blend them, --ensemble)."""

from __future__ import annotations

import click

from kagglekit import plugins
from kagglekit.cli.options import (
    command_line,
    data_options,
    data_options_from,
    forget,
    interrupts,
    job_options,
    json_option,
    load_data,
    make_executor,
    new_option,
    resolve_seeds,
    resume_params,
    runs_dir_option,
    said_tracked,
    storable_params,
    tracking_from,
    tracking_options,
    training_options,
    with_params_file,
)
from kagglekit.cli.output import (
    blend_report,
    emit_json,
    info,
    job_line,
    print_report,
    run_payload,
    said_reused,
    score_table,
)
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.params import load_config, resolve_models
from kagglekit.pseudo import check_soft_targets


def cv_table(run) -> None:
    """Per-fold scores and the OOF figures, each labelled held out or not."""
    info_ = run.info
    labels = info_.get("threshold_metric")
    metrics = list(run.scores)
    columns = ["rows", *metrics] + (["threshold"] if labels else [])
    thresholds = info_.get("fold_thresholds") or {}
    held = info_.get("held_out", True)
    nested = info_.get("nested_scores")
    mark = "" if held else " (NOT held out)"
    if labels and not nested:  # one scored fold: its threshold was chosen on its own rows
        mark += " (threshold tuned on these rows, optimistic)"
    rows = [
        {
            "rows": f"fold {f['fold']}{mark}",
            **{m: f[m] for m in metrics},
            "threshold": thresholds.get(str(f["fold"])),
        }
        for f in info_["fold_scores"]
    ]
    if labels:
        if nested:
            rows.append(
                {
                    "rows": "OOF, nested" + ("" if held else " (NOT held out)"),
                    **nested,
                    "threshold": "per fold",
                }
            )
        rows.append(
            {
                "rows": "OOF, threshold tuned on these rows (optimistic)",
                **run.scores,
                "threshold": run.threshold,
            }
        )
    else:
        rows.append({"rows": "OOF" + ("" if held else " (NOT held out)"), **run.scores})
    title = f"{run.model} on {run.competition}"
    if labels and nested:
        title += (
            f"  ({labels} thresholds: each fold's chosen on the other folds; "
            f"{run.threshold:.3f} on all OOF rows labels the test predictions)"
        )
    elif labels:
        title += (
            f"  ({labels} threshold {run.threshold:.3f}, chosen on the one scored fold: "
            f"no held-out {labels})"
        )
    score_table(title, rows, columns)


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition", required=False)
    @training_options
    @job_options
    @click.option("--folds", "-k", type=int, default=None, help="Number of folds [default: 5].")
    @click.option(
        "--cv",
        "scheme",
        default="auto",
        show_default=True,
        metavar="SCHEME",
        help="Fold scheme: auto, stratified, multilabel, group, kfold, or one a plugin registers.",
    )
    @click.option(
        "--group-duplicates/--no-group-duplicates",
        default=True,
        show_default=True,
        help="Keep exact duplicate texts (after text preparation) in one fold.",
    )
    @click.option(
        "--ensemble",
        "ensembles",
        multiple=True,
        metavar="METHOD",
        help="Also blend the models' runs (mean, rank, weighted, stack, vote) into a "
        "run of their own; repeatable. See `kagglekit blend`.",
    )
    @click.option(
        "--validation-as-fold",
        is_flag=True,
        help="Score on the competition's official validation file (one fold).",
    )
    @new_option
    @tracking_options
    @data_options
    @runs_dir_option
    @json_option
    def cv(
        competition,
        models,
        params,
        params_file,
        config,
        seed,
        executor,
        workers,
        address,
        n_seeds,
        resume,
        folds,
        scheme,
        group_duplicates,
        ensembles,
        validation_as_fold,
        new,
        tracker,
        log_models,
        data_dir,
        sample,
        encoding,
        allow_empty_text,
        prepare,
        runs_dir,
        as_json,
    ):
        """Stratified K-fold CV: saves folds, OOF and test predictions and scores as a run.

        Example: kagglekit cv disaster-tweets --model tfidf-lr --folds 5 --seed 42
        """
        from kagglekit.cv import run_cv
        from kagglekit.params import split_competition_params

        ctx = click.get_current_context()
        if resume:
            return ctx.invoke(cv, **resume_params(resume, runs_dir, ctx))
        params = ctx.params["params"] = with_params_file(params, params_file)
        ctx.params["params_file"] = None  # merged into params, as run.json records them
        command_params = storable_params(ctx.params)
        cfg = load_config(config)
        comp_name = competition or cfg.get("competition")
        if not comp_name:
            raise KaggleKitError("no competition given; pass COMPETITION (or --resume RUN)")
        comp = plugins.get_competition(comp_name)
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg, runs_dir)
        if ensembles:
            from kagglekit.blend import get_method

            for method in ensembles:
                get_method(method)
            if len(chosen) < 2:
                raise KaggleKitError(f"--ensemble needs at least two --model, got {len(chosen)}")
        if validation_as_fold and folds is not None:
            info(
                f"Note: --folds {folds} is ignored: --validation-as-fold scores on the one "
                f"official validation fold"
            )
        folds = folds if folds is not None else int(cfg.get("folds", 5))
        seeds = resolve_seeds(seed, n_seeds, cfg)
        seed = seeds[0]
        runner = make_executor(executor, workers, address)
        tracking = tracking_from(tracker, log_models, cfg, runs_dir)
        data = load_data(
            comp,
            data_options_from(
                data_dir,
                sample,
                encoding,
                allow_empty_text,
                prepare,
                runs_dir,
                validation_as_fold=validation_as_fold,
                competition_params=comp_params,
            ),
        )
        check_soft_targets(data, chosen)
        from kagglekit.folds import dataset_folds

        plan = dataset_folds(data, folds, seed, scheme, group_duplicates)  # shared by every model
        dup = plan.duplicates
        if dup and dup["groups"]:
            how = (
                "kept in one fold each"
                if dup["kept_together"]
                else "NOT kept together (--no-group-duplicates): duplicates straddle folds"
            )
            info(
                f"Note: {dup['groups']} groups of identical texts ({dup['rows']} rows, "
                f"{dup['conflicting_labels']} with conflicting labels) {how}"
            )
        results = []
        for name, cls, model_params in chosen:
            how = "validation-fold" if plan.scheme == "predefined" else f"{folds}-fold"
            info(
                f"{name}: {how} CV on {comp.slug} (seed {', '.join(map(str, seeds))}; "
                f"{runner.describe()})"
            )

            # each fold's score is printed once: its progress line (a figure that needs no
            # threshold) as it finishes, then the table (every metric at its nested threshold)
            with interrupts(), tracking.run(comp.slug, name, seeds=seeds) as tracked:
                run = run_cv(
                    comp,
                    name,
                    cls,
                    model_params,
                    data,
                    n_folds=folds,
                    seed=seed,
                    scheme=plan.scheme,
                    runs_dir=runs_dir,
                    folds=plan,
                    seeds=seeds,
                    executor=runner,
                    on_event=tracked.watch(job_line),
                    command=command_line(),
                    command_params=command_params,
                    keep_jobs=len(chosen) > 1,
                    new=new,
                    on_reused=said_reused("cv"),
                )
                tracked.log_run(run, data)
            said_tracked(tracking)
            results.append(run)
            if not as_json:
                cv_table(run)
                click.echo(f"Run: {run.path}")
            for reason in run.info.get("not_held_out_because", []):
                info(f"Note: {name}'s scores are NOT held out: {reason}")
        blends = []
        if ensembles:  # the blends are runs of their own, linking their members
            from kagglekit.blend.create import ensemble_blends

            current: list = []  # the blend being made, tracked from before() to after()

            def before(method, reused):
                current[:] = [tracking.run(comp.slug, f"blend-{method}").__enter__()]
                if reused is not None:
                    info(
                        f"Reused blend run {reused.id}: the {method} blend of the same "
                        f"{len(results)} runs (--new makes a new one)"
                    )
                else:
                    info(f"{method} blend of {len(results)} runs")

            def after(blend_run):
                tracked = current.pop()
                tracked.log_run(blend_run)
                tracked.__exit__(None, None, None)
                if not as_json:
                    print_report(blend_run)
                said_tracked(tracking)

            blends = ensemble_blends(
                results, ensembles, runs_dir, new=new, before=before, after=after
            )
        if as_json:
            payload = blend_report(blends[0]) if blends else run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [run_payload(r) for r in results]
            if blends:
                payload["blends"] = [blend_report(b) for b in blends]
            emit_json(payload)
        forget(runs_dir, results)
