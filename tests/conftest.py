"""Fixtures shared by the unit tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

UNREACHABLE = "http://127.0.0.1:9/"  # the discard port: the connection is refused at once


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine waking them costs time at every step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------- MNIST


@pytest.fixture(scope="module")
def mirror() -> Path:
    """The real mirror named by MNIST_MIRROR (CI sets it); the MNIST tests skip without it."""
    value = os.environ.get("MNIST_MIRROR")
    if not value:
        pytest.skip("MNIST_MIRROR is not set: point it at a folder holding the four MNIST .gz files "
                    "(CI uses ../shared/data/mnist) to run the MNIST tests")
    path = Path(value).resolve()
    assert path.is_dir(), f"MNIST_MIRROR={value!r} is not a folder"
    return path


@pytest.fixture(scope="module")
def mnist_root(mirror, tmp_path_factory) -> Path:
    """A fresh data folder filled from the mirror through $MNIST_MIRROR (no `mirror` argument)."""
    from helpers.mnist_files import ensure_mnist

    root = tmp_path_factory.mktemp("mnist-root")
    ensure_mnist(root)
    return root


@pytest.fixture
def offline(monkeypatch):
    """No mirror, and torchvision's downloader pointed at an address that refuses connections."""
    from torchvision.datasets import MNIST  # imported here: torchvision takes seconds to import

    monkeypatch.delenv("MNIST_MIRROR", raising=False)
    monkeypatch.setattr(MNIST, "mirrors", [UNREACHABLE])


@pytest.fixture
def files_under():
    """files_under(root): the files (not folders) below ``root``, as sorted relative paths."""

    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())

    return files
