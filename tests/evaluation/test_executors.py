import subprocess
import sys

import pandas as pd
import pytest

from conftest import subprocess_env
from microexp.data.megc2019 import MEGC2019
from microexp.errors import ConfigError
from microexp.evaluation.executors import LocalExecutor, RayExecutor, make_executor
from microexp.evaluation.runner import run_loso
from microexp.training.config import TrainConfig

FAST = TrainConfig(epochs=2, batch_size=16, lr=1e-3)


def test_ray_and_local_executors_give_identical_predictions(tiny_megc2019):
    pytest.importorskip("ray")
    table = MEGC2019(tiny_megc2019).load()
    local = run_loso(table, "ststnet", seeds=[1], config=FAST, executor=LocalExecutor(1))
    # A local Ray cluster of 2 CPUs, started and shut down by the executor.
    on_ray = run_loso(table, "ststnet", seeds=[1], config=FAST, executor=RayExecutor(num_cpus=2))
    pd.testing.assert_frame_equal(local, on_ray)


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
