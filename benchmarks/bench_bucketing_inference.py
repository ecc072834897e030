"""Inference throughput with length bucketing (dynamic padding) against fixed-length padding,
on the same texts, with the same model: all-MiniLM-L6-v2 + masked mean pooling, CPU.

Texts: the 762 validation tweets of the Disaster Tweets course split (see
bench_transformer_quality.py). Both modes run once untimed (tracing), then ``--repeats``
timed passes each, interleaved (fixed, bucketed, fixed, ...) so that load on a shared
machine hits both alike; the medians are compared. The outputs of both modes must agree.

    python benchmarks/bench_bucketing_inference.py --max-length 64 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_transformer_quality import CHECKPOINT, DATA, ROOT, course_split  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "_work")
    args = parser.parse_args(argv)
    if not DATA.is_file() or not CHECKPOINT.is_dir():
        print(f"skipped: {DATA} or {CHECKPOINT} is absent", file=sys.stderr)
        return 0

    import keras

    from kagglekit.hub.backbone import backbone_inputs, load_backbone, sequence_head
    from kagglekit.hub.tokenizer import SubwordTokenizer
    from kagglekit.keras.batching import plan_batches
    from kagglekit.keras.data import predict_batches

    _, texts, _, _ = course_split()
    enc = SubwordTokenizer.from_directory(CHECKPOINT).encode(texts, args.max_length)
    backbone = load_backbone(CHECKPOINT)
    model = keras.Model(*sequence_head(backbone, head="mean", freeze_backbone=True))
    model.jit_compile = False
    names = backbone_inputs(backbone)

    def run(bucketing: bool):
        start = time.perf_counter()
        out = predict_batches(
            model,
            enc,
            inputs=names,
            maxlen=args.max_length,
            batch_size=args.batch_size,
            bucket=bucketing,
        )
        return time.perf_counter() - start, out

    _, fixed_out = run(False)
    _, bucket_out = run(True)
    times = {"fixed": [], "bucketed": []}
    for _ in range(args.repeats):
        times["fixed"].append(run(False)[0])
        times["bucketed"].append(run(True)[0])
    tokens = int(np.minimum(enc.lengths, args.max_length).sum())
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {
        "texts": len(texts),
        "real_tokens": tokens,
        "max_length": args.max_length,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        **{
            f"padding_share_{name}": round(
                1
                - tokens
                / plan_batches(
                    np.minimum(enc.lengths, args.max_length),
                    args.batch_size,
                    maxlen=args.max_length,
                    shuffle=False,
                    bucket=bucket,
                ).padded_tokens(),
                3,
            )
            for name, bucket in (("fixed", False), ("bucketed", True))
        },
        "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "texts_per_s": {k: round(len(texts) / v, 1) for k, v in med.items()},
        "real_tokens_per_s": {k: round(tokens / v, 1) for k, v in med.items()},
        "speedup": round(med["fixed"] / med["bucketed"], 2),
        "max_abs_diff": float(np.abs(fixed_out - bucket_out).max()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"bucketing_{args.max_length}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
