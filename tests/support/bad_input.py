"""The bad-input corpus's machinery: a world of real runs built once, one folder per case,
the CLI in a subprocess, and a snapshot of every file the case could touch.

Every case runs ``python -m kagglekit ...`` in a new process and must end with exit status
2, exactly one ``Error:`` line on stderr (the last line; progress lines may precede it),
naming what its fragments say, no traceback, and no new, removed or changed file.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMALL = ["-p", "tfidf-lr.max_word_features=2000", "-p", "tfidf-lr.max_char_features=2000"]

# the fetch cases point the real kaggle client at a loopback server: this wrapper sets the
# endpoint the way support/fake_kaggle.py's point_client_at does, then runs the CLI
FETCH_WRAPPER = """
import sys
from kagglesdk import kaggle_env
for env in list(kaggle_env._env_to_endpoint):
    kaggle_env._env_to_endpoint[env] = sys.argv[1]
from kagglekit.cli import main
main(sys.argv[2:])
"""


@dataclass
class Case:
    name: str
    args: list  # placeholders: {runs} {data} {out} {cv} {cv2} {fit} {blend} {case}
    fragments: tuple = ()
    prepare: Callable | None = None  # prepare(case_dir: Path, world) -> None or a skip reason
    env: dict = field(default_factory=dict)
    fetch: bool = False  # run through FETCH_WRAPPER against the world's loopback server
    limit_file_size: int | None = None  # RLIMIT_FSIZE in bytes (EFBIG)
    drop_root_permissions: bool = False  # EACCES even for root (setpriv drops dac_override)


@dataclass
class Outcome:
    case: Case
    skipped: str | None = None
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    before: dict | None = None
    after: dict | None = None


def snapshot(root: Path) -> dict:
    """Every file (name -> size, mtime) and folder (name -> None) under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = None
        for f in filenames:
            path = os.path.join(dirpath, f)
            try:
                st = os.lstat(path)
                out[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
            except OSError:
                out[os.path.relpath(path, root)] = "unreadable"
    return out


def python_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.pop("KAGGLEKIT_LOAD_PLUGINS", None)
    env.pop("KAGGLEKIT_DATA", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def kagglekit(*args, cwd: Path, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kagglekit", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=python_env(env),
        timeout=300,
        **kwargs,
    )


def fill(args, mapping: dict) -> list[str]:
    return [str(a).format(**mapping) for a in args]


def can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


def mount_tmpfs(target: Path, options: str) -> str | None:
    """Mount a small tmpfs at target; None on success, else why not (the case is skipped)."""
    if not can_mount():
        return "mounting a tmpfs needs root"
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
        capture_output=True,
        text=True,
    )
    return None if proc.returncode == 0 else f"cannot mount a tmpfs here: {proc.stderr.strip()}"


def unmount_all(case_dir: Path) -> None:
    for line in reversed(
        Path("/proc/mounts").read_text().splitlines() if Path("/proc/mounts").exists() else []
    ):
        point = line.split()[1]
        if point.startswith(str(case_dir)):
            subprocess.run(["umount", "-l", point], capture_output=True)


def run_case(case: Case, world) -> Outcome:
    case_dir = world.root / "cases" / case.name
    shutil.copytree(world.base, case_dir, symlinks=True)
    mapping = world.mapping(case_dir)
    try:
        if case.prepare is not None:
            reason = case.prepare(case_dir, world)
            if isinstance(reason, str):
                return Outcome(case, skipped=reason)
        args = fill(case.args, mapping)
        before = snapshot(case_dir)
        preexec = None
        if case.limit_file_size:
            limit = case.limit_file_size

            def preexec():
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        cmd = [sys.executable, "-m", "kagglekit", *args]
        if case.fetch:
            cmd = [sys.executable, "-c", FETCH_WRAPPER, world.server_url, *args]
        if case.drop_root_permissions and os.geteuid() == 0:
            if not shutil.which("setpriv"):
                return Outcome(case, skipped="root, and no setpriv to drop dac_override")
            cmd = [
                "setpriv",
                "--bounding-set",
                "-dac_override,-dac_read_search,-fowner",
                "--",
                *cmd,
            ]
        proc = subprocess.run(
            cmd,
            cwd=case_dir / "work",
            capture_output=True,
            text=True,
            env=python_env({**world.env, **case.env}),
            timeout=300,
            preexec_fn=preexec,
        )
        after = snapshot(case_dir)
        return Outcome(case, None, proc.returncode, proc.stdout, proc.stderr, before, after)
    finally:
        unmount_all(case_dir)


def check(outcome: Outcome) -> str:
    """The assertions every case makes; returns the error line."""
    case = outcome.case
    detail = (
        f"{case.name}: rc={outcome.returncode}\nstderr:\n{outcome.stderr}"
        f"\nstdout:\n{outcome.stdout[:2000]}"
    )
    assert outcome.returncode == 2, detail
    assert "Traceback" not in outcome.stderr and "Traceback" not in outcome.stdout, detail
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], detail
    assert len(errors[0]) < 1000, detail
    for fragment in case.fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}\n{detail}"
    changed = {
        k
        for k in set(outcome.before) | set(outcome.after)
        if outcome.before.get(k, "absent") != outcome.after.get(k, "absent")
    }
    assert not changed, f"{case.name}: files changed: {sorted(changed)}\n{detail}"
    return errors[0]


def edit_csv(path: Path, change) -> None:
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    change(frame).to_csv(path, index=False)


def edit_json(path: Path, change) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
