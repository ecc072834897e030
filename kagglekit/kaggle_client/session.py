"""The official client, imported without its import-time authentication; errors -> one line."""

from __future__ import annotations

import contextlib
import errno
import io
import re
import sys

from kagglekit.errors import KaggleKitError
from kagglekit.kaggle_client.credentials import (
    COMPETITION_URL,
    RULES_URL,
    SETTINGS_URL,
    Credentials,
    DiskFull,
    KaggleApiError,
    config_dir,
    find_credentials,
)

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
        raise KaggleApiError(
            "the official kaggle client is not installed; run: pip install 'kagglekit[kaggle]'"
        )
    version = metadata.version("kaggle")
    installed = "kaggle" not in sys.modules
    if installed:
        # The package object without its __init__ having run: submodules import from the
        # real folder. A later plain `import kaggle` in this process gets this object.
        package = importlib.util.module_from_spec(spec)
        package.__version__ = version  # type: ignore[attr-defined]  # a bare module object
        sys.modules["kaggle"] = package
    try:
        module = importlib.import_module("kaggle.api.kaggle_api_extended")
    except ImportError as exc:
        if installed:  # leave no half-imported package behind
            for name in [m for m in sys.modules if m == "kaggle" or m.startswith("kaggle.")]:
                sys.modules.pop(name, None)
        raise KaggleApiError(
            f"the installed kaggle client ({version}) cannot be imported "
            f"({exc}); run: pip install -U 'kagglekit[kaggle]'"
        ) from None
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
            raise KaggleApiError(
                f"the official kaggle client is not installed ({name} is "
                f"missing); run: pip install 'kagglekit[kaggle]'"
            )


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
                f"replace it"
            ) from None
    return session


@contextlib.contextmanager
def _translated(
    action: str, slug: str | None, credentials: Credentials | None, username: str | None = None
):
    """Client and network failures -> one KaggleKitError line (credentials redacted)."""
    import requests

    redact = credentials.redact if credentials else (lambda s: s)
    try:
        yield
    except KaggleKitError:
        raise
    except requests.exceptions.HTTPError as exc:
        raise KaggleApiError(
            redact(_http_message(exc, action, slug, credentials, username))
        ) from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise KaggleApiError(
            redact(_network_message(exc, f"{action} {slug}" if slug else action))
        ) from None
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
        return (
            f"Kaggle rejected the credentials from {source} (HTTP 401: bad username, key "
            f"or token) while {what}; create a new API token at {SETTINGS_URL} and replace "
            f"the old one"
        )
    if status == 403 and slug:
        who = f" while signed in as {username}" if username else ""
        return (
            f"Kaggle refused {what} (HTTP 403): you must accept the competition's rules "
            f"first at {RULES_URL.format(slug=slug)}{who}, then run this again"
        )
    if status == 404 and slug:
        return (
            f"Kaggle has no competition {slug!r} (HTTP 404 while {what}); check the name "
            f"at {COMPETITION_URL.format(slug=slug)}"
        )
    if status == 429:
        return f"Kaggle is rate-limiting requests (HTTP 429) while {what}; wait a minute and retry"
    if status is not None and status >= 500:
        return (
            f"Kaggle answered HTTP {status} while {what} (a problem on Kaggle's side); "
            f"try again later"
        )
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
    return (
        f"cannot reach Kaggle at {host} while {action} ({reason}): no network connection? "
        f"Check your connection or proxy and run this again"
    )


def _disk_full_message(filename, needed: int | None) -> str:
    where = f" while writing {filename}" if filename else ""
    need = f" (about {human_size(needed)} needed)" if needed else ""
    return (
        f"disk full{where}{need}: free some space or pass --data-dir on a disk with room; "
        f"nothing was kept"
    )


def human_size(n: int | None) -> str:
    """1234567 -> '1.2 MB'."""
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"
