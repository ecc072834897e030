"""kagglekit's own wheel for the wheelhouse, built by pip (PEP 517, pip's build isolation).

From a source tree (a checkout, an editable install): ``pip wheel --no-deps`` of a copy of
the files a build reads (so the checkout gets no build/ or egg-info, and nothing stale in
an old build/ lands in the wheel), with pip's own settings, as ``pip install -e .`` built
it: pip installs the build backend pyproject.toml's [build-system] names (setuptools) into
an isolated environment from its index. The same sources are built once per process.

Installed without a source tree (from a wheel, a folder, a VCS URL or an index): the wheel
of where pip says it came from (PEP 610's direct_url.json; else ``kagglekit==<version>``
from pip's index), taken only when each of its files is the installed one (the sha256 in
the installed RECORD), so that the notebook runs the code that made the runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from kagglekit.package.wheels import PackageError, pip_failure

BUILD_TAIL_LINES = 20  # of the build backend's output, in a failed build's error
_built: dict[str, tuple[str, bytes]] = {}  # this process's builds: source digest -> wheel


def _toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomli is a core dependency there
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PackageError(
            f"{path}: cannot be read ({exc}); fix it or reinstall kagglekit from a clean checkout"
        ) from None


def source_root() -> Path | None:
    """The source tree kagglekit runs from (a checkout, an editable install), else None."""
    import kagglekit

    root = Path(kagglekit.__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and _toml(pyproject).get("project", {}).get("name") == "kagglekit":
        return root
    return None


def build_inputs(root: Path) -> list[str]:
    """The top-level files and folders of ``root`` its build reads: pyproject.toml (and a
    setup.py, setup.cfg or MANIFEST.in), an in-tree backend (``backend-path``), the readme
    and licence files, and the folders of the packages [tool.setuptools] lists
    (``package-dir``, else the package's own name)."""
    config = _toml(root / "pyproject.toml")
    project = config.get("project", {})
    tool = config.get("tool", {}).get("setuptools", {})
    names = {"pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in"}
    for folder in config.get("build-system", {}).get("backend-path", []):
        parts = Path(folder).parts  # "." (root's own modules) has none
        names |= {parts[0]} if parts else {p.name for p in root.glob("*.py")}
    readme = project.get("readme")
    readme = readme.get("file") if isinstance(readme, dict) else readme
    if isinstance(readme, str):
        names.add(Path(readme).parts[0])
    for pattern in ["LICEN[CS]E*", "COPYING*", *project.get("license-files", [])]:
        names |= {p.relative_to(root).parts[0] for p in root.glob(pattern)}
    dirs = tool.get("package-dir") or {}
    packages = tool.get("packages")
    if isinstance(packages, list):  # each package's folder: package-dir's, else its name
        tops = [dirs.get(p.split(".")[0], p.split(".")[0]) for p in packages]
    else:  # found by setuptools: under package-dir's folders
        tops = list(dirs.values())
    if not tops or any(not Path(t).parts for t in tops):
        raise PackageError(
            f"{root / 'pyproject.toml'}: its [tool.setuptools] names no "
            f"package folders, so kagglekit's build cannot be copied out of "
            f"the tree; list them under [tool.setuptools] packages"
        )
    names |= {Path(t).parts[0] for t in tops}
    return sorted(n for n in names if (root / n).exists())


def _copy_tree(root: Path, tree: Path) -> str:
    """Copy the build's inputs to ``tree``; their digest (paths and bytes)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    tree.mkdir(parents=True)
    for name in build_inputs(root):
        if (root / name).is_dir():
            shutil.copytree(root / name, tree / name, ignore=ignore)
        else:
            shutil.copy2(root / name, tree / name)
    digest = hashlib.sha256()
    for path in sorted(p for p in tree.rglob("*") if p.is_file()):
        digest.update(
            path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes() + b"\0"
        )
    return digest.hexdigest()


def _pip_wheel(spec: str, out: Path, action: str, what_to_do: str) -> Path:
    """``pip wheel --no-deps`` of ``spec`` (pip's defaults: build isolation, its index);
    the one kagglekit wheel made in ``out``. A failure shows the backend's last lines."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "--disable-pip-version-check",
        "-q",
        "wheel",
        "--no-deps",
        "--wheel-dir",
        str(out),
        spec,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        reason = pip_failure(done.stdout, done.stderr, done.returncode, tail=BUILD_TAIL_LINES)
        if "build dependencies" in reason:
            what_to_do = (
                "pip installs the build requirements (setuptools, per "
                "pyproject.toml) from its index: check the network and `pip config "
                "list`"
            )
        raise PackageError(f"{action} failed (pip wheel --no-deps {spec}): {reason}; {what_to_do}")
    wheels = sorted(out.glob("kagglekit-*.whl"))
    if not wheels:
        raise PackageError(
            f"{action}: pip wheel made no kagglekit wheel in {out} (it made "
            f"{', '.join(p.name for p in out.iterdir()) or 'nothing'})"
        )
    return wheels[0]


def build_from_source(root: Path, dest: Path) -> Path:
    """The wheel of the source tree at ``root``, built by pip from a copy; its path in
    ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kagglekit-wheel-") as tmp:
        key = _copy_tree(Path(root), Path(tmp) / "src")
        if key not in _built:
            wheel = _pip_wheel(
                str(Path(tmp) / "src"),
                Path(tmp) / "wheel",
                f"building kagglekit's wheel from {root}",
                "fix what the build backend says",
            )
            _built[key] = (wheel.name, wheel.read_bytes())
    name, data = _built[key]
    (dest / name).write_bytes(data)
    return dest / name


def build_kagglekit_wheel(dest: Path, root: Path | None = None) -> Path:
    """kagglekit's wheel in ``dest``: built from its source tree, or (installed without
    one) the wheel it was installed from, checked against the installed files."""
    root = root or source_root()
    if root is not None:
        return build_from_source(root, dest)
    return installed_wheel(dest)


def origin(dist) -> tuple[str, Path | None, bool]:
    """Where the installed distribution came from: (pip requirement, source folder or None,
    editable), from its direct_url.json (PEP 610); ``name==version`` (pip's index) without."""
    text = dist.read_text("direct_url.json")
    name, version = dist.metadata["Name"], dist.version
    if not text:
        return f"{name}=={version}", None, False
    url = json.loads(text)
    if "dir_info" in url and url["url"].startswith("file:"):
        folder = Path(unquote(urlparse(url["url"]).path))
        return url["url"], folder, bool(url["dir_info"].get("editable"))
    spec = url["url"]
    if "vcs_info" in url:
        vcs = url["vcs_info"]
        spec = f"{vcs['vcs']}+{spec}@{vcs.get('commit_id') or vcs.get('requested_revision')}"
    if url.get("subdirectory"):
        spec += f"#subdirectory={url['subdirectory']}"
    return f"{name} @ {spec}", None, False


def differs_from_installed(wheel: Path, dist) -> str | None:
    """The first file of ``wheel`` whose sha256 is not the installed one's (RECORD), or
    None when every file is the installed one."""
    installed = {str(f): f"{f.hash.mode}={f.hash.value}" for f in dist.files or [] if f.hash}
    if not installed:
        return "the installed RECORD (missing, so nothing can be compared)"
    with zipfile.ZipFile(wheel) as zf:
        record = next((n for n in zf.namelist() if n.endswith(".dist-info/RECORD")), None)
        if record is None:
            return f"{wheel.name} has no RECORD"
        rows = list(csv.reader(io.StringIO(zf.read(record).decode("utf-8"))))
    for row in rows:
        if (
            len(row) >= 2
            and row[1]
            and ".dist-info/" not in row[0]
            and installed.get(row[0]) != row[1]
        ):
            return row[0]
    return None


def installed_wheel(dest: Path, dist=None) -> Path:
    """The installed kagglekit's wheel (no source tree next to it), from where it came from,
    in ``dest`` when its files are the installed ones."""
    from importlib import metadata

    if dist is None:
        try:
            dist = metadata.distribution("kagglekit")
        except metadata.PackageNotFoundError:
            dist = None
    how = (
        "install kagglekit from its source tree (pip install -e /path/to/kagglekit), "
        "then package again"
    )
    if dist is None:
        raise PackageError(
            f"kagglekit runs from {Path(__file__).parents[1]} with neither a "
            f"source tree (pyproject.toml) nor installed metadata, so its "
            f"wheel cannot be built; {how}"
        )
    spec, folder, editable = origin(dist)
    if folder is not None and (folder / "pyproject.toml").is_file():
        wheel = build_from_source(folder, dest)
        if editable:
            return wheel
    else:
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="kagglekit-wheel-") as tmp:
            found = _pip_wheel(
                spec, Path(tmp), f"getting the wheel of the installed kagglekit {dist.version}", how
            )
            wheel = Path(shutil.copy2(found, dest / found.name))
    changed = differs_from_installed(wheel, dist)
    if changed:
        wheel.unlink()
        raise PackageError(
            f"the wheel of kagglekit {dist.version} from {folder or spec} is "
            f"not the installed kagglekit ({changed} differs); {how}"
        )
    return wheel
