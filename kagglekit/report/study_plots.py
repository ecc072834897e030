"""The figures of a study's report (matplotlib, Agg, as inline PNG data like ``plots``):
the optimisation history, the figure each trial reported after each fold (what the pruner
compares), the parameter importances and one slice panel per parameter.

Each function takes the report's trial rows (``report.study.TrialRow``: ``number``,
``state``, ``params``, ``value``, ``steps``) and returns a ``Figure`` or None when there is
nothing to draw.
"""

from __future__ import annotations

import math
from typing import Any

from kagglekit.report.plots import Figure, pyplot, render

COLORS = {"complete": "steelblue", "pruned": "darkorange", "failed": "crimson"}


def _best_so_far(values: list[float], maximize: bool) -> list[float]:
    out: list[float] = []
    for v in values:
        out.append(v if not out else (max(out[-1], v) if maximize else min(out[-1], v)))
    return out


def history(trials: list[Any], maximize: bool, metric: str) -> Figure | None:
    """Each complete trial's objective by trial number, the best-so-far line; pruned and
    failed trials marked on a strip at the bottom (pruned: the fold they stopped after)."""
    if not trials:
        return None
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    complete = [t for t in trials if t.state == "complete" and t.value is not None]
    if complete:
        xs = [t.number for t in complete]
        ys = [float(t.value) for t in complete]
        ax.scatter(xs, ys, color=COLORS["complete"], s=28, zorder=3, label="complete trial")
        ax.step(
            xs,
            _best_so_far(ys, maximize),
            where="post",
            color="seagreen",
            lw=1.6,
            label="best so far",
        )
        best = (max if maximize else min)(complete, key=lambda t: t.value)
        ax.scatter(
            [best.number],
            [best.value],
            marker="*",
            s=200,
            color="gold",
            edgecolor="black",
            zorder=4,
            label=f"best: trial {best.number}",
        )
    strip = ax.get_xaxis_transform()  # x in trial numbers, y in axes fractions
    for state, marker in (("pruned", "x"), ("failed", "X")):
        marked = [t for t in trials if t.state == state]
        if not marked:
            continue
        ax.scatter(
            [t.number for t in marked],
            [0.04] * len(marked),
            transform=strip,
            marker=marker,
            s=50,
            color=COLORS[state],
            zorder=3,
            label=f"{state} trial" + (" (f<k>: after fold k)" if state == "pruned" else ""),
        )
        if state == "pruned":
            for t in marked:
                if t.last_step is not None:
                    ax.text(
                        t.number,
                        0.08,
                        f"f{t.last_step}",
                        transform=strip,
                        ha="center",
                        fontsize=7,
                        color=COLORS[state],
                    )
    if complete:  # room for the strip below the values
        low, high = min(ys), max(ys)
        pad = (high - low) or abs(high) * 0.05 or 0.05
        ax.set_ylim(low - 0.35 * pad, high + 0.15 * pad)
    ax.set_xlim(min(t.number for t in trials) - 0.5, max(t.number for t in trials) + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel="trial number",
        ylabel=f"{metric} (held-out CV)",
        title=f"optimisation history ({'higher' if maximize else 'lower'} is better)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return render(
        fig,
        "Each complete trial's objective (its held-out CV figure) by trial number and the "
        "best so far; pruned and failed trials are marked along the bottom",
    )


def per_fold(trials: list[Any]) -> Figure | None:
    """The figure each trial reported after each fold; pruned trials end where they stopped."""
    reported = [t for t in trials if t.steps]
    if not reported:
        return None
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    seen: set[str] = set()
    for t in reported:
        steps = sorted(t.steps)
        values = [t.steps[s] for s in steps]
        color = COLORS.get(t.state, "grey")
        label = None if t.state in seen else f"{t.state} trial"
        seen.add(t.state)
        ax.plot(steps, values, color=color, lw=1.1, alpha=0.7, marker="o", ms=3, label=label)
        if t.state == "pruned":
            ax.scatter([steps[-1]], [values[-1]], marker="x", s=60, color=color, zorder=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(
        xlabel="folds done",
        ylabel="mean of the fold figures so far",
        title="reported after each fold (what the pruner compares)",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return render(
        fig,
        "The mean of each trial's fold figures after each fold; a pruned trial's line ends "
        "(x) at the fold it was stopped after",
    )


def importances(values: dict[str, float], n_trials: int) -> Figure | None:
    """Horizontal bars, the most important parameter on top."""
    if not values:
        return None
    plt = pyplot()
    names = list(values)[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(names) + 1.6))
    ax.barh(names, [values[n] for n in names], color="steelblue")
    for i, name in enumerate(names):
        ax.text(values[name], i, f" {values[name]:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, max(1e-9, max(values.values())) * 1.18)
    ax.set(xlabel="importance (share of the objective's variance)", title="parameter importances")
    ax.tick_params(axis="y", labelsize=8)
    return render(
        fig,
        f"fANOVA importances (Optuna's default evaluator) on {n_trials} complete trials; "
        f"with few trials they are rough",
    )


def slices(
    trials: list[Any], space: dict[str, dict], metric: str, best: int | None = None
) -> Figure | None:
    """One panel per parameter: its value against the objective, complete trials coloured
    by trial number, the best starred; log axes for log-searched parameters, categories
    as ticks."""
    complete = [t for t in trials if t.state == "complete" and t.value is not None]
    names = [n for n in space if any(n in t.params for t in complete)]
    if not complete or not names:
        return None
    plt = pyplot()
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    numbers = [t.number for t in complete]
    low, high = min(numbers), max(numbers)
    scatter = None
    for i, name in enumerate(names):
        ax = axes[i // cols][i % cols]
        dim = space[name]
        used = [t for t in complete if name in t.params]
        values = [t.params[name] for t in used]
        if dim.get("choices") is not None:
            labels = [str(c) for c in dim["choices"]]
            xs: list[float] = [float(labels.index(str(v))) for v in values]
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, fontsize=8)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        else:
            xs = [float(v) for v in values]
            if dim.get("log"):
                ax.set_xscale("log")
        scatter = ax.scatter(
            xs,
            [t.value for t in used],
            c=[t.number for t in used],
            cmap="viridis",
            vmin=low,
            vmax=max(high, low + 1),
            s=30,
            edgecolor="black",
            linewidth=0.3,
        )
        starred = [k for k, t in enumerate(used) if t.number == best]
        if starred:
            k = starred[0]
            ax.scatter(
                [xs[k]],
                [used[k].value],
                marker="*",
                s=180,
                color="gold",
                edgecolor="black",
                zorder=4,
                label=f"best: trial {best}",
            )
            if i == 0:
                ax.legend(fontsize=7)
        ax.set(xlabel=name + (" (log)" if dim.get("log") else ""), ylabel=metric)
        ax.grid(alpha=0.3)
    for j in range(len(names), rows * cols):
        axes[j // cols][j % cols].axis("off")
    if scatter is not None:
        last = axes[(len(names) - 1) // cols][(len(names) - 1) % cols]
        from matplotlib.ticker import MaxNLocator

        bar = fig.colorbar(scatter, ax=last, fraction=0.06, label="trial number")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    fig.suptitle("each parameter against the objective (complete trials)", fontsize=11)
    return render(
        fig,
        "Slice plots: each complete trial's value of the parameter against its objective, "
        "coloured by trial number (later: yellower), the best starred",
    )
