"""Every step of the workflow at three sizes of a full-size stand-in (make_fullsize.py),
with wall time and peak memory, and plain code beside the steps that have a plain form.

Steps (each a new process, as a user runs them):
    load      `kagglekit data C`: read + validate train and test (+ prepare, duplicates)
              vs plain: pandas.read_csv of both files
    cv        `kagglekit cv C -m MODEL` (defaults: --executor auto) vs plain_tfidf_cv.py
    cv2       a second CV run (-p alpha=0.5), the blend's other member
    fit       `kagglekit fit C -m MODEL` (the CV run's threshold)
    blend     `kagglekit blend CV CV2 --method rank` vs plain: rank-average two OOF CSVs
    submit    `kagglekit submit FIT`
    predict   `kagglekit predict CV --input test.csv` (5 fold models) vs plain: load the 5
              joblib fold states the plain script saved, average their test predictions
    report    `kagglekit report CV` (HTML with plots)
    package   `kagglekit package CV` (dataset + notebook folder, wheels from PyPI)

    python benchmarks/bench_steps.py --competition quora --scales 0.1 0.3 1.0 [--model tfidf-nb]

Prints a markdown table per scale plus the per-row cost growth from the smallest scale to
the largest; raw figures go to benchmarks/_work/steps_<competition>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_fullsize import build  # noqa: E402
from measure import SLUGS, load_average, measure  # noqa: E402

KAGGLEKIT = Path(sys.executable).with_name("kagglekit")
PY = sys.executable

PLAIN_LOAD = """
import sys, pandas as pd
train = pd.read_csv(sys.argv[1] + "/train.csv"); test = pd.read_csv(sys.argv[1] + "/test.csv")
print(len(train), len(test))
"""
PLAIN_BLEND = """
import sys, pandas as pd
from scipy.stats import rankdata
a, b = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
cols = [c for c in a.columns[1:]]
out = a.copy()
for c in cols:
    out[c] = (rankdata(a[c]) + rankdata(b[c])) / (2 * len(a))
out.to_csv(sys.argv[3], index=False)
"""
PLAIN_PREDICT = """
import sys, glob, joblib, numpy as np, pandas as pd
sys.path.insert(0, sys.argv[4])
from plain_tfidf_cv import SPECS, predict
id_col, text_col, labels, prepare = SPECS[sys.argv[1]]
test = pd.read_csv(sys.argv[2] + "/test.csv")
text = test[text_col].map(prepare).to_numpy(dtype=object)
folds = sorted(glob.glob(sys.argv[3] + "/fold-*.joblib"))
pred = 0
for f in folds:
    s = joblib.load(f)
    pred = pred + predict(s["classifiers"], s["ratios"], s["vectorizer"].transform(text).tocsr())
pd.DataFrame(pred / len(folds), columns=labels).assign(**{id_col: test[id_col]}).to_csv(
    sys.argv[3] + "/predict.csv", index=False)
"""


def step(name, cmd, results, cwd):
    m = measure(cmd, cwd=cwd)
    if m.returncode:
        print(f"{name} failed ({m.returncode}):\n{m.stderr[-3000:]}", file=sys.stderr)
        results[name] = {"failed": m.returncode}
        return None
    results[name] = {"seconds": round(m.seconds, 2), "peak_mb": round(m.peak_mb)}
    print(
        f"    {name}: {m.seconds:.1f}s {m.peak_mb:.0f} MB (load {load_average()})", file=sys.stderr
    )
    return json.loads(m.stdout) if m.stdout.strip().startswith("{") else m.stdout


def run_scale(comp, scale, model, work: Path, skip=()) -> dict:
    data = build(SLUGS[comp], scale=scale)
    with open(data / "train.csv", "rb") as train, open(data / "test.csv", "rb") as test:
        n_train, n_test = sum(1 for _ in train) - 1, sum(1 for _ in test) - 1
    print(f"  {comp} x{scale}: {data} (~{n_train:,} train lines)", file=sys.stderr)
    runs, plain = work / "runs", work / "plain"
    r: dict = {"scale": scale, "data": str(data)}
    common = ["--data-dir", data, "--runs-dir", runs]
    step("load", [KAGGLEKIT, "data", comp, "--data-dir", data], r, work)
    step("plain load", [PY, "-c", PLAIN_LOAD, data], r, work)
    cv = step("cv", [KAGGLEKIT, "cv", comp, "-m", model, *common, "--json"], r, work)
    step("plain cv", [PY, HERE / "plain_tfidf_cv.py", comp, data, plain, "--model", model], r, work)
    other = "C=2" if model == "tfidf-lr" else "alpha=0.5"
    cv2 = step("cv2", [KAGGLEKIT, "cv", comp, "-m", model, "-p", other, *common, "--json"], r, work)
    fit = step("fit", [KAGGLEKIT, "fit", comp, "-m", model, *common, "--json"], r, work)
    if cv and cv2:
        step(
            "blend",
            [
                KAGGLEKIT,
                "blend",
                cv["run_dir"],
                cv2["run_dir"],
                "--method",
                "rank",
                "--runs-dir",
                runs,
                "--json",
            ],
            r,
            work,
        )
        oof = Path(cv["run_dir"]) / "oof.csv"
        step(
            "plain blend",
            [PY, "-c", PLAIN_BLEND, oof, Path(cv2["run_dir"]) / "oof.csv", work / "blend.csv"],
            r,
            work,
        )
    if fit:
        step(
            "submit",
            [KAGGLEKIT, "submit", fit["run_dir"], "--output", work / "sub.csv", "--json"],
            r,
            work,
        )
    if cv:
        step(
            "predict",
            [
                KAGGLEKIT,
                "predict",
                cv["run_dir"],
                "--input",
                data / "test.csv",
                "--output",
                work / "pred.csv",
                "--json",
            ],
            r,
            work,
        )
        step("plain predict", [PY, "-c", PLAIN_PREDICT, comp, data, plain, HERE], r, work)
        if "report" not in skip:
            step(
                "report",
                [
                    KAGGLEKIT,
                    "report",
                    cv["run_dir"],
                    "--output",
                    work / "reports",
                    "--runs-dir",
                    runs,
                    "--json",
                ],
                r,
                work,
            )
        if "package" not in skip:
            step(
                "package",
                [
                    KAGGLEKIT,
                    "package",
                    cv["run_dir"],
                    "--output",
                    work / "pkg",
                    "--owner",
                    "bench",
                    "--runs-dir",
                    runs,
                ],
                r,
                work,
            )
    r["n_train"], r["n_test"] = n_train, n_test
    shutil.rmtree(runs, ignore_errors=True)
    shutil.rmtree(plain, ignore_errors=True)
    return r


def table(results) -> str:
    names = [k for k in results[0] if isinstance(results[0][k], dict)]
    head = (
        "| step | "
        + " | ".join(f"x{r['scale']} s (MB)" for r in results)
        + " | s per 100k rows, smallest -> largest |"
    )
    lines = [head, "| --- |" + " --- |" * (len(results) + 1)]
    for name in names:
        cells, per = [], []
        for r in results:
            v = r.get(name, {})
            if "seconds" in v:
                cells.append(f"{v['seconds']:.1f} ({v['peak_mb']})")
                rows = (
                    r["n_test"] if name in ("predict", "plain predict", "submit") else r["n_train"]
                )
                per.append(v["seconds"] / rows * 1e5)
            else:
                cells.append("failed" if v else "-")
        growth = f"{per[0]:.2f} -> {per[-1]:.2f} ({per[-1] / per[0]:.2f}x)" if len(per) > 1 else "-"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--competition", default="quora", choices=sorted(SLUGS))
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--model", default="tfidf-nb")
    parser.add_argument("--skip", nargs="*", default=[], choices=["report", "package"])
    args = parser.parse_args()
    results = []
    out = HERE / "_work" / f"steps_{args.competition}_{args.model}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for scale in args.scales:
        work = Path(tempfile.mkdtemp(prefix="kk-steps-"))
        try:
            results.append(run_scale(args.competition, scale, args.model, work, args.skip))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        out.write_text(json.dumps(results, indent=2))
        print(table(results), flush=True)


if __name__ == "__main__":
    main()
