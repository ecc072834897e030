"""TF-IDF baselines: ``tfidf-nb``, ``tfidf-lr`` and ``nbsvm``.

Multilabel competitions get one classifier per target column on shared features.
scikit-learn is imported inside fit/predict so registering these models costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kagglekit.errors import KaggleKitError
from kagglekit.hookspecs import hookimpl
from kagglekit.model import Model
from kagglekit.tune.space import Choice, Float, Int


def _columns(y):
    y = np.asarray(y)
    return y[:, None] if y.ndim == 1 else y


class _OneClass:
    """Stands in for a classifier when a label column holds one class in the training rows
    (a rare label of a multilabel competition in a small fold): predicts that class."""

    def __init__(self, value):
        self.value_ = float(value)

    def predict_proba(self, x):
        p = np.full(x.shape[0], self.value_)
        return np.column_stack([1 - p, p])


def _fit_features(vectorizer, texts):
    """vectorizer.fit_transform(texts); no words at all is a one-line error, not a traceback."""
    try:
        return vectorizer.fit_transform(texts)
    except ValueError as exc:
        if "vocabulary" in str(exc) or "no terms remain" in str(exc):
            raise KaggleKitError(
                f"the training texts hold no words to learn from ({exc}); check "
                f"the text column, or lower min_df"
            ) from None
        raise


def _fit_column(make, x, y):
    """make().fit(x, y), or a _OneClass when y holds a single class."""
    if len(np.unique(y)) < 2:
        return _OneClass(y[0])
    return make().fit(x, y)


# the one class of ours in the fitted state: Model.load builds it (and scikit-learn's own
# estimators) from state.json + state.npz, nothing else
TRUSTED_TYPES = (f"{__name__}._OneClass",)


class TfidfNB(Model):
    """scikit-learn ``TfidfVectorizer()`` + ``MultinomialNB()``, both with their defaults."""

    name = "tfidf-nb"
    trusted_types = TRUSTED_TYPES
    # a fold's peak working memory per character of training text, in bytes, for
    # --executor auto: measured on the Quora stand-ins (16 B at 130k rows), with room to spare
    memory_per_char = 40
    # what `kagglekit tune` searches (a --config [tune.space] table overrides it)
    search_space = {
        "alpha": Float(0.01, 3.0, log=True),
        "max_features": Choice((None, 50_000, 200_000)),
    }

    @dataclass
    class Params:
        alpha: float = 1.0
        max_features: int | None = None

    def fit(self, train, valid=None):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.naive_bayes import MultinomialNB

        self.vectorizer_ = TfidfVectorizer(max_features=self.params.max_features)
        x = _fit_features(self.vectorizer_, train.text)
        y = _columns(train.y)
        self.classifiers_ = [
            _fit_column(lambda: MultinomialNB(alpha=self.params.alpha), x, y[:, j])
            for j in range(y.shape[1])
        ]
        return self

    def predict(self, frame):
        x = self.vectorizer_.transform(frame.text)
        return np.column_stack([c.predict_proba(x)[:, 1] for c in self.classifiers_])


class TfidfLR(Model):
    """Word 1-2 grams + char 2-5 grams, sublinear TF, logistic regression."""

    name = "tfidf-lr"
    trusted_types = TRUSTED_TYPES
    # word 1-2 + char 2-5 grams: a line through a fold's working memory on the Quora
    # stand-ins, 0.91 GB at 130k rows (9.5M characters) and 5.85 GB at 1.3M (95M)
    memory_per_char = 60
    memory_base = 350 * 2**20
    search_space = {
        "C": Float(0.1, 30.0, log=True),
        "word_ngram_max": Int(1, 3),
        "char_ngram_max": Int(4, 6),
        "max_word_features": Choice((50_000, 200_000, 400_000)),
        "max_char_features": Choice((50_000, 200_000, 400_000)),
        "min_df": Int(1, 5),
        "class_weight": Choice((None, "balanced")),
    }

    @dataclass
    class Params:
        C: float = 4.0
        word_ngram_max: int = 2
        char_ngram_min: int = 2
        char_ngram_max: int = 5
        max_word_features: int | None = 200_000
        max_char_features: int | None = 200_000
        min_df: int = 2
        class_weight: str | None = None
        max_iter: int = 1000

        def validate(self):
            if self.C <= 0:
                raise ValueError(f"C must be > 0, got {self.C}")
            if not 1 <= self.char_ngram_min <= self.char_ngram_max:
                raise ValueError("char_ngram_min must be >= 1 and <= char_ngram_max")
            if self.class_weight not in (None, "balanced"):
                raise ValueError(
                    f"class_weight must be balanced or none, got {self.class_weight!r}"
                )

    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import FeatureUnion

        p = self.params
        word = TfidfVectorizer(
            ngram_range=(1, p.word_ngram_max),
            sublinear_tf=True,
            min_df=p.min_df,
            max_features=p.max_word_features,
            strip_accents="unicode",
            dtype=np.float32,
        )
        char = TfidfVectorizer(
            analyzer="char_wb",
            sublinear_tf=True,
            min_df=p.min_df,
            ngram_range=(p.char_ngram_min, p.char_ngram_max),
            max_features=p.max_char_features,
            strip_accents="unicode",
            dtype=np.float32,
        )
        return FeatureUnion([("word", word), ("char", char)])

    def _classifier(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=self.params.C,
            solver="liblinear",
            max_iter=self.params.max_iter,
            class_weight=self.params.class_weight,
            random_state=self.seed,
        )

    def fit(self, train, valid=None):
        self.vectorizer_ = self._vectorizer()
        x = _fit_features(self.vectorizer_, train.text)
        y = _columns(train.y)
        self.classifiers_ = [_fit_column(self._classifier, x, y[:, j]) for j in range(y.shape[1])]
        return self

    def predict(self, frame):
        x = self.vectorizer_.transform(frame.text)
        return np.column_stack([c.predict_proba(x)[:, 1] for c in self.classifiers_])


class NBSVM(TfidfLR):
    """NB-weighted log-count ratios + logistic regression (Wang & Manning 2012, NBSVM-LR).

    Features are scaled by r = log((p/|p|_1) / (q/|q|_1)) with p, q the alpha-smoothed
    feature sums over positive and negative rows, one r per target column.
    """

    name = "nbsvm"
    # the features again, scaled by the ratios: 1.13 GB at 130k rows, 7.5 GB at 1.3M
    memory_per_char = 80
    memory_base = 400 * 2**20
    search_space = {**TfidfLR.search_space, "alpha": Float(0.1, 3.0, log=True)}

    @dataclass
    class Params(TfidfLR.Params):
        alpha: float = 1.0  # smoothing of the log-count ratios

    def fit(self, train, valid=None):
        self.vectorizer_ = self._vectorizer()
        x = _fit_features(self.vectorizer_, train.text).tocsr()
        y = _columns(train.y)
        alpha = self.params.alpha
        self.ratios_, self.classifiers_ = [], []
        for j in range(y.shape[1]):
            pos = y[:, j] == 1
            p = alpha + np.asarray(x[pos].sum(axis=0)).ravel()
            q = alpha + np.asarray(x[~pos].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
            self.ratios_.append(r)
            self.classifiers_.append(_fit_column(self._classifier, x.multiply(r).tocsr(), y[:, j]))
        return self

    def predict(self, frame):
        x = self.vectorizer_.transform(frame.text).tocsr()
        return np.column_stack(
            [
                c.predict_proba(x.multiply(r).tocsr())[:, 1]
                for c, r in zip(self.classifiers_, self.ratios_)
            ]
        )


@hookimpl
def register_models(register):
    register("tfidf-nb", TfidfNB)
    register("tfidf-lr", TfidfLR)
    register("nbsvm", NBSVM)
