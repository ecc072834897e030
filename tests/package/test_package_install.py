"""kagglekit's own wheel, built by pip with build isolation (pip's default): a core + kaggle
install with setuptools 65 and no `wheel` package (what `make demo` makes) packages a run;
a failing build shows the build backend's own last lines; installed without a source tree,
the wheel it came from is packaged only when its files are the installed ones."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from kagglekit.package import PackageError, kagglekit_wheel
from kagglekit.package.kagglekit_wheel import build_kagglekit_wheel, installed_wheel
from support import REPO, one_line_error
from support.fake_kaggle import invoke
from support.package import cv_run, package_args, this_platform, write_preinstalled

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


def modules(tree: Path) -> set[str]:
    """The wheel paths of the source tree's modules (kagglekit_competitions <- competitions)
    and its package data (kagglekit/py.typed: the type hints are shipped, PEP 561)."""
    out = {"kagglekit/py.typed"} if (tree / "kagglekit" / "py.typed").is_file() else set()
    for folder, package in (
        ("kagglekit", "kagglekit"),
        ("competitions", "kagglekit_competitions"),
        ("plugins", "kagglekit_plugins"),
    ):
        out |= {
            f"{package}/{p.relative_to(tree / folder).as_posix()}"
            for p in (tree / folder).rglob("*.py")
            if "__pycache__" not in p.parts
        }
    return out


def wheel_files(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return {n for n in zf.namelist() if ".dist-info/" not in n}


def broken_project(root: Path, lines: int = 30) -> Path:
    """A project whose in-tree build backend prints ``lines`` lines, then setuptools 65's
    error without `wheel`, and fails."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "broken"\nversion = "1"\n[tool.setuptools]\npackages = ["broken"]\n'
    )
    (root / "broken").mkdir()
    (root / "broken" / "__init__.py").write_text("")
    (root / "backend.py").write_text(
        "import sys\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        f"    for i in range({lines}):\n"
        "        print('backend line', i)\n"
        "    print(\"error: invalid command 'bdist_wheel'\", file=sys.stderr)\n"
        "    raise SystemExit(1)\n"
    )
    return root


def test_a_failing_build_shows_the_backends_own_last_lines(tmp_path, tweets_dir, monkeypatch):
    """pip ends a failed build with 'See above for details'; the one error line holds what
    the backend said: its last 20 lines, the error last."""
    project = broken_project(tmp_path / "broken")
    monkeypatch.setattr(kagglekit_wheel, "source_root", lambda: project)
    run_id = cv_run(tweets_dir, "disaster-tweets")
    pre = write_preinstalled(tmp_path / "pre.txt")
    error = one_line_error(invoke(*package_args(run_id, tmp_path / "pkg", pre), expect=None))
    assert error.startswith(f"Error: building kagglekit's wheel from {project} failed")
    assert "invalid command 'bdist_wheel'" in error and "exit code: 1" in error
    assert "its last 20 of 31 lines: backend line 11 | backend line 12 |" in error
    assert "backend line 10 " not in error and "hint:" not in error.lower()
    assert error.endswith("fix what the build backend says")
    assert not (tmp_path / "pkg").exists()
    assert not (project / "build").exists()  # built from a copy: the tree is left alone


def _venv_without_wheel(root: Path) -> Path:
    """A new venv (no system site-packages) with setuptools 65 (what Python 3.11's venv
    bundles; its bdist_wheel needs `wheel`) and no `wheel`, and kagglekit installed from a
    copy of the checkout as `pip install -e .[kaggle]`."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    for args in (["setuptools==65.5.0"], ["-e", f"{copy_sources(root / 'src')}[kaggle]"]):
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            pytest.skip(
                f"cannot install {args[-1]} into a new venv (no index?): "
                f"{done.stderr.strip().splitlines()[-1:]}"
            )
    return python


def test_package_works_from_a_core_and_kaggle_install_without_wheel(tmp_path, tweets_dir):
    python = _venv_without_wheel(tmp_path / "env")
    probe = (
        "import importlib.util as u, setuptools; "
        "print(u.find_spec('wheel') is None, setuptools.__version__)"
    )
    # the situation of the bug: setuptools 65 and no wheel package, so no build of a wheel
    # without build isolation can work here (`pip wheel --no-build-isolation` said "invalid
    # command 'bdist_wheel'")
    assert subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    ).stdout.split() == ["True", "65.5.0"]
    run_id = cv_run(tweets_dir, "disaster-tweets")
    freeze = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (tmp_path / "pre.txt").write_text(freeze)
    version = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    kagglekit = python.with_name("kagglekit")
    done = subprocess.run(
        [
            str(kagglekit),
            "package",
            run_id,
            "--output",
            str(tmp_path / "pkg"),
            "--owner",
            "kk-tester",
            "--python-version",
            version,
            "--platform",
            this_platform(),
            "--preinstalled",
            str(tmp_path / "pre.txt"),
            "--no-index",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=Path.cwd(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    built = json.loads(done.stdout)
    assert built["wheels"] == ["kagglekit-0.1.0-py3-none-any.whl"]
    wheel = tmp_path / "pkg" / "dataset" / "wheels" / built["wheels"][0]
    tree = tmp_path / "env" / "src"
    # every module of the installed source tree, nothing else; the tree gets no build/
    assert wheel_files(wheel) == modules(tree)
    assert "kagglekit/package/runtime.py" in modules(tree)
    assert not (tree / "build").exists()
    with zipfile.ZipFile(wheel) as zf:
        info = "kagglekit-0.1.0.dist-info"
        assert "kagglekit = kagglekit.cli:main" in zf.read(f"{info}/entry_points.txt").decode()
        assert "Name: kagglekit" in zf.read(f"{info}/METADATA").decode()


def _install_wheel(wheel: Path, target: Path) -> Path:
    """``pip install --target`` of the wheel; its .dist-info folder (RECORD and
    direct_url.json as pip writes them)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return next(target.glob("kagglekit-*.dist-info"))


def test_installed_without_a_source_tree_the_wheel_it_came_from_is_checked(tmp_path, monkeypatch):
    built = build_kagglekit_wheel(tmp_path / "built", REPO)
    info = _install_wheel(built, tmp_path / "site")
    dist = metadata.Distribution.at(info)
    # from a wheel file (direct_url.json): that wheel, byte for byte
    again = installed_wheel(tmp_path / "out", dist)
    assert again.name == built.name and again.read_bytes() == built.read_bytes()

    # from an index (no direct_url.json): kagglekit==<version> from pip's index
    (info / "direct_url.json").unlink()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "built"))
    assert installed_wheel(tmp_path / "index", dist).read_bytes() == built.read_bytes()

    # a wheel that is not the installed code is refused, naming the file
    record = info / "RECORD"
    lines = record.read_text().splitlines()
    record.write_text(
        "\n".join(
            f"{line.split(',')[0]},sha256=changed,1"
            if line.startswith("kagglekit/cli/__init__.py,")
            else line
            for line in lines
        )
        + "\n"
    )
    with pytest.raises(PackageError) as caught:
        installed_wheel(tmp_path / "changed", dist)
    assert "kagglekit/cli/__init__.py differs" in str(caught.value)
    assert "pip install -e /path/to/kagglekit" in str(caught.value)
    assert list((tmp_path / "changed").glob("*.whl")) == []

    # nowhere to get it: one error saying what to do
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nothing-here"))
    with pytest.raises(PackageError) as caught:
        installed_wheel(tmp_path / "none", dist)
    assert "No matching distribution found for kagglekit==0.1.0" in str(caught.value)
    assert str(caught.value).endswith(
        "install kagglekit from its source tree (pip install -e "
        "/path/to/kagglekit), then package again"
    )
