"""5-fold CV of tfidf-lr and nbsvm on every real dataset in ../shared/data.

For each dataset found, runs the same CV a user gets from
``kagglekit cv COMPETITION --model M --folds 5 --seed 42`` (default parameters unless
``-p`` is given) and writes a markdown table: OOF score on the competition's metric, the
standard deviation of the per-fold scores (fold spread), and the wall time of the CV run
(loading excluded; it is listed separately) with its CPU time, which other processes
on a shared machine do not inflate. Skips cleanly when ../shared is absent.

    python benchmarks/bench_competitions.py [--output FILE] [--folds 5] [-p key=value ...]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
# competition (as registered) -> folder in ../shared/data
DATASETS = {
    "nlp-getting-started": "nlp-getting-started",
    "quora-insincere-questions-classification": "quora-insincere-questions-classification",
    "jigsaw-toxic-comment-classification-challenge": (
        "jigsaw-toxic-comment-classification-challenge"
    ),
    "imdb-dataset-of-50k-movie-reviews": "imdb-dataset-of-50k-movie-reviews",
}
MODELS = ("tfidf-lr", "nbsvm")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="also write the markdown table here")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--only", nargs="+", help="competition slugs to run (default: all found)")
    parser.add_argument("-p", dest="params", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"{SHARED} not found: nothing to benchmark", file=sys.stderr)
        return 0

    from kagglekit import plugins
    from kagglekit.cv import run_cv
    from kagglekit.data import DataOptions, load_dataset
    from kagglekit.params import resolve_models

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-competitions-") as runs_dir:
        for slug, folder in DATASETS.items():
            if args.only and slug not in args.only:
                continue
            if not (SHARED / folder).is_dir():
                print(f"skip {slug}: {SHARED / folder} absent", file=sys.stderr)
                continue
            comp = plugins.get_competition(slug)
            start = time.perf_counter()
            data = load_dataset(comp, DataOptions(data_dir=str(SHARED / folder)))
            load_s = time.perf_counter() - start
            for name, cls, params in resolve_models(args.models, args.params, {}):
                print(f"{slug}: {name} ...", file=sys.stderr, flush=True)
                start, cpu = time.perf_counter(), time.process_time()
                run = run_cv(
                    comp,
                    name,
                    cls,
                    params,
                    data,
                    n_folds=args.folds,
                    seed=args.seed,
                    runs_dir=Path(runs_dir),
                )
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                metric = comp.metric
                rows.append(
                    {
                        "dataset": slug,
                        "rows": len(data.train),
                        "model": name,
                        "metric": metric,
                        "score": run.scores[metric],
                        "spread": run.info["fold_spread"][metric],
                        "others": {m: v for m, v in run.scores.items() if m != metric},
                        "wall": wall,
                        "cpu": cpu,
                        "load": load_s,
                    }
                )
                print(
                    f"  {metric}={run.scores[metric]:.4f} ± {run.info['fold_spread'][metric]:.4f}"
                    f"  {wall:.1f}s wall, {cpu:.1f}s CPU",
                    file=sys.stderr,
                    flush=True,
                )
    table = render(rows, args)
    print(table)
    if args.output:
        args.output.write_text(table, encoding="utf-8")
    return 0


def render(rows, args) -> str:
    lines = [
        f"{args.folds}-fold CV (seed {args.seed}), default parameters"
        + (f" plus -p {' -p '.join(args.params)}" if args.params else "")
        + f"; Python {platform.python_version()}, {platform.machine()}, measured by "
        f"benchmarks/bench_competitions.py.",
        "",
        "| dataset | train rows | model | metric | OOF score | fold spread (std) "
        "| other OOF scores | CV wall time | CV CPU time | load time |",
        "| --- | ---: | --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        others = ", ".join(f"{k} {v:.4f}" for k, v in r["others"].items()) or "-"
        lines.append(
            f"| {r['dataset']} | {r['rows']:,} | {r['model']} | {r['metric']} | "
            f"{r['score']:.4f} | {r['spread']:.4f} | {others} | {r['wall']:.1f} s | "
            f"{r['cpu']:.1f} s | {r['load']:.1f} s |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
