"""Download a competition's files into the data root and unzip them atomically."""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kagglekit import data as _data
from kagglekit.errors import KaggleKitError
from kagglekit.kaggle_client.credentials import DiskFull, KaggleApiError
from kagglekit.kaggle_client.session import KaggleSession, connect, human_size

MANIFEST = ".kagglekit-fetch.json"
CHUNK = 1 << 20
NESTED_ZIP_DEPTH = 3

Progress = Callable[[str, int, "int | None"], None]  # (stage, done, total): "download", "unzip X"


# ---------------------------------------------------------------- fetch


@dataclass
class FetchResult:
    competition: str
    path: Path
    status: str  # "downloaded", "complete" (nothing to do) or "kaggle-input"
    files: list[str]
    bytes_downloaded: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "competition": self.competition,
            "path": str(self.path),
            "status": self.status,
            "files": self.files,
            "bytes_downloaded": self.bytes_downloaded,
        }


def target_dir(slug: str, data_dir: str | os.PathLike | None = None) -> Path:
    """``<data root>/<slug>``: --data-dir, else $KAGGLEKIT_DATA, else ./input."""
    if data_dir:
        root = Path(data_dir)
        return root if root.name == slug else root / slug
    env = os.environ.get("KAGGLEKIT_DATA")
    return (Path(env) if env else Path("input")) / slug


def complete_files(target: Path, expected: Iterable[str | None] = ()) -> list[str] | None:
    """The files of a complete earlier fetch (or the expected files, all present), else None."""
    manifest = target / MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
        if all(
            (target / name).is_file() and (target / name).stat().st_size == size
            for name, size in files.items()
        ):
            return sorted(files)
        return None
    names = [f for f in expected if f]
    if names and all((target / f).is_file() and (target / f).stat().st_size > 0 for f in names):
        return sorted(names)
    return None


def fetch(
    slug: str,
    data_dir=None,
    *,
    force: bool = False,
    expected_files: Iterable[str | None] = (),  # a competition's files; None: it has none
    session: KaggleSession | None = None,
    progress: Progress | None = None,
) -> FetchResult:
    """Download and unzip a competition's files into ``<data root>/<slug>/``.

    Nothing is downloaded when the files are attached at /kaggle/input/<slug> (a Kaggle
    notebook) or a complete earlier fetch is present (unless ``force``). The zip goes to a
    hidden temporary folder beside the target and files are renamed into place only once
    complete, so an interrupted fetch leaves nothing a later run would take as data.
    """
    attached = _data.KAGGLE_INPUT / slug
    if attached.is_dir():
        found = sorted(str(p.relative_to(attached)) for p in attached.rglob("*") if p.is_file())
        return FetchResult(slug, attached, "kaggle-input", found)
    target = target_dir(slug, data_dir)
    if not force:
        done = complete_files(target, expected_files)
        if done is not None:
            return FetchResult(slug, target, "complete", done)
    session = session or connect()
    root = target.parent
    created_root = not root.exists()
    work = root / f".{slug}.fetch-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        with session.errors("downloading the files of", slug):
            try:
                root.mkdir(parents=True, exist_ok=True)
                _remove_stale_temporaries(root, slug)
                work.mkdir()
                staged = work / "files"
                staged.mkdir()
                archive = work / f"{slug}.zip"
                size = _download(session, slug, archive, progress, root)
                files = _extract(archive, staged, progress, root)
                _write_manifest(staged, slug, files)
                _install(staged, target, work)
            except OSError as exc:
                import requests

                if isinstance(exc, requests.exceptions.RequestException):
                    raise
                if exc.errno == errno.ENOSPC:
                    raise DiskFull(
                        f"disk full while writing the {slug} files under {root}: "
                        f"free some space or pass --data-dir on a disk with room; "
                        f"nothing was kept"
                    ) from None
                raise KaggleKitError(
                    f"cannot write the {slug} files under {root} "
                    f"({exc.strerror or exc}); pass --data-dir with a folder "
                    f"you can write to"
                ) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created_root and not target.exists():
            with contextlib.suppress(OSError):
                root.rmdir()  # only when empty: a failed first fetch leaves no trace
    return FetchResult(slug, target, "downloaded", sorted(files), size, list(session.notes))


def _remove_stale_temporaries(root: Path, slug: str) -> None:
    """Remove temporary folders of fetches whose process is gone (e.g. killed)."""
    for path in root.glob(f".{slug}.fetch-*"):
        match = re.match(rf"\.{re.escape(slug)}\.fetch-(\d+)-", path.name)
        if match and _alive(int(match.group(1))):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but not ours
        return True
    return True


def _download(
    session: KaggleSession, slug: str, archive: Path, progress: Progress | None, root: Path
) -> int:
    import requests
    from kagglesdk.competitions.types.competition_api_service import ApiDownloadDataFilesRequest

    request = ApiDownloadDataFilesRequest()
    request.competition_name = slug
    with session.api.build_kaggle_client() as client:
        with session.captured():  # not the streaming below: the progress bar must show
            response = client.competitions.competition_api_client.download_data_files(request)
        try:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            _check_space(archive.parent, total, f"the {slug} download", root)
            done = 0
            if progress:
                progress("download", 0, total)
            try:
                with open(archive, "wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        if not chunk:
                            continue
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress("download", done, total)
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ConnectionError,
            ) as exc:
                raise KaggleApiError(
                    f"the download of {slug} broke off after {human_size(done)} "
                    f"({type(exc).__name__}); nothing was kept, run this again"
                ) from None
        finally:
            response.close()
    if total is not None and done != total:
        raise KaggleApiError(
            f"the download of {slug} is incomplete ({done} of {total} bytes); "
            f"nothing was kept, run this again"
        )
    return done


def _check_space(folder: Path, needed: int | None, what: str, root: Path) -> None:
    """Say so before writing when the disk cannot hold ``needed`` more bytes."""
    if not needed:
        return
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise DiskFull(
            f"disk full: {what} needs {human_size(needed)} but only "
            f"{human_size(free)} is free "
            f"under {root}; free some space or pass --data-dir on a disk with room; "
            f"nothing was kept"
        )


def _safe_members(zf: zipfile.ZipFile, target: Path, source: Path) -> list[zipfile.ZipInfo]:
    base = target.resolve()
    members = []
    for info in zf.infolist():
        name = info.filename
        resolved = (base / name).resolve()
        if (
            name.startswith(("/", "\\"))
            or ".." in Path(name).parts
            or (resolved != base and base not in resolved.parents)
        ):
            raise KaggleApiError(
                f"{source.name} holds an unsafe path {name!r}; refusing to unpack it"
            )
        members.append(info)
    return members


def _unzip(archive: Path, target: Path, progress: Progress | None, root: Path) -> list[Path]:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _safe_members(zf, target, archive)
            needed = sum(m.file_size for m in members)
            target.mkdir(parents=True, exist_ok=True)
            _check_space(target, needed, f"unpacking {archive.name}", root)
            done = 0
            out = []
            for info in members:
                path = Path(zf.extract(info, target))
                if not info.is_dir():
                    out.append(path)
                done += info.file_size
                if progress:
                    progress(f"unzip {archive.name}", done, needed)
            return out
    except zipfile.BadZipFile as exc:
        raise KaggleApiError(
            f"{archive.name} from Kaggle is not a valid zip ({exc}); "
            f"nothing was kept, run this again"
        ) from None


def _extract(archive: Path, staged: Path, progress: Progress | None, root: Path) -> dict[str, int]:
    """Unzip the download and every nested zip (``train.csv.zip`` -> ``train.csv``).

    A nested zip holding just ``<its name minus .zip>`` is unpacked beside itself (Jigsaw's
    ``train.csv.zip``); any other nested zip into a folder named after it (Quora's
    ``embeddings.zip`` -> ``embeddings/``, as Kaggle shows it under /kaggle/input).
    """
    extracted = _unzip(archive, staged, progress, root)
    archive.unlink()
    for _ in range(NESTED_ZIP_DEPTH):
        nested = [p for p in extracted if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p)]
        if not nested:
            break
        extracted = []
        for inner in nested:
            with zipfile.ZipFile(inner) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
            beside = len(names) == 1 and names[0] == inner.name[: -len(".zip")]
            extracted += _unzip(
                inner,
                inner.parent if beside else inner.parent / inner.name[: -len(".zip")],
                progress,
                root,
            )
            inner.unlink()
    return {
        str(p.relative_to(staged).as_posix()): p.stat().st_size
        for p in sorted(staged.rglob("*"))
        if p.is_file()
    }


def _write_manifest(staged: Path, slug: str, files: dict[str, int]) -> None:
    from importlib import metadata

    try:
        client = metadata.version("kaggle")
    except metadata.PackageNotFoundError:  # pragma: no cover
        client = "?"
    record = {
        "competition": slug,
        "files": files,
        "fetched_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "kaggle_client": client,
    }
    (staged / MANIFEST).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _install(staged: Path, target: Path, work: Path) -> None:
    """Move the complete files into place; each rename is atomic, the manifest goes last."""
    if not target.exists():
        os.rename(staged, target)
        return
    old = work / "replaced"
    old.mkdir()
    (target / MANIFEST).unlink(missing_ok=True)
    for entry in sorted(staged.iterdir(), key=lambda p: (p.name == MANIFEST, p.name)):
        dest = target / entry.name
        if dest.is_dir() and not dest.is_symlink():
            os.rename(dest, old / entry.name)
        os.replace(entry, dest)
