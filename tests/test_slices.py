"""helpers.slices: error rate per slice counted by hand, scipy's Wilson intervals, binning rules, bad inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from helpers.slices import error_rate_by_slice


def test_error_rate_by_slice_counts_each_slice_by_hand():
    gen = torch.Generator().manual_seed(1)
    preds, target = torch.randint(0, 3, (300,), generator=gen), torch.randint(0, 3, (300,), generator=gen)
    values = torch.rand(300, generator=gen)
    edges = [0.0, 0.2, 0.5, 1.0]
    table = error_rate_by_slice(preds, target, values=values, bins=edges)
    wrong = (preds != target).tolist()
    for row, (low, high) in zip(table.itertuples(), zip(edges, edges[1:], strict=False), strict=True):
        inside = [i for i, v in enumerate(values.tolist()) if (low < v <= high) or (low == 0 and v == 0)]
        assert row.n == len(inside)
        assert row.errors == sum(wrong[i] for i in inside)
        assert row.error_rate == pytest.approx(row.errors / row.n)
    quantiles = error_rate_by_slice(preds, target, values=values, bins=4)
    assert quantiles["n"].tolist() == [75] * 4 and quantiles["errors"].sum() == sum(wrong)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 500), st.floats(0, 1)), min_size=1, max_size=8))
def test_slice_intervals_are_scipys_wilson_intervals(slices):
    counts = [(n, round(share * n)) for n, share in slices]
    values = torch.cat([torch.full((n,), float(i)) for i, (n, _) in enumerate(counts)])
    wrong = torch.cat([torch.arange(n) < errors for n, errors in counts])
    target = torch.zeros(len(values), dtype=torch.int64)
    table = error_rate_by_slice(wrong.long(), target, values=values, bins=[-0.5 + i for i in range(len(counts) + 1)])
    for row, (n, errors) in zip(table.itertuples(), counts, strict=True):
        expected = binomtest(errors, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert row.n == n and row.errors == errors
        assert row.ci_low == pytest.approx(expected.low, abs=1e-9) and row.ci_high == pytest.approx(expected.high, abs=1e-9)
        assert row.ci_low <= row.error_rate <= row.ci_high


def test_slices_accept_tensor_and_numpy_bins_and_warn_when_ties_merge_slices():
    preds, target = torch.tensor([0, 1, 1, 0, 1, 0]), torch.tensor([0, 0, 1, 1, 1, 0])
    values = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DeprecationWarning from a tensor of edges either
        by_tensor = error_rate_by_slice(preds, target, values=values, bins=torch.tensor([0.0, 0.35, 1.0]))
        by_count = error_rate_by_slice(preds, target, values=values, bins=np.int64(2))
    assert by_tensor["n"].tolist() == by_count["n"].tolist() == [3, 3]
    with pytest.warns(UserWarning, match="too many ties for 4 equal-count slices; made 2"):
        table = error_rate_by_slice(preds, target, values=torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0]), bins=4)
    assert table["n"].sum() == 6


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"values": torch.zeros(3)}, ValueError, r"`values` must be \(N,\)"),
    ({"values": torch.tensor([0.0, float("inf")])}, ValueError, "`values` must be finite"),
    ({"values": torch.zeros(2), "bins": 0}, ValueError, "`bins` must be a positive int"),
    ({"values": torch.zeros(2), "bins": [0.0, 0.5, 0.5]}, ValueError, "at least two increasing edges"),
    ({"values": torch.zeros(2), "bins": [1.0]}, ValueError, "at least two increasing edges"),
    ({"values": torch.zeros(2), "bins": "abc"}, TypeError, "`bins` must be a positive int or a list of increasing edges; got str"),
    ({"values": torch.zeros(2), "bins": ["a", "b"]}, TypeError, "`bins` edges must be numbers"),
    ({"values": torch.tensor([0.1, 0.9]), "bins": [0.0, 0.5]}, ValueError, "1 of `values` lie outside the `bins` edges"),
    ({"values": torch.zeros(2), "bins": 5}, ValueError, "`values` are all equal"),
])
def test_error_rate_by_slice_refuses_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        error_rate_by_slice(torch.tensor([0, 1]), torch.tensor([0, 0]), **kwargs)
    with pytest.raises(TypeError, match="`target` is required"):
        error_rate_by_slice(torch.tensor([0, 1]), values=torch.zeros(2))
