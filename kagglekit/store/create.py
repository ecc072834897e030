"""Making a run: a new run id, and the hidden temporary folder a run is built in.

A run is built in ``<root>/<slug>/.tmp-<run-id>/`` (``RunsFolder.run_temp``) and renamed
into place only when complete, so an interrupted or failed run leaves no run folder behind
(a CV or fit run's completed jobs are kept for resuming it: store/jobstore.py). The
temporary folder records its owner process, so that a dead process's one is recognised
as stale.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import re
import shutil
import uuid

from kagglekit.errors import KaggleKitError, RunError, os_error_line
from kagglekit.store.atomic import missing_ancestors, owner_record, remove_empty
from kagglekit.store.folder import RUN_FILE, RunsFolder

OWNER_FILE = ".owner.json"  # in a run's temporary folder: who builds it


def new_run_id(model: str) -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.+-]+", "-", model)[:40]
    return f"{stamp}-{safe}-{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def creating_run(runs_dir, slug: str, run_id: str):
    """Yield a temporary directory; on success rename it to <root>/<slug>/<run-id>.

    On any failure the temporary directory is removed, and so are the folders made for it
    (the root, <root>/<slug>/) when they are left empty: the runs folder is as it was. An
    OS error (disk full, read-only, file too large, ...) becomes one line naming the run.
    """
    folder = RunsFolder.of(runs_dir)
    parent = folder.competition(slug)
    created = missing_ancestors(parent)
    tmp = folder.run_temp(slug, run_id)
    owner = tmp / OWNER_FILE  # a dead owner's folder is stale (store/jobstore.py)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        owner.write_text(json.dumps(owner_record()))  # inside the temporary folder
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise KaggleKitError(os_error_line(exc, parent)) from None
    try:
        yield tmp
        if not (tmp / RUN_FILE).is_file():
            raise RunError(f"internal error: run {run_id} has no {RUN_FILE}")
        owner.unlink()
        os.rename(tmp, folder.run_dir(slug, run_id))
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise KaggleKitError(
            os_error_line(exc, folder.run_dir(slug, run_id), "writing the run; nothing was kept")
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        remove_empty(created)
        raise
