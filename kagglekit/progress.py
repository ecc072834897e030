"""Progress on stderr that stays readable in a log file.

``steps(description, total)`` yields ``advance(n=1, what="")``: on a terminal a rich bar
with elapsed time and ETA; when stderr is not a terminal (a log file, a pipe, a CI job),
plain lines instead - one per step, or about one per tenth for many small steps - with no
ANSI codes and no carriage returns. ``status(description)`` is the same for one step of
unknown length (a spinner on a terminal, one line with its seconds otherwise).

Every long step the core owns uses these (reading large files, ``predict``, reports);
fold jobs and Keras epochs may adopt them too (one line per job or epoch).

    with steps("Predicting", total=n_rows, unit="rows") as advance:
        for chunk in chunks:
            ...
            advance(len(chunk))
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

PLAIN_LINES = 10  # lines per task at most when stderr is not a terminal (unit != "steps")


def is_terminal(stream=None) -> bool:
    """Whether progress may draw (a TTY, and not turned off by KAGGLEKIT_PROGRESS=plain)."""
    stream = stream or sys.stderr
    if os.environ.get("KAGGLEKIT_PROGRESS", "").lower() in ("plain", "off", "0"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _write(stream, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def _enabled() -> bool:
    return os.environ.get("KAGGLEKIT_PROGRESS", "").lower() != "off"


@contextlib.contextmanager
def steps(description: str, total: int | None, *, unit: str = "steps", stream=None,
          min_seconds: float = 0.0):
    """Yield ``advance(n=1, what="")``; see the module docstring. Off a terminal, no line
    is written before ``min_seconds`` have passed (a quick task stays silent)."""
    stream = stream or sys.stderr
    start = time.perf_counter()
    if not _enabled():
        yield lambda n=1, what="": None
        return
    if is_terminal(stream):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        console = Console(file=stream)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                      TextColumn("{task.fields[what]}"), console=console,
                      transient=False) as bar:
            task = bar.add_task(description, total=total, what="")

            def advance(n: int = 1, what: str = "") -> None:
                bar.update(task, advance=n, what=what)

            yield advance
        return
    state = {"done": 0, "printed": -1}
    every = 1 if unit == "steps" or not total else max(1, total // PLAIN_LINES)

    def advance(n: int = 1, what: str = "") -> None:
        state["done"] += n
        done = state["done"]
        if time.perf_counter() - start < min_seconds:
            return
        if done // every == state["printed"] // every and done != total:
            return
        state["printed"] = done
        of = f"/{total}" if total else ""
        elapsed = time.perf_counter() - start
        eta = ""
        if total and 0 < done < total:
            eta = f", ETA {_seconds(elapsed / done * (total - done))}"
        label = f" {what}" if what else ""
        _write(stream, f"{description}: {done}{of} {unit}{label} ({_seconds(elapsed)}{eta})")

    yield advance


@contextlib.contextmanager
def status(description: str, *, stream=None, min_seconds: float = 0.0):
    """One step of unknown length: a spinner on a terminal, else one line when it ends
    (only when it took at least ``min_seconds``)."""
    stream = stream or sys.stderr
    start = time.perf_counter()
    if not _enabled():
        yield
        return
    if is_terminal(stream):
        from rich.console import Console

        with Console(file=stream).status(description):
            yield
    else:
        yield
    elapsed = time.perf_counter() - start
    if elapsed >= min_seconds:
        _write(stream, f"{description}: done ({_seconds(elapsed)})")


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(round(value)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
