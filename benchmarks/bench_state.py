"""A fold's fitted state: save and load time beside its fit time, and beside pickle.

For each TF-IDF model, on the first 80% of a competition's training rows (one fold's
training share): fit, then Model.save (state.json + state.npz) and Model.load, and for
comparison pickle.dumps / loads of the same fitted model (what plain code does; never
used by kagglekit, which must not unpickle), and the sizes. Issue 23's target: save +
load at most 5% of the fit.

    python benchmarks/bench_state.py DATA_DIR [--competition quora] [--model M ...]
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--competition", default="quora")
    parser.add_argument("--model", action="append", dest="models")
    args = parser.parse_args()
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset

    comp = plugins.get_competition(args.competition)
    data = load_dataset(comp, DataOptions(data_dir=args.data))
    n = int(len(data.train) * 0.8)
    train = data.train.take(np.arange(n))
    print(f"{comp.slug}: {n:,} training rows ({args.data})")
    print(
        "| model | fit s | save s | load s | (save+load)/fit | state MB | pickle dump s | "
        "pickle load s | pickle MB | vocabulary terms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models or ["tfidf-nb", "tfidf-lr", "nbsvm"]:
        cls = plugins.get_model(name)
        model = cls.from_dict({}, seed=0)
        start = time.perf_counter()
        model.fit(train)
        fit = time.perf_counter() - start
        work = Path(tempfile.mkdtemp(prefix="kk-state-"))
        try:
            start = time.perf_counter()
            model.save(work / "m")
            save = time.perf_counter() - start
            start = time.perf_counter()
            back = cls.load(work / "m")
            load = time.perf_counter() - start
            few = train.take(np.arange(min(2000, n)))
            assert np.array_equal(back.predict(few), model.predict(few))
            start = time.perf_counter()
            blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
            p_dump = time.perf_counter() - start
            start = time.perf_counter()
            pickle.loads(blob)
            p_load = time.perf_counter() - start
            vec = model.vectorizer_
            parts = (
                [t for _, t in vec.transformer_list] if hasattr(vec, "transformer_list") else [vec]
            )
            terms = sum(len(p.vocabulary_) for p in parts)
            print(
                f"| {name} | {fit:.1f} | {save:.2f} | {load:.2f} | "
                f"{(save + load) / fit:.1%} | {folder_mb(work / 'm'):.1f} | {p_dump:.2f} | "
                f"{p_load:.2f} | {len(blob) / 2**20:.1f} | {terms:,} |",
                flush=True,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
