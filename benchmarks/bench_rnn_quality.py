"""Quality of the Keras text models on the Disaster Tweets course split (../shared/README.md):
``train.csv`` shuffled with ``sample(frac=1, random_state=42)``, then
``train_test_split(text, target, test_size=0.1, random_state=42)``: 6,851 rows to fit,
762 to evaluate (accuracy at 0.5, like the course's ``tf.round``), raw tweet text as in the
course.

The 762 rows are never used to choose anything. Early stopping (and the plateau learning-rate
schedule) watch an inner split of the 6,851: 10% of them, stratified, random_state=42, so
each model trains on 6,165 rows. ``--refit`` adds a second protocol: refit on all 6,851 rows
for the best epoch count found on the inner split, without early stopping.

Every model runs with its defaults (``kagglekit models`` lists them), random embeddings
(no pretrained file: ../shared has only truncated GloVe samples), several seeds.
Published accuracies on the same 762 rows: dense 78.74, LSTM 75.07, GRU 76.77,
BiLSTM 76.64, Conv1D 77.82 (TF-IDF + NB 79.27, USE 81.23).
``--config "k=v k=v"`` (repeatable; "" = the defaults) selects each model's settings first:
every config is fitted on the inner split with ``--select-seeds`` and the one with the best
mean validation AUC on the inner split (never the 762) is then evaluated.
Usage: python benchmarks/bench_rnn_quality.py [--seeds 0,1,2] [--models dense,lstm,...] [--refit]
       [--config "" --config "batch_size=128" ... --select-seeds 0,1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
PUBLISHED = {"dense": 78.74, "lstm": 75.07, "gru": 76.77, "bilstm": 76.64, "conv1d": 77.82}
# the benchmark makes its own inner split and stops on it (the test rows are never seen)
QUIET = {"verbose": 0, "progress": False, "tensorboard": False, "early_stopping": "valid"}


def course_split(path: Path):
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(path).sample(frac=1, random_state=42)
    x_train, x_test, y_train, y_test = train_test_split(
        df["text"].to_numpy(), df["target"].to_numpy(), test_size=0.1, random_state=42
    )
    return x_train, x_test, y_train, y_test


def frame(texts, y):
    from kagglekit.frame import TextFrame

    return TextFrame.from_texts(list(texts), np.asarray(y))


def evaluate(model, test) -> dict:
    from sklearn.metrics import roc_auc_score

    p = model.predict(test)[:, 0]
    y = test.y[:, 0]
    return {
        "accuracy": round(100 * float(np.mean((p >= 0.5).astype(int) == y)), 2),
        "auc": round(float(roc_auc_score(y, p)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(SHARED / "data" / "nlp-getting-started"))
    parser.add_argument("--models", default="dense,conv1d,lstm,gru,bilstm,bigru")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--refit", action="store_true")
    parser.add_argument(
        "-p", "--param", action="append", default=[], help="extra KEY=VALUE for every model"
    )
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="a candidate setting 'k=v k=v' chosen on the inner split",
    )
    parser.add_argument("--select-seeds", default="0,1")
    parser.add_argument("--output", default=str(HERE / "_work" / "rnn_quality.json"))
    args = parser.parse_args()
    os.environ.setdefault("KAGGLEKIT_CACHE", tempfile.mkdtemp(prefix="kk-bench-q-"))
    from sklearn.model_selection import train_test_split

    from kagglekit import plugins

    x_train, x_test, y_train, y_test = course_split(Path(args.data) / "train.csv")
    assert (len(x_train), len(x_test)) == (6851, 762), (len(x_train), len(x_test))
    xi, xv, yi, yv = train_test_split(
        x_train, y_train, test_size=0.1, random_state=42, stratify=y_train
    )
    inner, inner_valid = frame(xi, yi), frame(xv, yv)
    full, test = frame(x_train, y_train), frame(x_test, y_test)
    extra = dict(kv.split("=", 1) for kv in args.param)
    seeds = [int(s) for s in args.seeds.split(",")]
    out = {
        "split": {
            "fit": len(x_train),
            "evaluate": len(x_test),
            "inner_train": len(xi),
            "inner_valid": len(xv),
        },
        "params": extra,
        "models": {},
    }
    for name in args.models.split(","):
        cls = plugins.get_model(name)
        chosen, selection = {}, []
        if args.config:
            for config in args.config:
                values = dict(kv.split("=", 1) for kv in config.split())
                aucs = []
                for seed in (int(x) for x in args.select_seeds.split(",")):
                    model = cls.from_dict({**QUIET, **extra, **values}, seed=seed, name=name)
                    model.fit(inner, inner_valid)
                    aucs.append(model.fit_info_["best_valid_auc"])
                selection.append(
                    {
                        "config": values,
                        "inner_valid_auc": round(statistics.mean(aucs), 5),
                        "aucs": aucs,
                    }
                )
                print(json.dumps({"model": name, "select": selection[-1]}), flush=True)
            chosen = max(selection, key=lambda r: r["inner_valid_auc"])["config"]
        runs = []
        for seed in seeds:
            start = time.perf_counter()
            model = cls.from_dict({**QUIET, **extra, **chosen}, seed=seed, name=name)
            model.fit(inner, inner_valid)
            row = {
                "seed": seed,
                "best_epoch": model.fit_info_.get("best_epoch"),
                "epochs_run": model.fit_info_["epochs_run"],
                "maxlen": model.fit_info_["maxlen"],
                **evaluate(model, test),
                "seconds": round(time.perf_counter() - start, 1),
            }
            if args.refit:
                refit = cls.from_dict(
                    {**QUIET, **extra, **chosen, "epochs": row["best_epoch"]}, seed=seed, name=name
                )
                refit.fit(full, None)
                row["refit"] = evaluate(refit, test)
            runs.append(row)
            print(json.dumps({"model": name, **row}), flush=True)
        accs = [r["accuracy"] for r in runs]
        summary = {
            "chosen": chosen,
            "selection": selection,
            "runs": runs,
            "mean_accuracy": round(statistics.mean(accs), 2),
            "std_accuracy": round(statistics.pstdev(accs), 2),
            "min_accuracy": min(accs),
            "max_accuracy": max(accs),
            "published": PUBLISHED.get(name),
        }
        if args.refit:
            refit_accs = [r["refit"]["accuracy"] for r in runs]
            summary["refit_mean_accuracy"] = round(statistics.mean(refit_accs), 2)
            summary["refit_min_accuracy"] = min(refit_accs)
        out["models"][name] = summary
    out["load_average"] = os.getloadavg()[0]
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2))
    print(
        "\n| model | published | mean acc (seeds) | min | max | "
        + ("refit mean | " if args.refit else "")
        + "\n| --- | --- | --- | --- | --- |"
        + (" --- |" if args.refit else "")
    )
    for name, s in out["models"].items():
        refit = f" {s['refit_mean_accuracy']} |" if args.refit else ""
        print(
            f"| {name} | {s['published'] or '-'} | {s['mean_accuracy']} +- "
            f"{s['std_accuracy']} ({len(s['runs'])}) | {s['min_accuracy']} | "
            f"{s['max_accuracy']} |{refit}"
        )


if __name__ == "__main__":
    main()
