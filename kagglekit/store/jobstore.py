"""Where a run's jobs live until the run is assembled: an incomplete run.

    <root>/<slug>/.jobs-<job-set hash>/       (RunsFolder.job_store)
      plan.json            the run id, what is computed (jobs), the command that started it
      owner.json           the driver now working on it: pid, host, process start (heartbeat)
      jobs/<job-id>/       a completed job: record.json, oof.npy, test.npy, model/, logs/
      jobs/.tmp-<job-id>-<token>/   a job in progress (owner.json inside)

Re-running the same command finds the folder by its job-set hash and reuses every
completed job. Only the driver writes here: a job's scratch folder becomes
``jobs/<job-id>`` by one rename, after its completion record is written into it. A
folder (or a run's ``.tmp-*`` assembly folder) whose owner process is dead is stale
(owner records: store/atomic.py).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

from kagglekit.errors import KaggleKitError, os_error_line
from kagglekit.store.atomic import (
    Heartbeat,
    folder_owner_alive,
    missing_ancestors,
    owner_alive,
    owner_record,
    read_json,
    remove_empty,
    write_json,
)
from kagglekit.store.create import OWNER_FILE as RUN_OWNER
from kagglekit.store.folder import RUN_FILE, TMP_PREFIX, RunsFolder

OWNER = "owner.json"
PLAN = "plan.json"


class JobStore:
    """The incomplete run of a job set (see the module docstring)."""

    created: list[Path]  # set by open(): the folders made for the store, removed with it

    def __init__(self, path: Path):
        self.path = Path(path)
        self.jobs_dir = self.path / "jobs"
        self.plan = read_json(self.path / PLAN) or {}
        self._heartbeat = None

    @property
    def run_id(self) -> str:
        return self.plan["run_id"]

    # -- opening, owning ------------------------------------------------------------------------
    @classmethod
    def open(cls, runs_dir, slug: str, jobset: str, plan: dict) -> JobStore:
        """The incomplete run for ``jobset`` of competition ``slug`` in a runs folder (a
        RunsFolder or its root; created when new), owned by us."""
        folder = RunsFolder.of(runs_dir)
        parent = folder.competition(slug)
        created = missing_ancestors(parent)  # removed again if nothing is ever kept
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            remove_empty(created)
            raise KaggleKitError(os_error_line(exc, parent)) from None
        clean_stale_temp(folder, slug)
        path = folder.job_store(slug, jobset)
        if path.is_dir() and read_json(path / PLAN) is None and not folder_owner_alive(path):
            shutil.rmtree(path, ignore_errors=True)  # damaged (no readable plan): start afresh
        if not (path / PLAN).is_file():
            tmp = folder.job_store_temp(slug, jobset)
            (tmp / "jobs").mkdir(parents=True)
            write_json(tmp / OWNER, owner_record())
            write_json(tmp / PLAN, {**plan, "jobset": jobset, "attempts": 0})
            try:
                os.rename(tmp, path)
            except OSError:  # another process created it first
                shutil.rmtree(tmp, ignore_errors=True)
        store = cls(path)
        store.created = created
        store.claim()
        return store

    def claim(self) -> None:
        owner_file = self.path / OWNER
        owner = read_json(owner_file)
        if owner and owner.get("pid") != os.getpid() and owner_alive(owner, owner_file):
            raise KaggleKitError(
                f"run {self.plan.get('run_id')} is being computed by process {owner['pid']} on "
                f"{owner['host']} ({self.path}); wait for it to finish or stop it first"
            )
        self.plan["attempts"] = int(self.plan.get("attempts", 0)) + 1
        write_json(self.path / PLAN, self.plan)
        write_json(owner_file, owner_record(attempt=self.plan["attempts"]))
        self._clean_scratch()
        self._heartbeat = Heartbeat(owner_file).start()

    @property
    def attempt(self) -> int:
        return int(self.plan.get("attempts", 1))

    def release(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        (self.path / OWNER).unlink(missing_ok=True)

    def remove(self) -> None:
        """Remove the incomplete run, and the folders made for it when now empty."""
        self.release()
        shutil.rmtree(self.path, ignore_errors=True)
        remove_empty(getattr(self, "created", []))

    def assembled_run(self) -> Path | None:
        """The finished run folder assembled from these jobs earlier, if it still exists."""
        run_id = self.plan.get("assembled")
        path = self.path.parent / run_id if run_id else None
        return path if path is not None and (path / RUN_FILE).is_file() else None

    def finish(self, run_id: str, keep: bool = False) -> None:
        """After assembly: remove the jobs, or (``keep``: a command with more runs to make)
        mark them assembled so that re-running the command reuses the finished run."""
        if not keep:
            self.remove()
            return
        self.plan["assembled"] = run_id
        write_json(self.path / PLAN, self.plan)
        self.release()

    def _clean_scratch(self) -> None:
        for scratch in self.jobs_dir.glob(f"{TMP_PREFIX}*"):
            if not folder_owner_alive(scratch):
                shutil.rmtree(scratch, ignore_errors=True)

    # -- jobs -----------------------------------------------------------------------------------
    def job_dir(self, job) -> Path:
        return self.jobs_dir / job.id

    def record(self, job) -> dict | None:
        return read_json(self.job_dir(job) / "record.json")

    def completed(self, jobs) -> dict:
        """job id -> completion record, for the jobs already done."""
        out = {}
        for job in jobs:
            record = self.record(job)
            if record is not None and record.get("job") == job.id:
                out[job.id] = record
        return out

    def scratch(self, job) -> Path:
        """A new, private folder for one attempt at a job."""
        path = self.jobs_dir / f"{TMP_PREFIX}{job.id}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        write_json(path / OWNER, owner_record(job=job.id))
        return path

    def commit(self, job, scratch: Path, record: dict) -> None:
        """Make a finished scratch folder the job's completed folder (one rename)."""
        scratch = Path(scratch)
        (scratch / OWNER).unlink(missing_ok=True)
        write_json(scratch / "record.json", {**record, "attempt": self.attempt})
        target = self.job_dir(job)
        if target.exists():  # completed meanwhile (cannot happen with one driver): keep it
            shutil.rmtree(scratch, ignore_errors=True)
            return
        os.rename(scratch, target)


def finished_run(runs_dir, slug: str, jobs, kind: str, data_dir, **same) -> Path | None:
    """The newest finished run folder of competition ``slug`` assembled from exactly
    ``jobs`` (same job ids: data, text preparation, folds, model, params, seeds, version),
    of ``kind``, on the files in ``data_dir``, whose run.json also has the values ``same``
    (a fit's threshold, which is not part of its jobs); None when there is none."""
    wanted = sorted(j.id for j in jobs)
    data_dir = str(Path(data_dir).resolve())
    found = []
    for run_dir in RunsFolder.of(runs_dir).run_dirs(slug):
        path = run_dir / RUN_FILE
        info = read_json(path)
        if (
            not isinstance(info, dict)
            or info.get("kind") != kind
            or info.get("data_dir") != data_dir
        ):
            continue
        listed = info["jobs"].get("list") if isinstance(info.get("jobs"), dict) else None
        if (
            not isinstance(listed, list)
            or sorted(str(j.get("id")) if isinstance(j, dict) else "" for j in listed) != wanted
        ):
            continue
        if all(info.get(key) == value for key, value in same.items()):
            found.append((str(info.get("created") or ""), path.parent.name, path.parent))
    return max(found)[2] if found else None


# -- what `kagglekit runs` shows and `--clean` removes ------------------------------------------
def incomplete_runs(runs_dir, slug: str | None = None) -> list[dict]:
    out = []
    for path in RunsFolder.of(runs_dir).job_stores(slug):
        plan = read_json(path / PLAN)
        if plan is None or plan.get("assembled"):
            continue
        ids = {j["id"] for j in plan.get("jobs", [])}
        done = sum(1 for j in ids if (path / "jobs" / j / "record.json").is_file())
        alive = folder_owner_alive(path)
        out.append(
            {
                "run_id": plan.get("run_id"),
                "competition": plan.get("competition"),
                "model": plan.get("model"),
                "kind": plan.get("kind"),
                "path": str(path),
                "jobs_done": done,
                "jobs_total": len(ids),
                "state": "running" if alive else "stopped",
                "resume": plan.get("resume_command"),
            }
        )
    return out


def forget_assembled(runs_dir, run_ids) -> None:
    """Remove the jobs kept for the finished runs ``run_ids`` (see ``JobStore.finish``)."""
    run_ids = set(run_ids)
    for path in RunsFolder.of(runs_dir).job_stores():
        plan = read_json(path / PLAN)
        if plan and plan.get("assembled") in run_ids and not folder_owner_alive(path):
            shutil.rmtree(path, ignore_errors=True)


def stale_temp_dirs(runs_dir, slug: str, min_age_s: float = 3600.0) -> list[Path]:
    """``.tmp-*`` folders in a competition's runs folder whose owner process is dead
    (ownerless ones, left by older versions, once they are ``min_age_s`` old)."""
    out = []
    now = time.time()
    for path in RunsFolder.of(runs_dir).temporaries(slug):
        if not path.is_dir():
            continue
        owner_file = path / OWNER if (path / OWNER).exists() else path / RUN_OWNER
        owner = read_json(owner_file)
        if owner is None:
            try:
                if now - path.stat().st_mtime > min_age_s:
                    out.append(path)
            except OSError:
                pass
        elif not owner_alive(owner, owner_file):
            out.append(path)
    return out


def clean_stale_temp(runs_dir, slug: str) -> list[Path]:
    removed = []
    for path in stale_temp_dirs(runs_dir, slug, min_age_s=float("inf")):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def dead_incomplete(runs_dir, slug: str | None = None) -> list[Path]:
    """What ``kagglekit runs --clean`` removes: stopped incomplete runs and stale temp folders."""
    folder = RunsFolder.of(runs_dir)
    out = [Path(r["path"]) for r in incomplete_runs(folder, slug) if r["state"] != "running"]
    for slug_dir in folder.competitions():
        if not slug or slug_dir.name == slug:
            out += stale_temp_dirs(folder, slug_dir.name)
            out += [
                p
                for p in folder.job_stores(slug_dir.name)  # kept after assembly
                if (read_json(p / PLAN) or {}).get("assembled") and not folder_owner_alive(p)
            ]
    return out
