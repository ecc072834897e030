"""``submissions``: your past submissions to a competition, with their scores."""

from __future__ import annotations

import sys

import click

from kagglekit.cli.output import emit_json, kaggle_notes
from kagglekit.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition")
    @click.option(
        "--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout."
    )
    def submissions(competition, as_json):
        """List your past submissions to a competition with their scores, newest first.

        Example: kagglekit submissions quora
        """
        from kagglekit.kaggle_client import resolve_slug
        from kagglekit.kaggle_client.session import connect
        from kagglekit.kaggle_client.submit import submissions as list_submissions

        slug, _ = resolve_slug(competition)
        session = connect()
        found = list_submissions(slug, session=session)
        kaggle_notes(session.notes)
        if as_json:
            emit_json({"competition": slug, "submissions": [s.summary() for s in found]})
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
            table.add_row(
                str(s.ref),
                s.date or "",
                s.status,
                "" if s.public_score is None else f"{s.public_score:.5f}",
                "" if s.private_score is None else f"{s.private_score:.5f}",
                s.description if s.status != "error" else f"{s.description} ({s.error})",
            )
        Console(file=sys.stdout, width=max(100, Console().width)).print(table)
