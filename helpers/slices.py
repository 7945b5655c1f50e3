"""Error rate by slice: split the samples by a per-sample quantity (ink amount, image size, the model's
confidence, the true class) and compare the error rate of each slice, with a 95% interval on each.

A slice with a few dozen errors has a wide interval, so two slices differ only where their intervals
separate. With the model's confidence as the quantity, the table is also a calibration check.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from helpers._validation import as_tensor, check_positive_int
from helpers.errors import _labels_and_target


def _wilson_interval(errors: np.ndarray, n: np.ndarray, z: float = 1.959963984540054) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval for a proportion ``errors / n`` (z = Φ⁻¹(0.975)); stays inside [0, 1] even at 0 errors."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = errors / n
        centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    low = np.where(errors == 0, 0.0, np.clip(centre - half, 0, 1))  # exact ends, not 1e-17 off by rounding
    high = np.where(errors == n, 1.0, np.clip(centre + half, 0, 1))
    return low, high


def _slice_edges(bins) -> list[float]:
    """Explicit, strictly increasing slice edges from a list, array or tensor."""
    if not isinstance(bins, Sequence | torch.Tensor | np.ndarray) or isinstance(bins, str):
        raise TypeError(f"`bins` must be a positive int or a list of increasing edges; got {type(bins).__name__}.")
    try:
        edges = [float(b) for b in (bins.tolist() if isinstance(bins, torch.Tensor | np.ndarray) else bins)]
    except (TypeError, ValueError):
        raise TypeError(f"`bins` edges must be numbers; got {bins!r}.") from None
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ValueError(f"`bins` must be a positive int or at least two increasing edges; got {bins!r}.")
    return edges


def error_rate_by_slice(preds, target=None, *, values, bins: int | Sequence[float] = 5) -> pd.DataFrame:
    """Error rate within slices of a per-sample quantity (ink amount, confidence, image size, ...).

    Args:
        preds: a ``Predictions``, class labels (N,) or scores (N, C).
        target: labels (N,); None with a ``Predictions``.
        values: the quantity (N,) to slice by.
        bins: an int for that many equal-count (quantile) slices (fewer, with a warning, when ties
            make some edges equal), or increasing edges that cover every value; a slice ``(a, b]``
            holds ``a < value <= b`` (the first one includes ``a``).

    Returns:
        One row per slice: ``n``, ``errors``, ``error_rate`` (NaN when empty), its 95% Wilson
        interval ``ci_low``/``ci_high`` (how far the rate could be from the truth with this ``n``), and
        ``mean_value``. With ``values`` = confidence, ``1 - error_rate`` next to ``mean_value`` is a
        calibration table.

    Example:
        >>> error_rate_by_slice(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 0, 1, 1]),
        ...                     values=torch.tensor([1., 2., 3., 4.]), bins=[0, 2, 4])["error_rate"].tolist()
        [0.5, 0.0]
    """
    labels, target, _ = _labels_and_target(preds, target)
    values = as_tensor(values, "values").to(torch.float64).cpu()
    if values.shape != target.shape:
        raise ValueError(f"`values` must be (N,) = {tuple(target.shape)}, one per sample; got {tuple(values.shape)}.")
    if not bool(torch.isfinite(values).all()):
        raise ValueError("`values` must be finite.")
    frame = pd.DataFrame({"value": values.numpy(), "error": (labels != target).numpy()})
    if isinstance(bins, int | np.integer) and not isinstance(bins, bool):
        bins = check_positive_int(bins, "bins")
        if frame["value"].nunique() < 2:
            raise ValueError(f"`values` are all equal ({frame['value'].iloc[0] if len(frame) else 'none given'}); "
                             "there is nothing to slice by.")
        frame["slice"] = pd.qcut(frame["value"], bins, duplicates="drop")
        made = frame["slice"].cat.categories.size
        if made < bins:
            warnings.warn(f"`values` have too many ties for {bins} equal-count slices; made {made}.", stacklevel=2)
    else:
        edges = _slice_edges(bins)
        outside = int(((frame["value"] < edges[0]) | (frame["value"] > edges[-1])).sum())
        if outside:
            raise ValueError(f"{outside} of `values` lie outside the `bins` edges [{edges[0]}, {edges[-1]}] "
                             f"(values span [{frame['value'].min():.4g}, {frame['value'].max():.4g}]); widen the edges.")
        frame["slice"] = pd.cut(frame["value"], edges, include_lowest=True)
    grouped = frame.groupby("slice", observed=False)
    result = pd.DataFrame({"n": grouped.size(), "errors": grouped["error"].sum().astype("int64"),
                           "mean_value": grouped["value"].mean()})
    result.insert(2, "error_rate", result["errors"] / result["n"].where(result["n"] > 0))
    low, high = _wilson_interval(result["errors"].to_numpy(float), result["n"].to_numpy(float))
    result.insert(3, "ci_low", low)
    result.insert(4, "ci_high", high)
    return result
