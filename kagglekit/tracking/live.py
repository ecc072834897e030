"""Per-epoch figures as they happen: the training loop hands each epoch's entry to the
listener a tracking session set (``kagglekit.keras.training.EpochLog`` calls
``epoch_listener()``). Importing this imports nothing heavy.

The listener belongs to the process that set it: a job running in a forked worker process
inherits it but gets None here, and its epochs are logged from the run's record when the
run is saved instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable

_listener: contextvars.ContextVar = contextvars.ContextVar("kagglekit_epoch_listener", default=None)


@contextlib.contextmanager
def listening(callback: Callable[[dict], None]):
    """Within the block, ``callback(entry)`` receives each epoch's entry (epoch, loss,
    lr, the monitored figure) of training run in this process."""
    token = _listener.set((os.getpid(), callback))
    try:
        yield
    finally:
        _listener.reset(token)


def epoch_listener() -> Callable[[dict], None] | None:
    """The callback set by ``listening`` in this process, else None."""
    current = _listener.get()
    if current is None or current[0] != os.getpid():
        return None
    return current[1]
