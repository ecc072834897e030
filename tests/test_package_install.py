"""kagglekit's own wheel: the same files, metadata and entry points setuptools would write,
built with no `wheel` package and no build backend (a core + kaggle install, as `make demo`
makes, has neither); a pip failure shows what actually failed, not pip's closing hint."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from helpers_package import cv_run, this_platform
from kagglekit.package.own_wheel import WheelBuildError, write_wheel
from kagglekit.package.wheels import pip_failure

SOURCES = ("kagglekit", "competitions", "plugins", "pyproject.toml", "README.md")


def copy_sources(dest: Path) -> Path:
    """The checkout's sources without caches or build output (what a wheel is built from)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    dest.mkdir(parents=True)
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    return dest


def wheel_parts(path: Path) -> tuple[dict, set, dict]:
    """(module files -> bytes, METADATA header lines, entry points {group: {name: value}})."""
    with zipfile.ZipFile(path) as zf:
        info = next(n.split("/")[0] for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        files = {n: zf.read(n) for n in zf.namelist() if not n.startswith(info)}
        header = zf.read(f"{info}/METADATA").decode().split("\n\n", 1)[0]
        points = configparser.ConfigParser(delimiters=("=",))
        points.optionxform = str
        points.read_string(zf.read(f"{info}/entry_points.txt").decode())
    return files, set(header.splitlines()), {g: dict(points[g]) for g in points.sections()}


def test_own_wheel_is_what_setuptools_builds_and_is_reproducible(tmp_path):
    pytest.importorskip("wheel", reason="the comparison builds setuptools' wheel, which needs it")
    pytest.importorskip("setuptools")
    tree = copy_sources(tmp_path / "src")
    own = write_wheel(tree, tmp_path / "own")
    assert own.name == "kagglekit-0.1.0-py3-none-any.whl"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "-w", str(tmp_path / "st"), str(tree)],
                   check=True, capture_output=True)
    theirs = tmp_path / "st" / own.name
    files, header, points = wheel_parts(own)
    st_files, st_header, st_points = wheel_parts(theirs)
    assert sorted(files) == sorted(st_files) and files == st_files
    assert "kagglekit_plugins/tfidf.py" in files and "kagglekit/package/own_wheel.py" in files
    assert header == st_header
    assert 'Requires-Dist: tomli>=2; python_version < "3.11"' in header
    assert 'Requires-Dist: kaggle>=1.8; extra == "kaggle"' in header
    assert points == st_points and points["console_scripts"] == {"kagglekit": "kagglekit.cli:main"}
    assert points["kagglekit"]["quora"] == "kagglekit_competitions.quora"
    # RECORD lists every file with its sha256; the same sources give the same bytes
    with zipfile.ZipFile(own) as zf:
        record = zf.read("kagglekit-0.1.0.dist-info/RECORD").decode().splitlines()
        assert len(record) == len(zf.namelist())
    again = write_wheel(tree, tmp_path / "again")
    assert again.read_bytes() == own.read_bytes()


def test_own_wheel_refuses_what_it_cannot_reproduce(tmp_path):
    tree = copy_sources(tmp_path / "src")
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.setuptools.package-data]\n'
                                                 'kagglekit = ["*.json"]\n')
    with pytest.raises(WheelBuildError) as caught:
        write_wheel(tree, tmp_path / "out")
    assert "'package-data'" in str(caught.value) and "own_wheel.py" in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_failing_pip_build_shows_the_backends_own_error(tmp_path):
    """pip ends a failed build with a generic hint; the error names what the backend said."""
    project = tmp_path / "broken"
    project.mkdir()
    (project / "pyproject.toml").write_text('[build-system]\nrequires = []\n'
                                            'build-backend = "backend"\nbackend-path = ["."]\n')
    (project / "backend.py").write_text(
        "import sys\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    print(\"error: invalid command 'bdist_wheel'\", file=sys.stderr)\n"
        "    raise SystemExit(1)\n")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", "--no-index", "-w", str(tmp_path / "w"),
                           str(project)], capture_output=True, text=True)
    assert done.returncode != 0
    reason = pip_failure(done.stdout, done.stderr, done.returncode)
    assert "invalid command 'bdist_wheel'" in reason and "\n" not in reason
    assert "hint:" not in reason.lower()
    assert pip_failure("", "", 3) == "exit status 3, no output"


def _venv_without_wheel(root: Path) -> Path:
    """A new venv (pip + the setuptools ensurepip bundles, no system site-packages) with
    kagglekit installed from a copy of the checkout as `pip install -e .[kaggle]`."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run([str(python), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", "-e",
                           f"{copy_sources(root / 'src')}[kaggle]"], env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.skip(f"cannot install kagglekit[kaggle] into a new venv (no index?): "
                    f"{done.stderr.strip().splitlines()[-1:]}")
    return python


def test_package_works_from_a_core_and_kaggle_install_without_wheel(tmp_path, tweets_dir):
    python = _venv_without_wheel(tmp_path / "env")
    probe = "import importlib.util as u; print(u.find_spec('wheel') is None)"
    # the situation of the bug: no wheel package at all (and the old setuptools Python's
    # venv bundles, or none), so no setuptools build of a wheel can work here
    assert subprocess.run([str(python), "-c", probe], capture_output=True, text=True,
                          check=True, cwd="/").stdout.strip() == "True"
    run_id = cv_run(tweets_dir, "disaster-tweets")
    freeze = subprocess.run([str(python), "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    (tmp_path / "pre.txt").write_text(freeze)
    version = subprocess.run([str(python), "-c", "import sys; print('%d.%d' % sys.version_info"
                              "[:2])"], capture_output=True, text=True, check=True).stdout.strip()
    kagglekit = python.with_name("kagglekit")
    done = subprocess.run([str(kagglekit), "package", run_id, "--output", str(tmp_path / "pkg"),
                           "--owner", "kk-tester", "--python-version", version, "--platform",
                           this_platform(), "--preinstalled", str(tmp_path / "pre.txt"),
                           "--no-index", "--json"], capture_output=True, text=True,
                          cwd=Path.cwd(), timeout=300)
    assert done.returncode == 0, done.stderr
    built = json.loads(done.stdout)
    assert built["wheels"] == ["kagglekit-0.1.0-py3-none-any.whl"]
    wheel = tmp_path / "pkg" / "dataset" / "wheels" / built["wheels"][0]
    files, header, points = wheel_parts(wheel)
    assert "kagglekit/package/runtime.py" in files and "Name: kagglekit" in header
