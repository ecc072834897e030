"""``fetch``: download a competition's files with the official kaggle client."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.cli.output import download_bar, emit_json, info, kaggle_notes
from kagglekit.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("fetch")
    @click.argument("competition")
    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Data root: files go to <data root>/<slug>/ [default: $KAGGLEKIT_DATA, else ./input].",
    )
    @click.option("--force", is_flag=True, help="Download again even when the files are complete.")
    @click.option(
        "--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout."
    )
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
        expected = (
            [comp.train_file, comp.test_file, comp.sample_submission_file]
            if comp is not None
            else []
        )
        if comp is None:
            info(f"{slug}: no kagglekit adapter by that name; downloading it as a Kaggle slug")
        with download_bar() as progress:
            result = client.fetch(
                slug, data_dir, force=force, expected_files=expected, progress=progress
            )
        kaggle_notes(result.notes)
        if result.status == "kaggle-input":
            info(f"{slug}: attached to this Kaggle notebook at {result.path}; nothing to download")
        elif result.status == "complete":
            info(
                f"{slug}: {len(result.files)} files already complete in {result.path}; "
                f"nothing to download (--force downloads them again)"
            )
        else:
            info(
                f"{slug}: downloaded {human_size(result.bytes_downloaded)}; "
                f"{len(result.files)} files in {result.path}"
            )
        if as_json:
            emit_json(result.summary())
        else:
            click.echo(str(result.path))
