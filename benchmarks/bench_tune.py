"""`kagglekit tune` on real files: the tuned configuration against the defaults on tune's
untouched holdout (mean and spread over seeds), the time pruning saved, and hill-climb
against weighted, stack and the best member, every blend scored on the same holdout.

    python benchmarks/bench_tune.py --competition quora --model tfidf-lr --model nbsvm \\
        [--seeds 1 2 3] [--trials 30] [--folds 5] [--no-pruning-seed 1] [--json-out FILE]

Per model and seed: `kagglekit tune COMP -m MODEL --trials N --seed S` (wall time and peak
memory by measure.py; its JSON: the holdout scores of the best trial's configuration and
of the defaults, each refit on every trial row). For ``--no-pruning-seed``, the same study
again in a fresh runs folder with `--pruner none`: the wall-time ratio is the time pruning
saved. Then, per seed, blends of the top 8 trial runs of the model's study (the models'
studies pooled): hill-climb, weighted, stack, and the best single member, each predicting
the holdout rows with its fold models (as `kagglekit auto` scores its blend).
Data: ../shared/data/<slug>.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import SLUGS, load_average, measure  # noqa: E402

KAGGLEKIT = Path(sys.executable).with_name("kagglekit")
SHARED = HERE.parent.parent / "shared"


def tune(comp, model, seed, args, runs: Path, pruner: str = "median") -> dict:
    cmd = [str(KAGGLEKIT), "tune", comp, "-m", model, "--trials", str(args.trials)]
    cmd += ["--seed", str(seed), "--folds", str(args.folds), "--pruner", pruner]
    cmd += ["--workers", str(args.workers)]
    cmd += ["--data-dir", str(args.data_root / SLUGS[comp]), "--runs-dir", str(runs), "--json"]
    m = measure(cmd, cwd=runs.parent)
    if m.returncode != 0:
        raise SystemExit(f"kagglekit tune failed:\n{m.stderr[-3000:]}")
    out = json.loads(m.stdout)
    return {
        **fold_seconds(out, runs, args.folds),
        "study": out["study"],
        "seconds": round(m.seconds, 1),
        "peak_mb": round(m.peak_mb),
        "trials": out["trials"],
        "best_cv": out["best"]["value"],
        "best_params": out["best"]["params"],
        "holdout_best": out["holdout"]["best"]["value"],
        "holdout_defaults": out["holdout"]["defaults"]["value"],
        "defaults_cv": out["holdout"]["defaults"]["cv"],
    }


def fold_seconds(out: dict, runs: Path, n_folds: int) -> dict:
    """From the study: the seconds trials spent, and the fold jobs pruned trials did not run
    priced at the complete trials' mean seconds per fold (an estimate of what pruning saved,
    from measured trial times)."""
    import optuna

    storage = f"sqlite:///{runs / '_studies' / 'studies.db'}"
    study = optuna.load_study(study_name=out["study"], storage=storage)
    complete = [t for t in study.trials if t.state.name == "COMPLETE" and t.duration]
    pruned = [t for t in study.trials if t.state.name == "PRUNED" and t.duration]
    per_fold = float(np.mean([t.duration.total_seconds() / n_folds for t in complete]))
    skipped = sum(n_folds - len(t.intermediate_values) for t in pruned)
    return {
        "trial_seconds": round(sum(t.duration.total_seconds() for t in complete + pruned), 1),
        "folds_skipped": int(skipped),
        "saved_seconds_estimate": round(skipped * per_fold, 1),
    }


def blends(comp_name: str, seed: int, studies: list[str], runs: Path, data_root: Path) -> dict:
    """Hill-climb, weighted and stack of the top 8 trial runs, and the best member, on the
    holdout of ``seed``."""
    from kagglekit import plugins
    from kagglekit.blend.candidates import top_candidates
    from kagglekit.blend.create import create_blend
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.metrics import score_all
    from kagglekit.predict import predict_with_run
    from kagglekit.store.folder import RunsFolder
    from kagglekit.store.run import Run
    from kagglekit.tune.holdout import split_holdout, unlabelled
    from kagglekit.tune.run import read_study

    comp = plugins.get_competition(comp_name)
    folder = RunsFolder(runs)
    ids = [i for s in studies for i in read_study(folder, s).get("runs", [])]
    candidates = [Run(folder.run_dir(comp.slug, i)) for i in dict.fromkeys(ids)]
    members, _ = top_candidates(candidates, comp.metric, 8)
    data = load_dataset(comp, DataOptions(data_dir=str(data_root / SLUGS[comp_name])))
    _, frame, _ = split_holdout(data, 0.15, seed, "auto")
    rows = unlabelled(frame)
    cache: dict = {}

    def predict(run, what):
        if run.id not in cache:
            cache[run.id] = predict_with_run(run, what, advance=lambda n: None)
        return cache[run.id]

    def on_holdout(run) -> float:
        if run.kind == "blend":
            from kagglekit.blend.predicting import predict_blend

            pred = predict_blend(run, rows, predict)
        else:
            pred = predict(run, rows)
        return float(score_all(comp, frame.y, np.asarray(pred), run.threshold)[comp.metric])

    out: dict = {"members": len(members)}
    from kagglekit.metrics import ranking_score

    best = max(members, key=lambda r: ranking_score(r.info, comp.metric))
    out["best member"] = {"cv": ranking_score(best.info, comp.metric), "holdout": on_holdout(best)}
    for method in ("hill-climb", "weighted", "stack"):
        run = create_blend(members, method, folder)
        out[method] = {"cv": ranking_score(run.info, comp.metric), "holdout": on_holdout(run)}
    return out


def skipped(row) -> str:
    return f"{row['folds_skipped']} ({row['saved_seconds_estimate']:.0f})"


def counts(row) -> str:
    return f"{row['trials']['complete']}/{row['trials']['pruned']}"


def mean_std(values, fmt: str = "{:.4f}") -> str:
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return fmt.format(values[0]) if values else "-"
    return f"{fmt.format(statistics.mean(values))} ± {fmt.format(statistics.stdev(values))}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--competition", required=True, choices=list(SLUGS))
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-pruning-seed", type=int, default=None)
    parser.add_argument("--no-pruning-model", action="append", default=None)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data-root", type=Path, default=SHARED / "data")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    result: dict = {
        "competition": args.competition,
        "trials": args.trials,
        "folds": args.folds,
        "load_before": load_average(),
        "tune": [],
        "no_pruning": [],
        "blends": [],
    }

    def save():
        if args.json_out:
            args.json_out.write_text(json.dumps(result, indent=1))

    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        for seed in args.seeds:
            runs = Path(tmp) / f"seed-{seed}" / "runs"
            runs.parent.mkdir(parents=True)
            studies = []
            for model in args.model:
                found = tune(args.competition, model, seed, args, runs)
                row = {"model": model, "seed": seed, **found}
                result["tune"].append(row)
                studies.append(row["study"])
                print(json.dumps(row), flush=True)
                save()
                if seed == args.no_pruning_seed and model in (args.no_pruning_model or [model]):
                    other = Path(tmp) / f"none-{model}-{seed}" / "runs"
                    other.parent.mkdir(parents=True)
                    none = tune(args.competition, model, seed, args, other, pruner="none")
                    result["no_pruning"].append(
                        {"model": model, "seed": seed, "pruned": row, "none": none}
                    )
                    print(json.dumps(result["no_pruning"][-1]["none"]), flush=True)
                    save()
            b = blends(args.competition, seed, studies, runs, args.data_root)
            result["blends"].append({"seed": seed, **b})
            print(json.dumps(result["blends"][-1]), flush=True)
            save()

    print(f"\n{args.competition}: {args.trials} trials, {args.folds} folds\n")
    print(
        "| model | defaults, holdout | tuned, holdout | tuned, best CV (optimistic) | "
        "trials complete / pruned | wall s | fold jobs skipped (est. s saved) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for model in args.model:
        rows = [r for r in result["tune"] if r["model"] == model]
        print(
            f"| {model} | {mean_std([r['holdout_defaults'] for r in rows])} | "
            f"{mean_std([r['holdout_best'] for r in rows])} | "
            f"{mean_std([r['best_cv'] for r in rows])} | "
            f"{'; '.join(counts(r) for r in rows)} | "
            f"{mean_std([r['seconds'] for r in rows], '{:.0f}')} | "
            f"{'; '.join(skipped(r) for r in rows)} |"
        )
    for n in result["no_pruning"]:
        print(
            f"\npruning, {n['model']} seed {n['seed']}: {n['pruned']['folds_skipped']} fold "
            f"jobs skipped, estimated {n['pruned']['saved_seconds_estimate']:.0f} s; measured: "
            f"{n['pruned']['seconds']:.0f} s with "
            f"the median pruner vs {n['none']['seconds']:.0f} s without "
            f"({n['pruned']['seconds'] / n['none']['seconds']:.2f}x); best holdout "
            f"{n['pruned']['holdout_best']:.4f} vs {n['none']['holdout_best']:.4f}"
        )
    print("\n| blend of the top 8 trial runs | CV (nested) | holdout |")
    print("| --- | --- | --- |")
    for method in ("best member", "hill-climb", "weighted", "stack"):
        rows = [b[method] for b in result["blends"]]
        print(
            f"| {method} | {mean_std([r['cv'] for r in rows])} | "
            f"{mean_std([r['holdout'] for r in rows])} |"
        )


if __name__ == "__main__":
    main()
