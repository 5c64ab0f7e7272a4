"""One thread policy for all work that must give the same bits wherever it runs.

The thread count changes the order of floating point sums (torch's intra-op threads, BLAS, OpenCV's
parallel loops), and so trained weights and computed flows in their last bits, which then decide a
prediction now and then. Training tasks and input builds therefore run with one thread in every
executor: in this process (``--workers 1``), in a local pool's workers and on Ray's. One process per core
also beats threads on top for these small models: without the limit each worker's BLAS starts a thread
per core, measured 16x slower on 2 cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one torch, BLAS/OpenMP and OpenCV thread; the counts before are restored after."""
    import cv2
    import torch
    from threadpoolctl import threadpool_limits

    torch_threads, cv2_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv2_threads)
