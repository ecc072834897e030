"""What a report shows, gathered from a run folder and the run's data folder (no plotting).

A run keeps its OOF probabilities, folds and run.json; the labels and texts are read
again from the competition files in ``run.json["data_dir"]`` (with the text options the
run recorded). When those files are gone, the report still shows what run.json holds and
says which sections it could not draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kagglekit import plugins
from kagglekit.competition import Competition
from kagglekit.errors import KaggleKitError
from kagglekit.store.run import Run

N_WRONG = 20
TEXT_CHARS = 400


@dataclass
class RunData:
    """One run, ready to plot: OOF rows aligned with their labels, folds and texts."""

    run: Run
    comp: Competition
    ids: np.ndarray | None = None  # scored OOF rows
    y: np.ndarray | None = None  # (n, targets) 0/1, None when the labels are gone
    oof: np.ndarray | None = None  # (n, targets) probabilities
    folds: np.ndarray | None = None  # fold of each scored row
    texts: np.ndarray | None = None  # raw texts of the scored rows (untrusted)
    notes: list = field(default_factory=list)

    @property
    def info(self) -> dict:
        return self.run.info

    @property
    def targets(self) -> list[str]:
        return list(self.run.target_columns)

    @property
    def has_labels(self) -> bool:
        return self.y is not None and self.oof is not None

    def scored(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, oof) of a run that has OOF rows (``oof`` is not None)."""
        assert self.ids is not None and self.oof is not None
        return self.ids, self.oof

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        """(y, oof) of a run that ``has_labels``."""
        assert self.y is not None and self.oof is not None
        return self.y, self.oof

    @property
    def threshold(self) -> float:
        value = self.info.get("threshold")
        return 0.5 if value is None else float(value)

    @property
    def metric(self) -> str:
        return self.info.get("metric") or self.comp.metric

    @property
    def title(self) -> str:
        return f"{self.run.model} on {self.run.competition}"


def load_run_data(run: Run) -> RunData:
    """The run with its OOF rows, labels, folds and texts (as much as can be found)."""
    comp = plugins.get_competition(run.competition)
    data = RunData(run=run, comp=comp)
    if not (run.path / "oof.csv").is_file():
        why = "a fit run trains on every row" if run.kind == "fit" else "its oof.csv is missing"
        data.notes.append(f"run {run.id} has no OOF predictions ({why}): only its record is shown")
        return data
    id_col = run.info.get("id_column") or "id"
    oof = run.oof()
    ids = oof[id_col].astype(str).to_numpy()
    data.ids = ids
    data.oof = oof[data.targets].to_numpy(dtype=np.float64)
    if (run.path / "folds.csv").is_file():
        folds = run.folds()
        by_id = dict(zip(folds[id_col].astype(str), folds["fold"].astype(int)))
        data.folds = np.array([by_id.get(i, -1) for i in ids], dtype=np.int64)
    labels, texts, why = _labels_and_texts(run, comp, ids)
    if labels is None:
        data.notes.append(
            f"labels not available ({why}): curves, confusion matrix, "
            f"calibration and the most-wrong rows are left out"
        )
    else:
        data.y, data.texts = labels, texts
    return data


def _labels_and_texts(run: Run, comp: Competition, ids: np.ndarray):
    """(labels, raw texts, None) of the OOF ids from the run's data folder, or (None, None, why)."""
    from dataclasses import replace

    from kagglekit.data import load_split

    directory = run.info.get("data_dir")
    if not directory or not Path(directory).is_dir():
        return None, None, f"the run's data folder {directory} is gone"
    comp = replace(comp, prepare_text=None)  # the report shows the texts as in the file
    kwargs = {
        "encoding": run.info.get("encoding") or "utf-8",
        "allow_empty_text": bool(run.info.get("allow_empty_text", False)),
        "params": _competition_params(comp, run.info.get("competition_params") or {}),
    }
    frames = []
    try:
        frames.append(load_split(comp, Path(directory), "train", **kwargs))
        if comp.validation_file and (Path(directory) / comp.validation_file).exists():
            frames.append(load_split(comp, Path(directory), "validation", **kwargs))
    except KaggleKitError as exc:
        return None, None, str(exc)
    position: dict[str, tuple[int, int]] = {}
    labels: list[np.ndarray] = []
    texts: list[np.ndarray] = []
    for frame in frames:
        raw = _raw_texts(frame, comp)
        for i, row_id in enumerate(frame.ids):
            position.setdefault(str(row_id), (len(labels), i))
        assert frame.y is not None  # train and validation rows always have labels
        labels.append(frame.y)
        texts.append(raw)
    missing = [i for i in ids if i not in position]
    if missing:
        return (
            None,
            None,
            (
                f"{len(missing)} OOF ids (e.g. {missing[0]!r}) are not in "
                f"{directory}: the files changed since the run"
            ),
        )
    y = np.stack([labels[f][i] for f, i in (position[k] for k in ids)]).astype(np.int8)
    text = np.array([texts[f][i] for f, i in (position[k] for k in ids)], dtype=object)
    return y, text, None


def _competition_params(comp, values: dict):
    cls = comp.params_class() if callable(getattr(comp, "params_class", None)) else None
    if cls is None:
        return None
    try:
        return cls(**values)
    except TypeError:
        return cls()


def _raw_texts(frame, comp) -> np.ndarray:
    """The texts as they are in the file (what a person reads), joined over text columns."""
    extra = frame.extra
    columns = [c for c in comp.text_columns if extra is not None and c in extra.columns]
    if not columns:
        return np.asarray(frame.text, dtype=object)
    parts = [extra[c].fillna("").astype(str).to_numpy(dtype=object) for c in columns]
    if len(parts) == 1:
        return parts[0]
    return np.array([" | ".join(p) for p in zip(*parts)], dtype=object)


# ------------------------------------------------------------------ tables computed from RunData


def headline(data: RunData) -> dict:
    """Scores, nested scores, fold spread, threshold and whether they are held out."""
    info = data.info
    scores = info.get("scores") or {}
    nested = info.get("nested_scores") or {}
    spread = info.get("fold_spread") or {}
    rows = []
    for name, value in scores.items():
        rows.append(
            {
                "metric": name,
                "score": value,
                "nested": nested.get(name),
                "optimistic": bool(info.get("threshold_metric"))
                and name in nested
                and nested.get(name) != value,
                "spread": spread.get(name),
            }
        )
    return {
        "rows": rows,
        "threshold": info.get("threshold"),
        "threshold_metric": info.get("threshold_metric"),
        "held_out": info.get("held_out", info.get("kind") != "fit"),
        "not_held_out_because": info.get("not_held_out_because") or [],
        "metric": data.metric,
    }


def fold_rows(data: RunData) -> tuple[list[str], list[dict]]:
    """Per-fold scores with the fold's threshold, sizes and seconds."""
    folds = data.info.get("fold_scores") or []
    thresholds = data.info.get("fold_thresholds") or {}
    metrics = [m for m in (data.info.get("scores") or {})]
    rows = []
    for f in folds:
        row = {
            "fold": f.get("fold"),
            "n_train": f.get("n_train"),
            "n_valid": f.get("n_valid"),
            **{m: f.get(m) for m in metrics},
            "seconds": None if f.get("seconds") is None else f"{f['seconds']:.1f}",
        }
        if thresholds:
            row["threshold"] = thresholds.get(str(f.get("fold")))
        fit = f.get("fit_info") or {}
        if fit.get("best_epoch") is not None:
            row["best epoch"] = fit.get("best_epoch")
        rows.append(row)
    columns = ["fold", "n_train", "n_valid", *metrics]
    for extra in ("threshold", "best epoch", "seconds"):
        if any(extra in r and r[extra] is not None for r in rows):
            columns.append(extra)
    return columns, rows


def histories(data: RunData) -> list[dict]:
    """[{fold, history: [per-epoch dicts], best_epoch, monitor}] for models that keep one."""
    out = []
    sources = [(f.get("fold"), f.get("fit_info")) for f in data.info.get("fold_scores") or []]
    if data.info.get("fit_info"):
        sources.append(("full", data.info["fit_info"]))
    for fold, fit in sources:
        if not isinstance(fit, dict):
            continue
        history = fit.get("history") or fit.get("epochs")
        if isinstance(history, list) and history and all(isinstance(h, dict) for h in history):
            out.append(
                {
                    "fold": fold,
                    "history": history,
                    "best_epoch": fit.get("best_epoch"),
                    "monitor": fit.get("monitor"),
                    "early_stopping": fit.get("early_stopping"),
                }
            )
    return out


def embedding_reports(data: RunData) -> list[dict]:
    """The embeddings reports the folds' fit_info holds (GloVe-style runs), one per fold."""
    out = []
    sources = [(f.get("fold"), f.get("fit_info")) for f in data.info.get("fold_scores") or []]
    if data.info.get("fit_info"):
        sources.append(("full", data.info["fit_info"]))
    for fold, fit in sources:
        report = (fit or {}).get("embeddings") if isinstance(fit, dict) else None
        if isinstance(report, dict) and report:
            out.append({"fold": fold, **report})
    return out


def blend_weights(data: RunData) -> list[dict]:
    """[{run_id, model, weights: {column: w} or [w...], scores}] of a blend's members."""
    if data.info.get("kind") != "blend":
        return []
    rows = []
    weights = data.info.get("weights") or {}
    for member in data.info.get("member_runs") or []:
        if not isinstance(member, dict):
            continue
        run_id = member.get("run_id")
        rows.append(
            {
                "run_id": run_id,
                "model": member.get("model"),
                "weights": member.get("weights", weights.get(run_id)),
                "scores": member.get("scores") or {},
            }
        )
    return rows


def weight_values(weights, targets) -> list[float | None]:
    """A member's weight per target column, whatever shape the blend recorded."""
    if isinstance(weights, dict):
        return [_number(weights.get(t)) for t in targets]
    if isinstance(weights, (list, tuple)):
        return [_number(w) for w in weights][: len(targets)] or [None]
    return [_number(weights)] * len(targets)


def _number(value):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def data_summary(data: RunData) -> dict:
    info = data.info
    balance = []
    if data.y is not None:
        for j, name in enumerate(data.targets):
            positives = int(data.y[:, j].sum())
            balance.append(
                {"target": name, "positives": positives, "share": positives / max(1, len(data.y))}
            )
    return {
        "n_train": info.get("n_train"),
        "n_test": info.get("n_test"),
        "n_scored": info.get("n_scored", None if data.ids is None else len(data.ids)),
        "n_folds": info.get("n_folds"),
        "cv_scheme": info.get("cv_scheme"),
        "sample": bool(info.get("sample")),
        "data_dir": info.get("data_dir"),
        "prepared_text": info.get("prepared_text"),
        "balance": balance,
        "duplicates": info.get("duplicates"),
        "notes": list(info.get("notes") or []),
    }


def most_wrong(data: RunData, n: int = N_WRONG) -> list[dict]:
    """The ``n`` OOF rows whose probability is furthest from their label."""
    if not data.has_labels:
        return []
    ids, _ = data.scored()
    y, oof = data.labelled()
    error = np.abs(y.astype(np.float64) - oof)
    worst_label = error.argmax(axis=1)
    worst = error[np.arange(len(error)), worst_label]
    order = np.argsort(-worst, kind="stable")[:n]
    rows = []
    for i in order:
        j = int(worst_label[i])
        text = str(data.texts[i]) if data.texts is not None else ""
        rows.append(
            {
                "id": str(ids[i]),
                "target": data.targets[j],
                "label": int(y[i, j]),
                "probability": float(oof[i, j]),
                "fold": None if data.folds is None else int(data.folds[i]),
                "text": text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + " ...",
            }
        )
    return rows


def length_buckets(data: RunData, n_buckets: int = 5) -> list[dict]:
    """The run's metric per text-length bucket (words), at the run's threshold."""
    if not data.has_labels or data.texts is None:
        return []
    y, oof = data.labelled()
    metric = plugins.get_metric(data.metric)
    lengths = np.array([len(str(t).split()) for t in data.texts])
    edges = np.unique(np.quantile(lengths, np.linspace(0, 1, n_buckets + 1)))
    if len(edges) < 2:
        edges = np.array([lengths.min(), lengths.max() + 1])
    bucket = np.clip(np.searchsorted(edges, lengths, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        mask = bucket == b
        if not mask.any():
            continue
        score = metric(y[mask], oof[mask], data.threshold)
        lo, hi = int(lengths[mask].min()), int(lengths[mask].max())
        rows.append(
            {
                "bucket": f"{lo}-{hi} words",
                "rows": int(mask.sum()),
                "score": None if score != score else score,
                "positives": float(y[mask].mean()),
            }
        )
    return rows


def common_oof(datas: list[RunData]):
    """(ids, [oof per run]) on the OOF ids every run has, for correlations and overlays."""
    usable = [d.scored() for d in datas if d.oof is not None]
    if len(usable) < 2:
        return None, []
    shared = set(usable[0][0])
    for run_ids, _ in usable[1:]:
        shared &= set(run_ids)
    ids = np.array(sorted(shared), dtype=object)
    out = []
    for run_ids, oof in usable:
        pos = {k: i for i, k in enumerate(run_ids)}
        out.append(oof[[pos[k] for k in ids]])
    return ids, out


def correlations(datas: list[RunData]) -> tuple[list[str], np.ndarray | None, int]:
    """Pearson correlation of the runs' OOF predictions on their shared rows (all targets)."""
    ids, preds = common_oof(datas)
    names = [short_name(d.run) for d in datas if d.oof is not None]
    if ids is None or len(ids) < 3:
        return names, None, 0 if ids is None else len(ids)
    flat = np.stack([p.ravel() for p in preds])
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.corrcoef(flat)
    return names, matrix, len(ids)


def fmt_weight(value) -> str:
    return "" if value is None else f"{value:.3f}"


def short_name(run) -> str:
    """A run's model and the end of its id (unique enough beside each other)."""
    return f"{run.model} {run.id[-6:]}"


def threshold_scores(data: RunData, name: str, grid: np.ndarray) -> np.ndarray:
    """The thresholded metric ``name`` at every threshold of ``grid`` (binary runs); F1 and
    accuracy computed for all thresholds at once (millions of rows stay fast)."""
    labels, oof = data.labelled()
    y = labels[:, 0].astype(np.int64)
    p = oof[:, 0]
    if name in ("f1", "accuracy"):
        order = np.sort(p)
        # rows predicted positive at t: p >= t
        n_pos_pred = len(p) - np.searchsorted(order, grid, side="left")
        pos_sorted = np.sort(p[y == 1])
        tp = len(pos_sorted) - np.searchsorted(pos_sorted, grid, side="left")
        positives = int(y.sum())
        if name == "f1":
            denom = n_pos_pred + positives
            return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        tn = (len(p) - n_pos_pred) - (positives - tp)
        return (tp + tn) / max(1, len(p))
    metric = plugins.get_metric(name)
    return np.array([metric(labels, oof, t) for t in grid])


def model_notes(data: RunData) -> list[str]:
    """The distinct notes the models left in their fit_info (embeddings found, ...)."""
    infos = [f.get("fit_info") for f in data.info.get("fold_scores") or []]
    infos.append(data.info.get("fit_info"))
    notes = [
        str(n)
        for fit in infos
        if isinstance(fit, dict)
        for n in (fit.get("notes") or [])
        if isinstance(fit.get("notes"), list)
    ]
    return list(dict.fromkeys(notes))
