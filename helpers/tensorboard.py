"""TensorBoard: write what is worth watching during training, and read it back as plain numbers.

Writing goes through PyTorch's ``SummaryWriter``; reading goes through TensorBoard's own event reader
(``tensorboard.backend.event_processing``), so what a notebook plots and a test checks is what the
TensorBoard UI would draw. Both are imported on first use: importing this module is cheap.

Tags used by :func:`helpers.training.fit`: ``loss/train``, ``loss/val``, ``accuracy/val``, ``lr``,
``grad_norm``; by :func:`log_histograms`: ``weights/<parameter>`` and ``gradients/<parameter>``.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch
from torch import nn

from helpers._validation import check_positive_int

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

_EVENT_PREFIX = "events.out.tfevents."


class HistogramRecord(NamedTuple):
    """One logged histogram: ``counts[i]`` values fell in ``(edges[i], edges[i + 1]]``."""

    step: int
    edges: np.ndarray  # (B + 1,)
    counts: np.ndarray  # (B,)


class HParamsRun(NamedTuple):
    """A run's hyperparameters (numbers come back as float) and its final metric values."""

    hparams: dict[str, float | str]
    metrics: dict[str, float]


def _check_step(step) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"`step` must be a non-negative int (e.g. the epoch); got {step!r}.")
    return step


def _check_scalars(scalars, name: str) -> dict[str, float]:
    """``{tag: float}`` from a mapping of numbers (or one-element tensors); checked before anything is written."""
    if not isinstance(scalars, Mapping):
        raise TypeError(f"`{name}` must be a mapping of tag to number; got {type(scalars).__name__}.")
    checked = {}
    for tag, value in scalars.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"`{name}[{tag!r}]` must be a number; got {type(value).__name__}.")
        checked[str(tag)] = float(value)
    return checked


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")


def _check_writer(writer) -> None:
    from torch.utils.tensorboard import SummaryWriter

    if not isinstance(writer, SummaryWriter):
        raise TypeError(f"`writer` must be a torch.utils.tensorboard.SummaryWriter; got {type(writer).__name__}.")


def _event_files(log_dir: str | os.PathLike) -> list[Path]:
    folder = Path(log_dir)
    return sorted(p for p in folder.glob(f"{_EVENT_PREFIX}*") if p.is_file()) if folder.is_dir() else []


def make_writer(name: str, root: str | os.PathLike = "runs", *, overwrite: bool = False) -> SummaryWriter:
    """A ``SummaryWriter`` logging to ``<root>/<name>`` (``runs/`` is git-ignored).

    Args:
        name: the run's folder under ``root``, e.g. "05_tensorboard/lr_0.1" (relative, no "..").
        root: the folder TensorBoard is pointed at (``tensorboard --logdir runs``).
        overwrite: delete the event files already in ``<root>/<name>`` (only those, not sub-runs);
            without it, a folder that already holds a run is an error, since two runs in one folder
            draw as one tangled curve.

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: ``name`` is empty, absolute or climbs out of ``root``.
        FileExistsError: the folder already holds event files and ``overwrite`` is False.

    Example:
        >>> import tempfile
        >>> writer = make_writer("demo", root=tempfile.mkdtemp())
        >>> Path(writer.log_dir).name
        'demo'
        >>> writer.close()
    """
    from torch.utils.tensorboard import SummaryWriter

    if not isinstance(name, str):
        raise TypeError(f"`name` must be a str (a folder under `root`); got {type(name).__name__}.")
    if not name.strip() or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"`name` must be a relative folder name inside `root`, without '..'; got {name!r}.")
    log_dir = Path(root) / name
    existing = _event_files(log_dir)
    if existing and not overwrite:
        raise FileExistsError(f"{log_dir} already holds {len(existing)} event file(s); pass overwrite=True to "
                              f"replace that run, or choose another `name`.")
    for path in existing:
        path.unlink()
    return SummaryWriter(log_dir=str(log_dir))


def log_scalars(writer: SummaryWriter, scalars: Mapping[str, float], step: int) -> None:
    """Log each ``tag: value`` of ``scalars`` at ``step`` (one point per curve).

    Example:
        >>> import tempfile
        >>> writer = make_writer("demo", root=tempfile.mkdtemp())
        >>> log_scalars(writer, {"loss/train": 0.5, "lr": 0.1}, step=1); writer.close()
        >>> read_scalars(writer.log_dir)["loss/train"]
        [(1, 0.5)]
    """
    _check_writer(writer)
    _check_step(step)
    for tag, value in _check_scalars(scalars, "scalars").items():
        writer.add_scalar(tag, value, step)


def log_histograms(writer: SummaryWriter, model: nn.Module, step: int, *, gradients: bool = True,
                   bins: int = 64) -> None:
    """Histogram of every parameter (``weights/<name>``) and of its gradient (``gradients/<name>``).

    Call it after an epoch's last ``optimizer.step()``: ``.grad`` then holds that step's gradient.
    Each histogram has ``bins`` equal-width bins between the tensor's min and max. Non-finite
    entries are left out (the loss curve shows them); an all-NaN tensor is skipped.

    Example:
        >>> import tempfile
        >>> writer = make_writer("demo", root=tempfile.mkdtemp())
        >>> log_histograms(writer, nn.Linear(3, 2), step=0); writer.close()
        >>> [int(record.counts.sum()) for record in read_histograms(writer.log_dir, "weights/weight")]
        [6]
    """
    _check_writer(writer)
    _check_step(step)
    _check_model(model)
    bins = check_positive_int(bins, "bins")
    for name, param in model.named_parameters():
        tensors = {"weights": param}
        if gradients and param.grad is not None:
            tensors["gradients"] = param.grad
        for kind, tensor in tensors.items():
            values = tensor.detach().flatten().cpu()
            values = values[torch.isfinite(values)]
            if values.numel():
                writer.add_histogram(f"{kind}/{name}", values, step, bins=bins)


def log_graph(writer: SummaryWriter, model: nn.Module, example_input: torch.Tensor) -> None:
    """The model's graph (traced on ``example_input``), for TensorBoard's GRAPHS tab."""
    _check_writer(writer)
    _check_model(model)
    with warnings.catch_warnings():
        # SummaryWriter.add_graph traces with torch.jit, which PyTorch now marks as deprecated;
        # TensorBoard's graph format still needs it, so that one notice is silenced here.
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.trace", category=FutureWarning)
        writer.add_graph(model, example_input)


def log_confusion_matrix(writer: SummaryWriter, cm: torch.Tensor, step: int, *,
                         class_names: Sequence[str] | None = None, normalize: str | None = None,
                         tag: str = "confusion_matrix") -> None:
    """Draw ``cm`` with :func:`helpers.plots.plot_confusion_matrix` and log it as an image."""
    from matplotlib.figure import Figure

    from helpers.plots import plot_confusion_matrix

    _check_writer(writer)
    _check_step(step)
    size = max(4.0, 0.55 * torch.as_tensor(cm).shape[0] + 2)
    figure = Figure(figsize=(size + 1, size))  # not registered with pyplot: never shown inline
    plot_confusion_matrix(cm, class_names, normalize=normalize, ax=figure.add_subplot())
    writer.add_figure(tag, figure, step, close=False)


def log_hparams(writer: SummaryWriter, hparams: Mapping[str, float | str | bool],
                metrics: Mapping[str, float], step: int = 0) -> None:
    """Record a run's hyperparameters with its final metrics, for TensorBoard's HPARAMS tab.

    Written into the writer's own run folder (``SummaryWriter.add_hparams`` would make a sub-run);
    each metric is also logged as a scalar at ``step``, which is where the HPARAMS tab reads it.

    Example:
        >>> import tempfile
        >>> writer = make_writer("demo", root=tempfile.mkdtemp())
        >>> log_hparams(writer, {"lr": 0.5, "optimizer": "SGD"}, {"hparam/val_accuracy": 0.75}); writer.close()
        >>> read_hparams(writer.log_dir)
        HParamsRun(hparams={'lr': 0.5, 'optimizer': 'SGD'}, metrics={'hparam/val_accuracy': 0.75})
    """
    from torch.utils.tensorboard.summary import hparams as hparams_summaries

    _check_writer(writer)
    _check_step(step)
    if not isinstance(hparams, Mapping):
        raise TypeError(f"`hparams` must be a mapping of name to value; got {type(hparams).__name__}.")
    for key, value in hparams.items():
        if not isinstance(value, (numbers.Real, str)):
            raise TypeError(f"`hparams[{key!r}]` must be a number, str or bool; got {type(value).__name__}.")
    metrics = _check_scalars(metrics, "metrics")
    for summary in hparams_summaries(dict(hparams), metrics):
        writer.file_writer.add_summary(summary, step)
    for tag, value in metrics.items():
        writer.add_scalar(tag, value, step)


# ---------------------------------------------------------------- reading back


def _load(log_dir: str | os.PathLike):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    if not _event_files(log_dir):
        raise FileNotFoundError(f"`log_dir` {str(log_dir)!r} holds no TensorBoard event files "
                                f"({_EVENT_PREFIX}*); give the run's own folder.")
    keep_all = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0, "compressedHistograms": 0}
    return EventAccumulator(str(log_dir), size_guidance=keep_all).Reload()


def read_scalars(log_dir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """Every scalar curve of one run folder: ``{tag: [(step, value), ...]}`` in the order written.

    Values come back as TensorBoard stores them, in float32 precision.
    """
    events = _load(log_dir)
    return {tag: [(int(e.step), float(e.value)) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def read_histograms(log_dir: str | os.PathLike, tag: str) -> list[HistogramRecord]:
    """Every histogram logged under ``tag`` (e.g. "weights/1.weight"), one record per step."""
    events = _load(log_dir)
    if tag not in events.Tags()["histograms"]:
        raise ValueError(f"`tag` {tag!r} is not a histogram in {str(log_dir)!r}; "
                         f"available: {sorted(events.Tags()['histograms'])}.")
    records = []
    for event in events.Histograms(tag):
        hist = event.histogram_value
        edges = np.concatenate([[hist.min], np.asarray(hist.bucket_limit, dtype=float)])
        records.append(HistogramRecord(int(event.step), edges, np.asarray(hist.bucket, dtype=float)))
    return records


def read_tags(log_dir: str | os.PathLike) -> dict[str, list[str] | bool]:
    """What one run folder holds, by kind: "scalars", "histograms", "images" (sorted tags), "graph"."""
    tags = _load(log_dir).Tags()
    return {"scalars": sorted(tags["scalars"]), "histograms": sorted(tags["histograms"]),
            "images": sorted(tags["images"]), "graph": bool(tags["graph"])}


def read_hparams(log_dir: str | os.PathLike) -> HParamsRun:
    """The hyperparameters logged by :func:`log_hparams` and the last value of each of its metrics."""
    from tensorboard.plugins.hparams.metadata import EXPERIMENT_TAG, PLUGIN_NAME, SESSION_START_INFO_TAG
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    events = _load(log_dir)
    try:
        content = events.PluginTagToContent(PLUGIN_NAME)  # {tag: serialized HParamsPluginData}
    except KeyError:
        content = {}
    if SESSION_START_INFO_TAG not in content or EXPERIMENT_TAG not in content:
        raise ValueError(f"`log_dir` {str(log_dir)!r} holds no hparams; log them with log_hparams().")
    start = HParamsPluginData.FromString(content[SESSION_START_INFO_TAG]).session_start_info
    hparams = {key: getattr(value, value.WhichOneof("kind")) for key, value in sorted(start.hparams.items())}
    experiment = HParamsPluginData.FromString(content[EXPERIMENT_TAG]).experiment
    scalars = {tag: events.Scalars(tag) for tag in events.Tags()["scalars"]}
    metrics = {info.name.tag: float(scalars[info.name.tag][-1].value)
               for info in experiment.metric_infos if info.name.tag in scalars}
    return HParamsRun(hparams, metrics)
