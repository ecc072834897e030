"""Text preparation functions that the built-in adapters declare (``prepare_text=``).

Each takes one raw text and returns the prepared text; the core applies the
competition's function to every text it loads (train, validation, test and
``kagglekit predict`` inputs), so every model receives the same prepared text.
``--no-prepare`` turns it off; a plugin can register a competition with another
function (``dataclasses.replace(COMPETITION, name=..., prepare_text=mine)``).
"""

from __future__ import annotations

import html
import re

_SPACE = re.compile(r"\s+")
_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
# an HTML tag: '<' + optional '/' + a letter, up to the next '>' (so "a <3 b" survives)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,60}>")
# any character that is neither a word character nor whitespace: punctuation and symbols
_PUNCT = re.compile(r"([^\w\s])")


def collapse_spaces(text: str) -> str:
    """Newlines, tabs and runs of spaces -> one space; trimmed."""
    return _SPACE.sub(" ", text).strip()


def strip_html(text: str) -> str:
    """``<br />`` -> a space, other HTML tags removed, entities (``&amp;``) decoded."""
    text = _BR.sub(" ", text)
    text = _TAG.sub(" ", text)
    return collapse_spaces(html.unescape(text))


def space_punctuation(text: str) -> str:
    """Spaces around every punctuation mark and symbol ("it's?" -> "it ' s ?"), the usual
    Quora preparation, so that tokenizers and embedding vocabularies see them as tokens."""
    return collapse_spaces(_PUNCT.sub(r" \1 ", text))
