"""The Competition spec: what a competition adapter declares.

The core never names a competition: files, columns, task, metric, label encoding,
text preparation and submission format all come from a Competition registered by a
plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

TASKS = ("binary", "multilabel")


@dataclass(frozen=True)
class Competition:
    """A Kaggle competition (or dataset) as kagglekit sees it.

    ``label_map`` maps raw label values to 0/1 (e.g. {"negative": 0, "positive": 1});
    when empty the raw values must already be 0 or 1. ``submission_kind`` is "label"
    (0/1 after the run's threshold) or "probability".
    """

    name: str  # the Kaggle slug
    title: str
    task: str
    id_column: str | None
    text_columns: tuple[str, ...]
    target_columns: tuple[str, ...]
    metric: str
    extra_metrics: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    train_file: str = "train.csv"
    test_file: str | None = "test.csv"
    sample_submission_file: str | None = "sample_submission.csv"
    # test.csv may name the text differently (Jigsaw multilingual: "content")
    test_text_columns: tuple[str, ...] | None = None
    submission_id_column: str | None = None
    submission_columns: tuple[str, ...] | None = None
    submission_kind: str = "probability"
    label_map: Mapping = field(default_factory=dict)
    read_options: Mapping = field(default_factory=dict)
    prepare_text: Callable[[str], str] | None = None
    make_sample: Callable | None = None  # make_sample(directory, n_train, n_test, seed)
    url: str = ""
    code_competition: bool = False
    group_column: str | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"Competition {self.name!r}: task must be one of {TASKS}, "
                             f"got {self.task!r}")
        if self.submission_kind not in ("label", "probability"):
            raise ValueError(f"Competition {self.name!r}: submission_kind must be 'label' or "
                             f"'probability', got {self.submission_kind!r}")

    @property
    def slug(self) -> str:
        return self.name

    @property
    def n_targets(self) -> int:
        return len(self.target_columns)

    @property
    def sub_id_column(self) -> str | None:
        return self.submission_id_column or self.id_column

    @property
    def sub_columns(self) -> tuple[str, ...]:
        return self.submission_columns or self.target_columns

    @property
    def test_columns(self) -> tuple[str, ...]:
        return self.test_text_columns or self.text_columns

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric, *[m for m in self.extra_metrics if m != self.metric])

    def summary(self) -> dict:
        return {
            "name": self.name, "title": self.title, "aliases": list(self.aliases),
            "task": self.task, "metric": self.metric, "metrics": list(self.metrics),
            "id_column": self.id_column, "text_columns": list(self.text_columns),
            "target_columns": list(self.target_columns),
            "files": [f for f in (self.train_file, self.test_file, self.sample_submission_file) if f],
            "submission": [self.sub_id_column, *self.sub_columns],
            "submission_kind": self.submission_kind, "url": self.url,
        }
