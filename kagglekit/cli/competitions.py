"""``competitions``: the registered competitions."""

from __future__ import annotations

import click

from kagglekit import plugins
from kagglekit.cli.options import json_option
from kagglekit.cli.output import emit_json
from kagglekit.hookspecs import hookimpl


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
            click.echo(
                f"{row['name']}  ({aliases})  {row['task']}, {row['metric']}  "
                f"[{row['plugin']}]\n    {row['title']}"
            )
