"""The built-in commands, registered like any plugin's through ``register_commands``."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from kagglekit import kaggle_commands, plugins
from kagglekit.errors import KaggleKitError, ParamError
from kagglekit.executors import options as job_cli
from kagglekit.hookspecs import hookimpl


def emit_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def info(message: str) -> None:
    click.echo(message, err=True)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print exactly one JSON object on stdout.")(f)


def runs_dir_option(f):
    return click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("runs"), show_default=True,
                        help="Where runs are kept.")(f)


def data_options(f):
    """--data-dir, --sample, --encoding, --allow-empty-text, --no-prepare."""
    options = [
        click.option("--data-dir", type=click.Path(path_type=Path),
                     help="Folder with the competition files (or a data root holding <slug>/)."),
        click.option("--sample", is_flag=True,
                     help="Use a small generated sample in the competition's exact schema."),
        click.option("--encoding", default="utf-8", show_default=True,
                     help="Encoding of the CSV files."),
        click.option("--allow-empty-text", is_flag=True,
                     help="Treat NaN/empty texts as empty strings instead of refusing them."),
        click.option("--prepare/--no-prepare", default=True, show_default=True,
                     help="Apply the competition's text preparation (URLs, HTML, ...)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def training_options(f):
    options = [
        click.option("--model", "-m", "models", multiple=True,
                     help="Model name (repeatable); `kagglekit models` lists them."),
        click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
                     help="Hyperparameter (repeatable); MODEL.KEY=VALUE for one model only."),
        click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="TOML file: model, folds, seed and a [params] table."),
        click.option("--seed", type=int, multiple=True,
                     help="Random seed [default: 42]; repeat it to average several seeds."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _load_config(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KaggleKitError(f"{path}: not valid TOML ({exc})") from None


def resolve_models(models, params, config: dict):
    """[(name, cls, Params instance)] from --model/-p/--config."""
    from kagglekit.params import build_params, parse_assignments

    names = list(models)
    if not names:
        cfg_model = config.get("model") or config.get("models")
        names = [cfg_model] if isinstance(cfg_model, str) else list(cfg_model or [])
    if not names:
        raise KaggleKitError("no model given; pass --model NAME (`kagglekit models` lists them)")
    cfg_params = dict(config.get("params", {}))
    cli_params = parse_assignments(params)
    out = []
    registry = plugins.models()
    canonical = [registry.resolve(n) for n in names]
    for name in canonical:
        cls = registry.get(name)
        values = {k: v for k, v in cfg_params.items() if not isinstance(v, dict)}
        values.update(cfg_params.get(name, {}) if isinstance(cfg_params.get(name), dict) else {})
        for key, value in cli_params.items():
            prefix, dot, rest = key.partition(".")
            if dot and prefix in canonical:
                if prefix == name:
                    values[rest] = value
            else:
                values[key] = value
        try:
            out.append((name, cls, build_params(cls.Params, values, name)))
        except ParamError:
            raise
    return out


def _data_options(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir, **more):
    from kagglekit.data import DataOptions

    return DataOptions(data_dir=data_dir, sample=sample, sample_root=Path(runs_dir) / "_samples",
                       encoding=encoding, allow_empty_text=allow_empty_text, prepare=prepare,
                       **more)


def _load(comp, options, need_test=True):
    from kagglekit.data import load_dataset

    data = load_dataset(comp, options, need_test=need_test)
    if data.sample:
        info(f"Using a generated sample of {len(data.train)} training rows in {data.directory} "
             f"(not real data: pass --data-dir or run `kagglekit fetch` for the real files)")
    else:
        info(f"Data: {data.directory} ({len(data.train)} train rows"
             f"{'' if data.test is None else f', {len(data.test)} test rows'})")
    for note in data.notes:
        info(f"Note: {note}")
    return data


def _score_table(title, rows, columns):
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="right" if c not in ("model", "run") else "left",
                         no_wrap=c == "run")
    for row in rows:
        table.add_row(*[_fmt(row.get(c)) for c in columns])
    Console(file=sys.stdout, width=max(100, 30 + 12 * len(columns))).print(table)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def _run_payload(run) -> dict:
    out = run.summary()
    out["path"] = str(run.path)
    return out


@hookimpl
def register_commands(cli):
    @cli.command()
    @json_option
    def competitions(as_json):
        """List the registered competitions.

        Example: kagglekit competitions --json
        """
        registry = plugins.competitions()
        rows = []
        for name, comp in sorted(registry.items.items()):
            row = comp.summary()
            row["plugin"] = registry.owners[name]
            rows.append(row)
        if as_json:
            emit_json({"competitions": rows})
            return
        for row in rows:
            aliases = ", ".join(row["aliases"])
            click.echo(f"{row['name']}  ({aliases})  {row['task']}, {row['metric']}  "
                       f"[{row['plugin']}]\n    {row['title']}")

    @cli.command()
    @json_option
    def models(as_json):
        """List the registered models and their hyperparameters.

        Example: kagglekit models --json
        """
        from kagglekit.params import describe

        registry = plugins.models()
        rows = []
        for name, cls in sorted(registry.items.items()):
            doc = (cls.__doc__ or "").strip().splitlines()
            rows.append({"name": name, "plugin": registry.owners[name],
                         "description": doc[0] if doc else "",
                         "params": describe(cls.Params)})
        if as_json:
            emit_json({"models": rows})
            return
        for row in rows:
            click.echo(f"{row['name']}  [{row['plugin']}]  {row['description']}")
            for p in row["params"]:
                click.echo(f"    {p['name']}: {p['type']} = {p['default']!r}")

    @cli.command("plugins")
    @json_option
    def plugins_command(as_json):
        """List the loaded plugins, their versions and what each registered.

        Example: kagglekit plugins --json
        """
        rows = plugins.plugin_listing()
        failed = plugins.failed_plugins()
        if as_json:
            emit_json({"plugins": rows, "failed": failed})
            return
        for row in rows:
            click.echo(f"{row['name']}  ({row['package']} {row['version']}, {row['module']})")
            for kind in ("competitions", "models", "metrics", "commands", "executors"):
                if row[kind]:
                    click.echo(f"    {kind}: {', '.join(row[kind])}")
        for row in failed:
            click.echo(f"{row['name']}  ({row['package']})  FAILED: {row['error']}")

    @cli.command()
    @click.option("--probe/--no-probe", default=False,
                  help="Import the Keras backend's framework and detect TPU/GPU/CPU for real.")
    @click.option("--accelerator", type=click.Choice(["auto", "cpu", "gpu", "tpu"]),
                  default="auto", show_default=True)
    @json_option
    def env(probe, accelerator, as_json):
        """Show the Python environment and the accelerator kagglekit would use.

        Example: kagglekit env --probe --json
        """
        from kagglekit.accelerator import describe_environment

        report = describe_environment(probe=probe, requested=accelerator)
        if as_json:
            emit_json(report)
            return
        for key, value in report.items():
            click.echo(f"{key}: {value}")

    @cli.command()
    @click.argument("competition", required=False)
    @training_options
    @job_cli.job_options
    @click.option("--folds", "-k", type=int, default=None, help="Number of folds [default: 5].")
    @click.option("--cv", "scheme", type=click.Choice(["auto", "stratified", "multilabel", "group", "kfold"]),
                  default="auto", show_default=True, help="Fold scheme.")
    @click.option("--ensemble", "ensembles", multiple=True, metavar="METHOD",
                  help="Also blend the models' runs (mean, rank, weighted, stack, vote) into a "
                       "run of their own; repeatable. See `kagglekit blend`.")
    @click.option("--validation-as-fold", is_flag=True,
                  help="Score on the competition's official validation file (one fold).")
    @data_options
    @runs_dir_option
    @json_option
    def cv(competition, models, params, config, seed, executor, workers, address, n_seeds, resume,
           folds, scheme, ensembles, validation_as_fold, data_dir, sample, encoding,
           allow_empty_text, prepare, runs_dir, as_json):
        """Stratified K-fold CV: saves folds, OOF and test predictions and scores as a run.

        Example: kagglekit cv disaster-tweets --model tfidf-lr --folds 5 --seed 42
        """
        from kagglekit.cv import run_cv
        from kagglekit.params import split_competition_params

        ctx = click.get_current_context()
        if resume:
            return ctx.invoke(cv, **job_cli.resume_params(resume, runs_dir, ctx))
        command_params = job_cli.storable_params(ctx.params)
        cfg = _load_config(config)
        if not (competition or cfg.get("competition")):
            raise KaggleKitError("no competition given; pass COMPETITION (or --resume RUN)")
        comp = plugins.get_competition(competition or cfg.get("competition"))
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg)
        if ensembles:
            from kagglekit.blend import get_method

            for method in ensembles:
                get_method(method)
            if len(chosen) < 2:
                raise KaggleKitError(f"--ensemble needs at least two --model, got {len(chosen)}")
        folds = folds or int(cfg.get("folds", 5))
        seeds = job_cli.resolve_seeds(seed, n_seeds, cfg)
        seed = seeds[0]
        runner = job_cli.make_executor(executor, workers, address)
        data = _load(comp, _data_options(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir,
                                         validation_as_fold=validation_as_fold,
                                         competition_params=comp_params))
        results = []
        shared_folds = None
        for name, cls, model_params in chosen:
            how = "validation-fold" if data.folds is not None else f"{folds}-fold"
            info(f"{name}: {how} CV on {comp.slug} (seed {', '.join(map(str, seeds))}; "
                 f"{runner.describe()})")

            def on_fold(r):
                scores = "  ".join(f"{k}={v:.4f}" for k, v in r.scores.items())
                info(f"  fold {r.fold}: {scores}  ({r.seconds:.1f}s)")

            if shared_folds is None and data.folds is not None:
                shared_folds, scheme = data.folds, "predefined"
            if shared_folds is None:
                from kagglekit.folds import competition_folds

                shared_folds, scheme = competition_folds(comp, data.train, folds, seed, scheme)
            with job_cli.interrupts():
                run = run_cv(comp, name, cls, model_params, data, n_folds=folds, seed=seed,
                             scheme=scheme, runs_dir=runs_dir, folds=shared_folds, on_fold=on_fold,
                             seeds=seeds, executor=runner, on_event=job_cli.progress,
                             command=job_cli.command_line(), command_params=command_params,
                             keep_jobs=len(chosen) > 1)
            results.append(run)
            if not as_json:
                rows = [{"fold": str(f["fold"]), **{m: f[m] for m in run.scores}}
                        for f in run.info["fold_scores"]]
                rows.append({"fold": "OOF", **run.scores})
                _score_table(f"{name} on {comp.slug}  (threshold {run.threshold:.3f})",
                             rows, ["fold", *run.scores])
                click.echo(f"Run: {run.path}")
            if not run.info.get("held_out", True):
                info(f"Note: {name}'s score is NOT held out: it trained on the rows it was scored on")
        blends = []
        if ensembles:  # the blends are runs of their own, linking their members
            from kagglekit.blend_commands import blend_report, ensemble_runs

            blends = ensemble_runs(results, ensembles, runs_dir, as_json)
        if as_json:
            payload = blend_report(blends[0]) if blends else _run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [_run_payload(r) for r in results]
            if blends:
                payload["blends"] = [blend_report(b) for b in blends]
            emit_json(payload)
        job_cli.forget(runs_dir, results)

    @cli.command()
    @click.argument("competition", required=False)
    @training_options
    @job_cli.job_options
    @click.option("--threshold", type=float, default=None,
                  help="Decision threshold for label submissions [default: 0.5].")
    @click.option("--threshold-from", "threshold_run", metavar="RUN",
                  help="Take the threshold chosen on a CV run's OOF predictions.")
    @data_options
    @runs_dir_option
    @json_option
    def fit(competition, models, params, config, seed, executor, workers, address, n_seeds, resume,
            threshold, threshold_run, data_dir, sample, encoding, allow_empty_text, prepare,
            runs_dir, as_json):
        """Train on all training rows and predict test.csv (a run with no held-out score).

        Example: kagglekit fit disaster-tweets --model tfidf-nb --threshold-from RUN
        """
        from kagglekit.cv import run_fit
        from kagglekit.params import split_competition_params
        from kagglekit.runs import resolve_run

        ctx = click.get_current_context()
        if resume:
            return ctx.invoke(fit, **job_cli.resume_params(resume, runs_dir, ctx))
        command_params = job_cli.storable_params(ctx.params)
        cfg = _load_config(config)
        if not competition:
            raise KaggleKitError("no competition given; pass COMPETITION (or --resume RUN)")
        comp = plugins.get_competition(competition)
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        chosen = resolve_models(models, params, cfg)
        seeds = job_cli.resolve_seeds(seed, n_seeds, cfg)
        seed = seeds[0]
        runner = job_cli.make_executor(executor, workers, address)
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
        data = _load(comp, _data_options(data_dir, sample, encoding, allow_empty_text, prepare, runs_dir,
                                         competition_params=comp_params))
        results = []
        for name, cls, model_params in chosen:
            info(f"{name}: fitting on all {len(data.train)} rows of {comp.slug}")
            with job_cli.interrupts():
                run = run_fit(comp, name, cls, model_params, data, seed=seed, runs_dir=runs_dir,
                              threshold=0.5 if threshold is None else threshold,
                              threshold_source=source, seeds=seeds, executor=runner,
                              on_event=job_cli.progress, command=job_cli.command_line(),
                              command_params=command_params, keep_jobs=len(chosen) > 1)
            results.append(run)
            if not as_json:
                click.echo(f"Run: {run.path}")
        if as_json:
            payload = _run_payload(results[0])
            if len(results) > 1:
                payload["runs"] = [_run_payload(r) for r in results]
            emit_json(payload)
        job_cli.forget(runs_dir, results)

    @cli.command()
    @click.argument("run_ref", metavar="RUN")
    @click.option("--input", "input_path", required=True,
                  type=click.Path(path_type=Path), help="CSV with the competition's text columns.")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write id + probability columns [default: stdout].")
    @click.option("--encoding", default="utf-8", show_default=True)
    @click.option("--allow-empty-text", is_flag=True)
    @runs_dir_option
    @json_option
    def predict(run_ref, input_path, output, encoding, allow_empty_text, runs_dir, as_json):
        """Predict probabilities for any CSV with the competition's text columns.

        Example: kagglekit predict RUN --input new_tweets.csv --output preds.csv
        """
        from kagglekit.predict import predict_file

        run = resolve_run_ref(run_ref, runs_dir)
        frame = predict_file(run, input_path, encoding=encoding, allow_empty_text=allow_empty_text)
        text = frame.to_csv(index=False, float_format="%.7g")
        if output:
            from kagglekit.runs import atomic_write_text

            atomic_write_text(output, text)
            info(f"Wrote {len(frame)} predictions to {output}")
        elif not as_json:
            click.echo(text, nl=False)
        if as_json:
            payload = _run_payload(run)
            payload.update({"path": str(Path(output).resolve()) if output else None,
                            "rows": len(frame)})
            emit_json(payload)

    @cli.command()
    @click.argument("run_ref", metavar="[RUN]", required=False)
    @click.option("--competition", "-c", help="With no RUN: the competition whose best CV run to submit.")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Submission path [default: submissions/<slug>/<run-id>.csv].")
    @runs_dir_option
    @json_option
    @kaggle_commands.upload_options
    def submit(run_ref, competition, output, runs_dir, as_json, upload, message, wait,
               wait_timeout):
        """Write a run's submission, validated against sample_submission.csv.

        Without RUN, the best CV run (by the competition's metric) is used. --upload sends
        it to Kaggle; --wait then prints the public score.

        Example: kagglekit submit --competition disaster-tweets --upload -m "tfidf" --wait
        """
        from kagglekit.submission import write_submission

        run = resolve_run_ref(run_ref, runs_dir) if run_ref else best_run(competition, runs_dir)
        comp = plugins.get_competition(run.competition)
        output = kaggle_commands.submit_output(comp, run, output, upload, wait)
        path, frame = write_submission(comp, run, output)
        against = " against sample_submission.csv" if comp.sample_submission_file else ""
        info(f"Submission for {comp.slug} from run {run.id}: {path} ({len(frame)} rows, validated"
             f"{against})")
        if run.info.get("sample"):
            info("Note: this run used a generated sample, not the real data; do not upload it.")
        if not as_json:
            click.echo(str(path))
        uploaded = (kaggle_commands.upload_submission(comp, run, path, message, wait,
                                                      wait_timeout, as_json) if upload else None)
        if as_json:
            payload = _run_payload(run)
            payload["path"] = str(Path(path).resolve())
            if uploaded is not None:
                payload["upload"] = uploaded
            emit_json(payload)

    @cli.command()
    @click.argument("competition")
    @data_options
    @json_option
    def data(competition, data_dir, sample, encoding, allow_empty_text, prepare, as_json):
        """Find and validate a competition's files; exit status 2 when they are unusable.

        Example: kagglekit data disaster-tweets --data-dir ~/kaggle
        """
        comp = plugins.get_competition(competition)
        options = _data_options(data_dir, sample, encoding, allow_empty_text, prepare, Path("runs"))
        loaded = _load(comp, options)
        payload = {"competition": comp.slug, "path": str(loaded.directory),
                   "n_train": len(loaded.train),
                   "n_test": 0 if loaded.test is None else len(loaded.test),
                   "positive_rate": {c: round(float(loaded.train.y[:, j].mean()), 6)
                                     for j, c in enumerate(comp.target_columns)},
                   "sample": loaded.sample}
        if comp.sample_submission_file:
            from kagglekit.data import load_sample_submission

            payload["n_sample_submission"] = len(load_sample_submission(comp, loaded.directory,
                                                                        encoding))
        if as_json:
            emit_json(payload)
        else:
            for key, value in payload.items():
                click.echo(f"{key}: {value}")

    @cli.command()
    @click.argument("competition", required=False)
    @click.option("--clean", is_flag=True,
                  help="Remove stopped incomplete runs and stale temporary folders (asks first).")
    @click.option("--yes", "-y", is_flag=True, help="--clean without asking.")
    @runs_dir_option
    @json_option
    def runs(competition, clean, yes, runs_dir, as_json):
        """List runs with their scores, newest last; incomplete runs after them.

        Example: kagglekit runs disaster-tweets
        """
        from kagglekit.runs import list_runs

        slug = plugins.get_competition(competition).slug if competition else None
        if clean:
            removed = job_cli.clean_runs(runs_dir, slug, yes)
            if as_json:
                emit_json({"removed": removed})
            return
        found = list_runs(runs_dir, slug)
        incomplete = job_cli.incomplete_rows(runs_dir, slug)
        if as_json:
            emit_json({"runs": [r.summary() for r in found], "incomplete": incomplete})
            return
        if not found:
            click.echo(f"No runs in {runs_dir}.")
            job_cli.show_incomplete(incomplete)
            return
        metrics = sorted({m for r in found for m in r.scores})
        rows = [{"run": r.id, "model": r.model, "kind": r.kind, **r.scores} for r in found]
        _score_table(f"runs in {runs_dir}", rows, ["run", "kind", "model", *metrics])
        job_cli.show_incomplete(incomplete)

    @cli.command()
    @click.argument("run_ref", metavar="RUN")
    @click.option("--labels", "labels_path", type=click.Path(path_type=Path),
                  help="Test labels (file, or folder for folder layouts) [default: the "
                       "competition's labels file in the run's data folder].")
    @click.option("--encoding", default="utf-8", show_default=True)
    @runs_dir_option
    @json_option
    def score(run_ref, labels_path, encoding, runs_dir, as_json):
        """Score a run's test predictions against known test labels.

        Rows the labels mark as not scored (Jigsaw's -1) are left out; the run's
        threshold is used for thresholded metrics; the run is not changed.

        Example: kagglekit score RUN --labels test_labels.csv
        """
        from kagglekit.scoring import score_run

        run = resolve_run_ref(run_ref, runs_dir)
        comp = plugins.get_competition(run.competition)
        result = score_run(comp, run, labels_path, encoding=encoding)
        info(f"Scored {result['n_scored']} of {result['n_predictions']} test predictions of run "
             f"{run.id} against {result['labels']} ({result['n_unscored']} label rows not scored)")
        if as_json:
            payload = _run_payload(run)
            payload.update({"test_scores": result["scores"], **{k: v for k, v in result.items()
                                                                if k != "scores"}})
            emit_json(payload)
            return
        rows = [{"on": "test", **result["scores"]}]
        if run.scores:
            rows.insert(0, {"on": "OOF" if run.info.get("held_out", True) else "OOF (not held out)",
                            **run.scores})
        _score_table(f"{run.model} on {comp.slug}", rows, ["on", *result["scores"]])


def resolve_run_ref(ref, runs_dir):
    from kagglekit.runs import resolve_run

    return resolve_run(ref, runs_dir)


def best_run(competition, runs_dir):
    """The CV (or blend) run with the best OOF score on the competition's metric."""
    from kagglekit.runs import list_runs

    slug = plugins.get_competition(competition).slug if competition else None
    found = [r for r in list_runs(runs_dir, slug) if r.scores]
    real = [r for r in found if not r.info.get("sample")]
    found = real or found  # a run on a generated sample only when there is nothing else
    held_out = [r for r in found if r.info.get("held_out", True)]
    found = held_out or found  # a score that is not held out cannot win against one that is
    if not slug:
        slugs = sorted({r.competition for r in found})
        if len(slugs) > 1:
            raise KaggleKitError(f"runs of several competitions in {runs_dir} "
                                 f"({', '.join(slugs)}); pass RUN or --competition")
    if not found:
        where = f" for {slug}" if slug else ""
        raise KaggleKitError(f"no scored run{where} in {runs_dir}; run `kagglekit cv` first "
                             f"or pass a RUN")
    comp = plugins.get_competition(found[0].competition)
    metric = plugins.get_metric(comp.metric)
    sign = 1 if metric.greater_is_better else -1
    return max(found, key=lambda r: sign * r.scores.get(comp.metric, float("-inf") * sign))
