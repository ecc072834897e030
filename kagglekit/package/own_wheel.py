"""kagglekit's own wheel, written directly from pyproject.toml (PEP 427 + core metadata 2.1).

kagglekit is pure Python with an explicit package list, so its wheel is a zip of those
packages' modules plus a ``.dist-info`` folder. Writing it here needs no build backend:
no ``wheel`` package (setuptools before 70.1 needs it for ``bdist_wheel``), no setuptools
in the environment (a Python 3.12 venv has none), no build isolation and so no network.
The zip is deterministic (sorted entries, fixed dates): the same sources give the same
bytes, so the package's checksum manifest changes only when the code does.

Only what kagglekit's pyproject.toml uses is understood ([project] metadata, scripts and
entry points; [tool.setuptools] ``packages`` and ``package-dir``); anything else there is
refused by name rather than left out of the wheel silently.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

from kagglekit.errors import KaggleKitError

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold: reproducible bytes
TOOL_KEYS = {"packages", "package-dir"}  # what this writer reproduces of [tool.setuptools]
PROJECT_KEYS = {"name", "version", "description", "readme", "requires-python", "license",
                "dependencies", "optional-dependencies", "scripts", "gui-scripts",
                "entry-points"}


class WheelBuildError(KaggleKitError):
    """pyproject.toml cannot be turned into a wheel by this writer."""


def _load_pyproject(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomli is a core dependency there
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WheelBuildError(f"{path}: cannot be read ({exc}); fix it or reinstall kagglekit "
                              f"from a clean checkout") from None


def _requirement(text: str, where: Path, extra: str | None = None) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise WheelBuildError(f"{where}: {text!r} is not a requirement ({exc})") from None
    marker = str(req.marker) if req.marker else ""
    req.marker = None
    if extra:
        marker = f'({marker}) and extra == "{extra}"' if marker else f'extra == "{extra}"'
    return f"{req}; {marker}" if marker else str(req)


def metadata_text(project: dict, root: Path, where: Path) -> str:
    """The METADATA file: name, version, summary, requirements with extras, the readme."""
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}",
             f"Version: {project['version']}"]
    if project.get("description"):
        lines.append(f"Summary: {project['description']}")
    licence = project.get("license")
    if isinstance(licence, dict) and licence.get("text"):
        lines.append(f"License: {licence['text']}")
    if project.get("requires-python"):
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {_requirement(r, where)}" for r in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {_requirement(r, where, extra)}" for r in reqs]
    body = ""
    readme = project.get("readme")
    if isinstance(readme, str) and (root / readme).is_file():
        kind = "text/markdown" if readme.endswith(".md") else "text/plain"
        lines.append(f"Description-Content-Type: {kind}")
        body = "\n" + (root / readme).read_text(encoding="utf-8")
    return "\n".join(lines) + "\n" + body


def entry_points_text(project: dict) -> str:
    groups = {}
    if project.get("scripts"):
        groups["console_scripts"] = project["scripts"]
    if project.get("gui-scripts"):
        groups["gui_scripts"] = project["gui-scripts"]
    groups.update(project.get("entry-points", {}))
    return "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(items.items()))
                   + "\n" for group, items in groups.items())


def package_files(tool: dict, root: Path, where: Path) -> dict[str, Path]:
    """{path in the wheel: source file} for every module of every listed package."""
    packages = tool.get("packages")
    if not isinstance(packages, list) or not packages:
        raise WheelBuildError(f"{where}: [tool.setuptools] lists no packages; kagglekit's wheel "
                              f"is built from an explicit package list")
    dirs = tool.get("package-dir", {})
    out = {}
    for package in packages:
        parts = package.split(".")
        top = next((".".join(parts[:i]) for i in range(len(parts), 0, -1)
                    if ".".join(parts[:i]) in dirs), None)
        base = Path(dirs[top]) if top else Path()
        rest = parts[len(top.split(".")):] if top else parts
        folder = root / base.joinpath(*rest)
        if not (folder / "__init__.py").is_file():
            raise WheelBuildError(f"{where}: package {package!r} has no {folder / '__init__.py'}")
        for source in sorted(folder.glob("*.py")):
            out["/".join([*parts, source.name])] = source
    return out


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(root: Path, dest: Path) -> Path:
    """Write the py3-none-any wheel of the project at ``root`` into ``dest``; its path."""
    where = Path(root) / "pyproject.toml"
    config = _load_pyproject(where)
    project = config.get("project") or {}
    tool = (config.get("tool") or {}).get("setuptools") or {}
    unknown = sorted(set(tool) - TOOL_KEYS) + sorted(set(project) - PROJECT_KEYS) + sorted(
        project.get("dynamic") or [])
    if unknown or not project.get("name") or not project.get("version"):
        what = f"uses {', '.join(map(repr, unknown))}" if unknown else "lacks a name or version"
        raise WheelBuildError(f"{where} {what}, which kagglekit's own wheel writer "
                              f"(kagglekit/package/own_wheel.py) does not reproduce; teach it "
                              f"that before packaging")
    name = re.sub(r"[-_.]+", "_", project["name"]).lower()
    info = f"{name}-{project['version']}.dist-info"
    entries = {arc: src.read_bytes() for arc, src in package_files(tool, root, where).items()}
    entries[f"{info}/METADATA"] = metadata_text(project, Path(root), where).encode("utf-8")
    entries[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: kagglekit own_wheel\n"
                                b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    points = entry_points_text(project)
    if points:
        entries[f"{info}/entry_points.txt"] = points.encode("utf-8")
    tops = sorted({arc.split("/", 1)[0] for arc in entries if not arc.startswith(info)})
    entries[f"{info}/top_level.txt"] = "".join(f"{t}\n" for t in tops).encode("utf-8")
    record = [_record_line(arc, data) for arc, data in entries.items()] + [f"{info}/RECORD,,"]
    entries[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")
    dest.mkdir(parents=True, exist_ok=True)
    path = Path(dest) / f"{name}-{project['version']}-py3-none-any.whl"
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for arc, data in entries.items():  # modules first, .dist-info last (PEP 427)
            item = zipfile.ZipInfo(arc, date_time=FIXED_DATE)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(item, data)
    tmp.replace(path)
    return path
