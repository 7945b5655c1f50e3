"""helpers.evaluate: predict's mode handling and batching, evaluate against manual computations, bad input."""

from __future__ import annotations

import pytest
import torch
from sklearn import metrics as sk
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from helpers.data import make_classification_data, make_loader, make_regression_data
from helpers.evaluate import Predictions, autograd_saved_bytes, evaluate, predict
from helpers.models import LinearRegressor

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def loader_of(x: torch.Tensor, y: torch.Tensor, batch_size: int = 4) -> DataLoader:
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


class Recorder(nn.Module):
    """Identity that records the autograd and mode state each forward pass ran in."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.seen: list[tuple[bool, bool, bool]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_inference_mode_enabled(), torch.is_grad_enabled()))
        return x * self.scale


class Boom(nn.Module):
    def forward(self, x):
        raise RuntimeError("forward failed")


# --------------------------------------------------------------------------------------------- predict


def test_predict_runs_in_eval_and_inference_mode_and_concatenates_batches_in_order():
    x, y = torch.arange(20.0).reshape(10, 2), torch.arange(10) % 3
    model = Recorder().train()
    result = predict(model, loader_of(x, y, batch_size=4))
    assert model.seen == [(False, True, False)] * 3  # three batches (4, 4, 2), none in train mode, no grad
    assert torch.equal(result.logits, x) and torch.equal(result.target, y)
    assert not result.logits.requires_grad and result.logits.device.type == "cpu"
    assert model.training  # put back


def test_predict_restores_eval_mode_and_each_submodules_own_mode():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))
    loader = loader_of(torch.randn(6, 3), torch.zeros(6, dtype=torch.long))
    model.eval()
    predict(model, loader)
    assert not any(m.training for m in model.modules())
    model.train()
    model[1].eval()  # a frozen BatchNorm inside a model that trains
    predict(model, loader)
    assert [m.training for m in model] == [True, False, True, True] and model.training


def test_predict_restores_the_mode_when_the_forward_raises():
    model = nn.Sequential(nn.Linear(2, 2), Boom()).train()
    with pytest.raises(RuntimeError, match="forward failed"):
        predict(model, loader_of(torch.zeros(3, 2), torch.zeros(3)))
    assert all(m.training for m in model.modules())


def test_predict_with_eval_mode_uses_batchnorm_running_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(3))
    x = torch.randn(8, 3) * 5 + 2
    model.train()(x)  # updates running statistics once
    expected = model.eval()(x).detach()
    model.train()
    assert torch.allclose(predict(model, loader_of(x, torch.zeros(8, dtype=torch.long))).logits, expected, atol=1e-6)


def test_predictions_preds_and_probs():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    result = Predictions(logits, torch.tensor([0, 1]))
    assert result.is_classification and result.preds.tolist() == [0, 2]
    assert torch.allclose(result.probs, torch.softmax(logits.double(), dim=1), rtol=0, atol=1e-15)
    regression = Predictions(torch.tensor([[1.5], [2.5]]), torch.tensor([[1.0], [2.0]]))
    assert not regression.is_classification and torch.equal(regression.preds, regression.logits)


# --------------------------------------------------------------------------------------------- evaluate


def test_evaluate_classification_matches_a_manual_computation():
    dataset = make_classification_data(50, n_features=5, n_classes=3, seed=1)
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    scores = evaluate(model, make_loader(dataset, batch_size=7), nn.CrossEntropyLoss())  # uneven last batch
    x, y = dataset.tensors
    with torch.no_grad():
        logits = model(x)
    preds = logits.argmax(dim=1).numpy()
    assert sorted(scores) == ["accuracy", "loss", "macro_f1"]
    assert scores["loss"] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-6)  # mean over samples
    assert scores["accuracy"] == pytest.approx(sk.accuracy_score(y.numpy(), preds), abs=1e-12)
    assert scores["macro_f1"] == pytest.approx(sk.f1_score(y.numpy(), preds, average="macro"), abs=1e-12)
    assert sorted(evaluate(model, make_loader(dataset, batch_size=7))) == ["accuracy", "macro_f1"]


def test_evaluate_regression_matches_a_manual_computation():
    dataset = make_regression_data(40, n_features=3, seed=2)
    torch.manual_seed(0)
    model = LinearRegressor(3)
    scores = evaluate(model, make_loader(dataset, batch_size=16), nn.MSELoss())
    x, y = dataset.tensors
    with torch.no_grad():
        outputs = model(x)
    target, predicted = y.double().numpy().ravel(), outputs.double().numpy().ravel()
    assert sorted(scores) == ["loss", "mae", "mse", "r2"]
    assert scores["loss"] == pytest.approx(float(F.mse_loss(outputs, y)), rel=1e-5)
    assert scores["mse"] == pytest.approx(sk.mean_squared_error(target, predicted), rel=1e-5)
    assert scores["mae"] == pytest.approx(sk.mean_absolute_error(target, predicted), rel=1e-5)
    assert scores["r2"] == pytest.approx(sk.r2_score(target, predicted), rel=1e-5)


# --------------------------------------------------------------------------------------------- bad input


def test_predict_rejects_a_model_that_is_not_a_module():
    with pytest.raises(TypeError, match="`model` must be a torch.nn.Module; got function"):
        predict(lambda x: x, loader_of(torch.zeros(2, 2), torch.zeros(2)))


def test_predict_rejects_a_loader_that_is_not_a_dataloader():
    with pytest.raises(TypeError, match="`loader` must be a torch.utils.data.DataLoader; got list"):
        predict(nn.Identity(), [(torch.zeros(2, 2), torch.zeros(2))])


def test_predict_rejects_an_empty_loader():
    empty = loader_of(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="`loader` yielded no batches; there is nothing to evaluate"):
        predict(nn.Identity(), empty)
    with pytest.raises(ValueError, match="`loader` yielded no batches"):
        evaluate(nn.Identity(), empty, nn.CrossEntropyLoss())


@pytest.mark.parametrize("tensors, match", [
    ((torch.zeros(4, 2),), r"got a batch of 1 items"),
    ((torch.zeros(4, 2), torch.zeros(4), torch.zeros(4)), r"got a batch of 3 items"),
])
def test_predict_rejects_batches_that_are_not_pairs_and_restores_the_mode(tensors, match):
    model = nn.Linear(2, 2).train()
    with pytest.raises(ValueError, match=r"`loader` must yield \(inputs, target\) pairs; " + match):
        predict(model, DataLoader(TensorDataset(*tensors), batch_size=2))
    assert model.training


def test_predict_rejects_a_loader_of_bare_tensors():
    with pytest.raises(ValueError, match=r"must yield \(inputs, target\) pairs; got a batch of Tensor"):
        predict(nn.Identity(), DataLoader(torch.zeros(4, 2), batch_size=2))


def test_evaluate_rejects_a_loss_that_is_not_callable():
    with pytest.raises(TypeError, match=r"`loss_fn` must be callable, e\.g\. nn\.CrossEntropyLoss\(\), or None; got str"):
        evaluate(nn.Identity(), loader_of(torch.eye(2), torch.tensor([0, 1])), "cross_entropy")


# --------------------------------------------------------------------------------------------- autograd_saved_bytes


def test_autograd_saved_bytes_counts_what_backward_needs_and_nothing_without_grad():
    layer = nn.Linear(64, 32)
    x = torch.zeros(16, 64)
    saved = autograd_saved_bytes(lambda: layer(x))
    assert saved >= x.numel() * x.element_size()  # the input, at least, is kept for the weight gradient
    assert autograd_saved_bytes(lambda: layer(x)) == saved  # depends on shapes only
    with torch.no_grad():
        assert autograd_saved_bytes(lambda: layer(x)) == 0
    with torch.inference_mode():
        assert autograd_saved_bytes(lambda: layer(x)) == 0


def test_autograd_saved_bytes_rejects_what_is_not_a_function():
    with pytest.raises(TypeError, match="`run` must be a function of no arguments; got Tensor"):
        autograd_saved_bytes(torch.zeros(2))
