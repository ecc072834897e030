"""What does an LSTM language model's encoder know about sentiment? A linear probe.

Runs the encoder of ``kagglekit pretrain --model lstm`` (frozen, no dropout) over the 2,000
real IMDb reviews in ../shared, pools each layer's outputs over the real words (avg, max,
last, and the three concatenated, as the ``lstm`` classifier does), and scores each pooled
feature set with a standardized logistic regression in 5-fold CV (OOF AUC). ``--random``
probes the same architecture with random weights instead: the control a pretrained encoder
has to beat. Also prints each layer's mean |output| and how much the averaged outputs vary
from review to review (near 0: every review looks the same to the head).

    python benchmarks/probe_lstm_encoder.py ENCODER_DIR [--random] [--maxlen 256]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "imdb-dataset-of-50k-movie-reviews" / "IMDB Dataset.csv"


def pooled_layers(encoder, texts, maxlen: int, random: bool) -> dict:
    """{layer name: {pooling: (n, width) features}} for the embedding and each LSTM."""
    import keras

    from kagglekit.keras.language_model import encoder_layer_names, encoder_stack

    ragged = encoder.tokenizer.encode(texts, cache=False)
    ids = np.zeros((len(texts), maxlen), np.int32)
    mask = np.zeros((len(texts), maxlen), bool)
    for i in range(len(texts)):
        row = ragged.row(i)[:maxlen]
        ids[i, : len(row)], mask[i, : len(row)] = row, True
    ids_in = keras.Input((None,), dtype="int32")
    mask_in = keras.Input((None,), dtype="bool")
    keras.utils.set_random_seed(0)
    _, top = encoder_stack(
        keras,
        ids_in,
        mask_in,
        encoder.config,
        input_dropout=0,
        hidden_dropout=0,
        weight_drop=0,
        seed=0,
    )
    model = keras.Model([ids_in, mask_in], top)
    if not random:
        encoder.set_weights(model)
    names = encoder_layer_names(encoder.config)
    outputs = keras.Model([ids_in, mask_in], [model.get_layer(n).output for n in names])
    lengths = mask.sum(1)
    result = {}
    for name, h in zip(names, outputs.predict([ids, mask], batch_size=64, verbose=0)):
        h = np.asarray(h, np.float32)
        m = mask[..., None]
        avg = (h * m).sum(1) / lengths[:, None]
        result[name] = {
            "avg": avg,
            "max": np.where(m, h, -np.inf).max(1),
            "last": h[np.arange(len(h)), lengths - 1],
            "mean_abs": float(np.abs(h[mask]).mean()),
            "avg_spread": float(avg.std(0).mean()),
        }
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("encoder", type=Path)
    parser.add_argument(
        "--random",
        action="store_true",
        help="the same architecture with random weights (the control)",
    )
    parser.add_argument("--maxlen", type=int, default=256)
    args = parser.parse_args(argv)
    if not DATA.is_file():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kagglekit.keras.language_model import load_encoder

    frame = pd.read_csv(DATA)
    texts = frame["review"].str.replace("<br />", " ", regex=False).tolist()
    y = (frame["sentiment"] == "positive").to_numpy(int)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    layers = pooled_layers(load_encoder(args.encoder), texts, args.maxlen, args.random)
    print(f"encoder {args.encoder.name} ({'random weights' if args.random else 'pretrained'})")
    print(
        "| layer | mean abs output | spread of avg across reviews | AUC avg | max | last "
        "| last+max+avg |"
    )
    for name, f in layers.items():
        aucs = []
        for feats in (f["avg"], f["max"], f["last"], np.hstack([f["last"], f["max"], f["avg"]])):
            probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            p = cross_val_predict(probe, feats, y, cv=folds, method="predict_proba")[:, 1]
            aucs.append(f"{roc_auc_score(y, p):.4f}")
        print(
            f"| {name} | {f['mean_abs']:.3f} | {f['avg_spread']:.4f} | " + " | ".join(aucs) + " |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
