"""Reproducibility: one seed for every random number generator, and the device to run on."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from helpers._validation import check_seed


def seed_everything(seed: int = 0) -> int:
    """Seed Python, NumPy and PyTorch (CPU and CUDA) and ask PyTorch for deterministic kernels.

    Args:
        seed: an int in [0, 2**32 - 1] (NumPy accepts no larger seed).

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
