"""Hide the start-up noise of TensorFlow, absl, XLA and CUDA (``failed call to cuInit``,
oneDNN notices, CPU-instruction notices, retracing warnings) unless ``kagglekit --verbose``.

Only the CLI calls ``quiet_libraries`` (importing kagglekit changes nothing). The logging
variables must be set before TensorFlow is imported, which kagglekit does lazily inside a
command; a variable the user set is left alone. Some notices are written by absl before
TensorFlow's log level applies, so TensorFlow's import itself runs with the process's
stderr (file descriptor 2) captured, and only the lines that are not known noise are
written back.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
import warnings

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # TensorFlow C++ INFO/WARNING/ERROR (cuInit, oneDNN)
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "3",
}
LOGGERS = ("tensorflow", "absl", "jax._src.xla_bridge", "h5py")
NOISE = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog",
            r"oneDNN custom operations are on",
            r"cudart_stub\.cc",
            r"cpu_feature_guard\.cc",
            r"To enable the following instructions",
            r"rebuild TensorFlow with the appropriate compiler flags",
            r"Could not find cuda drivers",
            r"failed call to cuInit",
            r"Unable to register cu\w+ factory",
            r"computation placer already registered",
            r"TF-TRT Warning",
            r"cuda_(platform|executor)\.cc",
            r"Attempting to register factory for plugin",
        ]
    )
)
NOISY_MODULES = ("tensorflow",)


def quiet_libraries() -> None:
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="tensorflow")
    warnings.filterwarnings("ignore", category=FutureWarning, module="(tensorflow|keras)")
    warnings.filterwarnings("ignore", message=".*retracing.*")
    if not any(isinstance(f, _QuietImport) for f in sys.meta_path) and not any(
        m in sys.modules for m in NOISY_MODULES
    ):
        sys.meta_path.insert(0, _QuietImport())


def noise_free(text: str) -> str:
    """``text`` without the lines that are known start-up noise."""
    return "".join(line for line in text.splitlines(keepends=True) if not NOISE.search(line))


@contextlib.contextmanager
def filtered_stderr():
    """Capture file descriptor 2 (C++ code writes there directly) and write back only the
    lines that are not noise."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = noise_free(tmp.read().decode("utf-8", errors="replace"))
            if kept:
                os.write(2, kept.encode("utf-8"))


class _QuietImport(importlib.abc.MetaPathFinder):
    """Runs the first import of TensorFlow inside ``filtered_stderr``."""

    def find_spec(self, name, path=None, target=None):
        if name not in NOISY_MODULES:
            return None
        sys.meta_path.remove(self)  # once: later imports are plain
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        real = spec.loader.exec_module

        def exec_module(module):
            with filtered_stderr():
                real(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]  # on purpose
        return spec
