"""The blend run: member runs -> blended OOF and test predictions -> threshold chosen on the
blend's OOF -> scores -> a run of kind "blend", written atomically like any run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from kagglekit.blend.members import BlendData, id_column, load_members
from kagglekit.blend.methods import META_MODELS, BlendContext, get_method
from kagglekit.blend.nested import BlendResult, blend_arrays
from kagglekit.blend.state import save_blenders
from kagglekit.errors import KaggleKitError
from kagglekit.metrics import best_threshold, score_all, score_oof, thresholded_metric
from kagglekit.store.atomic import write_json
from kagglekit.store.create import creating_run, new_run_id
from kagglekit.store.folder import DEFAULT_ROOT, RUN_FILE, RunsFolder
from kagglekit.store.record import record
from kagglekit.store.run import Run, list_runs, predictions_frame


def create_blend(
    runs: list[Run],
    method: str,
    runs_dir: RunsFolder | Path = DEFAULT_ROOT,
    *,
    data_dir=None,
    objective: str | None = None,
    meta_model: str = "logistic",
    seed: int | None = None,
) -> Run:
    """Blend finished runs into a new run of kind "blend"; returns it."""
    from kagglekit import plugins

    cls = get_method(method)
    if meta_model not in META_MODELS:
        raise KaggleKitError(
            f"unknown meta-model {meta_model!r}; choose one of {', '.join(META_MODELS)}"
        )
    data = load_members(runs, data_dir)
    comp = data.comp
    objective = objective or comp.metric
    metric = plugins.get_metric(objective)
    unique = data.unique
    seed = int(runs[0].info.get("seed", 42)) if seed is None else seed
    # oof.csv holds 7 significant digits: round the thresholds alike, so that each member
    # votes as its run decided (p >= t <=> round(p) >= round(t), but for p next to t)
    thresholds = tuple(float(f"{m.run.threshold:.7g}") for m in unique)
    context = BlendContext(metric=metric, thresholds=thresholds, meta_model=meta_model, seed=seed)
    result = blend_arrays(
        method,
        np.stack([m.oof for m in unique]),
        data.y,
        data.folds,
        # test_ids is set when every member has test predictions (load_members checks)
        None if data.test_ids is None else np.stack([m.test for m in unique if m.test is not None]),
        context,
    )
    # threshold and scores from the values as oof.csv keeps them, so that re-scoring the
    # saved files gives the same numbers (and float noise cannot split tied ranks)
    result.oof = as_saved(result.oof)
    result.test = None if result.test is None else as_saved(result.test)
    result.in_sample = None if result.in_sample is None else as_saved(result.in_sample)

    scored = score_oof(comp, data.y, result.oof, data.folds)
    fold_scores = [
        {"fold": k, "n_valid": int((data.folds == k).sum()), **s}
        for k, s in scored.fold_scores.items()
    ]
    columns = list(data.members[0].run.target_columns)
    rows = member_rows(data, result, columns, comp)
    names = list(dict.fromkeys(m.run.model for m in unique))
    model_name = f"{method}({'+'.join(names)})"
    first = runs[0].info
    reasons = sorted(
        {
            f"member {m.run.id}: {why}"
            for m in data.members
            for why in m.run.info.get(
                "not_held_out_because", [] if m.run.info.get("held_out", True) else ["not held out"]
            )
        }
    )
    pseudo = {
        m.run.id: m.run.info["pseudo"].get("n_pseudo")
        for m in data.members
        if isinstance(m.run.info.get("pseudo"), dict)
    }  # shown by `kagglekit runs`
    info = record(
        "blend",
        comp,
        model_name,
        {
            "method": method,
            "objective": objective if method == "weighted" else None,
            "meta_model": meta_model if method == "stack" else None,
        },
        seed,
        data_dir=data.data_dir,
        sample=any(m.run.info.get("sample", False) for m in data.members),
        prepared_text=first.get("prepared_text", True),
        text_columns=first.get("text_columns", comp.text_columns),
        encoding=first.get("encoding", "utf-8"),
        allow_empty_text=first.get("allow_empty_text", False),
        n_train=len(data.ids),
        n_test=0 if data.test_ids is None else len(data.test_ids),
        competition_params=first.get("competition_params"),
        id_column=id_column(runs[0]),
        method=method,
        method_description=cls.description,
        members=[str(m.run.path.resolve()) for m in data.members],
        member_runs=rows,
    )
    info.update(
        {
            "n_folds": int(len(np.unique(data.folds))),
            "cv_scheme": first.get("cv_scheme"),
            **scored.record(),
            "held_out": not reasons,
            **({"not_held_out_because": reasons} if reasons else {}),
            **({"pseudo_members": pseudo} if pseudo else {}),
            "n_scored": len(data.ids),
            "fold_scores": fold_scores,
            "fold_spread": {
                m: round(float(np.std([f[m] for f in fold_scores])), 6) for m in scored.scores
            },
            "folds_hash": first.get("folds_hash"),
            "weights": {m["run_id"]: m["weights"] for m in rows},
            "fold_weights": {
                c: [dict(zip([m.run.id for m in unique], w)) if w is not None else None for w in fw]
                for c, fw in zip(columns, result.fold_weights)
            }
            if cls.supervised
            else None,
            "intercepts": {
                c: getattr(b, "intercept_", None) for c, b in zip(columns, result.blenders)
            }
            if method == "stack"
            else None,
        }
    )
    thr_metric = thresholded_metric(comp)
    if result.in_sample is not None:
        in_threshold = best_threshold(thr_metric, data.y, result.in_sample) if thr_metric else 0.5
        info["scores_in_sample"] = score_all(comp, data.y, result.in_sample, in_threshold)
        info["threshold_in_sample"] = in_threshold
    members = [
        {
            "run_id": m.run.id,
            "path": str(m.run.path.resolve()),
            "prepared_text": m.run.info.get("prepared_text", True),
        }
        for m in unique
    ]
    run_id = new_run_id(f"blend-{method}-{'+'.join(names)}")
    id_col = id_column(runs[0])
    with creating_run(runs_dir, comp.slug, run_id) as tmp:
        if runs[0].info.get("pseudo"):  # its pseudo rows are not the blend's rows
            data.folds_frame.to_csv(tmp / "folds.csv", index=False)
        else:
            shutil.copyfile(runs[0].path / "folds.csv", tmp / "folds.csv")
        predictions_frame(data.ids, result.oof, columns, id_col).to_csv(
            tmp / "oof.csv", index=False, float_format="%.7g"
        )
        if result.test is not None:
            predictions_frame(data.test_ids, result.test, columns, id_col).to_csv(
                tmp / "test_predictions.csv", index=False, float_format="%.7g"
            )
        save_blenders(tmp, method, result.blenders, columns, members)
        write_json(tmp / RUN_FILE, info)
    return Run(RunsFolder.of(runs_dir).run_dir(comp.slug, run_id))


def finished_blend(
    runs: list[Run],
    method: str,
    runs_dir: RunsFolder | Path = DEFAULT_ROOT,
    *,
    objective: str | None = None,
    meta_model: str = "logistic",
    seed: int | None = None,
) -> Run | None:
    """The newest blend run already made of exactly these member runs (in this order) with
    this method and these options (what ``cv --ensemble`` run again reuses), or None."""
    from kagglekit import plugins

    if not runs:
        return None
    comp = plugins.get_competition(runs[0].competition)
    params = {
        "method": method,
        "objective": (objective or comp.metric) if method == "weighted" else None,
        "meta_model": meta_model if method == "stack" else None,
    }
    seed = int(runs[0].info.get("seed", 42)) if seed is None else seed
    members = [str(r.path.resolve()) for r in runs]
    found = [
        r
        for r in list_runs(runs_dir, comp.slug)
        if r.kind == "blend"
        and r.info.get("members") == members
        and r.info.get("params") == params
        and r.info.get("seed") == seed
    ]
    return max(found, key=lambda r: (r.info.get("created") or "", r.id), default=None)


def ensemble_blends(
    member_runs: list[Run],
    methods,
    runs_dir: RunsFolder | Path = DEFAULT_ROOT,
    *,
    new: bool = False,
    before=None,
    after=None,
) -> list[Run]:
    """What ``cv --ensemble`` makes once its member runs are done: one blend run per
    method, the blend made earlier of the same member runs reused unless ``new``.
    ``before(method, reused)`` is called before each is made (``reused``: the earlier
    blend, or None), ``after(blend)`` once it is there."""
    blends = []
    for method in methods:
        blend = None if new else finished_blend(list(member_runs), method, runs_dir)
        if before is not None:
            before(method, blend)
        if blend is None:
            blend = create_blend(list(member_runs), method, runs_dir)
        if after is not None:
            after(blend)
        blends.append(blend)
    return blends


def as_saved(values: np.ndarray) -> np.ndarray:
    """Values rounded as the run's CSV files write them (``%.7g``)."""
    values = np.asarray(values, dtype=np.float64)
    return np.char.mod("%.7g", values).astype(np.float64).reshape(values.shape)


def member_rows(data: BlendData, result: BlendResult, columns, comp) -> list[dict]:
    index_of = {id(m): i for i, m in enumerate(data.unique)}
    rows = []
    for member in data.members:
        run = member.run
        row = {
            "run_id": run.id,
            "path": str(run.path.resolve()),
            "model": run.model,
            "kind": run.kind,
            "threshold": run.threshold,
            # the member's own record (its OOF at full precision), as `kagglekit runs` shows
            "scores": run.scores or score_all(comp, data.y, member.oof, run.threshold),
            # the held-out figure (each fold at a threshold chosen on the other folds)
            "nested_scores": run.info.get("nested_scores"),
            "duplicate_of": None
            if member.duplicate_of is None
            else data.members[member.duplicate_of].run.id,
        }
        if member.duplicate_of is None:
            i = index_of[id(member)]
            row["weights"] = {
                c: (None if b.weights_ is None else round(float(b.weights_[i]), 6))
                for c, b in zip(columns, result.blenders)
            }
        else:
            row["weights"] = {c: 0.0 for c in columns}
        rows.append(row)
    return rows
