"""``kagglekit auto``: the whole loop (fold-1 screening, CV, tuning, a hill-climbing blend,
a holdout figure, a submission) under one time budget. See ``auto.run``."""

from kagglekit.auto.budget import Budget, duration
from kagglekit.auto.run import AutoOptions, AutoResult, run_auto

__all__ = ["AutoOptions", "AutoResult", "Budget", "duration", "run_auto"]
