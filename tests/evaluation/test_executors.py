import subprocess
import sys

import pandas as pd
import pytest

from conftest import subprocess_env
from microexp.data.megc2019 import MEGC2019
from microexp.errors import ConfigError
from microexp.evaluation.executors import LocalExecutor, RayExecutor, make_executor, ray_runtime_env
from microexp.evaluation.runner import cross_validate
from microexp.training.config import TrainConfig

FAST = TrainConfig(epochs=2, batch_size=16, lr=1e-3)


@pytest.mark.slow  # about 45 s: most of it starting a Ray cluster and its workers
def test_ray_and_local_executors_give_identical_predictions(tiny_megc2019):
    ray = pytest.importorskip("ray")
    table = MEGC2019(tiny_megc2019).load()
    local = {
        "ststnet": cross_validate(table, "ststnet", seeds=[1], config=FAST, executor=LocalExecutor(1)),
        # Pool and Ray workers both run one thread, so even scikit-learn's solver ends on the same bits.
        "linear": cross_validate(table, "linear", seeds=[1], executor=LocalExecutor(2)),
    }
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=ray_runtime_env())
    try:
        for model, expected in local.items():
            config = FAST if model == "ststnet" else None
            on_ray = cross_validate(table, model, seeds=[1], config=config, executor=RayExecutor())
            pd.testing.assert_frame_equal(expected, on_ray)
    finally:
        ray.shutdown()


def test_ray_executor_without_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail as if it were not installed
    with pytest.raises(ConfigError, match=r"pip install 'microexp\[distributed\]'"):
        make_executor("ray")


def test_importing_microexp_does_not_import_ray():
    code = (
        "import sys, microexp, microexp.cli, microexp.evaluation.runner, microexp.evaluation.executors, "
        "microexp.evaluation.experiment; assert 'ray' not in sys.modules, 'ray was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert result.returncode == 0, result.stderr


def test_executor_names_and_options_are_checked():
    assert make_executor("local", workers=3) == LocalExecutor(3)
    with pytest.raises(ConfigError, match=r"unknown executor 'dask'; expected one of \('local', 'ray'\)"):
        make_executor("dask")
    with pytest.raises(ConfigError, match="--address 'auto' applies to --executor ray only"):
        make_executor("local", address="auto")


class FakeRay:
    """Just enough of Ray's API to see what the executor asks of a cluster with ``gpus`` GPUs."""

    def __init__(self, gpus):
        self.gpus, self.options, self.puts = gpus, None, []

    def is_initialized(self):
        return True  # connected by the caller: the executor must leave the connection open

    def cluster_resources(self):
        return {"CPU": 8.0, "GPU": float(self.gpus)} if self.gpus else {"CPU": 8.0}

    def put(self, value):
        self.puts.append(value)
        return value

    def remote(self, function):
        fake = self

        class Remote:
            def options(self, **options):
                fake.options = options
                return self

            def remote(self, *args):
                return function(*args)  # the "reference" is the result itself

        return Remote()

    def wait(self, refs, num_returns):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        return ref

    def cancel(self, ref):
        raise AssertionError("nothing is left to cancel after a complete run")

    def shutdown(self):
        raise AssertionError("a connection made by the caller is not the executor's to close")


def _scaled(task, factor):
    return task * factor


@pytest.mark.parametrize(("gpus", "wanted"), [(0, {"num_cpus": 1, "num_gpus": 0}), (2, {"num_cpus": 1, "num_gpus": 1})])
def test_ray_tasks_ask_for_a_gpu_when_the_cluster_has_them(monkeypatch, gpus, wanted):
    fake = FakeRay(gpus)
    monkeypatch.setitem(sys.modules, "ray", fake)
    results = dict(RayExecutor().map(_scaled, [1, 2, 3], (10,)))
    assert results == {1: 10, 2: 20, 3: 30}
    assert fake.options == wanted and fake.puts == [10]  # shared inputs go to the object store once
