"""Which CV run a ``kagglekit fit`` reproduces: the same competition, model, params and text
preparation (the keys that shape a model). ``fit`` takes that run's threshold, and for
models that learn epoch by epoch its recipe (epochs, learning rates)."""

from __future__ import annotations

import json

from kagglekit.runs import Run, list_runs

RECIPE_KEYS = ("competition", "model", "params", "prepared_text", "text_columns",
               "competition_params", "sample")


def recipe_differences(run: Run, record: dict) -> list[str]:
    """What differs between a CV run and the record of a fit about to be made: the keys that
    shape a model (competition, model, params, text preparation, ...), as phrases."""
    out = []
    if run.kind != "cv":
        out.append(f"it is a {run.kind} run, not a cv run")
    for key in RECIPE_KEYS:
        mine, theirs = record.get(key), run.info.get(key)
        if key == "params" and isinstance(mine, dict) and isinstance(theirs, dict):
            for name in sorted(set(mine) | set(theirs)):
                if mine.get(name) != theirs.get(name):
                    out.append(f"param {name}={_short_value(theirs.get(name))} there, "
                               f"{_short_value(mine.get(name))} here")
        elif mine != theirs:
            out.append(f"{key} {_short_value(theirs)} there, {_short_value(mine)} here")
    return out


def _short_value(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def matching_cv_run(runs_dir, record: dict) -> Run | None:
    """The newest complete, held-out CV run made with the same recipe as ``record``."""
    found = [r for r in list_runs(runs_dir, record["competition"])
             if r.kind == "cv" and r.info.get("held_out", True)
             and not recipe_differences(r, record)]
    return max(found, key=lambda r: (r.info.get("created") or "", r.id), default=None)
