"""EarlyStopping fed plain sequences (hand-worked expectations), its kept state, its checkpoint, and fit's use of it."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.data import make_classification_data, make_loader
from helpers.early_stopping import EarlyStopping
from helpers.evaluate import evaluate
from helpers.training import fit

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py

NAN, INF = math.nan, math.inf

# (settings, values, epoch on which step() first returns True (None: never), best, best_epoch)
CASES = {
    "min: stops when wait reaches patience": (dict(patience=2), [1.0, 0.9, 0.95, 0.96], 4, 0.9, 2),
    "min: patience 1 stops on the first worse epoch": (dict(patience=1), [1.0, 1.1], 2, 1.0, 1),
    "min: an equal value is no improvement": (dict(patience=2), [1.0, 1.0, 1.0], 3, 1.0, 1),
    "min: steady improvement never stops": (dict(patience=1), [4.0, 3.0, 2.0, 1.0], None, 1.0, 4),
    "min: a later improvement resets wait": (dict(patience=2), [1.0, 1.5, 0.5, 0.75, 0.75], 5, 0.5, 3),
    # 0.75 is exactly best - min_delta (no improvement); 0.375 is lower than best but not by more than 0.25.
    "min_delta: the margin must be exceeded": (dict(patience=3, min_delta=0.25),
                                               [1.0, 0.875, 0.75, 0.5, 0.375, 0.3125, 0.28125], 7, 0.5, 4),
    "min_delta 0: any decrease counts": (dict(patience=3), [1.0, 0.875, 0.75, 0.5, 0.375, 0.3125, 0.28125],
                                         None, 0.28125, 7),
    "max: stops when accuracy stalls": (dict(patience=2, mode="max"), [0.5, 0.6, 0.6, 0.55], 4, 0.6, 2),
    "max with min_delta": (dict(patience=2, mode="max", min_delta=0.125), [0.5, 0.625, 0.6875, 0.75, 0.8],
                           5, 0.6875, 3),
    "baseline never beaten (min)": (dict(patience=3, baseline=0.5), [0.8, 0.7, 0.6], 3, 0.5, None),
    "baseline beaten (min)": (dict(patience=2, baseline=0.5), [0.8, 0.4, 0.45, 0.45], 4, 0.4, 2),
    "baseline beaten (max)": (dict(patience=2, mode="max", baseline=0.9), [0.85, 0.95], None, 0.95, 2),
    "no warm-up: the early rise stops it": (dict(patience=2), [1.0, 2.0, 3.0, 2.5], 3, 1.0, 1),
    "start_from_epoch: warm-up epochs are not monitored": (dict(patience=2, start_from_epoch=2),
                                                           [1.0, 2.0, 3.0, 2.5], None, 2.5, 4),
    "NaN stops at once": (dict(patience=5), [1.0, NAN, 0.5], 2, 1.0, 1),
    "NaN first stops at once": (dict(patience=5), [NAN], 1, INF, None),
    "+inf stops at once": (dict(patience=5), [1.0, INF], 2, 1.0, 1),
    "-inf is not an improvement in min mode": (dict(patience=5), [1.0, -INF], 2, 1.0, 1),
    "NaN stops in max mode": (dict(patience=5, mode="max"), [0.5, NAN], 2, 0.5, 1),
    "NaN stops even during warm-up": (dict(patience=5, start_from_epoch=3), [1.0, NAN], 2, INF, None),
}


@pytest.mark.parametrize("settings, values, stop_epoch, best, best_epoch", CASES.values(), ids=list(CASES))
def test_stopping_table(settings, values, stop_epoch, best, best_epoch):
    stopper = EarlyStopping(**settings)
    stopped_at = None
    for epoch, value in enumerate(values, start=1):
        if stopper.step(value):
            stopped_at = epoch
            break
    assert stopped_at == stop_epoch
    assert stopper.stopped_epoch == stop_epoch
    assert stopper.best == best
    assert stopper.best_epoch == best_epoch
    assert (stopper.reason is None) == (stop_epoch is None)


def test_reason_says_why():
    stopper = EarlyStopping(patience=2)
    for value in [1.0, 0.5, 0.6, 0.7]:
        stopper.step(value)
    assert stopper.reason == "no improvement by more than 0 in 2 epochs (patience 2); best 0.5 at epoch 2"
    nan_stopper = EarlyStopping()
    nan_stopper.step(1.0)
    nan_stopper.step(NAN)
    assert nan_stopper.reason.startswith("the monitored value is nan at epoch 2; stopped at once")


def test_wait_counts_epochs_since_best():
    stopper = EarlyStopping(patience=10)
    waits = []
    for value in [3.0, 2.0, 2.5, 2.5, 1.0, 1.5]:
        stopper.step(value)
        waits.append(stopper.wait)
    assert waits == [0, 0, 1, 2, 0, 1]


def test_accepts_one_element_tensors():
    stopper = EarlyStopping(patience=1)
    assert stopper.step(torch.tensor(1.0)) is False
    assert stopper.step(torch.tensor([2.0])) is True
    assert stopper.best == 1.0


def test_reset_allows_reuse():
    stopper = EarlyStopping(patience=1, baseline=3.0)
    for value in [2.0, 2.5]:
        stopper.step(value)
    assert stopper.stopped_epoch == 2
    stopper.reset()
    assert (stopper.best, stopper.best_epoch, stopper.wait, stopper.epoch, stopper.stopped_epoch, stopper.reason,
            stopper.best_state) == (3.0, None, 0, 0, None, None, None)
    assert [stopper.step(v) for v in [2.0, 1.0, 1.5]] == [False, False, True]


def _bn_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _train_steps(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    for _ in range(steps):
        optimizer.zero_grad()
        model(torch.randn(8, 3)).square().mean().backward()
        optimizer.step()  # in place, and BatchNorm's running stats change in place too


def test_restore_gives_the_best_epochs_exact_tensors():
    model = _bn_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    stopper = EarlyStopping(patience=3, restore_best_weights=True)
    _train_steps(model, optimizer, 2)
    stopper.step(1.0, model)  # the best epoch
    expected = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    shallow = model.state_dict()  # what a home-made version keeps by mistake
    for value in [2.0, 3.0]:
        _train_steps(model, optimizer, 3)
        stopper.step(value, model)
    assert not torch.equal(model[0].weight, expected["0.weight"])
    assert torch.equal(shallow["0.weight"], model[0].weight)  # the reference followed the optimizer
    assert stopper.best_state["0.weight"].data_ptr() != model[0].weight.data_ptr()
    stopper.restore(model)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    _train_steps(model, optimizer, 2)  # the kept copy survives a restore and more training
    stopper.restore(model)
    assert torch.equal(model[1].running_mean, expected["1.running_mean"])


def test_checkpoint_round_trip(tmp_path):
    path = tmp_path / "checkpoints" / "best.pt"  # the folder does not exist yet
    model = _bn_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    stopper = EarlyStopping(patience=5, checkpoint_path=path)
    stopper.step(2.0, model)
    _train_steps(model, optimizer, 2)
    stopper.step(1.0, model)  # best: epoch 2
    expected = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    _train_steps(model, optimizer, 2)
    stopper.step(1.5, model)  # worse: the file keeps epoch 2
    saved = torch.load(path, weights_only=True)
    assert (saved["epoch"], saved["value"]) == (2, 1.0)
    fresh = _bn_model()
    fresh.load_state_dict(saved["state_dict"])
    for name, tensor in fresh.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    assert sorted(p.name for p in path.parent.iterdir()) == ["best.pt"]  # no temporary file left
    assert stopper.best_state is None  # a checkpoint alone keeps nothing in memory


def test_failed_checkpoint_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "best.pt"
    model = _bn_model()
    stopper = EarlyStopping(checkpoint_path=path)
    stopper.step(2.0, model)
    before = path.read_bytes()

    def broken_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        stopper.step(1.0, model)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"]


# ---------------------------------------------------------------- fit


def _task(seed: int = 0):
    data = make_classification_data(240, n_features=6, n_classes=3, n_informative=4, seed=seed)
    train = torch.utils.data.TensorDataset(*(t[:160] for t in data.tensors))
    val = torch.utils.data.TensorDataset(*(t[160:] for t in data.tensors))
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    return model, make_loader(train, 32, shuffle=True), make_loader(val, 80)


def test_fit_stops_and_restores_the_best_epoch():
    model, train_loader, val_loader = _task()
    stopper = EarlyStopping(patience=1, min_delta=10.0, restore_best_weights=True)  # nothing beats epoch 1 by 10
    loss_fn = nn.CrossEntropyLoss()
    history = fit(model, train_loader, val_loader, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, 10,
                  early_stopping=stopper)
    assert history.epochs == 2
    assert history.stop_reason.startswith("early stopping on val_loss: no improvement by more than 10")
    assert stopper.best_epoch == 1
    assert evaluate(model, val_loader, loss_fn)["loss"] == history.val_loss[0]


def test_fit_restores_even_when_stopping_never_fired():
    model, train_loader, val_loader = _task()
    # mode="max" on the loss makes the *worst* epoch the "best": a kept state that is not the last one.
    stopper = EarlyStopping(patience=100, mode="max", restore_best_weights=True)
    loss_fn = nn.CrossEntropyLoss()
    history = fit(model, train_loader, val_loader, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, 4,
                  early_stopping=stopper)
    assert history.epochs == 4 and history.stop_reason is None
    assert stopper.best_epoch == 1 + max(range(4), key=history.val_loss.__getitem__)
    assert stopper.best_epoch != 4
    assert evaluate(model, val_loader, loss_fn)["loss"] == history.val_loss[stopper.best_epoch - 1]


def test_fit_monitors_accuracy_and_resets_the_stopper():
    model, train_loader, val_loader = _task()
    stopper = EarlyStopping(patience=2, mode="max")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(2):  # the second fit starts from a reset stopper
        history = fit(model, train_loader, val_loader, optimizer, loss_fn, 6, early_stopping=stopper,
                      monitor="val_accuracy")
        assert stopper.epoch == history.epochs
        assert stopper.best == max(history.val_accuracy)


def test_fit_argument_errors():
    model, train_loader, val_loader = _task()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    with pytest.raises(TypeError, match="`early_stopping` must be a helpers.EarlyStopping or None; got str"):
        fit(model, train_loader, val_loader, optimizer, loss_fn, 1, early_stopping="yes")
    with pytest.raises(ValueError, match="`monitor` must be one of 'val_loss', 'val_accuracy' or 'train_loss'; got 'acc'"):
        fit(model, train_loader, val_loader, optimizer, loss_fn, 1, early_stopping=EarlyStopping(), monitor="acc")
    with pytest.raises(ValueError, match="`monitor` 'val_loss' needs a `val_loader`"):
        fit(model, train_loader, None, optimizer, loss_fn, 1, early_stopping=EarlyStopping())


# ---------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(patience=0), ValueError, r"`patience` must be a positive int .*; got 0\."),
    (dict(patience=2.5), ValueError, r"`patience` must be a positive int .*; got 2\.5\."),
    (dict(patience=True), ValueError, r"`patience` must be a positive int .*; got True\."),
    (dict(min_delta=-0.1), ValueError, r"`min_delta` must be a finite number >= 0 .*; got -0\.1\."),
    (dict(min_delta=NAN), ValueError, r"`min_delta` must be a finite number >= 0 .*; got nan\."),
    (dict(min_delta="0.1"), ValueError, r"`min_delta` must be a finite number >= 0 .*; got '0\.1'\."),
    (dict(mode="minimum"), ValueError, r"`mode` must be one of 'min' or 'max'; got 'minimum'\."),
    (dict(mode=None), ValueError, r"`mode` must be one of 'min' or 'max'; got None\."),
    (dict(baseline=INF), ValueError, r"`baseline` must be a finite number or None; got inf\."),
    (dict(baseline="0.5"), ValueError, r"`baseline` must be a finite number or None; got '0\.5'\."),
    (dict(start_from_epoch=-1), ValueError, r"`start_from_epoch` must be a non-negative int; got -1\."),
    (dict(restore_best_weights="yes"), TypeError, r"`restore_best_weights` must be True or False; got 'yes'\."),
    (dict(checkpoint_path=3), TypeError, r"`checkpoint_path` must be a str or os\.PathLike or None; got int\."),
])
def test_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


def test_checkpoint_path_must_not_be_a_folder(tmp_path):
    with pytest.raises(ValueError, match="`checkpoint_path` must name a file; got the folder"):
        EarlyStopping(checkpoint_path=tmp_path)


def test_bad_step_arguments():
    stopper = EarlyStopping()
    with pytest.raises(TypeError, match=r"`value` must be a number \(e\.g\. the validation loss\); got str\."):
        stopper.step("0.5")
    with pytest.raises(TypeError, match="`value` must be a number .*; got bool"):
        stopper.step(True)
    with pytest.raises(ValueError, match=r"`value` must be a single number; got a tensor of shape \(2,\)\."):
        stopper.step(torch.ones(2))
    with pytest.raises(TypeError, match="`model` must be a torch.nn.Module or None; got str"):
        stopper.step(0.5, "model")
    assert stopper.epoch == 0  # rejected calls count nothing
    for settings in (dict(restore_best_weights=True), dict(checkpoint_path="best.pt")):
        with pytest.raises(ValueError, match=r"`model` is required when restore_best_weights=True or checkpoint_path"):
            EarlyStopping(**settings).step(0.5)


def test_restore_errors():
    model = nn.Linear(2, 1)
    with pytest.raises(RuntimeError, match="nothing to restore: restore_best_weights=False"):
        EarlyStopping().restore(model)
    never_beaten = EarlyStopping(baseline=0.1, restore_best_weights=True)
    never_beaten.step(0.5, model)
    with pytest.raises(RuntimeError, match="nothing to restore: no epoch has improved"):
        never_beaten.restore(model)
    with pytest.raises(TypeError, match="`model` must be a torch.nn.Module; got dict"):
        never_beaten.restore({})
