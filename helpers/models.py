"""Small models for MNIST and synthetic data, and a deep plain network for the gradient lessons."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}
_INITS = ("default", "xavier", "kaiming", "normal", "zeros")


class MLP(nn.Sequential):
    """Flatten, then Linear-ReLU blocks (optionally with BatchNorm and Dropout), then a Linear head.

    Args:
        in_features: inputs per sample after flattening (784 for MNIST).
        hidden: widths of the hidden layers.
        num_classes: outputs (logits).
        dropout: drop probability after each hidden activation; 0 adds no Dropout layer.
        batchnorm: add BatchNorm1d before each activation.

    Example:
        >>> MLP(hidden=(32,))(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_features: int = 784, hidden: tuple[int, ...] = (256, 128), num_classes: int = 10,
                 dropout: float = 0.0, batchnorm: bool = False):
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1); got {dropout!r}.")
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if batchnorm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)


class SmallCNN(nn.Module):
    """Two conv-ReLU-maxpool blocks and a linear head; about 0.99 on MNIST after two epochs.

    Example:
        >>> SmallCNN()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, channels: tuple[int, int] = (16, 32), dropout: float = 0.0):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (N, c1, 14, 14)
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, c2, 7, 7)
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(c2 * 7 * 7, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LinearRegressor(nn.Linear):
    """A single Linear layer with one output per sample, as the guide's ``Linear(10, 1)`` example.

    Example:
        >>> LinearRegressor(10)(torch.zeros(4, 10)).shape
        torch.Size([4, 1])
    """

    def __init__(self, in_features: int, out_features: int = 1):
        super().__init__(in_features, out_features)


class DeepPlainNet(nn.Sequential):
    """``depth`` Linear+activation layers of equal width, no normalisation or skip connections.

    The network where vanishing and exploding gradients are easy to produce and to cure.

    Args:
        depth: number of hidden Linear layers.
        width: their width.
        activation: "relu", "tanh", "sigmoid" or "leaky_relu".
        init: "default" (PyTorch's), "xavier", "kaiming", "normal" (N(0, init_std^2)) or "zeros".
        init_std: standard deviation for init="normal".
        batchnorm: BatchNorm1d before each activation.

    Example:
        >>> DeepPlainNet(depth=3, width=8, in_features=4, num_classes=2)(torch.zeros(5, 4)).shape
        torch.Size([5, 2])
    """

    def __init__(self, depth: int = 10, width: int = 64, in_features: int = 784, num_classes: int = 10,
                 activation: Literal["relu", "tanh", "sigmoid", "leaky_relu"] = "relu",
                 init: Literal["default", "xavier", "kaiming", "normal", "zeros"] = "default",
                 init_std: float = 1.0, batchnorm: bool = False):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {sorted(_ACTIVATIONS)}; got {activation!r}.")
        if init not in _INITS:
            raise ValueError(f"`init` must be one of {list(_INITS)}; got {init!r}.")
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"`depth` must be a positive int; got {depth!r}.")
        layers: list[nn.Module] = [nn.Flatten()]
        features = in_features
        for _ in range(depth):
            layers.append(nn.Linear(features, width))
            if batchnorm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(_ACTIVATIONS[activation]())
            features = width
        layers.append(nn.Linear(features, num_classes))
        super().__init__(*layers)
        for module in self:
            if isinstance(module, nn.Linear):
                _initialise(module, init, init_std, activation)


def _initialise(layer: nn.Linear, init: str, std: float, activation: str) -> None:
    if init == "default":
        return
    if init == "xavier":
        nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain(activation))
    elif init == "kaiming":
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu" if activation == "relu" else "leaky_relu")
    elif init == "normal":
        nn.init.normal_(layer.weight, std=std)
    else:
        nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
