"""The Keras text families at scale on CPU: one epoch of ``bigru`` and of the frozen
``sentence-encoder``, per 100k rows, and peak memory against the token ids' size.

Every measurement is a fresh process (``--worker``) wrapped in measure.py (wall time, peak
PSS of the process tree), with its own empty ``KAGGLEKIT_CACHE`` (nothing is reused):

- ``base``: importing Keras (and its backend) + reading the competition's train file,
  nothing else (the floor every stage pays);
- ``tokens``: the family's own data path without a network: ``bigru``'s ``fit_encoder``
  (vocabulary + word ids, truncated) or MiniLM's subword ids (``TransformerEncoder``'s
  tokenizer), then every training batch (``Batches``, shuffled buckets) and every
  prediction batch built once, as ``fit`` and ``predict`` feed them to Keras;
- ``fit``: ``fit`` on the first N training rows with ``epochs=1`` (default parameters
  otherwise; bigru with random embeddings, the sentence encoder with ``preset=``), then
  ``predict`` on the next N/4 rows (other texts, so the encoder runs again).

    python benchmarks/bench_neural_scale.py --sizes 20000 50000 100000 \\
        [--models bigru sentence-encoder] [--stages base tokens fit] \\
        [--data DIR] [--preset DIR] [--json-out FILE]

``--slim LAYERS:FFN`` encodes with a cut-down copy of ``--preset`` instead (made in a
temporary folder, deleted after): its first LAYERS layers and the first FFN units of each
feed-forward block, the real tokenizer, embeddings and 384-wide vectors. Its speed says
nothing about MiniLM's; its memory is the sentence encoder's at that size (the data path,
token ids and the vectors kept are the same), measured where the real encoder would take
hours on this CPU (``--slim 1:128`` encodes about 15x faster than MiniLM-L6's 6:1536).

``--sizes full`` means every row of ``--data``. Prints a markdown table (rows, stage,
token-id MB, peak MB, peak above ``base``, seconds, s per 100k rows for fit and predict).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import load_average, measure  # noqa: E402

QUORA = "quora-insincere-questions-classification"
DATA = HERE / "_work" / "fullsize-x0.1" / QUORA
PRESET = HERE.parent.parent / "shared" / "models" / "all-MiniLM-L6-v2"


# -- one measurement, in its own process ---------------------------------------------------
def load_train(data_dir: str, rows: int | None):
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset

    comp = plugins.get_competition("quora")
    train = load_dataset(comp, DataOptions(data_dir=data_dir), need_test=False).train
    return train if rows is None else train.take(range(min(rows, len(train))))


def token_bytes(ragged) -> int:
    extra = 0 if ragged.type_ids is None else ragged.type_ids.nbytes
    return int(ragged.ids.nbytes + ragged.offsets.nbytes + extra)


def iterate(data) -> int:
    """Build every batch of a ``Batches`` once; the number of padded tokens."""
    padded = 0
    for i in range(len(data)):
        x = data[i][0]
        x = x["token_ids"] if isinstance(x, dict) else x
        padded += int(x.size)
    return padded


def stage_tokens(model: str, train, preset: str) -> dict:
    import numpy as np

    from kagglekit.keras.data import Batches
    from kagglekit.keras.model import labels

    start = time.perf_counter()
    if model == "bigru":
        from kagglekit import plugins

        m = plugins.get_model("bigru").from_dict({"epochs": 1})
        x = m.fit_encoder(train, None)
        maxlen, batch, predict_batch, inputs = (
            m.maxlen_,
            m.params.batch_size,
            m.params.predict_batch_size,
            None,
        )
    else:
        from kagglekit.hub.encoders import load_encoder

        enc = load_encoder(Path(preset), kind="transformer")
        x = enc.tokenizer.encode(list(train.text), enc.max_length)
        maxlen, batch, predict_batch = enc.max_length, enc.batch_size, enc.batch_size
        inputs = ["token_ids", "padding_mask"]
    tokenize = time.perf_counter() - start
    y = labels(train.y)
    start = time.perf_counter()
    fit = Batches(x, y, batch_size=batch, maxlen=maxlen, shuffle=True, inputs=inputs)
    padded = iterate(fit)
    fit.on_epoch_end()  # the next epoch's plan, as Keras asks for it
    pred = Batches(x, batch_size=predict_batch, maxlen=maxlen, inputs=inputs)
    padded_predict = iterate(pred)
    return {
        "token_mb": token_bytes(x) / 2**20,
        "tokenize_s": tokenize,
        "batches_s": time.perf_counter() - start,
        "train_batches": len(fit),
        "padded_tokens": padded,
        "padded_tokens_predict": padded_predict,
        "real_tokens": int(np.minimum(x.lengths, maxlen).sum()),
        "maxlen": int(maxlen),
    }


def stage_fit(model: str, data_dir: str, rows: int, preset: str) -> dict:
    from kagglekit import plugins

    every = load_train(data_dir, None if rows is None else rows + max(1, rows // 4))
    rows = len(every) * 4 // 5 if rows is None else min(rows, len(every) * 4 // 5)
    n_predict = min(max(1, rows // 4), len(every) - rows)  # "full": fit 80%, predict 20%
    train = every.take(range(rows))
    test = every.take(range(rows, rows + n_predict))
    params = {"epochs": 1, "verbose": 0, "tensorboard": False}
    if model == "sentence-encoder":
        params["preset"] = preset
    m = plugins.get_model(model).from_dict(params)
    start = time.perf_counter()
    m.fit(train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    m.predict(test)
    predict_s = time.perf_counter() - start
    info = m.fit_info_
    epoch_s = info["history"][0]["train_seconds"]
    return {
        "rows": rows,
        "predict_rows": n_predict,
        "fit_s": fit_s,
        "epoch_s": epoch_s,
        "predict_s": predict_s,
        "padding_efficiency": info.get("padding_efficiency"),
        "maxlen": info.get("maxlen"),
    }


def worker(spec: dict) -> dict:
    rows = spec["rows"]
    if spec["stage"] == "base":
        train = load_train(spec["data"], rows)
        import kagglekit.keras.data  # noqa: F401 - Keras and its backend, as every stage

        return {"rows": len(train)}
    if spec["stage"] == "tokens":
        train = load_train(spec["data"], rows)
        return {"rows": len(train), **stage_tokens(spec["model"], train, spec["preset"])}
    return stage_fit(spec["model"], spec["data"], rows, spec["preset"])


def slim_preset(preset: Path, layers: int, ffn: int, into: Path) -> Path:
    """A copy of a Hugging Face BERT checkpoint cut to its first ``layers`` layers and the
    first ``ffn`` units of each feed-forward block (the other files copied as they are)."""
    import numpy as np
    from safetensors.numpy import load_file, save_file

    into.mkdir(parents=True, exist_ok=True)
    for f in preset.iterdir():
        if f.is_dir():
            shutil.copytree(f, into / f.name)
        elif f.name not in ("model.safetensors", "config.json"):
            shutil.copy(f, into / f.name)
    config = json.loads((preset / "config.json").read_text())
    if layers > config["num_hidden_layers"] or ffn > config["intermediate_size"]:
        raise SystemExit(f"--slim {layers}:{ffn} is larger than {preset}")
    config.update(num_hidden_layers=layers, intermediate_size=ffn)
    (into / "config.json").write_text(json.dumps(config, indent=2))
    kept = {}
    for name, value in load_file(str(preset / "model.safetensors")).items():
        if name.startswith("encoder.layer."):
            if int(name.split(".")[2]) >= layers:
                continue
            if ".intermediate.dense." in name:  # (ffn, hidden) weight, (ffn,) bias
                value = value[:ffn]
            elif name.endswith(".output.dense.weight") and ".attention." not in name:
                value = value[:, :ffn]  # (hidden, ffn)
        kept[name] = np.ascontiguousarray(value)
    save_file(kept, str(into / "model.safetensors"))
    return into


# -- the driver ----------------------------------------------------------------------------
def run_one(spec: dict) -> dict:
    cache = Path(tempfile.mkdtemp(prefix="kk-neural-cache-"))
    env = {
        **os.environ,
        "KAGGLEKIT_CACHE": str(cache),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
    }
    try:
        m = measure(
            [sys.executable, __file__, "--worker", json.dumps(spec)], cwd=HERE.parent, env=env
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    if m.returncode:
        raise SystemExit(f"worker {spec} failed:\n{m.stderr[-3000:]}")
    out = json.loads(m.stdout.strip().splitlines()[-1])
    return {
        **spec,
        **out,
        "wall_s": round(m.seconds, 2),
        "peak_mb": round(m.peak_mb, 1),
        "load": load_average(),
    }


def table(results: list[dict]) -> str:
    base = {r["rows"]: r["peak_mb"] for r in results if r["stage"] == "base"}
    head = [
        "model",
        "stage",
        "rows",
        "token ids MB",
        "peak MB",
        "above base MB",
        "wall s",
        "tokenize s",
        "batches s",
        "fit s / 100k",
        "epoch s / 100k",
        "predict s / 100k",
        "load",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def f(value, digits=1):
        return "" if value is None else f"{value:.{digits}f}"

    for r in results:
        above = r["peak_mb"] - base[r["rows"]] if r["rows"] in base else None
        per = 1e5 / r["rows"] if r.get("rows") else None
        epoch = r["epoch_s"] * per if "epoch_s" in r else None
        fit = r["fit_s"] * per if "fit_s" in r else None
        predict = r["predict_s"] * 1e5 / r["predict_rows"] if "predict_s" in r else None
        lines.append(
            "| "
            + " | ".join(
                [
                    r.get("model", "") if r["stage"] != "base" else "",
                    r["stage"],
                    str(r["rows"]),
                    f(r.get("token_mb")),
                    f(r["peak_mb"], 0),
                    f(above, 0),
                    f(r["wall_s"]),
                    f(r.get("tokenize_s")),
                    f(r.get("batches_s")),
                    f(fit, 0),
                    f(epoch, 0),
                    f(predict, 0),
                    r["load"],
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", nargs="+", default=["20000", "50000", "100000"])
    ap.add_argument(
        "--models",
        nargs="+",
        default=["bigru", "sentence-encoder"],
        choices=["bigru", "sentence-encoder"],
    )
    ap.add_argument(
        "--stages", nargs="+", default=["base", "tokens", "fit"], choices=["base", "tokens", "fit"]
    )
    ap.add_argument("--data", default=str(DATA), help="the Quora folder (train.csv)")
    ap.add_argument("--preset", default=str(PRESET), help="the sentence encoder's folder")
    ap.add_argument("--slim", metavar="LAYERS:FFN", help="encode with a cut-down --preset")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if args.slim:
        layers, ffn = (int(v) for v in args.slim.split(":"))
        slim = Path(tempfile.mkdtemp(prefix="kk-slim-preset-"))
        try:
            args.preset = str(slim_preset(Path(args.preset), layers, ffn, slim / "preset"))
            return drive(args)
        finally:
            shutil.rmtree(slim, ignore_errors=True)
    return drive(args)


def drive(args) -> int:
    results = []
    for size in args.sizes:
        rows = None if size == "full" else int(size)
        jobs = [("base", None)] if "base" in args.stages else []
        jobs += [
            (stage, model)
            for model in args.models
            for stage in ("tokens", "fit")
            if stage in args.stages
        ]
        for stage, model in jobs:
            spec = {
                "stage": stage,
                "model": model,
                "rows": rows,
                "data": args.data,
                "preset": args.preset,
                "slim": args.slim,
            }
            result = run_one(spec)
            results.append(result)
            print(
                f"  {stage} {model or ''} {result['rows']} rows: {result['wall_s']:.1f}s "
                f"{result['peak_mb']:.0f} MB (load {result['load']})",
                file=sys.stderr,
            )
            if args.json_out:
                args.json_out.write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
