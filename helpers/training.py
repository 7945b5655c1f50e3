"""A plain epoch loop that records what the lessons look at, epoch by epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm  # the plain bar: tqdm.auto warns on stderr without ipywidgets

from helpers._validation import check_positive_int
from helpers.early_stopping import EarlyStopping
from helpers.evaluate import evaluate

_MONITORS = ("val_loss", "val_accuracy", "train_loss")


@dataclass
class History:
    """Per-epoch records of one training run (index i = epoch i + 1).

    Attributes:
        train_loss: mean training loss over the epoch's samples (as the weights moved).
        val_loss: validation loss after the epoch (NaN when there is no validation loader).
        val_accuracy: validation accuracy after the epoch (NaN for regression or no validation).
        lr: the learning rate the epoch ran with.
        grad_norm: mean total gradient L2 norm over the epoch's steps, before any clipping.
        stop_reason: why training ended before ``epochs``, else None.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    stop_reason: str | None = None

    @property
    def epochs(self) -> int:
        """Number of epochs completed."""
        return len(self.train_loss)

    def to_frame(self):
        """The records as a pandas DataFrame indexed by epoch (1-based)."""
        import pandas as pd

        frame = pd.DataFrame({"train_loss": self.train_loss, "val_loss": self.val_loss,
                              "val_accuracy": self.val_accuracy, "lr": self.lr, "grad_norm": self.grad_norm})
        frame.index = pd.RangeIndex(1, self.epochs + 1, name="epoch")
        return frame


def _check_fit_args(model, train_loader, val_loader, optimizer, loss_fn, epochs, clip_grad_norm) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if loader is not None and not isinstance(loader, DataLoader):
            raise TypeError(f"`{name}` must be a DataLoader; got {type(loader).__name__}.")
    if train_loader is None:
        raise TypeError("`train_loader` must be a DataLoader; got None.")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"`optimizer` must be a torch.optim.Optimizer; got {type(optimizer).__name__}.")
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable, e.g. nn.CrossEntropyLoss(); got {type(loss_fn).__name__}.")
    check_positive_int(epochs, "epochs")
    if clip_grad_norm is not None and not (isinstance(clip_grad_norm, (int, float)) and clip_grad_norm > 0):
        raise ValueError(f"`clip_grad_norm` must be a positive number or None; got {clip_grad_norm!r}.")


def _check_stopping_and_writer(early_stopping, monitor, writer, val_loader) -> None:
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"`early_stopping` must be a helpers.EarlyStopping or None; got {type(early_stopping).__name__}.")
    if monitor not in _MONITORS:
        raise ValueError(f"`monitor` must be one of 'val_loss', 'val_accuracy' or 'train_loss'; got {monitor!r}.")
    if early_stopping is not None and monitor.startswith("val_") and val_loader is None:
        raise ValueError(f"`monitor` {monitor!r} needs a `val_loader`; pass one, or monitor='train_loss'.")
    if writer is not None and not callable(getattr(writer, "add_scalar", None)):
        raise TypeError(f"`writer` must be a SummaryWriter (see helpers.make_writer) or None; got {type(writer).__name__}.")


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, loss_fn,
                    device: torch.device, clip_grad_norm: float | None = None, *,
                    batch_scheduler=None) -> tuple[float, float]:
    """One pass over ``loader``; returns (mean loss over samples, mean total gradient norm).

    ``batch_scheduler`` (e.g. ``OneCycleLR``) is stepped after every optimizer step; a scheduler
    meant to step once per epoch is :func:`fit`'s ``scheduler``.
    """
    if batch_scheduler is not None and not callable(getattr(batch_scheduler, "step", None)):
        raise TypeError(f"`batch_scheduler` must be a learning-rate scheduler or None; got {type(batch_scheduler).__name__}.")
    model.train()
    loss_sum, grad_norm_sum, samples, steps = 0.0, 0.0, 0, 0
    for inputs, target in loader:
        inputs, target = inputs.to(device), target.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), target)
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        grad_norm = torch.nn.utils.get_total_norm(grads) if grads else torch.tensor(0.0)
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grads_with_norm_(model.parameters(), clip_grad_norm, grad_norm)
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        loss_sum += loss.item() * len(target)
        grad_norm_sum += float(grad_norm)
        samples += len(target)
        steps += 1
    return loss_sum / max(samples, 1), grad_norm_sum / max(steps, 1)


def fit(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None,
        optimizer: torch.optim.Optimizer, loss_fn, epochs: int, *,
        scheduler=None, clip_grad_norm: float | None = None, device: torch.device | str | None = None,
        progress: bool = False, early_stopping: EarlyStopping | None = None,
        monitor: Literal["val_loss", "val_accuracy", "train_loss"] = "val_loss", writer=None) -> History:
    """Train for up to ``epochs`` epochs, validating after each; return the :class:`History`.

    Args:
        model, train_loader, val_loader, optimizer, loss_fn: the usual pieces; ``val_loader`` may be None.
        epochs: maximum number of epochs.
        scheduler: stepped once per epoch (``ReduceLROnPlateau`` is given the validation loss).
        clip_grad_norm: clip the total gradient norm to this value before each step.
        device: where to train; defaults to where the model's parameters are.
        progress: show a tqdm bar over epochs.
        early_stopping: an :class:`~helpers.early_stopping.EarlyStopping`, reset at the start and stepped
            after each epoch with the ``monitor`` value; when it fires, training stops and
            ``History.stop_reason`` says why. With ``restore_best_weights`` the best state is loaded
            back at the end, whether or not it fired.
        monitor: the History record the stopper watches; its ``mode`` must match ("max" for
            "val_accuracy"): fit does not guess it.
        writer: a ``SummaryWriter`` (see :func:`helpers.tensorboard.make_writer`); each epoch logs
            ``loss/train``, ``loss/val``, ``accuracy/val``, ``lr`` and ``grad_norm`` at step = epoch,
            and the writer is flushed at the end.

    Training also stops early, with ``History.stop_reason`` set, when the training loss is not finite.

    Example:
        >>> from helpers.data import make_classification_data, make_loader
        >>> loader = make_loader(make_classification_data(64, n_features=4), 16)
        >>> model = nn.Linear(4, 2)
        >>> h = fit(model, loader, loader, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), 2)
        >>> h.epochs, len(h.val_loss)
        (2, 2)
    """
    _check_fit_args(model, train_loader, val_loader, optimizer, loss_fn, epochs, clip_grad_norm)
    _check_stopping_and_writer(early_stopping, monitor, writer, val_loader)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    history = History()
    if early_stopping is not None:
        early_stopping.reset()
    for _ in tqdm(range(epochs), desc="epochs", disable=not progress):
        history.lr.append(optimizer.param_groups[0]["lr"])
        train_loss, grad_norm = train_one_epoch(model, train_loader, optimizer, loss_fn, device, clip_grad_norm)
        history.train_loss.append(train_loss)
        history.grad_norm.append(grad_norm)
        scores = evaluate(model, val_loader, loss_fn, device) if val_loader is not None else {}
        history.val_loss.append(scores.get("loss", math.nan))
        history.val_accuracy.append(scores.get("accuracy", math.nan))
        if writer is not None:
            _log_epoch(writer, history, has_val=val_loader is not None)
        if not math.isfinite(train_loss):
            history.stop_reason = f"training loss became {train_loss} in epoch {history.epochs}"
            break
        if early_stopping is not None and early_stopping.step(getattr(history, monitor)[-1], model):
            history.stop_reason = f"early stopping on {monitor}: {early_stopping.reason}"
            break
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(history.val_loss[-1])
            else:
                scheduler.step()
    if early_stopping is not None and early_stopping.best_state is not None:
        early_stopping.restore(model)
    if writer is not None:
        writer.flush()
    return history


def _log_epoch(writer, history: History, has_val: bool) -> None:
    """The epoch's records as scalars at step = epoch (a NaN loss is logged: it is news)."""
    records = {"loss/train": history.train_loss[-1], "lr": history.lr[-1], "grad_norm": history.grad_norm[-1]}
    if has_val:
        records["loss/val"] = history.val_loss[-1]
        if not math.isnan(history.val_accuracy[-1]):  # NaN only for regression targets
            records["accuracy/val"] = history.val_accuracy[-1]
    for tag, value in records.items():
        writer.add_scalar(tag, value, history.epochs)
