"""Shared fixtures: isolated working directory, generated competition files, CLI runner; the
stand-in Kaggle's fixtures come from the ``support.kaggle_fixtures`` plugin.

What tests import rather than request (paths, ``invoke``, ``make_competition_dir``, data
builders) lives in the ``support`` package beside this file; the names below are re-exported
from it for tests that still write ``from conftest import ...``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support import (  # noqa: F401 - re-exported
    REPO,
    SHARED,
    Cli,
    invoke,
    invoke_json,
    make_competition_dir,
    one_line_error,
    run_kagglekit,
    shared_path,
)

pytest_plugins = ["support.kaggle_fixtures"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test runs in its own empty directory with its own cache and no data root."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("KAGGLEKIT_DATA", raising=False)
    monkeypatch.delenv("KAGGLEKIT_LOAD_PLUGINS", raising=False)
    monkeypatch.setenv("KAGGLEKIT_CACHE", str(tmp_path / "cache"))
    import kagglekit.data

    monkeypatch.setattr(kagglekit.data, "KAGGLE_INPUT", tmp_path / "no-kaggle-input")
    return work


@pytest.fixture
def tweets_dir(tmp_path) -> Path:
    return make_competition_dir("disaster-tweets", tmp_path / "data")


@pytest.fixture
def cli() -> Cli:
    return Cli()
