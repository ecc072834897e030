"""Helpers for the package tests: a tfidf run, a preinstalled list of this environment, a
fresh virtual environment that sees this one's packages but not kagglekit, the fake
/kaggle/input and /kaggle/working, and running the generated script offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from support.fake_kaggle import closed_port_url, invoke

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def this_platform() -> str:
    """pip's platform tag for this machine (e.g. manylinux_2_35_x86_64)."""
    from packaging.tags import sys_tags

    return next(t.platform for t in sys_tags() if t.platform != "any")


def write_preinstalled(path: Path) -> Path:
    """`pip freeze`-like list of every distribution in this environment except kagglekit:
    the test's target image is this environment, so the wheelhouse holds only kagglekit."""
    found = sorted(
        {(d.metadata["Name"], d.version) for d in metadata.distributions() if d.metadata["Name"]}
    )
    path.write_text(
        "".join(f"{n}=={v}\n" for n, v in found if not n.lower().startswith("kagglekit")),
        encoding="utf-8",
    )
    return path


def cv_run(data_dir: Path, slug: str, model: str = "tfidf-nb") -> str:
    out = invoke("cv", slug, "--model", model, "--folds", "2", "--data-dir", data_dir, "--json")
    return json.loads(out.stdout)["run_id"]


def package_args(run_id: str, output: Path, preinstalled: Path, *more) -> list:
    return [
        "package",
        run_id,
        "--output",
        output,
        "--owner",
        "kk-tester",
        "--python-version",
        PYTHON,
        "--platform",
        this_platform(),
        "--preinstalled",
        preinstalled,
        "--no-index",
        *more,
    ]


def fresh_venv(root: Path) -> Path:
    """A new virtual environment without pip of its own; a .pth makes it see a folder of
    links to this environment's packages, kagglekit (and its editable finder) left out, so
    `pip install --no-index` must install kagglekit from the package's wheel. Its python."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    shadow = root / "base-site-packages"
    shadow.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        name = entry.name.lower()
        if name.startswith(("kagglekit", "__editable__", "_kagglekit")) or name.endswith(".pth"):
            continue
        (shadow / entry.name).symlink_to(entry)
    (site / "base.pth").write_text(f"{shadow}\n", encoding="utf-8")
    return python


def kaggle_layout(
    root: Path,
    dataset_dir: Path,
    dataset_slug: str,
    data_dir: Path,
    slug: str,
    files=("test.csv", "sample_submission.csv"),
) -> tuple[Path, Path]:
    """<root>/kaggle/input/<dataset>/ (a copy of the package's dataset) and
    <root>/kaggle/input/<competition>/ (its test and sample files or folders); (input,
    working)."""
    inputs = root / "kaggle" / "input"
    shutil.copytree(dataset_dir, inputs / dataset_slug)
    (inputs / slug).mkdir(parents=True)
    for name in files:  # a file, or a folder (aclImdb's test/)
        if (data_dir / name).is_dir():
            shutil.copytree(data_dir / name, inputs / slug / name)
        else:
            shutil.copy2(data_dir / name, inputs / slug / name)
    working = root / "kaggle" / "working"
    working.mkdir(parents=True)
    return inputs, working


def run_script(python: Path, script: Path, inputs: Path, working: Path, home: Path):
    """The generated script as Kaggle runs it, with no way for pip to reach an index."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PYTHON", "KAGGLE", "VIRTUAL_ENV"))
    }
    env.update(
        KAGGLE_INPUT_DIR=str(inputs),
        KAGGLE_WORKING_DIR=str(working),
        HOME=str(home),
        PIP_INDEX_URL=closed_port_url() + "/simple",
        PIP_NO_INDEX="1",
        PIP_CONFIG_FILE=os.devnull,
        PIP_NO_CACHE_DIR="1",
        KAGGLEKIT_CACHE=str(home / "cache"),
    )
    return subprocess.run(
        [str(python), str(script)],
        cwd=working,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
