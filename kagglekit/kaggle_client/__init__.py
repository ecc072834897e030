"""Fetch competition files and upload submissions through the official ``kaggle`` client.

Named ``kaggle_client`` rather than ``kaggle`` so that it can never shadow the official
package for code that imports both. Modules: ``credentials`` (where the client looks,
the errors), ``session`` (the client imported safely, errors -> one line), ``fetch``
(download + unzip into the data root), ``submit`` (upload, list, wait for a score).

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

import re
from typing import TYPE_CHECKING

from kagglekit.errors import UnknownName

if TYPE_CHECKING:
    from kagglekit.competition import Competition

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{2,}$")


def resolve_slug(name: str) -> tuple[str, Competition | None]:
    """(Kaggle slug, Competition or None): a registered name or alias, else a bare Kaggle slug."""
    try:
        from kagglekit import plugins

        comp = plugins.get_competition(name)
        return comp.slug, comp
    except UnknownName:
        if not _SLUG.match(name):
            raise
        return name, None
