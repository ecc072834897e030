"""Helpers for generating small, learnable samples in a competition's exact schema.

Used by ``--sample`` (the offline demo) and by the tests' fixtures. Texts mix words
that lean positive or negative with common words, so a model can learn them but not
perfectly.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

COMMON = (
    "the a to of and in is it you that for on was with this my at be have just so "
    "all about out up what when like now can get one people time day today new"
).split()


def sentence(
    rng: np.random.Generator,
    lean: tuple[str, ...],
    other: tuple[str, ...],
    length: tuple[int, int] = (6, 18),
    signal: float = 0.35,
) -> str:
    """A bag-of-words 'sentence': about ``signal`` of its words from ``lean``."""
    n = int(rng.integers(*length))
    words = []
    for _ in range(n):
        r = rng.random()
        if r < signal:
            words.append(lean[int(rng.integers(len(lean)))])
        elif r < signal + 0.1:
            words.append(other[int(rng.integers(len(other)))])
        else:
            words.append(COMMON[int(rng.integers(len(COMMON)))])
    return " ".join(words)


def hex_ids(rng: np.random.Generator, n: int, width: int = 16) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        value = "".join("0123456789abcdef"[i] for i in rng.integers(0, 16, width))
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


def write_csv(path: Path, header: list[str], rows) -> None:
    """Write rows the way Kaggle's files are written (minimal quoting, empty for NaN)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
