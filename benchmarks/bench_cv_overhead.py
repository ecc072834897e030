"""kagglekit's overhead: `kagglekit cv disaster-tweets --model tfidf-nb --folds 5` (a new
process, CLI start-up included) against baseline_sklearn_cv.py doing the same five folds,
run alternately in one session. Target: median ratio <= 1.3.

Also records the OOF F1/accuracy/AUC of tfidf-nb, tfidf-lr and nbsvm on the real train.csv.
Usage: python benchmarks/bench_cv_overhead.py [--data ../shared/data] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KAGGLEKIT = Path(sys.executable).with_name("kagglekit")


def timed(cmd, cwd) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data_root = Path(args.data)
    tweets = data_root / "nlp-getting-started"
    if not (tweets / "train.csv").is_file():
        raise SystemExit(f"{tweets} not found; pass --data")
    work = Path(tempfile.mkdtemp(prefix="kk-bench-"))
    ours, theirs = [], []
    try:
        for i in range(args.repeats):
            theirs.append(
                timed(
                    [
                        sys.executable,
                        str(HERE / "baseline_sklearn_cv.py"),
                        str(tweets),
                        str(work / f"base-{i}"),
                    ],
                    work,
                )
            )
            ours.append(
                timed(
                    [
                        str(KAGGLEKIT),
                        "cv",
                        "disaster-tweets",
                        "--model",
                        "tfidf-nb",
                        "--folds",
                        "5",
                        "--seed",
                        "42",
                        "--data-dir",
                        str(tweets),
                        "--runs-dir",
                        str(work / "runs"),
                        "--json",
                    ],
                    work,
                )
            )
        ratio = statistics.median(ours) / statistics.median(theirs)
        print(
            f"kagglekit cv tfidf-nb 5 folds: median {statistics.median(ours):.2f}s "
            f"(runs: {', '.join(f'{t:.2f}' for t in ours)})"
        )
        print(
            f"plain scikit-learn script:     median {statistics.median(theirs):.2f}s "
            f"(runs: {', '.join(f'{t:.2f}' for t in theirs)})"
        )
        print(f"ratio: {ratio:.2f}x (target <= 1.3x)")
        print()
        print(
            "| model | OOF F1 | OOF accuracy | OOF AUC | threshold "
            "| fold spread (F1 std) | wall s |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for model in ("tfidf-nb", "tfidf-lr", "nbsvm"):
            start = time.perf_counter()
            proc = subprocess.run(
                [
                    str(KAGGLEKIT),
                    "cv",
                    "disaster-tweets",
                    "--model",
                    model,
                    "--folds",
                    "5",
                    "--seed",
                    "42",
                    "--data-dir",
                    str(tweets),
                    "--runs-dir",
                    str(work / "runs"),
                    "--json",
                ],
                capture_output=True,
                text=True,
                cwd=work,
                check=True,
            )
            wall = time.perf_counter() - start
            out = json.loads(proc.stdout)
            run = json.loads((Path(out["run_dir"]) / "run.json").read_text())
            s = out["scores"]
            print(
                f"| {model} | {s['f1']:.4f} | {s['accuracy']:.4f} | {s['auc']:.4f} | "
                f"{run['threshold']:.3f} | {run['fold_spread']['f1']:.4f} | {wall:.1f} |"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
