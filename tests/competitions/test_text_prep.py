"""Per-competition text preparation: what each adapter declares, and that every model
receives the prepared text (train, validation and test rows) through the same path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from kagglekit.cv import run_cv
from kagglekit.data import DataOptions, load_dataset
from kagglekit.model import Model
from kagglekit_competitions.imdb import prepare_review
from kagglekit_competitions.jigsaw import prepare_comment
from kagglekit_competitions.text_prep import space_punctuation, strip_html
from support.competitions import COMPETITIONS, competition, make_data


@pytest.mark.parametrize(
    "raw,prepared",
    [
        ("Great film.<br /><br />Loved it", "Great film. Loved it"),
        ("a<br/>b<BR>c<br >d", "a b c d"),
        ("<i>Oz</i> &amp; friends", "Oz & friends"),
        ("I <3 it, 1 < 2 > 0", "I <3 it, 1 < 2 > 0"),  # not tags: kept
    ],
)
def test_imdb_removes_html(raw, prepared):
    assert prepare_review(raw) == prepared == strip_html(raw)


@pytest.mark.parametrize(
    "raw,prepared",
    [
        ("Why do people hate Trump?", "Why do people hate Trump ?"),
        ("What's 2+2=4?!", "What ' s 2 + 2 = 4 ? !"),
        ("Is it (really) true...", "Is it ( really ) true . . ."),
        ("Café — déjà vu?", "Café — déjà vu ?"),  # accented letters are word characters
    ],
)
def test_quora_spaces_punctuation(raw, prepared):
    assert space_punctuation(raw) == prepared


def test_jigsaw_collapses_talk_page_whitespace():
    assert prepare_comment('"\nHello   there\n\nfriend\t"') == '" Hello there friend "'


def test_each_adapter_declares_its_preparation():
    assert competition("imdb").prepare_text is prepare_review
    assert competition("imdb-50k").prepare_text is prepare_review
    assert competition("aclimdb").prepare_text is prepare_review
    assert competition("quora").prepare_text is space_punctuation
    assert competition("jigsaw").prepare_text is prepare_comment
    tweet = competition("disaster-tweets").prepare_text("@bob fire http://t.co/x &amp; smoke")
    assert tweet == "@USER fire URL & smoke"


class Recorder(Model):
    """Records every text it is given (a stand-in for any model family)."""

    seen: list = []

    @dataclass
    class Params:
        pass

    def fit(self, train, valid=None):
        Recorder.seen.extend(train.text)
        if valid is not None:
            Recorder.seen.extend(valid.text)
        self.n_ = train.y.shape[1]
        return self

    def predict(self, frame):
        Recorder.seen.extend(frame.text)
        return np.full((len(frame), self.n_), 0.5)


@pytest.mark.parametrize(
    "slug,marker",
    [
        ("word2vec-nlp-tutorial", "<br />"),
        ("aclImdb", "<br />"),
        ("imdb-dataset-of-50k-movie-reviews", "<br />"),
        ("quora-insincere-questions-classification", "?"),
        ("nlp-getting-started", "http://"),
    ],
)
def test_models_receive_prepared_text_and_no_prepare_keeps_it_raw(slug, marker, tmp_path):
    make_data(tmp_path / "data", slug, n_train=80, n_test=30)
    comp = competition(COMPETITIONS[slug])
    seen = {}
    for prepare in (True, False):
        Recorder.seen = []
        data = load_dataset(comp, DataOptions(data_dir=str(tmp_path / "data"), prepare=prepare))
        run_cv(
            data.competition,
            "recorder",
            Recorder,
            Recorder.Params(),
            data,
            n_folds=2,
            runs_dir=tmp_path / "runs",
        )
        seen[prepare] = list(Recorder.seen)
        # per fold: fit(train, valid), predict(valid), predict(test); 2 folds
        n_test = 0 if data.test is None else len(data.test)
        assert len(seen[prepare]) == 3 * len(data.train) + 2 * n_test
    if slug.startswith("quora"):  # spaced, not removed
        assert all(" ?" in t for t in seen[True] if "?" in t)
        assert any(t.endswith("?") and not t.endswith(" ?") for t in seen[False])
    else:
        assert not any(marker in t for t in seen[True])
        assert any(marker in t for t in seen[False])


def test_fast_preparation_equals_the_regex_definition_on_every_character():
    """space_punctuation / collapse_spaces use str.translate / str.split for speed; their
    result is the regex definition's for every character of the planes that hold assigned
    ones (0-3 and 14; 15-16 are private use), alone and between words."""
    import re

    from kagglekit_competitions.text_prep import collapse_spaces, space_punctuation

    punct, space = re.compile(r"([^\w\s])"), re.compile(r"\s+")

    def by_regex(text):
        return space.sub(" ", punct.sub(r" \1 ", text)).strip()

    chars = [chr(c) for c in [*range(0x40000), *range(0xE0000, 0xE1000)]]
    every = "".join(f"a{c}b{c}{c}" for c in chars)
    assert space_punctuation(every) == by_regex(every)
    assert collapse_spaces(every) == space.sub(" ", every).strip()
    samples = [
        "it's?",
        "  naïve café — “q” ½ ² \u00a0x\u2003y x\u0301 _u_ 日本語。\n",
        "\x1c\x1d\x85sep",
        "a\ud800b",
        "",
        "   ",
    ]
    assert [space_punctuation(t) for t in samples] == [by_regex(t) for t in samples]
    assert space_punctuation("it's?") == "it ' s ?"
