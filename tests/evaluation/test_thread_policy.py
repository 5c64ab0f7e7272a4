"""One thread policy for every executor: --workers 1, --workers 2 and Ray write byte-identical predictions,
even when this process was started with several threads (no OMP_NUM_THREADS=1)."""

import cv2
import pytest
import torch

from microexp.evaluation.executors import LocalExecutor, RayExecutor, ray_runtime_env
from microexp.evaluation.study import evaluate, make_run_spec
from microexp.threads import one_thread

FAST = ["train.epochs=3", "train.batch_size=8"]


@pytest.fixture
def two_threads():
    """This process as a user's shell starts it on a machine with cores to spare."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _predictions(data_dir, out, executor):
    spec = make_run_spec(dataset="megc2019", data_dir=data_dir, model="fr", overrides=FAST)
    evaluate(spec, out, executor=executor, cache_dir=out.parent / "cache")
    return (out / "predictions.csv").read_bytes()


def test_one_thread_limits_torch_and_opencv_and_restores_them(two_threads):
    cv2_before = cv2.getNumThreads()
    with one_thread():
        assert torch.get_num_threads() == 1 and cv2.getNumThreads() == 1
    assert torch.get_num_threads() == 2 and cv2.getNumThreads() == cv2_before


def test_in_process_and_pool_workers_write_identical_predictions(tiny_megc2019, tmp_path, two_threads):
    in_process = _predictions(tiny_megc2019, tmp_path / "w1", LocalExecutor(1))
    assert torch.get_num_threads() == 2  # the limit held for the tasks only
    assert in_process == _predictions(tiny_megc2019, tmp_path / "w2", LocalExecutor(2))


@pytest.mark.slow  # about a minute: most of it starting a Ray cluster and its workers
def test_ray_workers_write_the_same_predictions_as_local_ones(tiny_megc2019, tmp_path, two_threads):
    ray = pytest.importorskip("ray")
    local = _predictions(tiny_megc2019, tmp_path / "w1", LocalExecutor(1))
    ray.init(num_cpus=2, include_dashboard=False, runtime_env=ray_runtime_env())
    try:
        assert _predictions(tiny_megc2019, tmp_path / "ray", RayExecutor()) == local
    finally:
        ray.shutdown()


def test_a_bundle_trains_with_one_thread_like_every_evaluation_task(tiny_megc2019, tmp_path, two_threads, monkeypatch):
    """`microexp train` under the same policy: a teacher bundle must not depend on the machine's cores."""
    from microexp.evaluation import runner
    from microexp.evaluation.study import train_bundle

    seen = []
    original = runner.train_on_rows

    def watched(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "train_on_rows", watched)
    spec = make_run_spec(dataset="megc2019", data_dir=tiny_megc2019, model="fr", overrides=FAST)
    train_bundle(spec, tmp_path / "bundle", cache_dir=tmp_path / "cache")
    assert seen == [1]
    assert torch.get_num_threads() == 2  # the machine's count is back for whatever follows
