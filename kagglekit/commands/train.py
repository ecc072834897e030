"""``cv`` and ``fit``: train a competition's models into runs."""

from __future__ import annotations


import click

from kagglekit import plugins
from kagglekit.hookspecs import hookimpl
from kagglekit.commands.options import (data_options, data_options_from, emit_json, info,
                                         json_option, load_data, run_payload, runs_dir_option,
                                         score_table, training_options)
from kagglekit.errors import KaggleKitError
from kagglekit.executors import options as job_cli
from kagglekit.params import load_config, resolve_models
from kagglekit.pseudo import check_soft_targets
from kagglekit.runs import resolve_run


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
    rows = [{"rows": f"fold {f['fold']}{mark}", **{m: f[m] for m in metrics},
             "threshold": thresholds.get(str(f["fold"]))} for f in info_["fold_scores"]]
    if labels:
        if nested:
            rows.append({"rows": "OOF, nested" + ("" if held else " (NOT held out)"), **nested,
                         "threshold": "per fold"})
        rows.append({"rows": "OOF, threshold tuned on these rows (optimistic)", **run.scores,
                     "threshold": run.threshold})
    else:
        rows.append({"rows": "OOF" + ("" if held else " (NOT held out)"), **run.scores})
    title = f"{run.model} on {run.competition}"
    if labels and nested:
        title += (f"  ({labels} thresholds: each fold's chosen on the other folds; "
                  f"{run.threshold:.3f} on all OOF rows labels the test predictions)")
    elif labels:
        title += (f"  ({labels} threshold {run.threshold:.3f}, chosen on the one scored fold: "
                  f"no held-out {labels})")
    score_table(title, rows, columns)


def new_option(f):
    return click.option(
        "--new", is_flag=True,
        help="Compute a new run even when a finished run of the same jobs (data, folds, "
             "model, params, seeds) exists; without it that run is reused.")(f)


def said_reused(command: str):
    """What cv/fit say on stderr when the run asked for is already finished."""
    def say(run) -> None:
        info(f"Reused run {run.id}: a finished {command} run of the same jobs (data, folds, "
             f"model, params, seeds), so nothing was computed; add --new to compute a fresh "
             f"run")
    return say


def run_folder(runs_dir):
    """A run id (or unique prefix) under ``--runs-dir`` -> that run's folder; a folder as is
    (``-p teacher=RUN``)."""
    def find(ref: str) -> str:
        return str(resolve_run(ref, runs_dir).path.resolve())
    return find


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition", required=False)
    @training_options
    @job_cli.job_options
    @click.option("--folds", "-k", type=int, default=None, help="Number of folds [default: 5].")
    @click.option("--cv", "scheme", default="auto", show_default=True, metavar="SCHEME",
                  help="Fold scheme: auto, stratified, multilabel, group, kfold, or one a "
                       "plugin registers.")
    @click.option("--group-duplicates/--no-group-duplicates", default=True, show_default=True,
                  help="Keep exact duplicate texts (after text preparation) in one fold.")
    @click.option("--ensemble", "ensembles", multiple=True, metavar="METHOD",
                  help="Also blend the models' runs (mean, rank, weighted, stack, vote) into a "
                       "run of their own; repeatable. See `kagglekit blend`.")
    @click.option("--validation-as-fold", is_flag=True,
                  help="Score on the competition's official validation file (one fold).")
    @new_option
    @data_options
    @runs_dir_option
    @json_option
    def cv(competition, models, params, config, seed, executor, workers, address, n_seeds, resume,
           folds, scheme, group_duplicates, ensembles, validation_as_fold, new, data_dir, sample,
           encoding, allow_empty_text, prepare, runs_dir, as_json):
        """Stratified K-fold CV: saves folds, OOF and test predictions and scores as a run.

        Example: kagglekit cv disaster-tweets --model tfidf-lr --folds 5 --seed 42
        """
        from kagglekit.cv import run_cv
        from kagglekit.params import split_competition_params

        ctx = click.get_current_context()
        if resume:
            return ctx.invoke(cv, **job_cli.resume_params(resume, runs_dir, ctx))
        command_params = job_cli.storable_params(ctx.params)
        cfg = load_config(config)
        if not (competition or cfg.get("competition")):
            raise KaggleKitError("no competition given; pass COMPETITION (or --resume RUN)")
        comp = plugins.get_competition(competition or cfg.get("competition"))
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg, run_folder(runs_dir))
        if ensembles:
            from kagglekit.blend import get_method

            for method in ensembles:
                get_method(method)
            if len(chosen) < 2:
                raise KaggleKitError(f"--ensemble needs at least two --model, got {len(chosen)}")
        if validation_as_fold and folds is not None:
            info(f"Note: --folds {folds} is ignored: --validation-as-fold scores on the one "
                 f"official validation fold")
        folds = folds if folds is not None else int(cfg.get("folds", 5))
        seeds = job_cli.resolve_seeds(seed, n_seeds, cfg)
        seed = seeds[0]
        runner = job_cli.make_executor(executor, workers, address)
        data = load_data(comp, data_options_from(data_dir, sample, encoding, allow_empty_text,
                                                 prepare, runs_dir,
                                                 validation_as_fold=validation_as_fold,
                                                 competition_params=comp_params))
        check_soft_targets(data, chosen)
        from kagglekit.folds import dataset_folds

        plan = dataset_folds(data, folds, seed, scheme, group_duplicates)  # shared by every model
        dup = plan.duplicates
        if dup and dup["groups"]:
            how = "kept in one fold each" if dup["kept_together"] else \
                "NOT kept together (--no-group-duplicates): duplicates straddle folds"
            info(f"Note: {dup['groups']} groups of identical texts ({dup['rows']} rows, "
                 f"{dup['conflicting_labels']} with conflicting labels) {how}")
        results = []
        for name, cls, model_params in chosen:
            how = "validation-fold" if plan.scheme == "predefined" else f"{folds}-fold"
            info(f"{name}: {how} CV on {comp.slug} (seed {', '.join(map(str, seeds))}; "
                 f"{runner.describe()})")

            # each fold's score is printed once: its progress line (a figure that needs no
            # threshold) as it finishes, then the table (every metric at its nested threshold)
            with job_cli.interrupts():
                run = run_cv(comp, name, cls, model_params, data, n_folds=folds, seed=seed,
                             scheme=plan.scheme, runs_dir=runs_dir, folds=plan,
                             seeds=seeds, executor=runner, on_event=job_cli.progress,
                             command=job_cli.command_line(), command_params=command_params,
                             keep_jobs=len(chosen) > 1, new=new, on_reused=said_reused("cv"))
            results.append(run)
            if not as_json:
                cv_table(run)
                click.echo(f"Run: {run.path}")
            for reason in run.info.get("not_held_out_because", []):
                info(f"Note: {name}'s scores are NOT held out: {reason}")
        blends = []
        if ensembles:  # the blends are runs of their own, linking their members
            from kagglekit.commands.blend import blend_report, ensemble_runs

            blends = ensemble_runs(results, ensembles, runs_dir, as_json, new=new)
        if as_json:
            payload = blend_report(blends[0]) if blends else run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [run_payload(r) for r in results]
            if blends:
                payload["blends"] = [blend_report(b) for b in blends]
            emit_json(payload)
        job_cli.forget(runs_dir, results)

    @cli.command()
    @click.argument("competition", required=False)
    @training_options
    @job_cli.job_options
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
            return ctx.invoke(fit, **job_cli.resume_params(resume, runs_dir, ctx))
        command_params = job_cli.storable_params(ctx.params)
        cfg = load_config(config)
        if not competition:
            raise KaggleKitError("no competition given; pass COMPETITION (or --resume RUN)")
        comp = plugins.get_competition(competition)
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg, run_folder(runs_dir))
        seeds = job_cli.resolve_seeds(seed, n_seeds, cfg)
        seed = seeds[0]
        runner = job_cli.make_executor(executor, workers, address)
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
            with job_cli.interrupts():
                run = run_fit(comp, name, cls, model_params, data, seed=seed, runs_dir=runs_dir,
                              threshold=chosen_threshold, threshold_source=threshold_source,
                              source=source, seeds=seeds, executor=runner,
                              on_event=job_cli.progress, command=job_cli.command_line(),
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
        job_cli.forget(runs_dir, results)
