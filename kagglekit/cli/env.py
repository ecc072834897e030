"""``env``: the Python environment and the accelerator kagglekit would use."""

from __future__ import annotations

import click

from kagglekit.cli.options import json_option
from kagglekit.cli.output import emit_json
from kagglekit.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.option(
        "--probe/--no-probe",
        default=False,
        help="Import the Keras backend's framework and detect TPU/GPU/CPU for real.",
    )
    @click.option(
        "--accelerator",
        type=click.Choice(["auto", "cpu", "gpu", "tpu"]),
        default="auto",
        show_default=True,
    )
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
