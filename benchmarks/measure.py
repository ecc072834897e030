"""Wall time and peak memory of a command, for the side-by-side benchmarks.

    measure(cmd, cwd=None, env=None) -> Measured(seconds, peak_mb, stdout, stderr)

Peak memory is the larger of the kernel's maximum resident set of the process (and of
any single descendant it waited for: ``wait4``'s ``ru_maxrss``) and the largest sum over
the whole process tree of proportional set sizes (PSS, so pages that forked workers share
count once), sampled every 50 ms, or less often where one sample costs more than 2.5 ms:
the sampler then waits 19x what its last sample took, so it never takes more than 5% of a
core. (Reading smaps_rollup walks the process's page tables: 23 ms for 2.6 GB of Python
objects, which at 50 ms took a third of one of this machine's two cores, and holds the
lock that the measured process's page faults wait on.)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# The competitions the benchmarks run: kagglekit's name -> the Kaggle slug, which is the
# folder name under ../shared/data (and under benchmarks/_work/fullsize).
SLUGS = {
    "disaster-tweets": "nlp-getting-started",
    "quora": "quora-insincere-questions-classification",
    "jigsaw": "jigsaw-toxic-comment-classification-challenge",
}


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    stdout: str
    stderr: str
    returncode: int


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_mb(root: int) -> float:
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _pss_kb(pid)
        todo.extend(tree.get(pid, []))
    return total / 1024


def measure(cmd, cwd=None, env=None, sample_every: float = 0.05) -> Measured:
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=cwd, env=env, stdout=out, stderr=err, text=True
        )
        peak = [0.0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                began = time.perf_counter()
                peak[0] = max(peak[0], tree_pss_mb(proc.pid))
                done.wait(max(sample_every, 19 * (time.perf_counter() - began)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            seconds, max(peak[0], usage.ru_maxrss / 1024), out.read(), err.read(), proc.returncode
        )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
