"""Encoding N texts (default 200,000) into padded id matrices, side by side in one process:

- kagglekit: ``WordTokenizer.fit_encode`` (vectorized over all texts; pyarrow string kernels
  when installed) + pad to the 99th
  percentile length; also the same encode again from the content-hash cache;
- the same word-level pipeline run by HF ``tokenizers`` text by text (WordLevelTrainer +
  ``encode_batch_fast``), for reference;
- the notebook recipe: Keras 2 ``Tokenizer.fit_on_texts`` + ``texts_to_sequences`` +
  ``pad_sequences`` (from ``tf_keras``: Keras 3 has no ``keras.preprocessing.text``);
- Keras 3 ``TextVectorization``: ``adapt`` + vectorize in batches of 1,024 via tf.data.

Same vocabulary cap (50,000 words) and the same output length for all. Texts: the real
Quora questions in ../shared (train + test, repeated to N) when present, else generated.
Checks that kagglekit's and the Keras Tokenizer's word sequences agree.
Usage: python benchmarks/bench_tokenize.py [--n 200000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
MAX_WORDS = 50_000


def load_texts(n: int) -> tuple[list[str], str]:
    folder = SHARED / "data" / "quora-insincere-questions-classification"
    if (folder / "train.csv").is_file():
        import pandas as pd

        base = (
            pd.concat(
                [
                    pd.read_csv(folder / "train.csv")["question_text"],
                    pd.read_csv(folder / "test.csv")["question_text"],
                ]
            )
            .astype(str)
            .tolist()
        )
        source = f"real Quora questions ({len(base):,} distinct, repeated)"
    else:
        rng = np.random.default_rng(0)
        words = np.array([f"w{i}" for i in range(30_000)])
        p = 1 / np.arange(1, 30_001)
        p /= p.sum()
        base = [
            " ".join(rng.choice(words, size=int(rng.integers(3, 40)), p=p)) + "?"
            for _ in range(20_000)
        ]
        source = "generated Zipf texts (../shared absent)"
    reps = -(-n // len(base))
    return (base * reps)[:n], source


def best_of(fn, repeats: int):
    """(best wall seconds, [(wall, cpu) per run], last output); cpu = this process's CPU time
    (all threads), steadier than wall time on a shared machine."""
    runs, out = [], None
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        runs.append((round(time.perf_counter() - start, 3), round(time.process_time() - cpu, 3)))
    return min(r[0] for r in runs), runs, out


def run_kagglekit(texts, maxlen=None):
    from kagglekit.text.tokenizer import WordTokenizer, choose_maxlen

    tok = WordTokenizer(max_words=MAX_WORDS)
    ragged = tok.fit_encode(texts)  # what the models do: one pass fits and encodes
    maxlen = maxlen or choose_maxlen(ragged.lengths, 99)
    return tok, ragged, ragged.truncate(maxlen, "post").pad(length=maxlen)


def run_hf_tokenizers(texts, maxlen):
    """The same pipeline done by ``tokenizers`` itself: WordLevelTrainer + encode_batch_fast."""
    from tokenizers import trainers

    from kagglekit.keras.ragged import Ragged
    from kagglekit.text.tokenizer import PAD, UNK, WordTokenizer

    hf = WordTokenizer().fit(["x"]).hf_tokenizer()  # same normalizer / pre-tokenizer
    hf.train_from_iterator(
        texts,
        trainer=trainers.WordLevelTrainer(
            vocab_size=MAX_WORDS + 2, special_tokens=[PAD, UNK], show_progress=False
        ),
    )
    seqs = [e.ids for e in hf.encode_batch_fast(texts, add_special_tokens=False)]
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum([len(q) for q in seqs], out=offsets[1:])
    ids = np.fromiter((i for q in seqs for i in q), dtype=np.int32, count=int(offsets[-1]))
    return Ragged(ids, offsets).truncate(maxlen, "post").pad(length=maxlen)


def run_keras_tokenizer(texts, maxlen):
    from tf_keras.preprocessing.sequence import pad_sequences
    from tf_keras.preprocessing.text import Tokenizer

    tok = Tokenizer(num_words=MAX_WORDS)
    tok.fit_on_texts(texts)
    seqs = tok.texts_to_sequences(texts)
    return tok, seqs, pad_sequences(seqs, maxlen=maxlen, padding="post", truncating="post")


def run_text_vectorization(texts, maxlen):
    import keras
    import tensorflow as tf

    layer = keras.layers.TextVectorization(max_tokens=MAX_WORDS + 2, output_sequence_length=maxlen)
    data = tf.data.Dataset.from_tensor_slices(texts).batch(1024)
    layer.adapt(data)
    out = np.concatenate([b.numpy() for b in data.map(layer).prefetch(tf.data.AUTOTUNE)])
    return layer, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", default=str(HERE / "_work" / "tokenize.json"))
    args = parser.parse_args()
    texts, source = load_texts(args.n)
    os.environ["KAGGLEKIT_CACHE"] = tempfile.mkdtemp(prefix="kk-bench-tok-")
    # imports are not timed
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    try:
        import tf_keras  # noqa: F401
    except ImportError:
        raise SystemExit(
            "the notebook baseline needs Keras 2's Tokenizer, which Keras 3 "
            "dropped: pip install tf-keras (for this benchmark only)"
        ) from None

    # kagglekit, with the cache empty each repeat (fresh cache directory)
    def fresh():
        os.environ["KAGGLEKIT_CACHE"] = tempfile.mkdtemp(prefix="kk-bench-tok-")
        return run_kagglekit(texts)

    t_kk, kk_times, (tok, ragged, kk_matrix) = best_of(fresh, args.repeats)
    maxlen = kk_matrix.shape[1]
    t_cached, cached_times, cached = best_of(lambda: tok.encode(texts), args.repeats)
    assert np.array_equal(cached.ids, ragged.ids)
    t_nb, nb_times, (ktok, seqs, nb_matrix) = best_of(
        lambda: run_keras_tokenizer(texts, maxlen), args.repeats
    )
    t_tv, tv_times, (_, tv_matrix) = best_of(
        lambda: run_text_vectorization(texts, maxlen), args.repeats
    )
    t_hf, hf_times, _ = best_of(lambda: run_hf_tokenizers(texts, maxlen), args.repeats)

    # agreement: the same words per text (no vocabulary cap for this check)
    sample = texts[:20_000]
    from tf_keras.preprocessing.text import Tokenizer

    from kagglekit.text.tokenizer import WordTokenizer

    full = WordTokenizer().fit(sample)
    vocab = full.vocabulary()
    ours = full.encode(sample, cache=False)
    keras_tok = Tokenizer()
    keras_tok.fit_on_texts(sample)
    index_word = keras_tok.index_word
    theirs = keras_tok.texts_to_sequences(sample)
    same = sum(
        [vocab[i] for i in ours.row(k)] == [index_word[j] for j in theirs[k]]
        for k in range(len(sample))
    )
    faster = min(t_nb, t_tv)
    result = {
        "n_texts": len(texts),
        "source": source,
        "maxlen_p99": int(maxlen),
        "kagglekit_s": round(t_kk, 3),
        "kagglekit_runs": kk_times,
        "kagglekit_cached_encode_s": round(t_cached, 3),
        "keras_tokenizer_s": round(t_nb, 3),
        "keras_tokenizer_runs": nb_times,
        "text_vectorization_s": round(t_tv, 3),
        "text_vectorization_runs": tv_times,
        "hf_tokenizers_pipeline_s": round(t_hf, 3),
        "hf_tokenizers_pipeline_runs": hf_times,
        "speedup_vs_faster_baseline": round(faster / t_kk, 2),
        "speedup_vs_keras_tokenizer": round(t_nb / t_kk, 2),
        "speedup_vs_text_vectorization": round(t_tv / t_kk, 2),
        "cpu_speedup_vs_faster_baseline": round(
            min(min(r[1] for r in nb_times), min(r[1] for r in tv_times))
            / min(r[1] for r in kk_times),
            2,
        ),
        "same_word_sequences": f"{same}/{len(sample)}",
        "vocab_sizes": {"kagglekit": tok.vocab_size, "keras_tokenizer_words": len(ktok.word_index)},
        "shapes": {
            "kagglekit": list(kk_matrix.shape),
            "keras_tokenizer": list(nb_matrix.shape),
            "text_vectorization": list(tv_matrix.shape),
        },
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))

    def cpu(runs):
        return min(r[1] for r in runs)

    print(
        f"\n| pipeline (fit vocabulary + encode + pad {len(texts):,} texts) | best wall s | "
        f"best CPU s |\n| --- | --- | --- |\n"
        f"| kagglekit WordTokenizer.fit_encode + pad | {t_kk:.2f} | {cpu(kk_times):.2f} |\n"
        f"| kagglekit, encodings from the cache | {t_cached:.2f} | {cpu(cached_times):.2f} |\n"
        f"| Keras 2 Tokenizer + pad_sequences (tf_keras) | {t_nb:.2f} | {cpu(nb_times):.2f} |\n"
        f"| Keras 3 TextVectorization (adapt + map) | {t_tv:.2f} | {cpu(tv_times):.2f} |\n"
        f"| HF tokenizers WordLevel, text by text | {t_hf:.2f} | {cpu(hf_times):.2f} |\n"
        f"| speed-up vs the faster baseline | {faster / t_kk:.1f}x | "
        f"{result['cpu_speedup_vs_faster_baseline']:.1f}x |",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
