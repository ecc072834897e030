"""The one ragged container for token ids (word ids for RNNs, subword ids for transformers).

``Ragged(ids, offsets)``: row ``i`` is ``ids[offsets[i]:offsets[i + 1]]``; optional
``type_ids`` (segment ids, same layout) and the tokenizer's ``pad_id``. Nothing is padded
until a batch is made (``pad`` for one id matrix, ``inputs`` for a backbone's
``token_ids``/``segment_ids``/``padding_mask``). Pure NumPy: importing it never imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GATHER_ROWS = 1 << 16  # rows per block when rows are taken or truncated


@dataclass
class Ragged:
    """Variable-length id sequences: row i is ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray  # int32, flat
    offsets: np.ndarray  # int64, n_rows + 1
    type_ids: np.ndarray | None = None  # int32, flat, like ids (segment ids)
    pad_id: int = 0

    @classmethod
    def from_lengths(cls, ids, lengths, type_ids=None, pad_id: int = 0) -> Ragged:
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
        return cls(
            np.asarray(ids, dtype=np.int32),
            offsets,
            None if type_ids is None else np.asarray(type_ids, dtype=np.int32),
            int(pad_id),
        )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row_lengths(self, index) -> np.ndarray:
        """The lengths of rows ``index`` only: O(len(index)), never a pass over every row
        (``lengths`` is O(rows); a batch asks for its own rows many times per epoch)."""
        index = np.asarray(index, dtype=np.int64)
        return self.offsets[index + 1] - self.offsets[index]

    def row(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    def _gather(self, starts, kept, offsets) -> Ragged:
        """New row i: ``kept[i]`` ids from flat position ``starts[i]`` (``offsets`` the new
        layout), built ``GATHER_ROWS`` rows at a time: the flat positions are made per block,
        never an int64 array over every id (three of them: 24 bytes per id for 4 kept)."""
        total = int(offsets[-1])
        ids = np.empty(total, dtype=self.ids.dtype)
        source_types = self.type_ids
        type_ids = None if source_types is None else np.empty(total, source_types.dtype)
        for a in range(0, len(kept), GATHER_ROWS):
            b = min(a + GATHER_ROWS, len(kept))
            lo, hi = offsets[a], offsets[b]
            positions = np.repeat(starts[a:b] - offsets[a:b], kept[a:b]) + np.arange(lo, hi)
            ids[lo:hi] = self.ids[positions]
            if type_ids is not None and source_types is not None:
                type_ids[lo:hi] = source_types[positions]
        return Ragged(ids, offsets, type_ids, self.pad_id)

    def take(self, index) -> Ragged:
        index = np.asarray(index, dtype=np.int64)
        lengths = self.row_lengths(index)
        offsets = np.zeros(len(index) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return self._gather(self.offsets[index], lengths, offsets)

    def truncate(self, maxlen: int, side: str = "post") -> Ragged:
        """Keep at most ``maxlen`` ids per row: the first ones (``post``) or the last (``pre``)."""
        if side not in ("pre", "post"):
            raise ValueError(f"truncating must be 'pre' or 'post', got {side!r}")
        lengths = self.lengths
        if maxlen <= 0:
            raise ValueError(f"maxlen must be >= 1, got {maxlen}")
        if len(lengths) == 0 or lengths.max() <= maxlen:
            return self
        kept = np.minimum(lengths, maxlen)
        offsets = np.zeros(len(self) + 1, dtype=np.int64)
        np.cumsum(kept, out=offsets[1:])
        start = self.offsets[:-1] + (lengths - kept if side == "pre" else 0)
        return self._gather(start, kept, offsets)

    def pad(
        self,
        index=None,
        length: int | None = None,
        padding: str = "post",
        values: np.ndarray | None = None,
        fill: int | None = None,
    ) -> np.ndarray:
        """Rows ``index`` as an int32 matrix padded with ``pad_id`` to ``length`` (default:
        the longest row); ``values`` pads another flat array of the same layout."""
        index = np.arange(len(self)) if index is None else np.asarray(index, dtype=np.int64)
        values = self.ids if values is None else values
        lengths = self.row_lengths(index)
        width = int(lengths.max(initial=0)) if length is None else int(length)
        out = np.full((len(index), width), self.pad_id if fill is None else fill, dtype=np.int32)
        if width == 0 or len(index) == 0:
            return out
        kept = np.minimum(lengths, width)
        rows = np.repeat(np.arange(len(index)), kept)
        within = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)
        src = np.repeat(self.offsets[index], kept) + within
        cols = within if padding == "post" else within + np.repeat(width - kept, kept)
        out[rows, cols] = values[src]
        return out

    def inputs(self, index, length: int) -> dict:
        """A backbone's inputs for rows ``index``, right-padded (or cut) to ``length``:
        ``token_ids``, ``segment_ids`` and ``padding_mask`` (int32, (len(index), length))."""
        index = np.asarray(index, dtype=np.int64)
        lengths = np.minimum(self.row_lengths(index), length)
        mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int32)
        segments = (
            np.zeros((len(index), length), np.int32)
            if self.type_ids is None
            else self.pad(index, length, values=self.type_ids, fill=0)
        )
        return {"token_ids": self.pad(index, length), "segment_ids": segments, "padding_mask": mask}

    def token_counts(self, vocab_size: int) -> np.ndarray:
        return np.bincount(self.ids, minlength=vocab_size).astype(np.int64)
