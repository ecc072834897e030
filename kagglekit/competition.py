"""The Competition spec: what a competition adapter declares.

The core never names a competition: files, columns, task, metric, label encoding,
text preparation and submission format all come from a Competition registered by a
plugin.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

TASKS = ("binary", "multilabel")
SPLITS = ("train", "validation", "test", "labels", "unlabeled")


@dataclass
class ValidationParams:
    """Options every competition with an official validation file gets (``-p key=value``)."""

    train_on_validation: bool = False  # also train on the validation rows (no longer held out)


@dataclass(frozen=True)
class Competition:
    """A Kaggle competition (or dataset) as kagglekit sees it.

    ``label_map`` maps raw label values to 0/1 (e.g. {"negative": 0, "positive": 1});
    when empty the raw values must already be 0 or 1. ``submission_kind`` is "label"
    (0/1 after the run's threshold) or "probability".

    ``load(path, split, *, encoding, params)`` optionally replaces the CSV reader for a
    split ("train", "validation", "test", "labels" or "unlabeled"; ``path`` is that split's
    file or folder) and returns a pandas DataFrame with the declared columns, or None for
    the default reader. Its rows then go through the same validation and text preparation
    as a CSV's. ``params`` is a dataclass of competition-level options set with
    ``-p key=value`` (stored in the run); a competition with a ``validation_file`` also gets
    ``train_on_validation``. ``test_labels_file`` holds test labels for ``kagglekit score``;
    rows holding ``unscored_label`` in a target column are not scored.
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
    validation_file: str | None = None  # an official validation split (same columns as train)
    test_labels_file: str | None = None
    unscored_label: str | None = None
    unlabeled_file: str | None = None
    load: Callable | None = None
    params: type | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(
                f"Competition {self.name!r}: task must be one of {TASKS}, got {self.task!r}"
            )
        if self.submission_kind not in ("label", "probability"):
            raise ValueError(
                f"Competition {self.name!r}: submission_kind must be 'label' or "
                f"'probability', got {self.submission_kind!r}"
            )

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

    def file_for(self, split: str) -> str | None:
        """The file (or folder) name of a split, None when the competition has none."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return {
            "train": self.train_file,
            "validation": self.validation_file,
            "test": self.test_file,
            "labels": self.test_labels_file,
            "unlabeled": self.unlabeled_file,
        }[split]

    def params_class(self) -> type | None:
        """The dataclass of competition-level options, None when there are none."""
        parts = ([ValidationParams] if self.validation_file else []) + (
            [self.params] if self.params else []
        )
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]
        assert self.params is not None  # two parts: validation options and self.params
        fields = []
        for part in parts:
            hints = typing.get_type_hints(part)
            fields += [
                (f.name, hints[f.name], field(default=f.default, default_factory=f.default_factory))
                for f in dataclasses.fields(part)
            ]
        return dataclasses.make_dataclass(f"{self.params.__name__}WithValidation", fields)

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric, *[m for m in self.extra_metrics if m != self.metric])

    def summary(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "aliases": list(self.aliases),
            "task": self.task,
            "metric": self.metric,
            "metrics": list(self.metrics),
            "id_column": self.id_column,
            "text_columns": list(self.text_columns),
            "target_columns": list(self.target_columns),
            "files": list(
                dict.fromkeys(
                    f
                    for f in (
                        self.train_file,
                        self.validation_file,
                        self.test_file,
                        self.sample_submission_file,
                        self.test_labels_file,
                        self.unlabeled_file,
                    )
                    if f
                )
            ),
            "group_column": self.group_column,
            "submission": [self.sub_id_column, *self.sub_columns],
            "submission_kind": self.submission_kind,
            "url": self.url,
            "params": self._describe_params(),
        }

    def _describe_params(self) -> list[dict]:
        from kagglekit.params import describe

        params_cls = self.params_class()
        return describe(params_cls) if params_cls is not None else []
