"""`kagglekit runs` as a leaderboard: CV beside the public/private scores of the submissions
made from each run (the real kaggle client against the loopback stand-in), cached for
offline use, and the CV-vs-LB correlation; `submit` with runs of several competitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scipy.stats import pearsonr

from support import make_competition_dir

TWEETS = "nlp-getting-started"


def cv(cli, data, *args):
    return cli.json("cv", "disaster-tweets", "--folds", "2", "--data-dir", data, *args)


def test_runs_table_per_competition_with_differing_params_and_samples(cli, tweets_dir):
    a = cv(cli, tweets_dir, "-m", "tfidf-lr", "-p", "C=1")
    b = cv(cli, tweets_dir, "-m", "tfidf-lr", "-p", "C=4", "--seed", "3")
    c = cv(cli, tweets_dir, "-m", "tfidf-nb")
    j = cli.json("cv", "jigsaw", "-m", "tfidf-nb", "--folds", "2", "--sample")
    out = cli("runs").stdout
    # one table per competition, every header whole (not truncated or wrapped); no seeds
    # column when every run has one seed
    assert out.lstrip().startswith("jigsaw-toxic-comment-classification-challenge (mean_auc")
    jigsaw_part, tweets_part = out.split(f"{TWEETS} (f1; ranked by the held-out figure)")
    header_line = (
        " " + next(line for line in tweets_part.splitlines() if line.startswith("run ")) + " "
    )
    for header in (
        "run",
        "kind",
        "model",
        "folds",
        "f1 (nested)",
        "± folds",
        "f1 all rows",
        "params that differ",
        "time",
    ):
        assert f" {header} " in header_line, header
    assert " seeds " not in tweets_part
    for run in (a, b, c):
        assert run["run_id"] in tweets_part and run["run_id"] not in jigsaw_part
    line_a = next(s for s in tweets_part.splitlines() if a["run_id"] in s)
    line_b = next(s for s in tweets_part.splitlines() if b["run_id"] in s)
    assert "C=1.0" in line_a and "C=4.0" in line_b  # only the param that differs
    assert "word_ngram_max" not in tweets_part
    nested = json.loads((Path(a["run_dir"]) / "run.json").read_text())["nested_scores"]["f1"]
    assert f"{nested:.4f}" in line_a
    assert "generated sample" in jigsaw_part and j["run_id"] in jigsaw_part
    assert "mean_auc" in jigsaw_part and "public LB" not in out  # no submissions yet
    payload = cli.json("runs")
    by_id = {r["run_id"]: r for r in payload["runs"]}
    assert by_id[a["run_id"]]["cv_score"] == nested
    assert by_id[a["run_id"]]["differing_params"] == {"C": 1.0}
    assert by_id[b["run_id"]]["seeds"] == 1 and by_id[b["run_id"]]["folds"] == 2
    assert by_id[j["run_id"]]["sample"] is True
    assert payload["competitions"][TWEETS]["cv_lb"] == {"n": 0, "pearson": None, "spearman": None}
    # a leaderboard: best held-out figure first, in the table and in the JSON
    tweets = [r for r in payload["runs"] if r["competition"] == TWEETS]
    scores = [r["cv_score"] for r in tweets]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert len(set(scores)) > 1  # the order is tested, not a tie
    table_order = [
        line.split()[0]
        for line in tweets_part.splitlines()
        if any(line.split()[:1] == [r["run_id"]] for r in tweets)
    ]
    assert table_order == [r["run_id"] for r in tweets]


def test_submit_without_run_picks_the_newest_runs_competition(cli, tweets_dir, tmp_path):
    first = cv(cli, tweets_dir, "-m", "tfidf-nb")
    jig = make_competition_dir("jigsaw", tmp_path / "data", n_train=200, n_test=40)
    newest = cli.json("cv", "jigsaw", "-m", "tfidf-nb", "--folds", "2", "--data-dir", jig)
    result = cli("submit", "--json")
    assert json.loads(result.stdout)["run_id"] == newest["run_id"]
    assert (
        "submitting for jigsaw-toxic-comment-classification-challenge, the competition "
        f"of the newest run {newest['run_id']}"
    ) in result.stderr
    chosen = cli.json("submit", "--competition", "disaster-tweets")
    assert chosen["run_id"] == first["run_id"]


# ---------------------------------------------------------------- with the stand-in Kaggle


@pytest.fixture
def kaggle_runs(request, tmp_path):
    pytest.importorskip("kagglesdk", reason="needs the kaggle client")
    server = request.getfixturevalue("kaggle_server")
    from kagglekit import plugins
    from support.fake_kaggle import flat_zip, invoke

    data = tmp_path / "data" / TWEETS
    data.mkdir(parents=True)
    plugins.get_competition("disaster-tweets").make_sample(data, n_train=160, n_test=40, seed=1)
    runs = []
    for params in (
        ["-m", "tfidf-nb"],
        ["-m", "tfidf-lr", "-p", "C=0.05"],
        ["-m", "tfidf-lr", "-p", "C=8"],
    ):
        out = invoke("cv", "disaster-tweets", "--folds", "2", "--data-dir", data, *params, "--json")
        runs.append(json.loads(out.stdout))
    server.add(TWEETS, flat_zip({}))
    return server, runs


def test_runs_table_stays_readable_at_120_columns_with_long_blend_ids(cli, tweets_dir):
    from kagglekit.store.refs import resolve_run

    made = cv(
        cli,
        tweets_dir,
        "-m",
        "tfidf-nb",
        "-m",
        "nbsvm",
        "-m",
        "tfidf-lr",
        "-p",
        "tfidf-nb.alpha=0.3",
        "--ensemble",
        "weighted",
        "--ensemble",
        "stack",
    )
    cv(cli, tweets_dir, "-m", "tfidf-nb", "--seeds", "2")  # a seeds column: some have 2
    blends = [b["run_id"] for b in made["blends"]]
    assert all(len(b) > 40 for b in blends)  # e.g. ...-blend-weighted-tfidf-nb+nbsvm+tfidf-lr-...
    out = cli("runs").stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 120, max(lines, key=len)
    header = next(line for line in lines if line.startswith("run "))
    for word in ("kind", "model", "folds", "seeds", "f1 (nested)", "time"):
        assert f" {word} " in f"{header} ", word
    for run_id in blends:  # a unique prefix that names the run, marked shortened
        row = next(line for line in lines if line.startswith(run_id[:24]))
        shown = row.split()[0]
        assert shown.endswith("…") and run_id.startswith(shown[:-1])
        assert resolve_run(shown[:-1], Path("runs")).id == run_id
    for member in made["runs"]:  # short ids whole, with their figures on the same line
        row = next(line for line in lines if line.startswith(member["run_id"] + " "))
        assert f"{member['nested_scores']['f1']:.4f}" in row
    assert "weighted(tfidf-nb+" in out and "nbsvm+" in out  # a long model name wraps, whole
    assert "full ids: --json" in out
    listed = {r["run_id"] for r in cli.json("runs")["runs"]}
    assert set(blends) <= listed  # --json keeps the full ids


def test_leaderboard_shows_lb_scores_cached_offline_and_cv_lb_correlation(kaggle_runs, monkeypatch):
    from support.fake_kaggle import invoke

    server, runs = kaggle_runs
    # two uploads through kagglekit (one with its own message: matched by its recorded
    # ref), one made elsewhere whose description names the run (matched by the run id)
    invoke("submit", runs[0]["run_id"], "--upload")
    invoke("submit", runs[1]["run_id"], "--upload", "-m", "lr, small C")
    server.next_ref += 1
    server.submissions[TWEETS].insert(
        0,
        {
            "ref": server.next_ref,
            "polls": 0,
            "date": "2024-05-02T12:00:00.000Z",
            "description": f"from my laptop: kagglekit {runs[2]['run_id']}",
            "fileName": "s.csv",
            "token": "x",
        },
    )
    cache = Path("runs") / TWEETS / ".submissions.json"
    recorded = json.loads(cache.read_text())
    assert recorded["uploads"] == {"41001": runs[0]["run_id"], "41002": runs[1]["run_id"]}
    before = len(server.requests)
    offline = invoke("runs").stdout
    assert len(server.requests) == before  # no --refresh: no network at all
    assert "public LB" in offline and offline.count("pending") >= 4

    server.polls_until_scored = 0
    scores = {runs[0]["run_id"]: 0.70, runs[1]["run_id"]: 0.66, runs[2]["run_id"]: 0.74}
    for sub, run in zip(server.submissions[TWEETS], (runs[2], runs[1], runs[0])):
        sub["public_score"] = str(scores[run["run_id"]])
        sub["private_score"] = str(scores[run["run_id"]] - 0.01)
    refreshed = json.loads(invoke("runs", "--refresh", "--json").stdout)
    assert server.count("ListSubmissions") == 1
    lb = {r["run_id"]: r["lb"] for r in refreshed["runs"]}
    for run_id, public in scores.items():
        assert lb[run_id]["public"] == pytest.approx(public)
        assert lb[run_id]["private"] == pytest.approx(public - 0.01)
        assert lb[run_id]["submissions"] == 1
        assert [sub["status"] for sub in lb[run_id]["all"]] == ["complete"]
    assert lb[runs[1]["run_id"]]["all"][0]["description"] == "lr, small C"
    cv_scores = {r["run_id"]: r["cv_score"] for r in refreshed["runs"]}
    ids = list(scores)
    expected = pearsonr([cv_scores[i] for i in ids], [scores[i] for i in ids])[0]
    corr = refreshed["competitions"][TWEETS]["cv_lb"]
    assert corr["n"] == 3 and corr["pearson"] == pytest.approx(expected, abs=1e-4)

    # offline again, even with no credentials at all: the cached scores
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    before = len(server.requests)
    text = invoke("runs").stdout
    assert len(server.requests) == before
    assert "0.74000" in text and "0.66000" in text and "CV vs public LB over 3" in text
    result = invoke("runs", "--refresh")
    assert "not refreshed from Kaggle" in result.stderr and "0.74000" in result.stdout
    assert len(server.requests) == before


def test_a_damaged_submissions_cache_is_said_and_ignored(cli, tweets_dir):
    run = cv(cli, tweets_dir, "-m", "tfidf-nb")
    cache = Path("runs") / TWEETS / ".submissions.json"
    cache.write_text("{not json")
    result = cli("runs")
    assert run["run_id"] in result.stdout
    assert f"{cache.resolve()}" in result.stderr or str(cache) in result.stderr
    assert "is damaged and was ignored" in result.stderr
    # and a hidden cache file is never taken for a run
    assert [r["run_id"] for r in cli.json("runs")["runs"]] == [run["run_id"]]
