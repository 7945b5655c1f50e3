"""Folds from a scikit-learn splitter, with the checks it skips or words obscurely.

scikit-learn's splitters give index arrays; used with PyTorch they fail late or silently when the
labels or groups they need are missing, or when there are more folds than samples, groups or
members of a class. :func:`split_indices` checks that up front, and re-emits the splitter's
warnings (such as "the least populated class ... is less than n_splits") for the caller instead of
letting them be lost or shown once only.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import torch
from sklearn import model_selection as ms

from helpers._validation import check_positive_int

STRATIFIED = (ms.StratifiedKFold, ms.StratifiedShuffleSplit, ms.StratifiedGroupKFold, ms.RepeatedStratifiedKFold)
GROUPED = (ms.GroupKFold, ms.GroupShuffleSplit, ms.LeaveOneGroupOut, ms.LeavePGroupsOut, ms.StratifiedGroupKFold)


def _as_array(values, name: str, n: int) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values.cpu() if isinstance(values, torch.Tensor) else values)
    if array.shape != (n,):
        raise ValueError(f"`{name}` must have one entry per sample, shape ({n},); got shape {array.shape}.")
    return array


def _needs_labels(splitter) -> bool:
    if isinstance(splitter, STRATIFIED):
        return True
    y = inspect.signature(splitter.split).parameters.get("y")
    return y is not None and y.default is inspect.Parameter.empty


def _check_sizes(splitter, n: int, labels: np.ndarray | None, groups: np.ndarray | None) -> None:
    """Refuse a K-fold splitter that asks for more folds than samples, groups or members of every class."""
    name = type(splitter).__name__
    if isinstance(splitter, (ms.RepeatedKFold, ms.RepeatedStratifiedKFold)):
        k = splitter.cvargs.get("n_splits", 5)
    elif isinstance(splitter, (ms.KFold, ms.StratifiedKFold, ms.GroupKFold, ms.StratifiedGroupKFold)):
        k = splitter.n_splits
    else:  # shuffle splits and leave-one/p-out have no such limit
        return
    if k > n:
        raise ValueError(f"`splitter` {name} asks for n_splits={k} folds but there are only {n} samples; "
                         f"use n_splits <= {n} (or LeaveOneOut).")
    if groups is not None and isinstance(splitter, GROUPED) and k > len(np.unique(groups)):
        distinct = len(np.unique(groups))
        raise ValueError(f"`splitter` {name} asks for n_splits={k} folds but `groups` has only {distinct} "
                         f"distinct groups; use n_splits <= {distinct}.")
    if labels is not None and isinstance(splitter, STRATIFIED):
        counts = np.unique(labels, return_counts=True)[1]
        if np.all(counts < k):
            raise ValueError(f"`splitter` {name} asks for n_splits={k} folds but every class has fewer members "
                             f"(largest class: {counts.max()}); a stratified split needs n_splits <= {counts.max()}.")


def _split(splitter, n: int, labels, groups, stacklevel: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if not (callable(getattr(splitter, "split", None)) and callable(getattr(splitter, "get_n_splits", None))):
        raise TypeError(f"`splitter` must be a scikit-learn splitter such as KFold(5); got {type(splitter).__name__}.")
    n = check_positive_int(n, "n_samples")
    labels, groups = _as_array(labels, "labels", n), _as_array(groups, "groups", n)
    name = type(splitter).__name__
    if _needs_labels(splitter) and labels is None:
        raise ValueError(f"`splitter` {name} stratifies by class and needs `labels` (one class per sample); got "
                         "None. cross_validate takes them from the dataset only when its targets are integer classes.")
    if isinstance(splitter, GROUPED) and groups is None:
        raise ValueError(f"`splitter` {name} keeps groups together and needs `groups` (one group id per sample); "
                         "got None.")
    _check_sizes(splitter, n, labels, groups)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folds = [(np.asarray(tr), np.asarray(va)) for tr, va in splitter.split(np.zeros((n, 1)), labels, groups)]
    for warning in caught:
        warnings.warn(f"{name}: {warning.message}", warning.category, stacklevel=stacklevel)
    if not folds or any(len(tr) == 0 or len(va) == 0 for tr, va in folds):
        raise ValueError(f"`splitter` {name} produced an empty training or validation fold for {n} samples.")
    return folds


def split_indices(splitter, n_samples: int, labels=None, groups=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train indices, validation indices) of every fold of ``splitter`` over ``n_samples`` samples.

    Args:
        splitter: any scikit-learn splitter (``KFold``, ``StratifiedKFold``, ``LeaveOneOut``, ``GroupKFold``,
            ``RepeatedStratifiedKFold``, ...).
        n_samples: number of samples.
        labels: class per sample (N,); required by stratified splitters.
        groups: group id per sample (N,); required by group splitters.

    Raises:
        TypeError: ``splitter`` has no ``split`` method.
        ValueError: labels or groups missing or of the wrong length; more folds than samples, than
            groups, or (stratified) than members of every class; an empty fold.

    Warns:
        UserWarning: the splitter's own warnings, re-emitted with its name (e.g. a class with fewer
            members than ``n_splits``, so some validation folds will lack it).

    Example:
        >>> [va.tolist() for _, va in split_indices(ms.StratifiedKFold(2), 4, labels=[0, 0, 1, 1])]
        [[0, 2], [1, 3]]
    """
    return _split(splitter, n_samples, labels, groups, stacklevel=3)
