"""Does domain-adaptive pretraining help? On the 2,000 real IMDb reviews in
../shared/data/imdb-dataset-of-50k-movie-reviews (5-fold CV, the same folds for both arms),
mean and std of OOF accuracy / AUC over seeds:

- ``--family transformer``: MiniLM fine-tuned from the generic checkpoint vs after
  ``kagglekit pretrain`` (masked LM) on the reviews' own texts;
- ``--family lstm``: the ``lstm`` classifier from scratch vs from the encoder of
  ``kagglekit pretrain --model lstm`` with ULMFiT's recipe (gradual unfreezing,
  discriminative rates, slanted triangular rates).

    python benchmarks/bench_pretrain.py --family transformer --seeds 0 1 2 --epochs 3 --mlm-epochs 3
    python benchmarks/bench_pretrain.py --family lstm --seeds 0 1 2 --epochs 8 --mlm-epochs 4

The pretraining sees only the training texts (this dataset has no test or unlabeled file);
they include the rows later scored, but never their labels, as on Kaggle where test texts
are pretrained on. Writes benchmarks/RESULTS_pretrain.md-ready lines to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CHECKPOINT = SHARED / "models" / "all-MiniLM-L6-v2"
DATA = SHARED / "data" / "imdb-dataset-of-50k-movie-reviews"


def kagglekit(*args) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "kagglekit", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr.strip().splitlines()[-1])
    return json.loads(proc.stdout)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=["transformer", "lstm"], default="transformer")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--mlm-epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="the classifier's learning rate (default: the model's)",
    )
    parser.add_argument(
        "--lm-param",
        action="append",
        default=[],
        help="extra -p for pretrain --model lstm (e.g. units=256)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_work")
    args = parser.parse_args(argv)
    runs = args.out / "runs"
    if not (DATA / "IMDB Dataset.csv").is_file():
        print(f"skipped: {DATA} is absent", file=sys.stderr)
        return 0
    if args.family == "lstm":
        return lstm_arms(args, runs)
    if not CHECKPOINT.is_dir():
        print(f"skipped: {CHECKPOINT} is absent", file=sys.stderr)
        return 0
    lm = kagglekit(
        "pretrain",
        "imdb-50k",
        "--data-dir",
        DATA,
        "--texts",
        "train",
        "-p",
        f"preset={CHECKPOINT}",
        "-p",
        f"epochs={args.mlm_epochs}",
        "-p",
        f"max_length={args.max_length}",
        "--runs-dir",
        runs,
    )
    print(
        "MLM held-out loss by epoch:", [h["heldout_loss"] for h in lm["history"]], file=sys.stderr
    )
    results = {"generic": [], "pretrained": []}
    for seed in args.seeds:
        for name, preset in (("generic", CHECKPOINT), ("pretrained", lm["path"])):
            run = kagglekit(
                "cv",
                "imdb-50k",
                "--data-dir",
                DATA,
                "--model",
                "transformer",
                "--folds",
                5,
                "--seed",
                seed,
                "-p",
                f"preset={preset}",
                "-p",
                f"epochs={args.epochs}",
                "-p",
                f"max_length={args.max_length}",
                "-p",
                "verbose=0",
                *learning_rate(args),
                "--runs-dir",
                runs,
            )
            print(name, seed, run["scores"], run["path"], file=sys.stderr, flush=True)
            results[name].append(run["scores"])
    report(results, args.seeds)
    return 0


def lstm_arms(args, runs) -> int:
    """The lstm classifier from scratch vs from its pretrained LM encoder (ULMFiT)."""
    lm = kagglekit(
        "pretrain",
        "imdb-50k",
        "--model",
        "lstm",
        "--data-dir",
        DATA,
        "--texts",
        "train",
        "-p",
        f"epochs={args.mlm_epochs}",
        "-p",
        "verbose=0",
        *[a for p in args.lm_param for a in ("-p", p)],
        "--runs-dir",
        runs,
    )
    print(
        "LM held-out loss / perplexity by epoch:",
        [(h["heldout_loss"], h["heldout_perplexity"]) for h in lm["history"]],
        file=sys.stderr,
    )
    common = [
        "-p",
        f"maxlen={args.max_length}",
        "-p",
        f"epochs={args.epochs}",
        "-p",
        "verbose=0",
        *learning_rate(args),
    ]
    arms = {
        "scratch": [],
        "pretrained (gradual, llrd 0.38, slanted-triangular)": [
            "-p",
            f"encoder={lm['path']}",
            "-p",
            "unfreeze=gradual",
            "-p",
            "llrd=0.38",
            "-p",
            "lr_schedule=slanted-triangular",
        ],
    }
    results = {name: [] for name in arms}
    for seed in args.seeds:
        for name, extra in arms.items():
            run = kagglekit(
                "cv",
                "imdb-50k",
                "--data-dir",
                DATA,
                "--model",
                "lstm",
                "--folds",
                5,
                "--seed",
                seed,
                *common,
                *extra,
                "--runs-dir",
                runs,
            )
            print(name, seed, run["scores"], file=sys.stderr)
            results[name].append(run["scores"])
    report(results, args.seeds)
    return 0


def learning_rate(args) -> list:
    return [] if args.learning_rate is None else ["-p", f"learning_rate={args.learning_rate}"]


def report(results: dict, seeds) -> None:
    for name, scores in results.items():
        line = [name]
        for metric in ("accuracy", "auc"):
            values = [s[metric] for s in scores]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            line.append(f"{metric} {statistics.mean(values):.4f} ± {spread:.4f}")
        print(" | ".join(line) + f" | seeds {seeds}")


if __name__ == "__main__":
    raise SystemExit(main())
