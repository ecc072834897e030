"""``kagglekit runs`` as a leaderboard: CV scores beside the Kaggle scores of the
submissions made from each run, and how well CV predicts the leaderboard.

The account's submissions to a competition are cached in the runs folder
(``RunsFolder.submissions``: ``<root>/<slug>/.submissions.json``, written atomically) so
that the leaderboard works offline; only ``refresh`` talks to Kaggle. A submission belongs
to a run when ``submit --upload`` recorded its ref, or when its description names the run
id (submit's default message is ``kagglekit <run id>``).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from kagglekit.metrics import ranking_score
from kagglekit.store.atomic import read_json, write_json
from kagglekit.store.folder import RunsFolder
from kagglekit.store.run import Run

_RUN_ID = re.compile(r"\b(\d{8}-\d{6}-[A-Za-z0-9_.+()-]+?-[0-9a-f]{6})\b")


def cache_path(runs_dir, slug: str) -> Path:
    return RunsFolder.of(runs_dir).submissions(slug)


def read_cache(runs_dir, slug: str) -> dict:
    """{"fetched": ISO time or None, "submissions": [...], "uploads": {ref: run_id}}."""
    empty: dict[str, Any] = {"fetched": None, "submissions": [], "uploads": {}}
    path = cache_path(runs_dir, slug)
    if not path.is_file():
        return empty
    data = read_json(path)
    if not isinstance(data, dict):
        return {**empty, "damaged": str(path)}
    return {
        "fetched": data.get("fetched"),
        "submissions": [s for s in data.get("submissions") or [] if isinstance(s, dict)],
        "uploads": {str(k): str(v) for k, v in (data.get("uploads") or {}).items()},
    }


def write_cache(runs_dir, slug: str, cache: dict) -> Path:
    path = cache_path(runs_dir, slug)
    write_json(path, {k: cache.get(k) for k in ("fetched", "submissions", "uploads")})
    return path


def record_upload(runs_dir, slug: str, ref: int, run_id: str, message: str) -> None:
    """Remember which run a submission came from (called by ``submit --upload``)."""
    cache = read_cache(runs_dir, slug)
    cache["uploads"][str(ref)] = run_id
    if not any(str(s.get("ref")) == str(ref) for s in cache["submissions"]):
        cache["submissions"].insert(
            0,
            {
                "ref": ref,
                "date": _now(),
                "description": message,
                "status": "pending",
                "public_score": None,
                "private_score": None,
            },
        )
    write_cache(runs_dir, slug, cache)


def refresh(runs_dir, slug: str, session=None) -> dict:
    """Fetch the account's submissions to ``slug`` from Kaggle into the cache; the cache."""
    from kagglekit.kaggle_client.submit import submissions

    found = submissions(slug, session=session)
    cache = read_cache(runs_dir, slug)
    cache["submissions"] = [s.summary() for s in found]
    cache["fetched"] = _now()
    write_cache(runs_dir, slug, cache)
    return cache


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def submissions_by_run(cache: dict, run_ids) -> dict[str, list[dict]]:
    """{run_id: [submissions, newest first]} for the runs that have any."""
    run_ids = set(run_ids)
    out: dict[str, list[dict]] = {}
    for sub in cache.get("submissions") or []:
        run_id = cache.get("uploads", {}).get(str(sub.get("ref")))
        if run_id is None:
            description = str(sub.get("description") or "")
            run_id = next((m for m in _RUN_ID.findall(description) if m in run_ids), None)
            if run_id is None:
                run_id = next((r for r in run_ids if r in description), None)
        if run_id in run_ids:
            out.setdefault(run_id, []).append(sub)
    return out


def _lb_scores(subs: list[dict]) -> dict:
    """The newest scored submission's public/private scores, and how many there are."""
    scored = [s for s in subs if s.get("public_score") is not None]
    best = scored[0] if scored else None
    return {
        "submissions": len(subs),
        "public": None if best is None else best.get("public_score"),
        "private": None if best is None else best.get("private_score"),
        "ref": None if best is None else best.get("ref"),
        "pending": sum(1 for s in subs if s.get("status") == "pending"),
    }


def differing_params(runs: list[Run]) -> dict[str, dict]:
    """{run_id: {param: value}} of the params whose values differ between runs of a model."""
    by_model: dict[str, list[Run]] = {}
    for run in runs:
        by_model.setdefault(run.model, []).append(run)
    out = {}
    for group in by_model.values():
        keys = sorted({k for r in group for k in (r.info.get("params") or {})})
        varying = [
            k
            for k in keys
            if len(
                {
                    json.dumps((r.info.get("params") or {}).get(k), sort_keys=True, default=str)
                    for r in group
                }
            )
            > 1
        ]
        for run in group:
            params = run.info.get("params") or {}
            out[run.id] = {k: params.get(k) for k in varying}
    return out


def data_label(info: dict) -> str:
    """What a run trained on besides the competition's own files: a generated sample, or
    pseudo-labelled test rows (and from which run)."""
    pseudo = info.get("pseudo")
    parts = ["generated sample"] if info.get("sample") else []
    if isinstance(pseudo, dict):
        parts.append(f"+{pseudo.get('n_pseudo')} pseudo-labelled (run {pseudo.get('source_run')})")
    members = info.get("pseudo_members")
    if isinstance(members, dict) and members:
        parts.append(
            "members with pseudo-labelled rows: "
            + ", ".join(f"{run} (+{n})" for run, n in members.items())
        )
    return ", ".join(parts)


def seeds(info: dict):
    value = info.get("seeds")
    if isinstance(value, list):
        return len(value)
    return 1 if info.get("seed") is not None else None


def rows(runs: list[Run], cache: dict, metric: str) -> list[dict]:
    """One leaderboard row per run of one competition."""
    matched = submissions_by_run(cache, [r.id for r in runs])
    params = differing_params(runs)
    out = []
    for run in runs:
        info = run.info
        lb = _lb_scores(matched.get(run.id, []))
        out.append(
            {
                "run": run.id,
                "kind": run.kind,
                "model": run.model,
                "data": data_label(info),
                "folds": info.get("n_folds"),
                "seeds": seeds(info),
                "cv": ranking_score(info, metric),
                "cv_all_rows": (info.get("scores") or {}).get(metric),
                "spread": (info.get("fold_spread") or {}).get(metric),
                "held_out": info.get("held_out", run.kind != "fit"),
                "params": params.get(run.id, {}),
                "seconds": info.get("seconds"),
                "public": lb["public"],
                "private": lb["private"],
                "submissions": lb["submissions"],
                "pending": lb["pending"],
                "created": info.get("created"),
                "matched": [
                    {
                        k: sub.get(k)
                        for k in (
                            "ref",
                            "date",
                            "status",
                            "public_score",
                            "private_score",
                            "description",
                        )
                    }
                    for sub in matched.get(run.id, [])
                ],
            }
        )
    return out


def cv_lb_correlation(table: list[dict]) -> dict:
    """Pearson and Spearman correlation of CV against public LB, one point per held-out run
    on the real data with a scored submission (its newest); None below 3 of them."""
    from scipy.stats import pearsonr, spearmanr

    pairs = [
        (r["cv"], r["public"])
        for r in table
        if r["cv"] is not None and r["public"] is not None and r["held_out"] and not r["data"]
    ]
    out: dict[str, Any] = {"n": len(pairs), "pearson": None, "spearman": None}
    if len(pairs) >= 3:
        cv, lb = np.array(pairs, dtype=float).T
        if np.ptp(cv) > 0 and np.ptp(lb) > 0:
            out["pearson"] = round(float(pearsonr(cv, lb)[0]), 4)
            out["spearman"] = round(float(spearmanr(cv, lb)[0]), 4)
    return out


def short_ids(ids, known=(), longest: int = 32, shortest: int = 24) -> dict[str, str]:
    """{run id: how the table shows it}: an id of up to ``longest`` characters as it is, a
    longer one (a blend's names its members) as its shortest prefix of at least ``shortest``
    characters that no other ``known`` id starts with, then "…". Commands take a unique
    prefix for RUN, so what is shown (without the "…") still names the run."""
    everyone = set(ids) | set(known)
    out = {}
    for run_id in ids:
        if len(run_id) <= longest:
            out[run_id] = run_id
            continue
        others = [o for o in everyone if o != run_id]
        n = shortest
        while n < len(run_id) and any(o.startswith(run_id[:n]) for o in others):
            n += 1
        out[run_id] = run_id if n >= len(run_id) - 1 else run_id[:n] + "…"
    return out


def format_params(params: dict, width: int = 60) -> str:
    text = ", ".join(f"{k}={v}" for k, v in params.items())
    return text if len(text) <= width else text[: width - 3] + "..."


def format_seconds(value) -> str:
    if value is None:
        return ""
    value = float(value)
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(round(value)), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
