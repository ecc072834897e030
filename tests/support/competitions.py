"""Shared helpers for the competition tests: generated fixtures, the CLI, ../shared data."""

from __future__ import annotations

from pathlib import Path

from support import invoke, invoke_json, shared_path

# every built-in competition: slug -> alias used on the command line
COMPETITIONS = {
    "nlp-getting-started": "disaster-tweets",
    "jigsaw-toxic-comment-classification-challenge": "jigsaw",
    "jigsaw-multilingual-toxic-comment-classification": "jigsaw-multilingual",
    "quora-insincere-questions-classification": "quora",
    "word2vec-nlp-tutorial": "imdb",
    "imdb-dataset-of-50k-movie-reviews": "imdb-50k",
    "aclImdb": "aclimdb",
}
MODELS = ("tfidf-nb", "tfidf-lr", "nbsvm")
# small vocabularies keep the TF-IDF models fast on fixtures and real files
SMALL = {
    "tfidf-nb": ["-p", "tfidf-nb.max_features=3000"],
    "tfidf-lr": ["-p", "tfidf-lr.max_word_features=3000", "-p", "tfidf-lr.max_char_features=3000"],
    "nbsvm": ["-p", "nbsvm.max_word_features=3000", "-p", "nbsvm.max_char_features=3000"],
}


def competition(name: str):
    from kagglekit import plugins

    return plugins.get_competition(name)


def make_data(root: Path, name: str, n_train: int = 160, n_test: int = 60, seed: int = 0) -> Path:
    """A generated fixture in the competition's exact schema, in root/<slug>/."""
    comp = competition(name)
    directory = Path(root) / comp.slug
    directory.mkdir(parents=True, exist_ok=True)
    comp.make_sample(directory, n_train=n_train, n_test=n_test, seed=seed)
    return directory


def shared_dir(slug: str) -> Path:
    """../shared/data/<slug>, or skip the test when it is absent."""
    return shared_path("data", slug)


def small_params(*models: str) -> list[str]:
    return [arg for m in models for arg in SMALL[m]]


def run_cli(args, expect: int = 0):
    """``support.invoke`` with the arguments as one list."""
    return invoke(*args, expect=expect)


def run_json(args) -> dict:
    return invoke_json(*args)
