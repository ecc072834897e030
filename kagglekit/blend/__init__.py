"""Blends: new runs built from existing runs' out-of-fold (OOF) and test predictions.

    member runs (cv or blend runs of one competition on identical folds)   members.py
      -> per target column: a blend method turns the members' OOF into the blend's OOF,
         and the members' test predictions into the blend's test predictions
         (methods registered by hook: methods.py; nested in the folds: nested.py)
      -> threshold chosen on the blend's OOF -> scores -> a run of kind "blend"   create.py
      -> blenders saved as JSON + arrays, no pickle                              state.py
      -> new rows: every member predicts, the blenders combine                   predicting.py

This module only re-exports the public names.
"""

from kagglekit.blend.create import as_saved, create_blend, finished_blend, member_rows
from kagglekit.blend.hillclimb import HillClimbBlend
from kagglekit.blend.members import (
    BlendData,
    BlendError,
    Member,
    check_distinct,
    fold_differences,
    load_labels,
    load_members,
)
from kagglekit.blend.methods import (
    BLEND_METHODS,
    META_MODELS,
    BlendContext,
    BlendMethod,
    MeanBlend,
    RankBlend,
    StackBlend,
    VoteBlend,
    WeightedBlend,
    ecdf,
    get_method,
    logit,
    metric_score,
)
from kagglekit.blend.nested import BlendResult, blend_arrays
from kagglekit.blend.predicting import predict_blend
from kagglekit.blend.state import load_blenders, save_blenders

__all__ = [
    "BLEND_METHODS",
    "META_MODELS",
    "BlendContext",
    "BlendData",
    "BlendError",
    "BlendMethod",
    "BlendResult",
    "HillClimbBlend",
    "MeanBlend",
    "Member",
    "RankBlend",
    "StackBlend",
    "VoteBlend",
    "WeightedBlend",
    "as_saved",
    "blend_arrays",
    "check_distinct",
    "create_blend",
    "ecdf",
    "finished_blend",
    "fold_differences",
    "get_method",
    "load_blenders",
    "load_labels",
    "load_members",
    "logit",
    "member_rows",
    "metric_score",
    "predict_blend",
    "save_blenders",
]
