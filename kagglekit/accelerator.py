"""TPU / GPU / CPU detection, distribution strategy, batch scaling and precision.

``describe_environment`` only looks (no framework import) and backs ``kagglekit env``.
``detect`` imports the Keras backend's framework and returns an ``Accelerator``:

- TensorFlow backend: a TPU VM (Kaggle's current TPUs, ``TPUClusterResolver(tpu="local")``)
  or a TPU node (Colab-style ``TPU_NAME``/``COLAB_TPU_ADDR`` address) -> ``TPUStrategy``;
  several GPUs -> ``MirroredStrategy``; else the default strategy. Any failure while
  probing a TPU (not only ValueError) falls through to the next option.
- JAX backend: ``jax.devices()``; several devices -> Keras ``DataParallel`` distribution.

Precision: bfloat16 on TPU, float16 on GPUs of compute capability >= 7.0, float32 otherwise.
The global batch size is the per-replica size times the number of replicas.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from kagglekit.errors import KaggleKitError

CHOICES = ("auto", "cpu", "gpu", "tpu")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def keras_backend() -> str:
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def hint_accelerator() -> str:
    """A cheap guess (no framework import): 'tpu', 'gpu' or 'cpu'."""
    if os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR") or _local_tpu_present():
        return "tpu"
    if Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi"):
        return "gpu"
    return "cpu"


def _local_tpu_present() -> bool:
    """A TPU VM exposes its chips as /dev/accel* (v2-v4) or /dev/vfio/* (v5+)."""
    if os.environ.get("TPU_ACCELERATOR_TYPE"):
        return True
    dev = Path("/dev")
    if not dev.is_dir():
        return False
    return any(dev.glob("accel*")) or any(p.name != "vfio" for p in (dev / "vfio").glob("*"))


def describe_environment(probe: bool = False, requested: str = "auto") -> dict:
    """What ``kagglekit env`` shows; ``probe=True`` imports the framework and runs detect()."""
    report = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "accelerator_hint": hint_accelerator(),
        "keras_backend": keras_backend(),
        "kaggle_notebook": Path("/kaggle/input").is_dir(),
        "packages": {
            name: _version(name)
            for name in (
                "kagglekit",
                "numpy",
                "pandas",
                "scikit-learn",
                "tensorflow",
                "keras",
                "keras-hub",
                "tokenizers",
                "jax",
                "kaggle",
            )
        },
    }
    if probe:
        report["accelerator"] = detect(requested).summary()
    return report


@dataclass
class Accelerator:
    kind: str  # "tpu", "gpu" or "cpu"
    backend: str  # "tensorflow", "jax", "torch"
    replicas: int = 1
    strategy: Any = None  # a tf.distribute.Strategy on the TensorFlow backend
    distribution: Any = None  # a keras.distribution.Distribution on JAX
    precision: str = "float32"  # Keras dtype policy name
    devices: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def global_batch_size(self, per_replica: int) -> int:
        return int(per_replica) * max(1, self.replicas)

    def scope(self):
        """Context in which models are built (the TF strategy's scope, or nothing)."""
        if self.strategy is not None:
            return self.strategy.scope()
        return contextlib.nullcontext()

    def apply(self, mixed_precision: bool = True) -> None:
        """Set Keras' dtype policy and (JAX) distribution for this process."""
        import keras

        keras.mixed_precision.set_global_policy(self.precision if mixed_precision else "float32")
        if self.backend == "jax" or self.distribution is not None:
            keras.distribution.set_distribution(self.distribution)  # None clears an old one

    def summary(self) -> dict:
        return {
            "kind": self.kind,
            "backend": self.backend,
            "replicas": self.replicas,
            "precision": self.precision,
            "devices": list(map(str, self.devices)),
            "strategy": type(self.strategy).__name__ if self.strategy is not None else None,
            "notes": list(self.notes),
        }


_DETECTED: dict = {}


def detect(
    requested: str = "auto",
    backend: str | None = None,
    *,
    tf=None,
    jax=None,
    keras_distribution=None,
) -> Accelerator:
    """Find the accelerator. ``tf``/``jax`` may be passed in (tests drive each branch with fakes).

    Without fakes the answer is remembered for the process: a TPU system is initialised
    once (initialising it again would drop the variables of models already on it).
    """
    if requested not in CHOICES:
        raise KaggleKitError(
            f"--accelerator must be one of {', '.join(CHOICES)}, got {requested!r}"
        )
    backend = backend or keras_backend()
    if tf is None and jax is None and keras_distribution is None:
        key = (requested, backend)
        if key not in _DETECTED:
            _DETECTED[key] = _detect(requested, backend, None, None, None)
        return _DETECTED[key]
    return _detect(requested, backend, tf, jax, keras_distribution)


def _detect(requested: str, backend: str, tf, jax, keras_distribution) -> Accelerator:
    if backend == "jax":
        return _detect_jax(requested, jax, keras_distribution)
    if backend == "tensorflow":
        return _detect_tf(requested, tf)
    # torch and others: let Keras place tensors; report what is visible
    return Accelerator(
        kind="cpu" if requested in ("auto", "cpu") else requested,
        backend=backend,
        notes=[f"backend {backend}: device placement left to Keras"],
    )


def _precision_for_gpus(tf, gpus) -> str:
    try:
        caps = [
            tf.config.experimental.get_device_details(g).get("compute_capability") for g in gpus
        ]
        if caps and all(c and tuple(c) >= (7, 0) for c in caps):
            return "mixed_float16"
    except Exception:  # noqa: BLE001 - details are optional
        pass
    return "float32"


def _try_tpu(tf):
    """(resolver, strategy) or raises; TPU VM first, then a TPU node address."""
    errors = []
    attempts = []
    if _local_tpu_present():
        attempts.append({"tpu": "local"})
    node = os.environ.get("TPU_NAME")
    colab = os.environ.get("COLAB_TPU_ADDR")
    if node:
        attempts.append({"tpu": node})
    elif colab:
        attempts.append({"tpu": colab if "://" in colab else f"grpc://{colab}"})
    if not attempts:
        # never probe the default resolver blindly: it asks a cloud metadata server
        raise RuntimeError("no TPU device (/dev/accel*, /dev/vfio) and no TPU_NAME/COLAB_TPU_ADDR")
    for kwargs in attempts:
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(**kwargs)
            if kwargs.get("tpu") != "local":
                tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            return tf.distribute.TPUStrategy(resolver)
        except Exception as exc:  # noqa: BLE001 - every TPU failure mode, not only ValueError
            errors.append(f"{kwargs or 'default'}: {type(exc).__name__}: {exc}")
    raise RuntimeError("; ".join(errors))


def _detect_tf(requested: str, tf) -> Accelerator:
    if tf is None:
        import tensorflow  # noqa: PLC0415 - lazy by design

        tf = tensorflow
    notes = []
    if requested == "tpu" or (requested == "auto" and hint_accelerator() == "tpu"):
        try:
            strategy = _try_tpu(tf)
            replicas = int(strategy.num_replicas_in_sync)
            return Accelerator(
                "tpu",
                "tensorflow",
                replicas,
                strategy=strategy,
                precision="mixed_bfloat16",
                devices=[f"TPU:{i}" for i in range(replicas)],
            )
        except Exception as exc:  # noqa: BLE001
            if requested == "tpu":
                raise KaggleKitError(f"--accelerator tpu: no TPU found ({exc})") from None
            notes.append(f"no TPU ({exc})")
    gpus = []
    try:
        gpus = list(tf.config.list_physical_devices("GPU"))
    except Exception as exc:  # noqa: BLE001
        notes.append(f"GPU probe failed: {exc}")
    if requested == "cpu":
        if gpus:  # keep TensorFlow off the visible GPUs
            notes.append(f"{len(gpus)} GPU(s) visible but --accelerator cpu: using /cpu:0")
            return Accelerator(
                "cpu",
                "tensorflow",
                1,
                strategy=tf.distribute.OneDeviceStrategy("/cpu:0"),
                precision="float32",
                devices=["CPU"],
                notes=notes,
            )
        gpus = []
    if requested in ("auto", "gpu"):
        if not gpus and requested == "gpu":
            raise KaggleKitError(
                "--accelerator gpu: TensorFlow sees no GPU; check the CUDA "
                'install (`python -c "import tensorflow as tf; '
                "print(tf.config.list_physical_devices('GPU'))\"`)"
            )
    if gpus:
        precision = _precision_for_gpus(tf, gpus)
        if len(gpus) > 1:
            strategy = tf.distribute.MirroredStrategy()
            return Accelerator(
                "gpu",
                "tensorflow",
                int(strategy.num_replicas_in_sync),
                strategy=strategy,
                precision=precision,
                devices=gpus,
                notes=notes,
            )
        return Accelerator(
            "gpu",
            "tensorflow",
            1,
            strategy=tf.distribute.get_strategy(),
            precision=precision,
            devices=gpus,
            notes=notes,
        )
    return Accelerator(
        "cpu",
        "tensorflow",
        1,
        strategy=tf.distribute.get_strategy(),
        precision="float32",
        devices=["CPU"],
        notes=notes,
    )


def _detect_jax(requested: str, jax, keras_distribution) -> Accelerator:
    if jax is None:
        import jax  # noqa: PLC0415
    note: str | None
    try:
        devices = list(jax.devices())
    except Exception as exc:  # noqa: BLE001
        devices = []
        note = f"jax.devices() failed: {exc}"
    else:
        note = None
    platform_ = getattr(devices[0], "platform", "cpu") if devices else "cpu"
    kind = {"tpu": "tpu", "gpu": "gpu", "cuda": "gpu", "rocm": "gpu"}.get(platform_, "cpu")
    if requested not in ("auto", kind):
        if requested == "cpu":
            cpus = list(jax.devices("cpu"))[:1]
            if keras_distribution is None:
                import keras

                keras_distribution = keras.distribution
            # a one-device mesh keeps Keras' variables and batches on the CPU
            return Accelerator(
                "cpu",
                "jax",
                1,
                precision="float32",
                devices=cpus,
                distribution=keras_distribution.DataParallel(devices=cpus),
                notes=[f"{kind} devices visible but --accelerator cpu"],
            )
        raise KaggleKitError(f"--accelerator {requested}: JAX sees only {kind} devices")
    precision = {"tpu": "mixed_bfloat16", "gpu": "mixed_float16"}.get(kind, "float32")
    if kind == "gpu":
        cc = getattr(devices[0], "compute_capability", None)
        if cc is not None and float(cc) < 7.0:
            precision = "float32"
    distribution = None
    if len(devices) > 1:
        if keras_distribution is None:
            import keras

            keras_distribution = keras.distribution
        distribution = keras_distribution.DataParallel(devices=devices)
    acc = Accelerator(
        kind,
        "jax",
        max(1, len(devices)),
        distribution=distribution,
        precision=precision,
        devices=devices,
    )
    if note:
        acc.notes.append(note)
    return acc
