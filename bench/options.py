"""The command line that bench/mnist.py and bench/cnn.py share, and the BLAS thread count it sets.

The thread count must reach the environment before numpy (and its BLAS library) is imported: a script calls
`parse` first, then imports numpy.
"""
from __future__ import annotations

import argparse
import ctypes
import os


def parse(description: str, target: float, *, mallopt: bool = False, profile: bool = False) -> argparse.Namespace:
    """The benchmark's options (--threads, --seeds, --no-torch, --target, --no-mallopt where `mallopt`, --profile
    where `profile`); sets the thread variables."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--threads", type=int, default=1, help="BLAS (and torch) threads, default 1")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds, default 0 1 2")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    parser.add_argument("--target", type=float, default=target, help=f"test accuracy to reach, default {target}")
    if mallopt:
        parser.add_argument("--no-mallopt", action="store_true", help="leave glibc's allocator at its defaults")
    if profile:
        parser.add_argument("--profile", action="store_true",
                            help="instead of the race, time each of nnlib's layers in training steps (first seed)")
    options = parser.parse_args()
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(options.threads)  # read by the BLAS libraries when they load: before numpy
    return options


def keep_freed_memory() -> str:
    """Ask glibc's malloc to serve large arrays from its heap and never give freed memory back to the system.

    Returns what was done, for the benchmark's report."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return "not glibc: allocator left at its defaults"
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
    if libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1):
        return "glibc malloc keeps freed memory (mallopt: mmap threshold 1 GiB, trim threshold 2 GiB)"
    return "mallopt refused: allocator left at its defaults"
