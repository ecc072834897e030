"""TextFrame: what every model receives (prepared texts, labels, ids, raw columns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class TextFrame:
    """Rows of a competition file, texts already prepared by the competition adapter.

    ``y`` is an (n_rows, n_targets) int array of 0/1 labels, or None for unlabelled rows.
    ``extra`` is the raw pandas DataFrame, for models that want other columns.
    """

    ids: np.ndarray
    text: np.ndarray  # object array of str
    y: np.ndarray | None = None
    target_names: tuple[str, ...] = ()
    extra: Any = None  # a pandas DataFrame

    def __len__(self) -> int:
        return len(self.text)

    def take(self, index) -> TextFrame:
        index = np.asarray(index)
        return TextFrame(
            ids=self.ids[index],
            text=self.text[index],
            y=None if self.y is None else self.y[index],
            target_names=self.target_names,
            extra=None if self.extra is None else self.extra.iloc[index].reset_index(drop=True),
        )

    @classmethod
    def concat(cls, frames) -> TextFrame:
        """Rows of several frames, in order (e.g. a train file and a validation file)."""
        frames = list(frames)
        ys = [f.y for f in frames]
        extras = [f.extra for f in frames]
        extra = None
        if all(e is not None for e in extras):
            import pandas as pd

            extra = pd.concat(extras, ignore_index=True, sort=False)
        return cls(
            ids=np.concatenate([f.ids for f in frames]).astype(object),
            text=np.concatenate([f.text for f in frames]).astype(object),
            y=None if any(y is None for y in ys) else np.concatenate(ys),
            target_names=frames[0].target_names,
            extra=extra,
        )

    @classmethod
    def from_texts(cls, texts, y=None, target_names=("target",)) -> TextFrame:
        text = np.asarray(list(texts), dtype=object)
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 1:
                y = y[:, None]
        return cls(ids=np.arange(len(text)), text=text, y=y, target_names=tuple(target_names))
