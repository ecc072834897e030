"""``cv`` and ``fit``: train a competition's models into runs."""

from __future__ import annotations


import click

from kagglekit import plugins
from kagglekit.hookspecs import hookimpl
from kagglekit.commands.options import (data_options, data_options_from, emit_json, info,
                                         json_option, load_data, run_payload, runs_dir_option,
                                         score_table, training_options)
from kagglekit.errors import KaggleKitError
from kagglekit.params import load_config, resolve_models


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition")
    @training_options
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
    @data_options
    @runs_dir_option
    @json_option
    def cv(competition, models, params, config, seed, folds, scheme, group_duplicates, ensembles,
           validation_as_fold, data_dir, sample, encoding, allow_empty_text, prepare, runs_dir,
           as_json):
        """Stratified K-fold CV: saves folds, OOF and test predictions and scores as a run.

        Example: kagglekit cv disaster-tweets --model tfidf-lr --folds 5 --seed 42
        """
        from kagglekit.cv import run_cv
        from kagglekit.params import split_competition_params

        cfg = load_config(config)
        comp = plugins.get_competition(competition or cfg.get("competition"))
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg)
        if ensembles:
            from kagglekit.blend import get_method

            for method in ensembles:
                get_method(method)
            if len(chosen) < 2:
                raise KaggleKitError(f"--ensemble needs at least two --model, got {len(chosen)}")
        if validation_as_fold and folds is not None:
            raise KaggleKitError("--validation-as-fold scores on the one official validation "
                                 "fold; drop --folds")
        folds = folds if folds is not None else int(cfg.get("folds", 5))
        seed = seed if seed is not None else int(cfg.get("seed", 42))
        data = load_data(comp, data_options_from(data_dir, sample, encoding, allow_empty_text,
                                                 prepare, runs_dir,
                                                 validation_as_fold=validation_as_fold,
                                                 competition_params=comp_params))
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
            info(f"{name}: {how} CV on {comp.slug} (seed {seed})")

            def on_fold(r):
                scores = "  ".join(f"{k}={v:.4f}" for k, v in r.scores.items())
                info(f"  fold {r.fold}: {scores}  ({r.seconds:.1f}s)")

            run = run_cv(comp, name, cls, model_params, data, n_folds=folds, seed=seed,
                         scheme=plan.scheme, runs_dir=runs_dir, folds=plan, on_fold=on_fold)
            results.append(run)
            if not as_json:
                rows = [{"fold": str(f["fold"]), **{m: f[m] for m in run.scores}}
                        for f in run.info["fold_scores"]]
                rows.append({"fold": "OOF", **run.scores})
                score_table(f"{name} on {comp.slug}  (threshold {run.threshold:.3f})",
                             rows, ["fold", *run.scores])
                click.echo(f"Run: {run.path}")
            if not run.info.get("held_out", True):
                info(f"Note: {name}'s score is NOT held out: it trained on the rows it was scored on")
        blends = []
        if ensembles:  # the blends are runs of their own, linking their members
            from kagglekit.commands.blend import blend_report, ensemble_runs

            blends = ensemble_runs(results, ensembles, runs_dir, as_json)
        if as_json:
            payload = blend_report(blends[0]) if blends else run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [run_payload(r) for r in results]
            if blends:
                payload["blends"] = [blend_report(b) for b in blends]
            emit_json(payload)

    @cli.command()
    @click.argument("competition")
    @training_options
    @click.option("--threshold", type=float, default=None,
                  help="Decision threshold for label submissions [default: 0.5].")
    @click.option("--threshold-from", "threshold_run", metavar="RUN",
                  help="Take the threshold chosen on a CV run's OOF predictions.")
    @data_options
    @runs_dir_option
    @json_option
    def fit(competition, models, params, config, seed, threshold, threshold_run, data_dir, sample,
            encoding, allow_empty_text, prepare, runs_dir, as_json):
        """Train on all training rows and predict test.csv (a run with no held-out score).

        Example: kagglekit fit disaster-tweets --model tfidf-nb --threshold-from RUN
        """
        from kagglekit.cv import run_fit
        from kagglekit.params import split_competition_params
        from kagglekit.runs import resolve_run

        cfg = load_config(config)
        comp = plugins.get_competition(competition)
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg)
        seed = seed if seed is not None else int(cfg.get("seed", 42))
        source = None
        if threshold is not None and threshold_run:
            raise KaggleKitError("give --threshold or --threshold-from, not both")
        if threshold_run:
            src = resolve_run(threshold_run, runs_dir)
            if src.competition != comp.slug:
                raise KaggleKitError(f"--threshold-from {src.id} is a {src.competition} run, "
                                     f"not {comp.slug}")
            threshold, source = src.threshold, src.id
        elif threshold is not None:
            if not 0 <= threshold <= 1:
                raise KaggleKitError(f"--threshold must be in [0, 1], got {threshold}")
            source = "--threshold"
        data = load_data(comp, data_options_from(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir,
                                         competition_params=comp_params))
        results = []
        for name, cls, model_params in chosen:
            info(f"{name}: fitting on all {len(data.train)} rows of {comp.slug}")
            run = run_fit(comp, name, cls, model_params, data, seed=seed, runs_dir=runs_dir,
                          threshold=0.5 if threshold is None else threshold,
                          threshold_source=source)
            results.append(run)
            if not as_json:
                click.echo(f"Run: {run.path}")
        if as_json:
            payload = run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [run_payload(r) for r in results]
            emit_json(payload)

