"""Members' and blends' cross-validated scores on a competition's real files.

    python benchmarks/bench_blend.py disaster-tweets [--data-dir ../shared/data]
        [--model tfidf-nb --model tfidf-lr --model nbsvm] [--folds 5] [--seed 42]

Runs every model on one set of folds (as `kagglekit cv --model A --model B` does), blends
the runs with every method (`kagglekit blend`), and writes the competition's section of
benchmarks/RESULTS_blend.md (other competitions' sections are kept). Runs go to
benchmarks/_work/runs (not tracked). Exits 0 without writing when the data is absent.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS_blend.md"
METHODS = ("mean", "rank", "weighted", "stack", "vote")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("competition")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", dest="models", action="append")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs-dir", type=Path, default=HERE / "_work" / "runs")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    models = args.models or ["tfidf-nb", "tfidf-lr", "nbsvm"]

    from kagglekit import plugins
    from kagglekit.blend import create_blend
    from kagglekit.cv import run_cv
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.errors import DataNotFound
    from kagglekit.folds import make_folds
    from kagglekit.params import resolve_models

    comp = plugins.get_competition(args.competition)
    try:
        data = load_dataset(comp, DataOptions(data_dir=str(args.data_dir)))
    except DataNotFound as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0
    print(
        f"{comp.slug}: {len(data.train)} train rows, {args.folds} folds, seed {args.seed}",
        file=sys.stderr,
    )
    folds = make_folds(data.train.y, args.folds, args.seed)
    members = []
    for name, cls, params in resolve_models(models, (), {}):
        start = time.perf_counter()
        run = run_cv(
            comp,
            name,
            cls,
            params,
            data,
            n_folds=args.folds,
            seed=args.seed,
            runs_dir=args.runs_dir,
            folds=folds,
        )
        members.append((run, time.perf_counter() - start))
        print(f"  {name}: {run.scores} ({members[-1][1]:.0f}s)", file=sys.stderr)
    blends = []
    for method in METHODS:
        start = time.perf_counter()
        blend = create_blend([r for r, _ in members], method, args.runs_dir)
        blends.append((blend, time.perf_counter() - start))
        print(f"  {method}: {blend.scores} ({blends[-1][1]:.1f}s)", file=sys.stderr)
    section = render(comp, data, args, members, blends)
    write_section(args.results, comp.slug, section)
    print(section)
    return 0


def render(comp, data, args, members, blends) -> str:
    import platform

    metrics = list(comp.metrics)
    runs = [r for r, _ in members]
    head = ["run", *metrics, "weights / coefficients", "seconds"]
    lines = [
        f"## {comp.slug}",
        "",
        f"{len(data.train)} training rows from `{Path(data.directory).name}/`, "
        f"{args.folds} stratified folds (seed {args.seed}) shared by every run; "
        f"out-of-fold scores (the threshold of `{comp.metrics[0]}`-style metrics is "
        f"chosen on each run's OOF). Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for run, seconds in members:
        lines.append(row(run.model, run.scores, metrics, "", f"{seconds:.0f}"))
    for blend, seconds in blends:
        weights = blend.info["weights"]
        text = ", ".join(f"{r.model} {weight_text(weights.get(r.id, {}))}" for r in runs)
        lines.append(
            row(f"**{blend.info['method']}** blend", blend.scores, metrics, text, f"{seconds:.1f}")
        )
        if blend.info.get("scores_in_sample"):
            lines.append(
                row(
                    f"{blend.info['method']}: in-sample, not cross-validated",
                    blend.info["scores_in_sample"],
                    metrics,
                    "",
                    "",
                )
            )
    best_member = max(r.scores[comp.metric] for r in runs)
    lines += [
        "",
        f"Best member {comp.metric}: {best_member:.4f}. `weighted` and `stack` are "
        f"nested in the folds (the blender for fold k is fit on the other folds' OOF "
        f"rows); the in-sample rows fit and score the final blender on all rows, "
        f"for comparison only. `weighted` optimises `{comp.metric}`.",
        "",
    ]
    return "\n".join(lines)


def weight_text(values: dict) -> str:
    values = [v for v in values.values() if v is not None]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    return f"{mean:.3f}" + (f" (mean of {len(values)} labels)" if len(values) > 1 else "")


def row(name, scores, metrics, weights, seconds) -> str:
    cells = [name, *[f"{scores[m]:.4f}" if m in scores else "" for m in metrics], weights, seconds]
    return "| " + " | ".join(cells) + " |"


def write_section(path: Path, slug: str, section: str) -> None:
    header = (
        "# Blends: members' and blends' cross-validated scores\n\n"
        "Written by `python benchmarks/bench_blend.py COMPETITION` (one section per "
        "competition).\n\n"
    )
    text = path.read_text() if path.is_file() else header
    pattern = re.compile(rf"^## {re.escape(slug)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
