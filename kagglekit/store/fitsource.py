"""Which CV run a ``kagglekit fit`` reproduces, and the threshold it labels test rows with.

The source run has the same competition, model, params and text preparation (the keys
that shape a model): ``--from RUN``, else the newest held-out CV run of that recipe in the
runs folder. ``fit`` takes that run's threshold, and for models that learn epoch by epoch
its recipe (epochs, learning rates). ``--threshold T`` instead is recorded as such; with
neither, a competition scored on labels (F1) is refused before any training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kagglekit.errors import KaggleKitError
from kagglekit.store.record import base_record
from kagglekit.store.refs import resolve_run
from kagglekit.store.run import Run, list_runs

RECIPE_KEYS = (
    "competition",
    "model",
    "params",
    "prepared_text",
    "text_columns",
    "competition_params",
    "sample",
)


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
                    out.append(
                        f"param {name}={_short_value(theirs.get(name))} there, "
                        f"{_short_value(mine.get(name))} here"
                    )
        elif mine != theirs:
            out.append(f"{key} {_short_value(theirs)} there, {_short_value(mine)} here")
    return out


def _short_value(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def matching_cv_run(runs_dir, record: dict) -> Run | None:
    """The newest complete, held-out CV run made with the same recipe as ``record``."""
    found = [
        r
        for r in list_runs(runs_dir, record["competition"])
        if r.kind == "cv" and r.held_out and not recipe_differences(r, record)
    ]
    return max(found, key=lambda r: (r.info.get("created") or "", r.id), default=None)


@dataclass
class FitSource:
    """How one model's fit is made: the CV run it reproduces (or None), the threshold and
    where it came from (a run id, "--threshold" or None), and what to tell the user."""

    name: str
    cls: type
    params: object
    source: Run | None
    threshold: float | None
    threshold_source: str | None
    message: str


def fit_sources(
    chosen,
    data,
    runs_dir,
    *,
    competition: str,
    seed: int,
    from_run: str | None = None,
    threshold: float | None = None,
) -> list[FitSource]:
    """Every model's source run and threshold, settled before any training.

    ``chosen``: [(name, cls, params)] (``params.resolve_models``); ``data``: the loaded
    dataset; ``competition``: the name as given (said in messages). A competition whose
    metric scores labels (F1) refuses a fit with neither a source run nor ``threshold``;
    one whose secondary metric does (IMDb's accuracy) gets a fit without a threshold."""
    from kagglekit import plugins
    from kagglekit.metrics import thresholded_metric

    labels = thresholded_metric(data.competition) is not None
    needs = plugins.get_metric(data.competition.metric)  # it scores labels: a threshold is a must
    needs_threshold, metric_name = needs.needs_threshold, needs.name
    out = []
    for name, cls, model_params in chosen:
        record = base_record("fit", data.competition, name, model_params, seed, data)
        source = None
        if from_run:
            source = resolve_run(from_run, runs_dir)
            differences = recipe_differences(source, record)
            if differences:
                more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
                raise KaggleKitError(
                    f"--from {source.id}: not the same recipe: "
                    f"{differences[0]}{more}; fit with the run's options "
                    f"or run `kagglekit cv` with these"
                )
        elif threshold is None:
            source = matching_cv_run(runs_dir, record)
        if source is None and threshold is None and needs_threshold:
            raise KaggleKitError(
                f"no CV run of {name} with these params in {runs_dir} to take its "
                f"{metric_name} threshold from; run `kagglekit cv {competition} --model "
                f"{name}` (same -p and data options) first, or pass --threshold T"
            )
        out.append((name, cls, model_params, source))
    return [
        _settle(
            *plan, runs_dir=runs_dir, competition=competition, threshold=threshold, labels=labels
        )
        for plan in out
    ]


def _settle(
    name, cls, model_params, source, *, runs_dir, competition, threshold, labels
) -> FitSource:
    if source is not None:
        how = f"threshold {source.threshold:.4f} chosen on its OOF" if labels else "its recipe"
        return FitSource(
            name,
            cls,
            model_params,
            source,
            source.threshold,
            source.id,
            f"{name}: reproducing CV run {source.id} ({how})",
        )
    if threshold is not None:
        return FitSource(name, cls, model_params, None, threshold, "--threshold", "")
    if labels:  # only a secondary metric needs one (IMDb's accuracy)
        message = (
            f"Note: no CV run of {name} with these params in {runs_dir}: this fit "
            f"gets no decision threshold and `submit` will refuse it; run "
            f"`kagglekit cv {competition} --model {name}` (same -p options) first, "
            f"or pass --threshold"
        )
    else:
        message = (
            f"Note: no CV run of {name} with these params in {runs_dir}; training "
            f"with the params as given"
        )
    return FitSource(name, cls, model_params, None, None if labels else 0.5, None, message)
