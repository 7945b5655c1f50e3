"""helpers.training: fit learns, records per epoch, reports torch's gradient norm, clips like torch, stops on NaN."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from helpers.data import make_classification_data, make_loader, make_regression_data
from helpers.evaluate import evaluate
from helpers.models import LinearRegressor
from helpers.training import History, fit, train_one_epoch

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


@pytest.fixture
def easy():
    """A linearly separable two-class problem (label = x0 + x1 > 0) and a fresh seeded linear model."""
    x = torch.randn(256, 4, generator=torch.Generator().manual_seed(0))
    dataset = TensorDataset(x, (x[:, 0] + x[:, 1] > 0).long())
    torch.manual_seed(0)
    return make_loader(dataset, 32, shuffle=True, seed=0), make_loader(dataset, 128), nn.Linear(4, 2)


def sgd(model: nn.Module, lr: float = 0.5) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr)


def test_fit_reduces_the_loss_on_an_easy_problem(easy):
    train, val, model = easy
    before = evaluate(model, val, nn.CrossEntropyLoss())
    history = fit(model, train, val, sgd(model), nn.CrossEntropyLoss(), 5)
    assert history.val_loss[-1] < 0.5 * before["loss"]
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_accuracy[-1] > 0.95 > before["accuracy"]


def test_history_has_one_record_per_epoch_and_val_loss_is_evaluates(easy):
    train, val, model = easy
    history = fit(model, train, val, sgd(model), nn.CrossEntropyLoss(), 3)
    assert history.epochs == 3 and history.stop_reason is None
    for records in (history.train_loss, history.val_loss, history.val_accuracy, history.lr, history.grad_norm):
        assert len(records) == 3 and all(math.isfinite(value) for value in records)
    last = evaluate(model, val, nn.CrossEntropyLoss())
    assert (history.val_loss[-1], history.val_accuracy[-1]) == (last["loss"], last["accuracy"])
    frame = history.to_frame()
    assert list(frame.index) == [1, 2, 3] and frame.index.name == "epoch"
    assert frame["train_loss"].tolist() == history.train_loss


def test_without_val_loader_val_records_are_nan(easy):
    train, _, model = easy
    history = fit(model, train, None, sgd(model), nn.CrossEntropyLoss(), 2)
    assert len(history.val_loss) == 2 and all(math.isnan(v) for v in history.val_loss + history.val_accuracy)


def test_regression_records_val_loss_but_no_accuracy():
    loader = make_loader(make_regression_data(64, n_features=3, noise=1.0, seed=0), 16)
    torch.manual_seed(0)
    model = LinearRegressor(3)
    history = fit(model, loader, loader, sgd(model, 0.05), nn.MSELoss(), 3)
    assert history.val_loss[-1] < history.val_loss[0]
    assert all(math.isnan(v) for v in history.val_accuracy)


def test_lr_is_the_rate_each_epoch_ran_with_under_step_lr(easy):
    train, val, model = easy
    optimizer = sgd(model, 1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    history = fit(model, train, val, optimizer, nn.CrossEntropyLoss(), 5, scheduler=scheduler)
    assert history.lr == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])


def test_reduce_lr_on_plateau_is_given_the_validation_loss(easy):
    train, val, model = easy
    optimizer = sgd(model, 0.5)
    # mode="max" on a falling validation loss: every epoch after the first is "no improvement"
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0)
    history = fit(model, train, val, optimizer, nn.CrossEntropyLoss(), 3, scheduler=scheduler)
    assert scheduler.best == history.val_loss[0]
    assert history.lr == pytest.approx([0.5, 0.5, 0.25])


def one_batch_problem():
    dataset = make_classification_data(16, n_features=4, seed=3)
    torch.manual_seed(1)
    return make_loader(dataset, 16), nn.Linear(4, 2), dataset.tensors


def test_grad_norm_is_torchs_total_norm_on_a_one_step_run():
    loader, model, (x, y) = one_batch_problem()
    reference = copy.deepcopy(model)
    F.cross_entropy(reference(x), y).backward()
    expected = torch.nn.utils.clip_grad_norm_(reference.parameters(), math.inf)  # returns the total norm
    history = fit(model, loader, None, sgd(model, 0.1), nn.CrossEntropyLoss(), 1)
    assert history.grad_norm == [pytest.approx(float(expected), rel=1e-6)]


def test_clip_grad_norm_clips_like_torch_and_records_the_norm_before_clipping():
    loader, model, (x, y) = one_batch_problem()
    clipped, unclipped = copy.deepcopy(model), copy.deepcopy(model)
    for reference, max_norm in ((clipped, 0.01), (unclipped, math.inf)):
        optimizer = sgd(reference, 1.0)
        F.cross_entropy(reference(x), y).backward()
        total = torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
        optimizer.step()
    assert float(total) > 0.01  # clipping has something to do
    history = fit(model, loader, None, sgd(model, 1.0), nn.CrossEntropyLoss(), 1, clip_grad_norm=0.01)
    for ours, theirs, free in zip(model.parameters(), clipped.parameters(), unclipped.parameters(), strict=True):
        assert torch.allclose(ours, theirs, rtol=1e-5, atol=1e-7)
        assert not torch.allclose(ours, free)
    assert history.grad_norm == [pytest.approx(float(total), rel=1e-6)]


def test_train_one_epoch_means_are_over_samples_and_steps():
    dataset = make_classification_data(10, n_features=4, seed=4)
    torch.manual_seed(2)
    model = nn.Linear(4, 2)
    loader = make_loader(dataset, 4)  # batches of 4, 4, 2
    norms = []
    for inputs, target in loader:
        model.zero_grad()
        F.cross_entropy(model(inputs), target).backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf)))
    x, y = dataset.tensors
    with torch.no_grad():
        full_loss = float(F.cross_entropy(model(x), y))
    # lr = 0: the weights stay put, so every batch sees the same model
    loss, grad_norm = train_one_epoch(model, loader, sgd(model, 0.0), nn.CrossEntropyLoss(), torch.device("cpu"))
    assert loss == pytest.approx(full_loss, rel=1e-6)
    assert grad_norm == pytest.approx(sum(norms) / 3, rel=1e-6)


def test_batch_scheduler_steps_after_every_batch_exactly_like_a_hand_written_loop():
    dataset = make_classification_data(40, n_features=4, seed=5)
    loader = make_loader(dataset, 8)  # 5 batches, the same order on every pass
    models = []
    for _ in range(2):
        torch.manual_seed(3)
        model = nn.Linear(4, 2)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=len(loader))
        models.append((model, optimizer, scheduler))
    (ours, opt_ours, sched_ours), (hand, opt_hand, sched_hand) = models
    train_one_epoch(ours, loader, opt_ours, F.cross_entropy, torch.device("cpu"), batch_scheduler=sched_ours)
    for inputs, target in loader:
        opt_hand.zero_grad()
        F.cross_entropy(hand(inputs), target).backward()
        opt_hand.step()
        sched_hand.step()
    assert sched_ours.last_epoch == sched_hand.last_epoch == len(loader)
    for a, b in zip(ours.parameters(), hand.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(TypeError, match="`batch_scheduler` must be a learning-rate scheduler or None; got str"):
        train_one_epoch(ours, loader, opt_ours, F.cross_entropy, torch.device("cpu"), batch_scheduler="onecycle")


def test_non_finite_loss_stops_training_with_a_reason(easy):
    _, val, model = easy
    x, y = make_classification_data(64, n_features=4, seed=0).tensors
    x = x.clone()
    x[5, 0] = math.nan
    history = fit(model, make_loader(TensorDataset(x, y), 16), val, sgd(model),
                  nn.CrossEntropyLoss(), 5)
    assert history.epochs == 1 and math.isnan(history.train_loss[0])
    assert "training loss became nan" in history.stop_reason
    assert all(len(records) == 1 for records in (history.val_loss, history.val_accuracy, history.lr, history.grad_norm))


def test_progress_off_prints_nothing(easy, capsys):
    train, val, model = easy
    fit(model, train, val, sgd(model), nn.CrossEntropyLoss(), 1)
    assert capsys.readouterr() == ("", "")


def test_history_starts_empty():
    history = History()
    assert history.epochs == 0 and history.to_frame().empty and history.stop_reason is None


@pytest.mark.parametrize("change, error, match", [
    ({"model": "net"}, TypeError, "`model` must be a torch.nn.Module; got str"),
    ({"train_loader": [1, 2]}, TypeError, "`train_loader` must be a DataLoader; got list"),
    ({"train_loader": None}, TypeError, "`train_loader` must be a DataLoader; got None"),
    ({"val_loader": "val"}, TypeError, "`val_loader` must be a DataLoader; got str"),
    ({"optimizer": "sgd"}, TypeError, "`optimizer` must be a torch.optim.Optimizer; got str"),
    ({"loss_fn": "cross_entropy"}, TypeError, r"`loss_fn` must be callable, e\.g\. nn\.CrossEntropyLoss\(\); got str"),
    ({"epochs": 0}, ValueError, "`epochs` must be a positive int; got 0"),
    ({"epochs": 2.0}, ValueError, r"`epochs` must be a positive int; got 2\.0"),
    ({"epochs": True}, ValueError, "`epochs` must be a positive int; got True"),
    ({"clip_grad_norm": 0}, ValueError, "`clip_grad_norm` must be a positive number or None; got 0"),
    ({"clip_grad_norm": -1.0}, ValueError, r"`clip_grad_norm` must be a positive number or None; got -1\.0"),
    ({"clip_grad_norm": "1"}, ValueError, "`clip_grad_norm` must be a positive number or None; got '1'"),
    ({"clip_grad_norm": math.nan}, ValueError, "`clip_grad_norm` must be a positive number or None; got nan"),
])
def test_fit_rejects_bad_arguments_before_training(easy, change, error, match):
    train, val, model = easy
    before = copy.deepcopy(model.state_dict())
    arguments = {"model": model, "train_loader": train, "val_loader": val, "optimizer": sgd(model),
                 "loss_fn": nn.CrossEntropyLoss(), "epochs": 1, **change}
    clip = arguments.pop("clip_grad_norm", None)
    with pytest.raises(error, match=match):
        fit(*arguments.values(), clip_grad_norm=clip)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing trained
