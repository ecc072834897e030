"""`kagglekit cv` of the TF-IDF models against plain_tfidf_cv.py, side by side.

For each model, in turn and repeated (plain first, then kagglekit in-process, then
kagglekit with its defaults), on the same machine at the same time: wall time and peak
memory (measure.py), the ratios kagglekit / plain, and the largest difference between the
two OOF predictions (the recipes are the same, so it should be ~0).

    python benchmarks/bench_scale.py --competition disaster-tweets --data DIR \\
        [--model tfidf-nb --model tfidf-lr --model nbsvm] [--repeats 3] [--modes in-process default]

DIR: the competition folder (default ../shared/data/<slug>). Prints a markdown table and
writes the raw measurements as JSON (--json-out). Targets (issue 23): in-process <= 1.15x
wall and <= 1.3x peak memory; defaults <= 0.7x wall on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import SLUGS, load_average, measure  # noqa: E402

KAGGLEKIT = Path(sys.executable).with_name("kagglekit")
MODES = {"in-process": ["--executor", "in-process"], "default": []}


def kagglekit_cmd(comp, model, data, runs, mode, folds, seed):
    return [
        KAGGLEKIT,
        "cv",
        comp,
        "--model",
        model,
        "--folds",
        str(folds),
        "--seed",
        str(seed),
        "--data-dir",
        data,
        "--runs-dir",
        runs,
        "--json",
        *MODES[mode],
    ]


def oof_difference(run_dir: Path, plain_dir: Path) -> float:
    ours = pd.read_csv(run_dir / "oof.csv")
    theirs = pd.read_csv(plain_dir / "oof.csv")
    key = ours.columns[0]
    merged = ours.merge(theirs, on=key, suffixes=("_k", "_p"))
    if len(merged) != len(ours):
        return float("nan")
    cols = [c for c in ours.columns if c != key]
    return float(max(np.abs(merged[f"{c}_k"] - merged[f"{c}_p"]).max() for c in cols))


def bench(comp, data, model, modes, repeats, folds, seed, work: Path) -> dict:
    rows = {"plain": [], **{m: [] for m in modes}}
    diff: dict[str, float] = {}
    for i in range(repeats):
        out = work / f"plain-{model}-{i}"
        m = measure(
            [
                sys.executable,
                HERE / "plain_tfidf_cv.py",
                comp,
                data,
                out,
                "--model",
                model,
                "--folds",
                str(folds),
                "--seed",
                str(seed),
            ]
        )
        if m.returncode:
            raise SystemExit(f"plain script failed:\n{m.stderr[-3000:]}")
        rows["plain"].append((m.seconds, m.peak_mb))
        for mode in modes:
            runs = work / f"runs-{mode}-{i}"
            k = measure(kagglekit_cmd(comp, model, data, runs, mode, folds, seed))
            if k.returncode:
                raise SystemExit(f"kagglekit failed:\n{k.stderr[-3000:]}")
            rows[mode].append((k.seconds, k.peak_mb))
            run_dir = Path(json.loads(k.stdout)["run_dir"])
            diff[mode] = max(diff.get(mode, 0.0), oof_difference(run_dir, out))
            shutil.rmtree(runs, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        print(
            f"  {model} repeat {i}: "
            + ", ".join(f"{k} {v[-1][0]:.1f}s {v[-1][1]:.0f} MB" for k, v in rows.items())
            + f" (load {load_average()})",
            file=sys.stderr,
        )
    return {"model": model, "runs": rows, "oof_max_abs_diff": diff}


def median(pairs, i):
    return statistics.median(p[i] for p in pairs)


def table(results, modes) -> str:
    head = "| model | plain wall s | plain peak MB |"
    rule = "| --- | --- | --- |"
    for mode in modes:
        head += f" kagglekit {mode} wall s (ratio) | peak MB (ratio) |"
        rule += " --- | --- |"
    head += "".join(f" OOF max abs diff, {mode} |" for mode in modes)
    rule += " --- |" * len(modes)
    lines = [head, rule]
    for r in results:
        p_wall, p_mem = median(r["runs"]["plain"], 0), median(r["runs"]["plain"], 1)
        line = f"| {r['model']} | {p_wall:.1f} | {p_mem:.0f} |"
        for mode in modes:
            w, m = median(r["runs"][mode], 0), median(r["runs"][mode], 1)
            line += f" {w:.1f} ({w / p_wall:.2f}x) | {m:.0f} ({m / p_mem:.2f}x) |"
        diffs = r["oof_max_abs_diff"]
        lines.append(line + "".join(f" {diffs[mode]:.1e} |" for mode in modes))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--competition", default="disaster-tweets", choices=sorted(SLUGS))
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--model", action="append", dest="models")
    parser.add_argument(
        "--modes", nargs="+", default=["in-process", "default"], choices=sorted(MODES)
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    data = args.data or HERE.parent.parent / "shared" / "data" / SLUGS[args.competition]
    if not (data / "train.csv").is_file():
        raise SystemExit(f"{data}: no train.csv; pass --data")
    models = args.models or ["tfidf-nb", "tfidf-lr", "nbsvm"]
    work = Path(tempfile.mkdtemp(prefix="kk-scale-"))
    try:
        results = [
            bench(args.competition, data, m, args.modes, args.repeats, args.folds, args.seed, work)
            for m in models
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(data / "train.csv", "rb") as lines:
        n_rows = sum(1 for _ in lines)
    print(
        f"{args.competition} ({data}), {args.folds} folds, seed {args.seed}, "
        f"{args.repeats} repeat(s), medians; load average at the end {load_average()}"
    )
    print(table(results, args.modes))
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "competition": args.competition,
                    "data": str(data),
                    "lines": n_rows,
                    "results": results,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
