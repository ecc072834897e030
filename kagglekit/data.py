"""Finding, loading and validating a competition's files.

Lookup order: ``--data-dir``, ``$KAGGLEKIT_DATA/<slug>``, ``./input/<slug>``,
``/kaggle/input/<slug>``. Every problem with a file is a DataError naming the file,
the column or row, and what to do.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kagglekit.competition import Competition
from kagglekit.csvfiles import data_file, read_csv  # noqa: F401 - read_csv: data's API too
from kagglekit.errors import (
    DataError,
    DataNotFound,
    KaggleKitError,
    KaggleKitWarning,
    show,
    why_not_there,
)
from kagglekit.frame import TextFrame
from kagglekit.store.atomic import temp_sibling
from kagglekit.store.folder import RunsFolder

KAGGLE_INPUT = Path("/kaggle/input")


def candidate_dirs(comp: Competition, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Where the files are looked for, in order."""
    out = []
    if data_dir:
        data_dir = Path(data_dir)
        # accept both the competition folder itself and a data root that contains it
        out.append(data_dir)
        out.append(data_dir / comp.slug)
    env = os.environ.get("KAGGLEKIT_DATA")
    if env:
        out.append(Path(env) / comp.slug)
    out.append(Path("input") / comp.slug)
    out.append(KAGGLE_INPUT / comp.slug)
    return out


def _holds_train(comp: Competition, directory: Path) -> bool:
    # a file, its .zip as Kaggle notebooks mount some, or a folder for folder layouts
    return (directory / comp.train_file).exists() or data_file(
        directory, comp.train_file
    ) is not None


def _contents(directory: Path, limit: int = 3) -> str:
    try:
        names = sorted(p.name for p in Path(directory).iterdir())
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if not names:
        return "it is empty"
    more = f", ... ({len(names)} entries)" if len(names) > limit else ""
    return f"it holds {', '.join(names[:limit])}{more}"


def find_data_dir(comp: Competition, data_dir=None) -> Path:
    """The folder that holds the competition's train file.

    An explicit ``data_dir`` (the competition folder, or a data root holding ``<slug>/``)
    is used or refused, never passed over for another folder. Without one the first of
    ``$KAGGLEKIT_DATA/<slug>``, ``./input/<slug>``, ``/kaggle/input/<slug>`` that holds it;
    a ``$KAGGLEKIT_DATA`` that is not a folder (misspelled?) is said plainly (a warning
    when the files were found elsewhere, in the error when they were not).
    """
    alias = comp.aliases[0] if comp.aliases else comp.slug
    if data_dir:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise DataNotFound(f"--data-dir {data_dir}: {why_not_there(data_dir)}")
        for d in (data_dir, data_dir / comp.slug):
            if _holds_train(comp, d):
                return d
        raise DataNotFound(
            f"--data-dir {data_dir}: no {comp.train_file} for {comp.slug} in it or in "
            f"{data_dir / comp.slug} ({_contents(data_dir)}); pass the folder that holds the "
            f"{comp.slug} files (or a data root holding {comp.slug}/), or run "
            f"`kagglekit fetch {alias} --data-dir {data_dir}`"
        )
    looked = candidate_dirs(comp)
    env = os.environ.get("KAGGLEKIT_DATA")
    env_problem = (
        f"KAGGLEKIT_DATA={env} {why_not_there(env)}" if env and not Path(env).is_dir() else None
    )
    for d in looked:
        if _holds_train(comp, d):
            if env_problem:
                warnings.warn(
                    f"{env_problem} (misspelled?); using {d} instead",
                    KaggleKitWarning,
                    stacklevel=2,
                )
            return d
    where = ", ".join(str(p) for p in looked)
    said = f"{env_problem} (misspelled?); " if env_problem else ""
    raise DataNotFound(
        f"no {comp.train_file} for {comp.slug} found ({said}looked in {where}); "
        f"run `kagglekit fetch {alias}`, pass --data-dir, or try --sample for a generated "
        f"sample"
    )


def sample_dir(
    comp: Competition, root: Path, n_train: int = 600, n_test: int = 200, seed: int = 0
) -> Path:
    """Generate (once) a small sample in the competition's exact schema under root."""
    if comp.make_sample is None:
        raise DataError(f"{comp.slug} has no built-in sample generator; pass --data-dir")
    target = Path(root) / comp.slug
    if (target / comp.train_file).exists():
        return target
    tmp = temp_sibling(target, os.getpid())
    tmp.mkdir(parents=True, exist_ok=True)
    comp.make_sample(tmp, n_train=n_train, n_test=n_test, seed=seed)
    try:
        tmp.rename(target)
    except OSError:  # another process made it first
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return target


def check_ids(frame, column: str, path: Path) -> None:
    ids = frame[column]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1
        raise DataError(
            f"{path}: column {show(column)} is empty in row {row}; every row needs an id"
        )
    dup = ids.duplicated(keep=False)
    if dup.any():
        first = ids[dup].iloc[0]
        rows = (np.flatnonzero((ids == first).to_numpy()) + 1)[:3]
        times = int((ids == first).sum())
        raise DataError(
            f"{path}: id {show(first)} in column {show(column)} appears {times} times "
            f"(rows {', '.join(map(str, rows))}); ids must be unique: remove the duplicates"
        )


def prepared_texts(
    frame, columns, path: Path, id_column: str | None, allow_empty: bool, prepare
) -> np.ndarray:
    parts = []
    for col in columns:
        values = frame[col]
        empty = values.isna() | (values.str.strip() == "")
        if empty.any() and not allow_empty:
            row = int(np.flatnonzero(empty.to_numpy())[0])
            where = f"row {row + 1}" + (
                f" (id={show(str(frame[id_column].iloc[row]))[1:-1]})" if id_column else ""
            )
            raise DataError(
                f"{path}: column {col!r} is empty or NaN in {where} and {int(empty.sum())} row(s) "
                f"in all; fill or drop those rows, or pass --allow-empty-text"
            )
        parts.append(values.fillna("").to_numpy(dtype=object))
    text = (
        parts[0]
        if len(parts) == 1
        else np.array([" ".join(p for p in row if p) for row in zip(*parts)], dtype=object)
    )
    if prepare is not None:
        text = np.array([prepare(t) for t in text], dtype=object)
    return text


def encode_labels(comp: Competition, frame, path: Path) -> np.ndarray:
    """Raw label columns -> (n, n_targets) int8 array of 0/1; anything else is a DataError."""
    out = np.zeros((len(frame), comp.n_targets), dtype=np.int8)
    mapping = {str(k): int(v) for k, v in comp.label_map.items()} or {
        "0": 0,
        "1": 1,
        "0.0": 0,
        "1.0": 1,
    }
    for j, col in enumerate(comp.target_columns):
        raw = frame[col]
        coded = raw.map(mapping)
        bad = coded.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            value = raw.iloc[row]
            allowed = ", ".join(sorted(mapping))
            value_text = (
                "an empty value" if value is None or value != value else f"value {show(value)}"
            )
            raise DataError(
                f"{path}: column {col!r} has {value_text} in row {row + 1} "
                f"({int(bad.sum())} bad row(s) in all); labels must be one of {allowed}"
            )
        out[:, j] = coded.to_numpy(dtype=np.int8)
    return out


def read_table(
    comp: Competition,
    path: Path,
    split: str,
    *,
    columns_needed=(),
    encoding: str = "utf-8",
    params=None,
):
    """A split's raw table: the competition's ``load`` hook when it handles the split,
    else the CSV reader with the competition's read options."""
    frame = None
    if comp.load is not None:
        frame = comp.load(Path(path), split, encoding=encoding, params=params)
    if frame is None:
        return read_csv(
            path, columns_needed=columns_needed, encoding=encoding, **dict(comp.read_options)
        )
    missing = [c for c in columns_needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column {missing[0]!r} (found: "
            f"{', '.join(map(str, frame.columns[:12]))}); is this the right "
            f"{split} data for {comp.slug}?"
        )
    return frame


def _split_spec(comp: Competition, split: str):
    """(file name, text columns, has labels) of a split."""
    name = comp.file_for(split)
    if name is None:
        raise DataError(f"{comp.slug} has no {split} file")
    text_cols = comp.test_columns if split == "test" else comp.text_columns
    return name, text_cols, split in ("train", "validation")


def load_split(
    comp: Competition,
    directory: Path,
    split: str,
    *,
    encoding="utf-8",
    allow_empty_text=False,
    params=None,
) -> TextFrame:
    """Load and validate ``train``, ``validation``, ``test`` or ``unlabeled`` rows."""
    directory = Path(directory)
    name, text_cols, needs_labels = _split_spec(comp, split)
    path = directory / name
    if not path.exists() and data_file(directory, name) is None:
        files = (comp.train_file, comp.validation_file, comp.test_file, comp.sample_submission_file)
        raise DataError(
            f"{path}: file not found; the {comp.slug} folder must hold "
            f"{', '.join(f for f in files if f)}"
            f" (kagglekit fetch {comp.slug} --force downloads them again)"
        )
    id_cols = [comp.id_column] if comp.id_column else []
    needed = [*id_cols, *text_cols, *(comp.target_columns if needs_labels else [])]
    frame = read_table(comp, path, split, columns_needed=needed, encoding=encoding, params=params)
    if len(frame) == 0:
        raise DataError(
            f"{path}: has a header but no rows; download it again "
            f"(kagglekit fetch {comp.slug} --force)"
        )
    if comp.id_column:
        check_ids(frame, comp.id_column, path)
        ids = frame[comp.id_column].to_numpy(dtype=object)
    else:
        ids = np.arange(len(frame))
    text = prepared_texts(
        frame, text_cols, path, comp.id_column, allow_empty_text, comp.prepare_text
    )
    if needs_labels and not any(str(t).strip() for t in text):
        raise DataError(
            f"{path}: every row's {', '.join(text_cols)} is empty; there is no text to learn from"
        )
    y = encode_labels(comp, frame, path) if needs_labels else None
    if y is not None and comp.task == "binary" and len(np.unique(y[:, 0])) < 2:
        raise DataError(
            f"{path}: column {comp.target_columns[0]!r} holds only one class "
            f"({int(y[0, 0])}); a binary task needs both 0 and 1"
        )
    return TextFrame(ids=ids, text=text, y=y, target_names=comp.target_columns, extra=frame)


def load_sample_submission(comp: Competition, directory: Path, encoding="utf-8"):
    if comp.sample_submission_file is None:
        return None
    path = data_file(directory, comp.sample_submission_file) or (
        Path(directory) / comp.sample_submission_file
    )
    columns = [c for c in (comp.sub_id_column, *comp.sub_columns) if c]
    frame = read_csv(path, columns_needed=columns, encoding=encoding)
    if comp.sub_id_column:
        check_ids(frame, comp.sub_id_column, path)
    return frame


# -- a competition's dataset: train (+ validation) and test, loaded and validated --------------
@dataclass
class DataOptions:
    data_dir: str | None = None
    sample: bool = False
    sample_root: Path | None = None
    encoding: str = "utf-8"
    allow_empty_text: bool = False
    prepare: bool = True
    validation_as_fold: bool = False  # the official validation file is the one scoring fold
    competition_params: object = None  # an instance of comp.params_class()


@dataclass
class Dataset:
    competition: Competition
    directory: Path
    train: TextFrame
    test: TextFrame | None
    sample: bool = False
    notes: list = field(default_factory=list)
    folds: np.ndarray | None = None  # predefined folds (-1: always trained on, never scored)
    train_on_validated: bool = False  # the scored rows are trained on too: not held out
    competition_params: object = None
    encoding: str = "utf-8"
    allow_empty_text: bool = False
    training_only: np.ndarray | None = None  # rows in every fold's training rows (pseudo-labels)
    pseudo: dict | None = None  # the pseudo-label record (kagglekit.pseudo), for run.json
    leaks: list = field(default_factory=list)  # why scores on this data are not held out
    # the rows are a subset of the train file's, by id: {"why", "rows", "of"} (tune's holdout)
    row_subset: dict | None = None


def load_dataset(comp: Competition, options: DataOptions, need_test: bool = True) -> Dataset:
    if options.sample:
        directory = sample_dir(comp, options.sample_root or RunsFolder().samples)
    else:
        directory = find_data_dir(comp, options.data_dir)
    if not options.prepare and comp.prepare_text is not None:
        comp = replace(comp, prepare_text=None)
    params = options.competition_params
    if params is None:
        params_class = comp.params_class()
        if params_class is not None:
            params = params_class()
    kwargs = {
        "encoding": options.encoding,
        "allow_empty_text": options.allow_empty_text,
        "params": params,
    }
    train = load_split(comp, directory, "train", **kwargs)
    test = None
    if (
        need_test
        and comp.test_file
        and (
            (directory / comp.test_file).exists()
            or data_file(directory, comp.test_file) is not None
        )
    ):
        test = load_split(comp, directory, "test", **kwargs)
    data = Dataset(
        comp,
        directory,
        train,
        test,
        sample=options.sample,
        competition_params=params,
        encoding=options.encoding,
        allow_empty_text=options.allow_empty_text,
    )
    if need_test and comp.test_file and test is None:
        data.notes.append(
            f"no {comp.test_file} in {directory}: this run will have no test "
            f"predictions, so it cannot be submitted (fetch the competition's "
            f"files again to get it)"
        )
    train_on_validation = bool(getattr(params, "train_on_validation", False))
    if options.validation_as_fold or train_on_validation:
        _add_validation(data, options.validation_as_fold, train_on_validation, kwargs)
    return data


def _add_validation(data: Dataset, as_fold: bool, train_on_it: bool, kwargs: dict) -> None:
    """Append the official validation rows to train: as the one scoring fold and/or for training."""
    comp = data.competition
    what = "--validation-as-fold" if as_fold else "train_on_validation=true"
    if not comp.validation_file:
        raise KaggleKitError(f"{what}: {comp.slug} has no official validation file")
    if not (data.directory / comp.validation_file).exists():
        raise DataError(
            f"{what}: {data.directory / comp.validation_file} not found; "
            f"download it with the competition's other files"
        )
    valid = load_split(comp, data.directory, "validation", **kwargs)
    clash = set(map(str, data.train.ids)) & set(map(str, valid.ids))
    if clash:
        raise DataError(
            f"{data.directory / comp.validation_file}: id {sorted(clash)[0]!r} is also "
            f"in {comp.train_file} ({len(clash)} shared id(s)); ids must be unique"
        )
    n_train = len(data.train)
    data.train = TextFrame.concat([data.train, valid])
    if as_fold:
        data.folds = np.concatenate([np.full(n_train, -1), np.zeros(len(valid))]).astype(np.int16)
        data.train_on_validated = train_on_it
        data.notes.append(
            f"scored on the {len(valid)} rows of {comp.validation_file}"
            + (
                ", which the model also trained on: the score is NOT held out"
                if train_on_it
                else " (held out)"
            )
        )
    else:
        data.notes.append(f"{comp.validation_file}'s {len(valid)} rows added to the training rows")
