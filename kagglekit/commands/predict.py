"""``predict``: probabilities for new rows from a saved run."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.commands.options import emit_json, info, json_option, run_payload, runs_dir_option
from kagglekit.hookspecs import hookimpl
from kagglekit.runs import resolve_run


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_ref", metavar="RUN")
    @click.option("--input", "input_path", required=True,
                  type=click.Path(path_type=Path), help="CSV with the competition's text columns.")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write id + probability columns [default: stdout].")
    @click.option("--encoding", default="utf-8", show_default=True)
    @click.option("--allow-empty-text", is_flag=True)
    @runs_dir_option
    @json_option
    def predict(run_ref, input_path, output, encoding, allow_empty_text, runs_dir, as_json):
        """Predict probabilities for any CSV with the competition's text columns.

        Example: kagglekit predict RUN --input new_tweets.csv --output preds.csv
        """
        from kagglekit.predict import predict_file

        run = resolve_run(run_ref, runs_dir)
        frame = predict_file(run, input_path, encoding=encoding, allow_empty_text=allow_empty_text)
        if frame.attrs.get("made_up_ids"):
            info(f"Note: {input_path} has no id column: rows are numbered from 0 in column "
                 f"'row' (made-up ids)")
        if frame.attrs.get("labels"):
            info(f"Labels (*_label columns) at the run's OOF threshold "
                 f"{frame.attrs['threshold']:.4f}")
        text = frame.to_csv(index=False, float_format="%.7g")
        if output:
            from kagglekit.runs import atomic_write_text

            atomic_write_text(output, text)
            info(f"Wrote {len(frame)} predictions to {output}")
        elif not as_json:
            click.echo(text, nl=False)
        if as_json:
            payload = run_payload(run)
            payload.update({"path": str(Path(output).resolve()) if output else None,
                            "rows": len(frame)})
            emit_json(payload)

