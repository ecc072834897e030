"""One ranking policy: ``kagglekit runs`` lists runs best first and ``kagglekit submit``
picks the first of them (kagglekit.store.ranking)."""

from __future__ import annotations

from pathlib import Path

from kagglekit.store.atomic import write_json
from kagglekit.store.ranking import best_run, ranked
from kagglekit.store.run import list_runs

SLUG = "nlp-getting-started"


def _run(root: Path, name: str, **info) -> Path:
    run = root / SLUG / name
    run.mkdir(parents=True)
    (run / "test_predictions.csv").write_text("id,target\n1,0.5\n")
    write_json(
        run / "run.json",
        {"kind": "cv", "competition": SLUG, "model": name, "threshold": 0.5, **info},
    )
    return run


def test_best_run_ranks_by_the_nested_figure(tmp_path):

    slug = "nlp-getting-started"
    for name, optimistic, nested in (("a", 0.90, 0.70), ("b", 0.80, 0.79)):
        run = tmp_path / slug / name
        run.mkdir(parents=True)
        (run / "test_predictions.csv").write_text("id,target\n1,0.5\n")
        write_json(
            run / "run.json",
            {
                "kind": "cv",
                "competition": slug,
                "model": name,
                "scores": {"f1": optimistic},
                "threshold_metric": "f1",
                "nested_scores": {"f1": nested},
                "threshold": 0.5,
            },
        )
    assert best_run("disaster-tweets", tmp_path).model == "b"


def test_submit_and_runs_agree_on_the_best_run(tmp_path, cli):
    """A fit whose record does not say whether it is held out (written before runs said so)
    is not held out: it cannot beat a held-out CV run, neither in `runs` nor in `submit`
    (best_run took such a record for held out while the table did not)."""
    _run(tmp_path, "20240101-000000-a-cv", scores={"f1": 0.70})
    _run(tmp_path, "20240101-000001-b-fit", kind="fit", scores={"f1": 0.99})
    _run(tmp_path, "20240101-000002-c-sample", scores={"f1": 0.95}, sample=True)
    _run(tmp_path, "20240101-000003-d-cv", scores={"f1": 0.60})
    runs = list_runs(tmp_path, SLUG)
    table = [r.id for r in ranked(runs, "f1")]
    assert table == [
        "20240101-000000-a-cv",
        "20240101-000003-d-cv",
        "20240101-000001-b-fit",
        "20240101-000002-c-sample",
    ]
    assert best_run("disaster-tweets", tmp_path).id == table[0]  # what submit takes
    assert best_run(None, tmp_path).id == table[0]
    listed = cli.json("runs", "--runs-dir", tmp_path)["runs"]  # the table, best first
    assert [r["run_id"] for r in listed] == table
