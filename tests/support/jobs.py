"""A model plugin that can block or crash on demand, and a CLI entry that registers it, so
tests can kill a real CV process at a known point.

Environment (read in ``fit``):
  KK_FITS=path         append "<n_train> <seed> <pid>" for every fit started
  KK_BLOCK_AFTER=n     this process's fits after the n-th block (sleep) until killed
  KK_CRASH_ONCE=path   the first fit anywhere creates ``path`` and kills its own process

Usage: python tests/support/jobs.py cv disaster-tweets --model gated ...
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from kagglekit.hookspecs import hookimpl
from kagglekit_plugins.tfidf import TfidfNB

_fits_here = 0


class Gated(TfidfNB):
    """tfidf-nb that can block or crash on demand (for kill/resume tests)."""

    name = "gated"

    def fit(self, train, valid=None):
        global _fits_here
        _fits_here += 1
        log = os.environ.get("KK_FITS")
        if log:
            with open(log, "a") as fh:
                fh.write(f"{len(train)} {self.seed} {os.getpid()}\n")
        crash = os.environ.get("KK_CRASH_ONCE")
        if crash:
            try:
                fd = os.open(crash, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                fd = None
            if fd is not None:
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        block = os.environ.get("KK_BLOCK_AFTER")
        if block and _fits_here > int(block):
            deadline = time.time() + 120
            while time.time() < deadline:
                time.sleep(0.05)
            raise RuntimeError("blocked fit was never killed")
        return super().fit(train, valid)


class GatedPlugin:
    @hookimpl
    def register_models(self, register):
        register("gated", Gated)


def register() -> None:
    from kagglekit import plugins

    if not plugins.pm.has_plugin("gated"):
        plugins.register_plugin(GatedPlugin(), name="gated")


def fits(path: Path) -> list[tuple[int, int, int]]:
    if not Path(path).is_file():
        return []
    return [tuple(map(int, line.split())) for line in Path(path).read_text().splitlines()]


if __name__ == "__main__":
    register()
    from kagglekit.cli import main

    main(sys.argv[1:])
