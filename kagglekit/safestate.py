"""Fitted state on disk without pickle, in time linear in its size.

    save_tree(obj, directory)            -> state.json (the structure) + state.npz (the arrays)
    load_tree(directory, trusted=(...))  -> the object, rebuilt

``state.json`` holds the structure: JSON numbers, strings, lists and tagged objects, one
node per Python object *except* for the large collections, which go whole into
``state.npz`` (``numpy.savez``, read back with ``allow_pickle=False``):

    {"ndarray": "a0"}                      a numeric array
    {"strings": "a1", "as": "list"}        many strings (a term list): UTF-8 bytes + lengths
                                           ("as": list, tuple, set, frozenset or ndarray)
    {"vocab": "a2"}                        a str -> int dict (a vectorizer's vocabulary):
                                           its keys as strings, its values as one int64 array
    {"sparse": "csr_matrix", "of": "a3"}   a scipy sparse matrix or array, as CSR arrays
    {"dict": {...}}  {"items": [[k, v]]}   other dicts (string keys / other keys)
    {"tuple": [...]}  {"set": [...]}  {"frozenset": [...]}
    {"scalar": "int64", "value": 3}        a numpy scalar
    {"dtype": "float32"}  {"type": "float"}  a numpy type or dtype, a builtin number type
    {"object": "module.Class", "state": {...}}  an instance of a trusted class

So the number of entries stays the same when a vocabulary doubles: saving 400,000 terms
is one join and one array, not 400,000 objects (skops' format, which kagglekit used
before, cost time quadratic in the vocabulary).

Nothing read can run code: no pickle, no ``eval``; an object is rebuilt only when its class
is trusted (a scikit-learn estimator, or one of the names the model lists in
``trusted_types``) with ``cls.__new__`` and ``__setstate__`` (or ``__dict__.update``).
"""

from __future__ import annotations

import builtins
import importlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from kagglekit.errors import RunError

TREE_FILE = "state.json"
ARRAYS_FILE = "state.npz"
FORMAT = "kagglekit-state"
VERSION = 1
# collections at least this long go into state.npz whole
BULK = 16
_BUILTIN_TYPES = {"int": int, "float": float, "bool": bool, "complex": complex, "str": str}
_SPARSE = (
    "csr_matrix",
    "csc_matrix",
    "coo_matrix",
    "lil_matrix",
    "dok_matrix",
    "dia_matrix",
    "bsr_matrix",
    "csr_array",
    "csc_array",
    "coo_array",
    "lil_array",
    "dok_array",
    "dia_array",
    "bsr_array",
)
_SKLEARN_NAME = re.compile(r"^sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class UntrustedType(RunError):
    """The state names a class the model does not trust."""


# -- saving ---------------------------------------------------------------------------------
class _Writer:
    def __init__(self):
        # ndarrays (Any: numpy's stub types savez's **kwds against its allow_pickle: bool)
        self.arrays: dict[str, Any] = {}

    def add(self, array: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def strings(self, items, kind: str) -> dict:
        items = list(items)
        data = "".join(items).encode("utf-8", "surrogatepass")
        key = self.add(np.frombuffer(data, dtype=np.uint8))
        self.arrays[key + ".n"] = np.fromiter(map(len, items), dtype=np.int64, count=len(items))
        return {"strings": key, "as": kind}

    def encode(self, value, where: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and type(value) in (int, float):
            return value
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if isinstance(value, np.generic):
            return {"scalar": value.dtype.str, "value": value.item()}
        if isinstance(value, dict):
            return self._dict(value, where)
        if isinstance(value, (list, tuple, set, frozenset)):
            kind = type(value).__name__ if type(value) in (list, tuple, set, frozenset) else None
            if kind is None:
                raise TypeError(f"{where}: cannot save a {type(value).__qualname__} without pickle")
            items = sorted(value) if kind in ("set", "frozenset") and _all_str(value) else value
            if len(value) >= BULK and _all_str(value):
                return self.strings(items, kind)
            encoded = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(items)]
            return encoded if kind == "list" else {kind: encoded}
        if isinstance(value, np.dtype):
            return {"dtype": value.str, "instance": True}
        if isinstance(value, type):
            if issubclass(value, np.generic):
                return {"dtype": np.dtype(value).str}
            if value in _BUILTIN_TYPES.values():
                return {"type": value.__name__}
            raise TypeError(f"{where}: cannot save the class {value.__qualname__}")
        if _is_sparse(value):
            csr = value.tocsr()
            key = self.add(np.asarray(csr.data))
            self.arrays[key + ".indices"] = np.asarray(csr.indices)
            self.arrays[key + ".indptr"] = np.asarray(csr.indptr)
            return {"sparse": type(value).__name__, "of": key, "shape": list(csr.shape)}
        return self._object(value, where)

    def _array(self, value: np.ndarray, where: str):
        if value.dtype != object:
            return {"ndarray": self.add(np.ascontiguousarray(value))}
        if _all_str(value.ravel()):
            node = self.strings(value.ravel().tolist(), "ndarray")
            node["shape"] = list(value.shape)
            return node
        raise TypeError(f"{where}: cannot save an object array of non-strings without pickle")

    def _dict(self, value: dict, where: str):
        if (
            len(value) >= BULK
            and _all_str(value.keys())
            and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value.values()
            )
        ):
            node = self.strings(value.keys(), "vocab")
            self.arrays[node["strings"] + ".v"] = np.fromiter(
                value.values(), dtype=np.int64, count=len(value)
            )
            return {"vocab": node["strings"]}
        if _all_str(value.keys()):
            return {"dict": {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}}
        return {
            "items": [
                [self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ]
        }

    def _object(self, value, where: str):
        cls = type(value)
        if callable(value) or not hasattr(value, "__dict__") or cls.__module__ == "builtins":
            raise TypeError(f"{where}: cannot save a {cls.__qualname__} without pickle")
        getter = getattr(value, "__getstate__", None)
        state = getter() if callable(getter) else None
        if state is None:
            state = dict(vars(value))
        if not isinstance(state, dict) or not _all_str(state.keys()):
            raise TypeError(f"{where}: cannot save a {cls.__qualname__} (its state is not a dict)")
        return {
            "object": f"{cls.__module__}.{cls.__qualname__}",
            "state": {k: self.encode(v, f"{where}.{k}") for k, v in state.items()},
        }


def _all_str(items) -> bool:
    return all(isinstance(k, str) for k in items)


def _is_sparse(value) -> bool:
    module = type(value).__module__ or ""
    return module.startswith("scipy.sparse") and type(value).__name__ in _SPARSE


def save_tree(obj, directory) -> None:
    """Write ``obj`` (a dict of fitted attributes, say) as state.json + state.npz in
    ``directory``. Raises TypeError naming the attribute for what it cannot save safely."""
    directory = Path(directory)
    writer = _Writer()
    root = writer.encode(obj, "state")
    with open(directory / ARRAYS_FILE, "wb") as fh:
        np.savez(fh, **writer.arrays)
    (directory / TREE_FILE).write_text(
        json.dumps({"format": FORMAT, "version": VERSION, "root": root}, separators=(",", ":")),
        encoding="utf-8",
    )


# -- loading --------------------------------------------------------------------------------
class _Reader:
    def __init__(self, arrays, trusted, path: Path, hint: str):
        self.arrays, self.trusted, self.path, self.hint = arrays, set(trusted), path, hint

    def array(self, key) -> np.ndarray:
        if not isinstance(key, str) or key not in self.arrays:
            raise _Damaged(f"refers to an array {key!r} that {ARRAYS_FILE} lacks")
        return self.arrays[key]

    def strings(self, key) -> list[str]:
        data, lengths = self.array(key), self.array(key + ".n")
        if data.dtype != np.uint8 or lengths.dtype.kind not in "iu":
            raise _Damaged(f"strings {key!r} are not bytes and lengths")
        text = data.tobytes().decode("utf-8", "surrogatepass")
        ends = np.cumsum(lengths)
        if len(ends) and (ends[-1] != len(text) or lengths.min() < 0):
            raise _Damaged(f"strings {key!r} do not match their lengths")
        starts = (ends - lengths).tolist()
        return [text[a:b] for a, b in zip(starts, ends.tolist())]

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise _Damaged(f"holds a node it cannot read: {_short(node)}")
        if "ndarray" in node:
            return self.array(node["ndarray"])
        if "strings" in node:
            items = self.strings(node["strings"])
            kind = node.get("as")
            if kind == "ndarray":
                return np.array(items, dtype=object).reshape(node.get("shape", [len(items)]))
            if kind not in ("list", "tuple", "set", "frozenset"):
                raise _Damaged(f"strings stored as {kind!r}")
            return getattr(builtins, kind)(items)
        if "vocab" in node:
            values = self.array(node["vocab"] + ".v")
            keys = self.strings(node["vocab"])
            if len(keys) != len(values):
                raise _Damaged("a vocabulary's terms and indices differ in number")
            return dict(zip(keys, values.tolist()))
        if "dict" in node:
            return {str(k): self.decode(v) for k, v in node["dict"].items()}
        if "items" in node:
            return {self.decode(k): self.decode(v) for k, v in node["items"]}
        for kind in ("tuple", "set", "frozenset"):
            if kind in node:
                return getattr(builtins, kind)(self.decode(v) for v in node[kind])
        if "scalar" in node:
            return np.dtype(node["scalar"]).type(node["value"])
        if "dtype" in node:
            dtype = np.dtype(str(node["dtype"]))
            return dtype if node.get("instance") else dtype.type
        if "type" in node:
            if node["type"] not in _BUILTIN_TYPES:
                raise _Damaged(f"names a type {node['type']!r}")
            return _BUILTIN_TYPES[node["type"]]
        if "sparse" in node:
            return self._sparse(node)
        if "object" in node:
            return self._object(node)
        raise _Damaged(f"holds a node it cannot read: {_short(node)}")

    def _sparse(self, node):
        import scipy.sparse

        name = node["sparse"]
        if name not in _SPARSE:
            raise _Damaged(f"names a sparse format {name!r}")
        key = node["of"]
        csr = scipy.sparse.csr_matrix(
            (self.array(key), self.array(key + ".indices"), self.array(key + ".indptr")),
            shape=tuple(node["shape"]),
        )
        fmt = name.split("_")[0]
        if name.endswith("_array"):
            return getattr(scipy.sparse, name)(csr.asformat(fmt))
        return csr.asformat(fmt)

    def _object(self, node):
        cls = self.resolve(node["object"])
        if not isinstance(node.get("state"), dict):
            raise _Damaged(f"an object of {node['object']} without its state")
        state = {str(k): self.decode(v) for k, v in node["state"].items()}
        obj = cls.__new__(cls)
        setter = getattr(obj, "__setstate__", None)
        if callable(setter):  # scikit-learn's estimators (which check their version)
            setter(state)
        else:
            obj.__dict__.update(state)
        return obj

    def resolve(self, name):
        """The class named ``name``: one of ``trusted``, or a scikit-learn estimator."""
        if not isinstance(name, str):
            raise _Damaged(f"names a class {_short(name)}")
        trusted = name in self.trusted
        if not trusted and not _SKLEARN_NAME.match(name):
            raise self._untrusted(name)
        module_name, _, qualname = name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), qualname, None)
        except ImportError:
            cls = None
        if not isinstance(cls, type):
            raise UntrustedType(
                f"{self.path}: names a class {name} that does not exist here; {self.hint}"
            )
        if not trusted:
            from sklearn.base import BaseEstimator

            if not issubclass(cls, BaseEstimator):
                raise self._untrusted(name)
        return cls

    def _untrusted(self, name) -> UntrustedType:
        return UntrustedType(
            f"{self.path}: holds types this model does not trust ({name}); "
            f"it was not made by this model: {self.hint}"
        )


class _Damaged(Exception):
    pass


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def has_tree(directory) -> bool:
    return (Path(directory) / TREE_FILE).is_file()


def load_tree(directory, trusted=(), hint: str = "re-create the run"):
    """The object ``save_tree`` wrote into ``directory``; ``trusted``: fully qualified names
    of the non-scikit-learn classes it may rebuild. Every problem is a RunError naming the
    file and ending with ``hint``."""
    directory = Path(directory)
    tree_path, arrays_path = directory / TREE_FILE, directory / ARRAYS_FILE
    for path in (tree_path, arrays_path):
        if not path.is_file():
            raise RunError(f"{path}: missing; the run is incomplete: {hint}")
    try:
        tree = json.loads(tree_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(
            f"{tree_path}: damaged or truncated ({type(exc).__name__}); {hint}"
        ) from None
    if not isinstance(tree, dict) or tree.get("format") != FORMAT or "root" not in tree:
        raise RunError(f"{tree_path}: not a saved model state; {hint}")
    if not isinstance(tree.get("version"), int) or tree["version"] > VERSION:
        raise RunError(
            f"{tree_path}: written by a newer kagglekit (state format "
            f"{tree.get('version')!r}, this one reads {VERSION}); upgrade kagglekit "
            f"or {hint}"
        )
    try:
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise RunError(
            f"{arrays_path}: damaged or truncated ({type(exc).__name__}); {hint}"
        ) from None
    reader = _Reader(arrays, trusted, tree_path, hint)
    try:
        return reader.decode(tree["root"])
    except _Damaged as exc:
        raise RunError(f"{tree_path}: damaged: {exc}; {hint}") from None
    except (KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise RunError(
            f"{tree_path}: damaged ({type(exc).__name__}: {_short(str(exc))}); {hint}"
        ) from None
