"""Jigsaw Multilingual Toxic Comment Classification
(``jigsaw-multilingual-toxic-comment-classification``).

Training rows are English: jigsaw-toxic-comment-train.csv
``id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate`` (the binary
target is ``toxic``) and, with ``-p unintended_bias=true``, also
jigsaw-unintended-bias-train.csv (``id,comment_text,toxic,...`` where ``toxic`` is the
share of raters who found it toxic; a row is toxic when that share is at least
``unintended_bias_threshold``). The official validation.csv ``id,comment_text,lang,toxic``
holds non-English rows like the test's; ``--validation-as-fold`` scores on it, and
``-p train_on_validation=true`` also trains on it (then the score is not held out).
test.csv is ``id,content,lang``; the submission ``id,toxic`` holds probabilities,
scored with ROC AUC.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kagglekit.competition import Competition
from kagglekit.data import read_csv
from kagglekit.errors import DataError
from kagglekit.hookspecs import hookimpl
from kagglekit.samples import COMMON, hex_ids, write_csv
from kagglekit_competitions.jigsaw import LABELS, prepare_comment, sample_comment, sample_labels

UNINTENDED_BIAS_FILE = "jigsaw-unintended-bias-train.csv"
# the columns of jigsaw-unintended-bias-train.csv that kagglekit reads (the real file has
# more: identity columns, dates, annotator counts, ...)
BIAS_COLUMNS = (
    "id",
    "comment_text",
    "toxic",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
)
VALIDATION_LANGS = ("es", "it", "tr")
TEST_LANGS = ("es", "fr", "it", "pt", "ru", "tr")
# a few non-English words per language, mixed into generated rows
FOREIGN = {
    "es": "el la que de y en los se del las un por con una para".split(),
    "it": "il di che e la per un in non sono una del con si".split(),
    "tr": "ve bir bu da ne ile için çok ama daha gibi olarak".split(),
    "fr": "le de et la les des en un une du que est pour".split(),
    "pt": "o de que e do da em um para com uma os no".split(),
    "ru": "и в не на я что он с как это по но из".split(),
}


@dataclass
class MultilingualParams:
    unintended_bias: bool = False  # add jigsaw-unintended-bias-train.csv to the training rows
    unintended_bias_threshold: float = 0.5  # toxic share at which such a row counts as toxic

    def validate(self):
        if not 0 < self.unintended_bias_threshold <= 1:
            raise ValueError(
                f"unintended_bias_threshold must be in (0, 1], got {self.unintended_bias_threshold}"
            )


def load(path: Path, split: str, *, encoding: str = "utf-8", params=None):
    """Train with the unintended-bias rows when asked; every other split: the CSV reader."""
    if split != "train" or not getattr(params, "unintended_bias", False):
        return None
    import pandas as pd

    train = read_csv(path, columns_needed=("id", "comment_text", "toxic"), encoding=encoding)
    bias_path = path.parent / UNINTENDED_BIAS_FILE
    if not bias_path.is_file():
        raise DataError(
            f"-p unintended_bias=true: {bias_path} not found; download it from the "
            f"competition's data page or drop the option"
        )
    bias = read_csv(bias_path, columns_needed=("id", "comment_text", "toxic"), encoding=encoding)
    share = pd.to_numeric(bias["toxic"], errors="coerce")
    bad = share.isna() | (share < 0) | (share > 1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{bias_path}: column 'toxic' has {bias['toxic'].iloc[row]!r} in row "
            f"{row + 1}; it must be a share between 0 and 1"
        )
    bias = bias[["id", "comment_text"]].assign(
        toxic=np.where(share >= params.unintended_bias_threshold, "1", "0")
    )
    return pd.concat([train, bias], ignore_index=True, sort=False)


def _multilingual_comment(rng, toxic: bool, lang: str) -> str:
    words = sample_comment(rng, [toxic, 0, 0, 0, int(toxic), 0]).split()
    native = FOREIGN[lang]
    for i in range(len(words)):  # most words in the language's own; some English left
        if (words[i] in COMMON or rng.random() < 0.4) and rng.random() < 0.8:
            words[i] = native[int(rng.integers(len(native)))]
    return " ".join(words)


def make_sample(
    directory: Path,
    n_train: int = 600,
    n_test: int = 200,
    seed: int = 0,
    n_validation: int | None = None,
) -> None:
    """jigsaw-toxic-comment-train.csv, validation.csv, test.csv, sample_submission.csv and a
    small jigsaw-unintended-bias-train.csv, in the real files' columns and id styles."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    n_validation = n_validation or max(60, n_train // 3)
    y = sample_labels(rng, n_train)
    ids = hex_ids(rng, n_train)
    write_csv(
        directory / "jigsaw-toxic-comment-train.csv",
        ["id", "comment_text", *LABELS],
        ([ids[i], sample_comment(rng, y[i]), *y[i]] for i in range(n_train)),
    )
    valid_toxic = rng.random(n_validation) < 0.25
    write_csv(
        directory / "validation.csv",
        ["id", "comment_text", "lang", "toxic"],
        (
            [i, _multilingual_comment(rng, t, lang := VALIDATION_LANGS[i % 3]), lang, int(t)]
            for i, t in enumerate(valid_toxic)
        ),
    )
    test_toxic = rng.random(n_test) < 0.25
    test_langs = [TEST_LANGS[int(rng.integers(len(TEST_LANGS)))] for _ in range(n_test)]
    write_csv(
        directory / "test.csv",
        ["id", "content", "lang"],
        (
            [i, _multilingual_comment(rng, t, lang), lang]
            for i, (t, lang) in enumerate(zip(test_toxic, test_langs))
        ),
    )
    write_csv(
        directory / "sample_submission.csv", ["id", "toxic"], ([i, 0.5] for i in range(n_test))
    )
    n_bias = max(20, n_train // 4)
    share = np.round(rng.beta(0.4, 2.0, n_bias), 6)
    write_csv(
        directory / UNINTENDED_BIAS_FILE,
        list(BIAS_COLUMNS),
        (
            [
                59848 + 3 * i,
                sample_comment(rng, [s >= 0.5, 0, 0, 0, 0, 0]),
                s,
                *np.round(share[i] * rng.random(5), 6),
            ]
            for i, s in enumerate(share)
        ),
    )


JIGSAW_MULTILINGUAL = Competition(
    name="jigsaw-multilingual-toxic-comment-classification",
    title="Jigsaw Multilingual Toxic Comment Classification",
    aliases=("jigsaw-multilingual", "multilingual"),
    task="binary",
    id_column="id",
    text_columns=("comment_text",),
    target_columns=("toxic",),
    metric="auc",
    train_file="jigsaw-toxic-comment-train.csv",
    validation_file="validation.csv",
    test_file="test.csv",
    test_text_columns=("content",),
    submission_kind="probability",
    params=MultilingualParams,
    load=load,
    prepare_text=prepare_comment,
    make_sample=make_sample,
    url="https://www.kaggle.com/competitions/jigsaw-multilingual-toxic-comment-classification",
)


@hookimpl
def register_competitions(register):
    register(JIGSAW_MULTILINGUAL)
