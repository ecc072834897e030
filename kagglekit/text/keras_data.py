"""A ``keras.utils.PyDataset`` over a Ragged batch, bucketed by length (TF, JAX, torch)."""

from __future__ import annotations

import numpy as np
import keras

from kagglekit.text.bucketing import pad_to_multiple, plan_batches
from kagglekit.text.tokenizer import Ragged


class BucketedSequence(keras.utils.PyDataset):
    """Batches of (ids, y[, sample_weight]) padded per batch; a new shuffled plan each epoch.

    ``pad_rows_to`` repeats a batch's first row until its size is a multiple of it (several
    devices need equal shards); ``drop_remainder`` drops the last partial batch instead.
    """

    def __init__(self, ragged: Ragged, y=None, sample_weight=None, *, batch_size: int,
                 maxlen: int, shuffle: bool, bucket: bool = True, seed: int = 0,
                 multiple: int = 8, pad_rows_to: int = 1, drop_remainder: bool = False,
                 pow2: bool = False):
        super().__init__()
        self.ragged = ragged
        self.y = None if y is None else np.asarray(y, dtype=np.float32)
        self.sample_weight = None if sample_weight is None else \
            np.asarray(sample_weight, dtype=np.float32)
        self.options = dict(batch_size=batch_size, maxlen=maxlen, shuffle=shuffle,
                            bucket=bucket, multiple=multiple, drop_remainder=drop_remainder,
                            pow2=pow2)
        self.seed = seed
        self.pad_rows_to = pad_rows_to
        self.epoch = 0
        self.lengths = np.minimum(ragged.lengths, maxlen)
        self._plan()

    def _plan(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        self.plan = plan_batches(self.lengths, rng=rng, **self.options)

    def __len__(self):
        return len(self.plan.batches)

    def __getitem__(self, i):
        index = pad_to_multiple(self.plan.batches[i], self.pad_rows_to)
        x = self.ragged.pad(index, length=self.plan.widths[i], padding="post")
        if self.y is None:
            return (x,)
        if self.sample_weight is None:
            return x, self.y[index]
        return x, self.y[index], self.sample_weight[index]

    def on_epoch_end(self):
        if self.options["shuffle"]:
            self.epoch += 1
            self._plan()


def predict_ragged(model, ragged: Ragged, *, batch_size: int, maxlen: int, bucket: bool = True,
                   multiple: int = 8, pad_rows_to: int = 1, pow2: bool = False) -> np.ndarray:
    """Predictions for every row of ``ragged`` in its original order (batches sorted by length)."""
    n_out = int(model.outputs[0].shape[-1])
    if len(ragged) == 0:
        return np.zeros((0, n_out), dtype=np.float32)
    data = BucketedSequence(ragged, batch_size=batch_size, maxlen=maxlen, shuffle=False,
                            bucket=bucket, multiple=multiple, pad_rows_to=pad_rows_to, pow2=pow2)
    pred = np.asarray(model.predict(data, verbose=0), dtype=np.float32)
    rows = np.concatenate([pad_to_multiple(b, pad_rows_to) for b in data.plan.batches])
    out = np.zeros((len(ragged), n_out), dtype=np.float32)
    out[rows] = pred  # a repeated row gets its own (identical) prediction
    return out
