"""Predicting new rows with a blend run: each member run predicts, the saved blenders combine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kagglekit.blend.members import BlendError
from kagglekit.blend.state import load_blenders
from kagglekit.store.run import Run

if TYPE_CHECKING:
    from kagglekit.frame import TextFrame


def member_run(blend: Run, ref: dict) -> Run:
    """The member run a blend refers to: at its recorded path, or beside the blend."""
    if not isinstance(ref, dict) or not {"run_id", "path"} <= set(ref):
        raise BlendError(
            f"blend {blend.id}: a member record in blender.json is damaged; "
            f"re-create the blend with the same `kagglekit blend ...` command"
        )
    for candidate in (Path(ref["path"]), blend.path.parent / ref["run_id"]):
        if (candidate / "run.json").is_file():
            return Run(candidate)
    raise BlendError(
        f"blend {blend.id} needs its member run {ref['run_id']} (looked in "
        f"{ref['path']} and {blend.path.parent}); it was moved or removed"
    )


def predict_blend(
    run: Run, frame: TextFrame, predict_run: Callable[[Run, TextFrame], np.ndarray]
) -> np.ndarray:
    """Predict with every member run (``predict_run(member, frame)``) and combine them as the
    blend did its test rows."""
    state = load_blenders(run.path)
    prepared = run.info.get("prepared_text", True)
    for ref in state["members"]:
        if isinstance(ref, dict) and ref.get("prepared_text", True) != prepared:
            raise BlendError(
                f"blend {run.id}: member {ref['run_id']} was made "
                f"{'with' if ref['prepared_text'] else 'without'} the competition's "
                f"text preparation and others not; predict with each member run "
                f"and combine them yourself"
            )
    preds = np.stack(
        [
            np.asarray(predict_run(member_run(run, ref), frame), dtype=np.float64).reshape(
                len(frame), -1
            )
            for ref in state["members"]
        ]
    )
    if preds.shape[2] != len(state["blenders"]):
        raise BlendError(
            f"blend {run.id}: its members predict {preds.shape[2]} column(s) but "
            f"blender.json holds {len(state['blenders'])}; re-create the blend"
        )
    return np.column_stack(
        [blender.predict(preds[:, :, j].T) for j, blender in enumerate(state["blenders"])]
    )
