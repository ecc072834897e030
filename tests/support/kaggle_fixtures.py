"""Fixtures for the Kaggle tests: a stand-in Kaggle on loopback with the real client pointed
at it, an isolated home, working directory and Kaggle config, and no internet.

tests/conftest.py registers them for every test (``pytest_plugins``); the server and the
helper functions are in support/fake_kaggle.py.
"""

from __future__ import annotations

import errno
import os
import socket

import pytest

from support.fake_kaggle import KEY, USERNAME, FakeKaggle, LoopbackServer, point_client_at

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture
def loopback_only(monkeypatch):
    """Refuse any TCP connection that is not to loopback: no test reaches the internet."""
    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"tests may not connect to {address[0]}"
            )
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def kaggle_home(tmp_path, monkeypatch):
    """An empty home and Kaggle config dir, no Kaggle variables; returns the config dir."""
    home = tmp_path / "home"
    config = home / ".kaggle"
    config.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config))
    for name in list(os.environ):
        if name.startswith("KAGGLE_") and name != "KAGGLE_CONFIG_DIR":
            monkeypatch.delenv(name)
    for name in (
        "XDG_CONFIG_HOME",
        "VERBOSE",
        "VERBOSE_OUTPUT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    return config


@pytest.fixture
def isolated_kaggle(tmp_path, monkeypatch, kaggle_home):
    """Own working dir, no data root, no /kaggle/input or /kaggle/working, no polling delay."""
    import kagglekit.data
    import kagglekit.kaggle_client.session
    import kagglekit.kaggle_client.submit
    from kagglekit import kaggle_client

    work = tmp_path / "work"
    work.mkdir(exist_ok=True)  # tests/conftest.py's autouse fixture may have made it
    monkeypatch.chdir(work)
    monkeypatch.delenv("KAGGLEKIT_DATA", raising=False)
    monkeypatch.delenv("KAGGLEKIT_LOAD_PLUGINS", raising=False)
    monkeypatch.setattr(kagglekit.data, "KAGGLE_INPUT", tmp_path / "no-kaggle-input")
    monkeypatch.setattr(kaggle_client.submit, "KAGGLE_WORKING", tmp_path / "no-kaggle-working")
    monkeypatch.setattr(kaggle_client.submit, "POLL_SECONDS", 0.0)
    return work


@pytest.fixture
def kaggle_server(monkeypatch, loopback_only, isolated_kaggle):
    """The stand-in Kaggle on loopback, the client pointed at it, KAGGLE_USERNAME/KEY set."""
    state = FakeKaggle()
    with LoopbackServer(state):
        point_client_at(monkeypatch, state.url)
        monkeypatch.setenv("KAGGLE_USERNAME", USERNAME)
        monkeypatch.setenv("KAGGLE_KEY", KEY)
        yield state
