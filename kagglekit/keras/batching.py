"""The one batching module: length bucketing with dynamic padding, for every Keras family.

Every batch is padded only to its own longest row, rounded up to ``multiple`` (8 by
default) so that compiled functions see few shapes; with ``pow2`` to ``multiple`` times a
power of two, for JAX/XLA, which compile one program per shape.

Training: shuffle, cut into chunks of ``chunk_batches`` batches, sort each chunk by
length, cut into batches, shuffle the batches (batches stay random, padding stays small).
Prediction: sort everything by length; the caller puts predictions back in the original
order with ``plan.order``. Without bucketing every batch is padded to ``maxlen`` (the
classic fixed-shape recipe, and what a TPU needs); dense features (sentence embeddings)
use plain batches. Pure NumPy: importing it never imports Keras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BatchPlan:
    batches: list  # list of int64 index arrays (rows)
    widths: list  # padded length of each batch

    @property
    def order(self) -> np.ndarray:
        return np.concatenate(self.batches) if self.batches else np.zeros(0, np.int64)

    def padded_tokens(self) -> int:
        return int(sum(len(b) * w for b, w in zip(self.batches, self.widths)))


def padded_width(longest: int, multiple: int = 8, maxlen: int = 0, pow2: bool = False) -> int:
    """``longest`` rounded up to a multiple of ``multiple`` (or to ``multiple`` times a power
    of two: few distinct shapes, for backends that compile one program per shape), at most
    ``maxlen`` (when given)."""
    multiple = max(1, int(multiple))
    steps = -(-max(1, int(longest)) // multiple)
    if pow2:
        steps = 1 << (steps - 1).bit_length()
    width = steps * multiple
    return min(width, maxlen) if maxlen else width


def plan_batches(
    lengths,
    batch_size: int,
    *,
    maxlen: int,
    shuffle: bool,
    bucket: bool = True,
    rng: np.random.Generator | None = None,
    multiple: int = 8,
    chunk_batches: int = 50,
    drop_remainder: bool = False,
    pow2: bool = False,
) -> BatchPlan:
    """Index batches over rows of the given ``lengths`` (already truncated to ``maxlen``)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    shuffler = rng if rng is not None else np.random.default_rng(0)  # used when shuffle
    order = shuffler.permutation(n) if shuffle else np.arange(n)
    if bucket:
        if shuffle:
            chunk = batch_size * max(1, chunk_batches)
            parts = [order[i : i + chunk] for i in range(0, n, chunk)]
            order = (
                np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in parts])
                if parts
                else order
            )
        else:
            order = np.argsort(lengths, kind="stable")
    stop = n - n % batch_size if drop_remainder else n
    batches = [order[i : i + batch_size] for i in range(0, stop, batch_size)]
    if shuffle and len(batches) > 1:
        batches = [batches[i] for i in shuffler.permutation(len(batches))]
    if bucket:
        widths = [padded_width(lengths[b].max(initial=0), multiple, maxlen, pow2) for b in batches]
    else:
        widths = [int(maxlen)] * len(batches)
    distinct_first_widths(batches, widths)
    return BatchPlan(batches, widths)


def distinct_first_widths(batches: list, widths: list) -> None:
    """Make batches 0 and 1 differ in width when any two do.

    Keras infers a PyDataset's tensor spec from its first two batches; a length dimension
    they share would be fixed and later batches of another length rejected.
    """
    if len(widths) < 3 or widths[0] != widths[1]:
        return
    for j in range(2, len(widths)):
        if widths[j] != widths[0]:
            batches[1], batches[j] = batches[j], batches[1]
            widths[1], widths[j] = widths[j], widths[1]
            return


def pad_to_multiple(index: np.ndarray, multiple: int) -> np.ndarray:
    """Repeat the first row so that a batch's size is a multiple of ``multiple`` (replicas)."""
    extra = (-len(index)) % max(1, multiple)
    return index if extra == 0 else np.concatenate([index, np.repeat(index[:1], extra)])
