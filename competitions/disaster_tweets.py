"""Natural Language Processing with Disaster Tweets (``nlp-getting-started``).

train.csv ``id,keyword,location,text,target`` (keyword and location have NaN),
test.csv ``id,keyword,location,text``, submission ``id,target`` with 0/1 labels.
Kaggle scores it with F1, so the run's threshold is chosen on OOF predictions.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from kagglekit.competition import Competition
from kagglekit.hookspecs import hookimpl
from kagglekit.samples import sentence, write_csv

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_SPACE = re.compile(r"\s+")


def prepare_tweet(text: str) -> str:
    """URLs -> ``URL``, @mentions -> ``@USER``, HTML entities decoded, spaces collapsed."""
    text = _URL.sub(" URL ", text)
    text = _MENTION.sub("@USER", text)
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return _SPACE.sub(" ", text).strip()


DISASTER = tuple(
    "fire earthquake flood storm killed evacuation emergency crash wildfire "
    "burning collapse disaster explosion rescue injured hurricane tornado "
    "casualties derailment ablaze".split()
)
EVERYDAY = tuple(
    "love lol music game party happy movie song fun awesome weekend "
    "summer coffee friends beautiful dance video cute pizza".split()
)
KEYWORDS = (
    "ablaze",
    "accident",
    "airplane%20accident",
    "bioterror",
    "body%20bags",
    "collapse",
    "deluge",
    "fire",
    "flood",
    "wreckage",
)
LOCATIONS = ("USA", "London", "New York", "Worldwide", "California, USA", "Mumbai")


def make_sample(directory: Path, n_train: int = 600, n_test: int = 200, seed: int = 0) -> None:
    """A small sample with the real files' schema: ids with gaps, NaN keyword/location."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    ids = np.sort(rng.choice(np.arange(1, 4 * (n_train + n_test)), n_train + n_test, replace=False))
    rng.shuffle(ids)

    def row(i, target):
        lean, other = (DISASTER, EVERYDAY) if target else (EVERYDAY, DISASTER)
        text = sentence(rng, lean, other)
        if rng.random() < 0.3:
            text += f" http://t.co/{rng.integers(10**6):06d}"
        if rng.random() < 0.2:
            text = f"@user{rng.integers(100)} " + text
        if rng.random() < 0.2:
            text += " #" + lean[int(rng.integers(len(lean)))]
        keyword = KEYWORDS[int(rng.integers(len(KEYWORDS)))] if rng.random() < 0.8 else None
        location = LOCATIONS[int(rng.integers(len(LOCATIONS)))] if rng.random() < 0.6 else None
        return [int(ids[i]), keyword, location, text]

    targets = (rng.random(n_train) < 0.43).astype(int)
    train = [row(i, t) + [int(t)] for i, t in enumerate(targets)]
    write_csv(
        directory / "train.csv",
        ["id", "keyword", "location", "text", "target"],
        sorted(train, key=lambda r: r[0]),
    )
    test_targets = (rng.random(n_test) < 0.43).astype(int)
    test = sorted((row(n_train + i, t) for i, t in enumerate(test_targets)), key=lambda r: r[0])
    write_csv(directory / "test.csv", ["id", "keyword", "location", "text"], test)
    write_csv(directory / "sample_submission.csv", ["id", "target"], ([r[0], 0] for r in test))


DISASTER_TWEETS = Competition(
    name="nlp-getting-started",
    title="Natural Language Processing with Disaster Tweets",
    aliases=("disaster-tweets", "tweets"),
    task="binary",
    id_column="id",
    text_columns=("text",),
    target_columns=("target",),
    metric="f1",
    extra_metrics=("accuracy", "auc"),
    submission_kind="label",
    prepare_text=prepare_tweet,
    make_sample=make_sample,
    url="https://www.kaggle.com/competitions/nlp-getting-started",
)


@hookimpl
def register_competitions(register):
    register(DISASTER_TWEETS)
