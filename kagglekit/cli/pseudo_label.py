"""``pseudo-label``: a training set of train + a run's confidently predicted test rows."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info
from kagglekit.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command("pseudo-label")
    @click.argument("run_ref", metavar="RUN")
    @click.option(
        "--min-confidence",
        type=float,
        default=None,
        help="Keep test rows predicted at least this confidently: max(p, 1-p), the "
        "least confident target's for several; in [0.5, 1] [default: 0.95 "
        "unless --top is given].",
    )
    @click.option(
        "--top",
        type=float,
        default=None,
        help="Keep this fraction of the test rows, the most confident first.",
    )
    @click.option(
        "--soft",
        is_flag=True,
        help="Label them with the predicted probabilities, not 0/1 (neural models).",
    )
    @click.option(
        "--output",
        type=click.Path(path_type=Path),
        default=None,
        help="The new dataset folder [default: RUNS_DIR/_pseudo/RUN-RULE].",
    )
    @runs_dir_option
    @json_option
    def pseudo_label(run_ref, min_confidence, top, soft, output, runs_dir, as_json):
        """Add a run's confident test predictions to the training rows, as a new dataset.

        `kagglekit cv COMPETITION --data-dir DIR` then trains every fold on them too
        (fold -1: never scored; the real rows keep their folds). Its scores are marked not
        held out: the labels came from models that trained on the scored rows.

        \b
        Example:
          kagglekit pseudo-label RUN --min-confidence 0.95 --output pseudo/imdb
          kagglekit cv imdb --data-dir pseudo/imdb --model tfidf-lr
        """
        from kagglekit.pseudo import make_pseudo_set
        from kagglekit.store.folder import RunsFolder
        from kagglekit.store.refs import resolve_run

        if min_confidence is None and top is None:
            min_confidence = 0.95
        run = resolve_run(run_ref, runs_dir)
        rule = f"top{top:g}" if top is not None else f"conf{min_confidence:g}"
        output = output or RunsFolder(runs_dir).pseudo_labels(
            f"{run.id}-{rule}{'-soft' if soft else ''}"
        )
        record = make_pseudo_set(run, output, min_confidence=min_confidence, top=top, soft=soft)
        verb = "Already made (the same run and rule):" if record.get("existing") else "Wrote"
        info(
            f"{verb} {record['n_pseudo']} of {record['n_test']} test rows "
            f"({'soft' if soft else 'hard'} labels, confidence >= "
            f"{record['min_chosen_confidence']:.4f}) in {output}"
        )
        info(f"Train on them: kagglekit cv {record['competition']} --data-dir {output} --model ...")
        if as_json:
            emit_json({**record, "path": str(Path(output).resolve())})
