"""Error analysis: which samples a classifier gets wrong, how badly, between which classes, and
which given labels look wrong themselves.

Most functions take a :class:`helpers.evaluate.Predictions` (the result of ``predict``), or the same
information as tensors plus ``target`` (N,): ``misclassified``, ``top_losses`` and
``suspected_label_issues`` need probabilities (N, C) whose rows sum to 1 (apply
``torch.softmax(logits, dim=1)`` to logits; ``Predictions.probs`` does it for you);
``class_error_rates`` also accepts class labels or scores; ``most_confused`` works on a confusion
matrix. Error rates by slice (ink amount, confidence, ...) live in :mod:`helpers.slices`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import pandas as pd
import torch

from helpers._validation import as_tensor, check_labels, check_positive_int, to_labels
from helpers.evaluate import Predictions


@dataclass(frozen=True)
class SampleTable:
    """Selected samples, one entry per row, in ranked order (all tensors have the same length).

    Attributes:
        index: position of each sample in the evaluated set (N,) -> (K,).
        target: its given (true) label.
        preds: the model's predicted label (the argmax).
        confidence: the probability of the predicted label.
        loss: cross-entropy ``-log p[target]`` (inf where that probability is 0).
    """

    index: torch.Tensor
    target: torch.Tensor
    preds: torch.Tensor
    confidence: torch.Tensor
    loss: torch.Tensor

    def __len__(self) -> int:
        return len(self.index)

    def to_frame(self) -> pd.DataFrame:
        """One row per sample, columns named as the attributes."""
        return pd.DataFrame({f.name: getattr(self, f.name).numpy() for f in fields(self)})


@dataclass(frozen=True)
class LabelIssues:
    """Samples whose given label looks wrong, most certain first (see :func:`suspected_label_issues`).

    Attributes:
        index: position of each flagged sample.
        given: the label it carries.
        suggested: the class the model confidently prefers.
        given_prob, suggested_prob: the model's probabilities of those two classes.
        margin: ``suggested_prob - given_prob``, the ranking key (larger = surer).
        thresholds: the per-class thresholds (C,) that were used (NaN for a class nobody carries).
    """

    index: torch.Tensor
    given: torch.Tensor
    suggested: torch.Tensor
    given_prob: torch.Tensor
    suggested_prob: torch.Tensor
    margin: torch.Tensor
    thresholds: torch.Tensor

    def __len__(self) -> int:
        return len(self.index)

    def to_frame(self) -> pd.DataFrame:
        """One row per flagged sample (the thresholds are left out)."""
        return pd.DataFrame({f.name: getattr(self, f.name).numpy() for f in fields(self) if f.name != "thresholds"})


class ConfusedPair(NamedTuple):
    """One off-diagonal cell of a confusion matrix: ``count`` samples of class ``true`` predicted as ``predicted``."""

    true: int
    predicted: int
    count: int


def _probs_and_target(probs, target) -> tuple[torch.Tensor, torch.Tensor]:
    """Validated probabilities (N, C) float64 and labels (N,) int64 from a Predictions or tensors."""
    if isinstance(probs, Predictions):
        if target is not None:
            raise ValueError("`target` must be None when `probs` is a Predictions; it carries its own target.")
        if not probs.is_classification:
            raise ValueError("`probs` is a Predictions of a regression model (floating targets); need class labels.")
        probs, target = probs.probs, probs.target
    elif target is None:
        raise TypeError("`target` is required when `probs` is a tensor; pass the labels (N,) or a Predictions.")
    probs = as_tensor(probs, "probs").cpu()
    if not probs.is_floating_point() or probs.ndim != 2 or probs.shape[1] < 1:
        raise ValueError(f"`probs` must be floating probabilities of shape (N, C); got {probs.dtype} "
                         f"of shape {tuple(probs.shape)}.")
    probs = probs.to(torch.float64)
    if not bool(torch.isfinite(probs).all()) or (probs.numel() and (float(probs.min()) < 0 or float(probs.max()) > 1)):
        raise ValueError("`probs` must lie in [0, 1]; if these are logits, apply torch.softmax(logits, dim=1) first.")
    sums = probs.sum(dim=1)
    if probs.numel() and float((sums - 1).abs().max()) > 1e-3:
        raise ValueError(f"each row of `probs` must sum to 1; got sums in [{float(sums.min()):.4g}, "
                         f"{float(sums.max()):.4g}]. Apply torch.softmax(logits, dim=1) to logits.")
    target = check_labels(as_tensor(target, "target"), "target")
    if target.shape[0] != probs.shape[0]:
        raise ValueError(f"`target` must have one label per row of `probs` ({probs.shape[0]}); got {target.shape[0]}.")
    if target.numel() and int(target.max()) >= probs.shape[1]:
        raise ValueError(f"`target` holds class {int(target.max())} but `probs` has only {probs.shape[1]} columns.")
    return probs, target


def _labels_and_target(preds, target) -> tuple[torch.Tensor, torch.Tensor, int | None]:
    """Predicted labels (N,), target (N,) and the number of score columns (None for labels)."""
    if isinstance(preds, Predictions):
        preds, target = _probs_and_target(preds, target)  # probs (N, C)
    elif target is None:
        raise TypeError("`target` is required when `preds` is a tensor; pass the labels (N,) or a Predictions.")
    scores = as_tensor(preds, "preds")
    labels = to_labels(scores, "preds")
    target = check_labels(as_tensor(target, "target"), "target")
    if labels.shape != target.shape:
        raise ValueError(f"`preds` and `target` must have the same length; got {len(labels)} and {len(target)}.")
    return labels, target, (scores.shape[1] if scores.ndim == 2 else None)


def _table(probs: torch.Tensor, target: torch.Tensor, index: torch.Tensor) -> SampleTable:
    preds = probs[index].argmax(dim=1)  # (K,); the first of tied maxima, as everywhere in helpers
    return SampleTable(index, target[index], preds, probs[index, preds], -torch.log(probs[index, target[index]]))


def _rank(key: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``index`` reordered by ``key`` descending; ties keep ascending index order (a stable sort)."""
    return index[torch.sort(key, descending=True, stable=True).indices]


def misclassified(probs, target=None) -> SampleTable:
    """The samples whose predicted class (argmax) differs from the target, most confident first.

    The mistakes the model was surest about are the first to look at: a confident mistake is either
    a real blind spot or a wrong label. Ties are broken by sample index.

    Args:
        probs: a ``Predictions`` from ``predict``, or probabilities (N, C) with rows summing to 1.
        target: labels (N,) when ``probs`` is a tensor; None with a ``Predictions``.

    Returns:
        A :class:`SampleTable` of the K misclassified samples (K may be 0).

    Example:
        >>> probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> misclassified(probs, torch.tensor([0, 0, 1])).index.tolist()
        [1, 2]
    """
    probs, target = _probs_and_target(probs, target)
    wrong = torch.nonzero(probs.argmax(dim=1) != target).flatten()
    return _table(probs, target, _rank(probs[wrong].max(dim=1).values, wrong))


def top_losses(probs, target=None, k: int = 16) -> SampleTable:
    """The ``k`` samples with the largest cross-entropy loss ``-log p[target]``, largest first.

    Correct predictions can appear too (a right answer given with low probability). Fewer than
    ``k`` rows come back when there are fewer than ``k`` samples. Ties are broken by sample index.

    Example:
        >>> probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        >>> top_losses(probs, torch.tensor([0, 0, 1]), k=2).index.tolist()
        [1, 2]
    """
    check_positive_int(k, "k")
    probs, target = _probs_and_target(probs, target)
    loss = -torch.log(probs[torch.arange(len(target)), target])  # (N,)
    return _table(probs, target, _rank(loss, torch.arange(len(target)))[:k])


def most_confused(cm, k: int = 5, *, min_count: int = 1) -> list[ConfusedPair]:
    """The ``k`` largest off-diagonal cells of a confusion matrix, as (true, predicted, count) rows.

    Direction matters: (4, 9) counts 4s predicted as 9, (9, 4) the reverse. Cells below ``min_count``
    are left out, so fewer than ``k`` rows may come back. Ties: smaller (true, predicted) first.

    Args:
        cm: (C, C) integer counts with ``cm[i, j]`` = true ``i`` predicted ``j`` (``helpers.confusion_matrix``).
        k: at most this many rows.
        min_count: smallest count to report.

    Example:
        >>> most_confused(torch.tensor([[5, 3, 0], [1, 7, 0], [0, 3, 2]]), k=2)
        [ConfusedPair(true=0, predicted=1, count=3), ConfusedPair(true=2, predicted=1, count=3)]
    """
    check_positive_int(k, "k")
    check_positive_int(min_count, "min_count")
    cm = as_tensor(cm, "cm")
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"`cm` must be a square (C, C) matrix; got shape {tuple(cm.shape)}.")
    if cm.is_floating_point() or cm.is_complex() or cm.dtype == torch.bool:
        raise TypeError(f"`cm` must hold integer counts (not a normalised matrix); got dtype {cm.dtype}.")
    if cm.numel() and int(cm.min()) < 0:
        raise ValueError(f"`cm` counts must be >= 0; got {int(cm.min())}.")
    counts = cm.to(torch.int64).cpu().clone().fill_diagonal_(0).flatten()  # row-major: (true, predicted) order
    order = torch.sort(counts, descending=True, stable=True).indices
    size = cm.shape[0]
    return [ConfusedPair(int(i) // size, int(i) % size, int(counts[i])) for i in order[:k] if counts[i] >= min_count]


def class_error_rates(preds, target=None, *, num_classes: int | None = None) -> torch.Tensor:
    """Per-class error rate ``1 - recall``: the share of each true class that is misclassified.

    Args:
        preds: a ``Predictions``, class labels (N,) or scores (N, C) (argmax taken).
        target: labels (N,); None with a ``Predictions``.
        num_classes: length of the result; defaults to ``C`` of scores, else ``max label + 1``.

    Returns:
        float64 (C,); NaN for a class that never occurs in ``target``.

    Example:
        >>> class_error_rates(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 0, 1, 1])).tolist()
        [0.5, 0.0]
    """
    labels, target, width = _labels_and_target(preds, target)
    if num_classes is None:
        if width is None and not len(target):
            raise ValueError("`num_classes` is required when `preds` and `target` are empty.")
        num_classes = width or int(torch.cat([labels, target]).max()) + 1
    num_classes = check_positive_int(num_classes, "num_classes")
    if width is not None and num_classes != width:
        raise ValueError(f"`num_classes` ({num_classes}) must equal the number of score columns in `preds` ({width}).")
    if target.numel() and int(target.max()) >= num_classes:
        raise ValueError(f"`target` holds class {int(target.max())}; `num_classes` is {num_classes}.")
    support = torch.bincount(target, minlength=num_classes).to(torch.float64)
    errors = torch.bincount(target[labels != target], minlength=num_classes).to(torch.float64)
    return torch.where(support > 0, errors / support.clamp_min(1), torch.nan)


def suspected_label_issues(probs, target=None) -> LabelIssues:
    """Samples whose given label is probably wrong, in the spirit of confident learning.

    Each class ``j`` gets a threshold ``t[j]`` = the mean probability of ``j`` over the samples
    labelled ``j`` (how confident the model typically is on its own class). A sample labelled
    ``i`` is flagged when ``p[i] < t[i]`` (its label is unlikely) while some other class ``j`` has
    ``p[j] >= t[j]`` (that class is confidently predicted); the suggested label is the most probable
    such ``j``. Flags are ranked by ``p[suggested] - p[given]``, surest first.

    Use out-of-sample probabilities: cross-validated (e.g. ``cross_val_predict``) for a training set,
    or a trained model's on a held-out set. A model scores its own training labels as likely, mistakes
    included, so in-sample probabilities hide the errors.

    Args:
        probs: a ``Predictions`` or probabilities (N, C) with rows summing to 1.
        target: the given labels (N,); None with a ``Predictions``.

    Returns:
        :class:`LabelIssues` (possibly empty). A class nobody carries has threshold NaN and is never suggested.

    Example:
        >>> probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.95, 0.05]])
        >>> issues = suspected_label_issues(probs, torch.tensor([0, 0, 1, 1]))
        >>> issues.index.tolist(), issues.suggested.tolist()
        ([3], [0])
    """
    probs, target = _probs_and_target(probs, target)
    num_classes = probs.shape[1]
    per_label_sum = torch.zeros(num_classes, num_classes, dtype=torch.float64).index_add_(0, target, probs)
    counts = torch.bincount(target, minlength=num_classes).to(torch.float64)
    thresholds = per_label_sum.diagonal() / counts  # (C,); NaN (0/0) for a class nobody carries
    rows = torch.arange(len(target))
    given_prob = probs[rows, target]  # (N,)
    confident = probs >= thresholds  # (N, C); False where the threshold is NaN
    confident[rows, target] = False
    candidate = torch.where(confident, probs, -1.0).max(dim=1)  # the most probable confident other class
    flagged = torch.nonzero((given_prob < thresholds[target]) & confident.any(dim=1)).flatten()
    margin = candidate.values[flagged] - given_prob[flagged]
    order = torch.sort(margin, descending=True, stable=True).indices
    index = flagged[order]
    return LabelIssues(index, target[index], candidate.indices[index], given_prob[index],
                       candidate.values[index], margin[order], thresholds)
