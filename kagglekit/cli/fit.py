"""``fit``: train on all training rows and predict the test file, reproducing a CV run."""

from __future__ import annotations

import click

from kagglekit import plugins
from kagglekit.cli.options import (command_line, data_options, data_options_from, forget,
                                   interrupts, job_options, json_option, load_data,
                                   make_executor, new_option, resolve_seeds, resume_params,
                                   run_folder, runs_dir_option, storable_params,
                                   training_options)
from kagglekit.cli.output import emit_json, info, job_line, run_payload, said_reused
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.params import load_config, resolve_models
from kagglekit.pseudo import check_soft_targets
from kagglekit.runs import resolve_run


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition", required=False)
    @training_options
    @job_options
    @click.option("--from", "from_run", metavar="RUN",
                  help="The CV run whose recipe to reproduce (threshold; epochs and learning "
                       "rates of neural models) [default: the newest CV run of the same model, "
                       "params and text preparation in --runs-dir].")
    @click.option("--threshold-from", "threshold_run", metavar="RUN", hidden=True,
                  help="Old name of --from.")
    @click.option("--threshold", type=float, default=None,
                  help="A decision threshold of your own for label submissions (recorded as "
                       "such) instead of a CV run's.")
    @new_option
    @data_options
    @runs_dir_option
    @json_option
    def fit(competition, models, params, config, seed, executor, workers, address, n_seeds, resume,
            from_run, threshold_run, threshold, new, data_dir, sample, encoding, allow_empty_text,
            prepare, runs_dir, as_json):
        """Train on all training rows and predict the test file, reproducing a CV run's recipe.

        The threshold (and a neural model's epochs and learning rates) come from a CV run
        of the same model and params: --from RUN, else the newest matching CV run. Without
        one, a competition scored on labels (F1) is refused before any training: run
        `kagglekit cv` first or pass --threshold.

        Example: kagglekit fit disaster-tweets --model tfidf-nb --from RUN
        """
        from kagglekit.cv import run_fit
        from kagglekit.metrics import thresholded_metric
        from kagglekit.params import split_competition_params
        from kagglekit.recipe import matching_cv_run, recipe_differences
        from kagglekit.runs import base_record

        ctx = click.get_current_context()
        if resume:
            return ctx.invoke(fit, **resume_params(resume, runs_dir, ctx))
        command_params = storable_params(ctx.params)
        cfg = load_config(config)
        if not competition:
            raise KaggleKitError("no competition given; pass COMPETITION (or --resume RUN)")
        comp = plugins.get_competition(competition)
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg, run_folder(runs_dir))
        seeds = resolve_seeds(seed, n_seeds, cfg)
        seed = seeds[0]
        runner = make_executor(executor, workers, address)
        if from_run and threshold_run:
            raise KaggleKitError("give --from or --threshold-from (its old name), not both")
        from_run = from_run or threshold_run
        if from_run and threshold is not None:
            raise KaggleKitError("give --from RUN (the CV run's threshold) or --threshold, not both")
        if from_run and len(chosen) > 1:
            raise KaggleKitError("--from RUN reproduces one model's CV run; fit one --model at "
                                 "a time with it")
        if threshold is not None and not 0 <= threshold <= 1:
            raise KaggleKitError(f"--threshold must be in [0, 1], got {threshold}")
        data = load_data(comp, data_options_from(data_dir, sample, encoding, allow_empty_text,
                                                 prepare, runs_dir,
                                                 competition_params=comp_params))
        check_soft_targets(data, chosen)
        labels = thresholded_metric(data.competition) is not None
        needs = plugins.get_metric(comp.metric)  # its metric scores labels: a threshold is a must
        plans = []  # every model's CV run (or --threshold) settled before any training
        for name, cls, model_params in chosen:
            record = base_record("fit", data.competition, name, model_params, seed, data)
            source = None
            if from_run:
                source = resolve_run(from_run, runs_dir)
                differences = recipe_differences(source, record)
                if differences:
                    more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
                    raise KaggleKitError(f"--from {source.id}: not the same recipe: "
                                         f"{differences[0]}{more}; fit with the run's options "
                                         f"or run `kagglekit cv` with these")
            elif threshold is None:
                source = matching_cv_run(runs_dir, record)
            if source is None and threshold is None and needs.needs_threshold:
                raise KaggleKitError(
                    f"no CV run of {name} with these params in {runs_dir} to take its "
                    f"{needs.name} threshold from; run `kagglekit cv {competition} --model "
                    f"{name}` (same -p and data options) first, or pass --threshold T")
            plans.append((name, cls, model_params, source))
        results = []
        for name, cls, model_params, source in plans:
            if source is not None:
                chosen_threshold, threshold_source = source.threshold, source.id
                how = f"threshold {source.threshold:.4f} chosen on its OOF" if labels else \
                    "its recipe"
                info(f"{name}: reproducing CV run {source.id} ({how})")
            elif threshold is not None:
                chosen_threshold, threshold_source = threshold, "--threshold"
            else:
                chosen_threshold, threshold_source = (None if labels else 0.5), None
                if labels:  # only a secondary metric needs one (IMDb's accuracy)
                    info(f"Note: no CV run of {name} with these params in {runs_dir}: this fit "
                         f"gets no decision threshold and `submit` will refuse it; run "
                         f"`kagglekit cv {competition} --model {name}` (same -p options) first, "
                         f"or pass --threshold")
                else:
                    info(f"Note: no CV run of {name} with these params in {runs_dir}; training "
                         f"with the params as given")
            info(f"{name}: fitting on all {len(data.train)} rows of {comp.slug}")
            with interrupts():
                run = run_fit(comp, name, cls, model_params, data, seed=seed, runs_dir=runs_dir,
                              threshold=chosen_threshold, threshold_source=threshold_source,
                              source=source, seeds=seeds, executor=runner,
                              on_event=job_line, command=command_line(),
                              command_params=command_params, keep_jobs=len(chosen) > 1,
                              new=new, on_reused=said_reused("fit"))
            results.append(run)
            if not as_json:
                click.echo(f"Run: {run.path}")
        if as_json:
            payload = run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [run_payload(r) for r in results]
            emit_json(payload)
        forget(runs_dir, results)
