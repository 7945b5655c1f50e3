"""Reproducibility: one seed for every random number generator, and the device to run on."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) and ask PyTorch for deterministic kernels.

    Args:
        seed: a non-negative int.

    Returns:
        The seed, so a notebook can print what it used.

    Example:
        >>> seed_everything(0)
        0
        >>> a = torch.rand(1); _ = seed_everything(0); bool(torch.rand(1) == a)
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative int; got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
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
