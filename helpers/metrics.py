"""Classification and regression metrics, all derived from one confusion matrix.

Argument order is PyTorch's, ``(preds, target)``; scikit-learn's is ``(y_true, y_pred)``.
``cm[i, j]`` counts samples whose true class is ``i`` and predicted class is ``j``.

Which classes a score averages over (the same rule as scikit-learn's ``labels``):
``range(num_classes)`` when ``num_classes`` is given, otherwise the classes that occur in
``preds`` or ``target``. Per-class results (``average=None``) are indexed by class id.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd
import torch

from helpers._validation import (
    as_tensor,
    check_positive_int,
    check_zero_division,
    labels_from_preds_with_max,
    labels_with_max,
)

Average = Literal["binary", "micro", "macro", "weighted"] | None
_AVERAGES = ("binary", "micro", "macro", "weighted", None)
_NORMALIZE = ("true", "pred", "all", None)


# ---------------------------------------------------------------- counting


_CHUNK = 1 << 20  # samples per counting step: small enough for its index buffer to stay in cache


def _bincount_matrix(preds: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The one counting step: ``bincount(target * C + preds)`` reshaped to (C, C).

    Done in chunks through one reused buffer: allocating a fresh (N,) index tensor costs more
    than the counting itself for tens of millions of samples.
    """
    n, bins = target.numel(), num_classes * num_classes
    counts = torch.zeros(bins, dtype=torch.int64)
    buffer = torch.empty(min(n, _CHUNK), dtype=torch.int64)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        flat = torch.add(preds[start:stop], target[start:stop], alpha=num_classes, out=buffer[: stop - start])
        counts += torch.bincount(flat, minlength=bins)
    return counts.reshape(num_classes, num_classes)


def _prepare(preds, target, num_classes: int | None) -> tuple[torch.Tensor, torch.Tensor, int]:
    preds, preds_max = labels_from_preds_with_max(preds, "preds")
    target, target_max = labels_with_max(as_tensor(target, "target"), "target")
    if preds.shape != target.shape:
        raise ValueError(
            f"`preds` and `target` must describe the same samples; got {preds.numel()} predictions "
            f"and {target.numel()} targets."
        )
    if preds.numel() == 0:
        raise ValueError("`preds` and `target` are empty; at least one sample is needed.")
    largest = max(preds_max, target_max)
    if num_classes is None:
        num_classes = largest + 1
    else:
        check_positive_int(num_classes, "num_classes")
        if largest >= num_classes:
            raise ValueError(
                f"labels must lie in [0, num_classes) = [0, {num_classes}); got a label {largest} "
                f"in `preds` or `target`."
            )
    return preds, target, num_classes


def confusion_matrix(
    preds,
    target,
    num_classes: int | None = None,
    normalize: Literal["true", "pred", "all"] | None = None,
) -> torch.Tensor:
    """Confusion matrix with rows = true class and columns = predicted class.

    Args:
        preds: class indices (N,), scores/logits/probabilities (N, C) (argmax is taken), or
            binary probabilities (N,) in [0, 1] (thresholded at 0.5).
        target: true class indices (N,).
        num_classes: C; inferred as ``max(label) + 1`` when None.
        normalize: None for counts; "true" divides each row by its sum (recall view), "pred" each
            column (precision view), "all" the whole matrix. An empty row/column gives zeros.

    Returns:
        (C, C) int64 counts, or float64 fractions when ``normalize`` is set.

    Raises:
        ValueError: on mismatched lengths, empty input, negative or out-of-range labels,
            non-finite scores, or an unknown ``normalize``.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]))
        tensor([[1, 1],
                [0, 1]])
    """
    if normalize not in _NORMALIZE:
        raise ValueError(f"`normalize` must be one of 'true', 'pred', 'all' or None; got {normalize!r}.")
    preds, target, num_classes = _prepare(preds, target, num_classes)
    cm = _bincount_matrix(preds, target, num_classes)
    return cm if normalize is None else normalize_confusion_matrix(cm, normalize)


def normalize_confusion_matrix(cm: torch.Tensor, normalize: Literal["true", "pred", "all"]) -> torch.Tensor:
    """Divide counts by row sums ("true"), column sums ("pred") or the total ("all"); 0/0 gives 0."""
    if normalize not in ("true", "pred", "all"):
        raise ValueError(f"`normalize` must be one of 'true', 'pred' or 'all'; got {normalize!r}.")
    cm = cm.to(torch.float64)
    if normalize == "true":
        denom = cm.sum(dim=1, keepdim=True)
    elif normalize == "pred":
        denom = cm.sum(dim=0, keepdim=True)
    else:
        denom = cm.sum()
    return torch.where(denom > 0, cm / denom.clamp(min=1), torch.zeros_like(cm))


# ---------------------------------------------------------------- scores


def _safe_divide(num: torch.Tensor, denom: torch.Tensor, zero_division: float) -> torch.Tensor:
    """num / denom in float64, with ``zero_division`` wherever denom == 0."""
    num, denom = num.to(torch.float64), denom.to(torch.float64)
    fill = torch.full_like(num, float(zero_division))
    return torch.where(denom > 0, num / torch.where(denom > 0, denom, torch.ones_like(denom)), fill)


def _nanmean(values: torch.Tensor, weights: torch.Tensor | None = None) -> float:
    """Mean that skips NaN entries (scikit-learn's rule for zero_division=nan); NaN if all are NaN."""
    keep = ~torch.isnan(values)
    if not bool(keep.any()):
        return math.nan
    values = values[keep]
    if weights is None:
        return float(values.mean())
    weights = weights[keep].to(torch.float64)
    if float(weights.sum()) == 0:  # every weight zero: fall back to the plain mean, as scikit-learn
        return float(values.mean())
    return float((values * weights).sum() / weights.sum())


@dataclass(frozen=True)
class PRFS:
    """Precision, recall, F-beta and support; floats when averaged, (C,) tensors when not."""

    precision: float | torch.Tensor
    recall: float | torch.Tensor
    fbeta: float | torch.Tensor
    support: torch.Tensor


def scores_from_confusion_matrix(
    cm: torch.Tensor,
    average: Average = "macro",
    *,
    labels: torch.Tensor | None = None,
    pos_label: int = 1,
    beta: float = 1.0,
    zero_division: float = 0.0,
) -> PRFS:
    """Precision, recall and F-beta read off a confusion matrix (count once, divide once).

    tp is the diagonal, fp = column sum - tp, fn = row sum - tp. "micro" sums the counts of the
    averaged classes before dividing; "macro" averages per-class scores; "weighted" weights them by
    support (true count); "binary" reports ``pos_label`` only; None returns per-class tensors.

    Args:
        cm: (C, C) counts, rows = true class.
        average: see above.
        labels: bool mask (C,) of the classes to average over; all when None.
        pos_label: the positive class for ``average="binary"``.
        beta: recall's weight in F-beta (1 gives F1).
        zero_division: value of a 0/0 ratio: 0, 1 or nan.

    Example:
        >>> cm = torch.tensor([[5, 1], [2, 2]])
        >>> round(scores_from_confusion_matrix(cm, "binary").precision, 4)
        0.6667
    """
    _check_average(average)
    zero_division = check_zero_division(zero_division)
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0 or math.isinf(beta):
        raise ValueError(f"`beta` must be a finite number >= 0; got {beta!r}.")
    num_classes = cm.shape[0]
    tp = cm.diagonal()
    pred_sum = cm.sum(dim=0)
    true_sum = cm.sum(dim=1)
    if labels is None:
        labels = torch.ones(num_classes, dtype=torch.bool)

    if average == "binary":
        present = ((pred_sum + true_sum) > 0).nonzero().flatten().tolist()
        if len(present) > 2:
            raise ValueError(
                f"average='binary' needs at most two classes in `preds` and `target`; found {len(present)} "
                f"({present}). Choose average='micro', 'macro', 'weighted' or None."
            )
        if not isinstance(pos_label, int) or isinstance(pos_label, bool):
            raise TypeError(f"`pos_label` must be an int; got {type(pos_label).__name__}.")
        if pos_label not in present and len(present) == 2:
            raise ValueError(f"`pos_label`={pos_label} is not a class in the data; the classes are {present}.")
        if not 0 <= pos_label < num_classes:
            # pos_label absent from data with a single present class: nothing predicted or true.
            tp = pred_sum = true_sum = torch.zeros(1, dtype=cm.dtype)
        else:
            tp, pred_sum, true_sum = tp[[pos_label]], pred_sum[[pos_label]], true_sum[[pos_label]]
        labels = torch.ones(1, dtype=torch.bool)
    elif average == "micro":
        tp, pred_sum, true_sum = (x[labels].sum(dim=0, keepdim=True) for x in (tp, pred_sum, true_sum))
        labels = torch.ones(1, dtype=torch.bool)

    beta2 = float(beta) ** 2
    precision = _safe_divide(tp, pred_sum, zero_division)
    recall = _safe_divide(tp, true_sum, zero_division)
    # F-beta from counts, so a filled-in precision or recall never leaks into it.
    fp, fn = pred_sum - tp, true_sum - tp
    fbeta = _safe_divide((1 + beta2) * tp, (1 + beta2) * tp + beta2 * fn + fp, zero_division)

    if average is None:
        return PRFS(precision, recall, fbeta, true_sum)
    weights = true_sum[labels] if average == "weighted" else None
    return PRFS(
        _nanmean(precision[labels], weights),
        _nanmean(recall[labels], weights),
        _nanmean(fbeta[labels], weights),
        true_sum[labels].sum(),
    )


def _check_average(average) -> None:
    if average not in _AVERAGES:
        raise ValueError(
            f"`average` must be one of 'binary', 'micro', 'macro', 'weighted' or None; got {average!r}."
        )


def _matrix_and_labels(preds, target, num_classes: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The confusion matrix and the bool mask (C,) of classes averaged over (module docstring's rule)."""
    given = num_classes is not None
    preds, target, num_classes = _prepare(preds, target, num_classes)
    cm = _bincount_matrix(preds, target, num_classes)
    labels = torch.ones(num_classes, dtype=torch.bool) if given else (cm.sum(dim=0) + cm.sum(dim=1)) > 0
    return cm, labels


def _scores(preds, target, average, num_classes, pos_label, beta, zero_division) -> PRFS:
    _check_average(average)  # before the data, so a bad `average` is what the message is about
    cm, labels = _matrix_and_labels(preds, target, num_classes)
    return scores_from_confusion_matrix(
        cm, average, labels=labels, pos_label=pos_label, beta=beta, zero_division=zero_division
    )


def precision_recall_fscore_support(
    preds,
    target,
    average: Average = "macro",
    *,
    num_classes: int | None = None,
    pos_label: int = 1,
    beta: float = 1.0,
    zero_division: float = 0.0,
) -> PRFS:
    """Precision, recall, F-beta and support in one pass (scikit-learn's function of that name).

    Args and averaging rules as in :func:`scores_from_confusion_matrix`; ``preds`` as in
    :func:`confusion_matrix`.

    Example:
        >>> r = precision_recall_fscore_support(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]))
        >>> round(r.precision, 4), round(r.recall, 4)
        (0.75, 0.75)
    """
    return _scores(preds, target, average, num_classes, pos_label, beta, zero_division)


def precision(preds, target, average: Average = "macro", *, num_classes: int | None = None,
              pos_label: int = 1, zero_division: float = 0.0) -> float | torch.Tensor:
    """Precision = TP / (TP + FP): of the samples predicted as a class, the share that truly are.

    Undefined (``zero_division``) for a class that is never predicted.

    Example:
        >>> precision(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 0, 0]), average="binary")
        0.5
    """
    return _scores(preds, target, average, num_classes, pos_label, 1.0, zero_division).precision


def recall(preds, target, average: Average = "macro", *, num_classes: int | None = None,
           pos_label: int = 1, zero_division: float = 0.0) -> float | torch.Tensor:
    """Recall = TP / (TP + FN): of the samples truly in a class, the share that were found.

    Undefined (``zero_division``) for a class absent from ``target``.

    Example:
        >>> recall(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 0, 0]), average="binary")
        1.0
    """
    return _scores(preds, target, average, num_classes, pos_label, 1.0, zero_division).recall


def fbeta_score(preds, target, beta: float, average: Average = "macro", *, num_classes: int | None = None,
                pos_label: int = 1, zero_division: float = 0.0) -> float | torch.Tensor:
    """F-beta = (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP); beta > 1 favours recall.

    Example:
        >>> round(fbeta_score(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 0, 0]), 2.0, "binary"), 4)
        0.8333
    """
    return _scores(preds, target, average, num_classes, pos_label, beta, zero_division).fbeta


def f1_score(preds, target, average: Average = "macro", *, num_classes: int | None = None,
             pos_label: int = 1, zero_division: float = 0.0) -> float | torch.Tensor:
    """F1 = 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall.

    Example:
        >>> round(f1_score(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 0, 0]), average="binary"), 4)
        0.6667
    """
    return _scores(preds, target, average, num_classes, pos_label, 1.0, zero_division).fbeta


def accuracy(preds, target, *, num_classes: int | None = None) -> float:
    """Share of samples whose predicted class equals the true class: trace(cm) / N.

    For single-label multiclass data it equals micro precision and micro recall. Per-class
    "accuracy" is recall(average=None).

    Example:
        >>> accuracy(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]))
        0.6666666666666666
    """
    preds, target, _ = _prepare(preds, target, num_classes)
    return float((preds == target).sum().item() / preds.numel())


def classification_report(preds, target, *, num_classes: int | None = None,
                          class_names: list[str] | None = None, zero_division: float = 0.0) -> pd.DataFrame:
    """Per-class precision, recall, F1 and support, plus accuracy, macro and weighted rows.

    The same numbers as ``sklearn.metrics.classification_report(..., output_dict=True)``.

    Example:
        >>> classification_report(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1])).loc["macro avg", "recall"].item()
        0.75
    """
    cm, labels = _matrix_and_labels(preds, target, num_classes)
    num_classes = cm.shape[0]
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"`class_names` must have {num_classes} entries; got {len(class_names)}.")
    names = class_names or [str(c) for c in range(num_classes)]
    per_class = scores_from_confusion_matrix(cm, None, zero_division=zero_division)
    rows = {
        names[c]: [float(per_class.precision[c]), float(per_class.recall[c]), float(per_class.fbeta[c]),
                   int(per_class.support[c])]
        for c in labels.nonzero().flatten().tolist()
    }
    n = int(cm.sum())
    acc = float(cm.diagonal().sum()) / n
    rows["accuracy"] = [acc, acc, acc, n]
    for name, average in (("macro avg", "macro"), ("weighted avg", "weighted")):
        s = scores_from_confusion_matrix(cm, average, labels=labels, zero_division=zero_division)
        rows[name] = [s.precision, s.recall, s.fbeta, n]
    report = pd.DataFrame.from_dict(rows, orient="index", columns=["precision", "recall", "f1-score", "support"])
    return report.astype({"support": "int64"})


# ---------------------------------------------------------------- streaming


class ConfusionMatrix:
    """Accumulates a confusion matrix batch by batch; ``compute()`` equals the one-shot matrix.

    Example:
        >>> cm = ConfusionMatrix(num_classes=2)
        >>> cm.update(torch.tensor([0, 1]), torch.tensor([0, 0]))
        >>> cm.update(torch.tensor([1]), torch.tensor([1]))
        >>> cm.compute()
        tensor([[1, 1],
                [0, 1]])
    """

    def __init__(self, num_classes: int):
        self.num_classes = check_positive_int(num_classes, "num_classes")
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)

    def update(self, preds, target) -> None:
        """Add one batch (same argument rules as :func:`confusion_matrix`)."""
        self.matrix += confusion_matrix(preds, target, num_classes=self.num_classes).cpu()

    def compute(self, normalize: Literal["true", "pred", "all"] | None = None) -> torch.Tensor:
        """The matrix so far (a copy), optionally normalised."""
        return self.matrix.clone() if normalize is None else normalize_confusion_matrix(self.matrix, normalize)

    def reset(self) -> None:
        """Zero the counts."""
        self.matrix.zero_()


# ---------------------------------------------------------------- uncertainty


@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate and its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    confidence: float


def bootstrap_ci(metric: Callable, preds, target, *, n_resamples: int = 1000, confidence: float = 0.95,
                 seed: int = 0) -> BootstrapCI:
    """Percentile bootstrap interval of ``metric(preds, target)`` over resampled test sets.

    Each resample draws N samples with replacement (seeded, so the interval is reproducible).

    Example:
        >>> preds, target = torch.tensor([0, 1] * 50), torch.tensor([0, 1] * 45 + [1, 0] * 5)
        >>> ci = bootstrap_ci(accuracy, preds, target, n_resamples=200)
        >>> ci.low < ci.estimate < ci.high
        True
    """
    if not callable(metric):
        raise TypeError(f"`metric` must be a function of (preds, target); got {type(metric).__name__}.")
    check_positive_int(n_resamples, "n_resamples")
    if not (isinstance(confidence, float) and 0 < confidence < 1):
        raise ValueError(f"`confidence` must be a float in (0, 1); got {confidence!r}.")
    preds_t, target_t = as_tensor(preds, "preds"), as_tensor(target, "target")
    if preds_t.shape[:1] != target_t.shape[:1] or target_t.numel() == 0:
        raise ValueError(f"`preds` and `target` must be non-empty and of equal length; "
                         f"got {tuple(preds_t.shape)} and {tuple(target_t.shape)}.")
    generator = torch.Generator().manual_seed(seed)
    n = target_t.shape[0]
    values = torch.tensor([
        float(metric(preds_t[idx], target_t[idx]))
        for idx in torch.randint(n, (n_resamples, n), generator=generator)
    ], dtype=torch.float64)
    alpha = (1 - confidence) / 2
    low, high = torch.quantile(values, torch.tensor([alpha, 1 - alpha], dtype=torch.float64)).tolist()
    return BootstrapCI(float(metric(preds_t, target_t)), low, high, confidence)


# ---------------------------------------------------------------- regression


def _regression_inputs(preds, target) -> tuple[torch.Tensor, torch.Tensor]:
    preds = as_tensor(preds, "preds").to(torch.float64)
    target = as_tensor(target, "target").to(torch.float64)
    if preds.shape != target.shape:
        raise ValueError(f"`preds` and `target` must have the same shape; got {tuple(preds.shape)} "
                         f"and {tuple(target.shape)}.")
    if preds.numel() == 0:
        raise ValueError("`preds` and `target` are empty; at least one sample is needed.")
    for name, t in (("preds", preds), ("target", target)):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"`{name}` contains NaN or infinity; regression metrics need finite values.")
    if preds.ndim == 1:
        return preds[:, None], target[:, None]
    return preds.reshape(preds.shape[0], -1), target.reshape(target.shape[0], -1)


def mean_squared_error(preds, target) -> float:
    """MSE = mean((preds - target)^2), averaged uniformly over outputs.

    Example:
        >>> mean_squared_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
        2.0
    """
    preds, target = _regression_inputs(preds, target)
    return float(((preds - target) ** 2).mean(dim=0).mean())


def mean_absolute_error(preds, target) -> float:
    """MAE = mean(|preds - target|), averaged uniformly over outputs.

    Example:
        >>> mean_absolute_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
        1.0
    """
    preds, target = _regression_inputs(preds, target)
    return float((preds - target).abs().mean(dim=0).mean())


def r2_score(preds, target) -> float:
    """R^2 = 1 - SS_res / SS_tot, averaged uniformly over outputs.

    A constant target (SS_tot = 0) scores 1.0 if predicted exactly, else 0.0, as in scikit-learn.

    Example:
        >>> r2_score(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0]))
        0.7857142857142857
    """
    preds, target = _regression_inputs(preds, target)
    if preds.shape[0] < 2:
        raise ValueError(f"r2_score needs at least two samples to measure the target's variance; got {preds.shape[0]}.")
    ss_res = ((target - preds) ** 2).sum(dim=0)
    ss_tot = ((target - target.mean(dim=0)) ** 2).sum(dim=0)
    score = torch.where(ss_tot > 0, 1 - ss_res / torch.where(ss_tot > 0, ss_tot, 1.0),
                        torch.where(ss_res == 0, 1.0, 0.0).to(torch.float64))
    return float(score.mean())
