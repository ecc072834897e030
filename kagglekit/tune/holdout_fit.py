"""The study's end: the best configuration (and the model's defaults) fit on every trial row
and scored once on the holdout, each at the threshold its CV run chose on its OOF."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kagglekit.tune.holdout import Holdout, unlabelled

if TYPE_CHECKING:
    from kagglekit.competition import Competition
    from kagglekit.data import Dataset
    from kagglekit.frame import TextFrame
    from kagglekit.model import Model
    from kagglekit.store.folder import RunsFolder


@dataclass
class HoldoutFit:
    """What fitting a trial's configuration on the trial rows and scoring it on the holdout
    needs; ``scores(study, best_trial)`` does it for the best trial and the defaults."""

    comp: Competition
    model_name: str
    model_cls: type[Model]
    fixed: dict
    trials_data: Dataset  # the rows the trials saw
    holdout_frame: TextFrame  # the holdout's rows, labelled
    holdout: Holdout
    folder: RunsFolder
    directory: Path  # the study's folder: holdout/trial-K/ lands there
    seed: int
    note: Callable[[str], None]

    def scores(self, study, best_trial) -> dict:
        """The best configuration (and the defaults, when they differ) scored on the holdout."""
        defaults_trial = next(
            (
                t
                for t in study.trials
                if t.user_attrs.get("defaults") and t.state.name == "COMPLETE"
            ),
            None,
        )
        out = {"record": self.holdout.record(len(self.trials_data.train) + len(self.holdout.rows))}
        todo = [("best", best_trial)]
        if defaults_trial is not None and defaults_trial.number != best_trial.number:
            todo.append(("defaults", defaults_trial))
        for label, trial in todo:
            out[label] = self.score(label, trial)
        if "defaults" not in out and defaults_trial is not None:
            out["defaults"] = out["best"]
        return out

    def score(self, label: str, trial) -> dict:
        """One trial's configuration fit on every trial row and scored on the holdout; kept
        in ``holdout/trial-K/`` (a later attempt of the same study reads it back)."""
        from kagglekit.cv import cv_recipe
        from kagglekit.jobs import (
            FULL,
            Job,
            JobContext,
            check_predictions,
            execute_job,
            needs_accelerator,
        )
        from kagglekit.metrics import score_all
        from kagglekit.params import build_params
        from kagglekit.store.atomic import temp_sibling, write_json
        from kagglekit.store.run import Run

        comp, frame = self.comp, self.holdout_frame
        out_dir = self.directory / "holdout" / f"trial-{trial.number}"
        saved = out_dir / "scores.json"
        if saved.is_file():  # scored by an earlier attempt of the same study
            return json.loads(saved.read_text(encoding="utf-8"))
        self.note(
            f"holdout: fitting the {label} configuration (trial {trial.number}) on all "
            f"{len(self.trials_data.train):,} trial rows"
        )
        values = {**self.fixed, **trial.params}
        params = build_params(self.model_cls.Params, values, self.model_name)
        run_id = trial.user_attrs.get("run_id")
        run = Run(self.folder.run_dir(comp.slug, run_id)) if run_id else None
        threshold = run.threshold if run is not None else 0.5
        ctx = JobContext(
            self.model_name,
            self.model_cls,
            params,
            self.trials_data.train,
            unlabelled(frame),
            None,
            False,
            comp.n_targets,
            needs_accelerator(self.model_cls),
            recipe=cv_recipe(self.model_cls, run),
        )
        scratch = temp_sibling(out_dir)
        scratch.mkdir(parents=True)
        job = Job(self.model_name, FULL, self.seed, self.seed, "holdout")
        record = execute_job(ctx, job, scratch)
        pred = check_predictions(
            np.load(scratch / "test.npy", allow_pickle=False),
            len(frame),
            comp.n_targets,
            self.model_name,
        )
        scores = score_all(comp, frame.y, pred, threshold)
        result = {
            "trial": trial.number,
            "params": values,
            "cv_run": run_id,
            "cv": trial.value,
            "threshold": threshold,
            "scores": scores,
            "value": scores.get(comp.metric),
            "seconds": record.get("seconds"),
            "n_rows": int(len(frame)),
        }
        write_json(scratch / "scores.json", result)
        if out_dir.exists():  # an attempt that stopped between its rename and its scores
            shutil.rmtree(out_dir)
        scratch.rename(out_dir)
        return result
