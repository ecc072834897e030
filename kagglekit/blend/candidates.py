"""``blend --top K``: a blend's members picked among many runs by their held-out scores.

The runs are ordered by the one ranking policy (``store.ranking.ranked``: the nested
figure of a thresholded metric, held-out runs first). Only runs that can be blended with
the best one are candidates: cv or blend runs of the same competition, with test
predictions, on the same training rows and folds (``folds_hash``) and the same
held-out-ness; identical predictions count once. The first K of those are the members.
Choosing members by their CV scores is a selection, so the blend's own score is nested
in the folds as always, and the members' scores are reported beside it.
"""

from __future__ import annotations

from kagglekit.errors import KaggleKitError


def top_candidates(runs, metric: str, k: int) -> tuple[list, dict]:
    """(the K best blendable runs, best first; {reason: count} of the runs left out)."""
    from kagglekit.store.ranking import ranked

    if k < 2:
        raise KaggleKitError(f"--top {k}: a blend needs at least 2 members")
    usable = [r for r in runs if r.kind in ("cv", "blend") and r.scores]
    ordered = ranked(usable, metric)
    if not ordered:
        raise KaggleKitError("no scored cv or blend run to choose --top members from")
    best = ordered[0]
    chosen, seen = [best], {_predictions_key(best)}
    left_out: dict[str, int] = {}  # why -> how many runs
    for run in ordered[1:]:
        why = _why_not(best, run)
        if why is None:
            key = _predictions_key(run)
            why = "identical predictions to a chosen run" if key in seen else None
            seen.add(key)
        if why is not None:
            left_out[why] = left_out.get(why, 0) + 1
        elif len(chosen) < k:
            chosen.append(run)
    if len(chosen) < 2:
        reasons = "; ".join(f"{n} {why}" for why, n in left_out.items()) or "no other run"
        raise KaggleKitError(f"--top {k}: only the best run ({best.id}) can be blended ({reasons})")
    return chosen, left_out


def _why_not(best, run) -> str | None:
    if run.competition != best.competition:
        return "of another competition"
    if not (run.path / "test_predictions.csv").is_file():
        return "without test predictions"
    if run.info.get("folds_hash") != best.info.get("folds_hash"):
        return "on other folds or rows"
    if run.info.get("n_train") != best.info.get("n_train"):
        return "on other training rows"
    if run.held_out != best.held_out:
        return "held out differently"
    return None


def _predictions_key(run) -> tuple:
    import hashlib

    digest = hashlib.sha256((run.path / "oof.csv").read_bytes()).hexdigest()
    return (digest,)
