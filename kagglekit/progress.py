"""Progress events: the library reports its long steps here and draws nothing.

``steps(description, total, unit=..., min_seconds=..., transient=...)`` is a context
manager yielding ``advance(n=1, what="")``; ``status(description, min_seconds=...)`` is
one step of unknown length. Both forward to the renderer an application installs with
``use(steps, status)``: the CLI installs ``kagglekit.cli.output``'s (a rich bar on a
terminal, plain lines in a log file). With none installed (a notebook, a script, a worker
process) nothing is shown. Fold jobs report through the executors' ``on_event`` callback
(``JobEvent``) instead, and downloads through a ``(stage, done, total)`` callback.

    with steps("Predicting", total=n_rows, unit="rows") as advance:
        for chunk in chunks:
            ...
            advance(len(chunk))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any


@contextlib.contextmanager
def silent_steps(description: str, total: int | None = None, **_):
    """The renderer when none is installed: nothing is shown."""
    yield lambda n=1, what="": None


@contextlib.contextmanager
def silent_status(description: str, **_):
    yield


_renderer: dict[str, Callable[..., Any]] = {"steps": silent_steps, "status": silent_status}


def use(steps_renderer=None, status_renderer=None) -> None:
    """Install the functions that draw progress (None: nothing is shown)."""
    _renderer["steps"] = steps_renderer or silent_steps
    _renderer["status"] = status_renderer or silent_status


def steps(
    description: str,
    total: int | None,
    *,
    unit: str = "steps",
    min_seconds: float = 0.0,
    transient: bool = False,
):
    """A task of ``total`` units; yields ``advance(n=1, what="")``."""
    return _renderer["steps"](
        description, total, unit=unit, min_seconds=min_seconds, transient=transient
    )


def status(description: str, *, min_seconds: float = 0.0):
    """One step of unknown length."""
    return _renderer["status"](description, min_seconds=min_seconds)
