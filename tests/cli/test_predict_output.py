"""`kagglekit predict` as a user meets it: --json keeps the rows (a file whose path the
JSON names), progress counts what it says (one task, rows x models, a blend's members
included), and every option has help."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from support import make_competition_dir


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
    assert re.match(r"Predicting 4 rows with each of 3 models: 12/12 row predictions \(", lines[-1])

    blend = cli.json("blend", a["run_id"], b["run_id"], "--method", "mean")
    lines = progress_lines(cli("predict", blend["run_id"], "--input", tmp_path / "four.csv").stderr)
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
    assert {
        "--input",
        "--output",
        "--encoding",
        "--allow-empty-text",
        "--runs-dir",
        "--json",
    } <= set(options)
    assert [name for name, help_text in options.items() if not help_text] == []
    text = " ".join(cli("predict", "--help").stdout.split())
    assert "Encoding of the input CSV" in text and "empty or NaN" in text
    assert "predictions/<slug>/<run-id>-<input" in text


def _run_test_predictions(run: dict) -> pd.DataFrame:
    return pd.read_csv(Path(run["run_dir"]) / "test_predictions.csv", dtype={"id": str})


def test_predict_reads_an_input_as_the_competitions_own_files_are(cli, tmp_path):
    """IMDb's testData.tsv is tab-separated with backslash-escaped quotes (read_options) and
    aclImdb's test split is a folder (its load hook): predicting either gives the run's own
    test predictions; another TSV of the competition is read with its read options too."""
    data = make_competition_dir("imdb", tmp_path / "data", n_train=200, n_test=40)
    run = cli.json("cv", "imdb", "-m", "tfidf-nb", "--folds", "2", "--data-dir", data)
    out = tmp_path / "tsv.csv"
    cli("predict", run["run_id"], "--input", data / "testData.tsv", "--output", out)
    got = pd.read_csv(out, dtype={"id": str})
    own = _run_test_predictions(run)
    assert list(got.columns)[:2] == ["id", "sentiment"] and len(got) == 40
    assert got["id"].tolist() == own["id"].tolist() and '"' not in "".join(got["id"])
    assert np.allclose(got["sentiment"], own["sentiment"], rtol=1e-6)
    # a TSV of the same layout under another name: the competition's read options as well
    (tmp_path / "new_reviews.tsv").write_bytes((data / "testData.tsv").read_bytes())
    again = cli("predict", run["run_id"], "--input", tmp_path / "new_reviews.tsv").stdout
    assert again == out.read_text()

    acl = make_competition_dir("aclImdb", tmp_path / "acl", n_train=200, n_test=40)
    run = cli.json("cv", "aclImdb", "-m", "tfidf-nb", "--folds", "2", "--data-dir", acl)
    out = tmp_path / "acl.csv"
    cli("predict", run["run_id"], "--input", acl / "test", "--output", out)
    got, own = pd.read_csv(out, dtype={"id": str}), _run_test_predictions(run)
    assert len(got) == 40 and got["id"].tolist() == own["id"].tolist()
    assert got["id"].str.match(r"^(pos|neg)/\d+_\d+$").all()
    assert np.allclose(got["sentiment"], own["sentiment"], rtol=1e-6)
