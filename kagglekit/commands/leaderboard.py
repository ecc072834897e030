"""What ``kagglekit runs`` prints: one leaderboard table per competition (kagglekit.leaderboard
computes it), the cached Kaggle scores, and the CV-vs-LB correlation."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kagglekit import plugins
from kagglekit.commands.options import emit_json, fmt, info, kaggle_notes
from kagglekit.errors import KaggleKitError


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


def show_leaderboard(found, runs_dir: Path, *, refresh: bool = False, as_json: bool = False,
                     incomplete=()):
    """``incomplete``: rows of the incomplete runs (executors.options.incomplete_rows),
    listed after the tables and under "incomplete" in the JSON."""
    from kagglekit import leaderboard
    from kagglekit.executors.options import show_incomplete

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
            info(f"Note: {cache['damaged']} is damaged and was ignored (kagglekit runs "
                 f"--refresh writes it again)")
        runs = leaderboard.ranked(runs, comp.metric)
        rows = leaderboard.rows(runs, cache, comp.metric)
        correlation = leaderboard.cv_lb_correlation(rows)
        competitions[slug] = {"metric": comp.metric, "cv_lb": correlation,
                              "submissions_fetched": cache.get("fetched")}
        for run, row in zip(runs, rows):
            summaries.append({**run.summary(), "cv_score": row["cv"], "spread": row["spread"],
                              "folds": row["folds"], "seeds": row["seeds"],
                              "seconds": row["seconds"], "differing_params": row["params"],
                              "data": row["data"],
                              "lb": {"public": row["public"], "private": row["private"],
                                     "submissions": row["submissions"],
                                     "pending": row["pending"],
                                     "all": row["matched"]}})
        tables.append((slug, comp, rows, correlation, cache))
    if as_json:
        emit_json({"runs": summaries, "competitions": competitions,
                   "incomplete": list(incomplete)})
        return
    if not found:
        click.echo(f"No runs in {runs_dir}.")
    for slug, comp, rows, correlation, cache in tables:
        _print_table(slug, comp, rows, correlation, cache)
    show_incomplete(list(incomplete))


def _print_table(slug, comp, rows, correlation, cache) -> None:
    from rich.console import Console
    from rich.table import Table

    from kagglekit import leaderboard

    metric = comp.metric
    thresholded = any(r["cv"] != r["cv_all_rows"] for r in rows)
    columns = [("run", "run"), ("kind", "kind"), ("model", "model")]
    if any(r["data"] for r in rows):
        columns.append(("data", "data"))
    columns += [("folds", "folds"), ("seeds", "seeds"),
                (f"{metric} (nested)" if thresholded else metric, "cv"),
                ("± folds", "spread")]
    if thresholded:
        columns.append((f"{metric} all rows", "cv_all_rows"))
    if not all(r["held_out"] for r in rows):
        columns.append(("held out", "held_out"))
    if any(r["params"] for r in rows):
        columns.append(("params that differ", "params"))
    columns.append(("time", "seconds"))
    if any(r["submissions"] for r in rows):
        columns += [("public LB", "public"), ("private LB", "private")]
    table = Table(title=f"{slug} ({comp.metric}; ranked by the held-out figure)",
                  title_justify="left")
    for header, key in columns:
        table.add_column(header, justify="left" if key in ("run", "kind", "model", "data", "params")
                         else "right", no_wrap=True)
    for row in rows:
        table.add_row(*[_cell(row, key, leaderboard) for _, key in columns])
    # wide enough for every header and cell: nothing is truncated (a terminal may wrap)
    Console(file=sys.stdout, width=1000, soft_wrap=True).print(table)
    if any(r["submissions"] for r in rows):
        when = cache.get("fetched") or "never (only submit --upload records)"
        n = correlation["n"]
        if correlation["pearson"] is not None:
            said = (f"CV vs public LB over {n} held-out runs: Pearson "
                    f"{correlation['pearson']:.3f}, Spearman {correlation['spearman']:.3f}")
        else:
            said = f"CV vs public LB: {n} held-out run(s) with a scored submission (3 needed)"
        click.echo(f"{said}; Kaggle scores fetched {when}")


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
