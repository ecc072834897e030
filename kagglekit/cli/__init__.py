"""The kagglekit CLI: a click group whose commands all arrive through ``register_commands``
(the built-in ones too: one module per command in this package, each an entry point of
the ``kagglekit`` group like any plugin's). Only this package imports click.

Library code raises KaggleKitError subclasses; here, at the boundary, each becomes one
line on stderr and exit status 2. So does any OSError (disk full, read-only file system,
file-size limit, a file where a folder should be, no permission): the line names the path
and the cause. Library warnings (KaggleKitWarning: a damaged run skipped, ...) become one
"Warning:" line each.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

import click

from kagglekit import __version__, plugins
from kagglekit.errors import KaggleKitError, KaggleKitWarning, os_error_line


def one_line(text: object) -> str:
    """A message on one line, whatever its value held (newlines, NUL bytes...)."""
    return " ".join(str(text).replace("\x00", "\\x00").split())


@contextlib.contextmanager
def warnings_as_lines():
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, KaggleKitWarning):
            click.echo(f"Warning: {one_line(message)}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", KaggleKitWarning)
            warnings.showwarning = show
            yield
    finally:
        warnings.showwarning = shown


class Group(click.Group):
    def invoke(self, ctx):
        with warnings_as_lines():
            try:
                return super().invoke(ctx)
            except KaggleKitError as exc:
                raise UserError(one_line(exc)) from None
            except OSError as exc:
                raise UserError(one_line(os_error_line(exc))) from None
            except KeyboardInterrupt:  # outside a run's jobs (those say what they kept): 130
                click.echo("Interrupted; nothing was written.", err=True)
                sys.exit(130)


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kagglekit")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    envvar="KAGGLEKIT_VERBOSE",
    help="Show the libraries' start-up noise (TensorFlow, absl, CUDA) and warnings.",
)
def cli(verbose):
    """kagglekit: a Kaggle NLP competition from raw files to a validated submission.

    \b
    Example:
        kagglekit cv disaster-tweets --model tfidf-lr --folds 5
        kagglekit submit
    """
    from kagglekit import progress
    from kagglekit.cli import output
    from kagglekit.quiet import quiet_libraries

    if not verbose:
        quiet_libraries()
    progress.use(output.steps, output.status)  # the library reports, the CLI draws


plugins.add_commands(cli)


def main(argv=None):
    try:
        cli.main(args=argv, prog_name="kagglekit", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive
        click.echo("Interrupted; nothing was written.", err=True)
        sys.exit(130)
