"""``data``: find and validate a competition's files."""

from __future__ import annotations

import click

from kagglekit import plugins
from kagglekit.cli.options import data_options, data_options_from, json_option, load_data
from kagglekit.cli.output import emit_json
from kagglekit.hookspecs import hookimpl
from kagglekit.store.folder import DEFAULT_ROOT


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition")
    @data_options
    @json_option
    def data(competition, data_dir, sample, encoding, allow_empty_text, prepare, as_json):
        """Find and validate a competition's files; exit status 2 when they are unusable.

        Example: kagglekit data disaster-tweets --data-dir ~/kaggle
        """
        comp = plugins.get_competition(competition)
        options = data_options_from(
            data_dir, sample, encoding, allow_empty_text, prepare, DEFAULT_ROOT
        )
        import numpy as np

        loaded = load_data(comp, options)
        real = (
            slice(None)
            if loaded.training_only is None
            else ~np.asarray(loaded.training_only, dtype=bool)
        )
        payload = {
            "competition": comp.slug,
            "path": str(loaded.directory),
            "n_train": len(loaded.train.y[real]),
            "n_test": 0 if loaded.test is None else len(loaded.test),
            "positive_rate": {
                c: round(float(loaded.train.y[real, j].mean()), 6)
                for j, c in enumerate(comp.target_columns)
            },
            "sample": loaded.sample,
        }
        if loaded.pseudo:  # counted apart: n_train and positive_rate are the labelled rows'
            payload.update(
                n_pseudo=loaded.pseudo["n_pseudo"],
                pseudo_source_run=loaded.pseudo["source_run"],
                pseudo_soft=loaded.pseudo["soft"],
            )
        if comp.sample_submission_file:
            from kagglekit.data import load_sample_submission

            payload["n_sample_submission"] = len(
                load_sample_submission(comp, loaded.directory, encoding)
            )
        if as_json:
            emit_json(payload)
        else:
            for key, value in payload.items():
                click.echo(f"{key}: {value}")
