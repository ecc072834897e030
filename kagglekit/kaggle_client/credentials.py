"""Kaggle credentials: found where the official client looks, never printed; the errors."""

from __future__ import annotations

import base64
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kagglekit.errors import KaggleKitError

SETTINGS_URL = "https://www.kaggle.com/settings"
COMPETITION_URL = "https://www.kaggle.com/competitions/{slug}"
RULES_URL = "https://www.kaggle.com/competitions/{slug}/rules"


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
    return (
        f"no Kaggle credentials found: create an API token at {SETTINGS_URL} "
        f"(API > Create New Token) and save the downloaded kaggle.json as {where} "
        f"(chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY, or KAGGLE_API_TOKEN"
    )


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
        missing = (
            'KAGGLE_KEY (or "key" in kaggle.json)'
            if user
            else 'KAGGLE_USERNAME (or "username" in kaggle.json)'
        )
        problem = problem or (
            f"incomplete Kaggle credentials: {missing} is missing; "
            f"{_no_credentials_message().split(': ', 1)[1]}"
        )
    oauth = Path(os.path.expanduser("~/.kaggle/credentials.json"))
    saved, _ = _read_kaggle_json(oauth)
    if saved.get("refresh_token"):
        secrets = tuple(str(saved[k]) for k in ("refresh_token", "access_token") if saved.get(k))
        found.append(
            Credentials("oauth", str(oauth), username=saved.get("username"), secrets=secrets)
        )
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
        return {}, f'{file} must hold {{"username": ..., "key": ...}}; {fix}'
    return values, None
