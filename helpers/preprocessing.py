"""Preprocessing fitted on training rows only: a standardiser, and a uniform way to fit any preprocessing.

A preprocessing step has two halves: *fit* (learn statistics: means, standard deviations, which
features to keep) and *apply*. Cross-validation must fit on each fold's training rows and apply
the result, unchanged, to the validation rows; fitting on all rows lets the validation rows leak
into what the model is trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Standardizer:
    """Per-feature ``(x - mean) / std`` with fixed statistics; build it with :func:`fit_standardizer`."""

    mean: torch.Tensor
    std: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def fit_standardizer(x: torch.Tensor, y: torch.Tensor | None = None) -> Standardizer:
    """Mean and (population) standard deviation of each feature over the rows of ``x`` (N, ...).

    ``y`` is accepted and ignored, so the function fits the ``(x_train, y_train)`` signature of
    ``cross_validate(..., preprocess=fit_standardizer)``. A constant feature gets std 1, so it maps
    to 0 instead of NaN.

    Example:
        >>> scaler = fit_standardizer(torch.tensor([[0.0, 5.0], [2.0, 5.0]]))
        >>> scaler(torch.tensor([[1.0, 5.0], [4.0, 6.0]]))
        tensor([[0., 0.],
                [3., 1.]])
    """
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 1 or len(x) < 1:
        raise TypeError(f"`x` must be a floating tensor (N, ...) with N >= 1; got {type(x).__name__} "
                        f"{getattr(x, 'dtype', '')} {tuple(getattr(x, 'shape', ()))}.")
    mean, std = x.mean(dim=0), x.std(dim=0, unbiased=False)
    return Standardizer(mean, torch.where(std > 0, std, torch.ones_like(std)))


def _is_transformer(preprocess) -> bool:
    return hasattr(preprocess, "fit") and hasattr(preprocess, "transform") and not isinstance(preprocess, type)


def check_preprocess(preprocess) -> None:
    """TypeError unless ``preprocess`` is None, a function ``(x, y) -> transform`` or a scikit-learn transformer."""
    if isinstance(preprocess, type) and hasattr(preprocess, "fit") and hasattr(preprocess, "transform"):
        raise TypeError(f"`preprocess` must be a function or a transformer instance; got the class "
                        f"{preprocess.__name__}. Pass {preprocess.__name__}() instead.")
    if preprocess is not None and not (_is_transformer(preprocess) or callable(preprocess)):
        raise TypeError("`preprocess` must be a function (x_train, y_train) -> transform, such as fit_standardizer, "
                        f"or a scikit-learn transformer such as StandardScaler(); got {type(preprocess).__name__}.")


def fit_preprocess(preprocess, x_train: torch.Tensor, y_train: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """Fit ``preprocess`` on the training rows; return the transform to apply to any rows.

    Args:
        preprocess: a function ``(x_train, y_train) -> transform`` (e.g. :func:`fit_standardizer`), or
            a scikit-learn transformer (``StandardScaler()``, ``SelectKBest(k=10)``, a ``Pipeline``),
            which is cloned, so the object passed in is never fitted; it sees features flattened to
            (N, features) and returns them that way.
        x_train: training features (N, ...).
        y_train: training targets (N,).

    Example:
        >>> from sklearn.preprocessing import StandardScaler
        >>> transform = fit_preprocess(StandardScaler(), torch.tensor([[0.0], [2.0]]), torch.tensor([0, 1]))
        >>> transform(torch.tensor([[4.0]]))
        tensor([[3.]])
    """
    check_preprocess(preprocess)
    if _is_transformer(preprocess):
        from sklearn.base import clone

        fitted = clone(preprocess).fit(x_train.reshape(len(x_train), -1).numpy(), y_train.numpy())
        return lambda x: torch.as_tensor(fitted.transform(x.reshape(len(x), -1).numpy()), dtype=x.dtype)
    transform = preprocess(x_train, y_train)
    if not callable(transform):
        raise TypeError(f"`preprocess` must return a callable transform; it returned {type(transform).__name__}.")
    return transform
