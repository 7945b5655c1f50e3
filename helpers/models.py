"""Small models for MNIST and synthetic data, and a deep plain network for the gradient lessons."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from helpers._validation import check_bool, check_positive_int

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}
_INITS = ("default", "xavier", "kaiming", "normal", "zeros")


def _check_dropout(dropout) -> float:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"`dropout` must be a number in [0, 1); got {dropout!r}.")
    return float(dropout)


def _check_widths(widths, name: str, example: str) -> tuple[int, ...]:
    if not isinstance(widths, (tuple, list)):
        raise TypeError(f"`{name}` must be a tuple of layer widths, e.g. {example}; got {type(widths).__name__}.")
    if not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
        raise ValueError(f"`{name}` must hold positive ints, e.g. {example}; got {widths!r}.")
    return tuple(widths)


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
        check_positive_int(in_features, "in_features")
        hidden = _check_widths(hidden, "hidden", "(256, 128)")
        check_positive_int(num_classes, "num_classes")
        dropout = _check_dropout(dropout)
        check_bool(batchnorm, "batchnorm")
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
    """Two conv-ReLU-maxpool blocks and a linear head for (N, 1, 28, 28) images; ~0.99 on MNIST in two epochs.

    Args:
        num_classes: outputs (logits).
        channels: output channels of the two convolutions.
        dropout: drop probability before the head (a Dropout layer is always there; 0 makes it a no-op).

    Example:
        >>> SmallCNN()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, channels: tuple[int, int] = (16, 32), dropout: float = 0.0):
        check_positive_int(num_classes, "num_classes")
        if len(_check_widths(channels, "channels", "(16, 32)")) != 2:
            raise ValueError(f"`channels` must be two ints (first and second convolution), e.g. (16, 32); got {channels!r}.")
        dropout = _check_dropout(dropout)
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
        check_positive_int(in_features, "in_features")
        check_positive_int(out_features, "out_features")
        super().__init__(in_features, out_features)


class DeepPlainNet(nn.Sequential):
    """``depth`` Linear+activation layers of equal width, no normalisation or skip connections.

    The network where vanishing and exploding gradients are easy to produce and to cure.

    Args:
        depth: number of hidden Linear layers.
        width: their width.
        activation: "relu", "tanh", "sigmoid" or "leaky_relu".
        in_features: inputs per sample after flattening.
        num_classes: outputs (logits).
        init: how every Linear layer (the head too) starts; biases start at zero except for "default":
            "default" (PyTorch's: uniform, bound 1/sqrt(fan_in)); "xavier" (Glorot uniform with the
            activation's gain); "kaiming" (He normal, std sqrt(2/fan_in), the ReLU gain whatever the
            activation); "normal" (N(0, init_std^2)); "zeros" (every weight 0: a network that cannot learn).
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
        check_positive_int(depth, "depth")
        check_positive_int(width, "width")
        check_positive_int(in_features, "in_features")
        check_positive_int(num_classes, "num_classes")
        if not isinstance(activation, str) or activation not in _ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {sorted(_ACTIVATIONS)}; got {activation!r}.")
        if not isinstance(init, str) or init not in _INITS:
            raise ValueError(f"`init` must be one of {list(_INITS)}; got {init!r}.")
        if isinstance(init_std, bool) or not isinstance(init_std, (int, float)) or not 0 < init_std < math.inf:
            raise ValueError(f"`init_std` must be a positive finite number; got {init_std!r}.")
        check_bool(batchnorm, "batchnorm")
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
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")  # He: std sqrt(2 / fan_in)
    elif init == "normal":
        nn.init.normal_(layer.weight, std=std)
    else:
        nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
