"""``plugins``: the loaded plugins and what each registered."""

from __future__ import annotations

import click

from kagglekit import plugins
from kagglekit.cli.options import json_option
from kagglekit.cli.output import emit_json
from kagglekit.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
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
            for kind in (
                "competitions",
                "models",
                "metrics",
                "fold_schemes",
                "blend_methods",
                "executors",
                "trackers",
                "pretrain_families",
                "commands",
            ):
                if row[kind]:
                    click.echo(f"    {kind}: {', '.join(row[kind])}")
        for row in failed:
            click.echo(f"{row['name']}  ({row['package']})  FAILED: {row['error']}")
