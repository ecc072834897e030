"""The study storage under concurrent workers: an enqueued trial (the defaults, a trial
queued again after Ctrl-C or a dead worker) is popped by exactly one of them, also on
SQLite, which ignores the row lock Optuna asks for (optuna/optuna#4621)."""

from __future__ import annotations

import threading
import time

import pytest

optuna = pytest.importorskip("optuna")

from kagglekit.tune.study import open_storage  # noqa: E402


def slow_reads(engine, seconds: float) -> None:
    """Widen the window between reading a trial's state and writing it: every SELECT of a
    trial row waits a little after it ran (as a loaded machine or a network file system
    does)."""
    from sqlalchemy import event

    @event.listens_for(engine, "after_cursor_execute")
    def _wait(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "trials.state" in statement:
            time.sleep(seconds)


def test_each_enqueued_trial_is_popped_by_one_worker(tmp_path):
    n_workers = 4
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    for x in range(3):
        study.enqueue_trial({"x": float(x)})
    popped: list[int | None] = []
    start = threading.Barrier(n_workers)

    def worker():
        storage = open_storage(url)
        slow_reads(storage.engine, 0.05)
        mine = optuna.load_study(study_name="s", storage=storage)
        start.wait()
        popped.append(mine._pop_waiting_trial_id())

    threads = [threading.Thread(target=worker) for _ in range(n_workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = [p for p in popped if p is not None]
    assert len(got) == len(set(got)) == 3  # the 3 queued trials, each popped once
    assert popped.count(None) == n_workers - 3
    states = [t.state.name for t in study.get_trials()]
    assert states == ["RUNNING"] * 3


def test_an_in_memory_study_keeps_its_tables():
    """``--storage sqlite://``: one process's database, which closing its connection would
    drop; it is left as Optuna opens it."""
    storage = open_storage("sqlite://")
    study = optuna.create_study(study_name="m", storage=storage)
    study.enqueue_trial({"x": 0.5})  # (a trial's heartbeat thread would see another db)
    (trial,) = optuna.load_study(study_name="m", storage=storage).trials
    assert trial.state.name == "WAITING" and trial.system_attrs["fixed_params"] == {"x": 0.5}
