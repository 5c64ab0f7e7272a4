"""Where independent tasks run: in this process, in a local process pool, or on a Ray cluster.

An executor calls ``function(task, *shared)`` once per task and yields ``(task, result)`` as each
finishes, in any order. ``shared`` (the sample table with the paths of its cached inputs) is sent to each
worker once, not once per task; a cluster's workers on other machines get the inputs themselves. The
runner writes every result as it arrives, so an interrupted run keeps its finished tasks; tasks are
seeded from (seed, fold) and run with one thread (:mod:`microexp.threads`) wherever they run, so every
executor gives the same results, bit for bit.

Ray is an optional extra (``pip install 'microexp[distributed]'``): it is imported only when the
``ray`` executor runs.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from microexp.errors import ConfigError
from microexp.threads import one_thread

logger = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    def map(
        self,
        function: Callable[..., R],
        tasks: Sequence[T],
        shared: tuple[Any, ...],
        on_epoch: Callable[..., None] | None = None,
    ) -> Iterator[tuple[T, R]]:
        """Yield ``(task, function(task, *shared))`` for every task as it finishes. ``on_epoch`` reaches
        ``function`` only when it runs in this process (a callback cannot cross to another process)."""
        ...


_worker_state: dict[str, Any] = {}


def _init_pool_worker(function: Callable[..., Any], shared: tuple[Any, ...]) -> None:
    _worker_state["function"], _worker_state["shared"] = function, shared


def _run_in_pool_worker(task: Any) -> Any:
    with one_thread():
        return _worker_state["function"](task, *_worker_state["shared"])


@dataclass(frozen=True)
class LocalExecutor:
    """``workers`` = 1: in this process, in order, one thread. More: a pool of that many spawned processes."""

    workers: int = 1

    def map(self, function, tasks, shared, on_epoch=None):
        if self.workers <= 1:
            for task in tasks:
                with one_thread():  # not around the yield: the caller's work between tasks is its own
                    result = function(task, *shared, on_epoch=on_epoch)
                yield task, result
            return
        context = multiprocessing.get_context("spawn")  # fork after torch has started threads can deadlock
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_pool_worker, initargs=(function, shared)
        ) as pool:
            futures = {pool.submit(_run_in_pool_worker, task): task for task in tasks}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for future in futures:  # on an error or an early stop, do not train what nobody will read
                    future.cancel()


def _run_on_ray_worker(function: Callable[..., Any], task: Any, *shared: Any) -> Any:
    with one_thread():
        return function(task, *shared)


def ray_runtime_env() -> dict[str, Any]:
    """Ray job settings that upload this process's microexp package to every worker."""
    return {"py_modules": [str(Path(__file__).resolve().parents[1])]}


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the ray executor needs Ray, which is not installed; install the extra with "
            "pip install 'microexp[distributed]', or use --executor local"
        ) from None
    return ray


@dataclass(frozen=True)
class RayExecutor:
    """Tasks as Ray tasks: one GPU each when the cluster has GPUs, else one CPU each.

    ``address``: None starts a local cluster of ``num_cpus`` CPUs (None: all) for the duration of the
    run; ``"auto"`` joins the cluster started on this machine by ``ray start --head``;
    ``"ray://host:10001"`` connects through Ray Client. The connection ships this process's microexp to
    the workers, so they run the same code as the driver even where another version is installed (nodes
    then need only the dependencies). When the caller has already initialised Ray, that connection is used
    as it is and left open: pass it the same ``runtime_env`` (:func:`ray_runtime_env`) or install microexp
    on the nodes.
    """

    address: str | None = None
    num_cpus: int | None = None

    @property
    def remote(self) -> bool:
        """Whether tasks may run on other machines (a cluster joined by address): they then receive the
        model inputs themselves, not paths into this machine's input cache."""
        return self.address is not None

    def map(self, function, tasks, shared, on_epoch=None):
        ray = _import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(
                address=self.address,
                num_cpus=self.num_cpus if self.address is None else None,
                include_dashboard=False,
                logging_level=logging.WARNING,
                runtime_env=ray_runtime_env(),
            )
        pending: dict[Any, Any] = {}
        try:
            has_gpus = ray.cluster_resources().get("GPU", 0) > 0
            remote = ray.remote(_run_on_ray_worker).options(num_cpus=1, num_gpus=1 if has_gpus else 0)
            logger.info("ray: %d tasks, one %s each", len(tasks), "GPU" if has_gpus else "CPU")
            shared_refs = [ray.put(item) for item in shared]  # into the object store once, not once per task
            pending = {remote.remote(function, task, *shared_refs): task for task in tasks}
            while pending:
                [ready], _ = ray.wait(list(pending), num_returns=1)
                yield pending.pop(ready), ray.get(ready)
        finally:
            for ref in pending:  # on an error or an early stop, free the cluster for other work
                ray.cancel(ref)
            if started_here:
                ray.shutdown()


def make_executor(name: str, *, workers: int = 1, address: str | None = None) -> Executor:
    """The executor named on the command line. With ``ray`` and no address, ``workers`` is the size of
    the local cluster started for the run."""
    if type(workers) is not int or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    if name == "local":
        if address is not None:
            raise ConfigError(f"--address {address!r} applies to --executor ray only")
        return LocalExecutor(workers)
    if name == "ray":
        _import_ray()  # fail before any work when Ray is missing
        return RayExecutor(address, num_cpus=workers if address is None else None)
    raise ConfigError(f"unknown executor {name!r}; expected one of {EXECUTORS}")
