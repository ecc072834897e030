"""Toxic Comment Classification Challenge (``jigsaw-toxic-comment-classification-challenge``).

train.csv ``id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate``,
test.csv ``id,comment_text``, sample_submission.csv ``id`` + the six label columns of
probabilities. Scored with the mean column-wise ROC AUC. After the competition Kaggle
published test_labels.csv (same columns as train's labels) in which ``-1`` marks the
rows that were not scored; ``kagglekit score RUN`` leaves those out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kagglekit.competition import Competition
from kagglekit.hookspecs import hookimpl
from kagglekit.samples import COMMON, hex_ids, write_csv
from kagglekit_competitions.text_prep import collapse_spaces

LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")

# words that lean towards each label in generated samples (mild on purpose)
LEAN = {
    "toxic": "hate terrible awful garbage nonsense shut ugly worst trash".split(),
    "severe_toxic": "disgusting vile scum rot filthy".split(),
    "obscene": "crap damn bloody hell freaking".split(),
    "threat": "kill hurt destroy punch smash".split(),
    "insult": "idiot stupid moron loser pathetic dumb clown".split(),
    "identity_hate": "foreigners outsiders immigrants tribe".split(),
}
CLEAN = (
    "article edit page talk source thanks please wikipedia reference section "
    "citation discussion revert sentence improve agree consensus template"
).split()
# label rates in samples: toxic first, the others among toxic rows (higher than the
# real ones so that a sample of a few hundred rows has positives of every label)
SAMPLE_RATES = {
    "toxic": 0.25,
    "severe_toxic": 0.25,
    "obscene": 0.5,
    "threat": 0.2,
    "insult": 0.5,
    "identity_hate": 0.2,
}


def sample_labels(rng: np.random.Generator, n: int, rates=SAMPLE_RATES) -> np.ndarray:
    """(n, 6) 0/1 labels: the other labels only on toxic rows, like the real data."""
    y = np.zeros((n, len(LABELS)), dtype=int)
    y[:, 0] = rng.random(n) < rates["toxic"]
    for j, name in enumerate(LABELS[1:], start=1):
        y[:, j] = y[:, 0] & (rng.random(n) < rates[name])
    return y


def sample_comment(rng: np.random.Generator, labels) -> str:
    """A wiki-talk-like comment with words of its labels; some with newlines and quotes."""
    n = int(rng.integers(8, 30))
    pool = [w for name, on in zip(LABELS, labels) if on for w in LEAN[name]]
    words = []
    for _ in range(n):
        r = rng.random()
        if pool and r < 0.3:
            words.append(pool[int(rng.integers(len(pool)))])
        elif r < 0.55:
            words.append(CLEAN[int(rng.integers(len(CLEAN)))])
        else:
            words.append(COMMON[int(rng.integers(len(COMMON)))])
    text = " ".join(words)
    if rng.random() < 0.2:
        text = f'"\n{text}\n"'
    if rng.random() < 0.2:
        text += f" 14:{int(rng.integers(10, 60))}, 3 May 2006 (UTC)"
    return text


def make_sample(directory: Path, n_train: int = 600, n_test: int = 200, seed: int = 0) -> None:
    """train.csv, test.csv, sample_submission.csv and test_labels.csv in the real schema."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    ids = hex_ids(rng, n_train + n_test)
    y = sample_labels(rng, n_train + n_test)
    train = [[ids[i], sample_comment(rng, y[i]), *y[i]] for i in range(n_train)]
    write_csv(directory / "train.csv", ["id", "comment_text", *LABELS], train)
    test = range(n_train, n_train + n_test)
    write_csv(
        directory / "test.csv",
        ["id", "comment_text"],
        ([ids[i], sample_comment(rng, y[i])] for i in test),
    )
    write_csv(
        directory / "sample_submission.csv",
        ["id", *LABELS],
        ([ids[i], *[0.5] * len(LABELS)] for i in test),
    )
    scored = rng.random(n_test) < 0.6  # the real file scores about 42% of the test rows
    write_csv(
        directory / "test_labels.csv",
        ["id", *LABELS],
        ([ids[i], *(y[i] if s else [-1] * len(LABELS))] for i, s in zip(test, scored)),
    )


def prepare_comment(text: str) -> str:
    """Newlines and runs of spaces -> one space (the comments are wiki talk-page posts)."""
    return collapse_spaces(text)


JIGSAW = Competition(
    name="jigsaw-toxic-comment-classification-challenge",
    title="Toxic Comment Classification Challenge",
    aliases=("jigsaw", "jigsaw-toxic", "toxic"),
    task="multilabel",
    id_column="id",
    text_columns=("comment_text",),
    target_columns=LABELS,
    metric="mean_auc",
    extra_metrics=("log_loss",),
    submission_kind="probability",
    test_labels_file="test_labels.csv",
    unscored_label="-1",
    prepare_text=prepare_comment,
    make_sample=make_sample,
    url="https://www.kaggle.com/competitions/jigsaw-toxic-comment-classification-challenge",
)


@hookimpl
def register_competitions(register):
    register(JIGSAW)
