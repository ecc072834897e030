"""Training and prediction throughput (samples/s) of ``bigru`` with and without sequence
bucketing, on the same data in one process.

With bucketing every batch is padded to its own longest row (rounded up to a multiple of
8); without, every batch is padded to ``maxlen`` (the 99th percentile length), the classic
recipe. Data: the real Quora questions in ../shared (20,898 train, 5,225 test) when present.
Each variant trains 2 epochs without validation; throughput is taken from the second epoch
(the first includes tracing). Prediction is timed on test + train texts (26,123 rows)
after one warm-up call on the same rows (tracing; encodings then come from the cache for
both variants).
Usage: python benchmarks/bench_bucketing.py [--rows 20898] [--batch-size 128] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def load(rows: int):
    import pandas as pd

    from kagglekit.frame import TextFrame

    folder = SHARED / "data" / "quora-insincere-questions-classification"
    if (folder / "train.csv").is_file():
        train = pd.read_csv(folder / "train.csv").head(rows)
        test = pd.read_csv(folder / "test.csv")
        source = "real Quora questions"
        return (
            TextFrame.from_texts(train["question_text"].astype(str), train["target"]),
            TextFrame.from_texts(test["question_text"].astype(str)),
            source,
        )
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(5000)]
    texts = [
        " ".join(rng.choice(words, int(min(200, rng.lognormal(2.5, 0.6)))))
        for _ in range(rows + 5000)
    ]
    y = (rng.random(rows) < 0.1).astype(int)
    return (
        TextFrame.from_texts(texts[:rows], y),
        TextFrame.from_texts(texts[rows:]),
        "generated lognormal-length texts",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_898)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--output", default=str(HERE / "_work" / "bucketing.json"))
    args = parser.parse_args()
    os.environ.setdefault("KAGGLEKIT_CACHE", tempfile.mkdtemp(prefix="kk-bench-b-"))
    from kagglekit import plugins

    train, test, source = load(args.rows)
    from kagglekit.frame import TextFrame

    predict_rows = TextFrame.from_texts(list(test.text) + list(train.text))
    cls = plugins.get_model("bigru")
    results = {
        "source": source,
        "rows": len(train),
        "predict_rows": len(predict_rows),
        "batch_size": args.batch_size,
        "runs": [],
    }
    for repeat in range(args.repeats):
        for bucketing in (True, False):
            model = cls.from_dict(
                {
                    "bucketing": bucketing,
                    "epochs": 2,
                    "verbose": 0,
                    "progress": False,
                    "tensorboard": False,
                    "batch_size": args.batch_size,
                },
                seed=0,
                name="bigru",
            )
            model.fit(train, None)
            info = model.fit_info_
            seconds = info["history"][1]["train_seconds"]
            model.predict(predict_rows)  # warm-up: tracing, and the encodings into the cache
            start = time.perf_counter()
            model.predict(predict_rows)
            predict_s = time.perf_counter() - start
            row = {
                "repeat": repeat,
                "bucketing": bucketing,
                "maxlen": info["maxlen"],
                "padding_efficiency": info["padding_efficiency"],
                "epoch1_s": info["history"][0]["train_seconds"],
                "epoch2_s": seconds,
                "train_samples_per_s": round(len(train) / seconds, 1),
                "predict_s": round(predict_s, 3),
                "predict_samples_per_s": round(len(predict_rows) / predict_s, 1),
                "load_average": os.getloadavg()[0],
            }
            results["runs"].append(row)
            print(json.dumps(row), flush=True)
    on = [r for r in results["runs"] if r["bucketing"]]
    off = [r for r in results["runs"] if not r["bucketing"]]
    results["train_speedup"] = round(
        np.median([r["train_samples_per_s"] for r in on])
        / np.median([r["train_samples_per_s"] for r in off]),
        2,
    )
    results["predict_speedup"] = round(
        np.median([r["predict_samples_per_s"] for r in on])
        / np.median([r["predict_samples_per_s"] for r in off]),
        2,
    )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
