"""Small runs to track: a tiny Keras model trained through kagglekit's own loop
(``fit_epochs`` under a ``Monitor``: per-epoch history, the live ``EpochLog``), a CV run of
it on a generated sample, and a reader of W&B's offline ``.wandb`` files."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from support import make_competition_dir


class TinyKeras:
    """A logistic regression on 3 text features, trained by ``training.fit_epochs``."""

    @dataclass
    class Params:
        epochs: int = 3

    def __init__(self, params=None, *, seed=0):
        self.params, self.seed = params or self.Params(), seed

    @staticmethod
    def features(frame) -> np.ndarray:
        texts = list(frame.text)
        return np.array(
            [[len(t) / 100, t.count(" ") / 20, t.count("!")] for t in texts], dtype="float32"
        )

    def fit(self, train, valid=None):
        import keras

        from kagglekit.keras import training
        from kagglekit.keras.data import Batches

        keras.utils.set_random_seed(self.seed)
        self.model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")])
        self.model.compile(optimizer=training.make_optimizer(0.05, 10), loss="binary_crossentropy")
        x, y = self.features(train), np.asarray(train.y, "float32").reshape(-1, 1)

        def evaluate():
            return float(-np.mean((self.model.predict(x, verbose=0) - y) ** 2))

        monitor = training.Monitor(evaluate, name="neg_mse", patience=5)
        self.fit_info_ = training.fit_epochs(
            self.model, Batches(x, y, batch_size=64), epochs=self.params.epochs, monitor=monitor
        )
        return self

    def predict(self, frame):
        return self.model.predict(self.features(frame), verbose=0).astype("float64")

    def save(self, directory):
        Path(directory).mkdir(parents=True)
        (Path(directory) / "tiny.json").write_text(json.dumps({"seed": self.seed}))

    @classmethod
    def load(cls, directory):  # pragma: no cover - not used
        return cls(seed=json.loads((Path(directory) / "tiny.json").read_text())["seed"])


def tweets(tmp_path):
    from kagglekit import plugins
    from kagglekit.data import DataOptions, load_dataset

    comp = plugins.get_competition("disaster-tweets")
    directory = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=120, n_test=30)
    return comp, load_dataset(comp, DataOptions(data_dir=str(directory)))


def tracked_cv(tracking, comp, data, runs_dir, *, model="tfidf-nb", cls=None, folds=2, seeds=None):
    """``run_cv`` of ``model`` (a registered one, or ``cls``) inside a tracked run."""
    from kagglekit import plugins
    from kagglekit.cv import run_cv

    cls = cls or plugins.get_model(model)
    with tracking.run(comp.slug, model, seeds=seeds) as t:
        run = run_cv(
            comp,
            model,
            cls,
            cls.Params(),
            data,
            n_folds=folds,
            seed=3,
            runs_dir=runs_dir,
            on_event=t.watch(None),
            seeds=seeds,
        )
        t.log_run(run, data)
    return run


def wandb_records(path: Path):
    """The records of a W&B ``.wandb`` file (LevelDB-log framed protobuf ``Record``s)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B"
    pos, block, buf = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, n, kind = struct.unpack("<IHB", data[pos : pos + 7])
        pos += 7
        if n == 0 and kind == 0:
            break
        buf += data[pos : pos + n]
        pos += n
        if kind in (1, 4):  # a full record, or the last piece of one
            record = pb.Record()
            record.ParseFromString(buf)
            buf = b""
            yield record


def wandb_offline_run(wandb_dir: Path, wait: float = 60.0) -> dict:
    """What W&B wrote for the one offline run under ``wandb_dir``: config, summary, history
    rows, artifacts (name -> file paths), tags, name. W&B's service process may still be
    writing the file when ``run.finish()`` returns: read it until its exit record is there
    (at most ``wait`` seconds)."""
    import time

    deadline = time.monotonic() + wait
    while True:
        out = _read_offline_run(wandb_dir)
        if out["exited"] or time.monotonic() > deadline:
            return out
        time.sleep(0.25)


def _read_offline_run(wandb_dir: Path) -> dict:
    files = sorted(Path(wandb_dir).glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1, files
    out = {
        "config": {},
        "summary": {},
        "history": [],
        "artifacts": {},
        "tags": [],
        "name": None,
        "dir": files[0].parent,
        "exited": False,
    }

    def key(item):
        return "/".join(item.nested_key) if item.nested_key else item.key

    for record in wandb_records(files[0]):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["name"] = record.run.display_name
            out["tags"] = list(record.run.tags)
            for item in record.run.config.update:
                out["config"][key(item)] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                out["config"][key(item)] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                out["summary"][key(item)] = json.loads(item.value_json)
        elif kind == "history":
            out["history"].append({key(i): json.loads(i.value_json) for i in record.history.item})
        elif kind == "artifact":
            out["artifacts"][record.artifact.name] = sorted(
                c.path for c in record.artifact.manifest.contents
            )
        elif kind == "exit":
            out["exited"] = True
    return out
