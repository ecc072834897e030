"""A time limit that long-running loops check between steps: ``kagglekit auto`` runs each
model's first fold under one, so that a model too slow for the budget stops at its limit
instead of spending the budget.

    with deadline(120, "fold 1 of bigru"):
        run_cv(...)          # the Keras training loop calls check() after every batch

Outside ``deadline`` nothing is limited and ``check`` costs one global read. A loop that
cannot be stopped between steps (liblinear inside scikit-learn) runs to its end; the
caller compares the time spent with the limit afterwards.
"""

from __future__ import annotations

import contextlib
import time

from kagglekit.errors import KaggleKitError

_limit: tuple[float, str] | None = None  # (time.monotonic() deadline, what is limited)


class OutOfTime(KaggleKitError):
    """The time limit of ``deadline`` passed while a loop that checks it was running."""


@contextlib.contextmanager
def deadline(seconds: float, what: str):
    """Limit the loops run inside to ``seconds`` from now (nested limits: the sooner wins)."""
    global _limit
    before = _limit
    end = time.monotonic() + max(0.0, float(seconds))
    if before is None or end < before[0]:
        _limit = (end, what)
    try:
        yield
    finally:
        _limit = before


def remaining() -> float | None:
    """Seconds left under the current limit, or None when nothing is limited."""
    return None if _limit is None else _limit[0] - time.monotonic()


def check() -> None:
    """Raise OutOfTime when the current limit has passed."""
    if _limit is not None and time.monotonic() > _limit[0]:
        raise OutOfTime(f"{_limit[1]} ran past its time limit")
