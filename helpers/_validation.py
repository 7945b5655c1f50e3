"""Input checks shared by the public functions; each names the argument it rejects."""

from __future__ import annotations

import math

import numpy as np
import torch


def as_tensor(value, name: str) -> torch.Tensor:
    """A tensor view of a tensor, NumPy array or (nested) list; TypeError for anything else."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, np.ndarray) or isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
            # torch cannot share memory with reversed (negative-stride) arrays, and warns about read-only
            # ones (e.g. a pandas column's .values): copy those instead.
            if not array.flags.writeable or any(stride < 0 for stride in array.strides):
                array = array.copy()
            return torch.as_tensor(array)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must hold numbers; got {type(value).__name__} that torch cannot read ({exc}).") from None
    raise TypeError(f"`{name}` must be a torch.Tensor, a NumPy array or a list; got {type(value).__name__}.")


def check_labels(labels: torch.Tensor, name: str) -> torch.Tensor:
    """Class indices: a 1-D integer (or bool) tensor with no negative entry, returned as int64."""
    return labels_with_max(labels, name)[0]


def labels_with_max(labels: torch.Tensor, name: str) -> tuple[torch.Tensor, int]:
    """:func:`check_labels` plus the largest label (-1 when empty), read in the same single pass."""
    if labels.dtype == torch.bool:
        labels = labels.long()
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"`{name}` must hold integer class indices; got dtype {labels.dtype}.")
    if labels.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D (N,) class indices; got shape {tuple(labels.shape)}.")
    labels = labels.to(torch.int64).cpu()
    if labels.numel() == 0:
        return labels, -1
    low, high = (int(v) for v in torch.aminmax(labels))
    if low < 0:
        raise ValueError(f"`{name}` must hold class indices >= 0; got {low}.")
    return labels, high


def to_labels(preds, name: str = "preds") -> torch.Tensor:
    """Predicted class indices from labels (N,), scores (N, C) or binary probabilities (N,).

    Scores of shape (N, C) give their argmax; floating (N,) values must be probabilities in
    [0, 1] and are thresholded at 0.5 (positive when >= 0.5).
    """
    preds = as_tensor(preds, name)
    if preds.is_floating_point():
        if not bool(torch.isfinite(preds).all()):
            raise ValueError(f"`{name}` contains NaN or infinity; scores must be finite.")
        if preds.ndim == 2:
            if preds.shape[1] == 0:
                raise ValueError(f"`{name}` of shape (N, C) needs C >= 1; got shape {tuple(preds.shape)}.")
            return preds.argmax(dim=1).cpu()
        if preds.ndim == 1:
            if preds.numel() and (float(preds.min()) < 0 or float(preds.max()) > 1):
                raise ValueError(
                    f"floating `{name}` of shape (N,) are read as binary probabilities and must lie in [0, 1]; "
                    f"got values in [{float(preds.min()):.3g}, {float(preds.max()):.3g}]. Pass class indices as "
                    f"integers, or apply torch.sigmoid to logits."
                )
            return (preds >= 0.5).long().cpu()
        raise ValueError(f"`{name}` scores must be (N, C) or (N,); got shape {tuple(preds.shape)}.")
    return check_labels(preds, name)


def labels_from_preds_with_max(preds, name: str = "preds") -> tuple[torch.Tensor, int]:
    """:func:`to_labels` plus the largest predicted label."""
    preds = as_tensor(preds, name)
    if preds.is_floating_point():
        labels = to_labels(preds, name)
        return labels, (int(labels.max()) if labels.numel() else -1)
    return labels_with_max(preds, name)


def check_zero_division(value) -> float:
    """0, 1 or NaN: what an undefined ratio (0/0) is reported as."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`zero_division` must be 0, 1 or float('nan'); got {value!r}.")
    if not (value in (0, 1) or math.isnan(value)):
        raise ValueError(f"`zero_division` must be 0, 1 or float('nan'); got {value!r}.")
    return float(value)


def check_positive_int(value, name: str) -> int:
    """A positive int, NumPy integers included (bools refused); returned as a plain int."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    return int(value)


def check_non_negative_int(value, name: str) -> int:
    """An int >= 0, NumPy integers included (bools refused); returned as a plain int."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative int; got {value!r}.")
    return int(value)


def check_seed(value, name: str = "seed") -> int:
    """A seed that Python, NumPy and PyTorch all accept: an int in [0, 2**32 - 1] (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**32 - 1:
        raise ValueError(f"`{name}` must be an int in [0, 2**32 - 1]; got {value!r}.")
    return value


def check_bool(value, name: str) -> bool:
    """True or False, nothing merely truthy (a string "no" would otherwise switch an option on)."""
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be True or False; got {value!r}.")
    return value
