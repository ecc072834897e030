"""Dynamic padding: batches of rows of similar length, each padded to its own longest row.

Training: rows are shuffled, cut into pools of ``pool`` batches, each pool sorted by length
and cut into batches, and the batches shuffled, so batches stay random but padding stays
small. Inference: rows sorted by length; predictions are put back in the original order
by the caller (``order``). Padded lengths are rounded up to a multiple of ``multiple``,
which bounds how many distinct shapes a compiled model sees.
"""

from __future__ import annotations

import numpy as np


def round_up(n: int, multiple: int) -> int:
    return int(-(-int(n) // multiple) * multiple) if multiple > 1 else int(n)


def padded_length(lengths, cap: int, multiple: int = 8) -> int:
    """The length a batch is padded to: its longest row, rounded up, at most ``cap``."""
    longest = int(np.max(lengths)) if len(lengths) else 1
    return max(1, min(int(cap), round_up(longest, multiple)))


def _chunks(order: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def bucket_batches(lengths, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                   pool: int = 50) -> list[np.ndarray]:
    """Index arrays, one per batch; every row appears in exactly one batch."""
    lengths = np.asarray(lengths)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not shuffle:
        return _chunks(np.argsort(lengths, kind="stable"), batch_size)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(lengths))
    batches = []
    span = batch_size * max(1, pool)
    for i in range(0, len(perm), span):
        part = perm[i:i + span]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(_chunks(part, batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]


def sequential_batches(n: int, batch_size: int, *, shuffle: bool = False,
                       seed: int = 0) -> list[np.ndarray]:
    """Plain batches (no bucketing): the rows in order, or shuffled."""
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    return _chunks(order, batch_size)


def padding_share(lengths, batches, cap: int, multiple: int = 8, fixed: bool = False) -> float:
    """Share of padded positions among all positions fed to the model (for reports)."""
    lengths = np.minimum(np.asarray(lengths), cap)
    total = 0
    for b in batches:
        width = cap if fixed else padded_length(lengths[b], cap, multiple)
        total += width * len(b)
    return 1.0 - float(lengths.sum()) / total if total else 0.0
