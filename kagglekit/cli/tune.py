"""``tune``: search a model's hyperparameters with Optuna; the chosen configuration is scored
on an untouched holdout (kagglekit.tune)."""

from __future__ import annotations

import re

import click

from kagglekit import plugins
from kagglekit.cli.options import (
    data_options,
    data_options_from,
    json_option,
    load_data,
    runs_dir_option,
)
from kagglekit.cli.output import emit_json, info, job_line, score_table
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")


def seconds(text: str | None, option: str = "--timeout") -> float | None:
    """'90', '90s', '20m', '2h' -> seconds (``option``: the option named in the error)."""
    if text is None:
        return None
    match = DURATION.match(str(text))
    if not match:
        raise KaggleKitError(
            f"{option} {text!r}: expected seconds or a duration like 90s, 20m or 2h"
        )
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"s": 1, "m": 60, "min": 60, "h": 3600}[unit]


def fixed_params(name, cls, params, cfg, runs_dir) -> dict:
    """The -p / [params] values given for the model: fixed in every trial, typed."""
    from kagglekit.params import parse_assignments, resolve_models

    given = set(parse_assignments(params))
    cfg_params = cfg.get("params", {})
    given |= {k for k, v in cfg_params.items() if not isinstance(v, dict)}
    given |= set(cfg_params.get(name, {}) if isinstance(cfg_params.get(name), dict) else {})
    given = {k.split(".", 1)[-1] for k in given}
    ((_, _, built),) = resolve_models([name], params, cfg, runs_dir)
    return {k: getattr(built, k) for k in sorted(given) if hasattr(built, k)}


def trial_line(report) -> None:
    values = ", ".join(f"{k}={_short(v)}" for k, v in report.params.items())
    if report.state == "complete":
        best = (
            ""
            if report.best_value is None
            else f"; best {report.best_value:.4f} (trial {report.best_number})"
        )
        info(
            f"trial {report.number}: {values} -> {report.value:.4f} held-out CV "
            f"({report.seconds:.1f}s){best}"
        )
    else:
        info(
            f"trial {report.number}: {values} -> {report.state} after "
            f"{report.folds_done} fold(s) ({report.seconds:.1f}s)"
        )


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def result_table(result) -> None:
    from kagglekit.tune.run import headline_figures

    metric = result.metric
    rows = [{"figure": label, metric: value} for label, value in headline_figures(result.payload())]
    trials = ", ".join(f"{v} {k}" for k, v in result.trials.items() if v)
    score_table(f"study {result.study} ({trials})", rows, ["figure", metric])


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition")
    @click.option(
        "--model",
        "-m",
        "model",
        required=True,
        help="The model to tune (`kagglekit models` lists them and their params).",
    )
    @click.option(
        "--param",
        "-p",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="A hyperparameter fixed in every trial (repeatable).",
    )
    @click.option(
        "--config",
        type=click.Path(exists=True, dir_okay=False),
        help="TOML: [params] fixed in every trial, [tune.space] to override the "
        "model's search space.",
    )
    @click.option(
        "--trials",
        "-n",
        type=int,
        default=30,
        show_default=True,
        help="Finished trials the study should have (complete or pruned); the same "
        "command with more continues it.",
    )
    @click.option(
        "--timeout",
        default=None,
        metavar="DURATION",
        help="Start no new trial after this long (e.g. 900, 20m, 2h).",
    )
    @click.option(
        "--storage",
        default=None,
        metavar="URL",
        help="Optuna storage (any SQLAlchemy URL, e.g. postgresql://...) "
        "[default: SQLite in RUNS_DIR/_studies].",
    )
    @click.option(
        "--study",
        default=None,
        help="Study name [default: named after the competition, model and what is "
        "searched, so the same command continues the same study].",
    )
    @click.option("--folds", "-k", type=int, default=5, show_default=True)
    @click.option("--seed", type=int, default=42, show_default=True)
    @click.option(
        "--cv",
        "scheme",
        default="auto",
        show_default=True,
        metavar="SCHEME",
        help="Fold scheme (as for cv).",
    )
    @click.option(
        "--holdout",
        type=float,
        default=0.15,
        show_default=True,
        help="Share of the training rows no trial sees; the chosen configuration is scored there.",
    )
    @click.option(
        "--no-holdout",
        is_flag=True,
        help="Keep no holdout: the reported CV score is then optimistic.",
    )
    @click.option(
        "--pruner",
        type=click.Choice(["median", "hyperband", "none"]),
        default="median",
        show_default=True,
        help="Stop weak trials after a fold (median of earlier trials).",
    )
    @click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="Who runs the trials: local processes, or ray tasks (one CPU each) on a "
        "Ray cluster, each opening the study from --storage. The default SQLite "
        "storage works only when all Ray workers share this machine's file system "
        "(and so must --runs-dir); across machines use a PostgreSQL URL and a shared "
        "runs folder.",
    )
    @click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=None,
        help="Processes (or Ray tasks) running trials of the one study [default: 1; "
        "--executor ray: the cluster's CPUs, at most the trials left].",
    )
    @click.option(
        "--address",
        metavar="ADDR",
        default=None,
        help="--executor ray: the Ray cluster (auto, or HOST:PORT) [default: start a "
        "local Ray instance].",
    )
    @data_options
    @runs_dir_option
    @json_option
    def tune(
        competition,
        model,
        params,
        config,
        trials,
        timeout,
        storage,
        study,
        folds,
        seed,
        scheme,
        holdout,
        no_holdout,
        pruner,
        executor,
        workers,
        address,
        data_dir,
        sample,
        encoding,
        allow_empty_text,
        prepare,
        runs_dir,
        as_json,
    ):
        """Search a model's hyperparameters (Optuna): each trial is an ordinary CV run,
        pruned after weak folds; the best configuration is scored on an untouched holdout
        and written as best.toml for `kagglekit cv --config` and `fit --config`.

        Example: kagglekit tune quora -m tfidf-lr --trials 50 --timeout 2h

        On a Ray cluster: kagglekit tune quora -m tfidf-lr --trials 50 --executor ray
        --address auto --storage postgresql://user@host/db
        """
        from pathlib import Path

        from kagglekit.params import load_config, split_competition_params
        from kagglekit.store.folder import RunsFolder
        from kagglekit.tune.run import TuneOptions, run_tune
        from kagglekit.tune.space import Fixed, describe, model_space

        cfg = load_config(Path(config) if config else None)
        comp = plugins.get_competition(competition)
        comp_params, params, cfg = split_competition_params(comp, params, cfg)
        registry = plugins.models()
        name = registry.resolve(model)
        cls = registry.get(name)
        fixed = fixed_params(name, cls, params, cfg, runs_dir)
        space = {k: d for k, d in model_space(name, cls, cfg).items() if k not in fixed}
        for key, dim in list(space.items()):
            if isinstance(dim, Fixed):
                fixed[key] = space.pop(key).value
        if not space:
            raise KaggleKitError(
                f"nothing left to search: every parameter of {name}'s space "
                f"is fixed by -p or the config"
            )
        options = TuneOptions(
            n_trials=trials,
            timeout=seconds(timeout),
            storage=storage,
            study=study,
            n_folds=folds,
            seed=seed,
            scheme=scheme,
            holdout=None if no_holdout else holdout,
            pruner=pruner,
            executor=executor,
            address=address,
            workers=workers,
        )
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
        info(
            f"{name}: searching {describe(space)}"
            + (f"; fixed {', '.join(f'{k}={v}' for k, v in fixed.items())}" if fixed else "")
        )
        try:
            result = run_tune(
                comp,
                name,
                cls,
                fixed,
                space,
                data,
                RunsFolder(runs_dir),
                options,
                on_trial=trial_line,
                on_note=info,
                on_event=job_line,  # each fold as it starts and ends: a trial can be long
            )
        except KeyboardInterrupt:
            info(
                "Interrupted: finished trials are kept in the study; the same command continues it."
            )
            raise SystemExit(130) from None
        if as_json:
            emit_json(result.payload())
            return
        result_table(result)
        click.echo(f"Best configuration: {result.directory / 'best.toml'}")
        click.echo(f"  kagglekit cv {competition} --config {result.directory / 'best.toml'}")
