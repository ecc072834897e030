"""Upload a submission, list submissions, wait for a score; Kaggle notebooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kagglekit.kaggle_client.credentials import COMPETITION_URL, CodeCompetition, KaggleApiError
from kagglekit.kaggle_client.session import KaggleSession, connect

KAGGLE_WORKING = Path("/kaggle/working")  # a Kaggle notebook's output folder (patched in tests)
POLL_SECONDS = 10.0


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
    def from_api(cls, s) -> Submission:
        date = s.date.isoformat(timespec="seconds") if getattr(s, "date", None) else None
        status = getattr(getattr(s, "status", None), "name", str(getattr(s, "status", ""))).lower()
        return cls(
            ref=int(s.ref or 0),
            date=date,
            description=s.description or "",
            file_name=s.file_name or "",
            status=status,
            public_score=_score(s.public_score),
            private_score=_score(s.private_score),
            error=s.error_description or None,
        )

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
    return (
        f"{slug} is a code competition: Kaggle accepts its submissions only from a "
        f"notebook, so the file cannot be uploaded from here; run kagglekit inside a Kaggle "
        f"notebook (submit then writes {notebook_submission_path()}) and submit that "
        f"notebook from {COMPETITION_URL.format(slug=slug)}"
    )


def upload(
    slug: str,
    path: Path,
    message: str,
    *,
    code_competition: bool = False,
    session: KaggleSession | None = None,
) -> int:
    """Send a validated submission file with the client's competition submit; its ref."""
    if code_competition:
        raise CodeCompetition(code_competition_message(slug))
    session = session or connect()
    with session.errors("uploading a submission to", slug), session.captured():
        response = session.api.competition_submit(str(path), message, slug, quiet=True)
    return submission_ref(response, session, f"uploading {path} to {slug}")


def submission_ref(response, session: KaggleSession, what: str) -> int:
    """The ref of a submission the client made, or one line saying why there is none."""
    ref = int(getattr(response, "ref", 0) or 0)
    if not ref:
        said = "; ".join([*session.notes[-2:], getattr(response, "message", "") or ""])
        raise KaggleApiError(
            session.credentials.redact(
                f"{what} failed ({said.strip('; ') or 'no reason given'}); run this again"
            )
        )
    return ref


def submissions(
    slug: str, *, session: KaggleSession | None = None, page_size: int = 50
) -> list[Submission]:
    """The account's submissions to a competition, newest first."""
    session = session or connect()
    with session.errors("listing the submissions to", slug), session.captured():
        found = session.api.competition_submissions(slug, page_size=page_size) or []
    return [Submission.from_api(s) for s in found if s is not None]


def wait_for_score(
    slug: str,
    ref: int,
    *,
    timeout: float = 1800.0,
    poll: float | None = None,
    session: KaggleSession | None = None,
    on_poll: Callable[[Submission | None, float], None] | None = None,
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
            raise KaggleApiError(
                f"Kaggle could not score submission {ref} to {slug}: "
                f"{mine.error or 'no reason given'}"
            )
        if waited >= timeout:
            raise KaggleApiError(
                f"submission {ref} to {slug} is still not scored after "
                f"{waited:.0f}s; check later with `kagglekit submissions {slug}`"
            )
        if on_poll:
            on_poll(mine, waited)
        time.sleep(max(0.0, min(poll, timeout - waited)))
