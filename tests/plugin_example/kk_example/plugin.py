"""A complete third-party kagglekit plugin: a competition, a model and a command."""

from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from kagglekit.competition import Competition
from kagglekit.hookspecs import hookimpl
from kagglekit.model import Model
from kagglekit.samples import write_csv


class KeywordModel(Model):
    """P(positive) rises with how often the keyword appears."""

    @dataclass
    class Params:
        keyword: str = "good"
        strength: float = 2.0

    def fit(self, train, valid=None):
        self.n_targets_ = train.y.shape[1]
        return self

    def predict(self, frame):
        counts = np.array([t.lower().split().count(self.params.keyword) for t in frame.text])
        p = 1 / (1 + np.exp(-(self.params.strength * counts - 1)))
        return np.repeat(p[:, None], self.n_targets_, axis=1)


def make_sample(directory, n_train=200, n_test=50, seed=0):
    rng = np.random.default_rng(seed)
    directory = Path(directory)

    def text(label):
        words = ["good"] * int(rng.integers(1, 4)) if label else ["bad"] * int(rng.integers(1, 4))
        return " ".join(words + ["movie", "plot"])

    labels = rng.integers(0, 2, n_train)
    write_csv(
        directory / "train.csv",
        ["review_id", "body", "label"],
        [[f"r{i}", text(y), int(y)] for i, y in enumerate(labels)],
    )
    write_csv(
        directory / "test.csv",
        ["review_id", "body"],
        [[f"t{i}", text(i % 2)] for i in range(n_test)],
    )
    write_csv(
        directory / "sample_submission.csv",
        ["review_id", "label"],
        [[f"t{i}", 0.5] for i in range(n_test)],
    )


EXAMPLE = Competition(
    name="example-reviews",
    title="Example reviews (third-party plugin)",
    aliases=("reviews",),
    task="binary",
    id_column="review_id",
    text_columns=("body",),
    target_columns=("label",),
    metric="auc",
    extra_metrics=("accuracy",),
    make_sample=make_sample,
)


@hookimpl
def register_competitions(register):
    register(EXAMPLE)


@hookimpl
def register_models(register):
    register("keyword", KeywordModel)


@hookimpl
def register_commands(cli):
    @cli.command()
    def hello():
        """Greet from the example plugin.

        Example: kagglekit hello
        """
        click.echo("hello from kk_example")
