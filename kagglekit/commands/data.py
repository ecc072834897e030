"""``data`` and ``fetch``: find, validate and download a competition's files."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.hookspecs import hookimpl
from kagglekit.commands.options import (data_options, data_options_from, emit_json, info,
                                         json_option, kaggle_notes, load_data, progress_bar)


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
        options = data_options_from(data_dir, sample, encoding, allow_empty_text, prepare, Path("runs"))
        import numpy as np

        loaded = load_data(comp, options)
        real = (slice(None) if loaded.training_only is None
                else ~np.asarray(loaded.training_only, dtype=bool))
        payload = {"competition": comp.slug, "path": str(loaded.directory),
                   "n_train": len(loaded.train.y[real]),
                   "n_test": 0 if loaded.test is None else len(loaded.test),
                   "positive_rate": {c: round(float(loaded.train.y[real, j].mean()), 6)
                                     for j, c in enumerate(comp.target_columns)},
                   "sample": loaded.sample}
        if loaded.pseudo:  # counted apart: n_train and positive_rate are the labelled rows'
            payload.update(n_pseudo=loaded.pseudo["n_pseudo"],
                           pseudo_source_run=loaded.pseudo["source_run"],
                           pseudo_soft=loaded.pseudo["soft"])
        if comp.sample_submission_file:
            from kagglekit.data import load_sample_submission

            payload["n_sample_submission"] = len(load_sample_submission(comp, loaded.directory,
                                                                        encoding))
        if as_json:
            emit_json(payload)
        else:
            for key, value in payload.items():
                click.echo(f"{key}: {value}")


    @cli.command("fetch")
    @click.argument("competition")
    @click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Data root: files go to <data root>/<slug>/ "
                       "[default: $KAGGLEKIT_DATA, else ./input].")
    @click.option("--force", is_flag=True, help="Download again even when the files are complete.")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print exactly one JSON object on stdout.")
    def fetch_command(competition, data_dir, force, as_json):
        """Download and unzip a competition's files with the official kaggle client.

        Files land in <data root>/<slug>/ (nested zips unpacked). A second fetch does
        nothing when the files are complete; inside a Kaggle notebook the attached
        /kaggle/input/<slug> is used and nothing is downloaded. Needs Kaggle credentials
        (~/.kaggle/kaggle.json, KAGGLE_USERNAME/KAGGLE_KEY or KAGGLE_API_TOKEN) and the
        competition's rules accepted on kaggle.com.

        Example: kagglekit fetch jigsaw --data-dir ~/kaggle
        """
        from kagglekit.kaggle_client import fetch as client
        from kagglekit.kaggle_client import resolve_slug
        from kagglekit.kaggle_client.session import human_size

        slug, comp = resolve_slug(competition)
        expected = ([comp.train_file, comp.test_file, comp.sample_submission_file]
                    if comp is not None else [])
        if comp is None:
            info(f"{slug}: no kagglekit adapter by that name; downloading it as a Kaggle slug")
        with progress_bar() as progress:
            result = client.fetch(slug, data_dir, force=force, expected_files=expected,
                                         progress=progress)
        kaggle_notes(result.notes)
        if result.status == "kaggle-input":
            info(f"{slug}: attached to this Kaggle notebook at {result.path}; nothing to download")
        elif result.status == "complete":
            info(f"{slug}: {len(result.files)} files already complete in {result.path}; "
                  f"nothing to download (--force downloads them again)")
        else:
            info(f"{slug}: downloaded {human_size(result.bytes_downloaded)}; "
                  f"{len(result.files)} files in {result.path}")
        if as_json:
            emit_json(result.summary())
        else:
            click.echo(str(result.path))
