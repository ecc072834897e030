"""OOF scores before and after the honest-numbers change (issue 11), side by side.

Runs `kagglekit cv` for each (competition, model, seed) with two kagglekit installs: the
old one (``--before PYTHON``, the interpreter of a virtual environment where an earlier
commit is installed) and this one (the interpreter running this script). Records the
optimistic F1 (threshold tuned on all OOF rows), the nested F1 (each fold's threshold
chosen on the other folds; only the new code has it), and AUC.

    python benchmarks/bench_honesty.py --before /path/to/old-venv/bin/python \\
        --competition disaster-tweets --competition quora -m tfidf-nb -m tfidf-lr \\
        --seeds 42,7,1 --out benchmarks/_work/honesty.json

Then ``--report FILE`` prints the Markdown table for benchmarks/RESULTS.md (mean +- std
over seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DATA = {
    "disaster-tweets": "nlp-getting-started",
    "quora": "quora-insincere-questions-classification",
}


def run_cv(
    python: Path | None, competition: str, model: str, seed: int, params: list[str], runs_dir: Path
) -> dict:
    env = dict(os.environ)
    cmd = [
        str(python or sys.executable),
        "-m",
        "kagglekit",
        "cv",
        competition,
        "-m",
        model,
        "--folds",
        "5",
        "--seed",
        str(seed),
        "--data-dir",
        str(SHARED / DATA[competition]),
        "--runs-dir",
        str(runs_dir),
        "--json",
        *[a for p in params for a in ("-p", p)],
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=runs_dir)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    return {
        "scores": out["scores"],
        "nested_scores": out.get("nested_scores"),
        "seconds": json.loads((Path(out["run_dir"]) / "run.json").read_text()).get("seconds"),
    }


def report(path: Path) -> str:
    rows = json.loads(path.read_text())
    table = [
        "| competition | model | before: F1 (tuned on OOF) | after: F1 (tuned on OOF) "
        "| after: F1 nested (held out) | before: AUC | after: AUC |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = sorted({(r["competition"], r["model"]) for r in rows})

    def stat(values):
        values = [v for v in values if v is not None]
        if not values:
            return "-"
        return f"{np.mean(values):.4f} ± {np.std(values):.4f}"

    for comp, model in keys:
        mine = [r for r in rows if r["competition"] == comp and r["model"] == model]
        b = [r["before"] for r in mine if r.get("before")]
        a = [r["after"] for r in mine if r.get("after")]
        table.append(
            f"| {comp} | {model} | {stat([x['scores'].get('f1') for x in b])} "
            f"| {stat([x['scores'].get('f1') for x in a])} "
            f"| {stat([(x['nested_scores'] or {}).get('f1') for x in a])} "
            f"| {stat([x['scores'].get('auc') for x in b])} "
            f"| {stat([x['scores'].get('auc') for x in a])} |"
        )
    seeds = sorted({r["seed"] for r in rows})
    return "\n".join(table) + f"\n\n(5-fold CV, mean ± std over seeds {seeds})\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="python of a venv with the old kagglekit")
    ap.add_argument("--competition", action="append", default=[])
    ap.add_argument("-m", "--model", action="append", default=[])
    ap.add_argument("-p", "--param", action="append", default=[])
    ap.add_argument("--seeds", default="42,7,1")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_work" / "honesty.json")
    ap.add_argument("--report", type=Path)
    args = ap.parse_args()
    if args.report:
        print(report(args.report))
        return
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} not found: this benchmark needs ../shared")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(args.out.read_text()) if args.out.exists() else []
    for comp in args.competition:
        for model in args.model:
            for seed in [int(s) for s in args.seeds.split(",")]:
                row = {"competition": comp, "model": model, "seed": seed, "params": args.param}
                with tempfile.TemporaryDirectory() as tmp:
                    if args.before:
                        row["before"] = run_cv(
                            args.before, comp, model, seed, args.param, Path(tmp)
                        )
                    row["after"] = run_cv(None, comp, model, seed, args.param, Path(tmp))
                print(json.dumps(row), file=sys.stderr)
                rows = [
                    r
                    for r in rows
                    if (r["competition"], r["model"], r["seed"]) != (comp, model, seed)
                ] + [row]
                args.out.write_text(json.dumps(rows, indent=1))
    print(report(args.out))


if __name__ == "__main__":
    main()
