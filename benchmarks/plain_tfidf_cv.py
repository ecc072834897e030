"""The plain scikit-learn script that `kagglekit cv COMPETITION -m MODEL --folds 5` is
measured against: the same recipe written as a careful Kaggler's notebook would.

    read train/test with pandas -> the competition's text preparation -> exact duplicate
    texts kept in one fold (one representative per text split by StratifiedKFold, or
    MultilabelStratifiedKFold for Jigsaw) -> per fold: the model's vectorizers and
    classifier(s), OOF and test predictions -> each fold's fitted state saved (joblib)
    -> oof.csv and the fold-mean test.csv written, OOF score printed

MODEL is tfidf-nb (TfidfVectorizer() + MultinomialNB()), tfidf-lr (word 1-2 + char_wb
2-5 grams, sublinear TF, liblinear logistic regression, C=4) or nbsvm (the same features
scaled by NB log-count ratios). Hyperparameters are kagglekit's defaults, so the OOF
predictions equal kagglekit's (bench_scale.py checks that they do).

With --full it is the plain form of `kagglekit fit` + `kagglekit submit` instead: the
model trained on every training row, its state saved, test.csv of probabilities and
submission.csv in sample_submission's columns (labels at --threshold for a one-label
competition, probabilities for Jigsaw).

Usage: python plain_tfidf_cv.py COMPETITION DATA_DIR OUT_DIR [--model M] [--folds K] [--seed S]
       python plain_tfidf_cv.py COMPETITION DATA_DIR OUT_DIR --full [--model M] [--threshold T]
COMPETITION: disaster-tweets, quora or jigsaw.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import FeatureUnion

# the competitions' text preparation (pure functions of one text: the recipe's, not the
# tool's); id, text and label columns as on Kaggle
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from competitions.disaster_tweets import prepare_tweet  # noqa: E402
from competitions.text_prep import collapse_spaces, space_punctuation  # noqa: E402

JIGSAW_LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
SPECS = {
    "disaster-tweets": ("id", "text", ["target"], prepare_tweet),
    "quora": ("qid", "question_text", ["target"], space_punctuation),
    "jigsaw": ("id", "comment_text", JIGSAW_LABELS, collapse_spaces),
}


def vectorizer(model):
    if model == "tfidf-nb":
        return TfidfVectorizer()
    word = TfidfVectorizer(
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2,
        max_features=200_000,
        strip_accents="unicode",
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 5),
        sublinear_tf=True,
        min_df=2,
        max_features=200_000,
        strip_accents="unicode",
        dtype=np.float32,
    )
    return FeatureUnion([("word", word), ("char", char)])


def fit_fold(model, x, y, seed):
    """(classifiers, NB ratios or None), one per label column."""
    classifiers, ratios = [], []
    for j in range(y.shape[1]):
        yj = y[:, j]
        xj = x
        if model == "nbsvm":
            p = 1.0 + np.asarray(x[yj == 1].sum(axis=0)).ravel()
            q = 1.0 + np.asarray(x[yj != 1].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)
            ratios.append(r)
            xj = x.multiply(r).tocsr()
        if model == "tfidf-nb":
            clf = MultinomialNB()
        else:
            clf = LogisticRegression(C=4.0, solver="liblinear", max_iter=1000, random_state=seed)
        classifiers.append(clf.fit(xj, yj))
    return classifiers, (ratios if model == "nbsvm" else None)


def predict(classifiers, ratios, x):
    cols = []
    for j, clf in enumerate(classifiers):
        xj = x.multiply(ratios[j]).tocsr() if ratios is not None else x
        cols.append(clf.predict_proba(xj)[:, 1])
    return np.column_stack(cols)


def folds_of(texts, y, n_folds, seed):
    """A fold per row; identical texts share one (split one row per distinct text)."""
    codes, _ = pd.factorize(pd.Series(texts, dtype=object), sort=False)
    _, first = np.unique(codes, return_index=True)
    if y.shape[1] > 1:
        from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

        splits = MultilabelStratifiedKFold(n_folds, shuffle=True, random_state=seed).split(
            np.zeros(len(first)), y[first]
        )
    else:
        splits = StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(
            np.zeros(len(first)), y[first, 0]
        )
    rep = np.full(len(first), -1, dtype=np.int16)
    for k, (_, valid) in enumerate(splits):
        rep[valid] = k
    return rep[codes]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("competition", choices=sorted(SPECS))
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="tfidf-lr", choices=["tfidf-nb", "tfidf-lr", "nbsvm"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--full", action="store_true", help="fit on all rows, predict test")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    id_col, text_col, labels, prepare = SPECS[args.competition]
    start = time.perf_counter()
    train = pd.read_csv(args.data / "train.csv")
    test = pd.read_csv(args.data / "test.csv")
    train_text = train[text_col].map(prepare).to_numpy(dtype=object)
    test_text = test[text_col].map(prepare).to_numpy(dtype=object)
    y = train[labels].to_numpy()
    if args.full:
        full(args, train_text, test_text, y, test[id_col], labels)
        return
    folds = folds_of(train_text, y, args.folds, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    oof = np.zeros(y.shape)
    test_pred = np.zeros((len(test), y.shape[1]))
    for k in range(args.folds):
        tr, va = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        vec = vectorizer(args.model)
        x = vec.fit_transform(train_text[tr]).tocsr()
        classifiers, ratios = fit_fold(args.model, x, y[tr], args.seed + k)
        oof[va] = predict(classifiers, ratios, vec.transform(train_text[va]).tocsr())
        test_pred += predict(classifiers, ratios, vec.transform(test_text).tocsr()) / args.folds
        joblib.dump(
            {"vectorizer": vec, "classifiers": classifiers, "ratios": ratios},
            args.out / f"fold-{k}.joblib",
        )
        print(f"fold {k}: {time.perf_counter() - start:.1f}s", file=sys.stderr)
    if len(labels) > 1:
        aucs = [roc_auc_score(y[:, j], oof[:, j]) for j in range(len(labels))]
        score = f"mean_auc={np.mean(aucs):.4f}"
    else:
        best = max(f1_score(y[:, 0], oof[:, 0] >= t) for t in np.arange(0.05, 0.95, 0.01))
        score = f"auc={roc_auc_score(y[:, 0], oof[:, 0]):.4f} best_f1={best:.4f}"
    print(score)
    pd.DataFrame(oof, columns=labels).assign(**{id_col: train[id_col]})[[id_col, *labels]].to_csv(
        args.out / "oof.csv", index=False
    )
    pd.DataFrame(test_pred, columns=labels).assign(**{id_col: test[id_col]})[
        [id_col, *labels]
    ].to_csv(args.out / "test.csv", index=False)


def full(args, train_text, test_text, y, test_ids, labels) -> None:
    """Train on every row (seed as fold 0's), predict test, write a submission."""
    args.out.mkdir(parents=True, exist_ok=True)
    vec = vectorizer(args.model)
    x = vec.fit_transform(train_text).tocsr()
    classifiers, ratios = fit_fold(args.model, x, y, args.seed)
    pred = predict(classifiers, ratios, vec.transform(test_text).tocsr())
    joblib.dump(
        {"vectorizer": vec, "classifiers": classifiers, "ratios": ratios},
        args.out / "full.joblib",
    )
    probs = pd.DataFrame(pred, columns=labels).assign(**{test_ids.name: test_ids})
    probs[[test_ids.name, *labels]].to_csv(args.out / "test.csv", index=False)
    sample = pd.read_csv(args.data / "sample_submission.csv")
    sub = sample[[sample.columns[0]]].merge(
        probs, left_on=sample.columns[0], right_on=test_ids.name
    )
    if len(labels) == 1:
        sub = pd.DataFrame(
            {
                sample.columns[0]: sub[sample.columns[0]],
                sample.columns[1]: (pred[:, 0] >= args.threshold).astype(int),
            }
        )
    sub[list(sample.columns)].to_csv(args.out / "submission.csv", index=False)


if __name__ == "__main__":
    main()
