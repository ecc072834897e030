"""Content-addressed cache: pay for compute once.

Tokenized texts, filtered embedding matrices and sentence embeddings are stored under
``cache_root()/<kind>/<key>.npz`` where ``key`` hashes their inputs and parameters
(never a name); pretrained models are folders, ``cache_root()/pretrained/<key>/``
(``write_directory``, ``deliver_directory``). Root: ``$KAGGLEKIT_CACHE``, else
``$XDG_CACHE_HOME/kagglekit``, else ``~/.cache/kagglekit``. ``KAGGLEKIT_CACHE=off``
disables caching. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kagglekit.store.atomic import replace_atomically


def cache_root() -> Path | None:
    env = os.environ.get("KAGGLEKIT_CACHE")
    if env and env.lower() in ("off", "0", "none", "false"):
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kagglekit"


def content_hash(*parts) -> str:
    """A stable sha256 (first 24 hex) of strings, bytes, numbers, dicts, lists and arrays."""
    h = hashlib.sha256()
    for part in parts:
        _update(h, part)
    return h.hexdigest()[:24]


def _update(h, part) -> None:
    if isinstance(part, bytes):
        h.update(b"b" + len(part).to_bytes(8, "little") + part)
    elif isinstance(part, str):
        _update(h, part.encode("utf-8"))
    elif isinstance(part, np.ndarray):
        if part.dtype == object:
            _update_texts(h, [str(item) for item in part.ravel()])
        else:
            h.update(f"a{part.dtype.str}{part.shape}".encode())
            h.update(np.ascontiguousarray(part).tobytes())
    elif isinstance(part, dict):
        _update(h, json.dumps(part, sort_keys=True, default=str))
    elif isinstance(part, (list, tuple)) and part and all(isinstance(p, str) for p in part):
        _update_texts(h, part)
    elif isinstance(part, (list, tuple)):
        h.update(f"l{len(part)}".encode())
        for item in part:
            _update(h, item)
    elif isinstance(part, Path):
        _update(h, str(part))
    else:
        _update(h, repr(part))


def _update_texts(h, texts) -> None:
    """Many strings at once: their joined bytes plus each one's length (fast for 10^5 texts;
    a list and an object array of the same strings hash alike)."""
    h.update(f"t{len(texts)}".encode())
    h.update("\x00".join(texts).encode("utf-8", "surrogatepass"))
    h.update(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)).tobytes())


def file_fingerprint(path: Path, full: bool = False) -> str:
    """Hash of a file: its size and mtime plus (``full``) all of its bytes, else its first and
    last MiB (cheap for multi-GB embedding files)."""
    path = Path(path)
    stat = path.stat()
    h = hashlib.sha256(f"{stat.st_size}".encode())
    with open(path, "rb") as fh:
        if full or stat.st_size <= 2 << 20:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        else:
            h.update(fh.read(1 << 20))
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
            h.update(str(stat.st_mtime_ns).encode())
    return h.hexdigest()[:24]


def cached_arrays(kind: str, key: str, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """``compute()`` -> dict of numpy arrays, stored under kind/key; returns (arrays, hit)."""
    root = cache_root()
    if root is None:
        return compute(), False
    path = root / kind / f"{key}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}, True
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # damaged entry: recompute
    arrays = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, lambda tmp: np.savez(tmp, **arrays), suffix=".npz")
    return arrays, False


def check_output_directory(
    output, what: str = "--output", made_by: str | None = None
) -> Path | None:
    """``output`` resolved, or None; a folder that exists and holds anything is refused
    before any work (nothing of the user's is ever replaced), except, with ``made_by``, one
    holding that record file: the caller then asks ``made_before`` whether it is its own."""
    from kagglekit.errors import KaggleKitError

    if output is None:
        return None
    output = Path(output).resolve()
    if made_by is not None and (output / made_by).is_file():
        return output
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise KaggleKitError(
            f"{what} {output}: already exists and is not an empty folder; choose a new folder"
        )
    above = next((p for p in output.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise KaggleKitError(
            f"{what} {output}: {above} is a file, not a folder; choose another place"
        )
    return output


def made_before(output, key: str, record_file: str, files=()) -> dict | None:
    """The record in ``output`` when an earlier run of the same command wrote it there: its
    ``record_file`` names ``key`` and ``files`` are all present (the same command twice
    returns the folder it made, as the cache does); else None."""
    import json

    if output is None or not Path(output).is_dir():
        return None
    try:
        record = json.loads((Path(output) / record_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    return record if all((Path(output) / f).is_file() for f in files) else None


def write_directory(
    directory: Path, fill: Callable[[Path], object], *, replace: bool = False
) -> Path:
    """Create ``directory`` atomically: ``fill(tmp)`` writes a sibling temporary folder, which
    is then renamed to ``directory``; on any error nothing is left behind. An existing
    ``directory`` must be empty, unless ``replace`` (cache entries only)."""
    directory = Path(directory).resolve()
    if not replace:
        check_output_directory(directory)
    tmp = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        fill(tmp)
        if directory.exists():
            shutil.rmtree(directory) if replace else directory.rmdir()
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def deliver_directory(directory: Path, output, what: str = "--output") -> Path:
    """``directory`` copied (atomically) to ``output``, or ``directory`` itself when
    ``output`` is None or the same place; an existing non-empty ``output`` is refused."""
    if output is None or Path(output).resolve() == Path(directory).resolve():
        return Path(directory)
    output = check_output_directory(output, what)
    return write_directory(output, lambda tmp: shutil.copytree(directory, tmp, dirs_exist_ok=True))
