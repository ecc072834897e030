"""AutoGluon's side of bench_auto.py, run with the Python of a venv that has AutoGluon
(`pip install "autogluon.tabular[all]"`; never a dependency of kagglekit).

    python autogluon_text.py --train train.csv --holdout holdout.csv --labels target \\
        --metric f1 --time-limit 600 --path DIR --out predictions.csv

One TabularPredictor per label column (``presets="best_quality"``), the time limit split
evenly between them; the ``text`` column is given as text (AutoGluon's text n-gram and
special-feature generators). F1: the predicted labels (AutoGluon calibrates the decision
threshold for F1); AUC: the positive class's probability.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--holdout", required=True)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--metric", choices=["f1", "roc_auc"], required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from autogluon.tabular import TabularPredictor

    labels = args.labels.split(",")
    train = pd.read_csv(args.train, keep_default_na=False)
    holdout = pd.read_csv(args.holdout, keep_default_na=False)
    train["text"] = train["text"].astype(str)
    holdout["text"] = holdout["text"].astype(str)
    out = pd.DataFrame({"id": holdout["id"]})
    per_label = args.time_limit / len(labels)
    t0 = time.monotonic()
    for label in labels:
        predictor = TabularPredictor(
            label=label,
            eval_metric=args.metric,
            path=f"{args.path}/{label}",
            problem_type="binary",
            verbosity=1,
        ).fit(train[["text", label]], presets="best_quality", time_limit=per_label)
        if args.metric == "f1":
            out[label] = predictor.predict(holdout[["text"]]).astype(int).to_numpy()
        else:
            proba = predictor.predict_proba(holdout[["text"]])
            out[label] = proba[predictor.positive_class].to_numpy()
        print(f"{label}: {predictor.model_best} ({time.monotonic() - t0:.0f}s)", flush=True)
    out.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
