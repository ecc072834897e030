"""The wheelhouse: the wheels the target image lacks, beside kagglekit's own wheel
(``kagglekit_wheel``).

Kaggle's notebooks have no internet in code competitions, so everything ``pip`` needs
that the image does not already have travels in the dataset as wheels. The target
defaults to Kaggle's current Python image (Colab-based, Ubuntu 22.04 with glibc 2.35,
CPython 3.12 at /usr/local/lib/python3.12/dist-packages, per Kaggle/docker-python's
Dockerfile.tmpl); ``pip download`` fetches binary wheels for it from any machine
(``--only-binary :all: --platform --python-version``). pip takes a ``--platform`` tag
literally, so ``manylinux_2_35_x86_64`` is expanded here into every manylinux tag that
glibc 2.35 runs (down to manylinux_2_5 / manylinux1), each passed as a ``--platform``.

What the image already has (``KAGGLE_PREINSTALLED``, names taken from Kaggle/docker-python's
installed_cpu_packages.txt) is not downloaded: wheels are fetched one dependency level at
a time with ``--no-deps`` and only the requirements the image lacks are followed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from kagglekit.errors import KaggleKitError

KAGGLE_PYTHON = "3.12"
KAGGLE_PLATFORM = "manylinux_2_35_x86_64"

# On Kaggle's Python image (CPU and GPU): kagglekit's core and [keras]/[kaggle] dependencies
# and what they pull in. Only names matter: the notebook installs with --no-index, so pip
# accepts the image's versions when they satisfy kagglekit's requirements and says which
# one does not otherwise.
KAGGLE_PREINSTALLED = frozenset(
    """
absl-py certifi charset-normalizer click filelock fsspec h5py huggingface-hub idna jax jaxlib
joblib kaggle kagglehub kagglesdk keras keras-hub keras-nlp markdown markdown-it-py mdurl
ml-dtypes namex numpy opt-einsum optree packaging pandas pluggy protobuf pyarrow pygments
python-dateutil python-slugify pytz pyyaml regex requests rich safetensors scikit-learn scipy
sentencepiece setuptools six tensorboard tensorboard-data-server tensorflow tensorflow-text
termcolor text-unidecode threadpoolctl tokenizers tqdm transformers typing-extensions tzdata
urllib3 werkzeug wheel wrapt
""".split()
)


class PackageError(KaggleKitError):
    """A package cannot be built, checked or pushed."""


def canonical(name: str) -> str:
    """PEP 503 normalised project name: 'Scikit_Learn' -> 'scikit-learn'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_preinstalled(path: Path) -> frozenset[str]:
    """Project names from a `pip freeze` / requirements-style file (one per line)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise PackageError(
            f"{path}: cannot read the preinstalled list ({exc.strerror or exc})"
        ) from None
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        found = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if found:
            names.add(canonical(found.group(1)))
    return frozenset(names)


def read_preinstalled_versions(path: Path) -> dict[str, str]:
    """{name: version} for the `name==version` lines of a `pip freeze` file."""
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        found = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if found:
            out[canonical(found.group(1))] = found.group(2)
    return out


def _pip(args: list[str], action: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        reason = pip_failure(done.stdout, done.stderr, done.returncode)
        raise PackageError(f"{action} failed: {reason}")


TAIL_LINES = 6  # of pip's output, in a failure's one line
_FRAME = re.compile(r"^[\s\u2502\u2570\u2500>\u00d7]+")  # pip's box drawing: │ ╰─> ×
_BLOCK = re.compile(r"^\[(\d+) lines? of output\]$")  # a subprocess's output follows


def pip_failure(stdout: str, stderr: str, returncode: int, tail: int = TAIL_LINES) -> str:
    """What actually failed, in one line. When pip ran a subprocess (a build backend, the
    install of build requirements) that failed: pip's summary and the last ``tail`` lines
    of that subprocess's own output (pip frames it above its 'See above for details');
    else the last lines pip printed, without its generic hints and frames."""
    lines = [
        _FRAME.sub("", line).strip() for line in f"{stdout or ''}\n{stderr or ''}".splitlines()
    ]
    lines = [line for line in lines if line]
    starts = [i for i, line in enumerate(lines) if _BLOCK.match(line)]
    if starts:
        start = starts[-1]
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i] == "[end of output]"), len(lines)
        )
        said = lines[start + 1 : end]
        summary = next(
            (
                line.rstrip(".")
                for line in reversed(lines[:start])
                if "did not run successfully" in line
            ),
            "a pip subprocess failed",
        )
        code = next((line for line in reversed(lines[:start]) if line.startswith("exit code:")), "")
        shown = f"its last {tail} of {len(said)} lines" if len(said) > tail else "its output"
        text = (
            f"{summary}{f' ({code})' if code else ''}; {shown}: "
            f"{' | '.join(said[-tail:]) or '(none)'}"
        )
        return text if len(text) <= 3000 else "..." + text[-2997:]
    lines = [line for line in lines if not line.lower().startswith(("hint:", "note:"))]
    if not lines:
        return f"exit status {returncode}, no output"
    text = " | ".join(lines[-tail:])
    return text if len(text) <= 800 else "..." + text[-797:]


# ---------------------------------------------------------------- requirements


_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def platform_tags(platform: str) -> list[str]:
    """The pip platform tags a target runs: 'manylinux_2_35_x86_64' -> itself, then
    manylinux_2_34_x86_64, ... manylinux_2_17_x86_64, manylinux2014_x86_64, ...,
    manylinux1_x86_64; any other tag as it is."""
    found = re.match(r"^manylinux_2_(\d+)_(\w+)$", platform)
    if not found:
        return [platform]
    newest, arch = int(found.group(1)), found.group(2)
    tags = []
    for minor in range(newest, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in _LEGACY_MANYLINUX:
            tags.append(f"{_LEGACY_MANYLINUX[minor]}_{arch}")
    return tags


def marker_environment(python_version: str, platform: str) -> dict:
    """The PEP 508 marker values of the target (for evaluating Requires-Dist markers)."""
    if platform.startswith(("manylinux", "musllinux", "linux")):
        system, sys_platform, os_name = "Linux", "linux", "posix"
    elif platform.startswith("macosx"):
        system, sys_platform, os_name = "Darwin", "darwin", "posix"
    else:
        system, sys_platform, os_name = "Windows", "win32", "nt"
    machine = platform.rsplit("_", 1)[-1] if "_" in platform else platform
    machine = {"amd64": "AMD64", "64": "x86_64"}.get(machine, machine)
    if platform.endswith("x86_64"):
        machine = "x86_64"
    full = python_version if python_version.count(".") >= 2 else f"{python_version}.0"
    return {
        "python_version": ".".join(python_version.split(".")[:2]),
        "python_full_version": full,
        "sys_platform": sys_platform,
        "platform_system": system,
        "platform_machine": machine,
        "os_name": os_name,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def wheel_requirements(wheel: Path, extras=(), environment: dict | None = None) -> list:
    """The Requires-Dist of a wheel whose markers hold on the target (with these extras)."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as zf:
        name = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
        if name is None:
            raise PackageError(f"{wheel}: not a wheel (no .dist-info/METADATA)")
        metadata = Parser().parsestr(zf.read(name).decode("utf-8"))
    out = []
    for line in metadata.get_all("Requires-Dist") or []:
        req = Requirement(line)
        if req.marker is None:
            out.append(req)
            continue
        for extra in ("", *extras):
            if req.marker.evaluate({**(environment or {}), "extra": extra}):
                req.marker = None
                out.append(req)
                break
    return out


def wheel_project(filename: str) -> str:
    """'iterative_stratification-0.1.9-py3-none-any.whl' -> 'iterative-stratification'."""
    return canonical(Path(filename).name.split("-", 1)[0])


def download_wheels(
    requirements,
    dest: Path,
    *,
    python_version: str,
    platform: str,
    preinstalled: frozenset[str],
    find_links=(),
    no_index: bool = False,
    versions: dict | None = None,
    on_progress=None,
) -> list[str]:
    """Binary wheels of ``requirements`` and of their dependencies for the target, except
    what is preinstalled; the project names downloaded. Where the image's ``versions`` are
    known, a requirement the image's version does not satisfy is refused now rather than
    failing in the offline notebook."""
    environment = marker_environment(python_version, platform)
    dest.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    downloaded: list[str] = []
    pending = [(req, "kagglekit") for req in requirements]
    while pending:
        batch = []
        for req, parent in pending:
            name = canonical(req.name)
            have = (versions or {}).get(name)
            if name in preinstalled and have and not req.specifier.contains(have, prereleases=True):
                raise PackageError(
                    f"{parent} needs {req} but the target image has {name} "
                    f"{have}; pass --include-preinstalled to ship a wheel that "
                    f"fits (pip installs it over the image's), or target "
                    f"another image"
                )
            if name in preinstalled or name in seen:
                continue
            seen.add(name)
            batch.append(req)
        if not batch:
            break
        if on_progress:
            on_progress(f"downloading {', '.join(str(r) for r in batch)}")
        before = {p.name for p in dest.glob("*.whl")}
        args = [
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-version",
            python_version,
            "--dest",
            str(dest),
        ]
        for tag in platform_tags(platform):
            args += ["--platform", tag]
        for link in find_links:
            args += ["--find-links", str(link)]
        if no_index:
            args.append("--no-index")
        _pip(
            args + [str(r) for r in batch],
            f"downloading wheels for Python {python_version} on {platform} "
            f"({', '.join(r.name for r in batch)})",
        )
        extras = {canonical(r.name): tuple(r.extras) for r in batch}
        pending = []
        for path in sorted(dest.glob("*.whl")):
            if path.name in before:
                continue
            project = wheel_project(path.name)
            downloaded.append(project)
            pending += [
                (r, project) for r in wheel_requirements(path, extras.get(project, ()), environment)
            ]
    return downloaded
