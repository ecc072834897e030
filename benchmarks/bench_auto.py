"""`kagglekit auto` against the best single default model and AutoGluon, side by side.

For each competition and budget, in turn on the same quiet machine:

1. `kagglekit auto SLUG --budget B` (its holdout figure, its wall time, and from its record
   the best single default model's holdout figure and the time of its CV run);
2. AutoGluon `TabularPredictor(presets="best_quality", time_limit=B)` (autogluon_text.py,
   run with ``--ag-python``, a venv of its own) trained on exactly the rows auto trained on
   and scored on exactly auto's holdout rows (the same ``split_holdout`` call), the text
   column given as text: the text kagglekit's models see (the competition's text columns
   joined and prepared).

    python benchmarks/bench_auto.py --ag-python /path/to/agvenv/bin/python \\
        [--competition disaster-tweets --competition quora ...] [--budget 600 --budget 1800] \\
        [--attach DIR:DIR] [--json-out FILE]

--attach: folders of pretrained weights and word vectors auto may use
(``KAGGLEKIT_PRESET_DIRS``), as a Kaggle notebook has them under /kaggle/input.
Data: ../shared/data/<slug>. Prints a markdown table; the raw figures go to --json-out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import SLUGS, load_average, measure  # noqa: E402

KAGGLEKIT = Path(sys.executable).with_name("kagglekit")
SHARED = HERE.parent.parent / "shared"


def run_auto(slug: str, directory: Path, budget: float, work: Path, attach: str | None):
    env = {**os.environ, "KAGGLEKIT_PROGRESS": "plain"}
    if attach:
        env["KAGGLEKIT_PRESET_DIRS"] = attach
    cmd = [str(KAGGLEKIT), "auto", slug, "--data-dir", str(directory), "--budget", str(budget)]
    cmd += ["--runs-dir", str(work / "runs"), "--json"]
    m = measure(cmd, cwd=work, env=env)
    if m.returncode != 0:
        raise SystemExit(f"kagglekit auto failed:\n{m.stderr[-3000:]}")
    (work / "auto.stderr.txt").write_text(m.stderr)
    record = json.loads(m.stdout)
    steps = record["steps"]
    best = steps["holdout"].get("best_default") or {}
    model = next((k for k, c in steps["cv"].items() if c["run_id"] == best.get("run_id")), None)
    screened = steps["screening"].get(model) or {}
    return {
        "holdout": steps["holdout"]["final"]["value"],
        "cv": steps["blend"]["cv"],
        "how": steps["blend"]["how"],
        "refit": steps.get("refit", {}).get("run_id") is not None,
        "refit_why": steps.get("refit", {}).get("why"),
        "seconds": round(m.seconds, 1),
        "peak_mb": round(m.peak_mb),
        "kept": sorted(steps["cv"]),
        "dropped": {k: s["why"] for k, s in steps["screening"].items() if s["status"] != "kept"},
        "tuned": [
            {k: t.get(k) for k in ("model", "trials", "skipped")} for t in steps.get("tune", [])
        ],
        "holdout_rows": record["holdout"]["rows"],
        "best_default": {
            "model": model,
            "holdout": best.get("value"),
            # its fold 1 and its other folds, as auto ran them (fit and predict, all folds)
            "seconds": round(
                float(screened.get("seconds") or 0) + float(steps["cv"][model]["seconds"]), 1
            )
            if model
            else None,
        },
    }


def rows_for_autogluon(slug: str, directory: Path, work: Path):
    """auto's training rows and holdout rows, as CSV files, and the holdout's labels."""
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.tune.holdout import split_holdout

    comp = plugins.get_competition(slug)
    data = load_dataset(comp, DataOptions(data_dir=str(directory)))
    trials, holdout_frame, holdout = split_holdout(data, 0.15, 42, "auto")
    labels = list(comp.target_columns)

    def frame(rows, with_labels: bool):
        out = pd.DataFrame({"id": np.asarray(rows.ids).astype(str), "text": list(rows.text)})
        if with_labels:
            y = np.asarray(rows.y).reshape(len(out), -1)
            for j, label in enumerate(labels):
                out[label] = y[:, j].astype(int)
        return out

    frame(trials.train, True).to_csv(work / "train.csv", index=False)
    frame(holdout_frame, False).to_csv(work / "holdout.csv", index=False)
    y = np.asarray(holdout_frame.y).reshape(len(holdout_frame), -1)
    return comp, labels, y, len(holdout.rows)


def run_autogluon(ag_python: str, slug, directory, budget, work):
    from sklearn.metrics import f1_score, roc_auc_score

    comp, labels, y, n_holdout = rows_for_autogluon(slug, directory, work)
    metric = "f1" if comp.metric == "f1" else "roc_auc"
    cmd = [ag_python, str(HERE / "autogluon_text.py"), "--train", str(work / "train.csv")]
    cmd += ["--holdout", str(work / "holdout.csv"), "--labels", ",".join(labels)]
    cmd += ["--metric", metric, "--time-limit", str(budget), "--path", str(work / "ag")]
    cmd += ["--out", str(work / "ag_predictions.csv")]
    m = measure(cmd, cwd=work)
    (work / "ag.stderr.txt").write_text(m.stderr)
    if m.returncode != 0:
        raise SystemExit(f"AutoGluon failed:\n{m.stderr[-3000:]}")
    pred = pd.read_csv(work / "ag_predictions.csv")
    if metric == "f1":
        value = float(f1_score(y[:, 0], pred[labels[0]].to_numpy()))
    else:
        value = float(np.mean([roc_auc_score(y[:, j], pred[c]) for j, c in enumerate(labels)]))
    return {
        "holdout": value,
        "seconds": round(m.seconds, 1),
        "peak_mb": round(m.peak_mb),
        "holdout_rows": n_holdout,
        "best": [line for line in m.stdout.splitlines() if ": " in line],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--competition", action="append", choices=list(SLUGS))
    parser.add_argument("--budget", action="append", type=float)
    parser.add_argument("--ag-python", required=True)
    parser.add_argument("--attach", default=None)
    parser.add_argument("--data-root", type=Path, default=SHARED / "data")
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--skip-autogluon", action="store_true")
    args = parser.parse_args()
    results = []
    for name in args.competition or list(SLUGS):
        directory = args.data_root / SLUGS[name]
        for budget in args.budget or [600.0, 1800.0]:
            with tempfile.TemporaryDirectory(prefix="bench-auto-") as tmp:
                work = Path(tmp)
                (work / "kk").mkdir()
                load = load_average()
                auto = run_auto(name, directory, budget, work / "kk", args.attach)
                ag = (
                    None
                    if args.skip_autogluon
                    else run_autogluon(args.ag_python, name, directory, budget, work)
                )
            if ag is not None:
                assert ag["holdout_rows"] == auto["holdout_rows"], (ag, auto)
            row = {"competition": name, "budget": budget, "load_before": load, "auto": auto}
            row["autogluon"] = ag
            results.append(row)
            print(json.dumps(row), flush=True)
            if args.json_out:
                args.json_out.write_text(json.dumps(results, indent=1))
    print(
        "\n| competition | budget | auto holdout | auto wall | best default (model) | "
        "its CV time | AutoGluon holdout | AutoGluon wall |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        a, b, g = r["auto"], r["auto"]["best_default"], r["autogluon"] or {}
        print(
            f"| {r['competition']} | {r['budget']:.0f} s | {a['holdout']:.4f} | "
            f"{a['seconds']:.0f} s | {b['holdout']:.4f} ({b['model']}) | {b['seconds']:.0f} s | "
            f"{g.get('holdout', float('nan')):.4f} | {g.get('seconds', float('nan')):.0f} s |"
        )


if __name__ == "__main__":
    main()
