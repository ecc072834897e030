"""``fit``: train on all training rows and predict the test file, reproducing a CV run."""

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
from kagglekit.cli.output import emit_json, info, job_line, run_payload, said_reused
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.params import load_config, resolve_models
from kagglekit.pseudo import check_soft_targets


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition", required=False)
    @training_options
    @job_options
    @click.option(
        "--from",
        "from_run",
        metavar="RUN",
        help="The CV run whose recipe to reproduce (threshold; epochs and learning "
        "rates of neural models) [default: the newest CV run of the same model, "
        "params and text preparation in --runs-dir].",
    )
    @click.option(
        "--threshold-from", "threshold_run", metavar="RUN", hidden=True, help="Old name of --from."
    )
    @click.option(
        "--threshold",
        type=float,
        default=None,
        help="A decision threshold of your own for label submissions (recorded as "
        "such) instead of a CV run's.",
    )
    @new_option
    @tracking_options
    @data_options
    @runs_dir_option
    @json_option
    def fit(
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
        from_run,
        threshold_run,
        threshold,
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
        """Train on all training rows and predict the test file, reproducing a CV run's recipe.

        The threshold (and a neural model's epochs and learning rates) come from a CV run
        of the same model and params: --from RUN, else the newest matching CV run. Without
        one, a competition scored on labels (F1) is refused before any training: run
        `kagglekit cv` first or pass --threshold.

        Example: kagglekit fit disaster-tweets --model tfidf-nb --from RUN
        """
        from kagglekit.cv import run_fit
        from kagglekit.params import split_competition_params
        from kagglekit.store.fitsource import fit_sources

        ctx = click.get_current_context()
        if resume:
            return ctx.invoke(fit, **resume_params(resume, runs_dir, ctx))
        params = ctx.params["params"] = with_params_file(params, params_file)
        ctx.params["params_file"] = None  # merged into params, as run.json records them
        command_params = storable_params(ctx.params)
        cfg = load_config(config)
        if not competition:
            raise KaggleKitError("no competition given; pass COMPETITION (or --resume RUN)")
        comp = plugins.get_competition(competition)
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg, runs_dir)
        seeds = resolve_seeds(seed, n_seeds, cfg)
        seed = seeds[0]
        runner = make_executor(executor, workers, address)
        tracking = tracking_from(tracker, log_models, cfg, runs_dir)
        if from_run and threshold_run:
            raise KaggleKitError("give --from or --threshold-from (its old name), not both")
        from_run = from_run or threshold_run
        if from_run and threshold is not None:
            raise KaggleKitError(
                "give --from RUN (the CV run's threshold) or --threshold, not both"
            )
        if from_run and len(chosen) > 1:
            raise KaggleKitError(
                "--from RUN reproduces one model's CV run; fit one --model at a time with it"
            )
        if threshold is not None and not 0 <= threshold <= 1:
            raise KaggleKitError(f"--threshold must be in [0, 1], got {threshold}")
        data = load_data(
            comp,
            data_options_from(
                data_dir,
                sample,
                encoding,
                allow_empty_text,
                prepare,
                runs_dir,
                competition_params=comp_params,
            ),
        )
        check_soft_targets(data, chosen)
        # every model's CV run (or --threshold) settled before any training
        plans = fit_sources(
            chosen,
            data,
            runs_dir,
            competition=competition,
            seed=seed,
            from_run=from_run,
            threshold=threshold,
        )
        results = []
        for plan in plans:
            if plan.message:
                info(plan.message)
            name = plan.name
            info(f"{name}: fitting on all {len(data.train)} rows of {comp.slug}")
            with interrupts(), tracking.run(comp.slug, name, seeds=seeds) as tracked:
                run = run_fit(
                    comp,
                    name,
                    plan.cls,
                    plan.params,
                    data,
                    seed=seed,
                    runs_dir=runs_dir,
                    threshold=plan.threshold,
                    threshold_source=plan.threshold_source,
                    source=plan.source,
                    seeds=seeds,
                    executor=runner,
                    on_event=tracked.watch(job_line),
                    command=command_line(),
                    command_params=command_params,
                    keep_jobs=len(chosen) > 1,
                    new=new,
                    on_reused=said_reused("fit"),
                )
                tracked.log_run(run, data)
            said_tracked(tracking)
            results.append(run)
            if not as_json:
                click.echo(f"Run: {run.path}")
        if as_json:
            payload = run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [run_payload(r) for r in results]
            emit_json(payload)
        forget(runs_dir, results)
