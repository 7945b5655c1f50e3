"""Reproducibility: one seed for every random number generator, and the device to run on."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from helpers._validation import check_seed


def seed_everything(seed: int = 0, *, deterministic: bool = False) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); optionally ask for deterministic kernels.

    On the CPU, seeding is enough for a rerun with the same thread count to repeat bit for bit.
    ``deterministic=True`` also makes CUDA pick deterministic kernels (warning where none exists);
    it is off by default because the switch alone takes seconds (it imports the compiler stack).

    Args:
        seed: an int in [0, 2**32 - 1] (NumPy accepts no larger seed).
        deterministic: call ``torch.use_deterministic_algorithms(True, warn_only=True)`` and set
            the cuBLAS workspace that CUDA's deterministic matrix products need.

    Returns:
        The seed, so a notebook can print what it used.

    Raises:
        ValueError: ``seed`` is not an int in [0, 2**32 - 1].

    Example:
        >>> seed_everything(0)
        0
        >>> a = torch.rand(1); _ = seed_everything(0); bool(torch.rand(1) == a)
        True
    """
    check_seed(seed)
    if not isinstance(deterministic, bool):
        raise TypeError(f"`deterministic` must be True or False; got {deterministic!r}.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def get_device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU.

    Example:
        >>> get_device().type in {"cuda", "mps", "cpu"}
        True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
