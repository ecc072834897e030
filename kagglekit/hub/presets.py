"""``-p preset=<name, handle or directory>`` -> a local directory, with no hidden downloads.

A preset is given as one of:

1. a local directory: a KerasHub preset (``config.json`` with ``registered_name``,
   ``model.weights.h5``, ``tokenizer.json``, ``assets/``; what Kaggle mounts under
   ``/kaggle/input/<model>/keras/<variant>/<version>``), a Hugging Face layout directory
   (``config.json`` with ``model_type``, ``model.safetensors``, tokenizer files), a
   sentence-transformers directory, or a TensorFlow SavedModel (Universal Sentence Encoder);
2. a short alias (``distilbert``, ``distilbert-multilingual``, ``bert``, ``use``) or a
   KerasHub built-in preset name (``distil_bert_base_en_uncased``);
3. a remote handle: ``kaggle://owner/model/framework/variant[/version]`` or ``hf://org/model``.

Names and handles are first looked up in the mounted-model folders (``$KAGGLEKIT_PRESET_DIRS``,
then ``/kaggle/input``). Only when none holds them is the handle downloaded (through
``kagglehub`` / ``huggingface_hub``, into their own caches). Offline
(``KAGGLEKIT_OFFLINE=1``, ``HF_HUB_OFFLINE=1`` for ``hf://``, or a failed download) the
error says how to attach the weights instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from kagglekit.errors import KaggleKitError

ALIASES = {
    "distilbert": "distil_bert_base_en_uncased",
    "distilbert-multilingual": "distil_bert_base_multi",
    "bert": "bert_base_en_uncased",
    "bert-multilingual": "bert_base_multi",
    "use": "universal-sentence-encoder",
    "deberta-v3": "deberta_v3_base_en",
}

# Kaggle Models handles of the aliased presets, so resolving them needs no keras_hub import.
# Other KerasHub built-in names are looked up in keras_hub's own preset registry.
HANDLES = {
    "distil_bert_base_en_uncased": "kaggle://keras/distil_bert/keras/distil_bert_base_en_uncased/3",
    "distil_bert_base_multi": "kaggle://keras/distil_bert/keras/distil_bert_base_multi/3",
    "bert_base_en_uncased": "kaggle://keras/bert/keras/bert_base_en_uncased/3",
    "bert_base_multi": "kaggle://keras/bert/keras/bert_base_multi/3",
    "universal-sentence-encoder": "kaggle://google/universal-sentence-encoder/tensorFlow2/universal-sentence-encoder/2",
}

_TRUE = {"1", "true", "yes", "on"}


class PresetError(KaggleKitError):
    """A preset cannot be found, downloaded or read."""


@dataclass(frozen=True)
class Preset:
    """A resolved preset: the local directory and where it came from."""

    spec: str
    path: Path
    handle: str | None = None  # the remote handle it stands for, if any
    downloaded: bool = False

    @property
    def layout(self) -> str:
        return preset_layout(self.path)


def preset_layout(path: Path) -> str:
    """'keras', 'hf', 'sentence-transformers', 'savedmodel' or 'unknown'."""
    path = Path(path)
    if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
        return "savedmodel"
    config = path / "config.json"
    if config.is_file():
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise PresetError(f"{config}: not valid JSON ({exc})") from None
        if isinstance(data, dict) and "registered_name" in data:
            return "keras"
        if isinstance(data, dict) and "model_type" in data:
            return "sentence-transformers" if (path / "modules.json").is_file() else "hf"
    if (path / "modules.json").is_file():
        return "sentence-transformers"
    return "unknown"


def offline(scheme: str | None = None) -> bool:
    if os.environ.get("KAGGLEKIT_OFFLINE", "").lower() in _TRUE:
        return True
    if scheme == "hf" and os.environ.get("HF_HUB_OFFLINE", "").lower() in _TRUE:
        return True
    return False


def mount_roots() -> list[Path]:
    roots = [
        Path(p).expanduser()
        for p in os.environ.get("KAGGLEKIT_PRESET_DIRS", "").split(os.pathsep)
        if p.strip()
    ]
    roots.append(Path("/kaggle/input"))
    return roots


def builtin_handle(name: str) -> str | None:
    """The Kaggle handle of a KerasHub built-in preset name, or None."""
    if name in HANDLES:
        return HANDLES[name]
    if "/" in name or "://" in name:
        return None
    try:
        import keras_hub  # noqa: F401 - registers the built-in presets
        from keras_hub.src.utils.preset_utils import BUILTIN_PRESETS
    except ImportError:
        return None
    entry = BUILTIN_PRESETS.get(name)
    return entry.get("kaggle_handle") if entry else None


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~")) or os.sep in spec or (os.altsep or "\0") in spec


def _usable(path: Path) -> bool:
    return path.is_dir() and preset_layout(path) != "unknown"


def _version_key(path: Path):
    return (0, int(path.name), "") if path.name.isdigit() else (1, 0, path.name)


def find_mounted(name: str, handle: str | None, roots=None) -> Path | None:
    """A mounted copy of a preset: ``<root>/<name>`` or, for a Kaggle handle
    ``kaggle://owner/model/framework/variant[/version]``,
    ``<root>/<model>/<framework>/<variant>/<version>``
    (Kaggle's layout, framework matched case-insensitively; the handle's version if mounted,
    else the newest mounted one)."""
    roots = mount_roots() if roots is None else roots
    parts = None
    if handle and handle.startswith("kaggle://"):
        segs = handle[len("kaggle://") :].strip("/").split("/")
        if len(segs) in (4, 5):
            parts = segs
    for root in roots:
        if not root.is_dir():
            continue
        for candidate in (root / name, root / name.replace("-", "_")):
            if _usable(candidate):
                return candidate
        if parts is None:
            continue
        _, model, framework, variant = parts[:4]
        version = parts[4] if len(parts) == 5 else None
        model_dir = root / model
        if not model_dir.is_dir():
            continue
        for fw_dir in model_dir.iterdir():
            if fw_dir.name.lower() != framework.lower() or not (fw_dir / variant).is_dir():
                continue
            # the handle's version first, then whichever versions are mounted, newest first
            mounted = sorted(
                (p for p in (fw_dir / variant).iterdir() if p.is_dir()),
                key=_version_key,
                reverse=True,
            )
            versions = ([fw_dir / variant / version] if version else []) + mounted
            for v in versions:
                if _usable(v):
                    return v
    return None


def _attach_hint(handle: str) -> str:
    if handle.startswith("kaggle://"):
        segs = handle[len("kaggle://") :].split("/")
        mount = "/kaggle/input/" + "/".join(
            s.lower() if i == 2 else s for i, s in enumerate(segs[1:])
        )
        where = (
            f"in a Kaggle notebook add the model {'/'.join(segs[:4])} as an input "
            f"(it mounts at {mount}) and pass -p preset={mount}"
        )
    else:
        where = (
            "in a Kaggle notebook attach the files as a dataset and pass "
            "-p preset=/kaggle/input/<dataset>"
        )
    return (
        f"{where}; elsewhere download the preset directory once and pass -p preset=/path/to/it "
        f"(or put it in a folder listed in $KAGGLEKIT_PRESET_DIRS)"
    )


def _short_name(name: str) -> str:
    """The folder name a mounted copy would have: the variant of a Kaggle handle, the model
    of a Hugging Face handle, else the name itself."""
    if "://" not in name:
        return name
    scheme, _, rest = name.partition("://")
    segs = [s for s in rest.split("/") if s]
    if scheme == "kaggle" and len(segs) >= 4:
        return segs[3]
    return segs[-1] if segs else name


def _download(handle: str) -> Path:
    """Download a remote handle into kagglehub's / huggingface_hub's cache (tests replace this)."""
    scheme, _, rest = handle.partition("://")
    if scheme == "kaggle":
        try:
            import kagglehub
        except ImportError:
            raise ImportError(
                "downloading kaggle:// presets needs kagglehub: pip install kagglehub"
            ) from None
        return Path(kagglehub.model_download(rest))
    if scheme == "hf":
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            raise ImportError(
                "downloading hf:// presets needs huggingface_hub: pip install huggingface_hub"
            ) from None
        # only what kagglekit reads: configs, tokenizers, safetensors/Keras weights (not the
        # pytorch/onnx/openvino copies many repositories also carry)
        return Path(
            snapshot_download(
                rest,
                allow_patterns=["*.json", "*.txt", "*.safetensors", "*.h5", "*.model", "*.spm"],
            )
        )
    raise PresetError(
        f"unknown preset scheme {scheme!r} in {handle!r}; "
        f"expected kaggle://owner/model/framework/variant[/version] or hf://org/model"
    )


def check_local(spec) -> Path | None:
    """The preset directory ``spec`` names when it is a local path (checked: a folder in a
    layout kagglekit reads), else None (a name or handle: nothing is read or downloaded)."""
    spec = str(spec).strip()
    if "://" in spec:
        return None
    path = Path(spec).expanduser()
    if not (path.exists() or _looks_like_path(spec)):
        return None
    if not path.is_dir():
        what = "is a file, not a directory" if path.exists() else "no such directory"
        raise PresetError(
            f"preset {spec!r}: {what}; pass a preset directory "
            f"(config.json + weights), a name or a kaggle:// / hf:// handle"
        )
    if preset_layout(path) == "unknown":
        raise PresetError(
            f"preset directory {path} holds no config.json (KerasHub or Hugging Face "
            f"layout), modules.json (sentence-transformers) or saved_model.pb; "
            f"point -p preset= at the folder that contains them"
        )
    return path.resolve()


def resolve(spec: str | os.PathLike | None, *, what: str = "model") -> Preset:
    """Turn ``-p preset=...`` into a local directory; downloads only remote names and handles."""
    if spec is None or str(spec).strip() == "":
        raise PresetError(
            f"{what} needs weights: pass -p preset=<name, kaggle:// or hf:// handle, "
            f"or directory> (aliases: {', '.join(sorted(ALIASES))})"
        )
    spec = str(spec).strip()
    local = check_local(spec)
    if local is not None:
        return Preset(spec, local)
    name = ALIASES.get(spec, spec)
    if "://" in name:
        handle = name
    else:
        builtin = builtin_handle(name)
        if builtin is None:
            raise PresetError(
                f"unknown preset {spec!r}: expected a directory, an alias "
                f"({', '.join(sorted(ALIASES))}), a KerasHub preset name such as "
                f"'distil_bert_base_en_uncased', or a handle of the form "
                f"kaggle://owner/model/framework/variant[/version] or hf://org/model"
            )
        handle = builtin
    mounted = find_mounted(_short_name(name), handle)
    if mounted is not None:
        return Preset(spec, mounted.resolve(), handle)
    scheme = handle.split("://")[0]
    if scheme not in ("kaggle", "hf"):
        raise PresetError(
            f"preset {spec!r}: unsupported scheme {scheme!r}; expected kaggle:// or hf://"
        )
    if offline(scheme):
        raise PresetError(
            f"preset {spec!r} stands for the remote handle {handle} and this session "
            f"is offline; {_attach_hint(handle)}"
        )
    try:
        path = _download(handle)
    except (ImportError, PresetError) as exc:
        raise PresetError(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - every network/auth failure gets the same advice
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        raise PresetError(
            f"preset {spec!r} stands for the remote handle {handle}, which could not "
            f"be downloaded ({reason}); {_attach_hint(handle)}"
        ) from None
    return Preset(spec, Path(path).resolve(), handle, downloaded=True)
