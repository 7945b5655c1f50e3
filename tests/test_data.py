"""helpers.data: MNIST as in-memory tensors (parsed once, cached), loaders, synthetic sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from torch.utils.data import TensorDataset

from helpers import data
from helpers.data import (
    load_mnist,
    make_classification_data,
    make_loader,
    make_regression_data,
    mnist_loaders,
)

# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def train_set(mnist_root) -> TensorDataset:
    return load_mnist(mnist_root, train=True)


@pytest.fixture(scope="module")
def test_set(mnist_root) -> TensorDataset:
    return load_mnist(mnist_root, train=False)


# --------------------------------------------------------------------------------------------- MNIST in memory


def test_mnist_labels_and_class_counts_are_the_published_ones(train_set, test_set):
    train_labels, test_labels = train_set.tensors[1], test_set.tensors[1]
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert torch.bincount(train_labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert torch.bincount(test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_shapes_dtypes_and_normalisation(train_set, test_set):
    images, labels = train_set.tensors
    assert images.shape == (60000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (60000,) and labels.dtype == torch.int64
    assert test_set.tensors[0].shape == (10000, 1, 28, 28) and test_set.tensors[1].shape == (10000,)
    # normalised with the training set's mean and std: about 0 and 1 there, close on the test set
    assert abs(float(images.mean())) < 1e-3 and abs(float(images.std()) - 1) < 1e-3
    assert abs(float(test_set.tensors[0].mean())) < 0.02 and abs(float(test_set.tensors[0].std()) - 1) < 0.02


def test_unnormalised_pixels_lie_in_unit_interval_and_limit_keeps_the_first(mnist_root, test_set):
    pixels, labels = load_mnist(mnist_root, train=False, normalize=False, limit=100).tensors
    assert pixels.shape == (100, 1, 28, 28)
    assert float(pixels.min()) == 0.0 and float(pixels.max()) == 1.0
    assert torch.allclose((pixels - data.MNIST_MEAN) / data.MNIST_STD, test_set.tensors[0][:100], atol=1e-6)
    assert torch.equal(labels, test_set.tensors[1][:100])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"train": "yes"}, TypeError, "`train` must be True or False; got 'yes'"),
    ({"normalize": 1}, TypeError, "`normalize` must be True or False; got 1"),
    ({"limit": 0}, ValueError, "`limit` must be a positive int; got 0"),
    ({"limit": 2.5}, ValueError, "`limit` must be a positive int; got 2.5"),
])
def test_load_mnist_rejects_bad_arguments_before_touching_disk(tmp_path, kwargs, error, match, files_under):
    with pytest.raises(error, match=match):
        load_mnist(tmp_path, **kwargs)
    assert files_under(tmp_path) == []


# --------------------------------------------------------------------------------------------- loaders


def tiny(n: int = 10) -> TensorDataset:
    return TensorDataset(torch.arange(n, dtype=torch.float32)[:, None], torch.arange(n))


def epoch_order(loader) -> list[int]:
    return [int(i) for _, y in loader for i in y]


def test_make_loader_batches_in_order_without_shuffle():
    batches = list(make_loader(tiny(), batch_size=4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert epoch_order(batches) == list(range(10))
    assert batches[0][0].shape == (4, 1) and torch.equal(batches[0][0][:, 0], torch.arange(4.0))


def test_make_loader_shuffle_is_seeded_new_every_epoch_and_leaves_global_rng_alone():
    loader = make_loader(tiny(50), batch_size=8, shuffle=True, seed=3)
    state = torch.get_rng_state()
    first, second = epoch_order(loader), epoch_order(loader)
    assert torch.equal(torch.get_rng_state(), state)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))  # each sample once
    assert first != second  # a new order each epoch
    again = make_loader(tiny(50), batch_size=8, shuffle=True, seed=3)
    assert [epoch_order(again), epoch_order(again)] == [first, second]
    assert epoch_order(make_loader(tiny(50), batch_size=8, shuffle=True, seed=4)) != first


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dataset": [1, 2, 3]}, TypeError, "`dataset` must be a TensorDataset; got list"),
    ({"dataset": TensorDataset(torch.zeros(0, 1))}, ValueError, "`dataset` is empty; a loader needs at least one sample"),
    ({"batch_size": 0}, ValueError, "`batch_size` must be a positive int; got 0"),
    ({"batch_size": 2.0}, ValueError, "`batch_size` must be a positive int; got 2.0"),
    ({"batch_size": True}, ValueError, "`batch_size` must be a positive int; got True"),
    ({"shuffle": "no"}, TypeError, "`shuffle` must be True or False; got 'no'"),
    ({"seed": -1}, ValueError, r"`seed` must be an int in \[0, 2\*\*32 - 1\]; got -1"),
    ({"seed": 2**32}, ValueError, r"`seed` must be an int in \[0, 2\*\*32 - 1\]; got 4294967296"),
    ({"seed": 1.5}, ValueError, r"`seed` must be an int in \[0, 2\*\*32 - 1\]; got 1.5"),
])
def test_make_loader_rejects_bad_arguments(kwargs, error, match):
    arguments = {"dataset": tiny(), "batch_size": 4, "shuffle": True, "seed": 0, **kwargs}
    with pytest.raises(error, match=match):
        make_loader(**arguments)


def test_mnist_loaders_split_val_from_train_disjointly(mnist_root, train_set):
    loaders = mnist_loaders(mnist_root, batch_size=100, val_size=200, train_limit=1000, seed=1)
    assert sorted(loaders) == ["test", "train", "val"]
    train, val = loaders["train"].dataset, loaders["val"].dataset
    assert (len(train), len(val), len(loaders["test"].dataset)) == (800, 200, 10000)
    assert [len(y) for _, y in loaders["val"]] == [100, 100]

    def rows(dataset):
        return [image.numpy().tobytes() + bytes([int(label)]) for image, label in zip(*dataset.tensors, strict=True)]

    train_rows, val_rows = rows(train), rows(val)
    assert not set(train_rows) & set(val_rows)
    assert sorted(train_rows + val_rows) == sorted(rows(TensorDataset(*(t[:1000] for t in train_set.tensors))))
    same = mnist_loaders(mnist_root, batch_size=100, val_size=200, train_limit=1000, seed=1)["val"].dataset
    other = mnist_loaders(mnist_root, batch_size=100, val_size=200, train_limit=1000, seed=2)["val"].dataset
    assert torch.equal(same.tensors[1], val.tensors[1]) and torch.equal(same.tensors[0], val.tensors[0])
    assert not torch.equal(other.tensors[0], val.tensors[0])
    assert "val" not in mnist_loaders(mnist_root, train_limit=10)


def test_mnist_loaders_val_size_must_leave_training_images(mnist_root):
    with pytest.raises(ValueError, match="`val_size` must be smaller than the 100 training images; got 100"):
        mnist_loaders(mnist_root, val_size=100, train_limit=100)


@pytest.mark.parametrize("kwargs, match", [
    ({"val_size": -1}, "`val_size` must be a non-negative int; got -1"),
    ({"val_size": 0.1}, "`val_size` must be a non-negative int; got 0.1"),
    ({"val_size": True}, "`val_size` must be a non-negative int; got True"),
    ({"batch_size": 0}, "`batch_size` must be a positive int; got 0"),
    ({"seed": -5}, r"`seed` must be an int in \[0, 2\*\*32 - 1\]; got -5"),
])
def test_mnist_loaders_rejects_bad_arguments_before_loading(tmp_path, offline, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mnist_loaders(tmp_path, **kwargs)


# --------------------------------------------------------------------------------------------- synthetic


def test_make_classification_data_is_scikit_learns_set_seeded():
    ds = make_classification_data(200, n_features=6, n_classes=3, weights=[0.5, 0.3, 0.2], seed=7)
    x, y = make_classification(n_samples=200, n_features=6, n_informative=5, n_redundant=0, n_classes=3,
                               weights=[0.5, 0.3, 0.2], flip_y=0.0, random_state=7)
    assert ds.tensors[0].dtype == torch.float32 and ds.tensors[1].dtype == torch.int64
    np.testing.assert_array_equal(ds.tensors[0].numpy(), x.astype(np.float32))
    np.testing.assert_array_equal(ds.tensors[1].numpy(), y)
    again = make_classification_data(200, n_features=6, n_classes=3, weights=[0.5, 0.3, 0.2], seed=7)
    assert all(torch.equal(a, b) for a, b in zip(ds.tensors, again.tensors, strict=True))
    other = make_classification_data(200, n_features=6, n_classes=3, weights=[0.5, 0.3, 0.2], seed=8)
    assert not torch.equal(ds.tensors[0], other.tensors[0])


def test_make_classification_data_with_fewer_features_than_the_default_informative():
    x, y = make_classification_data(64, n_features=4).tensors
    assert x.shape == (64, 4) and set(y.tolist()) == {0, 1}


@pytest.mark.parametrize("kwargs, match", [
    ({"n_samples": 0}, "`n_samples` must be a positive int; got 0"),
    ({"n_features": 0}, "`n_features` must be a positive int; got 0"),
    ({"n_classes": 1}, "`n_classes` must be an int >= 2; got 1"),
    ({"n_classes": 2.0}, "`n_classes` must be an int >= 2; got 2.0"),
    ({"n_informative": 0}, r"`n_informative` must be an int in \[1, n_features=20\]; got 0"),
    ({"n_informative": 21}, r"`n_informative` must be an int in \[1, n_features=20\]; got 21"),
    ({"n_classes": 10, "n_features": 4}, "`n_classes`=10 needs `n_informative` >= 5; got n_informative=4"),
    ({"seed": None}, r"`seed` must be an int in \[0, 2\*\*32 - 1\]; got None"),
])
def test_make_classification_data_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_classification_data(**kwargs)


def test_make_regression_data_is_scikit_learns_set_seeded():
    features, target = make_regression_data(30, n_features=3, noise=2.0, seed=5).tensors
    x, y = make_regression(n_samples=30, n_features=3, noise=2.0, random_state=5)
    assert features.shape == (30, 3) and target.shape == (30, 1) and target.dtype == torch.float32
    np.testing.assert_array_equal(features.numpy(), x.astype(np.float32))
    np.testing.assert_array_equal(target[:, 0].numpy(), y.astype(np.float32))
    assert torch.equal(make_regression_data(30, n_features=3, noise=2.0, seed=5).tensors[1], target)
    assert not torch.equal(make_regression_data(30, n_features=3, noise=2.0, seed=6).tensors[1], target)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_samples": -3}, "`n_samples` must be a positive int; got -3"),
    ({"n_features": 0}, "`n_features` must be a positive int; got 0"),
    ({"seed": 1.0}, r"`seed` must be an int in \[0, 2\*\*32 - 1\]; got 1.0"),
])
def test_make_regression_data_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_regression_data(**kwargs)


# --------------------------------------------------------------------------------------------- cache


def test_parsed_splits_are_cached_and_a_bad_or_stale_cache_is_rebuilt(mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MIRROR", str(mirror))
    reference = load_mnist(tmp_path, train=False, normalize=False)
    cache = tmp_path / "MNIST" / "cache" / "t10k.pt"
    assert cache.is_file() and [p.name for p in cache.parent.iterdir()] == ["t10k.pt"]  # no temp file left
    cache.write_bytes(b"not a torch file")
    assert torch.equal(load_mnist(tmp_path, train=False, normalize=False).tensors[0], reference.tensors[0])
    # A cache whose raw files changed since is not trusted: it is rebuilt from torchvision's parse.
    stale = torch.load(cache, weights_only=True)
    stale["targets"] = torch.zeros_like(stale["targets"])
    stale["stamp"][0][2] -= 1
    torch.save(stale, cache)
    assert torch.equal(load_mnist(tmp_path, train=False).tensors[1], reference.tensors[1])
    assert torch.equal(torch.load(cache, weights_only=True)["targets"], reference.tensors[1])
