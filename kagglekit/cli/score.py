"""``score``: a run's test predictions scored against known test labels."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info, run_payload, score_table
from kagglekit.hookspecs import hookimpl
from kagglekit.store.refs import resolve_run


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_ref", metavar="RUN")
    @click.option(
        "--labels",
        "labels_path",
        type=click.Path(path_type=Path),
        help="Test labels (file, or folder for folder layouts) [default: the "
        "competition's labels file in the run's data folder].",
    )
    @click.option("--encoding", default="utf-8", show_default=True)
    @runs_dir_option
    @json_option
    def score(run_ref, labels_path, encoding, runs_dir, as_json):
        """Score a run's test predictions against known test labels.

        Rows the labels mark as not scored (Jigsaw's -1) are left out; the run's
        threshold is used for thresholded metrics; the run is not changed.

        Example: kagglekit score RUN --labels test_labels.csv
        """
        from kagglekit.scoring import score_run

        run = resolve_run(run_ref, runs_dir)
        comp = plugins.get_competition(run.competition)
        result = score_run(comp, run, labels_path, encoding=encoding)
        info(
            f"Scored {result['n_scored']} of {result['n_predictions']} test predictions of run "
            f"{run.id} against {result['labels']} ({result['n_unscored']} label rows not scored)"
        )
        if as_json:
            payload = run_payload(run)
            payload.update(
                {
                    "test_scores": result["scores"],
                    **{k: v for k, v in result.items() if k != "scores"},
                }
            )
            emit_json(payload)
            return
        rows = [{"on": "test", **result["scores"]}]
        if run.scores:
            rows.insert(
                0,
                {
                    "on": "OOF" if run.info.get("held_out", True) else "OOF (not held out)",
                    **run.scores,
                },
            )
        score_table(f"{run.model} on {comp.slug}", rows, ["on", *result["scores"]])
