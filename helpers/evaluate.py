"""Evaluation: run a model over a loader in eval mode, without autograd, and score it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader

from helpers import metrics


@dataclass(frozen=True)
class Predictions:
    """What a model produced over a whole loader, on the CPU.

    Attributes:
        logits: raw outputs (N, C) for classification, (N, ...) for regression.
        target: the loader's targets.
    """

    logits: torch.Tensor
    target: torch.Tensor

    @property
    def is_classification(self) -> bool:
        """Integer targets mean class labels."""
        return not self.target.is_floating_point()

    @property
    def probs(self) -> torch.Tensor:
        """Softmax over classes, (N, C)."""
        return torch.softmax(self.logits.to(torch.float64), dim=1)

    @property
    def preds(self) -> torch.Tensor:
        """Predicted classes (N,) for classification; the outputs themselves for regression."""
        return self.logits.argmax(dim=1) if self.is_classification else self.logits


def _check_model_and_loader(model, loader) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    if not isinstance(loader, DataLoader):
        raise TypeError(f"`loader` must be a torch.utils.data.DataLoader; got {type(loader).__name__}.")


def predict(model: nn.Module, loader: DataLoader, device: torch.device | str | None = None) -> Predictions:
    """Collect the model's outputs and the targets over ``loader``.

    The model runs in eval mode (Dropout off, BatchNorm on running statistics) under
    ``torch.inference_mode()`` (no graph is recorded), then every submodule goes back to the mode it was in,
    also when the forward pass raises.

    Args:
        model: the network; it is not moved.
        loader: yields (inputs, target) batches, in the order they are concatenated.
        device: where the inputs are sent; defaults to the device of the model's first parameter (CPU
            for a model without parameters).

    Returns:
        The outputs and targets of every batch, concatenated, on the CPU.

    Raises:
        TypeError: ``model`` is not a Module or ``loader`` not a DataLoader.
        ValueError: a batch is not an (inputs, target) pair, or the loader yields no batches.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.zeros(3, 2), torch.tensor([0, 1, 1])), batch_size=2)
        >>> predict(nn.Linear(2, 2), loader).logits.shape
        torch.Size([3, 2])
    """
    _check_model_and_loader(model, loader)
    device = torch.device(device) if device is not None else next(model.parameters(), torch.empty(0)).device
    # Each submodule's own flag: a model in train mode may hold a frozen BatchNorm in eval mode.
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    outputs, targets = [], []
    try:
        with torch.inference_mode():
            for batch in loader:
                if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
                    got = f"{len(batch)} items" if isinstance(batch, (tuple, list)) else type(batch).__name__
                    raise ValueError(f"`loader` must yield (inputs, target) pairs; got a batch of {got}.")
                inputs, target = batch
                outputs.append(model(inputs.to(device)).cpu())
                targets.append(target.cpu())
    finally:
        for module, training in modes:
            module.training = training
    if not outputs:
        raise ValueError("`loader` yielded no batches; there is nothing to evaluate.")
    return Predictions(torch.cat(outputs), torch.cat(targets))


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module | None = None,
             device: torch.device | str | None = None) -> dict[str, float]:
    """Loss (mean over samples) and metrics of ``model`` on ``loader``.

    Classification (integer targets) gives "accuracy" and "macro_f1"; regression gives
    "mse", "mae" and "r2". "loss" is added when ``loss_fn`` is given: it is computed once over all
    the outputs, so with a mean-reducing loss it is the mean over samples (not over batches).

    Args:
        model, loader, device: as in :func:`predict`.
        loss_fn: called as ``loss_fn(outputs, target)``, e.g. ``nn.CrossEntropyLoss()``; or None.

    Raises:
        TypeError: ``loss_fn`` is not callable (and see :func:`predict`).

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.eye(2), torch.tensor([0, 1])))
        >>> evaluate(nn.Identity(), loader, nn.CrossEntropyLoss())["accuracy"]
        1.0
    """
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable, e.g. nn.CrossEntropyLoss(), or None; got {type(loss_fn).__name__}.")
    result = predict(model, loader, device)
    scores: dict[str, float] = {}
    if loss_fn is not None:
        scores["loss"] = float(loss_fn(result.logits, result.target))
    if result.is_classification:
        scores["accuracy"] = metrics.accuracy(result.preds, result.target)
        scores["macro_f1"] = metrics.f1_score(result.preds, result.target, average="macro")
    else:
        scores["mse"] = metrics.mean_squared_error(result.preds, result.target)
        scores["mae"] = metrics.mean_absolute_error(result.preds, result.target)
        scores["r2"] = metrics.r2_score(result.preds, result.target)
    return scores


def autograd_saved_bytes(run) -> int:
    """Bytes of tensors that autograd saves for backward while ``run()`` executes.

    Zero under ``torch.no_grad()`` or ``torch.inference_mode()``: that is the memory those
    contexts spare during evaluation. Depends only on shapes, so it is exactly reproducible.

    Example:
        >>> layer = nn.Linear(4, 3)
        >>> autograd_saved_bytes(lambda: layer(torch.zeros(2, 4))) > 0
        True
        >>> with torch.no_grad():
        ...     autograd_saved_bytes(lambda: layer(torch.zeros(2, 4)))
        0
    """
    if not callable(run):
        raise TypeError(f"`run` must be a function of no arguments; got {type(run).__name__}.")
    total = 0

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        run()
    return total
