"""A blend refit: the blend's saved blenders applied to fits of its members.

``kagglekit auto`` refits the members of its final blend on every training row when the
measured cost fits its budget. The result is a run of kind "fit" (no held-out score) whose
blender.json is the blend's, its members the fit runs, and whose test predictions are the
blenders on the fits' test predictions, labelled at the blend's OOF threshold. It predicts
new rows as a blend does (``predict.predict_with_run``), and ``kagglekit submit`` takes it
like any fit.
"""

from __future__ import annotations

import datetime as _dt
import shutil

import numpy as np

from kagglekit.blend.members import BlendError, id_column
from kagglekit.blend.predicting import member_run
from kagglekit.blend.state import ARRAYS_FILE, ESTIMATORS_FILE, STATE_FILE, load_blenders
from kagglekit.store.atomic import read_json, write_json
from kagglekit.store.create import creating_run, new_run_id
from kagglekit.store.folder import RUN_FILE, RunsFolder
from kagglekit.store.record import environment
from kagglekit.store.run import FORMAT, Run, predictions_frame

REFIT_KEY = "blend_refit"  # run.json: {"blend": id, "members": {member id: fit id}}


def combines_members(run: Run) -> bool:
    """Whether the run predicts through member runs and saved blenders (a blend, or a
    blend refit)."""
    return run.kind == "blend" or isinstance(run.info.get(REFIT_KEY), dict)


def blend_members(blend: Run) -> list[Run]:
    """The blend's member runs, in blender.json's order."""
    return [member_run(blend, ref) for ref in load_blenders(blend.path)["members"]]


def refit_blend(blend: Run, fits: dict[str, Run], runs_dir) -> Run:
    """The fit run combining ``fits`` (member run id -> its fit run) as ``blend`` combined
    its members."""
    state = load_blenders(blend.path)
    refs = state["members"]
    missing = [ref["run_id"] for ref in refs if ref["run_id"] not in fits]
    if missing:
        raise BlendError(f"blend {blend.id}: no fit of its member {missing[0]}")
    columns = list(state["columns"])
    id_col = id_column(blend)
    frames = [fits[ref["run_id"]].test_predictions() for ref in refs]
    ids = frames[0][id_col].astype(str).to_numpy()
    preds = []
    for ref, frame in zip(refs, frames):
        these = frame[id_col].astype(str).to_numpy()
        if not np.array_equal(these, ids):
            raise BlendError(
                f"fit run {fits[ref['run_id']].id} predicted other test rows than "
                f"{fits[refs[0]['run_id']].id}; refit them on the same files"
            )
        preds.append(frame[columns].to_numpy(dtype=np.float64))
    stacked = np.stack(preds)  # (members, rows, columns)
    test = np.column_stack(
        [blender.predict(stacked[:, :, j].T) for j, blender in enumerate(state["blenders"])]
    )
    first = fits[refs[0]["run_id"]].info
    info = {
        **{k: v for k, v in blend.info.items() if k in _KEPT},
        "format": FORMAT,
        "kind": "fit",
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "environment": environment(),
        "model": f"{blend.model} refit",
        "n_train": int(first.get("n_train", 0)),
        "n_test": len(ids),
        "held_out": False,
        "not_held_out_because": ["a fit on every training row: nothing was held out"],
        "scores": {},
        "threshold": blend.threshold,
        "threshold_source": blend.id,
        "from_run": blend.id,
        REFIT_KEY: {
            "blend": blend.id,
            "members": {ref["run_id"]: fits[ref["run_id"]].id for ref in refs},
        },
        "members": [str(fits[ref["run_id"]].path.resolve()) for ref in refs],
        "member_runs": [
            {
                "run_id": fits[ref["run_id"]].id,
                "path": str(fits[ref["run_id"]].path.resolve()),
                "refit_of": ref["run_id"],
                "weights": (blend.info.get("weights") or {}).get(ref["run_id"]),
            }
            for ref in refs
        ],
        "seconds": round(sum(float(f.info.get("seconds") or 0) for f in fits.values()), 3),
    }
    run_id = new_run_id(f"refit-{blend.id.split('-', 2)[-1]}"[:60])
    slug = blend.competition
    with creating_run(runs_dir, slug, run_id) as tmp:
        predictions_frame(ids, test, columns, id_col).to_csv(
            tmp / "test_predictions.csv", index=False, float_format="%.7g"
        )
        for name in (ARRAYS_FILE, ESTIMATORS_FILE):
            if (blend.path / name).is_file():
                shutil.copyfile(blend.path / name, tmp / name)
        saved = read_json(blend.path / STATE_FILE)
        saved["members"] = [
            {
                **ref,
                "run_id": fits[ref["run_id"]].id,
                "path": str(fits[ref["run_id"]].path.resolve()),
            }
            for ref in saved["members"]
        ]
        write_json(tmp / STATE_FILE, saved)
        write_json(tmp / RUN_FILE, info)
    return Run(RunsFolder.of(runs_dir).run_dir(slug, run_id))


# what a blend refit keeps of its blend's record: the competition, data and text preparation
_KEPT = (
    "competition",
    "params",
    "seed",
    "task",
    "id_column",
    "target_columns",
    "metric",
    "data_dir",
    "sample",
    "prepared_text",
    "text_columns",
    "encoding",
    "allow_empty_text",
    "competition_params",
    "notes",
    "method",
    "method_description",
)
