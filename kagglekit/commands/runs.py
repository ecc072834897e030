"""``runs`` and ``score``: the runs kept, and a run's test predictions scored."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.executors import options as job_cli
from kagglekit.hookspecs import hookimpl
from kagglekit.commands.options import (emit_json, info, json_option, run_payload,
                                         runs_dir_option, score_table)
from kagglekit.runs import resolve_run


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition", required=False)
    @click.option("--refresh", is_flag=True,
                  help="Fetch your submissions' leaderboard scores from Kaggle again (needs "
                       "credentials); otherwise the cached ones are shown, with no network.")
    @click.option("--clean", is_flag=True,
                  help="Remove stopped incomplete runs and stale temporary folders (asks first).")
    @click.option("--yes", "-y", is_flag=True, help="--clean without asking.")
    @runs_dir_option
    @json_option
    def runs(competition, refresh, clean, yes, runs_dir, as_json):
        """The runs as a leaderboard: CV (nested) score, fold spread, folds and seeds, the
        params that differ, wall time, and the public/private scores of submissions made
        from each run, with the CV-vs-LB correlation; one table per competition, and the
        incomplete runs (jobs done / total) after them.

        Example: kagglekit runs disaster-tweets --refresh
        """
        from kagglekit.commands.leaderboard import show_leaderboard
        from kagglekit.runs import list_runs

        slug = plugins.get_competition(competition).slug if competition else None
        if clean:
            removed = job_cli.clean_runs(runs_dir, slug, yes)
            if as_json:
                emit_json({"removed": removed})
            return
        found = list_runs(runs_dir, slug)
        incomplete = job_cli.incomplete_rows(runs_dir, slug)
        show_leaderboard(found, runs_dir, refresh=refresh, as_json=as_json,
                         incomplete=incomplete)

    @cli.command()
    @click.argument("run_ref", metavar="RUN")
    @click.option("--labels", "labels_path", type=click.Path(path_type=Path),
                  help="Test labels (file, or folder for folder layouts) [default: the "
                       "competition's labels file in the run's data folder].")
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
        info(f"Scored {result['n_scored']} of {result['n_predictions']} test predictions of run "
             f"{run.id} against {result['labels']} ({result['n_unscored']} label rows not scored)")
        if as_json:
            payload = run_payload(run)
            payload.update({"test_scores": result["scores"], **{k: v for k, v in result.items()
                                                                if k != "scores"}})
            emit_json(payload)
            return
        rows = [{"on": "test", **result["scores"]}]
        if run.scores:
            rows.insert(0, {"on": "OOF" if run.info.get("held_out", True) else "OOF (not held out)",
                            **run.scores})
        score_table(f"{run.model} on {comp.slug}", rows, ["on", *result["scores"]])


