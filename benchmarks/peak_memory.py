"""Peak resident memory of a command and every process it starts, summed over the process tree.

    python benchmarks/peak_memory.py -- microexp evaluate --dataset megc2019 ... --workers 2

A study's memory is the driver plus its workers at the same moment, which neither ``/usr/bin/time``
(largest single process) nor ``ru_maxrss`` of the children gives. Linux only: it reads /proc every
0.1 s, so a peak shorter than that can be missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(root: int) -> tuple[int, int]:
    """(summed RSS in bytes, number of processes) of ``root`` and all its descendants now."""
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack += _children(pid)
    return sum(_rss_bytes(p) for p in pids), len(pids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between samples")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to measure after --")
    start = time.perf_counter()
    process = subprocess.Popen(command)
    peak, peak_processes = 0, 0
    while process.poll() is None:
        rss, count = tree_rss(process.pid)
        if rss > peak:
            peak, peak_processes = rss, count
        time.sleep(args.interval)
    seconds = time.perf_counter() - start
    print("| command | exit | wall s | peak RSS, process tree (MiB) | processes at the peak |")
    print("|---|---|---|---|---|")
    print(f"| `{' '.join(command)}` | {process.returncode} | {seconds:.1f} | {peak / 2**20:.0f} | {peak_processes} |")
    sys.exit(process.returncode)


if __name__ == "__main__":
    main()
