"""Data: real MNIST as in-memory tensors, fast loaders over them, and seeded synthetic sets.

The raw MNIST files are put in ``<root>/MNIST/raw`` by :func:`helpers.mnist_files.ensure_mnist` (from
``MNIST_MIRROR`` or a download, verified by SHA-256). Here each split is parsed once by torchvision,
cached as tensors, and kept in memory as one normalised ``TensorDataset``: indexing a batch of
indices at once (see :func:`make_loader`) makes an MLP epoch over 60,000 images take about a second.
"""

from __future__ import annotations

import math
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from helpers._validation import check_bool, check_non_negative_int, check_positive_int, check_seed
from helpers.mnist_files import MNIST_SHA256, _raw_folder, ensure_mnist

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def load_mnist(root: str | os.PathLike = "data", train: bool = True, *, normalize: bool = True,
               limit: int | None = None, mirror: str | os.PathLike | None = None) -> TensorDataset:
    """MNIST as an in-memory ``TensorDataset`` of images (N, 1, 28, 28) float32 and labels (N,) int64.

    Args:
        root: data folder; raw files live in ``<root>/MNIST/raw``.
        train: the 60,000 training images, else the 10,000 test images.
        normalize: subtract MNIST's mean (0.1307) and divide by its std (0.3081); else pixels in [0, 1].
        limit: keep only the first ``limit`` images (in the file's order).
        mirror: folder of the four ``.gz`` files; defaults to ``$MNIST_MIRROR``.

    Example:
        >>> test = load_mnist(train=False)  # doctest: +SKIP
        >>> test.tensors[0].shape, test.tensors[1][:3].tolist()  # doctest: +SKIP
        (torch.Size([10000, 1, 28, 28]), [7, 2, 1])
    """
    check_bool(train, "train")
    check_bool(normalize, "normalize")
    if limit is not None:
        check_positive_int(limit, "limit")
    ensure_mnist(root, mirror)
    pixels, labels = _read_split(root, train)
    images = pixels[:limit].unsqueeze(1).to(torch.float32).div_(255.0)  # (N, 1, 28, 28); in place: one copy
    if normalize:
        images.sub_(MNIST_MEAN).div_(MNIST_STD)
    return TensorDataset(images, labels[:limit].clone())


def _read_split(root: str | os.PathLike, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision's parse of one split as (uint8 images (N, 28, 28), int64 labels), cached.

    Importing torchvision costs seconds per notebook, so the parsed tensors are kept in
    ``<root>/MNIST/cache/`` (git-ignored, written atomically) and reused while the raw files'
    sizes and modification times are unchanged.
    """
    split = "train" if train else "t10k"
    sources = [_raw_folder(root) / name for name in MNIST_SHA256 if name.startswith(split)]
    stamp = [[path.name, path.stat().st_size, path.stat().st_mtime_ns] for path in sources]
    cache = Path(root) / "MNIST" / "cache" / f"{split}.pt"
    if cache.is_file():
        try:
            saved = torch.load(cache, weights_only=True)
            if saved["stamp"] == stamp:
                return saved["data"], saved["targets"]
        except (OSError, RuntimeError, KeyError, TypeError, pickle.UnpicklingError):
            pass  # unreadable or stale: parse again below and overwrite it
    from torchvision.datasets import MNIST  # imported only when parsing

    mnist = MNIST(str(root), train=train, download=False)
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{split}.", suffix=".part", dir=cache.parent)
    os.close(fd)
    try:
        torch.save({"stamp": stamp, "data": mnist.data, "targets": mnist.targets}, tmp_name)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp_name, cache)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return mnist.data, mnist.targets


def make_loader(dataset: TensorDataset, batch_size: int = 256, *, shuffle: bool = False,
                seed: int = 0) -> DataLoader:
    """A DataLoader that indexes the tensors once per batch instead of once per sample.

    Shuffling uses its own seeded generator, so the batch order is reproducible and does not
    consume the global random state; each pass over the loader draws a new order from it.

    Args:
        dataset: an in-memory dataset.
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: a new random order on every pass.
        seed: seeds the shuffling generator (an int in [0, 2**32 - 1]).

    Raises:
        TypeError: ``dataset`` is not a TensorDataset, or ``shuffle`` not a bool.
        ValueError: an empty ``dataset``, or a bad ``batch_size`` or ``seed``.

    Example:
        >>> ds = TensorDataset(torch.arange(10.0)[:, None], torch.arange(10))
        >>> [len(y) for _, y in make_loader(ds, batch_size=4)]
        [4, 4, 2]
    """
    if not isinstance(dataset, TensorDataset):
        raise TypeError(f"`dataset` must be a TensorDataset; got {type(dataset).__name__}.")
    if len(dataset) == 0:
        raise ValueError("`dataset` is empty; a loader needs at least one sample.")
    check_positive_int(batch_size, "batch_size")
    check_bool(shuffle, "shuffle")
    check_seed(seed)
    sampler = (RandomSampler(dataset, generator=torch.Generator().manual_seed(seed)) if shuffle
               else SequentialSampler(dataset))
    # batch_size=None hands each list of indices straight to TensorDataset.__getitem__. The loader's own
    # generator matters too: without one, every pass draws a worker base seed from the global RNG.
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None,
                      generator=torch.Generator().manual_seed(seed))


def mnist_loaders(root: str | os.PathLike = "data", *, batch_size: int = 256, val_size: int = 0,
                  train_limit: int | None = None, seed: int = 0) -> dict[str, DataLoader]:
    """Loaders for MNIST: "train" (shuffled), "test", and "val" when ``val_size`` > 0.

    The validation set is a seeded random slice of the training images, removed from "train".

    Args:
        root: data folder (see :func:`load_mnist`).
        batch_size: samples per batch.
        val_size: training images held out as "val" (0 for none).
        train_limit: keep only the first ``train_limit`` training images before the split.
        seed: seeds the split and the shuffling of "train".

    Example:
        >>> loaders = mnist_loaders(val_size=5000)  # doctest: +SKIP
        >>> sorted(loaders), len(loaders["val"].dataset)  # doctest: +SKIP
        (['test', 'train', 'val'], 5000)
    """
    check_positive_int(batch_size, "batch_size")
    check_seed(seed)
    val_size = check_non_negative_int(val_size, "val_size")
    train = load_mnist(root, train=True, limit=train_limit)
    test = load_mnist(root, train=False)
    n = len(train)
    if val_size >= n:
        raise ValueError(f"`val_size` must be smaller than the {n} training images; got {val_size!r}.")
    loaders = {"test": make_loader(test, batch_size)}
    if val_size:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        val_idx, train_idx = order[:val_size], order[val_size:]
        loaders["val"] = make_loader(TensorDataset(*(t[val_idx] for t in train.tensors)), batch_size)
        train = TensorDataset(*(t[train_idx] for t in train.tensors))
    loaders["train"] = make_loader(train, batch_size, shuffle=True, seed=seed)
    return loaders


def make_classification_data(n_samples: int = 1000, n_features: int = 20, n_classes: int = 2, *,
                             weights: list[float] | None = None, n_informative: int | None = None,
                             class_sep: float = 1.0, flip_y: float = 0.0, seed: int = 0) -> TensorDataset:
    """A seeded synthetic classification set: features (N, F) float32, labels (N,) int64.

    Built on scikit-learn's ``make_classification`` (no redundant features).

    Args:
        n_samples: rows.
        n_features: columns.
        n_classes: classes (at least 2); needs ``n_classes * 2 <= 2 ** n_informative``.
        weights: class proportions (e.g. ``[0.95, 0.05]`` for an imbalanced set).
        n_informative: features that carry the signal; default ``min(5, n_features)``.
        class_sep: larger values make the classes easier to separate.
        flip_y: fraction of labels assigned at random (label noise).
        seed: the random state.

    Example:
        >>> ds = make_classification_data(100, weights=[0.9, 0.1])
        >>> ds.tensors[0].shape, int(ds.tensors[1].sum())
        (torch.Size([100, 20]), 10)
    """
    from sklearn.datasets import make_classification

    check_positive_int(n_samples, "n_samples")
    check_positive_int(n_features, "n_features")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"`n_classes` must be an int >= 2; got {n_classes!r}.")
    if n_informative is None:
        n_informative = min(5, n_features)
    if isinstance(n_informative, bool) or not isinstance(n_informative, int) or not 1 <= n_informative <= n_features:
        raise ValueError(f"`n_informative` must be an int in [1, n_features={n_features}]; got {n_informative!r}.")
    if 2 * n_classes > 2**n_informative:  # scikit-learn puts two clusters per class on hypercube corners
        raise ValueError(f"`n_classes`={n_classes} needs `n_informative` >= {math.ceil(math.log2(2 * n_classes))}; "
                         f"got n_informative={n_informative}.")
    check_seed(seed)
    x, y = make_classification(n_samples=n_samples, n_features=n_features, n_informative=n_informative,
                               n_redundant=0, n_classes=n_classes, weights=weights, class_sep=class_sep,
                               flip_y=flip_y, random_state=seed)
    return TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64)))


def make_regression_data(n_samples: int = 100, n_features: int = 10, *, noise: float = 10.0,
                         seed: int = 0) -> TensorDataset:
    """A seeded synthetic linear regression set: features (N, F) and targets (N, 1), float32.

    Example:
        >>> make_regression_data(50).tensors[1].shape
        torch.Size([50, 1])
    """
    from sklearn.datasets import make_regression

    check_positive_int(n_samples, "n_samples")
    check_positive_int(n_features, "n_features")
    check_seed(seed)
    x, y = make_regression(n_samples=n_samples, n_features=n_features, noise=noise, random_state=seed)
    return TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))[:, None])
