"""Jobs and executors: wall time of 5-fold tfidf-lr CV on the real Jigsaw files in-process vs
``--executor local --workers 2`` vs ``--executor ray --workers 2`` (each a new `kagglekit cv`
process, start-up and data loading included), and the cost of resuming after a kill -9 once
3 of the 5 fold jobs are complete.

Targets (issue 12): local 2 workers >= 1.7x faster than in-process on a 2-core machine;
resume <= the remaining folds' time + 10%.

With ``--baseline DIR`` (a checkout of kagglekit before jobs, e.g.
``git archive d7d8fec | tar -x -C DIR``) it also times the default in-process path against
it: `cv disaster-tweets --model tfidf-nb --folds 5`, alternating, and checks oof.csv is
byte-identical.

Usage: python benchmarks/bench_jobs.py [--data ../shared/data] [--repeats 3] [--skip-ray]
       [--baseline DIR] [--only-baseline]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KAGGLEKIT = Path(sys.executable).with_name("kagglekit")
SLUG = "jigsaw-toxic-comment-classification-challenge"


FOLDS = ["5"]


def cv_command(data: Path, runs: Path, *extra) -> list[str]:
    return [
        str(KAGGLEKIT),
        "cv",
        "jigsaw",
        "--model",
        "tfidf-lr",
        "--folds",
        FOLDS[0],
        "--seed",
        "42",
        "--data-dir",
        str(data),
        "--runs-dir",
        str(runs),
        "--json",
        *extra,
    ]


def timed(cmd, cwd) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr[-2000:]}")
    return elapsed, json.loads(proc.stdout)


def run_info(payload: dict) -> dict:
    return json.loads((Path(payload["run_dir"]) / "run.json").read_text())


def kill_after(cmd, cwd, runs: Path, n_done: int) -> float:
    """Start cmd, kill -9 it once n_done job records exist; return seconds until the kill."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(list(runs.glob(f"{SLUG}/.jobs-*/jobs/*/record.json"))) < n_done:
        if proc.poll() is not None:
            raise SystemExit("the run finished before it could be killed")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return time.perf_counter() - start


def baseline(data_root: Path, base: Path, repeats: int) -> None:
    """The in-process path now vs before jobs (PYTHONPATH=base), alternating."""
    tweets = data_root / "nlp-getting-started"
    work = Path(tempfile.mkdtemp(prefix="kk-bench-base-"))
    times = {"before jobs": [], "jobs, in-process": []}
    blobs = {}
    for i in range(repeats):
        for name, env in (("before jobs", {"PYTHONPATH": str(base)}), ("jobs, in-process", {})):
            cmd = [
                sys.executable,
                "-m",
                "kagglekit",
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
                str(work / f"{i}-{len(env)}"),
                "--json",
            ]
            start = time.perf_counter()
            proc = subprocess.run(
                cmd, cwd=work, capture_output=True, text=True, env={**os.environ, **env}
            )
            times[name].append(time.perf_counter() - start)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-2000:])
            blobs[name] = (Path(json.loads(proc.stdout)["run_dir"]) / "oof.csv").read_bytes()
    print("| `cv disaster-tweets --model tfidf-nb --folds 5` | median wall s | runs |")
    print("| --- | --- | --- |")
    for name, values in times.items():
        print(
            f"| {name} | {statistics.median(values):.2f} | "
            f"{', '.join(f'{v:.2f}' for v in values)} |"
        )
    ratio = statistics.median(times["jobs, in-process"]) / statistics.median(times["before jobs"])
    print(
        f"ratio: {ratio:.2f}x; "
        f"oof.csv byte-identical: {blobs['before jobs'] == blobs['jobs, in-process']}"
    )
    print()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--only-baseline", action="store_true")
    parser.add_argument("--only-resume", action="store_true")
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--folds", default="5", help="for the executor comparison only")
    args = parser.parse_args()
    if args.baseline:
        baseline(Path(args.data), args.baseline, max(args.repeats, 5))
        if args.only_baseline:
            return
    data = Path(args.data) / SLUG
    if not (data / "train.csv").is_file():
        raise SystemExit(f"{data} not found; pass --data")
    work = Path(tempfile.mkdtemp(prefix="kk-bench-jobs-"))
    if not args.only_resume:
        FOLDS[0] = args.folds
        executors(data, work, args)
        FOLDS[0] = "5"
    if not args.no_resume:
        resume(data, work)


def executors(data: Path, work: Path, args) -> None:
    setups = {"in-process": (), "local --workers 2": ("--executor", "local", "--workers", "2")}
    if not args.skip_ray:
        setups["ray --workers 2"] = ("--executor", "ray", "--workers", "2")
    times = {name: [] for name in setups}
    oofs = {}
    loads = []
    for i in range(args.repeats):  # interleaved, so that other load on the machine hits all alike
        for name, extra in setups.items():
            loads.append(os.getloadavg()[0])
            elapsed, payload = timed(cv_command(data, work / f"runs-{i}", *extra), work)
            times[name].append(elapsed)
            oofs.setdefault(name, (Path(payload["run_dir"]) / "oof.csv").read_bytes())
    base = statistics.mean(times["in-process"])
    print(
        f"{FOLDS[0]}-fold tfidf-lr CV on {data} ({os.cpu_count()} cores), {args.repeats} repeats:"
    )
    print("| executor | mean wall s | runs | speed-up |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        print(
            f"| {name} | {statistics.mean(values):.1f} | "
            f"{', '.join(f'{v:.1f}' for v in values)} | {base / statistics.mean(values):.2f}x |"
        )
    same = all(blob == oofs["in-process"] for blob in oofs.values())
    print(f"oof.csv byte-identical across executors: {same}")
    print(f"1-min load average before each run: {', '.join(f'{x:.1f}' for x in loads)}")


def resume(data: Path, work: Path) -> None:
    """Resume after a kill -9 once folds 0-2 are complete."""
    ref_wall, ref = timed(cv_command(data, work / "ref"), work)
    info = run_info(ref)
    fold_s = [f["seconds"] for f in info["fold_scores"]]
    overhead = ref_wall - sum(fold_s)
    runs = work / "killed"
    killed_at = kill_after(cv_command(data, runs), work, runs, 3)
    resume_wall, resumed = timed(cv_command(data, runs), work)
    remaining = sum(fold_s[3:])
    identical = all(
        (Path(resumed["run_dir"]) / n).read_bytes() == (Path(ref["run_dir"]) / n).read_bytes()
        for n in ("oof.csv", "test_predictions.csv")
    )
    print()
    print(
        f"uninterrupted: {ref_wall:.1f}s wall (folds {', '.join(f'{s:.1f}' for s in fold_s)}s; "
        f"start-up, loading, folds and assembly outside the folds: {overhead:.1f}s)"
    )
    print(
        f"killed after {killed_at:.1f}s with 3 of 5 jobs complete; resume took {resume_wall:.1f}s"
    )
    print(
        f"remaining folds 3-4: {remaining:.1f}s; + the fixed start-up/loading/assembly: "
        f"{remaining + overhead:.1f}s; resume / that = {resume_wall / (remaining + overhead):.2f} "
        f"(target <= 1.10); resume / folds alone = {resume_wall / remaining:.2f}"
    )
    again = [f["seconds"] for f in run_info(resumed)["fold_scores"]]
    print(
        f"in the resumed process itself folds 3-4 took {sum(again[3:]):.1f}s: resume / that = "
        f"{resume_wall / sum(again[3:]):.2f} (start-up, loading, reuse checks and assembly: "
        f"{resume_wall - sum(again[3:]):.1f}s)"
    )
    print(f"resumed oof.csv and test_predictions.csv byte-identical to uninterrupted: {identical}")


if __name__ == "__main__":
    main()
