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
    ``torch.inference_mode()`` (no graph is recorded), then goes back to the mode it was in.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.zeros(3, 2), torch.tensor([0, 1, 1])), batch_size=2)
        >>> predict(nn.Linear(2, 2), loader).logits.shape
        torch.Size([3, 2])
    """
    _check_model_and_loader(model, loader)
    device = torch.device(device) if device is not None else next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    model.eval()
    outputs, targets = [], []
    try:
        with torch.inference_mode():
            for inputs, target in loader:
                outputs.append(model(inputs.to(device)).cpu())
                targets.append(target.cpu())
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("`loader` yielded no batches; there is nothing to evaluate.")
    return Predictions(torch.cat(outputs), torch.cat(targets))


def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module | None = None,
             device: torch.device | str | None = None) -> dict[str, float]:
    """Loss (mean over samples) and metrics of ``model`` on ``loader``.

    Classification (integer targets) gives "accuracy" and "macro_f1"; regression gives
    "mse", "mae" and "r2". "loss" is added when ``loss_fn`` is given.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> loader = DataLoader(TensorDataset(torch.eye(2), torch.tensor([0, 1])))
        >>> evaluate(nn.Identity(), loader, nn.CrossEntropyLoss())["accuracy"]
        1.0
    """
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
