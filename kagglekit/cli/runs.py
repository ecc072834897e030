"""``runs``: the runs kept, as one leaderboard table per competition (kagglekit.leaderboard
computes it), the cached Kaggle scores, the CV-vs-LB correlation and the incomplete runs;
``runs --clean`` removes stopped incomplete runs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.cli.options import json_option, runs_dir_option
from kagglekit.cli.output import emit_json, fmt, info, kaggle_notes, show_incomplete
from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl


def _refresh(slugs, runs_dir: Path) -> None:
    """Fetch each competition's submissions into its cache; say why when it cannot."""
    from kagglekit import leaderboard
    from kagglekit.kaggle_client.session import connect

    try:
        session = connect()
    except KaggleKitError as exc:
        info(f"Note: not refreshed from Kaggle ({exc}); showing the cached scores")
        return
    for slug in slugs:
        try:
            cache = leaderboard.refresh(runs_dir, slug, session=session)
        except KaggleKitError as exc:
            info(f"Note: could not refresh {slug} ({exc}); showing the cached scores")
            continue
        info(f"Fetched {len(cache['submissions'])} submissions to {slug} from Kaggle")
    kaggle_notes(session.notes)


def show_leaderboard(
    found,
    runs_dir: Path,
    *,
    refresh: bool = False,
    as_json: bool = False,
    incomplete=(),
    studies=(),
):
    """``incomplete``: rows of the incomplete runs (``incomplete_rows``), listed after the
    tables and under "incomplete" in the JSON; ``studies``: the tune studies
    (``tune.run.list_studies``), listed last and under "studies"."""
    from kagglekit import leaderboard
    from kagglekit.store.ranking import ranked

    by_slug: dict[str, list] = {}
    for run in found:
        by_slug.setdefault(run.competition, []).append(run)
    if refresh and by_slug:
        _refresh(sorted(by_slug), runs_dir)
    tables, summaries, competitions = [], [], {}
    for slug, runs in sorted(by_slug.items()):
        comp = plugins.get_competition(slug)
        cache = leaderboard.read_cache(runs_dir, slug)
        if cache.get("damaged"):
            info(
                f"Note: {cache['damaged']} is damaged and was ignored (kagglekit runs "
                f"--refresh writes it again)"
            )
        runs = ranked(runs, comp.metric)
        rows = leaderboard.rows(runs, cache, comp.metric)
        correlation = leaderboard.cv_lb_correlation(rows)
        competitions[slug] = {
            "metric": comp.metric,
            "cv_lb": correlation,
            "submissions_fetched": cache.get("fetched"),
        }
        for run, row in zip(runs, rows):
            summaries.append(
                {
                    **run.summary(),
                    "cv_score": row["cv"],
                    "spread": row["spread"],
                    "folds": row["folds"],
                    "seeds": row["seeds"],
                    "seconds": row["seconds"],
                    "differing_params": row["params"],
                    "data": row["data"],
                    "lb": {
                        "public": row["public"],
                        "private": row["private"],
                        "submissions": row["submissions"],
                        "pending": row["pending"],
                        "all": row["matched"],
                    },
                }
            )
        tables.append((slug, comp, rows, correlation, cache))
    if as_json:
        emit_json(
            {
                "runs": summaries,
                "competitions": competitions,
                "incomplete": list(incomplete),
                "studies": list(studies),
            }
        )
        return
    if not found:
        click.echo(f"No runs in {runs_dir}.")
    known = _run_folder_names(runs_dir)  # a shortened id must stay unique among all of them
    for slug, comp, rows, correlation, cache in tables:
        _print_table(slug, comp, rows, correlation, cache, known)
    show_incomplete(list(incomplete))
    show_studies(list(studies))


def show_studies(studies) -> None:
    """The tune studies: the best trial's CV (optimistic: chosen out of the trials) beside
    its holdout score (held out)."""
    if not studies:
        return
    from kagglekit.cli.output import score_table

    rows = []
    for s in studies:
        holdout = (s.get("holdout") or {}).get("best") or {}
        trials = s.get("trials") or {}
        rows.append(
            {
                "study": s["study"],
                "model": s["model"],
                "trials": f"{trials.get('complete', 0)} done, {trials.get('pruned', 0)} pruned",
                "best CV (optimistic)": (s.get("best") or {}).get("value"),
                "holdout (held out)": holdout.get("value") if s.get("held_out") else "none",
            }
        )
    score_table("tune studies", rows, list(rows[0]))


def _run_folder_names(runs_dir: Path) -> list[str]:
    from kagglekit.store.folder import RunsFolder

    try:
        return RunsFolder(runs_dir).run_names()
    except OSError:
        return []


WIDTH = 120  # the table wraps its text columns to stay readable at this width
TEXT = ("model", "data", "params")  # wrapped first; a run id or a figure is never folded
WHOLE = ("run", "kind", "cv", "public", "private")  # headers never wrapped either


def _fit_widths(columns, cells, budget: int) -> list[int]:
    """Each column's width: as wide as its header and cells, narrowed until the table fits
    ``budget``: the text columns first (down to 10, or their longest word), then the
    headers of figures (down to their longest word); never below a cell's figure or id
    (when even that does not fit, the table is wider than ``budget``)."""

    def longest_word(text: str) -> int:
        return max([len(w) for w in text.split()] + [1])

    full, least = [], []
    for i, (header, key) in enumerate(columns):
        values = [c[i] for c in cells]
        widest = max([len(v) for v in values] + [1])
        full.append(max(widest, len(header)))
        if key in TEXT:
            least.append(
                min(
                    full[-1],
                    max(10, longest_word(header), max([longest_word(v) for v in values] + [1])),
                )
            )
        else:
            least.append(max(widest, len(header) if key in WHOLE else longest_word(header)))
    widths = list(full)
    for group in ([i for i, (_, k) in enumerate(columns) if k in TEXT], range(len(columns))):
        while sum(widths) > budget:
            slack = [(widths[i] - least[i], i) for i in group if widths[i] > least[i]]
            if not slack:
                break
            _, i = max(slack)
            widths[i] -= 1
    return widths


def _print_table(slug, comp, rows, correlation, cache, known=()) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from kagglekit import leaderboard

    metric = comp.metric
    thresholded = any(r["cv"] != r["cv_all_rows"] for r in rows)
    columns = [("run", "run"), ("kind", "kind"), ("model", "model")]
    data_labels = {r["data"] for r in rows}
    shared = next(iter(data_labels)) if len(data_labels) == 1 else ""  # said once, in the title
    if any(r["data"] for r in rows) and not shared:
        columns.append(("data", "data"))
    columns.append(("folds", "folds"))
    if any((r["seeds"] or 1) > 1 for r in rows):  # one seed each: said by no column
        columns.append(("seeds", "seeds"))
    columns += [(f"{metric} (nested)" if thresholded else metric, "cv"), ("± folds", "spread")]
    if thresholded:
        columns.append((f"{metric} all rows", "cv_all_rows"))
    if not all(r["held_out"] for r in rows):
        columns.append(("held out", "held_out"))
    if any(r["params"] for r in rows):
        columns.append(("params that differ", "params"))
    columns.append(("time", "seconds"))
    if any(r["submissions"] for r in rows):
        columns += [("public LB", "public"), ("private LB", "private")]
    shown = leaderboard.short_ids([r["run"] for r in rows], known)
    shortened = any(shown[r["run"]] != r["run"] for r in rows)
    title = f"{slug} ({comp.metric}; ranked by the held-out figure)"
    if shared:
        title += f"; every run: {shared}"
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        show_edge=False,  # two spaces between columns: the pad and the divider
        caption=(
            "run: a long id is shown as a prefix that names it in any command (full ids: --json)"
        )
        if shortened
        else None,
        caption_justify="left",
    )
    cells = [[_display(row, key, shown, leaderboard) for _, key in columns] for row in rows]
    widths = _fit_widths(columns, cells, WIDTH - 2 * len(columns) + 1)
    for (header, key), width in zip(columns, widths):
        table.add_column(
            header,
            justify="left" if key in ("run", "kind", *TEXT) else "right",
            width=width + 1,
            overflow="fold",
        )  # + its padding
    for row in cells:
        table.add_row(*row)
    Console(file=sys.stdout, width=max(WIDTH, sum(widths) + 2 * len(columns) - 1)).print(table)
    if any(r["submissions"] for r in rows):
        when = cache.get("fetched") or "never (only submit --upload records)"
        n = correlation["n"]
        if correlation["pearson"] is not None:
            said = (
                f"CV vs public LB over {n} held-out runs: Pearson "
                f"{correlation['pearson']:.3f}, Spearman {correlation['spearman']:.3f}"
            )
        else:
            said = f"CV vs public LB: {n} held-out run(s) with a scored submission (3 needed)"
        click.echo(f"{said}; Kaggle scores fetched {when}")


def _display(row, key, shown, leaderboard) -> str:
    if key == "run":
        return shown[row["run"]]
    if key == "model":  # a blend's members: it may wrap after each "+"
        return row["model"].replace("+", "+ ")
    return _cell(row, key, leaderboard)


def _cell(row, key, leaderboard) -> str:
    value = row[key]
    if key == "params":
        return leaderboard.format_params(value)
    if key == "seconds":
        return leaderboard.format_seconds(value)
    if key == "held_out":
        return "yes" if value else "NO"
    if key in ("public", "private") and value is None and row["pending"]:
        return "pending"
    if key in ("public", "private") and isinstance(value, float):
        return f"{value:.5f}"
    return fmt(value)


def incomplete_rows(runs_dir, slug=None) -> list[dict]:
    from kagglekit.store.jobstore import incomplete_runs

    return incomplete_runs(runs_dir, slug)


def clean_runs(runs_dir, slug=None, yes: bool = False) -> list[str]:
    """Remove stopped incomplete runs and stale temporary folders, after asking."""
    from kagglekit.store.jobstore import dead_incomplete

    found = dead_incomplete(runs_dir, slug)
    if not found:
        click.echo(f"Nothing to clean in {runs_dir}.", err=True)
        return []
    for path in found:
        click.echo(f"  {path}", err=True)
    if not yes and not click.confirm(f"Remove these {len(found)} folder(s)?", err=True):
        click.echo("Nothing removed.", err=True)
        return []
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    click.echo(f"Removed {len(found)} folder(s).", err=True)
    return [str(p) for p in found]


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("competition", required=False)
    @click.option(
        "--refresh",
        is_flag=True,
        help="Fetch your submissions' leaderboard scores from Kaggle again (needs "
        "credentials); otherwise the cached ones are shown, with no network.",
    )
    @click.option(
        "--clean",
        is_flag=True,
        help="Remove stopped incomplete runs and stale temporary folders (asks first).",
    )
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
        from kagglekit.store.run import list_runs

        slug = plugins.get_competition(competition).slug if competition else None
        if clean:
            removed = clean_runs(runs_dir, slug, yes)
            if as_json:
                emit_json({"removed": removed})
            return
        from kagglekit.store.folder import RunsFolder
        from kagglekit.tune.run import list_studies

        found = list_runs(runs_dir, slug)
        incomplete = incomplete_rows(runs_dir, slug)
        studies = list_studies(RunsFolder(runs_dir), slug)
        show_leaderboard(
            found,
            runs_dir,
            refresh=refresh,
            as_json=as_json,
            incomplete=incomplete,
            studies=studies,
        )
