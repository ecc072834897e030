"""Fetch competition files and upload submissions through the official ``kaggle`` client.

Named ``kaggle_client`` rather than ``kaggle`` so that it can never shadow the official
package for code that imports both.

How the client is used, and why:

- ``import kaggle`` runs ``kaggle/__init__.py``, which builds a ``KaggleApi`` and calls
  ``authenticate()`` at import time: without credentials it prints a help text and calls
  ``exit(1)``; with ``KAGGLE_API_TOKEN`` it makes a network request. So kagglekit first
  looks for the credentials itself (the same places the client looks: ``KAGGLE_API_TOKEN``,
  ``~/.kaggle/access_token``, ``KAGGLE_USERNAME``/``KAGGLE_KEY``, ``kaggle.json`` in
  ``$KAGGLE_CONFIG_DIR``, ``~/.kaggle`` or ``~/.config/kaggle``, and the OAuth
  ``~/.kaggle/credentials.json`` of ``kaggle auth login``), then imports
  ``kaggle.api.kaggle_api_extended`` without running the package's ``__init__`` and
  authenticates its own ``KaggleApi``. Every failure becomes one KaggleKitError line.
- The download request goes through the client (``download_data_files``); kagglekit
  streams the body itself into a hidden temporary folder, because the client's own
  ``download_file`` writes to the final name, prints to stdout and retries any OSError
  (a full disk too) five times with exponential back-off.
- Whatever the client prints is captured and returned as notes, with every credential
  replaced by ``***``; the client's verbose mode (which prints request headers) is off.

Library code here never prints; progress is reported through a callback.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import errno
import io
import json
import os
import re
import shutil
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from kagglekit import data as _data
from kagglekit.errors import KaggleKitError

KAGGLE_WORKING = Path("/kaggle/working")  # a Kaggle notebook's output folder (patched in tests)
SETTINGS_URL = "https://www.kaggle.com/settings"
COMPETITION_URL = "https://www.kaggle.com/competitions/{slug}"
RULES_URL = "https://www.kaggle.com/competitions/{slug}/rules"
MANIFEST = ".kagglekit-fetch.json"
CHUNK = 1 << 20
NESTED_ZIP_DEPTH = 3
POLL_SECONDS = 10.0

Progress = Callable[[str, int, "int | None"], None]  # (stage, done, total): "download", "unzip X"


class KaggleApiError(KaggleKitError):
    """Kaggle refused a request, could not be reached, or the client is unusable."""


class NoCredentials(KaggleApiError):
    """No Kaggle credentials were found."""


class CodeCompetition(KaggleApiError):
    """The competition only accepts submissions made from a Kaggle notebook."""


class DiskFull(KaggleKitError):
    """A write failed because the disk is full."""


# ---------------------------------------------------------------- credentials


def config_dir() -> Path:
    """The folder the client reads kaggle.json from (same rule as the client)."""
    configured = os.environ.get("KAGGLE_CONFIG_DIR")
    if configured:
        return Path(configured)
    home = Path(os.path.expanduser("~")) / ".kaggle"
    if sys.platform.startswith("linux") and not home.exists():
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        return Path(xdg) / "kaggle"
    return home


@dataclass
class Credentials:
    """Where the credentials came from; the secrets are kept only to redact them."""

    kind: str  # "token", "key" or "oauth"
    source: str  # e.g. "KAGGLE_API_TOKEN", "/home/me/.kaggle/kaggle.json"
    username: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text


def _no_credentials_message() -> str:
    # the client reads ~/.kaggle as soon as it exists, so that is the place to suggest
    configured = os.environ.get("KAGGLE_CONFIG_DIR")
    where = Path(configured or os.path.join(os.path.expanduser("~"), ".kaggle")) / "kaggle.json"
    return (f"no Kaggle credentials found: create an API token at {SETTINGS_URL} "
            f"(API > Create New Token) and save the downloaded kaggle.json as {where} "
            f"(chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY, or KAGGLE_API_TOKEN")


def find_credentials() -> Credentials:
    """The credentials the client will try first, in the client's order; NoCredentials if none.

    Every credential found (not just the first) is kept for redaction, since the client
    falls back to the next kind when one is rejected.
    """
    from kagglesdk import get_access_token_from_env

    found: list[Credentials] = []
    token, source = get_access_token_from_env()
    if token:
        found.append(Credentials("token", source or "access token", secrets=(token,)))
    file = config_dir() / "kaggle.json"
    values, problem = _read_kaggle_json(file)
    user = os.environ.get("KAGGLE_USERNAME") or values.get("username")
    key = os.environ.get("KAGGLE_KEY") or values.get("key")
    if user and key:
        source = "KAGGLE_USERNAME/KAGGLE_KEY" if os.environ.get("KAGGLE_KEY") else str(file)
        basic = base64.b64encode(f"{user}:{key}".encode()).decode()
        found.append(Credentials("key", source, username=str(user), secrets=(str(key), basic)))
    elif user or key:
        missing = "KAGGLE_KEY (or \"key\" in kaggle.json)" if user else \
            "KAGGLE_USERNAME (or \"username\" in kaggle.json)"
        problem = problem or (f"incomplete Kaggle credentials: {missing} is missing; "
                              f"{_no_credentials_message().split(': ', 1)[1]}")
    oauth = Path(os.path.expanduser("~/.kaggle/credentials.json"))
    saved, _ = _read_kaggle_json(oauth)
    if saved.get("refresh_token"):
        secrets = tuple(str(saved[k]) for k in ("refresh_token", "access_token") if saved.get(k))
        found.append(Credentials("oauth", str(oauth), username=saved.get("username"),
                                 secrets=secrets))
    if not found:
        raise NoCredentials(problem or _no_credentials_message())
    primary = found[0]
    primary.secrets = tuple(secret for c in found for secret in c.secrets)
    return primary


def _read_kaggle_json(file: Path) -> tuple[dict, str | None]:
    """(values, problem): a credentials file's JSON object, or {} and why it is unusable."""
    if not file.is_file():
        return {}, None
    fix = f"download a new kaggle.json from {SETTINGS_URL} (API > Create New Token)"
    try:
        values = json.loads(file.read_text(encoding="utf-8") or "{}") or {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}, f"{file} is not valid JSON; {fix}"
    if not isinstance(values, dict):
        return {}, f"{file} must hold {{\"username\": ..., \"key\": ...}}; {fix}"
    return values, None


# ---------------------------------------------------------------- the client


def _import_kaggle_api():
    """KaggleApi, imported without running kaggle/__init__.py (which authenticates)."""
    import importlib
    import importlib.util
    from importlib import metadata

    loaded = sys.modules.get("kaggle.api.kaggle_api_extended")
    if loaded is not None:
        return loaded.KaggleApi
    try:
        spec = importlib.util.find_spec("kaggle")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise KaggleApiError("the official kaggle client is not installed; "
                             "run: pip install 'kagglekit[kaggle]'")
    version = metadata.version("kaggle")
    installed = "kaggle" not in sys.modules
    if installed:
        # The package object without its __init__ having run: submodules import from the
        # real folder. A later plain `import kaggle` in this process gets this object.
        package = importlib.util.module_from_spec(spec)
        package.__version__ = version
        sys.modules["kaggle"] = package
    try:
        module = importlib.import_module("kaggle.api.kaggle_api_extended")
    except ImportError as exc:
        if installed:  # leave no half-imported package behind
            for name in [m for m in sys.modules if m == "kaggle" or m.startswith("kaggle.")]:
                sys.modules.pop(name, None)
        raise KaggleApiError(f"the installed kaggle client ({version}) cannot be imported "
                             f"({exc}); run: pip install -U 'kagglekit[kaggle]'") from None
    return module.KaggleApi


@contextlib.contextmanager
def _captured(notes: list[str], credentials: Credentials | None):
    """Capture what the client prints (stdout and stderr) into redacted notes."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield
    finally:
        text = buffer.getvalue()
        if credentials is not None:
            text = credentials.redact(text)
        notes.extend(line.strip() for line in text.splitlines() if line.strip())


class KaggleSession:
    """An authenticated KaggleApi plus where its credentials came from (never the secrets)."""

    def __init__(self, api, credentials: Credentials):
        self.api = api
        self.credentials = credentials
        self.notes: list[str] = []

    @property
    def username(self) -> str | None:
        return self.credentials.username or self.api.config_values.get("username")

    def captured(self):
        return _captured(self.notes, self.credentials)

    def errors(self, action: str, slug: str | None = None):
        return _translated(action, slug, self.credentials, self.username)


def _require_client() -> None:
    import importlib.util

    for name in ("kaggle", "kagglesdk", "requests"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise KaggleApiError(f"the official kaggle client is not installed ({name} is "
                                 f"missing); run: pip install 'kagglekit[kaggle]'")


def connect() -> KaggleSession:
    """Find the credentials, import the client safely and authenticate it."""
    _require_client()
    credentials = find_credentials()
    KaggleApi = _import_kaggle_api()
    api = KaggleApi()
    directory = config_dir()
    api.config_dir = str(directory)
    api.config = str(directory / "kaggle.json")
    # the client's verbose mode prints request headers, which carry the credentials
    api.args = [a for a in KaggleApi.args if a not in ("--verbose", "-v")]
    session = KaggleSession(api, credentials)
    with session.errors("signing in"), session.captured():
        try:
            api.authenticate()
        except SystemExit:
            raise KaggleApiError(
                f"Kaggle did not accept the {credentials.kind} from {credentials.source} "
                f"(expired or revoked?); create a new API token at {SETTINGS_URL} and "
                f"replace it") from None
    return session


@contextlib.contextmanager
def _translated(action: str, slug: str | None, credentials: Credentials | None,
                username: str | None = None):
    """Client and network failures -> one KaggleKitError line (credentials redacted)."""
    import requests

    redact = credentials.redact if credentials else (lambda s: s)
    try:
        yield
    except KaggleKitError:
        raise
    except requests.exceptions.HTTPError as exc:
        raise KaggleApiError(redact(_http_message(exc, action, slug, credentials, username))) \
            from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise KaggleApiError(redact(_network_message(exc, f"{action} {slug}" if slug
                                                      else action))) from None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFull(redact(_disk_full_message(exc.filename, None))) from None
        raise


def _http_message(exc, action: str, slug: str | None, credentials, username) -> str:
    response = getattr(exc, "response", None)
    status = _status(response)
    server = _server_message(exc, response)
    what = f"{action} {slug}" if slug else action
    if status == 401:
        source = credentials.source if credentials else "your credentials"
        return (f"Kaggle rejected the credentials from {source} (HTTP 401: bad username, key "
                f"or token) while {what}; create a new API token at {SETTINGS_URL} and replace "
                f"the old one")
    if status == 403 and slug:
        who = f" while signed in as {username}" if username else ""
        return (f"Kaggle refused {what} (HTTP 403): you must accept the competition's rules "
                f"first at {RULES_URL.format(slug=slug)}{who}, then run this again")
    if status == 404 and slug:
        return (f"Kaggle has no competition {slug!r} (HTTP 404 while {what}); check the name "
                f"at {COMPETITION_URL.format(slug=slug)}")
    if status == 429:
        return f"Kaggle is rate-limiting requests (HTTP 429) while {what}; wait a minute and retry"
    if status is not None and status >= 500:
        return (f"Kaggle answered HTTP {status} while {what} (a problem on Kaggle's side); "
                f"try again later")
    detail = f": {server}" if server else ""
    return f"Kaggle refused {what} (HTTP {status}{detail})"


def _status(response) -> int | None:
    """The HTTP status, or the error code of Kaggle's JSON body ({"code": 403, ...})."""
    status = getattr(response, "status_code", None)
    try:
        code = response.json().get("code")
        if isinstance(code, int) and code >= 400:
            return code
    except Exception:  # noqa: BLE001 - no JSON body
        pass
    return status


def _server_message(exc, response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"]).strip().splitlines()[0][:200]
    except Exception:  # noqa: BLE001 - not JSON
        pass
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def _network_message(exc, action: str) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None) or ""
    host = re.sub(r"^\w+://([^/]+).*$", r"\1", url) if url else "kaggle.com"
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    reason = found.group(1).strip() if found else type(exc).__name__
    return (f"cannot reach Kaggle at {host} while {action} ({reason}): no network connection? "
            f"Check your connection or proxy and run this again")


def _disk_full_message(filename, needed: int | None) -> str:
    where = f" while writing {filename}" if filename else ""
    need = f" (about {human_size(needed)} needed)" if needed else ""
    return (f"disk full{where}{need}: free some space or pass --data-dir on a disk with room; "
            f"nothing was kept")


def human_size(n: int | None) -> str:
    """1234567 -> '1.2 MB'."""
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


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
        return {"competition": self.competition, "path": str(self.path), "status": self.status,
                "files": self.files, "bytes_downloaded": self.bytes_downloaded}


def target_dir(slug: str, data_dir: str | os.PathLike | None = None) -> Path:
    """``<data root>/<slug>``: --data-dir, else $KAGGLEKIT_DATA, else ./input."""
    if data_dir:
        root = Path(data_dir)
        return root if root.name == slug else root / slug
    env = os.environ.get("KAGGLEKIT_DATA")
    return (Path(env) if env else Path("input")) / slug


def complete_files(target: Path, expected: Iterable[str] = ()) -> list[str] | None:
    """The files of a complete earlier fetch (or the expected files, all present), else None."""
    manifest = target / MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
        if all((target / name).is_file() and (target / name).stat().st_size == size
               for name, size in files.items()):
            return sorted(files)
        return None
    expected = [f for f in expected if f]
    if expected and all((target / f).is_file() and (target / f).stat().st_size > 0
                        for f in expected):
        return sorted(expected)
    return None


def fetch(slug: str, data_dir=None, *, force: bool = False, expected_files: Iterable[str] = (),
          session: KaggleSession | None = None, progress: Progress | None = None) -> FetchResult:
    """Download and unzip a competition's files into ``<data root>/<slug>/``.

    Nothing is downloaded when the files are attached at /kaggle/input/<slug> (a Kaggle
    notebook) or a complete earlier fetch is present (unless ``force``). The zip goes to a
    hidden temporary folder beside the target and files are renamed into place only once
    complete, so an interrupted fetch leaves nothing a later run would take as data.
    """
    attached = _data.KAGGLE_INPUT / slug
    if attached.is_dir():
        files = sorted(str(p.relative_to(attached)) for p in attached.rglob("*") if p.is_file())
        return FetchResult(slug, attached, "kaggle-input", files)
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
                    raise DiskFull(f"disk full while writing the {slug} files under {root}: "
                                   f"free some space or pass --data-dir on a disk with room; "
                                   f"nothing was kept") from None
                raise KaggleKitError(f"cannot write the {slug} files under {root} "
                                     f"({exc.strerror or exc}); pass --data-dir with a folder "
                                     f"you can write to") from None
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


def _download(session: KaggleSession, slug: str, archive: Path, progress: Progress | None,
              root: Path) -> int:
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
            except (requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ConnectionError) as exc:
                raise KaggleApiError(
                    f"the download of {slug} broke off after {human_size(done)} "
                    f"({type(exc).__name__}); nothing was kept, run this again") from None
        finally:
            response.close()
    if total is not None and done != total:
        raise KaggleApiError(f"the download of {slug} is incomplete ({done} of {total} bytes); "
                             f"nothing was kept, run this again")
    return done


def _check_space(folder: Path, needed: int | None, what: str, root: Path) -> None:
    """Say so before writing when the disk cannot hold ``needed`` more bytes."""
    if not needed:
        return
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise DiskFull(f"disk full: {what} needs {human_size(needed)} but only "
                       f"{human_size(free)} is free "
                       f"under {root}; free some space or pass --data-dir on a disk with room; "
                       f"nothing was kept")


def _safe_members(zf: zipfile.ZipFile, target: Path, source: Path) -> list[zipfile.ZipInfo]:
    base = target.resolve()
    members = []
    for info in zf.infolist():
        name = info.filename
        resolved = (base / name).resolve()
        if name.startswith(("/", "\\")) or ".." in Path(name).parts or (
                resolved != base and base not in resolved.parents):
            raise KaggleApiError(f"{source.name} holds an unsafe path {name!r}; refusing to "
                                 f"unpack it")
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
        raise KaggleApiError(f"{archive.name} from Kaggle is not a valid zip ({exc}); "
                             f"nothing was kept, run this again") from None


def _extract(archive: Path, staged: Path, progress: Progress | None,
             root: Path) -> dict[str, int]:
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
            extracted += _unzip(inner, inner.parent if beside else
                                inner.parent / inner.name[: -len(".zip")], progress, root)
            inner.unlink()
    return {str(p.relative_to(staged).as_posix()): p.stat().st_size
            for p in sorted(staged.rglob("*")) if p.is_file()}


def _write_manifest(staged: Path, slug: str, files: dict[str, int]) -> None:
    from importlib import metadata

    try:
        client = metadata.version("kaggle")
    except metadata.PackageNotFoundError:  # pragma: no cover
        client = "?"
    record = {"competition": slug, "files": files,
              "fetched_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "kaggle_client": client}
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


# ---------------------------------------------------------------- submissions


@dataclass
class Submission:
    ref: int
    date: str | None
    description: str
    file_name: str
    status: str  # "pending", "complete" or "error"
    public_score: float | None
    private_score: float | None
    error: str | None = None

    @classmethod
    def from_api(cls, s) -> "Submission":
        date = s.date.isoformat(timespec="seconds") if getattr(s, "date", None) else None
        status = getattr(getattr(s, "status", None), "name", str(getattr(s, "status", ""))).lower()
        return cls(ref=int(s.ref or 0), date=date, description=s.description or "",
                   file_name=s.file_name or "", status=status,
                   public_score=_score(s.public_score), private_score=_score(s.private_score),
                   error=s.error_description or None)

    def summary(self) -> dict:
        return dict(self.__dict__)


def _score(value) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def in_kaggle_notebook() -> bool:
    return KAGGLE_WORKING.is_dir()


def notebook_submission_path() -> Path:
    return KAGGLE_WORKING / "submission.csv"


def code_competition_message(slug: str) -> str:
    return (f"{slug} is a code competition: Kaggle accepts its submissions only from a "
            f"notebook, so the file cannot be uploaded from here; run kagglekit inside a Kaggle "
            f"notebook (submit then writes {notebook_submission_path()}) and submit that "
            f"notebook from {COMPETITION_URL.format(slug=slug)}")


def upload(slug: str, path: Path, message: str, *, code_competition: bool = False,
           session: KaggleSession | None = None) -> int:
    """Send a validated submission file with the client's competition submit; its ref."""
    if code_competition:
        raise CodeCompetition(code_competition_message(slug))
    session = session or connect()
    with session.errors("uploading a submission to", slug), session.captured():
        response = session.api.competition_submit(str(path), message, slug, quiet=True)
    ref = int(getattr(response, "ref", 0) or 0)
    if not ref:
        said = "; ".join([*session.notes[-2:], getattr(response, "message", "") or ""])
        raise KaggleApiError(session.credentials.redact(
            f"uploading {path} to {slug} failed ({said.strip('; ') or 'no reason given'}); "
            f"run this again"))
    return ref


def submissions(slug: str, *, session: KaggleSession | None = None,
                page_size: int = 50) -> list[Submission]:
    """The account's submissions to a competition, newest first."""
    session = session or connect()
    with session.errors("listing the submissions to", slug), session.captured():
        found = session.api.competition_submissions(slug, page_size=page_size) or []
    return [Submission.from_api(s) for s in found if s is not None]


def wait_for_score(slug: str, ref: int, *, timeout: float = 1800.0, poll: float | None = None,
                   session: KaggleSession | None = None,
                   on_poll: Callable[[Submission | None, float], None] | None = None
                   ) -> Submission:
    """Poll the submissions until ``ref`` is scored; its Submission (with the public score)."""
    session = session or connect()
    poll = POLL_SECONDS if poll is None else poll
    start = time.monotonic()
    while True:
        mine = next((s for s in submissions(slug, session=session) if s.ref == ref), None)
        waited = time.monotonic() - start
        if mine is not None and mine.status == "complete":
            return mine
        if mine is not None and mine.status == "error":
            raise KaggleApiError(f"Kaggle could not score submission {ref} to {slug}: "
                                 f"{mine.error or 'no reason given'}")
        if waited >= timeout:
            raise KaggleApiError(f"submission {ref} to {slug} is still not scored after "
                                 f"{waited:.0f}s; check later with `kagglekit submissions {slug}`")
        if on_poll:
            on_poll(mine, waited)
        time.sleep(max(0.0, min(poll, timeout - waited)))
