"""Push a package (dataset + notebook) and submit a notebook version to a code competition.

The client calls: ``dataset_status`` (does the dataset exist?), ``dataset_create_new`` or
``dataset_create_version`` (folders uploaded zipped, ``dir_mode="zip"``; Kaggle unpacks
them), ``kernels_push`` (saves and runs a new notebook version), ``kernels_status`` (until
that version has run) and ``competition_submit_code`` (kernel slug + version: Kaggle
reruns it on the hidden test set and scores its submission.csv). Every call goes through
the session's error translation, so a failure is one line.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kagglekit.kaggle_client.credentials import KaggleApiError
from kagglekit.kaggle_client.session import KaggleSession, connect
from kagglekit.kaggle_client.submit import submission_ref
from kagglekit.store.atomic import write_json
from kagglekit.store.folder import RunsFolder

KERNEL_URL = "https://www.kaggle.com/code/{kernel}"


@dataclass
class PushedKernel:
    """What `package --push` pushed for a run: the notebook version to submit."""

    run_id: str
    competition: str
    kernel: str  # owner/slug
    version: int | None
    dataset: str
    url: str = ""
    pushed_at: str = ""

    def summary(self) -> dict:
        return dict(self.__dict__)


def _poll_seconds() -> float:
    from kagglekit.kaggle_client import submit

    return submit.POLL_SECONDS  # one setting for every wait (tests set it to 0)


def save_record(runs_dir, pushed: PushedKernel) -> Path:
    """Save what was pushed for a run in the runs folder (``RunsFolder.kernel_record``)."""
    path = RunsFolder.of(runs_dir).kernel_record(pushed.run_id)
    write_json(path, pushed.summary())
    return path


def load_record(runs_dir, run_id: str) -> PushedKernel | None:
    path = RunsFolder.of(runs_dir).kernel_record(run_id)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PushedKernel(**{k: data[k] for k in PushedKernel.__dataclass_fields__ if k in data})
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise KaggleApiError(
            f"{path}: damaged ({exc}); push the package again with "
            f"`kagglekit package {run_id} --push`"
        ) from None


# ---------------------------------------------------------------- push


def _status_name(value) -> str:
    return str(getattr(value, "name", value) or "").lower()


def push_dataset(
    folder: Path,
    message: str,
    *,
    session: KaggleSession,
    poll: float | None = None,
    timeout: float = 1800.0,
    on_poll: Callable[[str, float], None] | None = None,
) -> tuple[str, bool]:
    """Create the dataset in ``folder`` (dataset-metadata.json), or a new version of it when
    it exists; wait until Kaggle has processed it. (dataset ref, created)."""
    from requests.exceptions import HTTPError

    ref = json.loads((Path(folder) / "dataset-metadata.json").read_text("utf-8"))["id"]
    api = session.api
    with session.errors(f"checking the dataset {ref}"), session.captured():
        try:
            api.dataset_status(ref)
            exists = True
        except HTTPError as exc:
            if getattr(exc.response, "status_code", None) != 404:
                raise
            exists = False
    action = (
        f"uploading a new version of the dataset {ref}" if exists else f"creating the dataset {ref}"
    )
    with session.errors(action), session.captured():
        if exists:
            response = api.dataset_create_version(str(folder), message, quiet=True, dir_mode="zip")
        else:
            response = api.dataset_create_new(str(folder), public=False, quiet=True, dir_mode="zip")
    error = getattr(response, "error", None)
    if error:
        raise KaggleApiError(session.credentials.redact(f"Kaggle refused {action}: {error}"))
    _wait_for_dataset(ref, session, _poll_seconds() if poll is None else poll, timeout, on_poll)
    return ref, not exists


def _wait_for_dataset(ref, session, poll, timeout, on_poll) -> None:
    start = time.monotonic()
    while True:
        with session.errors(f"checking the dataset {ref}"), session.captured():
            status = _status_name(session.api.dataset_status(ref))
        waited = time.monotonic() - start
        if status == "ready":
            return
        if status in ("failed", "deleted"):
            raise KaggleApiError(
                f"Kaggle could not process the dataset {ref} ({status}); "
                f"see https://www.kaggle.com/datasets/{ref} and push again"
            )
        if waited >= timeout:
            raise KaggleApiError(
                f"the dataset {ref} is still {status or 'processing'} after "
                f"{waited:.0f}s; push the notebook later with `kagglekit "
                f"package ... --push`"
            )
        if on_poll:
            on_poll(status, waited)
        time.sleep(max(0.0, min(poll, timeout - waited)))


def push_kernel(folder: Path, *, session: KaggleSession) -> tuple[str, int | None, str]:
    """Push the notebook in ``folder`` (kernel-metadata.json): (kernel ref, version, url)."""
    kernel = json.loads((Path(folder) / "kernel-metadata.json").read_text("utf-8"))["id"]
    with session.errors(f"pushing the notebook {kernel}"), session.captured():
        response = session.api.kernels_push(str(folder))
    error = getattr(response, "error", None)
    if error:
        raise KaggleApiError(
            session.credentials.redact(f"Kaggle refused the notebook {kernel}: {error}")
        )
    bad = [
        *getattr(response, "invalid_dataset_sources", []),
        *getattr(response, "invalid_competition_sources", []),
    ]
    if bad:
        raise KaggleApiError(
            f"Kaggle refused the notebook {kernel}'s inputs {', '.join(bad)}: "
            f"accept the competition's rules and check the dataset exists"
        )
    # the metadata's id is the notebook's ref: its title slugifies to the same slug
    url = getattr(response, "url", "") or KERNEL_URL.format(kernel=kernel)
    return kernel, getattr(response, "version_number", None), url


def push_package(
    package,
    message: str,
    runs_dir,
    *,
    session: KaggleSession | None = None,
    poll: float | None = None,
    timeout: float = 1800.0,
    on_progress: Callable[[str], None] | None = None,
) -> PushedKernel:
    """Push a built package (kagglekit.package.Package): dataset, then notebook; the record
    `submit --upload` reads is saved in the runs folder (``RunsFolder.kernel_record``)."""
    say = on_progress or (lambda message: None)
    session = session or connect()
    say(f"uploading the dataset {package.dataset} ...")
    ref, created = push_dataset(
        package.dataset_dir,
        message,
        session=session,
        poll=poll,
        timeout=timeout,
        on_poll=lambda s, w: say(f"  dataset {s or 'processing'} after {w:.0f}s"),
    )
    say(f"{'created' if created else 'new version of'} the dataset {ref}")
    kernel, version, url = push_kernel(package.kernel_dir, session=session)
    say(f"pushed the notebook {kernel} (version {version}): {url}")
    pushed = PushedKernel(
        run_id=package.runs[0],
        competition=package.competition,
        kernel=kernel,
        version=version,
        dataset=ref,
        url=url,
        pushed_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    save_record(runs_dir, pushed)
    return pushed


# ---------------------------------------------------------------- submit


def wait_for_kernel(
    pushed: PushedKernel,
    *,
    session: KaggleSession,
    poll: float | None = None,
    timeout: float = 1800.0,
    on_poll: Callable[[str, float], None] | None = None,
) -> None:
    """Wait until the pushed notebook version has run; one line if it failed."""
    poll = _poll_seconds() if poll is None else poll
    start = time.monotonic()
    while True:
        with session.errors(f"checking the notebook {pushed.kernel}"), session.captured():
            response = session.api.kernels_status(pushed.kernel)
        status = _status_name(getattr(response, "status", ""))
        waited = time.monotonic() - start
        if status == "complete":
            return
        if status in ("error", "cancel_requested", "cancel_acknowledged"):
            said = getattr(response, "failure_message", "") or "no reason given"
            raise KaggleApiError(
                f"the notebook {pushed.kernel} (version {pushed.version}) "
                f"failed on Kaggle ({status}: {said}); read its log at "
                f"{pushed.url or KERNEL_URL.format(kernel=pushed.kernel)}"
            )
        if waited >= timeout:
            raise KaggleApiError(
                f"the notebook {pushed.kernel} is still {status} after "
                f"{waited:.0f}s; submit later with `kagglekit submit "
                f"{pushed.run_id} --upload`"
            )
        if on_poll:
            on_poll(status, waited)
        time.sleep(max(0.0, min(poll, timeout - waited)))


def submit_kernel(
    pushed: PushedKernel,
    message: str,
    *,
    session: KaggleSession,
    output_file: str = "submission.csv",
) -> int:
    """Submit the pushed notebook version to its code competition; the submission's ref."""
    slug = pushed.competition
    with session.errors("submitting a notebook to", slug), session.captured():
        response = session.api.competition_submit_code(
            output_file,
            message,
            slug,
            kernel=pushed.kernel,
            kernel_version=pushed.version,
            quiet=True,
        )
    return submission_ref(
        response,
        session,
        f"submitting the notebook {pushed.kernel} (version {pushed.version}) to {slug}",
    )


def pushed_for(run) -> PushedKernel | None:
    """The notebook pushed for a run (its record in the run's runs folder)."""
    return load_record(RunsFolder.of_run(run.path), run.id)


def submit_pushed(
    run,
    message: str,
    *,
    session: KaggleSession,
    timeout: float = 1800.0,
    poll: float | None = None,
    on_poll: Callable[[str, float], None] | None = None,
) -> tuple[int, PushedKernel]:
    """Wait for the run's pushed notebook version to finish, then submit it: (ref, record)."""
    pushed = pushed_for(run)
    if pushed is None:
        raise KaggleApiError(
            f"run {run.id} has no pushed notebook; run `kagglekit package {run.id} --push` first"
        )
    wait_for_kernel(pushed, session=session, poll=poll, timeout=timeout, on_poll=on_poll)
    return submit_kernel(pushed, message, session=session), pushed
