"""The one batching module (kagglekit.keras.batching): batch plans are partitions, similar
lengths together, few shapes; the one ragged container."""

from __future__ import annotations

import numpy as np
import pytest

from kagglekit.keras.batching import pad_to_multiple, padded_width, plan_batches
from kagglekit.keras.ragged import Ragged


def lengths(n=1000, seed=0):
    return np.random.default_rng(seed).integers(0, 120, n)


@pytest.mark.parametrize(
    "bucket,shuffle", [(True, True), (True, False), (False, True), (False, False)]
)
def test_every_row_exactly_once(bucket, shuffle):
    lens = np.minimum(lengths(), 100)
    plan = plan_batches(
        lens, 32, maxlen=100, shuffle=shuffle, bucket=bucket, rng=np.random.default_rng(1)
    )
    order = plan.order
    assert sorted(order.tolist()) == list(range(len(lens)))
    sizes = sorted((len(b) for b in plan.batches), reverse=True)
    assert sizes == [32] * 31 + [1000 - 31 * 32]
    for b, w in zip(plan.batches, plan.widths):
        assert lens[b].max() <= w <= 100
        assert w >= 1


def test_widths_are_multiples_and_fit_the_longest_row():
    lens = np.minimum(lengths(), 100)
    plan = plan_batches(
        lens, 16, maxlen=100, shuffle=True, rng=np.random.default_rng(0), multiple=8
    )
    for b, w in zip(plan.batches, plan.widths):
        assert w == 100 or w % 8 == 0
        assert w - lens[b].max() < 8


def test_bucketing_pads_far_less_than_fixed_length():
    lens = np.minimum(lengths(2000), 100)
    kw = dict(maxlen=100, shuffle=True, rng=np.random.default_rng(0))
    bucketed = plan_batches(lens, 32, bucket=True, **kw).padded_tokens()
    fixed = plan_batches(lens, 32, bucket=False, **kw).padded_tokens()
    assert fixed == len(lens) * 100
    assert bucketed < 0.65 * fixed
    assert bucketed >= lens.sum()


def test_prediction_plan_is_sorted_by_length():
    lens = np.minimum(lengths(), 100)
    plan = plan_batches(lens, 50, maxlen=100, shuffle=False, bucket=True)
    all_lens = [lens[b] for b in plan.batches]
    assert all(np.all(np.diff(b) >= 0) for b in all_lens)


def test_shuffled_plans_differ_by_seed_but_repeat_with_the_same_seed():
    lens = lengths()
    a = plan_batches(lens, 32, maxlen=128, shuffle=True, rng=np.random.default_rng(5)).order
    b = plan_batches(lens, 32, maxlen=128, shuffle=True, rng=np.random.default_rng(5)).order
    c = plan_batches(lens, 32, maxlen=128, shuffle=True, rng=np.random.default_rng(6)).order
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_first_two_batches_have_different_widths_when_possible():
    # Keras infers a PyDataset's spec from its first two batches
    lens = np.array([5] * 64 + [40] * 32)
    plan = plan_batches(lens, 32, maxlen=64, shuffle=False, bucket=True)
    assert plan.widths[0] != plan.widths[1]
    same = plan_batches(np.full(96, 7), 32, maxlen=64, shuffle=False)
    assert len(set(same.widths)) == 1


def test_drop_remainder_and_pad_to_multiple():
    plan = plan_batches(np.full(70, 3), 32, maxlen=10, shuffle=False, drop_remainder=True)
    assert [len(b) for b in plan.batches] == [32, 32]
    padded = pad_to_multiple(np.array([4, 5, 6]), 4)
    assert padded.tolist() == [4, 5, 6, 4]
    assert pad_to_multiple(np.array([1, 2]), 2).tolist() == [1, 2]


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        plan_batches(np.ones(3), 0, maxlen=4, shuffle=False)


def test_pow2_widths_are_few():
    lens = np.minimum(lengths(3000), 100)
    kw = dict(maxlen=100, shuffle=True, rng=np.random.default_rng(0), multiple=8)
    pow2 = plan_batches(lens, 32, pow2=True, **kw)
    assert set(pow2.widths) <= {8, 16, 32, 64, 100}
    assert len(set(plan_batches(lens, 32, **kw).widths)) > len(set(pow2.widths))
    for b, w in zip(pow2.batches, pow2.widths):
        assert lens[b].max() <= w


# -- formerly the transformer stack's own bucketing (tests/test_hub_bucketing.py) --------------
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, 32, 2000])
def test_every_row_in_exactly_one_batch_at_any_batch_size(shuffle, batch_size):
    lens = np.random.default_rng(0).integers(3, 120, size=1003)
    batches = plan_batches(
        lens, batch_size, maxlen=128, shuffle=shuffle, rng=np.random.default_rng(3)
    ).batches
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(lens)))
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert sum(len(b) == batch_size for b in batches) >= len(lens) // batch_size - 1 - (
        len(lens) // (batch_size * 50) if shuffle else 0
    )


def test_inference_batches_are_sorted_by_length():
    lens = np.random.default_rng(0).integers(3, 120, size=1003)
    plan = plan_batches(lens, 32, maxlen=128, shuffle=False)
    ordered = lens[plan.order]
    assert np.all(np.diff(ordered) >= 0)


def test_training_batches_change_with_seed_and_stay_homogeneous():
    lens = np.random.default_rng(0).integers(3, 120, size=1003)
    a = plan_batches(lens, 32, maxlen=128, shuffle=True, rng=np.random.default_rng(1)).batches
    b = plan_batches(lens, 32, maxlen=128, shuffle=True, rng=np.random.default_rng(2)).batches
    assert [x.tolist() for x in a] != [x.tolist() for x in b]
    spread = np.mean([np.ptp(lens[x]) for x in a])
    random_spread = np.mean(
        [
            np.ptp(lens[x])
            for x in plan_batches(
                lens, 32, maxlen=128, shuffle=True, bucket=False, rng=np.random.default_rng(1)
            ).batches
        ]
    )
    assert spread < random_spread / 3


def test_padded_width_rounds_up_and_caps():
    assert padded_width(17, 8) == 24 and padded_width(16, 8) == 16 and padded_width(5, 1) == 5
    assert padded_width(17, 8, maxlen=128) == 24
    assert padded_width(127, 8, maxlen=64) == 64
    assert padded_width(17, 1, maxlen=128) == 17


def test_bucketing_pads_less_at_inference():
    lens = np.random.default_rng(0).integers(3, 120, size=1003)
    bucketed = plan_batches(lens, 32, maxlen=128, shuffle=False)
    fixed = plan_batches(lens, 32, maxlen=128, shuffle=False, bucket=False)
    share = [1 - lens.sum() / plan.padded_tokens() for plan in (bucketed, fixed)]
    assert share[0] < 0.1 < 0.4 < share[1]


# -- the one ragged container: word ids and subword ids with segment ids ---------------------
def test_ragged_inputs_for_a_backbone():
    r = Ragged.from_lengths([5, 6, 7, 8, 9, 10], [2, 0, 4], type_ids=[0, 0, 0, 0, 1, 1], pad_id=3)
    arrays = r.inputs([2, 0, 1], 3)
    assert arrays["token_ids"].tolist() == [[7, 8, 9], [5, 6, 3], [3, 3, 3]]
    assert arrays["segment_ids"].tolist() == [[0, 0, 1], [0, 0, 0], [0, 0, 0]]
    assert arrays["padding_mask"].tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    cut = r.truncate(3, "pre").take([2, 0])
    assert cut.ids.tolist() == [8, 9, 10, 5, 6] and cut.type_ids.tolist() == [0, 1, 1, 0, 0]
    assert cut.pad_id == 3 and cut.pad(length=4).tolist() == [[8, 9, 10, 3], [5, 6, 3, 3]]


def test_a_batch_reads_only_its_own_rows_lengths():
    r = Ragged.from_lengths(np.arange(10), [3, 0, 2, 5])
    assert r.row_lengths([3, 1, 0]).tolist() == [5, 0, 3] == r.lengths[[3, 1, 0]].tolist()
    seen = []

    class Offsets(np.ndarray):  # records every slice of the offsets a batch takes
        def __getitem__(self, key):
            seen.append(len(np.arange(len(self))[key]) if not np.isscalar(key) else 1)
            return super().__getitem__(key)

    r.offsets = r.offsets.view(Offsets)
    assert r.pad([3, 0], 4).tolist() == [[5, 6, 7, 8], [0, 1, 2, 0]]
    assert r.inputs([2], 3)["token_ids"].tolist() == [[3, 4, 0]]
    assert max(seen) <= 2  # never a pass over every row's offsets (O(rows) per batch)


def test_taking_and_truncating_in_blocks_of_rows_changes_nothing(monkeypatch):
    import kagglekit.keras.ragged as ragged

    rng = np.random.default_rng(3)
    lengths = rng.integers(0, 12, 50)
    r = Ragged.from_lengths(
        rng.integers(0, 99, lengths.sum()),
        lengths,
        type_ids=rng.integers(0, 2, lengths.sum()),
        pad_id=5,
    )
    index = rng.permutation(50)[:31]
    whole = [r.take(index), r.truncate(4, "pre"), r.truncate(6), r.take([])]
    monkeypatch.setattr(ragged, "GATHER_ROWS", 3)
    for a, b in zip(whole, [r.take(index), r.truncate(4, "pre"), r.truncate(6), r.take([])]):
        assert np.array_equal(a.ids, b.ids) and np.array_equal(a.offsets, b.offsets)
        assert np.array_equal(a.type_ids, b.type_ids) and a.pad_id == b.pad_id == 5
    assert [r.take(index).row(i).tolist() for i in (0, 30)] == [
        r.row(index[0]).tolist(),
        r.row(index[30]).tolist(),
    ]
