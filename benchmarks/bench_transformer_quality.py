"""Quality of fine-tuned all-MiniLM-L6-v2 and of the frozen sentence encoder on the Disaster
Tweets course split, against the course's published 81.23% (frozen USE + Dense(64)).

The split is the one in ../shared/README.md: ``train.csv`` shuffled with
``sample(frac=1, random_state=42)``, then ``train_test_split(text, target, test_size=0.1,
random_state=42)``: 6,851 rows to fit, 762 to score. Raw tweet text, as the course used.
Early stopping (``early_stopping=inner``) holds out a stratified 10% of the 6,851 fitting
rows (seed 42); the 762 validation rows are only scored, once, at the end.

    python benchmarks/bench_transformer_quality.py --model transformer --epochs 3
    python benchmarks/bench_transformer_quality.py --model sentence-encoder
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CHECKPOINT = SHARED / "models" / "all-MiniLM-L6-v2"
DATA = SHARED / "data" / "nlp-getting-started" / "train.csv"


def course_split():
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(DATA).sample(frac=1, random_state=42)
    x_tr, x_va, y_tr, y_va = train_test_split(
        df["text"].to_numpy(), df["target"].to_numpy(), test_size=0.1, random_state=42
    )
    return x_tr, x_va, y_tr, y_va


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", choices=["transformer", "sentence-encoder"], default="transformer"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--head", default="mean")
    parser.add_argument("--patience", type=int, default=None)
    parser.add_argument("--monitor", default="auto")
    parser.add_argument("--tag", default="", help="suffix of the result file")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra model parameter (recipe options: llrd=0.9, msd=5, "
        "lora_rank=8, ...), as kagglekit's -p",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_work")
    args = parser.parse_args(argv)
    if not DATA.is_file() or not CHECKPOINT.is_dir():
        print(f"skipped: {DATA} or {CHECKPOINT} is absent", file=sys.stderr)
        return 0

    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    from kagglekit import plugins
    from kagglekit.frame import TextFrame

    x_tr, x_va, y_tr, y_va = course_split()
    train = TextFrame.from_texts(x_tr, y_tr)
    valid = TextFrame.from_texts(x_va, y_va)
    cls = plugins.get_model(args.model)
    if args.model == "transformer":
        values = {
            "preset": str(CHECKPOINT),
            "head": args.head,
            "max_length": args.max_length,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "verbose": 2,
            "early_stopping": "inner",
            "inner_fraction": 0.1,
        }
        if args.learning_rate:
            values["learning_rate"] = args.learning_rate
        if args.patience:
            values["patience"] = args.patience
        values["monitor"] = args.monitor
    else:
        values = {
            "preset": str(CHECKPOINT),
            "epochs": max(args.epochs, 10),
            "verbose": 0,
            "early_stopping": "inner",
            "inner_fraction": 0.1,
        }
        if args.learning_rate:
            values["learning_rate"] = args.learning_rate
    for item in args.param:
        key, _, value = item.partition("=")
        values[key.strip()] = value.strip()
    model = cls.from_dict(values, seed=args.seed)
    start = time.perf_counter()
    # early_stopping=inner: the model stops on 10% of `train`; `valid` is never seen
    model.fit(train, valid)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    prob = model.predict(valid)[:, 0]
    predict_s = time.perf_counter() - start
    pred = (prob >= 0.5).astype(int)
    result = {
        "model": args.model,
        "params": values,
        "seed": args.seed,
        "n_fit_rows": int(len(train)),
        "n_scored_rows": int(len(valid)),
        "accuracy": round(float(accuracy_score(y_va, pred)), 4),
        "f1": round(float(f1_score(y_va, pred)), 4),
        "weighted_f1": round(float(f1_score(y_va, pred, average="weighted")), 4),
        "auc": round(float(roc_auc_score(y_va, prob)), 4),
        "fit_seconds": round(fit_s, 1),
        "predict_seconds": round(predict_s, 1),
        "history": model.fit_info_,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"quality_{args.model}{args.tag}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(json.dumps({k: v for k, v in result.items() if k != "history"}, default=str))
    print(json.dumps(result["history"], default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
