"""Member runs of a blend: loading their OOF and test predictions and the labels, and the
checks that they can be blended at all.

Refused: runs of different competitions or target columns, runs whose training rows, row
order or fold assignments differ (compared on the contents of folds.csv, as partitions of
the rows), fit runs (no OOF), and a mix of runs with and without test predictions. A
pseudo-labelled run's extra training rows (fold -1, never scored) are not compared: it blends
with its source run, and the blend is not held out, as the member is not.

Members whose OOF and test predictions are identical (the same run given twice, or a rerun
of the same model and seed) are counted once: a duplicate gets weight 0 and no vote, so
``blend(A, A, B)`` is ``blend(A, B)`` for every method.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kagglekit.errors import KaggleKitError, RunError
from kagglekit.store.run import Run

if TYPE_CHECKING:
    from kagglekit.competition import Competition


class BlendError(RunError):
    """Runs cannot be blended (different folds, rows, competition, ...)."""


@dataclass
class Member:
    run: Run
    oof: np.ndarray  # (n, T)
    test: np.ndarray | None  # (n_test, T)
    duplicate_of: int | None = None  # index of the first identical member


@dataclass
class BlendData:
    comp: Competition
    members: list[Member]
    ids: np.ndarray  # training ids as strings, in the runs' row order
    folds: np.ndarray  # (n,) fold per row
    y: np.ndarray  # (n, T) labels
    test_ids: np.ndarray | None
    data_dir: Path
    folds_frame: Any = None  # the first member's folds.csv rows (DataFrame), less pseudo rows

    @property
    def unique(self) -> list[Member]:
        return [m for m in self.members if m.duplicate_of is None]


def fold_differences(folds_a: np.ndarray, folds_b: np.ndarray) -> np.ndarray:
    """Rows whose fold differs, fold numbers aside: empty when both split the rows alike.

    Each fold of one run is matched to the fold of the other that most of its rows are
    in; the rows elsewhere are the difference.
    """
    a, b = np.asarray(folds_a).reshape(-1), np.asarray(folds_b).reshape(-1)
    pairs, counts = np.unique(np.column_stack([a, b]), axis=0, return_counts=True)
    if len(pairs) == len(np.unique(a)) == len(np.unique(b)):
        return np.array([], dtype=np.int64)
    for x, z in ((a, b), (b, a)):  # z a function of x would hide merged folds: check both ways
        match: dict[Any, Any] = {}
        for pair, _ in sorted(
            zip(map(tuple, pairs if x is a else pairs[:, ::-1]), counts), key=lambda t: -t[1]
        ):
            match.setdefault(pair[0], pair[1])
        differ = np.flatnonzero(np.array([match[f] for f in x]) != z)
        if len(differ):
            return differ
    return np.arange(len(a))  # pragma: no cover - unreachable: the partitions differ


def id_column(run: Run) -> str:
    return run.info.get("id_column") or "id"


def member_predictions(run: Run, frame, what: str, ids: np.ndarray, columns) -> np.ndarray:
    id_col = id_column(run)
    got = frame[id_col].astype(str).to_numpy()
    if len(got) != len(ids) or (got != ids).any():
        raise BlendError(
            f"run {run.id}: the ids of {what} do not match its folds.csv; "
            f"the run is damaged, remove it"
        )
    values = frame[list(columns)].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise BlendError(
            f"run {run.id}: {what} has NaN in row {row + 1}; the run is damaged, remove it"
        )
    return values


def check_same_rows(first: Run, run: Run, ids0: np.ndarray, ids: np.ndarray, what: str):
    if len(ids) == len(ids0) and (ids == ids0).all():
        return
    s0, s1 = set(ids0.tolist()), set(ids.tolist())
    if s0 != s1:
        extra = sorted(s1 - s0)[:1] or sorted(s0 - s1)[:1]
        raise BlendError(
            f"runs {first.id} and {run.id} were made on different {what} rows "
            f"({len(ids0)} vs {len(ids)} rows; e.g. id {extra[0]!r} is in only one); "
            f"blend runs made on the same data"
        )
    row = int(np.flatnonzero(ids != ids0)[0])
    raise BlendError(
        f"runs {first.id} and {run.id} list the {what} rows in a different order (row {row + 1} "
        f"is id {ids0[row]!r} in one and {ids[row]!r} in the other); blend runs made on the "
        f"same files"
    )


def real_folds(run: Run):
    """folds.csv without a pseudo-labelled run's pseudo rows (appended last, fold -1, never
    scored), so that such a run blends with runs on the competition's rows alone."""
    frame = run.folds()
    pseudo = run.info.get("pseudo")
    n_pseudo = pseudo.get("n_pseudo") if isinstance(pseudo, dict) else None
    if (
        isinstance(n_pseudo, int)
        and 0 < n_pseudo < len(frame)
        and (frame["fold"].to_numpy()[-n_pseudo:] == -1).all()
    ):
        frame = frame.iloc[:-n_pseudo].reset_index(drop=True)
    return frame


def check_distinct(runs: list[Run]) -> None:
    """The runs a user names must differ: the same run twice (by id, prefix or path) is a
    mistake, not a blend (``blend`` refuses it; a rerun with identical predictions still
    blends, counted once)."""
    seen: dict[Path, int] = {}
    for i, run in enumerate(runs):
        key = run.path.resolve()
        if key in seen:
            raise BlendError(
                f"run {run.id} is given twice (RUN {seen[key] + 1} and RUN {i + 1}); "
                f"blend two or more different runs"
            )
        seen[key] = i


def load_members(runs: list[Run], data_dir=None) -> BlendData:
    """Read and check the members' folds, OOF and test predictions and the labels."""
    from kagglekit import plugins

    if len(runs) < 2:
        raise BlendError(f"a blend needs at least two runs, got {len(runs)}")
    for run in runs:
        if not (run.path / "oof.csv").is_file() or not (run.path / "folds.csv").is_file():
            raise BlendError(
                f"run {run.id} is a {run.kind} run without out-of-fold predictions "
                f"(oof.csv, folds.csv); only cv and blend runs can be blended (run "
                f"`kagglekit cv` for it)"
            )
    first = runs[0]
    for run in runs[1:]:
        if run.competition != first.competition:
            raise BlendError(
                f"runs {first.id} ({first.competition}) and {run.id} "
                f"({run.competition}) are of different competitions"
            )
        if list(run.target_columns) != list(first.target_columns):
            raise BlendError(
                f"runs {first.id} and {run.id} predict different columns "
                f"({first.target_columns} vs {run.target_columns})"
            )
    comp = plugins.get_competition(first.competition)
    columns = list(first.target_columns)
    folds0 = real_folds(first)
    all_ids = folds0[id_column(first)].astype(str).to_numpy()
    all_folds = folds0["fold"].to_numpy()
    scored = all_folds >= 0  # predefined folds (--validation-as-fold) keep -1 rows: never scored
    ids, fold0 = all_ids[scored], all_folds[scored]
    members, test_ids = [], None
    has_test = [(r.path / "test_predictions.csv").is_file() for r in runs]
    if any(has_test) and not all(has_test):
        without = runs[has_test.index(False)]
        raise BlendError(
            f"run {without.id} has no test predictions but other runs do; "
            f"blend runs that all have them (or none)"
        )
    for run in runs:
        frame = real_folds(run)
        run_ids = frame[id_column(run)].astype(str).to_numpy()
        check_same_rows(first, run, all_ids, run_ids, "training")
        differ = fold_differences(all_folds, frame["fold"].to_numpy())
        if len(differ):
            i = int(differ[0])
            raise BlendError(
                f"runs {first.id} and {run.id} use different folds: {len(differ)} of "
                f"{len(all_ids)} rows are assigned differently (e.g. id {all_ids[i]!r}: fold "
                f"{all_folds[i]} in one, "
                f"fold {frame['fold'].iloc[i]} in the other); blend runs made on the same folds "
                f"(the same --folds and --seed, or one `kagglekit cv --model A --model B`)"
            )
        oof = member_predictions(run, run.oof(), "oof.csv", ids, columns)
        test = None
        if all(has_test):
            preds = run.test_predictions()
            run_test_ids = preds[id_column(run)].astype(str).to_numpy()
            if test_ids is None:
                test_ids = run_test_ids
            check_same_rows(first, run, test_ids, run_test_ids, "test")
            test = member_predictions(run, preds, "test_predictions.csv", test_ids, columns)
        members.append(Member(run, oof, test))
    for i, member in enumerate(members):
        for j in range(i):
            other = members[j]
            if (
                other.duplicate_of is None
                and np.array_equal(member.oof, other.oof)
                and (
                    member.test is None
                    or (other.test is not None and np.array_equal(member.test, other.test))
                )
            ):
                member.duplicate_of = j
                break
    directory = data_dir or first.info.get("data_dir") or None
    y, directory = load_labels(comp, directory, ids, first)
    return BlendData(comp, members, ids, fold0, y, test_ids, directory, folds0)


def load_labels(comp, directory, ids: np.ndarray, run: Run) -> tuple[np.ndarray, Path]:
    """The training labels in the runs' row order, and the folder whose train file has them."""
    from kagglekit.data import encode_labels, find_data_dir, read_csv

    try:
        directory = find_data_dir(comp, directory)
    except KaggleKitError:
        raise BlendError(
            f"the labels are read from the runs' data folder {directory}, which has no "
            f"{comp.train_file}; pass --data-dir with the {comp.slug} files"
        ) from None
    path = directory / comp.train_file
    needed = [*([comp.id_column] if comp.id_column else []), *comp.target_columns]
    frame = read_csv(path, columns_needed=needed, **dict(comp.read_options))
    y = encode_labels(comp, frame, path)
    file_ids = (
        frame[comp.id_column].astype(str).to_numpy()
        if comp.id_column
        else np.arange(len(frame)).astype(str)
    )
    if len(file_ids) == len(ids) and (file_ids == ids).all():
        return y, directory
    if run.info.get("row_subset") and comp.id_column:  # some of the file's rows, by id
        row_of = {key: i for i, key in enumerate(file_ids)}
        if all(key in row_of for key in ids):
            return y[np.fromiter((row_of[key] for key in ids), dtype=np.int64, count=len(ids))], (
                directory
            )
    if comp.id_column and comp.validation_file and (directory / comp.validation_file).is_file():
        # runs scored on the official validation file (--validation-as-fold)
        vpath = directory / comp.validation_file
        vframe = read_csv(vpath, columns_needed=needed, **dict(comp.read_options))
        file_row = {key: (0, i) for i, key in enumerate(file_ids)}
        file_row.update(
            {key: (1, i) for i, key in enumerate(vframe[comp.id_column].astype(str).to_numpy())}
        )
        labels = (y, encode_labels(comp, vframe, vpath))
        missing = [key for key in ids if key not in file_row]
        if not missing:
            return np.stack([labels[file_row[key][0]][file_row[key][1]] for key in ids]), directory
    raise BlendError(
        f"{path} does not hold the training rows of run {run.id} in its order "
        f"({len(file_ids)} rows vs {len(ids)}); pass --data-dir with the files "
        f"the runs were made on"
    )
