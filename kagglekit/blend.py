"""Blends: new runs built from existing runs' out-of-fold (OOF) and test predictions.

    member runs (cv or blend runs of one competition on identical folds)
      -> per target column: a blend method turns the members' OOF into the blend's OOF,
         and the members' test predictions into the blend's test predictions
      -> threshold chosen on the blend's OOF -> scores -> a run of kind "blend"

Methods (``BLEND_METHODS``; each is a small scikit-learn-like class, ``fit(P, y)`` then
``predict(P)`` with ``P`` of shape (n_rows, n_members) for one target column):

``mean``      the mean of the members' probabilities.
``rank``      the mean of the members' ranks, each rank the member's empirical CDF over its
              own OOF predictions: ``(#{oof < p} + #{oof <= p}) / (2 n)``. On OOF rows this is
              the usual mid-rank / n; a test row, or any new row given to ``predict``, is
              ranked against the same member's OOF predictions (never against the other new
              rows), so a single row can be predicted, and test and OOF blends lie on one
              scale, which lets the threshold chosen on OOF carry over to test.
``weighted``  non-negative weights summing to one, optimised on OOF for the competition's
              metric (``scipy.optimize.minimize``, Nelder-Mead from the equal weights and
              from the best single member; the threshold is re-chosen for every candidate
              when the metric needs one).
``stack``     a meta-model (logistic regression on the members' logits by default) trained
              on the members' OOF predictions.
``vote``      the share of members voting positive, each at its own run's threshold.

Honesty: a method that learns from labels (``weighted``, ``stack``) is nested inside the
members' folds. Its OOF predictions for fold k come from a blender fit on the OOF rows of
the other folds only, so the blend's scores are cross-validated like any run's. The
blender behind the test predictions (and ``predict``) is fit on all OOF rows; its
in-sample, optimistic score is reported beside them as ``scores_in_sample``.

Members whose OOF and test predictions are identical (the same run given twice, or a rerun
of the same model and seed) are counted once: a duplicate gets weight 0 and no vote, so
``blend(A, A, B)`` is ``blend(A, B)`` for every method.

Refused: runs of different competitions or target columns, runs whose training rows, row
order or fold assignments differ (compared on the contents of folds.csv, as partitions of
the rows), fit runs (no OOF), and a mix of runs with and without test predictions.
"""

from __future__ import annotations

import datetime as _dt
import pickle
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kagglekit.errors import KaggleKitError, RunError
from kagglekit.runs import Run, creating_run, new_run_id, predictions_frame, write_json

BLENDER_FILE = "blender.pkl"
_EPS = 1e-6


class BlendError(RunError):
    """Runs cannot be blended (different folds, rows, competition, ...)."""


# ---------------------------------------------------------------------------------------
# blend methods: fit(P, y) -> self; predict(P) -> (n,); weights_ (or None)


@dataclass
class BlendContext:
    """What a method may need besides the predictions."""

    metric: object = None  # kagglekit.metrics.Metric the weighted blend optimises
    thresholds: tuple = ()  # each member's threshold (vote)
    meta_model: str = "logistic"
    seed: int = 42


class BlendMethod:
    name = ""
    description = ""
    supervised = False  # learns from labels -> nested inside the folds

    def __init__(self, context: BlendContext | None = None):
        self.context = context or BlendContext()

    def fit(self, P, y=None):
        self.n_members_ = np.asarray(P).shape[1]
        self.weights_ = np.full(self.n_members_, 1.0 / self.n_members_)
        return self

    def predict(self, P):  # pragma: no cover - interface
        raise NotImplementedError


class MeanBlend(BlendMethod):
    name = "mean"
    description = "mean of the members' probabilities"

    def predict(self, P):
        return np.asarray(P, dtype=np.float64) @ self.weights_


class RankBlend(BlendMethod):
    name = "rank"
    description = "mean of the members' ranks (empirical CDF over each member's OOF)"

    def fit(self, P, y=None):
        super().fit(P, y)
        P = np.asarray(P, dtype=np.float64)
        self.references_ = [np.sort(P[:, m]) for m in range(P.shape[1])]
        return self

    def predict(self, P):
        P = np.asarray(P, dtype=np.float64)
        ranks = np.column_stack([ecdf(ref, P[:, m]) for m, ref in enumerate(self.references_)])
        return ranks @ self.weights_


def ecdf(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank position of values among a sorted reference, in (0, 1)."""
    below = np.searchsorted(reference, values, side="left")
    at_or_below = np.searchsorted(reference, values, side="right")
    return (below + at_or_below) / (2.0 * len(reference))


class VoteBlend(BlendMethod):
    name = "vote"
    description = "share of members voting positive at their own thresholds"

    def fit(self, P, y=None):
        super().fit(P, y)
        thresholds = np.asarray(self.context.thresholds, dtype=np.float64)
        if len(thresholds) != self.n_members_:
            raise KaggleKitError(f"vote needs one threshold per member: got {len(thresholds)} "
                                 f"for {self.n_members_} members")
        self.thresholds_ = thresholds
        return self

    def predict(self, P):
        return (np.asarray(P, dtype=np.float64) >= self.thresholds_).astype(np.float64) @ self.weights_


class WeightedBlend(BlendMethod):
    name = "weighted"
    description = "weights optimised on OOF for the metric (scipy Nelder-Mead), nested CV"
    supervised = True

    def fit(self, P, y=None):
        from scipy.optimize import minimize

        P = np.asarray(P, dtype=np.float64)
        y = np.asarray(y).reshape(-1)
        n_members = P.shape[1]
        self.n_members_ = n_members
        metric = self.context.metric
        if metric is None:
            raise KaggleKitError("the weighted blend needs a metric to optimise")
        if n_members == 1 or len(np.unique(y)) < 2:
            self.weights_ = np.full(n_members, 1.0 / n_members)
            self.score_ = metric_score(metric, y, P @ self.weights_)
            return self
        sign = 1.0 if metric.greater_is_better else -1.0

        def as_weights(z):
            z = np.abs(np.asarray(z, dtype=np.float64))
            total = z.sum()
            return z / total if total > 0 else None

        def loss(z):
            w = as_weights(z)
            if w is None:
                return np.inf
            score = metric_score(metric, y, P @ w)
            return np.inf if not np.isfinite(score) else -sign * score

        equal = np.full(n_members, 1.0 / n_members)
        vertices = list(np.eye(n_members))
        # candidates in order of preference on ties: the equal weights, then single members
        candidates = [(loss(equal), 0, equal)]
        candidates += [(loss(v), i + 1, v) for i, v in enumerate(vertices)]
        best_vertex = min(candidates[1:], key=lambda c: (c[0], c[1]))[2]
        for order, start in enumerate((equal, best_vertex)):
            simplex = np.vstack([start] + [start + 0.25 * e for e in np.eye(n_members)])
            result = minimize(loss, start, method="Nelder-Mead",
                              options={"initial_simplex": simplex, "xatol": 1e-3,
                                       "fatol": 1e-7, "maxfev": 100 * n_members})
            w = as_weights(result.x)
            if w is not None:
                candidates.append((loss(w), n_members + 1 + order, w))
        best = min(candidates, key=lambda c: (c[0], c[1]))
        self.weights_ = np.asarray(best[2], dtype=np.float64)
        self.score_ = -sign * best[0] if np.isfinite(best[0]) else float("nan")
        return self

    def predict(self, P):
        return np.asarray(P, dtype=np.float64) @ self.weights_


def _logistic(seed):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=1000, random_state=seed)


def _hist_gradient_boosting(seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=8,
                                          min_samples_leaf=40, random_state=seed)


# meta-models for ``stack``: name -> factory(seed) of a scikit-learn classifier
META_MODELS = {
    "logistic": _logistic,
    "hgb": _hist_gradient_boosting,
}


class StackBlend(BlendMethod):
    name = "stack"
    description = "meta-model on the members' OOF logits (logistic regression), nested CV"
    supervised = True

    def fit(self, P, y=None):
        P = np.asarray(P, dtype=np.float64)
        y = np.asarray(y).reshape(-1)
        self.n_members_ = P.shape[1]
        name = self.context.meta_model
        if name not in META_MODELS:
            raise KaggleKitError(f"unknown meta-model {name!r}; choose one of "
                                 f"{', '.join(META_MODELS)}")
        if len(np.unique(y)) < 2:  # a rare label absent from these folds
            self.model_, self.constant_ = None, float(y.mean()) if len(y) else 0.0
            self.weights_ = np.zeros(self.n_members_)
            return self
        with _one_thread():  # a few features: threads cost more than they give
            self.model_ = META_MODELS[name](self.context.seed).fit(logit(P), y)
        coef = getattr(self.model_, "coef_", None)
        self.weights_ = None if coef is None else np.asarray(coef, dtype=np.float64).ravel()
        intercept = getattr(self.model_, "intercept_", None)
        self.intercept_ = None if intercept is None else float(np.ravel(intercept)[0])
        return self

    def predict(self, P):
        P = np.asarray(P, dtype=np.float64)
        if self.model_ is None:
            return np.full(len(P), self.constant_)
        with _one_thread():
            return self.model_.predict_proba(logit(P))[:, 1]


def _one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def logit(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


BLEND_METHODS = {cls.name: cls for cls in (MeanBlend, RankBlend, WeightedBlend, StackBlend,
                                           VoteBlend)}


def get_method(name: str) -> type[BlendMethod]:
    if name not in BLEND_METHODS:
        raise KaggleKitError(f"unknown blend method {name!r}; choose one of "
                             f"{', '.join(BLEND_METHODS)}")
    return BLEND_METHODS[name]


def metric_score(metric, y, p) -> float:
    """The metric of one column, at the threshold best for it when it needs one."""
    from kagglekit.metrics import best_threshold

    fast = _fast_scores().get(metric.fn)
    if fast is not None:
        return fast(np.asarray(y).reshape(-1), np.asarray(p, dtype=np.float64).reshape(-1))
    y = np.asarray(y).reshape(-1, 1)
    p = np.asarray(p, dtype=np.float64).reshape(-1, 1)
    threshold = best_threshold(metric, y, p) if metric.needs_threshold else 0.5
    return metric(y, p, threshold)


def _fast_auc(y, p) -> float:
    """ROC AUC by the Mann-Whitney U statistic (ties count one half), as roc_auc_score."""
    from scipy.stats import rankdata

    positives = y == 1
    n_pos = int(positives.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _fast_best_f1(y, p) -> float:
    """F1 at the best threshold among the candidates ``best_threshold`` considers."""
    from kagglekit.metrics import _f1_at_thresholds

    unique = np.unique(p)
    if len(unique) > 1000:
        unique = np.unique(np.quantile(p, np.linspace(0, 1, 1001)))
    return float(_f1_at_thresholds(y, p, unique).max())


def _fast_scores() -> dict:
    """Exact, faster forms of built-in metrics for the weights' optimiser (thousands of
    calls), keyed by the metric's function; any other metric is called as it is. Tests
    check that each gives the metric's own value."""
    from kagglekit import metrics

    return {metrics._auc: _fast_auc, metrics._mean_auc: _fast_auc,
            metrics._binary_f1: _fast_best_f1}


# ---------------------------------------------------------------------------------------
# blending arrays


@dataclass
class BlendResult:
    oof: np.ndarray  # (n, T): cross-validated for supervised methods
    test: np.ndarray | None  # (n_test, T)
    in_sample: np.ndarray | None  # (n, T): the final blender on the rows it was fit on
    blenders: list  # one fitted method per target column (fit on all OOF rows)
    fold_weights: list = field(default_factory=list)  # [label][fold] -> weights or None


def blend_arrays(method: str, oof: np.ndarray, y: np.ndarray, folds: np.ndarray,
                 test: np.ndarray | None = None,
                 context: BlendContext | None = None) -> BlendResult:
    """Blend members' predictions; ``oof`` (M, n, T), ``test`` (M, n_test, T), ``y`` (n, T).

    Each target column is blended on its own. Supervised methods are nested: fold k's
    OOF comes from a blender fit on the other folds' rows.
    """
    cls = get_method(method)
    oof = np.asarray(oof, dtype=np.float64)
    if oof.ndim == 2:
        oof = oof[:, :, None]
    n_members, n_rows, n_targets = oof.shape
    y = np.asarray(y).reshape(n_rows, -1)
    folds = np.asarray(folds).reshape(-1)
    if test is not None:
        test = np.asarray(test, dtype=np.float64)
        if test.ndim == 2:
            test = test[:, :, None]
    out_oof = np.zeros((n_rows, n_targets))
    out_test = None if test is None else np.zeros((test.shape[1], n_targets))
    in_sample = np.zeros((n_rows, n_targets)) if cls.supervised else None
    blenders, fold_weights = [], []
    for j in range(n_targets):
        P = oof[:, :, j].T  # (n, M)
        full = cls(context).fit(P, y[:, j])
        blenders.append(full)
        per_fold = []
        if cls.supervised:
            for k in np.unique(folds):
                valid = folds == k
                inner = cls(context).fit(P[~valid], y[~valid, j])
                out_oof[valid, j] = inner.predict(P[valid])
                per_fold.append(None if inner.weights_ is None else inner.weights_.tolist())
            in_sample[:, j] = full.predict(P)
        else:
            out_oof[:, j] = full.predict(P)
        fold_weights.append(per_fold)
        if test is not None:
            out_test[:, j] = full.predict(test[:, :, j].T)
    return BlendResult(out_oof, out_test, in_sample, blenders, fold_weights)


# ---------------------------------------------------------------------------------------
# loading and checking member runs


@dataclass
class Member:
    run: Run
    oof: np.ndarray  # (n, T)
    test: np.ndarray | None  # (n_test, T)
    duplicate_of: int | None = None  # index of the first identical member


@dataclass
class BlendData:
    comp: object
    members: list
    ids: np.ndarray  # training ids as strings, in the runs' row order
    folds: np.ndarray  # (n,) fold per row
    y: np.ndarray  # (n, T) labels
    test_ids: np.ndarray | None
    data_dir: Path

    @property
    def unique(self) -> list:
        return [m for m in self.members if m.duplicate_of is None]


def fold_differences(folds_a: np.ndarray, folds_b: np.ndarray) -> np.ndarray:
    """Rows whose fold differs, fold numbers aside: empty when both split the rows alike.

    Each fold of one run is matched to the fold of the other that most of its rows are
    in; the rows elsewhere are the difference.
    """
    a, b = np.asarray(folds_a).reshape(-1), np.asarray(folds_b).reshape(-1)
    pairs, counts = np.unique(np.column_stack([a, b]), axis=0, return_counts=True)
    if len(pairs) == len(np.unique(a)) == len(np.unique(b)):
        return np.array([], dtype=np.int64)
    for x, z in ((a, b), (b, a)):  # z a function of x would hide merged folds: check both ways
        match = {}
        for pair, _ in sorted(zip(map(tuple, pairs if x is a else pairs[:, ::-1]), counts),
                              key=lambda t: -t[1]):
            match.setdefault(pair[0], pair[1])
        differ = np.flatnonzero(np.array([match[f] for f in x]) != z)
        if len(differ):
            return differ
    return np.arange(len(a))  # pragma: no cover - unreachable: the partitions differ


def _id_col(run: Run) -> str:
    return run.info.get("id_column") or "id"


def _predictions(run: Run, frame, what: str, ids: np.ndarray, columns) -> np.ndarray:
    id_col = _id_col(run)
    got = frame[id_col].astype(str).to_numpy()
    if len(got) != len(ids) or (got != ids).any():
        raise BlendError(f"run {run.id}: the ids of {what} do not match its folds.csv; "
                         f"the run is damaged, remove it")
    values = frame[list(columns)].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise BlendError(f"run {run.id}: {what} has NaN in row {row + 1}; the run is damaged, "
                         f"remove it")
    return values


def _check_same_rows(first: Run, run: Run, ids0: np.ndarray, ids: np.ndarray, what: str):
    if len(ids) == len(ids0) and (ids == ids0).all():
        return
    s0, s1 = set(ids0.tolist()), set(ids.tolist())
    if s0 != s1:
        extra = sorted(s1 - s0)[:1] or sorted(s0 - s1)[:1]
        raise BlendError(
            f"runs {first.id} and {run.id} were made on different {what} rows "
            f"({len(ids0)} vs {len(ids)} rows; e.g. id {extra[0]!r} is in only one); "
            f"blend runs made on the same data")
    row = int(np.flatnonzero(ids != ids0)[0])
    raise BlendError(
        f"runs {first.id} and {run.id} list the {what} rows in a different order (row {row + 1} "
        f"is id {ids0[row]!r} in one and {ids[row]!r} in the other); blend runs made on the "
        f"same files")


def load_members(runs: list[Run], data_dir=None) -> BlendData:
    """Read and check the members' folds, OOF and test predictions and the labels."""
    from kagglekit import plugins

    if len(runs) < 2:
        raise BlendError(f"a blend needs at least two runs, got {len(runs)}")
    for run in runs:
        if not (run.path / "oof.csv").is_file() or not (run.path / "folds.csv").is_file():
            raise BlendError(
                f"run {run.id} is a {run.kind} run without out-of-fold predictions "
                f"(oof.csv, folds.csv); only cv and blend runs can be blended (run "
                f"`kagglekit cv` for it)")
    first = runs[0]
    for run in runs[1:]:
        if run.competition != first.competition:
            raise BlendError(f"runs {first.id} ({first.competition}) and {run.id} "
                             f"({run.competition}) are of different competitions")
        if list(run.target_columns) != list(first.target_columns):
            raise BlendError(f"runs {first.id} and {run.id} predict different columns "
                             f"({first.target_columns} vs {run.target_columns})")
    comp = plugins.get_competition(first.competition)
    columns = list(first.target_columns)
    folds0 = first.folds()
    ids = folds0[_id_col(first)].astype(str).to_numpy()
    fold0 = folds0["fold"].to_numpy()
    members, test_ids = [], None
    has_test = [(r.path / "test_predictions.csv").is_file() for r in runs]
    if any(has_test) and not all(has_test):
        without = runs[has_test.index(False)]
        raise BlendError(f"run {without.id} has no test predictions but other runs do; "
                         f"blend runs that all have them (or none)")
    for run in runs:
        frame = run.folds()
        run_ids = frame[_id_col(run)].astype(str).to_numpy()
        _check_same_rows(first, run, ids, run_ids, "training")
        differ = fold_differences(fold0, frame["fold"].to_numpy())
        if len(differ):
            i = int(differ[0])
            raise BlendError(
                f"runs {first.id} and {run.id} use different folds: {len(differ)} of {len(ids)} "
                f"rows are assigned differently (e.g. id {ids[i]!r}: fold {fold0[i]} in one, "
                f"fold {frame['fold'].iloc[i]} in the other); blend runs made on the same folds "
                f"(the same --folds and --seed, or one `kagglekit cv --model A --model B`)")
        oof = _predictions(run, run.oof(), "oof.csv", ids, columns)
        test = None
        if all(has_test):
            preds = run.test_predictions()
            run_test_ids = preds[_id_col(run)].astype(str).to_numpy()
            if test_ids is None:
                test_ids = run_test_ids
            _check_same_rows(first, run, test_ids, run_test_ids, "test")
            test = _predictions(run, preds, "test_predictions.csv", test_ids, columns)
        members.append(Member(run, oof, test))
    for i, member in enumerate(members):
        for j in range(i):
            other = members[j]
            if other.duplicate_of is None and np.array_equal(member.oof, other.oof) and (
                    member.test is None or np.array_equal(member.test, other.test)):
                member.duplicate_of = j
                break
    directory = data_dir or first.info.get("data_dir") or None
    y, directory = load_labels(comp, directory, ids, first)
    return BlendData(comp, members, ids, fold0, y, test_ids, directory)


def load_labels(comp, directory, ids: np.ndarray, run: Run) -> tuple[np.ndarray, Path]:
    """The training labels in the runs' row order, and the folder whose train file has them."""
    from kagglekit.data import encode_labels, find_data_dir, read_csv

    try:
        directory = find_data_dir(comp, directory)
    except KaggleKitError:
        raise BlendError(
            f"the labels are read from the runs' data folder {directory}, which has no "
            f"{comp.train_file}; pass --data-dir with the {comp.slug} files") from None
    path = directory / comp.train_file
    needed = [*([comp.id_column] if comp.id_column else []), *comp.target_columns]
    frame = read_csv(path, columns_needed=needed, **dict(comp.read_options))
    y = encode_labels(comp, frame, path)
    file_ids = (frame[comp.id_column].astype(str).to_numpy() if comp.id_column
                else np.arange(len(frame)).astype(str))
    if len(file_ids) != len(ids) or (file_ids != ids).any():
        raise BlendError(f"{path} does not hold the training rows of run {run.id} in its order "
                         f"({len(file_ids)} rows vs {len(ids)}); pass --data-dir with the files "
                         f"the runs were made on")
    return y, directory


# ---------------------------------------------------------------------------------------
# the blend run


def create_blend(runs: list[Run], method: str, runs_dir: Path = Path("runs"), *,
                 data_dir=None, objective: str | None = None, meta_model: str = "logistic",
                 seed: int | None = None) -> Run:
    """Blend finished runs into a new run of kind "blend"; returns it."""
    from kagglekit import plugins
    from kagglekit.metrics import score_all, thresholded_metric
    from kagglekit.runs import environment
    from kagglekit.metrics import best_threshold

    cls = get_method(method)
    if meta_model not in META_MODELS:
        raise KaggleKitError(f"unknown meta-model {meta_model!r}; choose one of "
                             f"{', '.join(META_MODELS)}")
    data = load_members(runs, data_dir)
    comp = data.comp
    objective = objective or comp.metric
    metric = plugins.get_metric(objective)
    unique = data.unique
    seed = int(runs[0].info.get("seed", 42)) if seed is None else seed
    # oof.csv holds 7 significant digits: round the thresholds alike, so that each member
    # votes as its run decided (p >= t <=> round(p) >= round(t), but for p next to t)
    thresholds = tuple(float(f"{m.run.threshold:.7g}") for m in unique)
    context = BlendContext(metric=metric, thresholds=thresholds,
                           meta_model=meta_model, seed=seed)
    result = blend_arrays(
        method, np.stack([m.oof for m in unique]), data.y, data.folds,
        None if data.test_ids is None else np.stack([m.test for m in unique]), context)
    # threshold and scores from the values as oof.csv keeps them, so that re-scoring the
    # saved files gives the same numbers (and float noise cannot split tied ranks)
    result.oof = as_saved(result.oof)
    result.test = None if result.test is None else as_saved(result.test)
    result.in_sample = None if result.in_sample is None else as_saved(result.in_sample)

    thr_metric = thresholded_metric(comp)
    threshold = best_threshold(thr_metric, data.y, result.oof) if thr_metric else 0.5
    scores = score_all(comp, data.y, result.oof, threshold)
    fold_scores = []
    for k in np.unique(data.folds):
        valid = data.folds == k
        fold_scores.append({"fold": int(k), "n_valid": int(valid.sum()),
                            **score_all(comp, data.y[valid], result.oof[valid], threshold)})
    columns = list(data.members[0].run.target_columns)
    member_rows = _member_rows(data, result, columns, comp)
    names = list(dict.fromkeys(m.run.model for m in unique))
    model_name = f"{method}({'+'.join(names)})"
    first = runs[0].info
    info = {
        "kind": "blend", "competition": comp.slug, "model": model_name, "method": method,
        "method_description": cls.description,
        "members": [str(m.run.path.resolve()) for m in data.members],
        "member_runs": member_rows,
        "params": {"method": method, "objective": objective if method == "weighted" else None,
                   "meta_model": meta_model if method == "stack" else None},
        "seed": seed, "task": comp.task, "id_column": _id_col(runs[0]),
        "target_columns": columns, "metric": comp.metric,
        "data_dir": str(Path(data.data_dir).resolve()),
        "sample": any(m.run.info.get("sample", False) for m in data.members),
        "prepared_text": first.get("prepared_text", True),
        "n_train": len(data.ids), "n_test": 0 if data.test_ids is None else len(data.test_ids),
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "environment": environment(),
        "n_folds": int(len(np.unique(data.folds))), "cv_scheme": first.get("cv_scheme"),
        "threshold": threshold, "threshold_metric": thr_metric.name if thr_metric else None,
        "scores": scores, "fold_scores": fold_scores,
        "fold_spread": {m: round(float(np.std([f[m] for f in fold_scores])), 6) for m in scores},
        "folds_hash": first.get("folds_hash"),
        "weights": {m["run_id"]: m["weights"] for m in member_rows},
        "fold_weights": {c: [dict(zip([m.run.id for m in unique], w)) if w is not None else None
                             for w in fw] for c, fw in zip(columns, result.fold_weights)}
        if cls.supervised else None,
        "intercepts": {c: getattr(b, "intercept_", None) for c, b in zip(columns, result.blenders)}
        if method == "stack" else None,
    }
    if result.in_sample is not None:
        in_threshold = best_threshold(thr_metric, data.y, result.in_sample) if thr_metric else 0.5
        info["scores_in_sample"] = score_all(comp, data.y, result.in_sample, in_threshold)
        info["threshold_in_sample"] = in_threshold
    for blender in result.blenders:
        blender.context = None  # the metric (a plugin's function) is not needed to predict
    state = {"method": method, "blenders": result.blenders, "columns": columns,
             "members": [{"run_id": m.run.id, "path": str(m.run.path.resolve()),
                          "prepared_text": m.run.info.get("prepared_text", True)}
                         for m in unique]}
    run_id = new_run_id(f"blend-{method}-{'+'.join(names)}")
    id_col = _id_col(runs[0])
    with creating_run(runs_dir, comp.slug, run_id) as tmp:
        shutil.copyfile(runs[0].path / "folds.csv", tmp / "folds.csv")
        predictions_frame(data.ids, result.oof, columns, id_col).to_csv(
            tmp / "oof.csv", index=False, float_format="%.7g")
        if result.test is not None:
            predictions_frame(data.test_ids, result.test, columns, id_col).to_csv(
                tmp / "test_predictions.csv", index=False, float_format="%.7g")
        with open(tmp / BLENDER_FILE, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        write_json(tmp / "run.json", info)
    return Run(Path(runs_dir) / comp.slug / run_id)


def as_saved(values: np.ndarray) -> np.ndarray:
    """Values rounded as the run's CSV files write them (``%.7g``)."""
    values = np.asarray(values, dtype=np.float64)
    return np.char.mod("%.7g", values).astype(np.float64).reshape(values.shape)


def _member_rows(data: BlendData, result: BlendResult, columns, comp) -> list[dict]:
    from kagglekit.metrics import score_all

    index_of = {id(m): i for i, m in enumerate(data.unique)}
    rows = []
    for member in data.members:
        run = member.run
        row = {"run_id": run.id, "path": str(run.path.resolve()), "model": run.model,
               "kind": run.kind, "threshold": run.threshold,
               # the member's own record (its OOF at full precision), as `kagglekit runs` shows
               "scores": run.scores or score_all(comp, data.y, member.oof, run.threshold),
               "duplicate_of": None if member.duplicate_of is None
               else data.members[member.duplicate_of].run.id}
        if member.duplicate_of is None:
            i = index_of[id(member)]
            row["weights"] = {c: (None if b.weights_ is None else round(float(b.weights_[i]), 6))
                              for c, b in zip(columns, result.blenders)}
        else:
            row["weights"] = {c: 0.0 for c in columns}
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------
# predicting new rows with a blend run


def _member_run(blend: Run, ref: dict) -> Run:
    for candidate in (Path(ref["path"]), blend.path.parent / ref["run_id"]):
        if (candidate / "run.json").is_file():
            return Run(candidate)
    raise BlendError(f"blend {blend.id} needs its member run {ref['run_id']} (looked in "
                     f"{ref['path']} and {blend.path.parent}); it was moved or removed")


def predict_blend(run: Run, frame) -> np.ndarray:
    """Predict with every member run and combine them as the blend did its test rows."""
    from kagglekit.predict import predict_with_run

    path = run.path / BLENDER_FILE
    if not path.is_file():
        raise BlendError(f"blend {run.id} has no {BLENDER_FILE}; it cannot predict new rows")
    with open(path, "rb") as fh:
        state = pickle.load(fh)
    prepared = run.info.get("prepared_text", True)
    for ref in state["members"]:
        if ref["prepared_text"] != prepared:
            raise BlendError(f"blend {run.id}: member {ref['run_id']} was made "
                             f"{'with' if ref['prepared_text'] else 'without'} the competition's "
                             f"text preparation and others not; predict with each member run "
                             f"and combine them yourself")
    preds = np.stack([np.asarray(predict_with_run(_member_run(run, ref), frame), dtype=np.float64)
                      .reshape(len(frame), -1) for ref in state["members"]])
    return np.column_stack([blender.predict(preds[:, :, j].T)
                            for j, blender in enumerate(state["blenders"])])
