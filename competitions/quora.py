"""Quora Insincere Questions Classification (``quora-insincere-questions-classification``).

train.csv ``qid,question_text,target`` (about 6% insincere), test.csv
``qid,question_text``, submission ``qid,prediction`` with 0/1 labels. Kaggle scored it
with F1, so the run's threshold is chosen on OOF predictions. Texts get the usual Quora
preparation: spaces around punctuation marks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kagglekit.competition import Competition
from kagglekit.hookspecs import hookimpl
from kagglekit.samples import hex_ids, sentence, write_csv
from kagglekit_competitions.text_prep import space_punctuation

INSINCERE = tuple(
    "why stupid liberals idiots hate trump muslims women dumb americans "
    "indians racist ugly fake pathetic".split()
)
SINCERE = tuple(
    "how best learn university career python job difference book start "
    "improve engineering study recommend prepare".split()
)
STARTS = ("What", "How", "Why", "Is", "Can", "Do", "Which", "Are")


def _question(rng: np.random.Generator, insincere: bool) -> str:
    lean, other = (INSINCERE, SINCERE) if insincere else (SINCERE, INSINCERE)
    text = sentence(rng, lean, other, length=(4, 14), signal=0.3)
    tail = ("?", "?", "?", " ?", "?!", "...?", ", right?")[int(rng.integers(7))]
    if rng.random() < 0.2:
        text += f" (e.g. {lean[int(rng.integers(len(lean)))]}'s)"
    return f"{STARTS[int(rng.integers(len(STARTS)))]} {text}{tail}"


def make_sample(directory: Path, n_train: int = 600, n_test: int = 200, seed: int = 0) -> None:
    """train.csv, test.csv and sample_submission.csv; qids are 20 hex digits, as on Kaggle."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    qids = hex_ids(rng, n_train + n_test, width=20)
    target = (rng.random(n_train + n_test) < 0.12).astype(int)  # real: 6.2%
    write_csv(
        directory / "train.csv",
        ["qid", "question_text", "target"],
        ([qids[i], _question(rng, target[i]), target[i]] for i in range(n_train)),
    )
    test = range(n_train, n_train + n_test)
    write_csv(
        directory / "test.csv",
        ["qid", "question_text"],
        ([qids[i], _question(rng, target[i])] for i in test),
    )
    write_csv(
        directory / "sample_submission.csv", ["qid", "prediction"], ([qids[i], 0] for i in test)
    )


QUORA = Competition(
    name="quora-insincere-questions-classification",
    title="Quora Insincere Questions Classification",
    aliases=("quora",),
    task="binary",
    id_column="qid",
    text_columns=("question_text",),
    target_columns=("target",),
    metric="f1",
    extra_metrics=("auc",),
    submission_columns=("prediction",),
    submission_kind="label",
    prepare_text=space_punctuation,
    make_sample=make_sample,
    code_competition=True,
    url="https://www.kaggle.com/competitions/quora-insincere-questions-classification",
)


@hookimpl
def register_competitions(register):
    register(QUORA)
