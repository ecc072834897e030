"""`kagglekit cv` of the TF-IDF models against plain_tfidf_cv.py, side by side.

For each model, in turn and repeated (plain first, then kagglekit in-process, then
kagglekit with its defaults), on the same machine at the same time: wall time and peak
memory (measure.py), the ratios kagglekit / plain, and the largest difference between the
two OOF predictions (the recipes are the same, so it should be ~0).

    python benchmarks/bench_scale.py --competition disaster-tweets --data DIR \\
        [--model tfidf-nb --model tfidf-lr --model nbsvm] [--repeats 3] [--modes in-process default]

With --fit, also `kagglekit fit` and `kagglekit submit` of each model beside the plain
script's --full (every training row, test predicted, submission written; labels at
--threshold where the competition is scored on labels); --no-cv measures only that.

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


def oof_difference(run_dir: Path, plain_dir: Path, ours="oof.csv", theirs="oof.csv") -> float:
    ours = pd.read_csv(run_dir / ours)
    theirs = pd.read_csv(plain_dir / theirs)
    key = ours.columns[0]
    merged = ours.merge(theirs, on=key, suffixes=("_k", "_p"))
    if len(merged) != len(ours):
        return float("nan")
    cols = [c for c in ours.columns if c != key]
    return float(max(np.abs(merged[f"{c}_k"] - merged[f"{c}_p"]).max() for c in cols))


def bench(comp, data, model, modes, repeats, folds, seed, work: Path) -> dict:
    rows = {"plain": [], **{m: [] for m in modes}}
    diff: dict[str, float] = {}
    # each run's OOF score: the plain script's printed line, kagglekit's run scores
    scores: dict[str, list] = {"plain": [], **{m: [] for m in modes}}
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
        scores["plain"].append(m.stdout.strip().splitlines()[-1] if m.stdout.strip() else None)
        print(
            f"  {model} plain: {m.seconds:.1f}s {m.peak_mb:.0f} MB, {scores['plain'][-1]}",
            file=sys.stderr,
        )
        for mode in modes:
            runs = work / f"runs-{mode}-{i}"
            k = measure(kagglekit_cmd(comp, model, data, runs, mode, folds, seed))
            if k.returncode:
                raise SystemExit(f"kagglekit failed:\n{k.stderr[-3000:]}")
            rows[mode].append((k.seconds, k.peak_mb))
            payload = json.loads(k.stdout)
            run_dir = Path(payload["run_dir"])
            scores[mode].append(payload.get("scores"))
            diff[mode] = max(diff.get(mode, 0.0), oof_difference(run_dir, out))
            executor = [ln for ln in k.stderr.splitlines() if "executor auto:" in ln][:1]
            print(
                f"  {model} {mode}: {k.seconds:.1f}s {k.peak_mb:.0f} MB, OOF diff "
                f"{diff[mode]:.1e}, scores {scores[mode][-1]} {' '.join(executor)}",
                file=sys.stderr,
            )
            shutil.rmtree(runs, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        print(
            f"  {model} repeat {i}: "
            + ", ".join(f"{k} {v[-1][0]:.1f}s {v[-1][1]:.0f} MB" for k, v in rows.items())
            + f" (load {load_average()})",
            file=sys.stderr,
        )
    return {"model": model, "runs": rows, "oof_max_abs_diff": diff, "scores": scores}


def bench_fit(comp, data, model, seed, threshold, work: Path) -> dict:
    """kagglekit fit + submit beside plain_tfidf_cv.py --full, once each."""
    plain_out, runs = work / f"plain-full-{model}", work / f"runs-fit-{model}"
    labels = comp != "jigsaw"  # one-label competitions submit labels at a threshold
    p = measure(
        [
            sys.executable,
            HERE / "plain_tfidf_cv.py",
            comp,
            data,
            plain_out,
            "--model",
            model,
            "--full",
            "--seed",
            str(seed),
            "--threshold",
            str(threshold),
        ]
    )
    if p.returncode:
        raise SystemExit(f"plain --full failed:\n{p.stderr[-3000:]}")
    f = measure(
        [
            KAGGLEKIT,
            "fit",
            comp,
            "--model",
            model,
            "--seed",
            str(seed),
            "--data-dir",
            data,
            "--runs-dir",
            runs,
            "--json",
            *(["--threshold", str(threshold)] if labels else []),
        ]
    )
    if f.returncode:
        raise SystemExit(f"kagglekit fit failed:\n{f.stderr[-3000:]}")
    run_dir = Path(json.loads(f.stdout)["run_dir"])
    sub = work / f"sub-{model}.csv"
    s = measure([KAGGLEKIT, "submit", run_dir, "--output", sub, "--json"])
    if s.returncode:
        raise SystemExit(f"kagglekit submit failed:\n{s.stderr[-3000:]}")
    ours, theirs = pd.read_csv(sub), pd.read_csv(plain_out / "submission.csv")
    key = theirs.columns[0]
    merged = ours.merge(theirs, on=key, suffixes=("_k", "_p"))
    cols = [c for c in theirs.columns if c != key]
    sub_diff = max(float(np.abs(merged[f"{c}_k"] - merged[f"{c}_p"]).max()) for c in cols)
    result = {
        "model": model,
        "plain_full": (p.seconds, p.peak_mb),
        "fit": (f.seconds, f.peak_mb),
        "submit": (s.seconds, s.peak_mb),
        "test_max_abs_diff": oof_difference(run_dir, plain_out, "test_predictions.csv", "test.csv"),
        "submission_rows_matched": len(merged) == len(theirs) == len(ours),
        "submission_max_abs_diff": sub_diff,
    }
    print(
        f"  {model} fit {f.seconds:.1f}s {f.peak_mb:.0f} MB, submit {s.seconds:.1f}s "
        f"{s.peak_mb:.0f} MB; plain --full {p.seconds:.1f}s {p.peak_mb:.0f} MB "
        f"(load {load_average()})",
        file=sys.stderr,
    )
    shutil.rmtree(runs, ignore_errors=True)
    shutil.rmtree(plain_out, ignore_errors=True)
    return result


def fit_table(results) -> str:
    lines = [
        "| model | plain --full wall s | peak MB | kagglekit fit wall s (ratio) | peak MB "
        "(ratio) | submit wall s | peak MB | fit + submit / plain | test max abs diff "
        "| submission max abs diff |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        (pw, pm), (fw, fm), (sw, sm) = r["plain_full"], r["fit"], r["submit"]
        lines.append(
            f"| {r['model']} | {pw:.1f} | {pm:.0f} | {fw:.1f} ({fw / pw:.2f}x) | {fm:.0f} "
            f"({fm / pm:.2f}x) | {sw:.1f} | {sm:.0f} | {(fw + sw) / pw:.2f}x "
            f"| {r['test_max_abs_diff']:.1e} | {r['submission_max_abs_diff']:.0e} |"
        )
    return "\n".join(lines)


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
    parser.add_argument("--fit", action="store_true", help="also fit + submit vs plain --full")
    parser.add_argument("--no-cv", dest="cv", action="store_false", help="only --fit")
    parser.add_argument("--threshold", type=float, default=0.3)
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
            if args.cv
        ]
        fits = [
            bench_fit(args.competition, data, m, args.seed, args.threshold, work)
            for m in models
            if args.fit
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open(data / "train.csv", "rb") as lines:
        n_rows = sum(1 for _ in lines)
    print(
        f"{args.competition} ({data}), {args.folds} folds, seed {args.seed}, "
        f"{args.repeats} repeat(s), medians; load average at the end {load_average()}"
    )
    if results:
        print(table(results, args.modes))
    if fits:
        print(fit_table(fits))
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "competition": args.competition,
                    "data": str(data),
                    "lines": n_rows,
                    "results": results,
                    "fits": fits,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
