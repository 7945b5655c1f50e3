"""helpers.plots.show_images: the gallery used by error analysis (titles, tiling, un-normalising, bad inputs)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from helpers.data import MNIST_MEAN, MNIST_STD
from helpers.plots import _mosaic, show_images


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _titles(ax):
    return [text.get_text() for text in ax.texts]


def test_titles_carry_true_predicted_and_confidence():
    ax = show_images(torch.zeros(5, 1, 28, 28), target=torch.tensor([4, 7, 1, 0, 9]),
                     preds=torch.tensor([9, 2, 1, 6, 4]), confidence=torch.tensor([0.991, 0.5, 0.25, 1.0, 0.666]),
                     ncols=3)
    assert _titles(ax) == ["true 4 pred 9\nconf 0.991", "true 7 pred 2\nconf 0.500", "true 1 pred 1\nconf 0.250",
                           "true 0 pred 6\nconf 1.000", "true 9 pred 4\nconf 0.666"]
    assert len(ax.images) == 1 and not ax.axison  # one tiled picture, no ticks


def test_explicit_titles_and_any_subset_of_columns_work():
    assert _titles(show_images(torch.zeros(2, 28, 28), ["given 5", "given 3"])) == ["given 5", "given 3"]
    assert _titles(show_images(torch.zeros(2, 28, 28), confidence=[0.5, 0.25])) == ["conf 0.500", "conf 0.250"]


def test_each_image_lands_in_its_own_tile_in_reading_order():
    images = torch.arange(7.0)[:, None, None].expand(7, 4, 5)  # image i is filled with the value i
    mosaic, origins = _mosaic(images.numpy(), ncols=3)
    assert [row for row, _ in origins] == sorted(row for row, _ in origins)  # row-major
    assert len(set(origins)) == 7
    for i, (top, left) in enumerate(origins):
        np.testing.assert_array_equal(mosaic[top:top + 4, left:left + 5], np.full((4, 5), float(i)))
    assert np.isnan(mosaic).sum() == mosaic.size - 7 * 4 * 5  # everything else is gap (drawn transparent)
    titles_above = [text.get_position()[1] for text in show_images(images, ncols=3, unnormalize=None,
                                                                   confidence=[0.1] * 7).texts]
    assert titles_above == [top - 0.5 for top, _ in origins]


def test_normalised_images_are_shown_in_pixel_units():
    pixels = torch.tensor([[0.0, 0.5], [1.0, 0.25]])
    normalised = ((pixels - MNIST_MEAN) / MNIST_STD)[None, None]  # (1, 1, 2, 2) as load_mnist gives
    _, origins = _mosaic(np.zeros((1, 2, 2), dtype=np.float32), ncols=8)
    top, left = origins[0]
    shown = show_images(normalised).images[0].get_array()[top:top + 2, left:left + 2]
    np.testing.assert_allclose(np.asarray(shown), pixels.numpy(), atol=1e-6)
    raw = show_images(normalised, unnormalize=None).images[0].get_array()[top:top + 2, left:left + 2]
    np.testing.assert_allclose(np.asarray(raw), normalised[0, 0].numpy(), atol=1e-6)


def test_colour_images_and_a_given_axes():
    _, given = plt.subplots()
    ax = show_images(torch.rand(3, 3, 8, 8), ax=given, unnormalize=None, ncols=2)
    assert ax is given
    mosaic = ax.images[0].get_array()
    assert mosaic.shape[2] == 4  # RGBA: gaps are transparent
    assert int((mosaic[..., 3] == 1).sum()) == 3 * 8 * 8


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    ((torch.zeros(2, 2, 28, 28),), {}, ValueError, r"`images` must be \(N, 1, H, W\)"),
    ((torch.zeros(0, 28, 28),), {}, ValueError, "with N >= 1"),
    ((None,), {}, TypeError, "`images` must be a torch.Tensor, a NumPy array or a list; got NoneType"),
    (("abc",), {}, TypeError, "`images` must be a torch.Tensor, a NumPy array or a list; got str"),
    (([torch.zeros(28, 28), torch.zeros(27, 27)],), {}, TypeError, "`images` must hold numbers"),
    ((torch.zeros(2, 28, 28), ["only one"]), {}, ValueError, "`titles` must have one entry per image"),
    ((torch.zeros(3, 28, 28), "abc"), {}, TypeError, "`titles` must be a list of strings, one per image; got str"),
    ((torch.zeros(2, 28, 28), ["a", "b"]), {"target": [1, 2]}, ValueError, "either `titles` or `target`"),
    ((torch.zeros(2, 28, 28),), {"preds": [1, 2, 3]}, ValueError, r"`preds` must be \(N,\) with one entry per image"),
    ((torch.zeros(3, 28, 28),), {"preds": torch.rand(3, 10)}, ValueError, r"pass \.argmax\(dim=1\)"),
    ((torch.zeros(2, 28, 28),), {"target": "ab"}, TypeError, "`target` must be a torch.Tensor"),
    ((torch.zeros(2, 28, 28),), {"target": [0.5, 1.5]}, TypeError, "`target` must hold integer class labels"),
    ((torch.zeros(2, 28, 28),), {"confidence": ["0.9", "0.8"]}, TypeError, "`confidence` must hold numbers"),
    ((torch.zeros(2, 28, 28),), {"ncols": 0}, ValueError, "`ncols` must be a positive int"),
    ((torch.zeros(2, 28, 28),), {"unnormalize": 0.5}, ValueError, r"`unnormalize` must be None or a \(mean, std\)"),
    ((torch.zeros(2, 28, 28),), {"unnormalize": (0.1,)}, ValueError, "`unnormalize` must be None"),
    ((torch.zeros(2, 28, 28),), {"unnormalize": ("a", "b")}, ValueError, "`unnormalize` must be None"),
    ((torch.zeros(2, 28, 28),), {"unnormalize": (0.1, 0.0)}, ValueError, "with std > 0"),
    ((torch.zeros(3, 28, 28),), {"ax": "two"}, TypeError, "`ax` must be a matplotlib Axes or None; got str"),
])
def test_bad_inputs_are_refused(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        show_images(*args, **kwargs)


def test_galleries_on_stacked_axes_line_up():
    _, (top, bottom) = plt.subplots(2, 1)
    wide = show_images(torch.zeros(6, 28, 28), ncols=6, ax=top).images[0].get_array()
    narrow = show_images(torch.zeros(2, 28, 28), ncols=6, ax=bottom).images[0].get_array()
    assert wide.shape == narrow.shape  # the short row keeps all six columns, left-aligned
    assert _mosaic(np.zeros((2, 28, 28), dtype=np.float32), ncols=6)[0].shape[1] < wide.shape[1]  # own figure: tight


def test_uint8_pixels_are_shown_as_0_to_255_and_numpy_ints_are_accepted():
    pixels = torch.tensor([[[0, 255], [51, 102]]], dtype=torch.uint8)  # (1, 2, 2), as torchvision stores MNIST
    ax = show_images(pixels, ncols=np.int64(4))
    top, left = _mosaic(np.zeros((1, 2, 2), dtype=np.float32), ncols=4)[1][0]
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()[top:top + 2, left:left + 2]),
                               [[0.0, 1.0], [0.2, 0.4]], atol=1e-6)


@pytest.mark.parametrize("images", [torch.full((1, 4, 4), 0.3), torch.full((1, 4, 4), 128, dtype=torch.uint8)])
def test_values_are_drawn_on_a_fixed_0_to_1_scale(images):
    ax = show_images(images, unnormalize=None)
    assert ax.images[0].get_clim() == (0.0, 1.0)  # a uniform grey image stays grey, not black or white


def test_titles_may_be_any_iterable_of_labels():
    assert _titles(show_images(torch.zeros(2, 28, 28), np.array(["a", "b"]))) == ["a", "b"]
    assert _titles(show_images(torch.zeros(2, 28, 28), (f"#{i}" for i in range(2)))) == ["#0", "#1"]
