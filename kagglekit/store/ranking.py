"""Which run is best: ONE policy, used by ``kagglekit runs`` (its table, best first) and by
``kagglekit submit`` (its choice when no RUN is given).

Runs are ordered by the held-out figure (``metrics.ranking_score``: the nested score of a
thresholded metric): held-out runs on the real files first, then those not held out, then
runs on a generated sample; unscored runs last in each group, ties in run order (oldest
first). A run whose record does not say whether it is held out is held out unless it is a
fit (``Run.held_out``).
"""

from __future__ import annotations

from kagglekit.errors import KaggleKitError
from kagglekit.metrics import ranking_score
from kagglekit.store.run import Run, list_runs


def ranked(runs: list[Run], metric: str) -> list[Run]:
    """``runs`` best first on ``metric`` (see the module docstring)."""
    from kagglekit import plugins

    sign = 1 if plugins.get_metric(metric).greater_is_better else -1

    def key(item):
        i, run = item
        value = ranking_score(run.info, metric)
        return (
            bool(run.info.get("sample")),
            not run.held_out,
            value is None,
            -sign * value if value is not None else 0.0,
            i,
        )

    return [run for _, run in sorted(enumerate(runs), key=key)]


def best_run(competition, runs_dir, *, need_test: bool = True) -> Run:
    """The first of ``ranked`` among the scored runs of the competition in a runs folder;
    with ``need_test`` only runs that have test predictions (what ``submit`` needs)."""
    from kagglekit import plugins

    slug = plugins.get_competition(competition).slug if competition else None
    everything = [r for r in list_runs(runs_dir, slug) if r.scores]
    found = [r for r in everything if not need_test or (r.path / "test_predictions.csv").is_file()]
    real = [r for r in found if not r.info.get("sample")] or found
    best_group = [r for r in real if r.held_out] or real  # where the best run is
    if not slug:
        slugs = sorted({r.competition for r in best_group})
        if len(slugs) > 1:
            raise KaggleKitError(
                f"runs of several competitions in {runs_dir} "
                f"({', '.join(slugs)}); pass RUN or --competition"
            )
    if not found:
        where = f" for {slug}" if slug else ""
        if everything:
            raise KaggleKitError(
                f"no scored run{where} in {runs_dir} has test predictions "
                f"(was the test file missing?); pass a RUN or fetch the "
                f"competition's test file and run `kagglekit cv` again"
            )
        raise KaggleKitError(
            f"no scored run{where} in {runs_dir}; run `kagglekit cv` first or pass a RUN"
        )
    comp = plugins.get_competition(best_group[0].competition)
    return ranked([r for r in found if r.competition == comp.slug], comp.metric)[0]
