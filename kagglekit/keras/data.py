"""The one data adapter: a ``keras.utils.PyDataset`` (TensorFlow, JAX, torch) over token ids
(a ``Ragged``, bucketed by length) or dense features (a float matrix), and prediction in the
rows' original order. Importing this module imports Keras."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from kagglekit.keras.batching import BatchPlan, distinct_first_widths, pad_to_multiple, plan_batches
from kagglekit.keras.ragged import Ragged


def take(source, index):
    """Rows ``index`` of a Ragged or of a feature matrix."""
    return source.take(index) if isinstance(source, Ragged) else np.asarray(source)[index]


class Batches(keras.utils.PyDataset):
    """Batches of (x, y[, sample_weight]); a new shuffled plan each epoch.

    ``x`` is the padded id matrix (``inputs`` None), a dict of a backbone's ``inputs``
    (token_ids / segment_ids / padding_mask), or the rows of a dense matrix.
    ``pad_rows_to`` repeats a batch's first row until its size is a multiple of it (several
    devices need equal shards); ``drop_remainder`` drops the last partial batch instead.
    """

    def __init__(
        self,
        source,
        y=None,
        sample_weight=None,
        *,
        batch_size: int,
        maxlen: int = 0,
        shuffle: bool = False,
        bucket: bool = True,
        seed: int = 0,
        multiple: int = 8,
        pad_rows_to: int = 1,
        drop_remainder: bool = False,
        pow2: bool = False,
        inputs=None,
    ):
        super().__init__()
        self.source = source
        self.ragged = isinstance(source, Ragged)
        self.inputs = None if inputs is None else list(inputs)
        self.y = None if y is None else np.asarray(y, dtype=np.float32)
        self.sample_weight = (
            None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
        )
        if self.ragged:
            self.lengths = np.minimum(source.lengths, maxlen) if maxlen else source.lengths
        else:
            self.source = np.asarray(source, dtype=np.float32)
            self.lengths = np.zeros(len(self.source), dtype=np.int64)
            bucket, maxlen = False, 0
        self.options: dict[str, Any] = dict(
            batch_size=batch_size,
            maxlen=maxlen,
            shuffle=shuffle,
            bucket=bucket,
            multiple=multiple,
            drop_remainder=drop_remainder,
            pow2=pow2,
        )
        self.seed = seed
        self.pad_rows_to = pad_rows_to
        self.epoch = 0
        self._plan()

    def _plan(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        self.plan = plan_batches(self.lengths, rng=rng, **self.options)

    def padding_efficiency(self) -> float | None:
        """Real tokens / padded tokens fed per epoch (None for dense features)."""
        if not self.ragged:
            return None
        used = np.concatenate(self.plan.batches) if self.plan.batches else np.zeros(0, int)
        return round(float(self.lengths[used].sum()) / max(1, self.plan.padded_tokens()), 4)

    def features(self, index, width):
        if not self.ragged:
            return self.source[index]
        if self.inputs is None:
            return self.source.pad(index, length=width)
        arrays = self.source.inputs(index, width)
        return {name: arrays[name] for name in self.inputs}

    def __len__(self):
        return len(self.plan.batches)

    def __getitem__(self, i):
        index = pad_to_multiple(self.plan.batches[i], self.pad_rows_to)
        x = self.features(index, self.plan.widths[i])
        if self.y is None:
            return (x,)
        if self.sample_weight is None:
            return x, self.y[index]
        return x, self.y[index], self.sample_weight[index]

    def on_epoch_end(self):
        if self.options["shuffle"]:
            self.epoch += 1
            self._plan()


def predict_batches(
    model,
    source,
    *,
    batch_size: int,
    maxlen: int = 0,
    bucket: bool = True,
    multiple: int = 8,
    pad_rows_to: int = 1,
    pow2: bool = False,
    inputs=None,
    chunk_rows: int = 0,
) -> np.ndarray:
    """Model outputs for every row of ``source`` in its original order (batches sorted by
    length when bucketing). ``chunk_rows`` (wide outputs: a frozen encoder's vectors) runs
    ``model.predict`` on about that many rows' batches at a time, each chunk's outputs put
    in place at once: the same batches, never Keras' list of every output beside their
    concatenation and the reordered copy (three times rows x width)."""
    n_out = int(model.outputs[0].shape[-1])
    out = np.zeros((len(source), n_out), dtype=np.float32)
    if len(source) == 0:
        return out
    data = Batches(
        source,
        batch_size=batch_size,
        maxlen=maxlen,
        shuffle=False,
        bucket=bucket,
        multiple=multiple,
        pad_rows_to=pad_rows_to,
        pow2=pow2,
        inputs=inputs,
    )
    plan = data.plan
    step = max(1, -(-int(chunk_rows) // batch_size)) if chunk_rows else len(plan.batches)
    from kagglekit import deadline

    checks = []
    if deadline.remaining() is not None:  # under `kagglekit auto`'s first-fold limit
        from kagglekit.keras.training import DeadlineCheck

        checks.append(DeadlineCheck())
    for start in range(0, len(plan.batches), step):
        batches, widths = plan.batches[start : start + step], plan.widths[start : start + step]
        distinct_first_widths(batches, widths)
        data.plan = BatchPlan(batches, widths)
        extra = {"callbacks": checks} if checks else {}  # outside a deadline: predict as ever
        pred = np.asarray(model.predict(data, verbose=0, **extra), dtype=np.float32)
        rows = np.concatenate([pad_to_multiple(b, pad_rows_to) for b in batches])
        out[rows] = pred.reshape(len(rows), n_out)  # a repeated row gets its own value
    return out
