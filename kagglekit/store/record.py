"""The run record (run.json): its one builder, for cv, fit and blend runs.

Every record written now starts with ``"format": 1`` (``store.run.FORMAT``). The policy:
a run.json without ``format`` is format 0 and is read as it always was; a run.json of a
newer format than this code knows is refused in one line naming the run and saying to
upgrade kagglekit (exit status 2). A change that old readers would misread bumps FORMAT;
adding a key they can ignore does not.
"""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kagglekit import __version__
from kagglekit.params import params_to_dict
from kagglekit.store.run import FORMAT

if TYPE_CHECKING:
    from kagglekit.competition import Competition
    from kagglekit.data import Dataset


def environment() -> dict:
    return {
        "kagglekit": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "argv": sys.argv[1:],
    }


def record(
    kind: str,
    comp: Competition,
    model: str,
    params: dict,
    seed: int,
    *,
    data_dir,
    sample: bool,
    prepared_text: bool,
    text_columns,
    encoding: str = "utf-8",
    allow_empty_text: bool = False,
    n_train: int,
    n_test: int,
    competition_params: dict | None = None,
    notes=(),
    id_column: str | None = None,
    **more,
) -> dict:
    """The one builder of run.json's common part (cv, fit and blend runs); ``more`` adds the
    kind's own keys (scores, folds, members, ...)."""
    return {
        "format": FORMAT,
        "kind": kind,
        "competition": comp.slug,
        "model": model,
        "params": dict(params),
        "seed": seed,
        "task": comp.task,
        "id_column": id_column or comp.id_column or "id",
        "target_columns": list(comp.target_columns),
        "metric": comp.metric,
        "data_dir": str(Path(data_dir).resolve()),
        "sample": bool(sample),
        # what shaped the texts, as it was done (predict and submit replay exactly this)
        "prepared_text": bool(prepared_text),
        "text_columns": list(text_columns or ()),
        "encoding": encoding,
        "allow_empty_text": bool(allow_empty_text),
        "n_train": int(n_train),
        "n_test": int(n_test),
        "competition_params": dict(competition_params or {}),
        "notes": list(notes),
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "environment": environment(),
        **more,
    }


def base_record(kind: str, comp: Competition, model: str, params, seed: int, data: Dataset) -> dict:
    """``record`` for a run trained on a loaded dataset (cv and fit)."""
    pseudo: dict[str, Any] = {"pseudo": data.pseudo} if data.pseudo else {}
    if data.row_subset:  # trained on some of the train file's rows (tune's holdout kept out)
        pseudo["row_subset"] = data.row_subset
    return record(
        kind,
        comp,
        model,
        params_to_dict(params) if params is not None else {},
        seed,
        data_dir=data.directory,
        sample=data.sample,
        prepared_text=data.competition.prepare_text is not None,
        text_columns=data.competition.text_columns,
        encoding=data.encoding,
        allow_empty_text=data.allow_empty_text,
        n_train=len(data.train),
        n_test=0 if data.test is None else len(data.test),
        competition_params=(
            params_to_dict(data.competition_params) if data.competition_params is not None else {}
        ),
        notes=data.notes,
        **pseudo,
    )
