"""Writes that are whole or absent, and the records that say who is writing.

- ``replace_atomically(path, write)``: ``write(tmp)`` fills a sibling temporary file, which
  is then renamed over ``path`` (one rename: a reader sees the old file or the new one);
  ``atomic_write_text`` / ``write_json`` on top of it turn an OS error into one line.
- ``read_json``: a JSON file, or None when it is missing or unreadable.
- Owner records (``owner_record``): the pid, host and process start time of the process
  building a folder; ``owner_alive`` says whether that process still runs (a start time
  read from ``/proc`` tells a reused pid apart), ``Heartbeat`` keeps an owner file fresh
  for readers on other hosts.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kagglekit.errors import KaggleKitError, os_error_line

HEARTBEAT_S = 20.0
FOREIGN_DEAD_S = 120.0  # an owner on another host is dead after this long without heartbeat


# -- folders made for a write, removed again when nothing was kept ------------------------------
def missing_ancestors(path: Path) -> list[Path]:
    """``path`` and its parents that do not exist yet, deepest first."""
    out = []
    path = Path(path)
    while not path.exists() and not path.is_symlink() and path != path.parent:
        out.append(path)
        path = path.parent
    return out


def remove_empty(dirs: list[Path]) -> None:
    for d in dirs:  # deepest first
        try:
            d.rmdir()
        except OSError:
            return


# -- atomic files -------------------------------------------------------------------------------
def temp_sibling(path: Path, token=None) -> Path:
    """A hidden temporary name beside ``path`` (a file or a folder staged before its rename)."""
    path = Path(path)
    token = uuid.uuid4().hex[:8] if token is None else token
    return path.with_name(f".{path.name}.tmp-{token}")


def replace_atomically(path: Path, write: Callable[[Path], object], suffix: str = "") -> None:
    """``write(tmp)`` a temporary file beside ``path`` (its name ends with ``suffix``), then
    rename it over ``path``; the temporary file never outlives the call. OS errors propagate."""
    path = Path(path)
    tmp = temp_sibling(path)
    tmp = tmp.with_name(tmp.name + suffix)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    """Write through a temporary file and a rename; an OS error becomes one line naming
    ``path``, and neither ``path`` nor the folders made for it are left behind."""
    path = Path(path)
    created = missing_ancestors(path.parent)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise KaggleKitError(os_error_line(exc, path, "writing it")) from None
    finally:
        if not path.exists():
            remove_empty(created)


def json_text(data) -> str:
    """How kagglekit writes JSON files: indented by 2, one trailing newline, numpy values and
    paths as plain JSON."""
    return json.dumps(data, indent=2, default=_json_default) + "\n"


def write_json(path: Path, data) -> None:
    atomic_write_text(path, json_text(data))


def read_json(path: Path):
    """A JSON file's value, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# -- owners --------------------------------------------------------------------------------------
def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return stat.rsplit(")", 1)[1].split()[19]
    except IndexError:
        return None


def owner_record(**extra) -> dict:
    """Who this process is: pid, host, process start time, now (and ``extra``)."""
    pid = os.getpid()
    return {
        "pid": pid,
        "host": socket.gethostname(),
        "start": process_start(pid),
        "time": round(time.time(), 3),
        **extra,
    }


def owner_alive(owner: dict | None, heartbeat_file: Path | None = None) -> bool:
    """Whether the process an owner record names still runs (never guess 'dead' on a live one)."""
    if not owner:
        return False
    if owner.get("host") != socket.gethostname():
        if heartbeat_file is None:
            return False
        try:  # another machine: alive while its heartbeat is fresh
            age = time.time() - Path(heartbeat_file).stat().st_mtime
        except (OSError, TypeError):
            return False
        return age < FOREIGN_DEAD_S
    pid = int(owner.get("pid", -1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    start = owner.get("start")
    return start is None or process_start(pid) in (None, start)


def folder_owner_alive(folder: Path, owner_file: str = "owner.json") -> bool:
    file = Path(folder) / owner_file
    return owner_alive(read_json(file), file)


class Heartbeat:
    """Touches a file every few seconds from a daemon thread while the driver works."""

    def __init__(self, path: Path, every: float = HEARTBEAT_S):
        self.path, self.every = Path(path), every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="kagglekit-heartbeat", daemon=True)

    def _beat(self):
        while not self._stop.wait(self.every):
            try:
                os.utime(self.path)
            except OSError:
                return

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
