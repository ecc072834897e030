"""The report's figures: matplotlib (Agg backend) drawn into inline PNG data (base64).

Only this module imports matplotlib, and only when a report is written. Every function
returns a ``Figure`` (a data URI and a caption) or None when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np

from kagglekit.report.gather import RunData, short_name, threshold_scores, weight_values

DPI = 90


@dataclass
class Figure:
    caption: str
    data_uri: str


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def render(fig, caption: str) -> Figure:
    plt = pyplot()
    buffer = io.BytesIO()
    try:
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Figure(caption, f"data:image/png;base64,{encoded}")


def _labels(data: RunData) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, y, p) per target with both classes present."""
    out = []
    labels, oof = data.labelled()
    for j, name in enumerate(data.targets):
        y, p = labels[:, j], oof[:, j]
        if len(np.unique(y)) == 2:
            out.append((name, y, p))
    return out


def roc_pr(data: RunData) -> Figure | None:
    """OOF ROC and precision-recall curves, one line per label."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    if not data.has_labels or not _labels(data):
        return None
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    for name, y, p in _labels(data):
        fpr, tpr, _ = roc_curve(y, p)
        ax1.plot(fpr, tpr, lw=1.4, label=f"{name} (AUC {auc(fpr, tpr):.4f})")
        precision, recall, _ = precision_recall_curve(y, p)
        ax2.plot(
            recall, precision, lw=1.4, label=f"{name} (AP {average_precision_score(y, p):.4f})"
        )
    ax1.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax1.set(xlabel="false positive rate", ylabel="true positive rate", title="OOF ROC")
    ax2.set(
        xlabel="recall",
        ylabel="precision",
        title="OOF precision-recall",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    for ax in (ax1, ax2):
        ax.legend(fontsize=7, loc="lower right" if ax is ax1 else "lower left")
        ax.grid(alpha=0.3)
    return render(
        fig, "OOF ROC and precision-recall curves" + (" per label" if len(data.targets) > 1 else "")
    )


def threshold_curve(data: RunData) -> Figure | None:
    """The thresholded metric against the threshold, the chosen threshold marked."""
    name = data.info.get("threshold_metric")
    if not name or not data.has_labels:
        return None
    grid = np.linspace(0.005, 0.995, 199)
    values = threshold_scores(data, name, grid)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(grid, values, lw=1.6, label=f"OOF {name}")
    ax.axvline(
        data.threshold, color="crimson", ls="--", label=f"chosen threshold {data.threshold:.3f}"
    )
    for _fold, t in sorted((data.info.get("fold_thresholds") or {}).items()):
        ax.axvline(float(t), color="grey", lw=0.6, alpha=0.6)
    ax.set(
        xlabel="threshold",
        ylabel=name,
        title=f"{name} by decision threshold (grey: each fold's nested threshold)",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return render(
        fig,
        f"{name} against the threshold; the dashed line is the threshold chosen on all OOF rows",
    )


def confusion(data: RunData) -> Figure | None:
    """Confusion matrix of a binary task at the run's threshold."""
    if not data.has_labels or len(data.targets) != 1:
        return None
    labels, oof = data.labelled()
    y = labels[:, 0]
    pred = (oof[:, 0] >= data.threshold).astype(int)
    matrix = np.array([[np.sum((y == a) & (pred == b)) for b in (0, 1)] for a in (0, 1)])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    ax.imshow(matrix, cmap="Blues")
    for a in (0, 1):
        for b in (0, 1):
            ax.text(
                b,
                a,
                f"{matrix[a, b]}\n{matrix[a, b] / max(1, matrix.sum()):.1%}",
                ha="center",
                va="center",
                color="white" if matrix[a, b] > matrix.max() / 2 else "black",
            )
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xlabel="predicted",
        ylabel="label",
        title=f"confusion at threshold {data.threshold:.3f}",
    )
    return render(fig, f"Confusion matrix of the OOF rows at threshold {data.threshold:.3f}")


def calibration(data: RunData) -> Figure | None:
    """Reliability plot: mean predicted probability against the share of positives."""
    from sklearn.calibration import calibration_curve

    if not data.has_labels or not _labels(data):
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    for name, y, p in _labels(data):
        share, mean = calibration_curve(y, np.clip(p, 0, 1), n_bins=10, strategy="quantile")
        ax.plot(mean, share, marker="o", ms=3, lw=1.2, label=name)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="perfectly calibrated")
    ax.set(
        xlabel="mean predicted probability",
        ylabel="share of positives",
        title="calibration (OOF, quantile bins)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return render(fig, "Reliability of the OOF probabilities (10 equal-count bins)")


def length_plot(rows: list[dict], metric: str) -> Figure | None:
    scored = [r for r in rows if r["score"] is not None]
    if not scored:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.bar([r["bucket"] for r in scored], [r["score"] for r in scored], color="steelblue")
    for i, r in enumerate(scored):
        ax.text(
            i,
            r["score"],
            f"{r['score']:.3f}\n{r['rows']} rows",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    low = min(r["score"] for r in scored)
    ax.set(
        ylabel=metric,
        title=f"OOF {metric} by text length",
        ylim=(max(0.0, low - 0.15), min(1.05, max(r["score"] for r in scored) + 0.12)),
    )
    ax.tick_params(axis="x", labelsize=8)
    return render(fig, f"OOF {metric} by text length (equal-count buckets of words)")


def learning_curves(histories: list[dict]) -> Figure | None:
    """Loss and the monitored value per epoch, one line per fold; best epochs marked."""
    if not histories:
        return None
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, h in enumerate(histories):
        color = colors[n % len(colors)]
        epochs = [e.get("epoch", i + 1) for i, e in enumerate(h["history"])]
        loss = [e.get("loss") for e in h["history"]]
        if any(v is not None for v in loss):
            ax1.plot(epochs, loss, color=color, lw=1.3, label=f"fold {h['fold']} train")
        val = [e.get("val_loss") for e in h["history"]]
        if any(v is not None for v in val):
            ax1.plot(epochs, val, color=color, lw=1.3, ls="--", label=f"fold {h['fold']} val")
        key = h.get("monitor") or _monitored(h["history"])
        if key:
            values = [e.get(key) for e in h["history"]]
            ax2.plot(epochs, values, color=color, lw=1.3, label=f"fold {h['fold']} {key}")
        if h.get("best_epoch"):
            for ax in (ax1, ax2):
                ax.axvline(h["best_epoch"], color=color, lw=0.8, ls=":")
    from matplotlib.ticker import MaxNLocator

    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    has_val = any(e.get("val_loss") is not None for h in histories for e in h["history"])
    ax1.set(
        xlabel="epoch",
        ylabel="loss",
        title="loss per epoch" + (" (dashed: validation)" if has_val else " (training)"),
    )
    stopping_on: dict[str | None, str] = {
        "inner": "on an inner split of the training rows",
        "valid": "on the scored fold: NOT held out",
    }
    where = stopping_on.get(histories[0].get("early_stopping"), "")
    ax2.set(xlabel="epoch", title="monitored value per epoch (dotted: best epoch)")
    if where:
        ax2.set_xlabel(f"epoch (monitored {where})")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return render(fig, "Learning curves per fold; dotted lines mark each fold's best epoch")


def _monitored(history: list[dict]) -> str | None:
    keys = [
        k
        for k in history[0]
        if k not in ("epoch", "loss", "lr", "learning_rate", "train_seconds", "seconds")
    ]
    preferred = [k for k in keys if k.startswith("val_") and k != "val_loss"]
    return (preferred or keys or [None])[0]


def lr_curve(histories: list[dict]) -> Figure | None:
    rows = [h for h in histories if any(("lr" in e or "learning_rate" in e) for e in h["history"])]
    if not rows:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for h in rows:
        ax.plot(
            [e.get("epoch", i + 1) for i, e in enumerate(h["history"])],
            [e.get("lr", e.get("learning_rate")) for e in h["history"]],
            lw=1.2,
            marker="o",
            ms=3,
            label=f"fold {h['fold']}",
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="learning rate", title="learning rate per epoch")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return render(fig, "Learning rate per epoch")


def blend_plot(members: list[dict], targets: list[str]) -> Figure | None:
    values = [(m["run_id"], weight_values(m["weights"], targets)) for m in members]
    values = [(name, w) for name, w in values if any(v is not None for v in w)]
    if not values:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(values) + 1.8))
    n_targets = max(len(w) for _, w in values)
    height = 0.8 / n_targets
    for j in range(n_targets):
        ax.barh(
            [i + j * height for i in range(len(values))],
            [(w[j] if j < len(w) and w[j] is not None else 0.0) for _, w in values],
            height=height,
            label=targets[j] if j < len(targets) else str(j),
        )
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(values))])
    ax.set_yticklabels([_short(name) for name, _ in values], fontsize=7)
    ax.set(xlabel="weight", title="blend weights per member")
    if n_targets > 1:
        ax.legend(fontsize=7)
    return render(fig, "Weights of the blend's members")


def _short(text: str, n: int = 44) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


# ------------------------------------------------------------------ several runs


def overlay(datas: list[RunData]) -> Figure | None:
    """ROC and PR of several runs on one axis (labels pooled for multilabel runs)."""
    from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

    usable = [d for d in datas if d.has_labels and len(np.unique(d.labelled()[0])) == 2]
    if len(usable) < 2:
        return None
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    for d in usable:
        labels, oof = d.labelled()
        y, p = labels.ravel(), oof.ravel()
        fpr, tpr, _ = roc_curve(y, p)
        label = _short(short_name(d.run), 34)
        ax1.plot(fpr, tpr, lw=1.3, label=f"{label} ({roc_auc_score(y, p):.4f})")
        precision, recall, _ = precision_recall_curve(y, p)
        ax2.plot(recall, precision, lw=1.3, label=label)
    ax1.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax1.set(xlabel="false positive rate", ylabel="true positive rate", title="OOF ROC")
    ax2.set(xlabel="recall", ylabel="precision", title="OOF precision-recall", ylim=(0, 1.02))
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    pooled = any(len(d.targets) > 1 for d in usable)
    return render(
        fig, "OOF curves of every run" + (" (labels pooled: micro-average)" if pooled else "")
    )


def correlation_plot(names: list[str], matrix) -> Figure | None:
    if matrix is None:
        return None
    plt = pyplot()
    n = len(names)
    fig, ax = plt.subplots(figsize=(1.2 * n + 3, 1.0 * n + 2))
    low = max(-1.0, float(np.nanmin(matrix)) - 0.02)
    image = ax.imshow(matrix, vmin=low, vmax=1.0, cmap="viridis")
    for a in range(n):
        for b in range(n):
            ax.text(
                b,
                a,
                f"{matrix[a, b]:.3f}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if matrix[a, b] > low + 0.6 * (1 - low) else "white",
            )
    short = [_short(x, 24) for x in names]
    ax.set_xticks(range(n))
    ax.set_xticklabels(short, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(n))
    ax.set_yticklabels(short, fontsize=7)
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title("correlation of OOF predictions (lower: more to gain by blending)")
    return render(fig, "Pearson correlation of the runs' OOF predictions")
