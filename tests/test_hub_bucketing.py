"""Length bucketing: every row exactly once, small padding, stable shapes."""

from __future__ import annotations

import numpy as np
import pytest

from kagglekit.hub.bucketing import (bucket_batches, padded_length, padding_share, round_up,
                                     sequential_batches)


@pytest.fixture
def lengths():
    return np.random.default_rng(0).integers(3, 120, size=1003)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, 32, 2000])
def test_every_row_in_exactly_one_batch(lengths, shuffle, batch_size):
    batches = bucket_batches(lengths, batch_size, shuffle=shuffle, seed=3)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert sum(len(b) == batch_size for b in batches) >= len(lengths) // batch_size - 1 - (
        len(lengths) // (batch_size * 50) if shuffle else 0)


def test_inference_batches_are_sorted_by_length(lengths):
    batches = bucket_batches(lengths, 32)
    ordered = lengths[np.concatenate(batches)]
    assert np.all(np.diff(ordered) >= 0)


def test_training_batches_change_with_seed_and_stay_homogeneous(lengths):
    a = bucket_batches(lengths, 32, shuffle=True, seed=1)
    b = bucket_batches(lengths, 32, shuffle=True, seed=2)
    assert [x.tolist() for x in a] != [x.tolist() for x in b]
    spread = np.mean([np.ptp(lengths[x]) for x in a])
    random_spread = np.mean([np.ptp(lengths[x]) for x in sequential_batches(
        len(lengths), 32, shuffle=True, seed=1)])
    assert spread < random_spread / 3


def test_padded_length_rounds_up_and_caps():
    assert round_up(17, 8) == 24 and round_up(16, 8) == 16 and round_up(5, 1) == 5
    assert padded_length([3, 17, 9], cap=128) == 24
    assert padded_length([3, 127], cap=64) == 64
    assert padded_length([3, 17], cap=128, multiple=1) == 17


def test_bucketing_pads_less(lengths):
    bucketed = padding_share(lengths, bucket_batches(lengths, 32), cap=128)
    fixed = padding_share(lengths, sequential_batches(len(lengths), 32), cap=128, fixed=True)
    assert bucketed < 0.1 < 0.4 < fixed


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        bucket_batches([1, 2], 0)
