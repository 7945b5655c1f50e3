"""helpers.models: output shapes, the layers asked for, DeepPlainNet's initialisations, bad arguments."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.models import MLP, DeepPlainNet, LinearRegressor, SmallCNN

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(module, kind) for module in model.modules())


def linears(model: nn.Module) -> list[nn.Linear]:
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


# --------------------------------------------------------------------------------------------- shapes and layers


def test_mlp_flattens_images_and_outputs_one_logit_per_class():
    assert MLP(hidden=(32, 16))(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert MLP(in_features=20, hidden=(8,), num_classes=3)(torch.zeros(4, 20)).shape == (4, 3)
    plain = MLP(in_features=6, hidden=(), num_classes=2)  # no hidden layer: logistic regression
    assert [type(m) for m in plain] == [nn.Flatten, nn.Linear]


def test_mlp_adds_batchnorm_and_dropout_only_when_asked_in_the_documented_order():
    model = MLP(in_features=12, hidden=(8, 4), dropout=0.3, batchnorm=True)
    assert [type(m) for m in model] == [nn.Flatten, nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout,
                                        nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Linear]
    assert all(m.p == 0.3 for m in model if isinstance(m, nn.Dropout))
    assert [m.num_features for m in model if isinstance(m, nn.BatchNorm1d)] == [8, 4]
    bare = MLP(in_features=12, hidden=(8, 4))
    assert count(bare, nn.Dropout) == 0 and count(bare, nn.BatchNorm1d) == 0
    assert [(m.in_features, m.out_features) for m in linears(bare)] == [(12, 8), (8, 4), (4, 10)]


def test_mlp_dropout_is_active_in_train_mode_only():
    model = MLP(in_features=50, hidden=(50,), dropout=0.5)
    x = torch.randn(8, 50, generator=torch.Generator().manual_seed(0))
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))


def test_small_cnn_shapes_channels_and_dropout():
    model = SmallCNN(num_classes=7, channels=(4, 8), dropout=0.25)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 7)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 4), (4, 8)]
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.25]
    assert model.head[-1].in_features == 8 * 7 * 7


def test_linear_regressor_is_one_linear_layer():
    model = LinearRegressor(10)
    assert isinstance(model, nn.Linear) and (model.in_features, model.out_features) == (10, 1)
    assert model(torch.zeros(4, 10)).shape == (4, 1)
    assert LinearRegressor(3, out_features=2)(torch.zeros(5, 3)).shape == (5, 2)


@pytest.mark.parametrize("activation, kind", [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid),
                                              ("leaky_relu", nn.LeakyReLU)])
def test_deep_plain_net_structure(activation, kind):
    model = DeepPlainNet(depth=4, width=16, in_features=6, num_classes=3, activation=activation, batchnorm=True)
    assert model(torch.zeros(5, 6)).shape == (5, 3)
    assert [(m.in_features, m.out_features) for m in linears(model)] == [(6, 16)] + [(16, 16)] * 3 + [(16, 3)]
    assert count(model, kind) == 4 and count(model, nn.BatchNorm1d) == 4
    assert count(DeepPlainNet(depth=4, width=16, in_features=6), nn.BatchNorm1d) == 0


# --------------------------------------------------------------------------------------------- initialisation
# Wide layers (512 x 512 = 262,144 weights) estimate a standard deviation to well under 1 %; 5 % is a safe margin.


def wide(init: str, activation: str = "relu", **kwargs) -> DeepPlainNet:
    torch.manual_seed(0)
    return DeepPlainNet(depth=2, width=512, in_features=512, num_classes=512, activation=activation, init=init,
                        **kwargs)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_xavier_is_glorot_uniform_with_the_activations_gain(activation):
    for layer in linears(wide("xavier", activation)):
        bound = nn.init.calculate_gain(activation) * math.sqrt(6 / (layer.in_features + layer.out_features))
        weight = layer.weight.detach()
        assert float(weight.abs().max()) <= bound
        assert float(weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)  # std of U(-b, b)
        assert torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_kaiming_is_he_normal_with_std_sqrt_2_over_fan_in(activation):
    for layer in linears(wide("kaiming", activation)):
        weight = layer.weight.detach()
        assert float(weight.mean()) == pytest.approx(0, abs=0.01 * math.sqrt(2 / layer.in_features))
        assert float(weight.std()) == pytest.approx(math.sqrt(2 / layer.in_features), rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0


def test_normal_init_uses_init_std():
    for layer in linears(wide("normal", init_std=0.3)):
        assert float(layer.weight.detach().std()) == pytest.approx(0.3, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0


def test_zeros_init_makes_every_weight_and_bias_zero():
    model = wide("zeros")
    assert all(torch.count_nonzero(p) == 0 for p in model.parameters())
    assert torch.count_nonzero(model(torch.randn(4, 512))) == 0


def test_default_init_is_pytorchs_uniform_with_nonzero_biases():
    for layer in linears(wide("default")):
        bound = 1 / math.sqrt(layer.in_features)
        weight = layer.weight.detach()
        assert float(weight.abs().max()) <= bound
        assert float(weight.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert torch.count_nonzero(layer.bias) > 0


# --------------------------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("kwargs, error, match", [
    ({"in_features": 0}, ValueError, "`in_features` must be a positive int; got 0"),
    ({"hidden": 256}, TypeError, r"`hidden` must be a tuple of layer widths, e\.g\. \(256, 128\); got int"),
    ({"hidden": (64, 0)}, ValueError, r"`hidden` must hold positive ints, e\.g\. \(256, 128\); got \(64, 0\)"),
    ({"hidden": (64.0,)}, ValueError, r"`hidden` must hold positive ints.*got \(64\.0,\)"),
    ({"num_classes": 0}, ValueError, "`num_classes` must be a positive int; got 0"),
    ({"dropout": 1.0}, ValueError, r"`dropout` must be a number in \[0, 1\); got 1\.0"),
    ({"dropout": -0.1}, ValueError, r"`dropout` must be a number in \[0, 1\); got -0\.1"),
    ({"dropout": "0.5"}, ValueError, r"`dropout` must be a number in \[0, 1\); got '0\.5'"),
    ({"dropout": True}, ValueError, r"`dropout` must be a number in \[0, 1\); got True"),
    ({"batchnorm": "yes"}, TypeError, "`batchnorm` must be True or False; got 'yes'"),
])
def test_mlp_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"num_classes": -1}, ValueError, "`num_classes` must be a positive int; got -1"),
    ({"channels": 16}, TypeError, r"`channels` must be a tuple of layer widths, e\.g\. \(16, 32\); got int"),
    ({"channels": (16,)}, ValueError, r"`channels` must be two ints .*; got \(16,\)"),
    ({"channels": (16, 32, 64)}, ValueError, r"`channels` must be two ints .*; got \(16, 32, 64\)"),
    ({"channels": (16, -2)}, ValueError, r"`channels` must hold positive ints"),
    ({"dropout": 1.5}, ValueError, r"`dropout` must be a number in \[0, 1\); got 1\.5"),
])
def test_small_cnn_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SmallCNN(**kwargs)


@pytest.mark.parametrize("args, match", [
    ((0,), "`in_features` must be a positive int; got 0"),
    ((3, 0), "`out_features` must be a positive int; got 0"),
    ((2.5,), "`in_features` must be a positive int; got 2.5"),
])
def test_linear_regressor_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        LinearRegressor(*args)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"depth": 0}, ValueError, "`depth` must be a positive int; got 0"),
    ({"depth": True}, ValueError, "`depth` must be a positive int; got True"),
    ({"width": 0}, ValueError, "`width` must be a positive int; got 0"),
    ({"in_features": -4}, ValueError, "`in_features` must be a positive int; got -4"),
    ({"num_classes": 1.0}, ValueError, r"`num_classes` must be a positive int; got 1\.0"),
    ({"activation": "gelu"}, ValueError, r"`activation` must be one of \['leaky_relu', 'relu', 'sigmoid', 'tanh'\]; got 'gelu'"),
    ({"activation": ["relu"]}, ValueError, r"`activation` must be one of .*; got \['relu'\]"),
    ({"init": "he"}, ValueError, r"`init` must be one of \['default', 'xavier', 'kaiming', 'normal', 'zeros'\]; got 'he'"),
    ({"init_std": 0}, ValueError, "`init_std` must be a positive finite number; got 0"),
    ({"init_std": -1.0}, ValueError, r"`init_std` must be a positive finite number; got -1\.0"),
    ({"init_std": math.inf}, ValueError, "`init_std` must be a positive finite number; got inf"),
    ({"init_std": math.nan}, ValueError, "`init_std` must be a positive finite number; got nan"),
    ({"batchnorm": 1}, TypeError, "`batchnorm` must be True or False; got 1"),
])
def test_deep_plain_net_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        DeepPlainNet(**kwargs)
