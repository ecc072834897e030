"""IMDb movie-review sentiment in its three common layouts, one competition each.

``word2vec-nlp-tutorial`` (alias ``imdb``; Kaggle's "Bag of Words Meets Bags of
Popcorn"): tab-separated labeledTrainData.tsv ``id<TAB>sentiment<TAB>review``,
testData.tsv ``id<TAB>review`` and unlabeledTrainData.tsv ``id<TAB>review``; ids look
like ``"5814_8"`` (review id and rating), fields are quoted and quotes inside reviews are
escaped with a backslash. sampleSubmission.csv is ``id,sentiment``; scored with ROC AUC.

``imdb-dataset-of-50k-movie-reviews`` (alias ``imdb-50k``; the Kaggle dataset "IMDB
Dataset of 50K Movie Reviews"): one file, ``IMDB Dataset.csv`` ``review,sentiment`` with
``positive``/``negative``, no ids and no test file: CV accuracy is the score.

``aclImdb`` (alias ``aclimdb``; the Stanford release, Maas et al. 2011): folders
``train/{pos,neg}/<id>_<rating>.txt``, ``test/{pos,neg}``, ``train/unsup`` (unlabelled)
and ``urls_{pos,neg}.txt`` whose line ``id`` is the review's IMDb movie page. Rows get the
id ``pos/<id>_<rating>`` and the movie as group column ``movie`` (no movie straddles
folds; the official test set holds other movies). The test folders are labelled, so
``kagglekit score RUN`` scores a run's test predictions.

Every layout's reviews contain ``<br />`` tags: they become spaces before any model sees
the text (``--no-prepare`` keeps them).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from kagglekit.competition import Competition
from kagglekit.errors import DataError
from kagglekit.hookspecs import hookimpl
from kagglekit.samples import sentence, write_csv
from kagglekit_competitions.text_prep import strip_html

POSITIVE = tuple(
    "great excellent wonderful loved brilliant best superb beautiful "
    "masterpiece enjoyed fantastic touching perfect".split()
)
NEGATIVE = tuple(
    "worst awful boring waste terrible bad poor stupid dull horrible "
    "disappointing mess annoying".split()
)
FILM = ("movie film plot acting story cast director scene ending characters script actors").split()


def prepare_review(text: str) -> str:
    """``<br />`` and other HTML tags -> spaces, entities decoded, spaces collapsed."""
    return strip_html(text)


def _review(rng: np.random.Generator, positive: bool) -> str:
    lean, other = (POSITIVE, NEGATIVE) if positive else (NEGATIVE, POSITIVE)
    parts = []
    for _ in range(int(rng.integers(2, 5))):
        text = sentence(rng, lean, other, length=(8, 20), signal=0.2)
        words = text.split()
        words.insert(int(rng.integers(len(words))), FILM[int(rng.integers(len(FILM)))])
        parts.append(" ".join(words).capitalize() + ".")
    text = "<br /><br />".join(parts)
    if rng.random() < 0.3:
        text = f'"{FILM[int(rng.integers(len(FILM)))].title()}" ' + text
    return text


def _rating(rng, positive: bool) -> int:
    return int(rng.integers(7, 11)) if positive else int(rng.integers(1, 5))


# --- word2vec-nlp-tutorial -------------------------------------------------------------


def _write_tsv(path: Path, header: list[str], rows) -> None:
    """Kaggle's layout: unquoted header; quoted id and review with \\" inside; bare labels."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(header) + "\n")
        for row in rows:
            cells = [
                f'"{v}"' if isinstance(v, str) else str(v)
                for v in (
                    c.replace("\\", "\\\\").replace('"', '\\"') if isinstance(c, str) else c
                    for c in row
                )
            ]
            fh.write("\t".join(cells) + "\n")


def make_tutorial_sample(
    directory: Path, n_train: int = 600, n_test: int = 200, seed: int = 0
) -> None:
    """labeledTrainData.tsv, testData.tsv, unlabeledTrainData.tsv and sampleSubmission.csv."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    numbers = rng.permutation(12500)
    n_unlabeled = max(50, n_train // 4)

    def rows(count, offset):
        for i in range(count):
            positive = bool(rng.random() < 0.5)
            yield (
                f"{numbers[(offset + i) % 12500]}_{_rating(rng, positive)}",
                int(positive),
                _review(rng, positive),
            )

    _write_tsv(directory / "labeledTrainData.tsv", ["id", "sentiment", "review"], rows(n_train, 0))
    test = [(rid, review) for rid, _, review in rows(n_test, n_train)]
    _write_tsv(directory / "testData.tsv", ["id", "review"], test)
    _write_tsv(
        directory / "unlabeledTrainData.tsv",
        ["id", "review"],
        ((f"{50000 - i}_0", _review(rng, rng.random() < 0.5)) for i in range(n_unlabeled)),
    )
    write_csv(
        directory / "sampleSubmission.csv", ["id", "sentiment"], ([rid, 0] for rid, _ in test)
    )


IMDB_TUTORIAL = Competition(
    name="word2vec-nlp-tutorial",
    title="Bag of Words Meets Bags of Popcorn (IMDb reviews)",
    aliases=("imdb", "popcorn"),
    task="binary",
    id_column="id",
    text_columns=("review",),
    target_columns=("sentiment",),
    metric="auc",
    extra_metrics=("accuracy",),
    train_file="labeledTrainData.tsv",
    test_file="testData.tsv",
    sample_submission_file="sampleSubmission.csv",
    unlabeled_file="unlabeledTrainData.tsv",
    read_options={"sep": "\t", "escapechar": "\\"},
    submission_kind="probability",
    prepare_text=prepare_review,
    make_sample=make_tutorial_sample,
    url="https://www.kaggle.com/competitions/word2vec-nlp-tutorial",
)


# --- IMDB Dataset of 50K Movie Reviews -------------------------------------------------


def make_50k_sample(directory: Path, n_train: int = 600, n_test: int = 0, seed: int = 0) -> None:
    """``IMDB Dataset.csv`` (``review,sentiment``); the dataset has no test file."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n_train) < 0.5
    write_csv(
        Path(directory) / "IMDB Dataset.csv",
        ["review", "sentiment"],
        ([_review(rng, p), "positive" if p else "negative"] for p in labels),
    )


IMDB_50K = Competition(
    name="imdb-dataset-of-50k-movie-reviews",
    title="IMDB Dataset of 50K Movie Reviews",
    aliases=("imdb-50k",),
    task="binary",
    id_column=None,
    text_columns=("review",),
    target_columns=("sentiment",),
    metric="accuracy",
    extra_metrics=("auc",),
    train_file="IMDB Dataset.csv",
    test_file=None,
    sample_submission_file=None,
    label_map={"negative": 0, "positive": 1},
    prepare_text=prepare_review,
    make_sample=make_50k_sample,
    url="https://www.kaggle.com/datasets/lakshmi25npathi/imdb-dataset-of-50k-movie-reviews",
)


# --- aclImdb folders -------------------------------------------------------------------

_FILE = re.compile(r"^(\d+)_(\d+)$")
_MOVIE = re.compile(r"(tt\d+)")


def _read_text(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not valid "
            f"{encoding}; re-save the file as UTF-8 or pass --encoding"
        ) from None


def _movies(path: Path, encoding: str) -> list[str] | None:
    """Line i of urls_<polarity>.txt -> the movie id of review i, or None without the file."""
    if not path.is_file():
        return None
    out = []
    for n, line in enumerate(_read_text(path, encoding).splitlines(), start=1):
        match = _MOVIE.search(line)
        if not match:
            raise DataError(f"{path}: line {n} ({line[:60]!r}) holds no IMDb title id (tt...)")
        out.append(match.group(1))
    return out


def _read_folder(folder: Path, polarity: str | None, encoding: str, movies) -> list[dict]:
    if not folder.is_dir():
        raise DataError(
            f"{folder}: folder not found; an aclImdb split holds pos/ and neg/ "
            f"folders of <id>_<rating>.txt reviews"
        )
    files = []
    for f in folder.glob("*.txt"):
        match = _FILE.match(f.stem)
        if not match:
            raise DataError(
                f"{f}: not an aclImdb review name (<id>_<rating>.txt); move it out of {folder}"
            )
        files.append((int(match.group(1)), f))
    rows = []
    name = folder.name
    for number, f in sorted(files):
        row = {
            "id": f"{name}/{f.stem}",
            "review": _read_text(f, encoding),
            "rating": f.stem.split("_")[1],
        }
        if polarity:
            row["sentiment"] = polarity
        if movies is not None:
            if number >= len(movies):
                raise DataError(
                    f"{f}: review {number} has no line in "
                    f"{folder.parent / f'urls_{name}.txt'} ({len(movies)} lines)"
                )
            row["movie"] = movies[number]
        rows.append(row)
    return rows


def load_acl(path: Path, split: str, *, encoding: str = "utf-8", params=None):
    """An aclImdb split folder as rows ``id,review,rating,sentiment[,movie]``."""
    import pandas as pd

    path = Path(path)
    if split == "labels" and (path / "test").is_dir():  # the aclImdb root was given
        path = path / "test"
    if split == "unlabeled":
        movies = _movies(path.parent / "urls_unsup.txt", encoding)
        rows = _read_folder(path, None, encoding, movies)
    else:
        if not path.is_dir():
            raise DataError(
                f"{path}: not a folder; aclImdb's {split} data is a folder with "
                f"pos/ and neg/ inside"
            )
        rows = []
        for polarity in ("pos", "neg"):
            movies = _movies(path / f"urls_{polarity}.txt", encoding)
            rows += _read_folder(path / polarity, polarity, encoding, movies)
    if not rows:
        raise DataError(f"{path}: no <id>_<rating>.txt reviews found")
    return pd.DataFrame(rows, dtype=object)


def make_acl_sample(directory: Path, n_train: int = 600, n_test: int = 200, seed: int = 0) -> None:
    """train/{pos,neg,unsup}, test/{pos,neg} and urls_*.txt; a movie has up to 6 reviews."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    movie_counter = iter(range(100000, 10**7, 7))

    def write_split(split: str, polarities: dict[str, int]):
        for polarity, count in polarities.items():
            folder = directory / split / polarity
            folder.mkdir(parents=True)
            urls, movie = [], None
            for number in range(count):
                if movie is None or rng.random() < 0.3:
                    movie = f"tt{next(movie_counter):07d}"
                urls.append(f"http://www.imdb.com/title/{movie}/usercomments")
                positive = polarity == "pos" if polarity != "unsup" else rng.random() < 0.5
                rating = 0 if polarity == "unsup" else _rating(rng, positive)
                (folder / f"{number}_{rating}.txt").write_text(
                    _review(rng, positive), encoding="utf-8"
                )
            (directory / split / f"urls_{polarity}.txt").write_text(
                "\n".join(urls) + "\n", encoding="utf-8"
            )

    half = n_train // 2
    write_split("train", {"pos": half, "neg": n_train - half, "unsup": max(20, n_train // 4)})
    write_split("test", {"pos": n_test // 2, "neg": n_test - n_test // 2})
    (directory / "README").write_text(
        "Large Movie Review Dataset v1.0 (generated sample)\n", encoding="utf-8"
    )


ACL_IMDB = Competition(
    name="aclImdb",
    title="Large Movie Review Dataset (aclImdb folders)",
    aliases=("aclimdb", "imdb-acl"),
    task="binary",
    id_column="id",
    text_columns=("review",),
    target_columns=("sentiment",),
    metric="accuracy",
    extra_metrics=("auc",),
    train_file="train",
    test_file="test",
    sample_submission_file=None,
    test_labels_file="test",
    unlabeled_file="train/unsup",
    group_column="movie",
    label_map={"neg": 0, "pos": 1},
    load=load_acl,
    submission_kind="probability",
    prepare_text=prepare_review,
    make_sample=make_acl_sample,
    url="https://ai.stanford.edu/~amaas/data/sentiment/",
)


@hookimpl
def register_competitions(register):
    register(IMDB_TUTORIAL)
    register(IMDB_50K)
    register(ACL_IMDB)
