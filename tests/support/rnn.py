"""Small generated data for the text/RNN tests: plain functions, called with many arguments."""

from __future__ import annotations

from pathlib import Path

import numpy as np

POSITIVE = "fire flood storm killed crash burning disaster rescue injured evacuation".split()
NEGATIVE = "love music game party happy movie song coffee summer weekend".split()


def keras_text_to_word_sequence(
    text, filters='!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower=True, split=" "
):
    """keras.preprocessing.text.text_to_word_sequence (Keras 2), copied for comparison."""
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def keras_word_index_order(texts, **kwargs):
    """Words in the order of Keras 2's ``Tokenizer.fit_on_texts`` word_index."""
    counts = {}
    for text in texts:
        for w in keras_text_to_word_sequence(text, **kwargs):
            counts[w] = counts.get(w, 0) + 1
    return [w for w, _ in sorted(counts.items(), key=lambda kv: kv[1], reverse=True)]


def make_texts(n: int = 200, seed: int = 0, n_targets: int = 1, max_words: int = 30):
    """Texts whose words depend on the labels, plus their (n, n_targets) 0/1 labels."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_targets)) < 0.4).astype(int)
    texts = []
    for row in y:
        words = []
        for j, label in enumerate(row):
            pool = POSITIVE if label else NEGATIVE
            words += [
                f"{w}{j}" if j else w
                for w in rng.choice(pool, size=int(rng.integers(2, max_words // 2)))
            ]
        words += list(rng.choice(POSITIVE + NEGATIVE, size=3))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + rng.choice(["!", ".", "?", ""]))
    return texts, y


def frames(n: int = 200, seed: int = 0, n_targets: int = 1, valid_share: float = 0.25):
    from kagglekit.frame import TextFrame

    texts, y = make_texts(n, seed, n_targets)
    names = tuple(f"label{j}" for j in range(n_targets)) if n_targets > 1 else ("target",)
    cut = int(n * (1 - valid_share))
    return (
        TextFrame.from_texts(texts[:cut], y[:cut], names),
        TextFrame.from_texts(texts[cut:], y[cut:], names),
    )


def write_glove(
    path: Path,
    words,
    vectors,
    *,
    header: bool = False,
    encoding="utf-8",
    trailing_space: bool = False,
) -> Path:
    lines = [f"{len(words)} {len(vectors[0])}"] if header else []
    for w, v in zip(words, vectors):
        lines.append(w + " " + " ".join(f"{x:.6f}" for x in v) + (" " if trailing_space else ""))
    Path(path).write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return Path(path)


def write_word2vec_bin(path: Path, words, vectors) -> Path:
    vectors = np.asarray(vectors, dtype="<f4")
    with open(path, "wb") as fh:
        fh.write(f"{len(words)} {vectors.shape[1]}\n".encode())
        for w, v in zip(words, vectors):
            fh.write(w.encode("utf-8") + b" " + v.tobytes() + b"\n")
    return Path(path)


def shared_dir() -> Path:
    from support import SHARED

    return SHARED
