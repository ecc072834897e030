"""Pretrained word embeddings: stream a file once, keep only the vocabulary's words.

Formats (``-p embeddings=FILE[,FILE...]``; a ``format:`` prefix forces one):

- ``glove``: text, no header, ``word v1 ... vD`` (glove.6B.*, glove.840B.300d.txt, whose
  tokens sometimes contain spaces: the vector is always the last D fields);
- ``fasttext``: the same with an ``N D`` header line (``.vec``; also word2vec text format);
- ``word2vec``: word2vec binary (``.bin``): header, then ``word<space>`` + D float32 each;
- ``paragram``: GloVe-like text encoded in latin-1 (paragram_300_sl999.txt).

Auto-detection: ``.bin`` -> word2vec, a name containing "paragram" -> paragram, a first
line of two integers -> fasttext, else glove.

Each vocabulary word takes the vector of the word itself, else of its lower-case, title-case
or upper-case form (the first found in that order of preference). The filtered vectors are
cached (``kagglekit.cache``) under a key made of the file's fingerprint and the vocabulary's
hash, so a second load reads a small ``.npz`` instead of the multi-GB text.
Nothing is printed; an optional progress bar is reported through kagglekit.progress.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kagglekit.cache import cached_arrays, content_hash, file_fingerprint
from kagglekit.errors import KaggleKitError

FALLBACKS = ("exact", "lower", "title", "upper")
_CACHE_VERSION = "embeddings-v1"


class EmbeddingFileError(KaggleKitError):
    """An embedding file is missing, compressed, empty or not in the expected format."""


@dataclass
class FoundVectors:
    """Vectors of the vocabulary's words found in one file."""

    vectors: np.ndarray  # (vocab_size, dim) float32; zeros where not found
    how: np.ndarray  # (vocab_size,) int8: 0 not found, 1 + index into FALLBACKS
    path: str = ""
    format: str = ""
    lines: int = 0
    bad_lines: int = 0
    seconds: float = 0.0
    cache_hit: bool = False

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def found(self) -> np.ndarray:
        return self.how > 0


@dataclass
class EmbeddingResult:
    matrix: np.ndarray  # (vocab_size, total_dim) float32
    found: np.ndarray  # bool (vocab_size,): found in at least one file
    report: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- formats
def parse_spec(spec) -> tuple[str | None, Path]:
    """``"fasttext:/x/y.vec"`` -> ("fasttext", Path); a plain path -> (None, Path)."""
    text = str(spec).strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.lower() in LOADERS and rest:
        return prefix.lower(), Path(rest).expanduser()
    return None, Path(text).expanduser()


def detect_format(path: Path) -> str:
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".gz", ".zip", ".bz2", ".xz", ".7z")):
        raise EmbeddingFileError(
            f"embedding file {path} is compressed; decompress it first (e.g. `unzip` / `gunzip`)"
        )
    if name.endswith(".bin"):
        return "word2vec"
    if "paragram" in name:
        return "paragram"
    with open(path, "rb") as fh:
        first = fh.readline(4096).split()
    if len(first) == 2 and all(p.isdigit() for p in first):
        return "fasttext"
    return "glove"


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise EmbeddingFileError(
            f"embedding file {path} not found; pass an existing file with -p embeddings=PATH"
        )
    if path.stat().st_size == 0:
        raise EmbeddingFileError(f"embedding file {path} is empty")


def _lookup_keys(vocab, encoding: str, fallbacks: bool, skip_rows: int) -> dict:
    """bytes key -> [(row, preference)] for each vocabulary word and its case variants."""
    keys: dict[bytes, list] = {}
    for row in range(skip_rows, len(vocab)):
        word = vocab[row]
        variants = (word, word.lower(), word.title(), word.upper()) if fallbacks else (word,)
        seen = set()
        for pref, variant in enumerate(variants):
            if variant in seen or not variant:
                continue
            seen.add(variant)
            try:
                key = variant.encode(encoding)
            except UnicodeEncodeError:
                continue
            keys.setdefault(key, []).append((row, pref))
    return keys


class _Collector:
    def __init__(self, n_rows: int, dim: int, n_wanted: int):
        self.vectors = np.zeros((n_rows, dim), dtype=np.float32)
        self.best = np.full(n_rows, len(FALLBACKS), dtype=np.int8)
        self.n_exact = 0
        self.n_wanted = n_wanted

    def offer(self, hits, vector) -> None:
        for row, pref in hits:
            if pref < self.best[row]:
                self.vectors[row] = vector
                if pref == 0:
                    self.n_exact += 1
                self.best[row] = pref

    @property
    def complete(self) -> bool:
        return self.n_exact >= self.n_wanted

    def how(self) -> np.ndarray:
        return np.where(self.best < len(FALLBACKS), self.best + 1, 0).astype(np.int8)


@contextlib.contextmanager
def _progress(enabled: bool, total: int, description: str):
    """``update(done)`` for a transient bytes bar (kagglekit.progress: drawn by the CLI)."""
    if not enabled:
        yield lambda done: None
        return
    from kagglekit.progress import steps

    with steps(description, total=total, unit="bytes", transient=True) as advance:
        shown = [0]

        def update(done: int) -> None:
            advance(done - shown[0])
            shown[0] = done

        yield update


def _sniff_dim(fh, limit: int = 200) -> int:
    """The most common number of fields minus one among the first lines (tokens may hold spaces)."""
    counts: Counter[int] = Counter()
    for _ in range(limit):
        line = fh.readline()
        if not line:
            break
        fields = len(line.split())
        if fields > 1:
            counts[fields - 1] += 1
    fh.seek(0)
    if not counts:
        raise EmbeddingFileError(f"{fh.name}: no 'word v1 ... vD' line in the first {limit} lines")
    return counts.most_common(1)[0][0]


def _scan_text(
    path: Path,
    vocab,
    *,
    encoding: str,
    header: bool,
    fallbacks: bool,
    skip_rows: int,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    keys = _lookup_keys(vocab, encoding, fallbacks, skip_rows)
    spaced = any(b" " in k for k in keys)  # only then must every line be split fully
    size = path.stat().st_size
    lines = bad = 0
    with (
        open(path, "rb", buffering=1 << 22) as fh,
        _progress(progress, size, f"Reading {path.name}") as update,
    ):
        if header:
            first = fh.readline().split()
            if len(first) != 2 or not all(p.isdigit() for p in first):
                raise EmbeddingFileError(
                    f"{path}: the first line should be the header "
                    f"'N_WORDS DIM', got {b' '.join(first[:4])[:60]!r}"
                )
            dim = int(first[1])
        else:
            dim = _sniff_dim(fh)
        col = _Collector(len(vocab), dim, len(vocab) - skip_rows)
        for line in fh:
            lines += 1
            if not lines & 0xFFFF:
                update(fh.tell())
            if spaced:
                parts = line.rstrip(b"\r\n ").rsplit(b" ", dim)
                hits = keys.get(parts[0]) if len(parts) == dim + 1 else None
                if hits is None:
                    continue
                fields = parts[1:]
            else:
                sp = line.find(b" ")
                if sp <= 0:
                    bad += bool(line.strip())
                    continue
                hits = keys.get(line[:sp])
                if hits is None:
                    continue
                fields = line[sp + 1 :].split()
                if len(fields) != dim:
                    # a token holding spaces ("at name@domain.com" in glove.840B): the
                    # vector is the last dim fields, the token everything before them
                    parts = line.rstrip(b"\r\n ").rsplit(b" ", dim)
                    if len(parts) != dim + 1:
                        bad += 1
                        continue
                    hits, fields = keys.get(parts[0]), parts[1:]
                    if hits is None:
                        continue
            try:
                vector = np.array(fields, dtype=np.float32)
            except ValueError:
                bad += 1
                continue
            col.offer(hits, vector)
            if col.complete:
                break
        update(size)
    return col.vectors, col.how(), lines, bad


def _scan_word2vec(
    path: Path, vocab, *, encoding: str, fallbacks: bool, skip_rows: int, progress: bool, **_
):
    keys = _lookup_keys(vocab, encoding, fallbacks, skip_rows)
    size = path.stat().st_size
    with open(path, "rb") as fh, _progress(progress, size, f"Reading {path.name}") as update:
        header = fh.readline().split()
        if len(header) != 2 or not all(p.isdigit() for p in header):
            raise EmbeddingFileError(
                f"{path}: not a word2vec binary file (the first line "
                f"should be 'N_WORDS DIM', got {b' '.join(header[:4])[:60]!r})"
            )
        n_words, dim = int(header[0]), int(header[1])
        record = 4 * dim
        col = _Collector(len(vocab), dim, len(vocab) - skip_rows)
        buf, pos, lines = b"", 0, 0
        eof = False
        for lines in range(1, n_words + 1):
            sp = buf.find(b" ", pos)
            while (sp < 0 or len(buf) - sp - 1 < record) and not eof:
                chunk = fh.read(1 << 22)
                eof = not chunk
                buf, pos = buf[pos:] + chunk, 0
                sp = buf.find(b" ")
            if sp < 0 or len(buf) - sp - 1 < record:
                raise EmbeddingFileError(
                    f"{path}: truncated after {lines - 1} of {n_words} "
                    f"words (the header promises {n_words} x {dim})"
                )
            word = buf[pos:sp].strip(b"\r\n")
            hits = keys.get(word)
            if hits is not None:
                col.offer(hits, np.frombuffer(buf, dtype="<f4", count=dim, offset=sp + 1))
                if col.complete:
                    break
            pos = sp + 1 + record
            if not lines & 0xFFFF:
                update(fh.tell())
        update(size)
    return col.vectors, col.how(), lines, 0


def _glove(path, vocab, **kw):
    return _scan_text(path, vocab, encoding="utf-8", header=False, **kw)


def _fasttext(path, vocab, **kw):
    return _scan_text(path, vocab, encoding="utf-8", header=True, **kw)


def _paragram(path, vocab, **kw):
    return _scan_text(path, vocab, encoding="latin-1", header=False, **kw)


def _word2vec(path, vocab, **kw):
    return _scan_word2vec(path, vocab, encoding="utf-8", **kw)


#: format name -> loader(path, vocab, fallbacks=, skip_rows=, progress=)
LOADERS = {"glove": _glove, "fasttext": _fasttext, "word2vec": _word2vec, "paragram": _paragram}


def vocab_digest(vocab) -> str:
    return content_hash("vocab", list(vocab))


def find_vectors(
    spec,
    vocab,
    *,
    fallbacks: bool = True,
    skip_rows: int = 0,
    progress: bool = False,
    cache: bool = True,
) -> FoundVectors:
    """Vectors of ``vocab``'s words (rows ``>= skip_rows``) from one embedding file."""
    fmt, path = parse_spec(spec)
    _check_file(path)
    fmt = fmt or detect_format(path)
    vocab = list(vocab)

    def compute():
        start = time.perf_counter()
        vectors, how, lines, bad = LOADERS[fmt](
            path, vocab, fallbacks=fallbacks, skip_rows=skip_rows, progress=progress
        )
        return {
            "vectors": vectors,
            "how": how,
            "stats": np.array([lines, bad], dtype=np.int64),
            "seconds": np.array(time.perf_counter() - start),
        }

    start = time.perf_counter()
    if cache:
        key = content_hash(
            _CACHE_VERSION, file_fingerprint(path), fmt, vocab_digest(vocab), fallbacks, skip_rows
        )
        arrays, hit = cached_arrays("embeddings", key, compute)
    else:
        arrays, hit = compute(), False
    how = arrays["how"]
    if not hit and not how.any() and arrays["stats"][0] == 0:
        raise EmbeddingFileError(f"{path}: no vectors read; is it a {fmt} file?")
    return FoundVectors(
        vectors=arrays["vectors"],
        how=how,
        path=str(path),
        format=fmt,
        lines=int(arrays["stats"][0]),
        bad_lines=int(arrays["stats"][1]),
        seconds=round(time.perf_counter() - start, 3),
        cache_hit=hit,
    )


# ---------------------------------------------------------------------------- matrix
def _mean_std(vectors: np.ndarray, hit: np.ndarray) -> tuple[float, float]:
    """Mean and std of the found rows' values (other rows are zeros), without copying them."""
    n = int(hit.sum()) * vectors.shape[1]
    if n == 0:
        return 0.0, 0.05
    total = float(vectors.sum(dtype=np.float64))
    squares = float(np.einsum("ij,ij->", vectors, vectors, dtype=np.float64))
    mean = total / n
    return mean, float(np.sqrt(max(squares / n - mean * mean, 0.0)))


def coverage(
    found: np.ndarray, counts: np.ndarray | None, vocab, skip_rows: int = 0, top_missing: int = 20
) -> dict:
    """Share of the vocabulary and of the tokens (``counts`` per id) whose vector was found."""
    found = np.asarray(found, dtype=bool)
    words = slice(skip_rows, None)
    n_words = max(1, len(found) - skip_rows)
    out: dict[str, Any] = {
        "vocab_size": len(found) - skip_rows,
        "vocab_found": int(found[words].sum()),
        "vocab_coverage": round(float(found[words].sum()) / n_words, 6),
    }
    if counts is not None:
        counts = np.asarray(counts, dtype=np.int64)
        total = int(counts.sum())
        out["tokens"] = total
        out["token_coverage"] = round(float(counts[found].sum()) / total, 6) if total else 0.0
        missing = np.flatnonzero(~found & (counts > 0))
        missing = missing[missing >= skip_rows]
        top = missing[np.argsort(-counts[missing], kind="stable")[:top_missing]]
        out["top_missing"] = [[vocab[i], int(counts[i])] for i in top]
    return out


def embedding_matrix(
    specs,
    vocab,
    counts=None,
    *,
    combine: str = "concat",
    seed: int = 0,
    skip_rows: int = 2,
    pad_row: int | None = 0,
    fallbacks: bool = True,
    progress: bool = False,
    cache: bool = True,
) -> EmbeddingResult:
    """One (vocab_size, dim) matrix from one or several files, concatenated or averaged.

    Words missing from a file get normal noise with that file's mean and std (the classic
    Kaggle recipe); ``pad_row`` is all zeros. ``report`` holds each file's coverage and the
    combined one (found in any file).
    """
    if combine not in ("concat", "mean"):
        raise KaggleKitError(f"embeddings_combine must be concat or mean, got {combine!r}")
    specs = [s for s in specs if str(s).strip()]
    if not specs:
        raise KaggleKitError("no embedding file given")
    vocab = list(vocab)
    rng = np.random.default_rng(seed)
    files, blocks, founds = [], [], []
    for spec in specs:
        fv = find_vectors(
            spec, vocab, fallbacks=fallbacks, skip_rows=skip_rows, progress=progress, cache=cache
        )
        vectors = fv.vectors  # freshly computed or loaded: ours to fill in place
        hit = fv.found
        mean, std = _mean_std(vectors, hit)
        missing = ~hit
        vectors[missing] = rng.normal(mean, std or 0.05, (int(missing.sum()), fv.dim)).astype(
            np.float32
        )
        if pad_row is not None:
            vectors[pad_row] = 0.0
        blocks.append(vectors)
        founds.append(hit)
        how = fv.how[skip_rows:]
        files.append(
            {
                "path": fv.path,
                "format": fv.format,
                "dim": fv.dim,
                "lines": fv.lines,
                "bad_lines": fv.bad_lines,
                "seconds": fv.seconds,
                "cache_hit": fv.cache_hit,
                "found_by": {name: int((how == i + 1).sum()) for i, name in enumerate(FALLBACKS)},
                **coverage(hit, counts, vocab, skip_rows, top_missing=0),
            }
        )
    any_found = np.logical_or.reduce(founds)
    if len(blocks) == 1:
        matrix = blocks[0]
    elif combine == "concat":
        matrix = np.concatenate(blocks, axis=1)
    else:
        dims = {b.shape[1] for b in blocks}
        if len(dims) > 1:
            listing = ", ".join(f"{f['path']} ({f['dim']})" for f in files)
            raise KaggleKitError(
                f"embeddings_combine=mean needs files of one dimension; got {listing}"
            )
        hits = np.stack(founds).astype(np.float32)[:, :, None]  # (files, vocab, 1)
        stacked = np.stack(blocks)
        n = hits.sum(axis=0)
        matrix = np.where(n > 0, (stacked * hits).sum(axis=0) / np.maximum(n, 1), stacked[0])
        matrix = matrix.astype(np.float32)
    report = {
        "combine": combine,
        "dim": int(matrix.shape[1]),
        "files": files,
        **coverage(any_found, counts, vocab, skip_rows),
    }
    return EmbeddingResult(matrix=matrix, found=any_found, report=report)
