"""``submit``: write a run's submission, validate it, upload it, wait for the score."""

from __future__ import annotations

from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, info, kaggle_notes, run_payload
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.store.folder import RunsFolder
from kagglekit.store.ranking import best_run
from kagglekit.store.refs import resolve_run


def upload_options(f):
    """--upload, -m/--message, --wait, --wait-timeout for ``kagglekit submit``."""
    options = [
        click.option(
            "--upload",
            is_flag=True,
            help="Send the validated file to Kaggle (needs Kaggle credentials).",
        ),
        click.option(
            "--message",
            "-m",
            metavar="MSG",
            help="Submission description for --upload [default: kagglekit <run id>].",
        ),
        click.option(
            "--wait",
            is_flag=True,
            help="With --upload: wait until Kaggle scores it and print the public score.",
        ),
        click.option(
            "--wait-timeout",
            type=float,
            default=1800.0,
            show_default=True,
            metavar="SECONDS",
            help="How long --wait waits.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def submit_output(comp, run, output, upload: bool, wait: bool):
    """Check the upload options before anything is written; where submit should write.

    A code competition inside a Kaggle notebook writes /kaggle/working/submission.csv
    (the file Kaggle scores when the notebook is submitted); outside a notebook it cannot
    be uploaded at all, which is said before any work is done.
    """
    from kagglekit.kaggle_client import credentials, submit

    if wait and not upload:
        raise KaggleKitError("--wait needs --upload")
    if upload and run.info.get("sample"):
        raise KaggleKitError(
            f"run {run.id} was trained on a generated sample, not the real "
            f"data; refusing to upload it (fetch the data and rerun)"
        )
    if comp.code_competition:
        if submit.in_kaggle_notebook():
            return output or submit.notebook_submission_path()
        if upload:
            from kagglekit.kaggle_client.package import pushed_for

            if pushed_for(run) is None:  # `kagglekit package RUN --push` records the notebook
                raise credentials.CodeCompetition(
                    f"{submit.code_competition_message(comp.slug)}; or push run {run.id} as an "
                    f"offline notebook with `kagglekit package {run.id} --push` and run this again"
                )
            return output
        info(
            f"Note: {comp.slug} is a code competition; Kaggle accepts submissions only "
            f"from a notebook"
        )
    return output


def upload_submission(
    comp, run, path: Path, message, wait: bool, wait_timeout: float, as_json: bool
) -> dict:
    """Upload the written file (and wait for its score); a JSON-ready summary."""
    from kagglekit.kaggle_client import credentials, submit
    from kagglekit.kaggle_client import session as session_module

    if comp.code_competition and submit.in_kaggle_notebook():  # submit_output chose the path
        scored = submit.notebook_submission_path()
        page = credentials.COMPETITION_URL.format(slug=comp.slug)
        moved = "" if Path(path) == scored else f" (this run wrote {path} instead: copy it there)"
        info(
            f"{comp.slug} is a code competition: Kaggle scores {scored}{moved} when you "
            f"submit this notebook (Save Version, then Submit on {page}); nothing was uploaded"
        )
        return {"uploaded": False, "reason": "code competition", "path": str(path)}
    message = message or f"kagglekit {run.id}"
    session = session_module.connect()
    if comp.code_competition:  # the notebook `kagglekit package --push` pushed for this run
        from kagglekit.kaggle_client.package import submit_pushed

        ref, pushed = submit_pushed(
            run,
            message,
            session=session,
            timeout=wait_timeout,
            on_poll=lambda status, waited: info(f"  notebook {status} after {waited:.0f}s"),
        )
        info(
            f"Submitted notebook {pushed.kernel} version {pushed.version} to {comp.slug} as "
            f"submission {ref}: {message!r}"
        )
        notebook = {"kernel": pushed.kernel, "kernel_version": pushed.version}
    else:
        ref = submit.upload(comp.slug, path, message, session=session)
        info(f"Uploaded {path} to {comp.slug} as submission {ref}: {message!r}")
        notebook = {}
    _remember_upload(run, comp.slug, ref, message)
    result = {
        "uploaded": True,
        "ref": ref,
        "message": message,
        "status": "pending",
        "public_score": None,
        **notebook,
    }
    if wait:
        info("Waiting for Kaggle to score it ...")

        def on_poll(sub, waited):
            info(f"  {sub.status if sub else 'not listed yet'} after {waited:.0f}s")

        scored_sub = submit.wait_for_score(
            comp.slug, ref, timeout=wait_timeout, session=session, on_poll=on_poll
        )
        result.update(status=scored_sub.status, public_score=scored_sub.public_score)
        if not as_json:
            click.echo(f"Public score: {scored_sub.public_score}")
    kaggle_notes(session.notes)
    return result


def _remember_upload(run, slug: str, ref: int, message: str) -> None:
    """Record which run submission ``ref`` came from (`kagglekit runs` shows its score)."""
    from kagglekit.leaderboard import record_upload

    try:
        record_upload(RunsFolder.of_run(run.path), slug, ref, run.id, message)
    except OSError as exc:
        info(f"Note: could not record submission {ref} in the runs folder ({exc})")


def score_line(comp, run) -> str:
    """The run's score as `runs` ranks it, labelled: the held-out figure (nested for a
    thresholded metric), its fold spread, and the optimistic all-rows figure beside it."""
    from kagglekit.metrics import ranking_score

    info, metric = run.info, comp.metric
    value = ranking_score(info, metric)
    if run.kind == "fit" or value is None:
        why = "a fit run, trained on every row" if run.kind == "fit" else "no held-out figure"
        return f"no CV score ({why})"
    spread = (info.get("fold_spread") or {}).get(metric)
    text = f"CV {metric} {value:.4f}" + (f" ± {spread:.4f} over folds" if spread else "")
    nested = metric in (info.get("nested_scores") or {}) and info.get("threshold_metric") == metric
    if not info.get("held_out", True):
        reasons = "; ".join(info.get("not_held_out_because") or []) or "see run.json"
        return f"{text} (NOT held out: {reasons})"
    text += (
        " (held out; nested: each fold's threshold chosen on the other folds)"
        if nested
        else " (held out: out-of-fold)"
    )
    all_rows = (info.get("scores") or {}).get(metric)
    if nested and all_rows is not None:
        text += f"; {all_rows:.4f} at the threshold chosen on all OOF rows (not held out)"
    return text


def newest_competition(competition, runs_dir) -> str | None:
    """With no RUN and no --competition: the competition of the newest run when the runs
    folder holds several competitions (said on stderr), else ``competition``."""
    from kagglekit.store.run import list_runs

    if competition:
        return competition
    found = [r for r in list_runs(runs_dir) if r.scores]
    slugs = sorted({r.competition for r in found})
    if len(slugs) < 2:
        return competition
    newest = max(found, key=lambda r: (r.path / "run.json").stat().st_mtime_ns)
    info(
        f"Runs of {len(slugs)} competitions in {runs_dir} ({', '.join(slugs)}): submitting "
        f"for {newest.competition}, the competition of the newest run {newest.id} "
        f"(pass --competition to choose)"
    )
    return newest.competition


# ------------------------------------------------------------- commands


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("run_ref", metavar="[RUN]", required=False)
    @click.option(
        "--competition", "-c", help="With no RUN: the competition whose best CV run to submit."
    )
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Submission path [default: submissions/<slug>/<run-id>.csv].",
    )
    @runs_dir_option
    @json_option
    @upload_options
    def submit(
        run_ref, competition, output, runs_dir, as_json, upload, message, wait, wait_timeout
    ):
        """Write a run's submission, validated against sample_submission.csv.

        Without RUN, the best CV run (by the competition's metric) is used. --upload sends
        it to Kaggle; --wait then prints the public score.

        Example: kagglekit submit --competition disaster-tweets --upload -m "tfidf" --wait
        """
        from kagglekit.submission import write_submission

        run = (
            resolve_run(run_ref, runs_dir)
            if run_ref
            else best_run(newest_competition(competition, runs_dir), runs_dir)
        )
        comp = plugins.get_competition(run.competition)
        picked = "Run" if run_ref else f"Best run for {comp.slug} (by the held-out CV figure):"
        output = submit_output(comp, run, output, upload, wait)
        path, frame = write_submission(comp, run, output)
        # said once the file is written: a failure is its one Error line, nothing before it
        info(f"{picked} {run.id} ({run.model}): {score_line(comp, run)}")
        against = " against sample_submission.csv" if comp.sample_submission_file else ""
        info(
            f"Submission for {comp.slug} from run {run.id}: {path} ({len(frame)} rows, validated"
            f"{against})"
        )
        if run.info.get("sample"):
            info("Note: this run used a generated sample, not the real data; do not upload it.")
        if not as_json:
            click.echo(str(path))
        uploaded = (
            upload_submission(comp, run, path, message, wait, wait_timeout, as_json)
            if upload
            else None
        )
        if as_json:
            payload = run_payload(run)
            payload["path"] = str(Path(path).resolve())
            if uploaded is not None:
                payload["upload"] = uploaded
            emit_json(payload)
