"""The kagglekit CLI: a click group whose commands all arrive through ``register_commands``.

Library code raises KaggleKitError subclasses; here, at the boundary, each becomes one
line on stderr and exit status 2.
"""

from __future__ import annotations

import sys

import click

from kagglekit import __version__, plugins
from kagglekit.errors import KaggleKitError


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KaggleKitError as exc:
            raise UserError(str(exc)) from None


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kagglekit")
@click.option("--verbose", "-v", is_flag=True, envvar="KAGGLEKIT_VERBOSE",
              help="Show the libraries' start-up noise (TensorFlow, absl, CUDA) and warnings.")
def cli(verbose):
    """kagglekit: a Kaggle NLP competition from raw files to a validated submission.

    \b
    Example:
        kagglekit cv disaster-tweets --model tfidf-lr --folds 5
        kagglekit submit
    """
    from kagglekit.quiet import quiet_libraries

    if not verbose:
        quiet_libraries()


plugins.add_commands(cli)


def main(argv=None):
    try:
        cli.main(args=argv, prog_name="kagglekit", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(130)
