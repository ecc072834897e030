"""The one training loop (kagglekit.keras.training): schedules, the monitor, early stopping
with the best weights put back, plateau and replayed learning rates, progress lines."""

from __future__ import annotations

import io

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kagglekit.keras import training  # noqa: E402
from kagglekit.keras.data import Batches  # noqa: E402


def test_warmup_then_linear_decay():
    schedule = training.WarmupLinearDecay(1.0, warmup_steps=10, total_steps=110)
    lr = [float(schedule(s)) for s in (0, 4, 9, 10, 60, 110, 200)]
    np.testing.assert_allclose(lr, [0.1, 0.5, 1.0, 1.0, 0.5, 0.0, 0.0], atol=1e-6)
    again = training.WarmupLinearDecay(**schedule.get_config())
    assert float(again(60)) == pytest.approx(0.5)


def _run(scores, *, epochs, patience=2, greater=True, schedule="constant", replay=None, lr=0.0):
    """A one-weight model whose kernel is set to the epoch number before the monitor
    scores it (learning rate 0: training itself changes nothing)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=training.make_optimizer(lr, 10, schedule=schedule), loss="mse")
    seen = []

    class SetKernel(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            model.layers[0].kernel.assign([[float(epoch + 1)]])

    values = iter(scores)

    def evaluate():
        seen.append(float(np.asarray(model.layers[0].kernel)[0, 0]))
        return next(values)

    monitor = training.Monitor(
        evaluate,
        name="auc",
        greater_is_better=greater,
        patience=patience,
        schedule=schedule,
        learning_rate=lr or 1.0,
        lr_decay=0.5,
        replay=replay,
    )
    data = Batches(np.ones((4, 1), np.float32), np.zeros((4, 1), np.float32), batch_size=2)
    with_kernel = [SetKernel()]
    model.fit(data, epochs=epochs, callbacks=[*with_kernel, monitor], verbose=0)
    return model, monitor.summary(), seen


def test_early_stopping_restores_the_best_epoch():
    model, log, seen = _run([0.6, 0.8, 0.7, 0.65, 0.9], epochs=5)
    assert [e["epoch"] for e in log["history"]] == [1, 2, 3, 4]  # stopped after 2 worse epochs
    assert seen == [1.0, 2.0, 3.0, 4.0]  # scored after each epoch's weights were in place
    assert log["best_epoch"] == 2 and log["best_inner_auc"] == 0.8
    assert log["stopped_early"] is True and log["epochs_run"] == 4 and log["monitor"] == "auc"
    assert [e["auc"] for e in log["history"]] == [0.6, 0.8, 0.7, 0.65]
    assert float(np.asarray(model.layers[0].kernel)[0, 0]) == 2.0  # epoch 2's weights back
    _, lower, _ = _run([3.0, 2.0, 1.0], epochs=3, greater=False, patience=1)
    assert lower["best_epoch"] == 3 and lower["stopped_early"] is False


def test_plateau_halves_the_rate_after_an_epoch_without_improvement():
    _, log, _ = _run([0.6, 0.5, 0.7, 0.65], epochs=4, patience=5, schedule="plateau", lr=0.01)
    assert [e["lr"] for e in log["history"]] == [0.01, 0.01, 0.005, 0.005]
    assert log["best_epoch"] == 3 and log["stopped_early"] is False


def test_replayed_rates_are_used_epoch_by_epoch():
    _, log, _ = _run(
        [0.6, 0.5, 0.4],
        epochs=3,
        patience=5,
        schedule="plateau",
        lr=0.01,
        replay=[0.02, 0.004, 0.001],
    )
    assert [e["lr"] for e in log["history"]] == [0.02, 0.004, 0.001]


def test_exponential_schedule_and_no_monitor():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=training.make_optimizer(0.1, 10), loss="mse")
    monitor = training.Monitor(None, schedule="exponential", learning_rate=0.1, lr_decay=0.5)
    data = Batches(np.ones((4, 1), np.float32), np.zeros((4, 1), np.float32), batch_size=2)
    log = training.fit_epochs(model, data, epochs=3, monitor=monitor)
    assert [e["lr"] for e in log["history"]] == [0.1, 0.05, 0.025]
    assert log["best_epoch"] == 3 and log["monitor"] is None and not log["stopped_early"]


def test_progress_is_one_line_per_epoch_unless_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert training.keras_verbose(1, io.StringIO()) == 2
    assert training.keras_verbose(1, Tty()) == 1
    assert training.keras_verbose(2, Tty()) == 2 and training.keras_verbose(0, Tty()) == 0


def test_fit_progress_in_a_log_file_has_no_carriage_returns(capfd):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=training.make_optimizer(0.1, 10), loss="mse")
    data = Batches(np.ones((8, 1), np.float32), np.zeros((8, 1), np.float32), batch_size=2)
    training.fit_epochs(model, data, epochs=3, monitor=training.Monitor(None), verbose=1)
    out, err = capfd.readouterr()
    assert out == ""  # progress goes to stderr
    assert "\r" not in err and "\x1b[" not in err
    lines = [line for line in err.splitlines() if "loss:" in line]
    assert len(lines) == 3 and all(line.startswith("4/4") for line in lines)
