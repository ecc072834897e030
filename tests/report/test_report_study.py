"""`kagglekit report --study NAME`: the page of a real (tiny) tune study, read back through
Optuna from its SQLite storage: every trial and its state, the best CV (optimistic) beside
the holdout score (held out), the plots, the importances or why there are none."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("matplotlib", reason="reports need the report extra")
pytest.importorskip("jinja2", reason="reports need the report extra")

from kagglekit import plugins  # noqa: E402
from kagglekit.data import DataOptions, load_dataset  # noqa: E402
from kagglekit.errors import KaggleKitError  # noqa: E402
from kagglekit.report.study import write_study_report  # noqa: E402
from kagglekit.store.folder import RunsFolder  # noqa: E402
from kagglekit.tune import Float, model_space  # noqa: E402
from kagglekit.tune.run import TuneOptions, run_tune  # noqa: E402
from kagglekit.tune.study import default_storage  # noqa: E402
from support import make_competition_dir, one_line_error  # noqa: E402

STATE = optuna.trial.TrialState


def tiny_study(tmp_path, space=None, **options):
    """A real study: tfidf-nb on 400 generated tweets, 3 folds."""
    directory = make_competition_dir("disaster-tweets", tmp_path / "data", n_train=400, n_test=20)
    comp = plugins.get_competition("disaster-tweets")
    data = load_dataset(comp, DataOptions(data_dir=str(directory)))
    cls = plugins.models().get("tfidf-nb")
    folder = RunsFolder(tmp_path / "runs")
    options.setdefault("n_folds", 3)
    result = run_tune(
        comp,
        "tfidf-nb",
        cls,
        {},
        space or model_space("tfidf-nb", cls),
        data,
        folder,
        TuneOptions(**options),
    )
    return result, folder


def png_images(html: str) -> int:
    """How many inline PNGs the page has, each decoded and not blank."""
    import matplotlib.image as mpimg

    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    for data in sources:
        array = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert array.shape[0] > 100 and array.shape[1] > 100
        assert float(array[..., :3].std()) > 0.01
    return len(sources)


def part(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}"')
    return html[start : html.index("</section>", start)]


def trial_rows(html: str) -> dict[int, str]:
    """trial number -> state, from the trials table."""
    table = part(html, "trials")
    return {int(n): s for n, s in re.findall(r"<tr><td>(\d+)</td><td>([a-z]+)</td>", table)}


def test_the_report_of_a_study_names_every_trial_its_figures_and_plots(cli, tmp_path):
    result, folder = tiny_study(tmp_path, n_trials=5, startup_trials=2)
    # a trial that crashed and one pruned after its first fold, recorded as Optuna does
    study = optuna.load_study(study_name=result.study, storage=default_storage(folder))
    dists = study.trials[0].distributions
    study.add_trial(
        optuna.trial.create_trial(
            state=STATE.FAIL, params={"alpha": 0.5, "max_features": None}, distributions=dists
        )
    )
    study.add_trial(
        optuna.trial.create_trial(
            state=STATE.PRUNED,
            params={"alpha": 2.5, "max_features": 50000},
            distributions=dists,
            intermediate_values={1: 0.61},
        )
    )
    runs_dir = str(tmp_path / "runs")
    out = cli("report", "--study", result.study, "--runs-dir", runs_dir)
    path = Path(out.stdout.strip())
    assert path == Path("reports") / "nlp-getting-started" / f"study-{result.study}.html"
    assert f"Report of study {result.study}" in out.stderr
    html = path.read_text()

    states = trial_rows(html)
    study = optuna.load_study(study_name=result.study, storage=default_storage(folder))
    assert states == {
        t.number: {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}[t.state.name]
        for t in study.trials
    }
    assert len(states) == 7 and "failed" in states.values()
    assert "pruned after fold 1" in part(html, "trials")
    for number in (t.number for t in study.trials if t.state == STATE.COMPLETE):
        run_id = study.trials[number].user_attrs["run_id"]
        assert run_id in part(html, "trials")  # each complete trial is an ordinary run

    headline = part(html, "scores")
    n = result.trials["complete"]
    assert f"best CV {result.best['value']:.4f} (optimistic: chosen out of {n})" in headline
    held = result.holdout["best"]["value"]
    assert f"holdout {held:.4f} (held out)" in headline
    assert "optimistic, chosen on it" in headline and "untouched rows): held out" in headline
    assert "has changed since its record was written" in html  # the two trials added since

    assert png_images(part(html, "history")) == 2  # history + the per-fold figure
    assert png_images(part(html, "importances")) == 1
    assert png_images(part(html, "slices")) == 1
    assert "log scale (log axis): alpha" in part(html, "slices")
    assert "<script" not in html.lower()

    payload = cli.json("report", "--study", result.study, "--runs-dir", runs_dir)
    assert payload["path"] == str(path.resolve())
    assert payload["study"] == result.study and payload["held_out"] is True
    assert payload["best"]["value"] == result.best["value"]
    assert set(payload["importances"]) == {"alpha", "max_features"}
    assert sum(payload["importances"].values()) == pytest.approx(1.0)
    assert payload["no_importances"] is None
    assert payload["trials_now"]["failed"] == 1

    # a study named as a RUN: the error says --study
    error = one_line_error(cli("report", result.study, "--runs-dir", runs_dir, expect=None))
    assert f"kagglekit report --study {result.study}" in error


def test_no_holdout_one_parameter_is_labelled_not_held_out_and_says_why_no_importances(
    tmp_path,
):
    result, folder = tiny_study(
        tmp_path, space={"alpha": Float(0.05, 2.0, log=True)}, n_trials=2, holdout=None
    )
    path, payload = write_study_report(folder, result.study, tmp_path / "reports")
    html = path.read_text()
    headline = part(html, "scores")
    assert "no holdout: not held out (--no-holdout)" in headline
    assert "(optimistic: chosen out of 2)" in headline
    assert payload["held_out"] is False and payload["importances"] is None
    assert "only one parameter (alpha) was searched" in part(html, "importances")
    assert set(trial_rows(html).values()) == {"complete"}
    assert png_images(html) >= 2


def test_a_study_without_a_finished_tune_is_read_from_its_storage_alone(tmp_path):
    """tune killed before its end: no study.json; one complete trial, one failed."""
    folder = RunsFolder(tmp_path / "runs")
    study = optuna.create_study(
        study_name="killed", storage=default_storage(folder), direction="maximize"
    )
    dist = {"alpha": optuna.distributions.FloatDistribution(0.01, 3.0, log=True)}
    study.add_trial(
        optuna.trial.create_trial(
            params={"alpha": 1.0}, distributions=dist, value=0.7, intermediate_values={1: 0.8}
        )
    )
    study.add_trial(
        optuna.trial.create_trial(state=STATE.FAIL, params={"alpha": 0.1}, distributions=dist)
    )
    path, payload = write_study_report(folder, "killed", tmp_path / "reports")
    html = path.read_text()
    assert trial_rows(html) == {0: "complete", 1: "failed"}
    assert "No finished `kagglekit tune`" in html and "not held out" in part(html, "scores")
    assert "1 complete trial(s); they need at least 2" in part(html, "importances")
    assert payload["importances"] is None and payload["best_now"] == {"number": 0, "value": 0.7}
    assert png_images(html) >= 2


def test_what_cannot_be_reported_is_one_line(cli, tmp_path):
    runs_dir = tmp_path / "runs"
    error = one_line_error(cli("report", "--study", "nope", "--runs-dir", runs_dir, expect=None))
    assert "no finished study 'nope'" in error
    assert "not both" in one_line_error(cli("report", "RUN", "--study", "x", expect=None))
    assert "--study NAME" in one_line_error(cli("report", expect=None))
    # study.json never keeps a password: a study elsewhere needs --storage
    record = folder_record(runs_dir, "remote", "postgresql://kk:***@db.example/studies")
    with pytest.raises(KaggleKitError, match="keeps no password: pass --storage URL"):
        write_study_report(RunsFolder(runs_dir), "remote", tmp_path / "reports")
    assert record.is_file()


def folder_record(runs_dir: Path, name: str, storage: str) -> Path:
    path = RunsFolder(runs_dir).study_dir(name) / "study.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"kind": "study", "study": name, "storage": storage}))
    return path
