"""Build the package folder: the dataset (runs, wheelhouse, manifest, dataset-metadata.json)
and the matching notebook (kernel-metadata.json), written atomically.

    <output>/
      dataset/                    what `--push` uploads as the Kaggle dataset
        dataset-metadata.json
        kagglekit-manifest.json   runs, install requirements, sha256 + size of every file
        runs/<slug>/<run-id>/...  each run folder as it is (a blend's members beside it)
        wheels/*.whl              kagglekit's wheel + what the target image lacks
      kernel/                     what `--push` pushes as the notebook
        kernel-metadata.json
        <kernel-slug>.ipynb       one cell: the script below
        <kernel-slug>.py          the same code, to run or read outside Kaggle
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kagglekit import __version__
from kagglekit.blend.refit import combines_members
from kagglekit.package.kagglekit_wheel import build_kagglekit_wheel
from kagglekit.package.kernel import MANIFEST, kernel_metadata, notebook, render_script
from kagglekit.package.wheels import (
    KAGGLE_PLATFORM,
    KAGGLE_PREINSTALLED,
    KAGGLE_PYTHON,
    PackageError,
    canonical,
    download_wheels,
    marker_environment,
    wheel_requirements,
)
from kagglekit.store.atomic import write_json
from kagglekit.store.run import Run

LICENSE = "CC0-1.0"


@dataclass
class PackageOptions:
    output: Path
    owner: str
    dataset_slug: str | None = None
    kernel_slug: str | None = None
    python_version: str = KAGGLE_PYTHON
    platform: str = KAGGLE_PLATFORM
    include_preinstalled: bool = False
    preinstalled: frozenset = KAGGLE_PREINSTALLED
    preinstalled_versions: dict = field(default_factory=dict)  # from a `pip freeze` list
    extra_requirements: tuple = ()
    find_links: tuple = ()
    no_index: bool = False


@dataclass
class Package:
    """A built package folder."""

    path: Path
    competition: str
    runs: list = field(default_factory=list)  # run ids, the submitted run first
    dataset: str = ""  # owner/slug
    kernel: str = ""  # owner/slug
    accelerator: str | None = None
    wheels: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # requirements left to the image

    @property
    def dataset_dir(self) -> Path:
        return self.path / "dataset"

    @property
    def kernel_dir(self) -> Path:
        return self.path / "kernel"

    def summary(self) -> dict:
        return {
            "path": str(self.path),
            "competition": self.competition,
            "runs": self.runs,
            "dataset": self.dataset,
            "kernel": self.kernel,
            "accelerator": self.accelerator,
            "wheels": self.wheels,
            "left_to_image": self.skipped,
        }


KAGGLE_SLUG_MAX = 50  # Kaggle's longest dataset or notebook slug


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def default_slugs(comp) -> tuple[str, str]:
    """(dataset, notebook) slugs: ``kagglekit-<competition>`` and
    ``kagglekit-<competition>-submission``, where <competition> is the Kaggle slug or, when
    that makes the notebook's slug longer than Kaggle allows, the first alias that fits
    (quora-insincere-questions-classification -> quora); else the slug shortened, with a
    short hash of it so that two long slugs do not meet."""
    for name in (comp.slug, *comp.aliases):
        name = slugify(name)
        if name and len(f"kagglekit-{name}-submission") <= KAGGLE_SLUG_MAX:
            return f"kagglekit-{name}", f"kagglekit-{name}-submission"
    digest = hashlib.sha256(comp.slug.encode()).hexdigest()[:6]
    room = KAGGLE_SLUG_MAX - len("kagglekit--submission") - len(digest) - 1
    name = f"{slugify(comp.slug)[:room].rstrip('-')}-{digest}"
    return f"kagglekit-{name}", f"kagglekit-{name}-submission"


def checked_slug(value: str, option: str, shortest: int) -> str:
    """A slug given with --dataset/--kernel, lower-cased; refused (never cut) when Kaggle
    would not take its length."""
    slug = slugify(value)
    if not shortest <= len(slug) <= KAGGLE_SLUG_MAX:
        raise PackageError(
            f"{option} {value!r}: the slug {slug!r} has {len(slug)} characters; "
            f"Kaggle takes {shortest} to {KAGGLE_SLUG_MAX}: pass a "
            f"{'shorter' if len(slug) > KAGGLE_SLUG_MAX else 'longer'} {option}"
        )
    return slug


# ---------------------------------------------------------------- runs


def member_runs(run: Run) -> list[Run]:
    """A blend's (or a blend refit's) member runs (recursively), found where the blend says
    or beside it."""
    out = []
    for row in run.info.get("member_runs") or []:
        candidates = [Path(row.get("path") or ""), run.path.parent / row["run_id"]]
        found = next((c for c in candidates if (c / "run.json").is_file()), None)
        if found is None:
            raise PackageError(
                f"blend {run.id} needs its member run {row['run_id']} (looked in "
                f"{candidates[0]} and {run.path.parent}); it was moved or removed"
            )
        member = Run(found)
        out += [member, *member_runs(member)] if combines_members(member) else [member]
    return out


def collect_runs(runs: list[Run]) -> list[Run]:
    """The runs to package: those given, then blends' members, each once; one competition."""
    out: list[Run] = []
    for run in runs:
        for r in [run, *(member_runs(run) if combines_members(run) else [])]:
            if all(r.path != o.path for o in out):
                out.append(r)
    slugs = sorted({r.competition for r in out})
    if len(slugs) > 1:
        raise PackageError(
            f"the runs are for several competitions ({', '.join(slugs)}); "
            f"package one competition at a time"
        )
    for r in out:
        if not combines_members(r) and not (r.path / "models").is_dir():
            raise PackageError(
                f"run {r.id} has no saved models ({r.path / 'models'}); the "
                f"notebook cannot predict with it: use a cv or fit run"
            )
    return out


KERAS_FILES = ("*.keras", "*.h5")  # what a Keras model leaves in models/<fold>/


def is_neural(run) -> bool:
    """A run of a Keras family: an ``accelerator`` parameter, or Keras files in models/."""
    params = run.info.get("params") if isinstance(run.info.get("params"), dict) else {}
    if "accelerator" in params:
        return True
    models = Path(getattr(run, "path", "")) / "models"
    return models.is_dir() and any(next(models.rglob(p), None) for p in KERAS_FILES)


def run_accelerator(runs) -> str | None:
    """'tpu', 'gpu' or None for the notebook: neural runs get a GPU unless their
    ``accelerator`` parameter says 'tpu' (a TPU) or 'cpu' (nothing); TF-IDF runs nothing."""
    wanted = set()
    for run in runs:
        params = run.info.get("params") if isinstance(run.info.get("params"), dict) else {}
        if "accelerator" in params:
            wanted.add(str(params["accelerator"]).lower())
        elif is_neural(run):
            wanted.add("gpu")
    if "tpu" in wanted:
        return "tpu"
    if wanted - {"cpu"}:
        return "gpu"
    return None


# ---------------------------------------------------------------- files


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(root: Path, tops=("runs", "wheels")) -> dict:
    out = {}
    for top in tops:
        for path in sorted((root / top).rglob("*")):
            if path.is_file():
                out[path.relative_to(root).as_posix()] = {
                    "sha256": sha256_file(path),
                    "size": path.stat().st_size,
                }
    return out


def build_package(
    runs: list[Run], options: PackageOptions, on_progress: Callable[[str], None] | None = None
) -> Package:
    """Build the package folder at ``options.output`` (replacing an older package there)."""
    from kagglekit import plugins

    say = on_progress or (lambda message: None)
    everything = collect_runs(runs)
    comp = plugins.get_competition(everything[0].competition)
    if comp.test_file is None:
        raise PackageError(f"{comp.slug} has no test file, so a notebook has nothing to predict")
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9-]*$", options.owner or ""):
        raise PackageError(
            f"Kaggle owner {options.owner!r} is not a Kaggle user name; pass "
            f"--owner YOUR-KAGGLE-USERNAME"
        )
    dataset_slug, kernel_slug = default_slugs(comp)
    if options.dataset_slug:
        dataset_slug = checked_slug(options.dataset_slug, "--dataset", 6)
    if options.kernel_slug:
        kernel_slug = checked_slug(options.kernel_slug, "--kernel", 5)
    package = Package(
        path=Path(options.output),
        competition=comp.slug,
        runs=[r.id for r in everything],
        dataset=f"{options.owner}/{dataset_slug}",
        kernel=f"{options.owner}/{kernel_slug}",
        accelerator=run_accelerator(everything),
    )
    out = Path(options.output)
    if out.exists() and not (out / "dataset" / MANIFEST).is_file() and any(out.iterdir()):
        raise PackageError(
            f"{out} exists and is not a kagglekit package; choose another --output or remove it"
        )
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _build(staging, everything, comp, package, options, say)
        _replace(staging, out)
    except (OSError, shutil.Error) as exc:
        raise PackageError(
            f"cannot write the package {out}: {_os_reason(exc)}; choose another "
            f"--output (nothing was written)"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return package


def _os_reason(exc) -> str:
    if isinstance(exc, shutil.Error):  # copytree: [(src, dst, why), ...]
        first = exc.args[0][0] if exc.args and exc.args[0] else None
        return f"{first[0]}: {first[2]}" if first else str(exc)
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"{exc.strerror or exc}{where}"


def _build(
    staging: Path, runs: list[Run], comp, package: Package, options: PackageOptions, say
) -> None:
    dataset = staging / "dataset"
    for run in runs:
        say(f"copying run {run.id}")
        shutil.copytree(
            run.path,
            dataset / "runs" / comp.slug / run.id,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    wheels = dataset / "wheels"
    say("building the kagglekit wheel")
    own = build_kagglekit_wheel(wheels)
    extras = ("keras",) if any(is_neural(r) for r in runs) else ()
    environment = marker_environment(options.python_version, options.platform)
    requirements = wheel_requirements(own, extras, environment)
    requirements += [_requirement(r) for r in options.extra_requirements]
    preinstalled = (
        frozenset()
        if options.include_preinstalled
        else frozenset(canonical(n) for n in options.preinstalled)
    )
    package.skipped = sorted({canonical(r.name) for r in requirements} & preinstalled)
    download_wheels(
        requirements,
        wheels,
        python_version=options.python_version,
        platform=options.platform,
        preinstalled=preinstalled,
        find_links=options.find_links,
        no_index=options.no_index,
        versions=options.preinstalled_versions,
        on_progress=say,
    )
    package.wheels = sorted(p.name for p in wheels.glob("*.whl"))
    kagglekit_req = (
        f"kagglekit[{','.join(extras)}]=={__version__}" if extras else f"kagglekit=={__version__}"
    )
    install = [kagglekit_req, *options.extra_requirements]
    say("writing the checksum manifest")
    manifest = {
        "format": 1,
        "kagglekit": __version__,
        "competition": comp.slug,
        "dataset": package.dataset,
        "kernel": package.kernel,
        "submit_run": package.runs[0],
        "runs": [
            {"run_id": r.id, "path": f"runs/{comp.slug}/{r.id}", "kind": r.kind, "model": r.model}
            for r in runs
        ],
        "python_version": options.python_version,
        "platform": options.platform,
        "install": install,
        "left_to_image": package.skipped,
        "files": file_checksums(dataset),
    }
    write_json(dataset / MANIFEST, manifest)
    title = f"kagglekit {comp.slug}"[:50]
    title = title if len(title) >= 6 else f"kagglekit package {comp.slug}"
    write_json(
        dataset / "dataset-metadata.json",
        {
            "title": title,
            "id": package.dataset,
            "licenses": [{"name": LICENSE}],
            "description": f"kagglekit {__version__} package for {comp.slug}: runs "
            f"{', '.join(package.runs)}, the kagglekit wheel and the wheels "
            f"Kaggle's image lacks. Made by `kagglekit package`.",
        },
    )
    kernel = staging / "kernel"
    kernel.mkdir()
    slug = package.kernel.split("/", 1)[1]
    script = render_script(
        title=f"{comp.slug}, run {package.runs[0]}",
        competition=comp.slug,
        dataset=package.dataset,
        run_id=package.runs[0],
        manifest_sha256=sha256_file(dataset / MANIFEST),
        test_file=comp.test_file,
        sample_file=comp.sample_submission_file,
    )
    (kernel / f"{slug}.py").write_text(script, encoding="utf-8")
    write_json(kernel / f"{slug}.ipynb", notebook(script))
    write_json(
        kernel / "kernel-metadata.json",
        kernel_metadata(
            kernel=package.kernel,
            code_file=f"{slug}.ipynb",
            dataset=package.dataset,
            competition=comp.slug,
            accelerator=package.accelerator,
        ),
    )


def _requirement(text: str):
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise PackageError(f"--with {text!r} is not a pip requirement ({exc})") from None


def _replace(staging: Path, out: Path) -> None:
    """Move the finished package into place; an older package there goes only afterwards."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(out, old)
    try:
        os.rename(staging, out)
    except BaseException:
        if old is not None:
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
