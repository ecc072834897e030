"""Full-size competition files, built on demand from the real rows in ../shared/data.

Each competition's files come out in their exact Kaggle layout (names, columns, quoting,
id styles) at the real Kaggle row counts (times --scale), into
``<out>/<kaggle-slug>/`` (default out: benchmarks/_work/fullsize, or
benchmarks/_work/fullsize-x<scale> for another --scale; gitignored, never committed).

- Rows are drawn with replacement (seeded) from the real rows in ../shared/data, with
  their labels, so label rates stay the real ones. Where a file needs rows the shared
  files lack (Jigsaw's scored test rows and test_labels.csv, the multilingual validation
  file, IMDb's test and unlabelled files), a disjoint share of the labelled rows is held out
  for them, so no text is in both a training file and a test file.
- A share of the words (--novel-share, default 10%) is replaced by made-up words drawn
  from a Zipf vocabulary (--zipf-exponent 1.1 over --pool-size 4M made-up strings), so the
  vocabulary grows with the number of rows as real text's does (Heaps' law); the
  distinct-word counts at 10%, 30% and 100% of each file's rows are printed and recorded.
- Ids are made fresh and unique in each competition's style.
- Built in a temporary folder renamed when complete; the options are recorded in
  ``.fullsize.json`` beside the files, and a folder built with the same options is left as
  it is.

Progress goes to stderr; stdout gets one line per competition: its folder.

    python benchmarks/make_fullsize.py [--competition quora ...] [--scale 1.0]
        [--out DIR] [--seed 0] [--novel-share 0.1] [--force]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
WORK = ROOT / "benchmarks" / "_work"
META = ".fullsize.json"
VERSION = 1  # bump when the output for the same options changes

QUORA = "quora-insincere-questions-classification"
JIGSAW = "jigsaw-toxic-comment-classification-challenge"
TWEETS = "nlp-getting-started"
MULTILINGUAL = "jigsaw-multilingual-toxic-comment-classification"
IMDB = "word2vec-nlp-tutorial"
IMDB_SOURCE = "imdb-dataset-of-50k-movie-reviews"

# the real Kaggle row counts
COUNTS = {
    QUORA: {"train": 1_306_122, "test": 375_806},
    JIGSAW: {"train": 159_571, "test": 153_164, "scored": 63_978},
    TWEETS: {"train": 7_613, "test": 3_263},
    MULTILINGUAL: {
        "toxic_train": 223_549,
        "bias_train": 1_902_194,
        "validation": 8_000,
        "test": 63_812,
    },
    IMDB: {"train": 25_000, "test": 25_000, "unlabeled": 50_000},
}
# the source files each competition reads, under ../shared/data
SOURCES = {
    QUORA: [f"{QUORA}/train.csv", f"{QUORA}/test.csv"],
    JIGSAW: [f"{JIGSAW}/train.csv", f"{JIGSAW}/test.csv"],
    TWEETS: [f"{TWEETS}/train.csv", f"{TWEETS}/test.csv"],
    MULTILINGUAL: [f"{JIGSAW}/train.csv", f"{JIGSAW}/test.csv"],
    IMDB: [f"{IMDB_SOURCE}/IMDB Dataset.csv"],
}
ORDER = (QUORA, JIGSAW, TWEETS, MULTILINGUAL, IMDB)

# Kaggle's multilingual validation.csv: 1,230 of its 8,000 rows are toxic; languages
VALIDATION_TOXIC = 1_230 / 8_000
VALIDATION_LANG_COUNTS = {"es": 2_500, "it": 2_500, "tr": 3_000}
TEST_LANG_COUNTS = {
    "es": 8_438,
    "fr": 10_920,
    "it": 8_494,
    "pt": 11_012,
    "ru": 10_948,
    "tr": 14_000,
}  # approximately Kaggle's test.csv
FOREIGN_SHARE = 0.5  # of a multilingual validation/test row's words become that language's
JIGSAW_HELD_OUT = 0.2  # of the shared Jigsaw train rows: scored test rows / validation rows
IMDB_POOLS = (0.5, 0.25, 0.25)  # of the 2,000 IMDb rows: train / test / unlabelled
CHUNK_TOKENS = 2_000_000  # tokens rendered at once (memory stays flat)
DELIM = "\x00"  # ends each rendered row inside a chunk's joined text

# a token is a word (\w+) or what lies between words; URLs, HTML tags and entities are
# kept whole between words, so "<br />" and links survive the word replacement
_TOKEN = re.compile(r"(https?://\S+|www\.\S+|</?[A-Za-z][^<>]{0,60}>|&#?\w+;)|(\w+)")
_CONSONANTS = "bcdfghjklmnprstvwxyz"
_SYLLABLES = np.array([c + v for c in _CONSONANTS for v in "aeiou"], dtype="U2")  # 100


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- tokens --------------------------------------------------------------------------------


class Vocab:
    """Every distinct token string of a competition's source texts, with an id."""

    def __init__(self):
        self.index: dict[str, int] = {}
        self.words: list[bool] = []

    def add(self, token: str, word: bool) -> int:
        i = self.index.get(token)
        if i is None:
            i = self.index[token] = len(self.words)
            self.words.append(word)
        return i

    def freeze(self):
        strings = list(self.index)
        self.size = len(strings)
        self.strings = np.array(strings + [""], dtype=object)[:-1]  # 1-d even if all equal
        self.is_word = np.array(self.words, dtype=bool)
        self.eligible = np.array(
            [w and s.isalpha() for s, w in zip(strings, self.words)], dtype=bool
        )
        # 0 lower, 1 Title, 2 UPPER: a made-up word takes the case of the word it replaces
        self.case = np.array(
            [
                (2 if s.isupper() and len(s) > 1 else 1 if s[:1].isupper() else 0) if w else 0
                for s, w in zip(strings, self.words)
            ],
            dtype=np.int32,
        )


@dataclass
class Corpus:
    """Source texts tokenized once: row i is tokens[offsets[i]:offsets[i+1]], alternately
    between-words and word token ids, starting and ending with a between-words token (the
    last one carries DELIM)."""

    tokens: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, vocab: Vocab, texts) -> Corpus:
        tokens, offsets = [], [0]
        for text in texts:
            text = "" if not isinstance(text, str) else text
            if DELIM in text:
                raise ValueError(f"a source text holds {DELIM!r}; pick another DELIM")
            last = 0
            for match in _TOKEN.finditer(text):
                if match.group(2) is None:
                    continue
                tokens.append(vocab.add(text[last : match.start()], False))
                tokens.append(vocab.add(match.group(2), True))
                last = match.end()
            tokens.append(vocab.add(text[last:] + DELIM, False))
            offsets.append(len(tokens))
        return cls(np.array(tokens, dtype=np.int32), np.array(offsets, dtype=np.int64))

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1


class Heaps:
    """Distinct words seen so far in a file's rows, read at a few row counts."""

    def __init__(self, size: int, n_rows: int, shares=(0.1, 0.3, 1.0)):
        self.seen = np.zeros(size, dtype=bool)
        self.at = {f"{round(s * 100)}%": max(1, round(s * n_rows)) for s in shares}
        self.counts: dict[str, int] = {}

    def cuts(self) -> list[int]:
        return sorted(set(self.at.values()))

    def add(self, word_ids: np.ndarray, rows_done: int) -> None:
        self.seen[word_ids] = True
        for name, rows in self.at.items():
            if rows == rows_done:
                self.counts[name] = int(self.seen.sum())


# --- the generator -------------------------------------------------------------------------


@dataclass
class Table:
    """One output file: fixed columns given whole, plus at most one generated text column."""

    name: str
    columns: list[str]
    data: dict
    text: str | None = None
    rows: np.ndarray | None = None  # the corpus row each output row is drawn from
    lang: np.ndarray | None = None  # a language index per row (multilingual)
    tsv: bool = False  # IMDb's quoted TSV, backslash escapes
    quote_strings: bool = False  # every string quoted (IMDb's sampleSubmission.csv)

    def __len__(self) -> int:
        return len(self.rows) if self.rows is not None else len(next(iter(self.data.values())))


@dataclass
class Builder:
    slug: str
    scale: float
    seed: int
    novel_share: float
    zipf_exponent: float
    pool_size: int
    vocab: Vocab = field(default_factory=Vocab)

    def __post_init__(self):
        self.rng = np.random.default_rng([self.seed, zlib.crc32(self.slug.encode())])
        self.langs: list[str] = []
        self.foreign_ids = np.zeros(0, dtype=np.int32)

    def count(self, real: int) -> int:
        return max(1, round(self.scale * real))

    def corpus(self, texts) -> Corpus:
        return Corpus.build(self.vocab, texts)

    def add_languages(self, words: dict[str, list[str]]) -> None:
        """Words that replace FOREIGN_SHARE of a row's words in rows with a language."""
        self.langs = list(words)
        ids = [[self.vocab.add(w, True) for w in words[lang]] for lang in self.langs]
        self.foreign_sizes = np.array([len(x) for x in ids])
        self.foreign_starts = np.concatenate([[0], np.cumsum(self.foreign_sizes)[:-1]])
        self.foreign_ids = np.array([i for x in ids for i in x], dtype=np.int32)

    def freeze(self) -> None:
        self.vocab.freeze()
        self.id_space = self.vocab.size + 3 * self.pool_size
        if self.id_space >= 2**31:
            raise ValueError(f"--pool-size {self.pool_size} is too large")

    def draw(self, pool, n: int) -> np.ndarray:
        pool = np.asarray(pool)
        return pool[self.rng.integers(0, len(pool), n)]

    def both_classes(self, rows: np.ndarray, labels: np.ndarray, pool) -> np.ndarray:
        """A binary file's drawn rows with both classes: at tiny scales one row may be swapped
        for a row of the missing class (the loader refuses a one-class training file)."""
        y = labels[rows]
        if len(rows) >= 2 and y.min() == y.max():
            other = np.asarray(pool)[labels[np.asarray(pool)] != y[0]]
            if len(other):
                rows = rows.copy()
                rows[self.rng.integers(len(rows))] = other[self.rng.integers(len(other))]
        return rows

    def hex_ids(self, n: int, width: int) -> np.ndarray:
        """n distinct random lowercase hex strings of ``width`` digits."""
        out = np.zeros(0, dtype=f"S{width}")
        while len(out) < n:
            need = n - len(out)
            raw = self.rng.bytes((need * width + 1) // 2 + 1).hex()[: need * width]
            fresh = np.frombuffer(raw.encode("ascii"), dtype=f"S{width}")
            out = np.concatenate([out, fresh])
            _, first = np.unique(out, return_index=True)
            out = out[np.sort(first)]
        return out.astype(f"U{width}")

    # the words
    def zipf_ranks(self, n: int) -> np.ndarray:
        """n ranks in [0, pool_size) with P(rank r) ~ (r+1)^-s (continuous inverse CDF)."""
        u = self.rng.random(n)
        s, top = self.zipf_exponent, self.pool_size + 1.0
        if abs(s - 1) < 1e-9:
            x = np.exp(u * np.log(top))
        else:
            a = 1.0 - s
            x = ((top**a - 1.0) * u + 1.0) ** (1.0 / a)
        return np.clip(x.astype(np.int64) - 1, 0, self.pool_size - 1).astype(np.int32)

    @staticmethod
    def made_up(codes: np.ndarray) -> np.ndarray:
        """Made-up word strings for codes rank*3 + case: two consonant-vowel syllables for
        the 9,900 most frequent ranks, three for the next 990,000, then four ("kobe",
        "hozumi"), scattered by a fixed bijection so that frequent words share no prefix;
        lower, Title or UPPER case."""
        rank, case = (codes // 3).astype(np.int64), codes % 3
        n_syll = np.where(rank < 9_900, 2, np.where(rank < 999_900, 3, 4))
        first = np.array([0, 0, 0, 9_900, 999_900])[n_syll]  # the first rank of its length
        size = 99 * 100 ** (n_syll - 1)  # codes of that length: 100**(n-1) .. 100**n - 1
        number = 100 ** (n_syll - 1) + ((rank - first) * 7_919) % size  # 7919: coprime
        upper = np.char.upper(_SYLLABLES)
        title = np.char.capitalize(_SYLLABLES)
        out = np.full((len(codes), 4), "", dtype="U2")
        for j in range(4):
            digit = (number // 100 ** np.maximum(n_syll - 1 - j, 0)) % 100
            part = np.where(case == 2, upper[digit], _SYLLABLES[digit])
            if j == 0:
                part = np.where(case == 1, title[digit], part)
            out[:, j] = np.where(j < n_syll, part, "")
        return out.view("U8").ravel().astype(object)

    def render(
        self, corpus: Corpus, rows: np.ndarray, lang=None, heaps: Heaps | None = None, done: int = 0
    ) -> list[str]:
        """The texts of ``rows`` with novel (and, with ``lang``, foreign) words put in."""
        v = self.vocab
        lens = corpus.lengths[rows]
        ends = np.cumsum(lens)
        total = int(ends[-1])
        pos = np.repeat(corpus.offsets[rows] - (ends - lens), lens) + np.arange(total)
        tok = corpus.tokens[pos]
        del pos
        eligible = v.eligible[tok]
        novel = eligible & (self.rng.random(total) < self.novel_share)
        if lang is not None:
            foreign = eligible & ~novel & (self.rng.random(total) < FOREIGN_SHARE)
            which = np.repeat(lang, lens)[foreign]
            pick = (self.rng.random(len(which)) * self.foreign_sizes[which]).astype(np.int64)
            tok[foreign] = self.foreign_ids[self.foreign_starts[which] + pick]
        tok[novel] = v.size + 3 * self.zipf_ranks(int(novel.sum())) + v.case[tok[novel]]
        is_novel = tok >= v.size
        if heaps is not None:
            heaps.add(tok[is_novel | v.is_word[np.minimum(tok, v.size - 1)]], done + len(rows))
        codes, inverse = np.unique(tok[is_novel], return_inverse=True)
        tok[is_novel] = v.size + inverse.astype(np.int32)
        table = np.concatenate([v.strings, self.made_up(codes - v.size)])
        texts = "".join(table[tok].tolist()).split(DELIM)
        texts.pop()
        return texts

    # the files
    def write(self, table: Table, corpus: Corpus | None, directory: Path) -> dict:
        import pandas as pd

        start = time.perf_counter()
        n = len(table)
        path = directory / table.name
        if table.tsv:
            options = dict(
                sep="\t", quoting=csv.QUOTE_NONNUMERIC, doublequote=False, escapechar="\\"
            )
        elif table.quote_strings:
            options = dict(quoting=csv.QUOTE_NONNUMERIC)
        else:
            options = dict(quoting=csv.QUOTE_MINIMAL)
        heaps = Heaps(self.id_space, n) if table.text else None
        if table.text:
            per_row = max(1.0, float(corpus.lengths[table.rows].mean()))
            step = max(1, int(CHUNK_TOKENS / per_row))
            bounds = sorted(set(range(0, n, step)) | set(heaps.cuts()) | {n})
        else:
            bounds = [0, n]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            if table.tsv:  # Kaggle's TSV header is not quoted
                fh.write("\t".join(table.columns) + "\n")
            for a, b in zip(bounds, bounds[1:]):
                frame = {}
                for col in table.columns:
                    if col == table.text:
                        frame[col] = self.render(
                            corpus,
                            table.rows[a:b],
                            None if table.lang is None else table.lang[a:b],
                            heaps,
                            a,
                        )
                    else:
                        frame[col] = table.data[col][a:b]
                pd.DataFrame(frame, columns=table.columns).to_csv(
                    fh,
                    index=False,
                    header=(a == 0 and not table.tsv),
                    lineterminator="\n",
                    **options,
                )
        seconds = time.perf_counter() - start
        info = {
            "rows": n,
            "columns": table.columns,
            "bytes": path.stat().st_size,
            "seconds": round(seconds, 2),
        }
        line = f"  {table.name}: {n:,} rows, {info['bytes'] / 2**20:,.1f} MiB, {seconds:.1f} s"
        if heaps is not None:
            info["distinct_words"] = heaps.counts
            line += (
                "; distinct words at "
                + " / ".join(heaps.counts)
                + " of rows: "
                + " / ".join(f"{c:,}" for c in heaps.counts.values())
            )
        log(line)
        return info


# --- the competitions ----------------------------------------------------------------------


def read_source(source_dir: Path, relative: str):
    import pandas as pd

    path = source_dir / relative
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def exact_counts(n: int, weights: dict) -> np.ndarray:
    """n split over the weights' keys in proportion (largest remainders), as key indices."""
    w = np.array(list(weights.values()), dtype=float)
    raw = n * w / w.sum()
    counts = np.floor(raw).astype(int)
    counts[np.argsort(counts - raw)[: n - counts.sum()]] += 1
    return np.repeat(np.arange(len(w)), counts)


def split_pools(seed: int, n: int, shares) -> list[np.ndarray]:
    """Disjoint shares of range(n), the same for every competition built with this seed."""
    order = np.random.default_rng([seed, zlib.crc32(b"pools"), n]).permutation(n)
    cuts = np.round(np.cumsum(shares)[:-1] * n).astype(int)
    return np.split(order, cuts)


def build_quora(b: Builder, src: Path) -> list[tuple[Table, Corpus | None]]:
    train, test = read_source(src, SOURCES[QUORA][0]), read_source(src, SOURCES[QUORA][1])
    corpus = b.corpus([*train["question_text"], *test["question_text"]])
    b.freeze()
    labels = np.concatenate(
        [train["target"].astype(np.int8).to_numpy(), np.full(len(test), -1, np.int8)]
    )
    n_train, n_test = b.count(COUNTS[QUORA]["train"]), b.count(COUNTS[QUORA]["test"])
    train_pool = np.arange(len(train))
    rows = b.both_classes(b.draw(train_pool, n_train), labels, train_pool)
    test_rows = b.draw(np.arange(len(train), len(train) + len(test)), n_test)
    qids = b.hex_ids(n_train + n_test, 20)  # Kaggle's files are sorted by qid
    train_ids, test_ids = np.sort(qids[:n_train]), np.sort(qids[n_train:])
    return [
        (
            Table(
                "train.csv",
                ["qid", "question_text", "target"],
                {"qid": train_ids, "target": labels[rows]},
                "question_text",
                rows,
            ),
            corpus,
        ),
        (
            Table(
                "test.csv", ["qid", "question_text"], {"qid": test_ids}, "question_text", test_rows
            ),
            corpus,
        ),
        (
            Table(
                "sample_submission.csv",
                ["qid", "prediction"],
                {"qid": test_ids, "prediction": np.zeros(n_test, np.int8)},
            ),
            None,
        ),
    ]


def jigsaw_sources(b: Builder, src: Path):
    """(corpus of the shared train + test comments, (n, 6) labels (-1 on test rows),
    train pool, held-out labelled pool, test pool)."""
    from kagglekit_competitions.jigsaw import LABELS

    train, test = read_source(src, SOURCES[JIGSAW][0]), read_source(src, SOURCES[JIGSAW][1])
    corpus = b.corpus([*train["comment_text"], *test["comment_text"]])
    labels = np.concatenate(
        [
            train[list(LABELS)].astype(np.int8).to_numpy(),
            np.full((len(test), len(LABELS)), -1, np.int8),
        ]
    )
    train_pool, held = split_pools(b.seed, len(train), (1 - JIGSAW_HELD_OUT, JIGSAW_HELD_OUT))
    return corpus, labels, train_pool, held, np.arange(len(train), len(train) + len(test))


def build_jigsaw(b: Builder, src: Path) -> list[tuple[Table, Corpus | None]]:
    from kagglekit_competitions.jigsaw import LABELS

    corpus, labels, train_pool, held, test_pool = jigsaw_sources(b, src)
    b.freeze()
    n_train, n_test = b.count(COUNTS[JIGSAW]["train"]), b.count(COUNTS[JIGSAW]["test"])
    n_scored = round(n_test * COUNTS[JIGSAW]["scored"] / COUNTS[JIGSAW]["test"])
    rows = b.draw(train_pool, n_train)
    # test rows: the scored ones (with labels in test_labels.csv) from the held-out labelled
    # rows, the rest (-1 in test_labels.csv, as Kaggle's unscored rows) from the shared test
    scored = b.rng.permutation(n_test) < n_scored
    test_rows = np.empty(n_test, dtype=np.int64)
    test_rows[scored] = b.draw(held, int(scored.sum()))
    test_rows[~scored] = b.draw(test_pool, int((~scored).sum()))
    ids = b.hex_ids(n_train + n_test, 16)
    train_ids, test_ids = np.sort(ids[:n_train]), np.sort(ids[n_train:])
    train_data = {"id": train_ids, **{c: labels[rows, j] for j, c in enumerate(LABELS)}}
    test_labels = np.where(scored[:, None], labels[test_rows], -1).astype(np.int8)
    return [
        (
            Table("train.csv", ["id", "comment_text", *LABELS], train_data, "comment_text", rows),
            corpus,
        ),
        (
            Table("test.csv", ["id", "comment_text"], {"id": test_ids}, "comment_text", test_rows),
            corpus,
        ),
        (
            Table(
                "test_labels.csv",
                ["id", *LABELS],
                {"id": test_ids, **{c: test_labels[:, j] for j, c in enumerate(LABELS)}},
            ),
            None,
        ),
        (
            Table(
                "sample_submission.csv",
                ["id", *LABELS],
                {"id": test_ids, **{c: np.full(n_test, 0.5) for c in LABELS}},
            ),
            None,
        ),
    ]


def build_tweets(b: Builder, src: Path) -> list[tuple[Table, Corpus | None]]:
    train, test = read_source(src, SOURCES[TWEETS][0]), read_source(src, SOURCES[TWEETS][1])
    both = [train, test]
    corpus = b.corpus([t for frame in both for t in frame["text"]])
    b.freeze()
    keyword = np.concatenate([f["keyword"].to_numpy(dtype=object) for f in both])
    location = np.concatenate([f["location"].to_numpy(dtype=object) for f in both])
    labels = np.concatenate(
        [train["target"].astype(np.int8).to_numpy(), np.full(len(test), -1, np.int8)]
    )
    n_train, n_test = b.count(COUNTS[TWEETS]["train"]), b.count(COUNTS[TWEETS]["test"])
    train_pool = np.arange(len(train))
    rows = b.both_classes(b.draw(train_pool, n_train), labels, train_pool)
    test_rows = b.draw(np.arange(len(train), len(train) + len(test)), n_test)
    # Kaggle's ids: one integer range shared by both files, each file sorted
    ids = b.rng.permutation(n_train + n_test)
    train_ids, test_ids = np.sort(ids[:n_train]), np.sort(ids[n_train:])

    def data(ids, rows, **more):
        return {"id": ids, "keyword": keyword[rows], "location": location[rows], **more}

    return [
        (
            Table(
                "train.csv",
                ["id", "keyword", "location", "text", "target"],
                data(train_ids, rows, target=labels[rows]),
                "text",
                rows,
            ),
            corpus,
        ),
        (
            Table(
                "test.csv",
                ["id", "keyword", "location", "text"],
                data(test_ids, test_rows),
                "text",
                test_rows,
            ),
            corpus,
        ),
        (
            Table(
                "sample_submission.csv",
                ["id", "target"],
                {"id": test_ids, "target": np.zeros(n_test, np.int8)},
            ),
            None,
        ),
    ]


def build_multilingual(b: Builder, src: Path) -> list[tuple[Table, Corpus | None]]:
    from kagglekit_competitions.jigsaw import LABELS
    from kagglekit_competitions.jigsaw_multilingual import (
        BIAS_COLUMNS,
        FOREIGN,
        TEST_LANGS,
        UNINTENDED_BIAS_FILE,
        VALIDATION_LANGS,
    )

    corpus, labels, train_pool, held, test_pool = jigsaw_sources(b, src)
    assert set(VALIDATION_LANG_COUNTS) == set(VALIDATION_LANGS), "the adapter's languages changed"
    assert set(TEST_LANG_COUNTS) == set(TEST_LANGS), "the adapter's languages changed"
    b.add_languages({lang: FOREIGN[lang] for lang in TEST_LANGS})
    b.freeze()
    counts = COUNTS[MULTILINGUAL]
    n_toxic, n_bias = b.count(counts["toxic_train"]), b.count(counts["bias_train"])
    n_valid, n_test = b.count(counts["validation"]), b.count(counts["test"])
    langs = np.array(b.langs)
    lang_index = {lang: i for i, lang in enumerate(b.langs)}
    tables = []

    rows = b.draw(train_pool, n_toxic)
    tables.append(
        (
            Table(
                "jigsaw-toxic-comment-train.csv",
                ["id", "comment_text", *LABELS],
                {
                    "id": np.sort(b.hex_ids(n_toxic, 16)),
                    **{c: labels[rows, j] for j, c in enumerate(LABELS)},
                },
                "comment_text",
                rows,
            ),
            corpus,
        )
    )

    # the unintended-bias rows: the toxic columns are shares of k of n raters, a row's share
    # at least 0.5 where its source row is toxic; integer ids rising with gaps from 59848
    rows = b.draw(train_pool, n_bias)
    y = labels[rows]
    raters = b.rng.integers(4, 11, n_bias)
    half = (raters + 1) // 2
    toxic_k = np.where(
        y[:, 0] == 1,
        b.rng.integers(half, raters + 1),
        np.where(b.rng.random(n_bias) < 0.7, 0, (b.rng.random(n_bias) * half).astype(int)),
    )
    share = toxic_k / raters
    data = {"id": 59848 + np.cumsum(b.rng.integers(1, 6, n_bias)) - 1, "toxic": np.round(share, 6)}
    source_of = {
        "severe_toxicity": "severe_toxic",
        "obscene": "obscene",
        "identity_attack": "identity_hate",
        "insult": "insult",
        "threat": "threat",
    }
    for col in BIAS_COLUMNS:
        if col in source_of:
            on = y[:, LABELS.index(source_of[col])] == 1
            data[col] = np.round(
                np.where(
                    on,
                    share * b.rng.uniform(0.5, 1.0, n_bias),
                    share * b.rng.uniform(0, 0.3, n_bias),
                ),
                6,
            )
    tables.append(
        (Table(UNINTENDED_BIAS_FILE, list(BIAS_COLUMNS), data, "comment_text", rows), corpus)
    )

    # validation: held-out labelled rows at Kaggle's validation toxic rate, ids 0..n-1
    toxic = held[labels[held, 0] == 1]
    clean = held[labels[held, 0] == 0]
    is_toxic = b.rng.random(n_valid) < VALIDATION_TOXIC
    if n_valid >= 2 and (is_toxic.all() or not is_toxic.any()):
        is_toxic[b.rng.integers(n_valid)] = not is_toxic[0]
    rows = np.where(is_toxic, b.draw(toxic, n_valid), b.draw(clean, n_valid))
    lang = np.array([lang_index[x] for x in VALIDATION_LANG_COUNTS])[
        b.rng.permutation(exact_counts(n_valid, VALIDATION_LANG_COUNTS))
    ]
    tables.append(
        (
            Table(
                "validation.csv",
                ["id", "comment_text", "lang", "toxic"],
                {"id": np.arange(n_valid), "lang": langs[lang], "toxic": labels[rows, 0]},
                "comment_text",
                rows,
                lang,
            ),
            corpus,
        )
    )

    rows = b.draw(test_pool, n_test)
    lang = np.array([lang_index[x] for x in TEST_LANG_COUNTS])[
        b.rng.permutation(exact_counts(n_test, TEST_LANG_COUNTS))
    ]
    tables.append(
        (
            Table(
                "test.csv",
                ["id", "content", "lang"],
                {"id": np.arange(n_test), "lang": langs[lang]},
                "content",
                rows,
                lang,
            ),
            corpus,
        )
    )
    tables.append(
        (
            Table(
                "sample_submission.csv",
                ["id", "toxic"],
                {"id": np.arange(n_test), "toxic": np.full(n_test, 0.5)},
            ),
            None,
        )
    )
    return tables


def imdb_ids(b: Builder, positive: np.ndarray) -> np.ndarray:
    """Ids "<number>_<rating>": ratings 7-10 for positive rows, 1-4 for negative ones, and
    numbers below 12,500 as in aclImdb, (number, rating) pairs distinct over all rows."""
    out = np.empty(len(positive), dtype=object)
    for flag, low in ((True, 7), (False, 1)):
        where = np.flatnonzero(positive == flag)
        space = 4 * max(12_500, -(-len(where) // 4))
        code = b.rng.choice(space, len(where), replace=False)
        out[where] = [f"{c // 4}_{low + c % 4}" for c in code.tolist()]
    return out


def build_imdb(b: Builder, src: Path) -> list[tuple[Table, Corpus | None]]:
    reviews = read_source(src, SOURCES[IMDB][0])
    corpus = b.corpus(reviews["review"])
    b.freeze()
    labels = (reviews["sentiment"] == "positive").to_numpy().astype(np.int8)
    train_pool, test_pool, unlabeled_pool = split_pools(b.seed, len(reviews), IMDB_POOLS)
    counts = COUNTS[IMDB]
    n_train, n_test, n_unl = (
        b.count(counts["train"]),
        b.count(counts["test"]),
        b.count(counts["unlabeled"]),
    )
    rows = b.both_classes(b.draw(train_pool, n_train), labels, train_pool)
    test_rows = b.draw(test_pool, n_test)
    unl_rows = b.draw(unlabeled_pool, n_unl)
    ids = imdb_ids(b, labels[np.concatenate([rows, test_rows])] == 1)
    train_ids, test_ids = ids[:n_train], ids[n_train:]
    unl_ids = np.array(
        [f"{n}_0" for n in b.rng.permutation(max(50_000, n_unl))[:n_unl]], dtype=object
    )
    return [
        (
            Table(
                "labeledTrainData.tsv",
                ["id", "sentiment", "review"],
                {"id": train_ids, "sentiment": labels[rows]},
                "review",
                rows,
                tsv=True,
            ),
            corpus,
        ),
        (
            Table(
                "testData.tsv", ["id", "review"], {"id": test_ids}, "review", test_rows, tsv=True
            ),
            corpus,
        ),
        (
            Table(
                "unlabeledTrainData.tsv",
                ["id", "review"],
                {"id": unl_ids},
                "review",
                unl_rows,
                tsv=True,
            ),
            corpus,
        ),
        (
            Table(
                "sampleSubmission.csv",
                ["id", "sentiment"],
                {"id": test_ids, "sentiment": np.zeros(n_test, np.int8)},
                quote_strings=True,
            ),
            None,
        ),
    ]


BUILDERS = {
    QUORA: build_quora,
    JIGSAW: build_jigsaw,
    TWEETS: build_tweets,
    MULTILINGUAL: build_multilingual,
    IMDB: build_imdb,
}


# --- building a folder ---------------------------------------------------------------------


def default_out(scale: float) -> Path:
    return WORK / ("fullsize" if scale == 1 else f"fullsize-x{scale:g}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(out: Path, slug: str) -> None:
    """Temporary folders of builds that died (their process is gone)."""
    for stale in out.glob(f".{slug}.*-*"):
        try:
            pid = int(stale.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(stale, ignore_errors=True)


def build(
    slug: str,
    *,
    out: Path | None = None,
    scale: float = 1.0,
    seed: int = 0,
    novel_share: float = 0.1,
    zipf_exponent: float = 1.1,
    pool_size: int = 4_000_000,
    source_dir: Path = SHARED,
    force: bool = False,
) -> Path:
    """Build (once) one competition's files in ``out/<slug>/``; returns that folder."""
    out = Path(out) if out is not None else default_out(scale)
    target = out / slug
    missing = [s for s in SOURCES[slug] if not (Path(source_dir) / s).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{slug}: source file {Path(source_dir) / missing[0]} not found "
            f"(the real rows come from ../shared/data)"
        )
    options = {
        "version": VERSION,
        "competition": slug,
        "scale": scale,
        "seed": seed,
        "novel_share": novel_share,
        "zipf_exponent": zipf_exponent,
        "pool_size": pool_size,
    }
    sources = {s: (Path(source_dir) / s).stat().st_size for s in SOURCES[slug]}
    meta_path = target / META
    if not force and meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text())
        except ValueError:
            old = {}
        if old.get("options") == options and old.get("sources") == sources:
            log(
                f"{slug}: already built with the same options in {target}; nothing to do "
                f"(--force builds it again)"
            )
            return target
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale(out, slug)
    log(
        f"{slug}: building at scale {scale:g} (seed {seed}, {novel_share:.0%} novel words) "
        f"in {target}"
    )
    start = time.perf_counter()
    tmp = out / f".{slug}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        builder = Builder(slug, scale, seed, novel_share, zipf_exponent, pool_size)
        tables = BUILDERS[slug](builder, Path(source_dir))
        log(
            f"  {builder.vocab.size:,} distinct source tokens (words and what lies between); "
            f"{time.perf_counter() - start:.1f} s to read and tokenize the source rows"
        )
        files = {table.name: builder.write(table, corpus, tmp) for table, corpus in tables}
        meta = {
            "options": options,
            "sources": sources,
            "files": files,
            "seconds": round(time.perf_counter() - start, 1),
            "made_by": "benchmarks/make_fullsize.py",
        }
        (tmp / META).write_text(json.dumps(meta, indent=2) + "\n")
        if target.exists():
            old_dir = out / f".{slug}.old-{os.getpid()}"
            target.rename(old_dir)
            tmp.rename(target)
            shutil.rmtree(old_dir, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"{slug}: done in {time.perf_counter() - start:.1f} s")
    return target


def resolve(name: str) -> str:
    """A Kaggle slug or a kagglekit alias -> the slug."""
    if name in BUILDERS:
        return name
    from kagglekit import plugins

    try:
        slug = plugins.get_competition(name).slug
    except Exception:  # noqa: BLE001 - any failure means "no such alias", said just below
        slug = None
    if slug not in BUILDERS:
        raise SystemExit(
            f"--competition {name}: not one of {', '.join(ORDER)} (or their kagglekit aliases)"
        )
    return slug


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="example: python benchmarks/make_fullsize.py --competition quora --scale 0.1",
    )
    parser.add_argument(
        "--competition",
        "-c",
        action="append",
        help="slug or kagglekit alias (repeatable) [default: all]",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiplies every row count [default: 1.0, Kaggle's counts]",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="data root: files go to OUT/<slug>/ [default: "
        "benchmarks/_work/fullsize, or fullsize-x<scale> for another scale]",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--novel-share",
        type=float,
        default=0.1,
        help="share of the words replaced by made-up Zipf words [default: 0.1]",
    )
    parser.add_argument("--zipf-exponent", type=float, default=1.1)
    parser.add_argument(
        "--pool-size",
        type=int,
        default=4_000_000,
        help="number of distinct made-up words to draw from [default: 4000000]",
    )
    parser.add_argument(
        "--source-dir",
        type=Path,
        default=SHARED,
        help="where the real rows are [default: ../shared/data]",
    )
    parser.add_argument("--force", action="store_true", help="build again even when up to date")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error(f"--scale must be above 0, got {args.scale}")
    if not 0 <= args.novel_share <= 1:
        parser.error(f"--novel-share must be in [0, 1], got {args.novel_share}")
    if args.zipf_exponent <= 0 or args.pool_size < 1:
        parser.error("--zipf-exponent must be above 0 and --pool-size at least 1")
    slugs = [resolve(c) for c in args.competition] if args.competition else list(ORDER)
    status = 0
    for slug in dict.fromkeys(slugs):
        try:
            path = build(
                slug,
                out=args.out,
                scale=args.scale,
                seed=args.seed,
                novel_share=args.novel_share,
                zipf_exponent=args.zipf_exponent,
                pool_size=args.pool_size,
                source_dir=args.source_dir,
                force=args.force,
            )
        except FileNotFoundError as exc:
            log(f"skipped: {exc}")
            status = 1 if args.competition else status
            continue
        print(path, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
