"""Loading a GloVe-format file of 1,000,000 words x 300 dims for a 50,000-word vocabulary:
kagglekit (stream once, keep only vocabulary words, case fallbacks, cache) against the
notebook recipe (the Quora/Jigsaw kernels' ``dict(get_coefs(*o.split(" ")) for o in
open(...))``, then mean/std over every vector and the matrix). Each method runs in its own
process, which reports its wall time and peak RSS (``resource.getrusage``); the file is
read once beforehand so that every method finds it in the page cache.

Also checks correctness: every vocabulary row kagglekit filled by an exact match equals the
notebook's row, and on the real GloVe lines in ../shared/embeddings every found vector
equals the parsed line.
Usage: python benchmarks/bench_embeddings.py [--words 1000000] [--dim 300] [--vocab 50000]
       [--keep]   (the generated ~2.7 GB file is deleted afterwards unless --keep)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"
WORK = HERE / "_work"


# ---------------------------------------------------------------------------- children
def child_notebook(path: str, vocab: list[str], out: str) -> None:
    def get_coefs(word, *arr):
        return word, np.asarray(arr, dtype="float32")

    # the notebooks' own line, copied as written (the file stays open: that is the baseline)
    embeddings_index = dict(get_coefs(*o.split(" ")) for o in open(path, encoding="utf8"))  # noqa: SIM115
    all_embs = np.stack(list(embeddings_index.values()))
    emb_mean, emb_std = all_embs.mean(), all_embs.std()
    embed_size = all_embs.shape[1]
    word_index = {w: i for i, w in enumerate(vocab)}
    embedding_matrix = np.random.normal(emb_mean, emb_std, (len(vocab), embed_size))
    for word, i in word_index.items():
        embedding_vector = embeddings_index.get(word)
        if embedding_vector is not None:
            embedding_matrix[i] = embedding_vector
    np.save(out, embedding_matrix.astype(np.float32))


def child_kagglekit(path: str, vocab: list[str], out: str) -> None:
    from kagglekit.text.embeddings import embedding_matrix

    result = embedding_matrix([path], vocab, None, skip_rows=2, progress=False)
    np.save(out, result.matrix)
    np.save(out.replace(".npy", ".found.npy"), result.found)
    Path(out.replace(".npy", ".report.json")).write_text(json.dumps(result.report))


def run_child(method: str, path: Path, vocab_file: Path, out: Path, cache: Path) -> dict:
    env = dict(os.environ, KAGGLEKIT_CACHE=str(cache))
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            method,
            "--file",
            str(path),
            "--vocab-file",
            str(vocab_file),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """VmHWM (peak resident set) of this process; unlike ru_maxrss it starts afresh at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def child_main(args) -> None:
    vocab = json.loads(Path(args.vocab_file).read_text())
    if args.child == "kagglekit":
        import kagglekit.text.embeddings  # noqa: F401 - imports are not part of the load
    base_rss = peak_rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    {"notebook": child_notebook, "kagglekit": child_kagglekit}[args.child](
        args.file, vocab, args.out
    )
    print(
        json.dumps(
            {
                "seconds": round(time.perf_counter() - start, 3),
                "cpu_seconds": round(time.process_time() - cpu, 3),
                "peak_rss_mb": peak_rss_mb(),
                "rss_before_mb": base_rss,
            }
        )
    )


# ---------------------------------------------------------------------------- data
def generate(path: Path, n_words: int, dim: int, seed: int = 0) -> list[str]:
    """``w<i>`` tokens (every 10th written Title-case, ``W<i>``), GloVe-like numbers: 20,000
    distinct vectors shared out at random (parsing cost is the same as all-distinct)."""
    rng = np.random.default_rng(seed)
    templates = [" ".join(f"{x:.5g}" for x in rng.normal(0, 0.4, dim)) for _ in range(20_000)]
    pick = rng.integers(0, len(templates), n_words)
    words = [f"W{i}" if i % 10 == 0 else f"w{i}" for i in range(n_words)]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", buffering=1 << 22) as fh:
        for word, k in zip(words, pick):
            fh.write(f"{word} {templates[k]}\n")
    os.replace(tmp, path)
    return words


def make_vocab(n_words: int, n_vocab: int, seed: int = 1) -> list[str]:
    """[PAD], [UNK], then lower-case vocabulary words: 90% in the file, 10% absent."""
    rng = np.random.default_rng(seed)
    n_present = int(n_vocab * 0.9)
    present = rng.choice(n_words, n_present, replace=False)
    absent = [f"zz{i}" for i in range(n_vocab - n_present)]
    return ["[PAD]", "[UNK]", *[f"w{i}" for i in present], *absent]


def warm(path: Path) -> float:
    start = time.perf_counter()
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass
    return time.perf_counter() - start


def check_real_glove() -> dict:
    from kagglekit.text.embeddings import find_vectors

    out = {}
    for path in sorted((SHARED / "embeddings").glob("glove*.txt")):
        table = {}
        for line in path.read_bytes().splitlines():
            parts = line.rstrip().split(b" ")
            table.setdefault(parts[0], np.array(parts[1:], dtype=np.float32))
        words = [w.decode("utf-8") for w in table if _utf8(w)]
        found = find_vectors(path, words, cache=False)
        same = sum(
            np.array_equal(found.vectors[i], table[w.encode()])
            for i, w in enumerate(words)
            if found.how[i] == 1
        )
        out[path.name] = {
            "lines": found.lines,
            "dim": found.dim,
            "utf8_words": len(words),
            "found_exact": int((found.how == 1).sum()),
            "equal_to_the_line": int(same),
        }
    return out


def _utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--vocab", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--file")
    parser.add_argument("--vocab-file")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"glove_{args.words}x{args.dim}.txt"
    t_gen = None
    if not path.is_file():
        start = time.perf_counter()
        generate(path, args.words, args.dim)
        t_gen = time.perf_counter() - start
    vocab = make_vocab(args.words, args.vocab)
    vocab_file = WORK / "bench_vocab.json"
    vocab_file.write_text(json.dumps(vocab))
    t_warm = warm(path)
    cache = Path(tempfile.mkdtemp(prefix="kk-bench-emb-"))
    results = {
        "file_gb": round(path.stat().st_size / 1e9, 2),
        "generate_s": t_gen,
        "warm_read_s": round(t_warm, 2),
        "vocab_rows": len(vocab),
    }
    results["notebook"] = run_child("notebook", path, vocab_file, WORK / "nb.npy", cache)
    results["kagglekit_first"] = run_child("kagglekit", path, vocab_file, WORK / "kk.npy", cache)
    results["kagglekit_cached"] = run_child("kagglekit", path, vocab_file, WORK / "kk2.npy", cache)
    nb, kk, kk2 = (np.load(WORK / f) for f in ("nb.npy", "kk.npy", "kk2.npy"))
    found = np.load(WORK / "kk.found.npy")
    report = json.loads((WORK / "kk.report.json").read_text())
    exact = np.array([report["files"][0]["found_by"]["exact"]])
    in_notebook = np.array(
        [i for i, w in enumerate(vocab) if i >= 2 and w.startswith("w") and int(w[1:]) % 10 != 0]
    )
    results["check"] = {
        "rows_equal_to_notebook_exact_matches": int(
            sum(np.array_equal(nb[i], kk[i]) for i in in_notebook)
        ),
        "exact_matches": int(exact[0]),
        "found_by_title_case_fallback": report["files"][0]["found_by"]["title"],
        "vocab_coverage": report["vocab_coverage"],
        "cached_equals_first": bool(np.array_equal(kk, kk2)),
        "found_rows": int(found.sum()),
    }
    nb_r, kk_r, kc_r = results["notebook"], results["kagglekit_first"], results["kagglekit_cached"]
    results["ratios"] = {
        "first_load_speedup": round(nb_r["seconds"] / kk_r["seconds"], 1),
        "first_load_cpu_speedup": round(nb_r["cpu_seconds"] / kk_r["cpu_seconds"], 1),
        "peak_rss_ratio": round(nb_r["peak_rss_mb"] / kk_r["peak_rss_mb"], 1),
        "peak_rss_ratio_above_start": round(
            (nb_r["peak_rss_mb"] - nb_r["rss_before_mb"])
            / max(1.0, kk_r["peak_rss_mb"] - kk_r["rss_before_mb"]),
            1,
        ),
        "cached_speedup_vs_notebook": round(nb_r["seconds"] / kc_r["seconds"], 1),
        "cached_speedup_vs_first_load": round(kk_r["seconds"] / kc_r["seconds"], 1),
    }
    results["real_glove"] = check_real_glove() if (SHARED / "embeddings").is_dir() else "absent"
    results["load_average"] = os.getloadavg()[0]
    for f in (
        "nb.npy",
        "kk.npy",
        "kk2.npy",
        "kk.found.npy",
        "kk2.found.npy",
        "kk.report.json",
        "kk2.report.json",
    ):
        (WORK / f).unlink(missing_ok=True)
    if not args.keep:
        path.unlink()
    (WORK / "embeddings.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
