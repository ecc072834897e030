"""What ``kagglekit auto`` runs on the machine it finds, and why.

    everywhere                      tfidf-nb, tfidf-lr, nbsvm
    weights attached                sentence-encoder (frozen) and transformer (fine-tuned)
      (a folder in $KAGGLEKIT_PRESET_DIRS or /kaggle/input in a layout kagglekit reads)
    embeddings attached             bigru on those word vectors
      (glove*/paragram*/wiki-news*/crawl-*/*.vec files there or in the data folder)
    a GPU or TPU                    the transformer family first

``--models`` replaces the portfolio. A model whose extra is not installed is left out, and
the reason said.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

BASELINES = ("tfidf-lr", "nbsvm", "tfidf-nb")
# word-vector files as Kaggle competitions and datasets ship them
EMBEDDING_PATTERNS = (
    "glove*.txt",
    "paragram*.txt",
    "wiki-news*.vec",
    "crawl-*.vec",
    "*.vec",
)
SEARCH_DEPTH = 4  # /kaggle/input/<model>/keras/<variant>/<version>


@dataclass
class Candidate:
    """One model ``auto`` may run: its name, the -p assignments it gets, and why."""

    model: str
    assignments: tuple[str, ...] = ()
    why: str = ""
    family: str = ""
    neural: bool = False

    @property
    def label(self) -> str:
        extra = ", ".join(a.split("=", 1)[0] + "=" + _short(a) for a in self.assignments)
        return self.model + (f" ({extra})" if extra else "")

    def record(self) -> dict:
        return {
            "model": self.model,
            "params": list(self.assignments),
            "why": self.why,
            "family": self.family,
            "neural": self.neural,
        }


@dataclass
class Environment:
    """What the machine offers: its accelerator (a cheap guess), attached weights and
    embeddings."""

    accelerator: str  # cpu | gpu | tpu
    cores: int
    presets: list[Path] = field(default_factory=list)
    embeddings: list[Path] = field(default_factory=list)

    def record(self) -> dict:
        return {
            "accelerator": self.accelerator,
            "cores": self.cores,
            "presets": [str(p) for p in self.presets],
            "embeddings": [str(p) for p in self.embeddings],
        }


def _short(assignment: str) -> str:
    value = assignment.split("=", 1)[-1]
    return Path(value).name if os.sep in value else value


def find_environment(data_dir: Path | None = None) -> Environment:
    from kagglekit.accelerator import hint_accelerator
    from kagglekit.executors.local import available_cores
    from kagglekit.hub.presets import mount_roots

    roots = [r for r in mount_roots() if r.is_dir()]
    return Environment(
        accelerator=hint_accelerator(),
        cores=len(available_cores()),
        presets=find_presets(roots),
        embeddings=find_embeddings([*roots, *([Path(data_dir)] if data_dir else [])]),
    )


def find_presets(roots: list[Path]) -> list[Path]:
    """Folders under ``roots`` holding a checkpoint kagglekit reads (KerasHub, Hugging
    Face or sentence-transformers layout), sorted."""
    from kagglekit.hub.presets import PresetError, preset_layout

    found = []
    for directory in _walk(roots):
        try:
            layout = preset_layout(directory)
        except PresetError:
            continue
        if layout in ("keras", "hf", "sentence-transformers"):
            found.append(directory)
    return sorted(set(found))


def find_embeddings(roots: list[Path]) -> list[Path]:
    found: set[Path] = set()
    for directory in _walk(roots):
        for pattern in EMBEDDING_PATTERNS:
            found.update(p for p in directory.glob(pattern) if p.is_file())
    return sorted(found)


def _walk(roots: list[Path]):
    for root in roots:
        stack = [(Path(root), 0)]
        while stack:
            directory, depth = stack.pop()
            yield directory
            if depth >= SEARCH_DEPTH:
                continue
            try:
                children = sorted(p for p in directory.iterdir() if p.is_dir())
            except OSError:
                continue
            stack.extend((c, depth + 1) for c in reversed(children))


def choose(env: Environment, models: list[str] | None = None) -> tuple[list[Candidate], list[str]]:
    """(the candidates in the order they run, notes on what was left out and why)."""
    from kagglekit import plugins
    from kagglekit.params import model_extra

    registry = plugins.models()
    notes: list[str] = []
    wanted: list[Candidate] = []
    if models:
        for name in models:
            wanted.append(Candidate(registry.resolve(name), why="asked for (--models)"))
    else:
        wanted += [Candidate(m, why="everywhere: fast, strong on text") for m in BASELINES]
        if env.presets:
            preset = str(env.presets[0])
            more = f" (of {len(env.presets)} found)" if len(env.presets) > 1 else ""
            wanted.append(
                Candidate(
                    "sentence-encoder",
                    (f"preset={preset}",),
                    f"weights attached: {Path(preset).name}{more}, frozen",
                )
            )
            wanted.append(
                Candidate(
                    "transformer",
                    (f"preset={preset}",),
                    f"weights attached: {Path(preset).name}, fine-tuned",
                )
            )
        else:
            notes.append(
                "no pretrained weights attached ($KAGGLEKIT_PRESET_DIRS, /kaggle/input): "
                "no transformer or sentence encoder"
            )
        if env.embeddings:
            vectors = str(env.embeddings[0])
            wanted.append(
                Candidate(
                    "bigru",
                    (f"embeddings={vectors}",),
                    f"embeddings attached: {Path(vectors).name}",
                )
            )
        else:
            notes.append("no word embeddings attached: no RNN")
    out = []
    for cand in wanted:
        cls = registry.get(cand.model)
        cand.family = registry.owner(cand.model)
        cand.neural = model_extra(cls) is not None
        missing = _missing_extra(cls)
        if missing:
            notes.append(f"{cand.model} left out: {missing}")
            continue
        out.append(cand)
    if env.accelerator in ("gpu", "tpu"):  # on an accelerator the transformers lead
        out.sort(key=lambda c: 0 if c.family == "transformer" else 1)
    else:  # on CPU the cheap models first: their times tell what else fits
        out.sort(key=lambda c: 1 if c.neural else 0)
    return out, notes


def _missing_extra(cls) -> str | None:
    from kagglekit.params import check_installed

    try:
        check_installed(getattr(cls, "name", "model"), cls)
    except Exception as exc:  # noqa: BLE001 - the one-line reason is what is said
        return str(exc)
    return None
