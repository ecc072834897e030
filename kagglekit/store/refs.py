"""Run references, resolved once against one runs folder.

A command names a run by its folder, its run id or a unique prefix of the id: ``RUN``
arguments, ``--from RUN``, ``--resume RUN`` (an incomplete run) and params that name a run
(a model class's ``run_params``, e.g. ``-p teacher=RUN``). Each is resolved here, once,
before any job runs; a run param becomes the run's folder, so that run.json records it and
every worker (on any machine that shares the folder) opens that very run with ``open_run``,
never looking it up again.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kagglekit.errors import KaggleKitError, ParamError, RunError
from kagglekit.store.folder import RUN_FILE, RunsFolder
from kagglekit.store.jobstore import incomplete_runs
from kagglekit.store.run import Run, list_runs


def resolve_run(ref: str, runs_dir) -> Run:
    """A run from a path, a run id, or a unique prefix of a run id in a runs folder (a
    RunsFolder or its root)."""
    path = Path(ref)
    if (path / RUN_FILE).is_file():
        return Run(path)
    folder = RunsFolder.of(runs_dir)
    runs = list_runs(folder)
    matches = [r for r in runs if r.id == ref] or [r for r in runs if r.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise RunError(
            f"run {ref!r} is ambiguous: {', '.join(r.id for r in matches[:5])}; give more of the id"
        )
    if path.is_dir() or len(path.parts) > 1:  # a path, not a run id
        why = f"not a run folder (no {RUN_FILE})" if path.is_dir() else "no such run folder"
        raise RunError(f"{path}: {why}; pass a run directory, a run id or --runs-dir")
    raise RunError(
        f"no run {ref!r} in {folder} (`kagglekit runs` lists them; "
        f"pass a run directory or --runs-dir)"
    )


def open_run(folder) -> Run:
    """The run in a folder a reference was resolved to (``resolve_run_params``)."""
    path = Path(folder)
    if not (path / RUN_FILE).is_file():
        why = f"not a run folder (no {RUN_FILE})" if path.is_dir() else "no such run folder"
        raise RunError(f"{path}: {why}; pass a run directory, a run id or --runs-dir")
    return Run(path)


def resolve_run_params(name: str, cls, params, runs_dir=None):
    """``params`` with every run param of ``cls`` (``cls.run_params``) that is set replaced
    by the absolute folder of the run it names in the runs folder; a ParamError naming the
    model and param when there is no such run."""
    refs = {
        f: getattr(params, f) for f in getattr(cls, "run_params", ()) if getattr(params, f, None)
    }
    if not refs:
        return params
    folder = RunsFolder.of(runs_dir)
    found = {}
    for field, ref in refs.items():
        try:
            found[field] = str(resolve_run(str(ref), folder).path.resolve())
        except KaggleKitError as exc:
            raise ParamError(f"{name}: {field}={ref}: {exc}") from None
    return dataclasses.replace(params, **found)


def find_incomplete(ref: str, runs_dir) -> dict:
    """An incomplete run (``--resume RUN``) by run id, unique id prefix or folder."""
    found = incomplete_runs(runs_dir)
    matches = [
        r
        for r in found
        if r["run_id"] == ref or Path(r["path"]) == Path(ref).resolve() or r["path"] == ref
    ] or [r for r in found if (r["run_id"] or "").startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise KaggleKitError(
            f"--resume {ref!r} is ambiguous: "
            f"{', '.join(r['run_id'] for r in matches[:5])}; give more of the id"
        )
    raise KaggleKitError(
        f"no incomplete run {ref!r} in {RunsFolder.of(runs_dir)} (`kagglekit "
        f"runs` lists incomplete runs; a finished run needs no resuming)"
    )
