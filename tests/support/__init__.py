"""What the tests share besides fixtures: paths, the CLI runners, generated competition files.

The fixtures are in tests/conftest.py and in the plugins it lists in ``pytest_plugins``
(``support.kaggle_fixtures``); the modules beside this one build test data
(``support.blend``, ``support.hub``, ...) and are imported as ``from support.hub import ...``
(pytest puts tests/ on ``sys.path`` for tests/conftest.py; subprocesses get it through
``PYTHONPATH``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
SHARED = REPO.parent / "shared"


def shared_path(*parts) -> Path:
    """A path under ../shared, or skip the test when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is only on CI and dev machines)")
    return path


def make_competition_dir(
    name: str, root: Path, n_train: int = 300, n_test: int = 100, seed: int = 0
) -> Path:
    """Generate a competition's files in its exact schema under root/<slug>/."""
    from kagglekit import plugins

    comp = plugins.get_competition(name)
    directory = Path(root) / comp.slug
    directory.mkdir(parents=True, exist_ok=True)
    comp.make_sample(directory, n_train=n_train, n_test=n_test, seed=seed)
    return directory


def invoke(*args, expect: int | None = 0, input: str | None = None):
    """THE way tests run the CLI in-process: click's CliRunner over the kagglekit group,
    stdout and stderr kept apart; asserts the exit status unless ``expect`` is None."""
    from kagglekit.cli import cli as group

    result = CliRunner().invoke(group, [str(a) for a in args], input=input, catch_exceptions=False)
    if expect is not None:
        assert result.exit_code == expect, (
            f"exit {result.exit_code} != {expect}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def invoke_json(*args) -> dict:
    return json.loads(invoke(*args, "--json").stdout)


def one_line_error(result) -> str:
    """The CLI's error: exit status 2, exactly one ``Error:`` line on stderr, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


class Cli:
    """The ``cli`` fixture: ``cli(*args, expect=0)`` and ``cli.json(*args)`` over ``invoke``."""

    def __call__(self, *args, expect: int | None = 0, input: str | None = None):
        return invoke(*args, expect=expect, input=input)

    def json(self, *args):
        return invoke_json(*args)


def run_kagglekit(*args, env=None, cwd=None, check=False) -> subprocess.CompletedProcess:
    """Run the real console script in a new process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    exe = Path(sys.executable).with_name("kagglekit")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kagglekit"]
    proc = subprocess.run(
        [*cmd, *map(str, args)], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=600
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@contextlib.contextmanager
def one_ray_at_a_time():
    """Held while a test runs a local Ray instance: under ``pytest -n`` (make test) two
    workers' tests would otherwise start Ray together, and ``ray.init()`` joins a Ray it
    finds running on the machine, which the other test then shuts down."""
    import fcntl
    import tempfile

    path = Path(tempfile.gettempdir()) / f"kagglekit-tests-ray-{os.getuid()}.lock"
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def default_sigint() -> None:
    """``preexec_fn`` of a subprocess a test sends Ctrl-C to: a suite started in the
    background by a non-interactive shell inherits SIGINT ignored, and Python then keeps
    ignoring it; this gives the child a terminal's Ctrl-C."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
