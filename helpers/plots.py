"""Plots. Every function takes an optional ``ax`` (or ``axes``) and returns what it drew on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Real

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from helpers._validation import as_tensor, check_positive_int
from helpers.data import MNIST_MEAN, MNIST_STD
from helpers.metrics import normalize_confusion_matrix


def plot_confusion_matrix(cm: torch.Tensor, class_names: Sequence[str] | None = None, *,
                          normalize: str | None = None, ax: plt.Axes | None = None, cmap: str = "Blues",
                          title: str | None = None) -> plt.Axes:
    """Heatmap of a confusion matrix, true class down the rows and predicted class across.

    Args:
        cm: (C, C) counts.
        class_names: tick labels; class indices when None.
        normalize: None (counts), "true" (each row sums to 1: recall view) or "pred" (each column:
            precision view), or "all".
        ax: axes to draw on; a new figure when None.

    Example:
        >>> ax = plot_confusion_matrix(torch.tensor([[5, 1], [2, 2]]), ["cat", "dog"])
        >>> ax.get_xlabel()
        'Predicted label'
    """
    cm = torch.as_tensor(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"`cm` must be a square (C, C) matrix; got shape {tuple(cm.shape)}.")
    names = [str(c) for c in range(cm.shape[0])] if class_names is None else list(class_names)
    if len(names) != cm.shape[0]:
        raise ValueError(f"`class_names` must have {cm.shape[0]} entries; got {len(names)}.")
    values = cm.numpy() if normalize is None else normalize_confusion_matrix(cm, normalize).numpy()
    if ax is None:
        size = max(4.0, 0.55 * cm.shape[0] + 2)
        _, ax = plt.subplots(figsize=(size + 1, size))
    sns.heatmap(values, annot=True, fmt="d" if normalize is None else ".2f", cmap=cmap, square=True,
                xticklabels=names, yticklabels=names, cbar=True, ax=ax,
                annot_kws={"fontsize": 8 if cm.shape[0] > 5 else 11})
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title or {None: "Confusion matrix (counts)", "true": "Row-normalised (recall view)",
                           "pred": "Column-normalised (precision view)", "all": "Share of all samples"}[normalize])
    return ax


def plot_learning_curves(history, *, axes: Sequence[plt.Axes] | None = None,
                         best_epoch: int | None = None) -> np.ndarray:
    """Training vs validation loss (left) and validation accuracy (right) per epoch.

    Args:
        history: a ``helpers.training.History``.
        axes: two axes to draw on; a new 1x2 figure when None.
        best_epoch: 1-based epoch to mark with a vertical line (e.g. early stopping's best).

    Example:
        >>> from helpers.training import History
        >>> h = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], val_accuracy=[0.6, 0.8], lr=[0.1] * 2)
        >>> plot_learning_curves(h).shape
        (2,)
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    axes = np.asarray(axes)
    epochs = np.arange(1, history.epochs + 1)
    axes[0].plot(epochs, history.train_loss, marker="o", ms=3, label="train loss")
    axes[0].plot(epochs, history.val_loss, marker="o", ms=3, label="validation loss")
    axes[0].set(xlabel="epoch", ylabel="loss", title="Loss")
    axes[1].plot(epochs, history.val_accuracy, marker="o", ms=3, color="C2", label="validation accuracy")
    axes[1].set(xlabel="epoch", ylabel="accuracy", title="Validation accuracy")
    for ax in axes:
        if best_epoch is not None:
            ax.axvline(best_epoch, color="grey", ls="--", label=f"best epoch ({best_epoch})")
        ax.legend()
    return axes


def plot_histogram_series(records: Sequence, *, ax: plt.Axes | None = None, title: str | None = None,
                          cmap: str = "viridis") -> plt.Axes:
    """Histograms logged at successive steps, overlaid: early steps light, late steps dark.

    What TensorBoard's HISTOGRAMS tab shows in "overlay" mode, drawn as densities so that steps
    with different bin widths compare.

    Args:
        records: ``helpers.tensorboard.HistogramRecord`` items (``step``, ``edges`` (B + 1,),
            ``counts`` (B,)), e.g. from ``read_histograms(log_dir, "weights/1.weight")``.
        ax: axes to draw on; a new figure when None.

    Example:
        >>> from helpers.tensorboard import HistogramRecord
        >>> rec = HistogramRecord(1, np.array([0.0, 1.0, 2.0]), np.array([3.0, 1.0]))
        >>> plot_histogram_series([rec]).get_xlabel()
        'value'
    """
    if len(records) == 0:
        raise ValueError("`records` is empty; pass the list returned by read_histograms().")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    colors = plt.get_cmap(cmap)(np.linspace(0.95, 0.15, len(records)))  # viridis: light yellow -> dark purple
    for color, record in zip(colors, records, strict=True):
        edges, counts = np.asarray(record.edges, dtype=float), np.asarray(record.counts, dtype=float)
        widths = np.diff(edges)
        density = np.divide(counts, counts.sum() * widths, out=np.zeros_like(counts), where=widths > 0)
        ax.stairs(density, edges, color=color, label=f"step {record.step}")
    ax.set(xlabel="value", ylabel="density", title=title or "Histogram per step")
    ax.legend(fontsize=8)
    return ax


def plot_fold_scores(groups: dict[str, Sequence[float]], *, ax: plt.Axes | None = None, ylabel: str = "score",
                     title: str | None = None) -> plt.Axes:
    """One column of dots per group of scores (folds, splits, repeats), with the group's mean as a bar.

    Args:
        groups: label -> scores, e.g. ``{"20 hold-out splits": [...], "5-fold CV, 10 repeats": [...]}``.
        ax: axes to draw on; a new figure when None.
        ylabel, title: axis label and title.

    Example:
        >>> ax = plot_fold_scores({"hold-out": [0.7, 0.8, 0.75], "5-fold CV": [0.74, 0.76]})
        >>> [label.get_text() for label in ax.get_xticklabels()]
        ['hold-out', '5-fold CV']
    """
    if not isinstance(groups, dict) or not groups:
        raise ValueError(f"`groups` must be a non-empty dict of label -> scores; got {type(groups).__name__}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2 + 2.6 * len(groups), 3.5))
    for position, scores in enumerate(groups.values()):
        values = np.asarray(scores, dtype=np.float64)
        offsets = np.linspace(-0.18, 0.18, len(values)) if len(values) > 1 else np.zeros(1)  # spread, no randomness
        ax.scatter(position + offsets, values, s=18, alpha=0.75, color=f"C{position}")
        ax.hlines(values.mean(), position - 0.3, position + 0.3, color="black", lw=2)
        ax.annotate(f"mean {values.mean():.3f}\nstd {values.std(ddof=1) if len(values) > 1 else 0:.3f}",
                    (position + 0.32, values.mean()), va="center", fontsize=8)
    ax.set_xticks(range(len(groups)), list(groups))
    ax.set_xlim(-0.5, len(groups) - 0.1)
    ax.set(ylabel=ylabel, title=title or "")
    return ax


def _gallery_titles(count: int, target, preds, confidence) -> list[str]:
    """Titles "true 4 pred 9" over "conf 0.973", from whichever of the three columns are given."""
    columns = {}
    for name, values in (("target", target), ("preds", preds), ("confidence", confidence)):
        if values is None:
            continue
        values = as_tensor(values, name)
        if values.ndim != 1 or len(values) != count:
            hint = " (for scores, pass .argmax(dim=1))" if name == "preds" and values.ndim == 2 else ""
            raise ValueError(f"`{name}` must be (N,) with one entry per image ({count}){hint}; "
                             f"got shape {tuple(values.shape)}.")
        if name != "confidence" and values.is_floating_point():
            raise TypeError(f"`{name}` must hold integer class labels; got dtype {values.dtype}.")
        columns[name] = values.tolist()
    titles = []
    for i in range(count):
        labels = [f"{word} {columns[name][i]}" for name, word in (("target", "true"), ("preds", "pred")) if name in columns]
        lines = [" ".join(labels)] if labels else []
        if "confidence" in columns:
            lines.append(f"conf {columns['confidence'][i]:.3f}")
        titles.append("\n".join(lines))
    return titles


def _check_unnormalize(unnormalize) -> tuple[float, float] | None:
    """None, or a (mean, std) pair of real numbers with std > 0."""
    if unnormalize is None:
        return None
    if (not isinstance(unnormalize, Sequence) or len(unnormalize) != 2
            or not all(isinstance(v, Real) and not isinstance(v, bool) for v in unnormalize) or unnormalize[1] <= 0):
        raise ValueError(f"`unnormalize` must be None or a (mean, std) pair of numbers with std > 0; got {unnormalize!r}.")
    return float(unnormalize[0]), float(unnormalize[1])


def _mosaic(images: np.ndarray, ncols: int, *, full_rows: bool = False) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Tile (N, H, W) or (N, H, W, 3) images into one array with gaps, and each tile's (row, col) origin.

    A gap is NaN (grayscale: drawn transparent) or alpha 0 (colour); above each tile is room for
    a two-line title. ``full_rows`` keeps all ``ncols`` columns even for fewer images, so that
    galleries drawn one under another line up.
    """
    count, height, width = images.shape[:3]
    columns, rows = (ncols if full_rows else min(ncols, count)), -(-count // ncols)
    gap, title_room = max(1, width // 6), height // 2  # in pixels of the images themselves
    cell_h, cell_w = height + title_room, width + gap
    if images.ndim == 3:
        mosaic = np.full((rows * cell_h, columns * cell_w), np.nan, dtype=np.float32)
    else:
        mosaic = np.zeros((rows * cell_h, columns * cell_w, 4), dtype=np.float32)  # RGBA, alpha 0 in gaps
        images = np.concatenate([images, np.ones((*images.shape[:3], 1), dtype=np.float32)], axis=3)
    origins = []
    for i, image in enumerate(images):
        top, left = (i // columns) * cell_h + title_room, (i % columns) * cell_w + gap // 2
        mosaic[top:top + height, left:left + width] = image
        origins.append((top, left))
    return mosaic, origins


def show_images(images: torch.Tensor, titles: Sequence[str] | None = None, *, target=None, preds=None,
                confidence=None, ncols: int = 8, ax: plt.Axes | None = None,
                unnormalize: tuple[float, float] | None = (MNIST_MEAN, MNIST_STD), cmap: str = "gray") -> plt.Axes:
    """A gallery of images, each titled with its labels (e.g. a classifier's mistakes).

    The images are tiled into one picture on one axes, which draws several times faster than one
    axes per image (a 16-image gallery renders in about 0.1 s instead of 0.45 s).

    Args:
        images: (N, 1, H, W) or (N, H, W) grayscale, or (N, 3, H, W) colour.
        titles: one string per image; or leave it None and give any of ``target``, ``preds`` (class
            labels) and ``confidence``, each (N,), to get "true 4 pred 9" over "conf 0.973".
        ncols: images per row.
        ax: axes to draw the gallery on (it spans ``ncols`` columns, so galleries on stacked axes
            line up); a new figure when None.
        unnormalize: the (mean, std) the images were normalised with (MNIST's by default); pixels
            are shown as ``value * std + mean`` clipped to [0, 1]. None shows the values as they are, on
            the same fixed 0 (black) to 1 (white) scale: use it for images already in [0, 1]. uint8
            images are read as 0-255 pixels.

    Returns:
        The axes; ``ax.texts`` holds the titles in image order.

    Example:
        >>> ax = show_images(torch.zeros(3, 1, 28, 28), target=[1, 2, 3], preds=[1, 7, 3], ncols=2)
        >>> [text.get_text() for text in ax.texts]
        ['true 1 pred 1', 'true 2 pred 7', 'true 3 pred 3']
    """
    images = as_tensor(images, "images").cpu()
    if images.dtype == torch.uint8:  # 0-255 pixels (e.g. torchvision's raw MNIST): shown as they are
        images, unnormalize = images.to(torch.float32) / 255, None
    images = images.to(torch.float32)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]  # (N, H, W)
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[1] == 3)) or len(images) == 0:
        raise ValueError(f"`images` must be (N, 1, H, W), (N, H, W) or (N, 3, H, W) with N >= 1; "
                         f"got shape {tuple(images.shape)}.")
    ncols = check_positive_int(ncols, "ncols")
    if ax is not None and not isinstance(ax, plt.Axes):
        raise TypeError(f"`ax` must be a matplotlib Axes or None; got {type(ax).__name__}.")
    unnormalize = _check_unnormalize(unnormalize)
    count = len(images)
    if titles is None:
        titles = _gallery_titles(count, target, preds, confidence)
    elif isinstance(titles, str) or not isinstance(titles, Iterable):
        raise TypeError(f"`titles` must be a list of strings, one per image; got {type(titles).__name__}.")
    elif any(v is not None for v in (target, preds, confidence)):
        raise ValueError("give either `titles` or `target`/`preds`/`confidence` (which build the titles), not both.")
    titles = [str(title) for title in titles]
    if len(titles) != count:
        raise ValueError(f"`titles` must have one entry per image ({count}); got {len(titles)}.")
    if unnormalize is not None:
        mean, std = unnormalize
        images = (images * std + mean).clamp(0, 1)
    pixels = (images.permute(0, 2, 3, 1) if images.ndim == 4 else images).numpy()  # channels last for imshow
    mosaic, origins = _mosaic(pixels, ncols, full_rows=ax is not None)
    if ax is None:
        columns, rows = min(ncols, count), -(-count // ncols)
        _, ax = plt.subplots(figsize=(1.35 * columns, 1.6 * rows))
    # a fixed 0..1 range: a faint digit must look faint, not be stretched to full contrast
    ax.imshow(np.ma.masked_invalid(mosaic) if mosaic.ndim == 2 else mosaic, cmap=cmap, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    width = pixels.shape[2]
    for (top, left), title in zip(origins, titles, strict=True):
        ax.text(left + width / 2, top - 0.5, title, ha="center", va="bottom", fontsize=8)
    ax.axis("off")
    return ax
