"""The plain scikit-learn script kagglekit's `cv --model tfidf-nb --folds 5` is measured against.

What a notebook does for the same five folds: read train/test, StratifiedKFold(5, shuffle,
seed 42), TfidfVectorizer() + MultinomialNB() per fold, OOF and averaged test predictions,
F1/accuracy/AUC, OOF and test predictions written to CSV.
Usage: python baseline_sklearn_cv.py DATA_DIR OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import MultinomialNB

data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
train = pd.read_csv(data / "train.csv")
test = pd.read_csv(data / "test.csv")
y = train["target"].to_numpy()
oof = np.zeros(len(train))
test_pred = np.zeros(len(test))
for tr, va in StratifiedKFold(5, shuffle=True, random_state=42).split(train, y):
    vec = TfidfVectorizer()
    x = vec.fit_transform(train["text"].iloc[tr])
    clf = MultinomialNB().fit(x, y[tr])
    oof[va] = clf.predict_proba(vec.transform(train["text"].iloc[va]))[:, 1]
    test_pred += clf.predict_proba(vec.transform(test["text"]))[:, 1] / 5
print(
    f"f1={f1_score(y, oof >= 0.5):.4f} accuracy={accuracy_score(y, oof >= 0.5):.4f} "
    f"auc={roc_auc_score(y, oof):.4f}"
)
pd.DataFrame({"id": train["id"], "target": oof}).to_csv(out / "oof.csv", index=False)
pd.DataFrame({"id": test["id"], "target": test_pred}).to_csv(out / "test.csv", index=False)
