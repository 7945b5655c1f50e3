"""helpers.repro: one seed for Python, NumPy and PyTorch; the device choice; bad seeds."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from helpers.repro import get_device, seed_everything


@pytest.fixture(autouse=True)
def restore_global_state(monkeypatch):
    """seed_everything changes process-wide state; put it back so other tests see what they expect."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)  # restored after the test
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    yield
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    random.setstate(states[0])
    np.random.set_state(states[1])
    torch.set_rng_state(states[2])


def draws() -> tuple[float, list[float], list[float]]:
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_seed_everything_seeds_all_three_generators_like_their_own_seeding():
    assert seed_everything(123) == 123
    python_draw, numpy_draws, torch_draws = draws()
    assert python_draw == random.Random(123).random()
    assert numpy_draws == np.random.RandomState(123).rand(3).tolist()
    assert torch_draws == torch.rand(3, generator=torch.Generator().manual_seed(123)).tolist()


def test_same_seed_same_draws_other_seed_other_draws():
    seed_everything(7)
    first = draws()
    seed_everything(7)
    assert draws() == first
    seed_everything(8)
    other = draws()
    assert all(a != b for a, b in zip(other, first, strict=True))


def test_seed_everything_leaves_kernel_choice_alone_by_default():
    torch.use_deterministic_algorithms(False)
    seed_everything(0)
    assert not torch.are_deterministic_algorithms_enabled()


def test_seed_everything_asks_for_deterministic_kernels_and_cublas_workspace():
    torch.use_deterministic_algorithms(False)
    seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()  # warn, never crash a notebook
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_seed_everything_keeps_a_cublas_setting_already_made(monkeypatch):
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    seed_everything(0, deterministic=True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_the_largest_seed_numpy_accepts_is_accepted():
    assert seed_everything(2**32 - 1) == 2**32 - 1


def test_seed_everything_rejects_a_non_bool_deterministic():
    with pytest.raises(TypeError, match="`deterministic` must be True or False"):
        seed_everything(0, deterministic="yes")


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", None, True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match=rf"`seed` must be an int in \[0, 2\*\*32 - 1\]; got {seed!r}"):
        seed_everything(seed)


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert get_device() == torch.device(expected)
