"""``predict``: probabilities for new rows from a saved run."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info, run_payload
from kagglekit.hookspecs import hookimpl
from kagglekit.store.refs import resolve_run

PREDICTIONS_DIR = Path("predictions")


def default_output(run, input_path: Path) -> Path:
    """Where ``predict --json`` writes the rows without --output (as submit writes to
    submissions/<slug>/ and report to reports/<slug>/)."""
    return PREDICTIONS_DIR / run.competition / f"{run.id}-{Path(input_path).stem}.csv"


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_ref", metavar="RUN")
    @click.option(
        "--input",
        "input_path",
        required=True,
        type=click.Path(path_type=Path),
        help="File with the competition's text columns, read as its own files are "
        "(IMDb's TSV; its test file or folder by its loader).",
    )
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Where to write id + probability columns [default: stdout; with "
        "--json, which owns stdout: predictions/<slug>/<run-id>-<input>.csv].",
    )
    @click.option(
        "--encoding",
        default="utf-8",
        show_default=True,
        help="Encoding of the input CSV (e.g. latin-1).",
    )
    @click.option(
        "--allow-empty-text",
        is_flag=True,
        help="Predict rows whose text is empty or NaN (as empty text) instead of "
        "refusing the file.",
    )
    @runs_dir_option
    @json_option
    def predict(run_ref, input_path, output, encoding, allow_empty_text, runs_dir, as_json):
        """Predict probabilities for any CSV with the competition's text columns.

        The input is read as the competition's own files are: with its separator and
        quoting (IMDb's tab-separated testData.tsv), and its own test file (or folder, as
        aclImdb's test/) by its loader, with the run's competition options.

        The CSV goes to --output, else to stdout; with --json (one JSON object on stdout)
        and no --output it is written to predictions/<slug>/<run-id>-<input name>.csv and
        the JSON's "path" says where.

        Example: kagglekit predict RUN --input new_tweets.csv --output preds.csv
        """
        from kagglekit.predict import predict_file

        run = resolve_run(run_ref, runs_dir)
        frame = predict_file(run, input_path, encoding=encoding, allow_empty_text=allow_empty_text)
        if frame.attrs.get("made_up_ids"):
            info(
                f"Note: {input_path} has no id column: rows are numbered from 0 in column "
                f"'row' (made-up ids)"
            )
        if frame.attrs.get("labels"):
            info(
                f"Labels (*_label columns) at the run's OOF threshold "
                f"{frame.attrs['threshold']:.4f}"
            )
        text = frame.to_csv(index=False, float_format="%.7g")
        if as_json and not output:  # stdout holds the JSON object: the rows go to a file
            output = default_output(run, input_path)
        if output:
            from kagglekit.store.atomic import atomic_write_text

            atomic_write_text(output, text)
            info(f"Wrote {len(frame)} predictions to {output}")
        else:
            click.echo(text, nl=False)
        if as_json:
            payload = run_payload(run)
            payload.update({"path": str(Path(output).resolve()), "rows": len(frame)})
            emit_json(payload)
