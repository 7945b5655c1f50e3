"""fit_standardizer against scikit-learn's StandardScaler, and fit_preprocess for functions and transformers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.preprocessing import StandardScaler

from helpers.preprocessing import fit_preprocess, fit_standardizer


def test_fit_standardizer_matches_standard_scaler():
    x = torch.randn(50, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 4 + 2
    x[:, 3] = 7.0  # a constant feature maps to 0, as StandardScaler does
    new = torch.randn(5, 6, dtype=torch.float64)
    expected = StandardScaler().fit(x.numpy()).transform(new.numpy())
    np.testing.assert_allclose(fit_standardizer(x)(new).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_fit_standardizer_keeps_the_shape_of_images():
    images = torch.rand(10, 1, 4, 4)
    scaled = fit_standardizer(images)(images)
    assert scaled.shape == images.shape
    torch.testing.assert_close(scaled.mean(dim=0), torch.zeros(1, 4, 4), atol=1e-5, rtol=0)


def test_fit_preprocess_clones_a_transformer_and_uses_the_labels():
    x = torch.randn(40, 5, generator=torch.Generator().manual_seed(1))
    y = (x[:, 2] > 0).long()  # only feature 2 tells the classes apart
    selector = SelectKBest(f_classif, k=1)
    transform = fit_preprocess(selector, x, y)
    assert not hasattr(selector, "scores_")
    torch.testing.assert_close(transform(x), x[:, [2]])


def test_fit_preprocess_calls_a_function_with_the_training_rows():
    seen = []
    transform = fit_preprocess(lambda x, y: seen.append((x, y)) or (lambda rows: rows * 2), torch.ones(3, 1),
                               torch.zeros(3))
    assert len(seen) == 1 and torch.equal(transform(torch.ones(2, 1)), torch.full((2, 1), 2.0))


@pytest.mark.parametrize("x", [torch.arange(4), torch.zeros(0, 3), "x", torch.tensor(1.0)])
def test_fit_standardizer_refuses_what_is_not_float_rows(x):
    with pytest.raises(TypeError, match="`x` must be a floating tensor"):
        fit_standardizer(x)


def test_fit_preprocess_refuses_a_bad_preprocess():
    with pytest.raises(TypeError, match="`preprocess` must be a function"):
        fit_preprocess("standardise", torch.ones(2, 1), torch.zeros(2))
    with pytest.raises(TypeError, match="must return a callable transform; it returned int"):
        fit_preprocess(lambda x, y: 3, torch.ones(2, 1), torch.zeros(2))
    with pytest.raises(TypeError, match=r"got the class StandardScaler. Pass StandardScaler\(\) instead"):
        fit_preprocess(StandardScaler, torch.ones(2, 1), torch.zeros(2))  # the class, not an instance
