"""`kagglekit predict` as a user meets it: --json keeps the rows (a file whose path the
JSON names), progress counts what it says (one task, rows x models, a blend's members
included), and every option has help."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from conftest import make_competition_dir


def test_predict_json_without_output_writes_the_rows_to_a_file_and_names_it(cli, tmp_path):
    data = make_competition_dir("quora", tmp_path / "data", n_train=200, n_test=40)
    run = cli.json("cv", "quora", "-m", "tfidf-nb", "--folds", "2", "--data-dir", data)
    result = cli("predict", run["run_id"], "--input", data / "test.csv", "--json")
    payload = json.loads(result.stdout)  # stdout is the JSON object only
    expected = Path("predictions") / run["competition"] / f"{run['run_id']}-test.csv"
    assert payload["path"] == str(expected.resolve()) and payload["rows"] == 40
    assert payload["run_dir"] == run["run_dir"] and payload["competition"] == run["competition"]
    written = pd.read_csv(expected, dtype={"qid": str})
    assert list(written.columns) == ["qid", "prediction", "prediction_label"]
    assert written["qid"].tolist() == pd.read_csv(data / "test.csv", dtype=str)["qid"].tolist()
    assert f"Wrote 40 predictions to {expected}" in result.stderr
    # the same rows as without --json (stdout), and --output still wins
    plain = cli("predict", run["run_id"], "--input", data / "test.csv").stdout
    assert expected.read_text() == plain
    chosen = tmp_path / "mine.csv"
    payload = cli.json("predict", run["run_id"], "--input", data / "test.csv", "--output", chosen)
    assert payload["path"] == str(chosen.resolve()) and chosen.read_text() == plain


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Predicting")]


def test_progress_counts_rows_times_models_once_for_a_blend(cli, tmp_path, monkeypatch):
    import kagglekit.predict

    monkeypatch.setattr(kagglekit.predict, "PROGRESS_AFTER_SECONDS", 0.0)  # lines at once
    data = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=200, n_test=40)
    pd.read_csv(data / "test.csv").head(4).to_csv(tmp_path / "four.csv", index=False)
    a = cli.json("cv", "disaster-tweets", "-m", "tfidf-nb", "--folds", "3", "--data-dir", data)
    b = cli.json("cv", "disaster-tweets", "-m", "tfidf-lr", "--folds", "3", "--data-dir", data)

    lines = progress_lines(cli("predict", a["run_id"], "--input", tmp_path / "four.csv").stderr)
    assert {line.split(":")[0] for line in lines} == {"Predicting 4 rows with each of 3 models"}
    assert re.match(r"Predicting 4 rows with each of 3 models: 12/12 row predictions \(",
                    lines[-1])

    blend = cli.json("blend", a["run_id"], b["run_id"], "--method", "mean")
    lines = progress_lines(cli("predict", blend["run_id"], "--input",
                               tmp_path / "four.csv").stderr)
    # one task for the whole blend: both members' 3 fold models, each on the 4 rows
    title = f"Predicting 4 rows with each of 6 models (blend {blend['run_id']})"
    assert {line.split(": ")[0] for line in lines} == {title}
    assert lines[-1].startswith(f"{title}: 24/24 row predictions (")
    counts = [int(re.search(r": (\d+)/24 ", line).group(1)) for line in lines]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)


def test_every_predict_option_has_help(cli):
    import click

    from kagglekit.cli import cli as group

    command = group.get_command(click.Context(group), "predict")
    options = {p.opts[0]: p.help for p in command.params if isinstance(p, click.Option)}
    assert {"--input", "--output", "--encoding", "--allow-empty-text", "--runs-dir",
            "--json"} <= set(options)
    assert [name for name, help_text in options.items() if not help_text] == []
    text = " ".join(cli("predict", "--help").stdout.split())
    assert "Encoding of the input CSV" in text and "empty or NaN" in text
    assert "predictions/<slug>/<run-id>-<input" in text
