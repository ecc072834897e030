"""Accelerator detection: every branch driven with fake ``tf`` / ``jax`` modules."""

from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest

from kagglekit import accelerator
from kagglekit.accelerator import Accelerator, detect
from kagglekit.errors import KaggleKitError


class FakeStrategy:
    def __init__(self, kind: str, replicas: int = 1, arg=None):
        self.kind = kind
        self.num_replicas_in_sync = replicas
        self.arg = arg
        self.entered = 0

    @contextlib.contextmanager
    def scope(self):
        self.entered += 1
        yield


class TPUInitError(Exception):
    """Stands for tf.errors.NotFoundError & co., which are not ValueErrors."""


class FakeTF:
    """Just enough of tensorflow's API for ``accelerator._detect_tf``."""

    def __init__(
        self,
        gpus=(),
        caps=None,
        tpu_replicas=8,
        tpu_error=None,
        resolver_error=None,
        details_error=None,
    ):
        self.calls = []
        self._gpus = list(gpus)
        self._caps = caps or {}
        self._tpu_replicas = tpu_replicas
        self._tpu_error = tpu_error
        self._resolver_error = resolver_error
        self._details_error = details_error
        fake = self

        def resolver(**kwargs):
            fake.calls.append(("resolver", kwargs))
            if fake._resolver_error:
                raise fake._resolver_error
            return SimpleNamespace(kwargs=kwargs)

        def connect(resolver):
            fake.calls.append(("connect", resolver.kwargs))

        def initialize(resolver):
            fake.calls.append(("initialize", resolver.kwargs))
            if fake._tpu_error:
                raise fake._tpu_error

        def list_devices(kind):
            fake.calls.append(("list", kind))
            return list(fake._gpus) if kind == "GPU" else []

        def details(device):
            if fake._details_error:
                raise fake._details_error
            return {"compute_capability": fake._caps.get(device)}

        self.distribute = SimpleNamespace(
            cluster_resolver=SimpleNamespace(TPUClusterResolver=resolver),
            TPUStrategy=lambda r: FakeStrategy("tpu", fake._tpu_replicas, r),
            MirroredStrategy=lambda: FakeStrategy("mirrored", len(fake._gpus)),
            OneDeviceStrategy=lambda device: FakeStrategy("one", 1, device),
            get_strategy=lambda: FakeStrategy("default", 1),
        )
        self.config = SimpleNamespace(
            list_physical_devices=list_devices,
            experimental_connect_to_cluster=connect,
            experimental=SimpleNamespace(get_device_details=details),
        )
        self.tpu = SimpleNamespace(experimental=SimpleNamespace(initialize_tpu_system=initialize))

    def called(self, name):
        return [c[1] for c in self.calls if c[0] == name]


@pytest.fixture
def no_tpu_env(monkeypatch):
    for var in ("TPU_NAME", "COLAB_TPU_ADDR", "TPU_ACCELERATOR_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(accelerator, "_local_tpu_present", lambda: False)
    return monkeypatch


@pytest.fixture
def tpu_vm(no_tpu_env):
    no_tpu_env.setattr(accelerator, "_local_tpu_present", lambda: True)
    return no_tpu_env


# ---------------------------------------------------------------------------- TPU
def test_tpu_vm_uses_local_resolver_without_connecting(tpu_vm):
    tf = FakeTF(tpu_replicas=8)
    acc = detect("auto", "tensorflow", tf=tf)
    assert (acc.kind, acc.backend, acc.replicas) == ("tpu", "tensorflow", 8)
    assert acc.precision == "mixed_bfloat16"
    assert acc.strategy.kind == "tpu"
    assert tf.called("resolver") == [{"tpu": "local"}]
    assert tf.called("connect") == []  # TPU VMs need no remote connection
    assert tf.called("initialize") == [{"tpu": "local"}]
    assert acc.global_batch_size(64) == 512
    assert acc.devices == [f"TPU:{i}" for i in range(8)]


def test_tpu_node_from_tpu_name_connects_first(no_tpu_env):
    no_tpu_env.setenv("TPU_NAME", "grpc://10.0.0.2:8470")
    tf = FakeTF(tpu_replicas=8)
    acc = detect("auto", "tensorflow", tf=tf)
    assert acc.kind == "tpu"
    assert tf.called("resolver") == [{"tpu": "grpc://10.0.0.2:8470"}]
    assert tf.called("connect") == [{"tpu": "grpc://10.0.0.2:8470"}]
    order = [c[0] for c in tf.calls if c[0] in ("connect", "initialize")]
    assert order == ["connect", "initialize"]


def test_colab_tpu_address_gets_grpc_scheme(no_tpu_env):
    no_tpu_env.setenv("COLAB_TPU_ADDR", "10.1.2.3:8470")
    tf = FakeTF()
    acc = detect("auto", "tensorflow", tf=tf)
    assert acc.kind == "tpu"
    assert tf.called("resolver") == [{"tpu": "grpc://10.1.2.3:8470"}]


def test_tpu_vm_failure_falls_back_to_node_address(tpu_vm):
    tpu_vm.setenv("TPU_NAME", "my-node")
    tf = FakeTF()
    calls = {"n": 0}
    original = tf.tpu.experimental.initialize_tpu_system

    def first_fails(resolver):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TPUInitError("local TPU busy")
        return original(resolver)

    tf.tpu.experimental.initialize_tpu_system = first_fails
    acc = detect("auto", "tensorflow", tf=tf)
    assert acc.kind == "tpu"
    assert tf.called("resolver") == [{"tpu": "local"}, {"tpu": "my-node"}]


@pytest.mark.parametrize(
    "error",
    [
        TPUInitError("NotFoundError: no TPU"),
        RuntimeError("boom"),
        KeyError("TPU_NAME"),
        ValueError("Please provide a TPU Name"),
    ],
)
def test_any_tpu_init_error_falls_back_to_cpu_with_a_note(tpu_vm, error):
    tf = FakeTF(tpu_error=error)
    acc = detect("auto", "tensorflow", tf=tf)
    assert acc.kind == "cpu" and acc.replicas == 1 and acc.precision == "float32"
    assert any("no TPU" in n and type(error).__name__ in n for n in acc.notes)


def test_tpu_resolver_error_falls_back_to_gpu(tpu_vm):
    tf = FakeTF(gpus=["GPU:0"], caps={"GPU:0": (8, 0)}, resolver_error=OSError("metadata"))
    acc = detect("auto", "tensorflow", tf=tf)
    assert acc.kind == "gpu" and acc.precision == "mixed_float16"


def test_requested_tpu_failure_is_one_clear_error(tpu_vm):
    tf = FakeTF(tpu_error=TPUInitError("TPU not found in the cluster"))
    with pytest.raises(KaggleKitError, match="--accelerator tpu: no TPU found.*not found"):
        detect("tpu", "tensorflow", tf=tf)


def test_requested_tpu_without_any_tpu_hint(no_tpu_env):
    tf = FakeTF()
    with pytest.raises(KaggleKitError, match="no TPU device"):
        detect("tpu", "tensorflow", tf=tf)
    assert tf.called("resolver") == []  # never asks a metadata server blindly


def test_auto_without_tpu_hint_never_probes_a_tpu(no_tpu_env):
    tf = FakeTF()
    acc = detect("auto", "tensorflow", tf=tf)
    assert acc.kind == "cpu"
    assert tf.called("resolver") == [] and tf.called("initialize") == []


def test_tpu_hint_from_environment(no_tpu_env):
    assert accelerator.hint_accelerator() in ("cpu", "gpu")
    no_tpu_env.setenv("COLAB_TPU_ADDR", "10.0.0.1:8470")
    assert accelerator.hint_accelerator() == "tpu"


def test_local_tpu_present_from_accelerator_type(monkeypatch):
    monkeypatch.setenv("TPU_ACCELERATOR_TYPE", "v3-8")
    assert accelerator._local_tpu_present() is True


# ---------------------------------------------------------------------------- GPU / CPU
def test_several_gpus_use_mirrored_strategy(no_tpu_env):
    tf = FakeTF(gpus=["GPU:0", "GPU:1"], caps={"GPU:0": (7, 5), "GPU:1": (7, 5)})
    acc = detect("auto", "tensorflow", tf=tf)
    assert (acc.kind, acc.replicas, acc.strategy.kind) == ("gpu", 2, "mirrored")
    assert acc.precision == "mixed_float16"
    assert acc.global_batch_size(32) == 64
    assert acc.devices == ["GPU:0", "GPU:1"]


def test_mixed_gpu_generations_stay_float32(no_tpu_env):
    tf = FakeTF(gpus=["GPU:0", "GPU:1"], caps={"GPU:0": (8, 0), "GPU:1": (6, 1)})
    assert detect("auto", "tensorflow", tf=tf).precision == "float32"


@pytest.mark.parametrize(
    "cap,precision",
    [
        ((7, 0), "mixed_float16"),
        ((8, 6), "mixed_float16"),
        ((6, 0), "float32"),
        ((3, 7), "float32"),
        (None, "float32"),
    ],
)
def test_one_gpu_precision_follows_compute_capability(no_tpu_env, cap, precision):
    tf = FakeTF(gpus=["GPU:0"], caps={"GPU:0": cap})
    acc = detect("auto", "tensorflow", tf=tf)
    assert (acc.kind, acc.replicas, acc.strategy.kind) == ("gpu", 1, "default")
    assert acc.precision == precision
    assert acc.global_batch_size(32) == 32


def test_gpu_details_failure_means_float32(no_tpu_env):
    tf = FakeTF(gpus=["GPU:0"], details_error=RuntimeError("no details"))
    assert detect("auto", "tensorflow", tf=tf).precision == "float32"


def test_cpu_only(no_tpu_env):
    acc = detect("auto", "tensorflow", tf=FakeTF())
    assert (acc.kind, acc.replicas, acc.precision, acc.strategy.kind) == (
        "cpu",
        1,
        "float32",
        "default",
    )
    assert acc.summary()["strategy"] == "FakeStrategy"


def test_gpu_probe_failure_is_noted(no_tpu_env):
    tf = FakeTF()

    def broken(kind):
        raise RuntimeError("driver mismatch")

    tf.config.list_physical_devices = broken
    acc = detect("auto", "tensorflow", tf=tf)
    assert acc.kind == "cpu" and any("driver mismatch" in n for n in acc.notes)


# ---------------------------------------------------------------------------- overrides
def test_requested_gpu_without_gpu_is_an_error(no_tpu_env):
    with pytest.raises(KaggleKitError, match="--accelerator gpu: TensorFlow sees no GPU"):
        detect("gpu", "tensorflow", tf=FakeTF())


def test_requested_gpu_on_a_tpu_vm_skips_the_tpu(tpu_vm):
    tf = FakeTF(gpus=["GPU:0"], caps={"GPU:0": (7, 0)})
    acc = detect("gpu", "tensorflow", tf=tf)
    assert acc.kind == "gpu" and tf.called("resolver") == []


def test_requested_cpu_keeps_tensorflow_off_visible_gpus(tpu_vm):
    tf = FakeTF(gpus=["GPU:0", "GPU:1"], caps={"GPU:0": (8, 0), "GPU:1": (8, 0)})
    acc = detect("cpu", "tensorflow", tf=tf)
    assert (acc.kind, acc.replicas, acc.precision) == ("cpu", 1, "float32")
    assert acc.strategy.kind == "one" and acc.strategy.arg == "/cpu:0"
    assert tf.called("resolver") == []


def test_unknown_accelerator_is_rejected():
    with pytest.raises(KaggleKitError, match="must be one of auto, cpu, gpu, tpu, got 'npu'"):
        detect("npu", "tensorflow", tf=FakeTF())


def test_other_backends_leave_placement_to_keras():
    acc = detect("auto", "torch")
    assert acc.kind == "cpu" and acc.backend == "torch" and acc.notes


def test_detection_is_remembered_per_process(monkeypatch):
    calls = []

    def fake_detect(requested, backend, tf, jax, dist):
        calls.append((requested, backend))
        return Accelerator("cpu", backend)

    monkeypatch.setattr(accelerator, "_DETECTED", {})
    monkeypatch.setattr(accelerator, "_detect", fake_detect)
    first = detect("auto", "tensorflow")
    assert detect("auto", "tensorflow") is first
    detect("cpu", "tensorflow")
    assert calls == [("auto", "tensorflow"), ("cpu", "tensorflow")]


# ---------------------------------------------------------------------------- JAX
class FakeDevice:
    def __init__(self, platform, i=0, cc=None):
        self.platform = platform
        self.id = i
        if cc is not None:
            self.compute_capability = cc

    def __repr__(self):
        return f"{self.platform}:{self.id}"


class FakeJax:
    def __init__(self, devices, cpus=None, error=None):
        self._devices = devices
        self._cpus = cpus or [FakeDevice("cpu")]
        self._error = error

    def devices(self, kind=None):
        if self._error:
            raise self._error
        return self._cpus if kind == "cpu" else self._devices


class FakeDistribution:
    def __init__(self):
        self.made = []

    def DataParallel(self, devices):  # noqa: N802 - mirrors keras.distribution
        self.made.append(list(devices))
        return SimpleNamespace(devices=list(devices))


def test_jax_one_cpu_device():
    dist = FakeDistribution()
    acc = detect("auto", "jax", jax=FakeJax([FakeDevice("cpu")]), keras_distribution=dist)
    assert (acc.kind, acc.backend, acc.replicas, acc.precision) == ("cpu", "jax", 1, "float32")
    assert acc.distribution is None and dist.made == []
    assert acc.strategy is None
    with acc.scope():  # no strategy: a no-op context
        pass


def test_jax_many_tpu_devices_use_data_parallel():
    devices = [FakeDevice("tpu", i) for i in range(8)]
    dist = FakeDistribution()
    acc = detect("auto", "jax", jax=FakeJax(devices), keras_distribution=dist)
    assert (acc.kind, acc.replicas, acc.precision) == ("tpu", 8, "mixed_bfloat16")
    assert dist.made == [devices] and acc.distribution.devices == devices
    assert acc.global_batch_size(16) == 128


@pytest.mark.parametrize("cc,precision", [("8.0", "mixed_float16"), ("6.1", "float32")])
def test_jax_gpus(cc, precision):
    devices = [FakeDevice("gpu", i, cc) for i in range(2)]
    dist = FakeDistribution()
    acc = detect("auto", "jax", jax=FakeJax(devices), keras_distribution=dist)
    assert (acc.kind, acc.replicas, acc.precision) == ("gpu", 2, precision)
    assert len(dist.made) == 1


def test_jax_devices_failure_is_noted():
    acc = detect(
        "auto",
        "jax",
        jax=FakeJax([], error=RuntimeError("no backend")),
        keras_distribution=FakeDistribution(),
    )
    assert acc.kind == "cpu" and acc.replicas == 1
    assert any("no backend" in n for n in acc.notes)


def test_jax_requested_tpu_on_cpu_is_an_error():
    with pytest.raises(KaggleKitError, match="--accelerator tpu: JAX sees only cpu devices"):
        detect(
            "tpu", "jax", jax=FakeJax([FakeDevice("cpu")]), keras_distribution=FakeDistribution()
        )


def test_jax_requested_cpu_with_gpus_pins_a_cpu_mesh():
    cpu = FakeDevice("cpu")
    dist = FakeDistribution()
    acc = detect(
        "cpu",
        "jax",
        jax=FakeJax([FakeDevice("gpu", 0, "8.0")], cpus=[cpu]),
        keras_distribution=dist,
    )
    assert (acc.kind, acc.replicas, acc.precision) == ("cpu", 1, "float32")
    assert dist.made == [[cpu]]


# ---------------------------------------------------------------------------- Accelerator
def test_accelerator_scope_enters_the_strategy():
    strategy = FakeStrategy("mirrored", 2)
    acc = Accelerator("gpu", "tensorflow", 2, strategy=strategy)
    with acc.scope():
        pass
    assert strategy.entered == 1
    assert acc.global_batch_size(8) == 16
    assert Accelerator("cpu", "tensorflow", 0).global_batch_size(8) == 8


def test_describe_environment_does_not_probe_by_default():
    report = accelerator.describe_environment()
    assert report["accelerator_hint"] in ("cpu", "gpu", "tpu")
    assert "accelerator" not in report
    assert "tokenizers" in report["packages"]
