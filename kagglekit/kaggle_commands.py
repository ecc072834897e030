"""``kagglekit fetch``, ``kagglekit submissions`` and the upload half of ``kagglekit submit``.

A plugin like any other (entry point ``kaggle``); the work is done by kagglekit.kaggle_client,
which is imported only when one of these commands runs.
"""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.errors import KaggleKitError, UnknownName
from kagglekit.hookspecs import hookimpl

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{2,}$")


def _info(message: str) -> None:
    click.echo(message, err=True)


def _emit_json(obj) -> None:
    from kagglekit.commands import emit_json

    emit_json(obj)


def resolve_slug(name: str) -> tuple[str, object | None]:
    """(Kaggle slug, Competition or None): a registered name or alias, else a bare Kaggle slug."""
    try:
        comp = plugins.get_competition(name)
        return comp.slug, comp
    except UnknownName:
        if not _SLUG.match(name):
            raise
        return name, None


@contextlib.contextmanager
def progress_bar(enabled: bool = True):
    """A rich progress bar on stderr when it is a terminal; yields the (stage, done, total)
    callback (None when there is no bar to draw)."""
    from rich.console import Console

    console = Console(file=sys.stderr)  # bound now: the client's output is captured later
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                               TimeRemainingColumn, TransferSpeedColumn)

    columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn()]
    tasks: dict[str, int] = {}
    with Progress(*columns, console=console) as bar:
        def update(stage: str, done: int, total):
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _notes(notes) -> None:
    for note in notes:
        _info(f"kaggle: {note}")


# ------------------------------------------------------------- submit --upload


def upload_options(f):
    """--upload, -m/--message, --wait, --wait-timeout for ``kagglekit submit``."""
    options = [
        click.option("--upload", is_flag=True,
                     help="Send the validated file to Kaggle (needs Kaggle credentials)."),
        click.option("--message", "-m", metavar="MSG",
                     help="Submission description for --upload [default: kagglekit <run id>]."),
        click.option("--wait", is_flag=True,
                     help="With --upload: wait until Kaggle scores it and print the public score."),
        click.option("--wait-timeout", type=float, default=1800.0, show_default=True,
                     metavar="SECONDS", help="How long --wait waits."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def submit_output(comp, run, output, upload: bool, wait: bool):
    """Check the upload options before anything is written; where submit should write.

    A code competition inside a Kaggle notebook writes /kaggle/working/submission.csv
    (the file Kaggle scores when the notebook is submitted); outside a notebook it cannot
    be uploaded at all, which is said before any work is done.
    """
    from kagglekit import kaggle_client

    if wait and not upload:
        raise KaggleKitError("--wait needs --upload")
    if upload and run.info.get("sample"):
        raise KaggleKitError(f"run {run.id} was trained on a generated sample, not the real "
                             f"data; refusing to upload it (fetch the data and rerun)")
    if comp.code_competition:
        if kaggle_client.in_kaggle_notebook():
            return output or kaggle_client.notebook_submission_path()
        if upload:
            raise kaggle_client.CodeCompetition(kaggle_client.code_competition_message(comp.slug))
        _info(f"Note: {comp.slug} is a code competition; Kaggle accepts submissions only "
              f"from a notebook")
    return output


def upload_submission(comp, run, path: Path, message, wait: bool, wait_timeout: float,
                      as_json: bool) -> dict:
    """Upload the written file (and wait for its score); a JSON-ready summary."""
    from kagglekit import kaggle_client

    if comp.code_competition:  # inside a notebook: submit_output already chose the path
        scored = kaggle_client.notebook_submission_path()
        page = kaggle_client.COMPETITION_URL.format(slug=comp.slug)
        moved = "" if Path(path) == scored else f" (this run wrote {path} instead: copy it there)"
        _info(f"{comp.slug} is a code competition: Kaggle scores {scored}{moved} when you "
              f"submit this notebook (Save Version, then Submit on {page}); nothing was uploaded")
        return {"uploaded": False, "reason": "code competition", "path": str(path)}
    message = message or f"kagglekit {run.id}"
    session = kaggle_client.connect()
    ref = kaggle_client.upload(comp.slug, path, message, session=session)
    _info(f"Uploaded {path} to {comp.slug} as submission {ref}: {message!r}")
    result = {"uploaded": True, "ref": ref, "message": message, "status": "pending",
              "public_score": None}
    if wait:
        _info("Waiting for Kaggle to score it ...")

        def on_poll(sub, waited):
            _info(f"  {sub.status if sub else 'not listed yet'} after {waited:.0f}s")

        scored = kaggle_client.wait_for_score(comp.slug, ref, timeout=wait_timeout,
                                              session=session, on_poll=on_poll)
        result.update(status=scored.status, public_score=scored.public_score)
        if not as_json:
            click.echo(f"Public score: {scored.public_score}")
    _notes(session.notes)
    return result


# ------------------------------------------------------------- commands


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition")
    @click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Data root: files go to <data root>/<slug>/ "
                       "[default: $KAGGLEKIT_DATA, else ./input].")
    @click.option("--force", is_flag=True, help="Download again even when the files are complete.")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print exactly one JSON object on stdout.")
    def fetch(competition, data_dir, force, as_json):
        """Download and unzip a competition's files with the official kaggle client.

        Files land in <data root>/<slug>/ (nested zips unpacked). A second fetch does
        nothing when the files are complete; inside a Kaggle notebook the attached
        /kaggle/input/<slug> is used and nothing is downloaded. Needs Kaggle credentials
        (~/.kaggle/kaggle.json, KAGGLE_USERNAME/KAGGLE_KEY or KAGGLE_API_TOKEN) and the
        competition's rules accepted on kaggle.com.

        Example: kagglekit fetch jigsaw --data-dir ~/kaggle
        """
        from kagglekit import kaggle_client

        slug, comp = resolve_slug(competition)
        expected = ([comp.train_file, comp.test_file, comp.sample_submission_file]
                    if comp is not None else [])
        if comp is None:
            _info(f"{slug}: no kagglekit adapter by that name; downloading it as a Kaggle slug")
        with progress_bar() as progress:
            result = kaggle_client.fetch(slug, data_dir, force=force, expected_files=expected,
                                         progress=progress)
        _notes(result.notes)
        if result.status == "kaggle-input":
            _info(f"{slug}: attached to this Kaggle notebook at {result.path}; nothing to download")
        elif result.status == "complete":
            _info(f"{slug}: {len(result.files)} files already complete in {result.path}; "
                  f"nothing to download (--force downloads them again)")
        else:
            _info(f"{slug}: downloaded {kaggle_client.human_size(result.bytes_downloaded)}; "
                  f"{len(result.files)} files in {result.path}")
        if as_json:
            _emit_json(result.summary())
        else:
            click.echo(str(result.path))

    @cli.command()
    @click.argument("competition")
    @click.option("--json", "as_json", is_flag=True,
                  help="Print exactly one JSON object on stdout.")
    def submissions(competition, as_json):
        """List your past submissions to a competition with their scores, newest first.

        Example: kagglekit submissions quora
        """
        from kagglekit import kaggle_client

        slug, _ = resolve_slug(competition)
        session = kaggle_client.connect()
        found = kaggle_client.submissions(slug, session=session)
        _notes(session.notes)
        if as_json:
            _emit_json({"competition": slug, "submissions": [s.summary() for s in found]})
            return
        if not found:
            click.echo(f"No submissions to {slug} yet.")
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"submissions to {slug}")
        for column in ("ref", "date", "status", "public", "private", "description"):
            table.add_column(column, justify="right" if column in ("public", "private") else "left")
        for s in found:
            table.add_row(str(s.ref), s.date or "", s.status,
                          "" if s.public_score is None else f"{s.public_score:.5f}",
                          "" if s.private_score is None else f"{s.private_score:.5f}",
                          s.description if s.status != "error" else f"{s.description} ({s.error})")
        Console(file=sys.stdout, width=max(100, Console().width)).print(table)
