"""helpers.plots.show_images: the gallery used by error analysis (titles, un-normalising, axes, bad inputs)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers.data import MNIST_MEAN, MNIST_STD
from helpers.plots import show_images


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_titles_carry_true_predicted_and_confidence():
    axes = show_images(torch.zeros(5, 1, 28, 28), target=torch.tensor([4, 7, 1, 0, 9]),
                       preds=torch.tensor([9, 2, 1, 6, 4]), confidence=torch.tensor([0.991, 0.5, 0.25, 1.0, 0.666]),
                       ncols=3)
    assert axes.shape == (6,)  # 2 rows of 3
    assert [ax.get_title() for ax in axes[:5]] == ["true 4 pred 9\nconf 0.99", "true 7 pred 2\nconf 0.50",
                                                   "true 1 pred 1\nconf 0.25", "true 0 pred 6\nconf 1.00",
                                                   "true 9 pred 4\nconf 0.67"]
    assert not axes[5].images and not axes[5].axison  # the spare axis is empty and hidden


def test_explicit_titles_win_and_any_subset_of_columns_works():
    axes = show_images(torch.zeros(2, 28, 28), ["given 5", "given 3"], target=[1, 2])
    assert [ax.get_title() for ax in axes] == ["given 5", "given 3"]
    assert [ax.get_title() for ax in show_images(torch.zeros(2, 28, 28), confidence=[0.5, 0.25])] == [
        "conf 0.50", "conf 0.25"]


def test_normalised_images_are_shown_in_pixel_units():
    pixels = torch.tensor([[0.0, 0.5], [1.0, 0.25]])
    normalised = ((pixels - MNIST_MEAN) / MNIST_STD)[None, None]  # (1, 1, 2, 2) as load_mnist gives
    shown = show_images(normalised)[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(shown), pixels.numpy(), atol=1e-6)
    raw = show_images(normalised, unnormalize=None)[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(raw), normalised[0, 0].numpy(), atol=1e-6)


def test_draws_on_given_axes():
    _, given = plt.subplots(1, 4)
    axes = show_images(torch.rand(3, 3, 8, 8), axes=given, unnormalize=None)
    assert all(a is b for a, b in zip(axes, given.ravel(), strict=True))
    assert axes[0].images[0].get_array().shape == (8, 8, 3)


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((torch.zeros(2, 2, 28, 28),), {}, r"`images` must be \(N, 1, H, W\)"),
    ((torch.zeros(0, 28, 28),), {}, "with N >= 1"),
    ((torch.zeros(2, 28, 28), ["only one"]), {}, "`titles` must have one entry per image"),
    ((torch.zeros(2, 28, 28),), {"preds": [1, 2, 3]}, "`preds` must have one entry per image"),
    ((torch.zeros(2, 28, 28),), {"ncols": 0}, "`ncols` must be a positive int"),
    ((torch.zeros(3, 28, 28),), {"axes": "two"}, "`axes` must hold at least one axis per image"),
])
def test_bad_inputs_are_refused(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        show_images(*args, **kwargs)
