"""One thread policy for all work that must give the same bits wherever it runs.

The thread count changes the order of floating point sums (torch's intra-op threads, BLAS, OpenCV's
parallel loops), and so trained weights and computed flows in their last bits, which then decide a
prediction now and then. Training tasks and input builds therefore run with one thread in every
executor: in this process (``--workers 1``), in a local pool's workers and on Ray's. One process per core
also beats threads on top for these small models: without the limit each worker's BLAS starts a thread
per core, measured 16x slower on 2 cores.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Torch is not imported for work that does not need it (a scikit-learn bundle's prediction: it costs a second
# and 200 MB). A block entered before torch was imported limits it when a module imports it inside the
# block (:func:`adopt_torch`), and restores the count torch started with.
_blocks: list[dict] = []


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one torch, BLAS/OpenMP and OpenCV thread; the counts before are restored after."""
    import cv2
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    block = {"torch_threads": torch.get_num_threads() if torch is not None else None}
    cv2_threads = cv2.getNumThreads()
    if torch is not None:
        torch.set_num_threads(1)
    cv2.setNumThreads(1)
    _blocks.append(block)
    try:
        with threadpool_limits(1):
            yield
    finally:
        _blocks.pop()
        torch = sys.modules.get("torch")
        if torch is not None and block["torch_threads"] is not None:
            torch.set_num_threads(block["torch_threads"])
        cv2.setNumThreads(cv2_threads)


def adopt_torch() -> None:
    """For a module that imports torch lazily, right after importing it: inside :func:`one_thread` blocks
    entered before torch existed, torch runs one thread too, and they restore its starting count."""
    torch = sys.modules.get("torch")
    if torch is None or not _blocks:
        return
    for block in _blocks:
        if block["torch_threads"] is None:
            block["torch_threads"] = torch.get_num_threads()
    torch.set_num_threads(1)
