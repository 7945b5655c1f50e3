"""What helpers.tensorboard writes comes back equal through TensorBoard's reader and through a real TensorBoard server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from helpers.data import make_classification_data, make_loader, make_regression_data
from helpers.tensorboard import (
    log_confusion_matrix,
    log_graph,
    log_histograms,
    log_hparams,
    log_scalars,
    make_writer,
    read_histograms,
    read_hparams,
    read_scalars,
    read_tags,
)
from helpers.training import fit

pytestmark = pytest.mark.usefixtures("one_thread")  # see tests/conftest.py


def f32(value: float) -> float:
    """TensorBoard stores scalars as float32."""
    return float(np.float32(value))


def test_logged_scalars_read_back_equal(tmp_path):
    writer = make_writer("run", root=tmp_path)
    losses = [2.5, 1.0 / 3.0, 0.125]
    for step, loss in enumerate(losses, start=1):
        log_scalars(writer, {"loss/train": loss, "lr": torch.tensor(0.01)}, step)
    writer.close()
    scalars = read_scalars(tmp_path / "run")
    assert scalars["loss/train"] == [(step, f32(loss)) for step, loss in enumerate(losses, start=1)]
    assert scalars["lr"] == [(1, f32(0.01)), (2, f32(0.01)), (3, f32(0.01))]


def _classification_run(tmp_path, val: bool = True):
    data = make_classification_data(200, n_features=5, n_classes=3, n_informative=3)
    loader = make_loader(data, 50)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    writer = make_writer("fit", root=tmp_path)
    history = fit(model, loader, loader if val else None, torch.optim.SGD(model.parameters(), lr=0.1),
                  nn.CrossEntropyLoss(), 3, writer=writer)
    return model, history, writer


def test_fit_logs_each_epoch(tmp_path):
    _, history, writer = _classification_run(tmp_path)
    scalars = read_scalars(writer.log_dir)  # fit flushed the writer: nothing to close first
    writer.close()
    steps = [1, 2, 3]
    for tag, values in {"loss/train": history.train_loss, "loss/val": history.val_loss,
                        "accuracy/val": history.val_accuracy, "lr": history.lr, "grad_norm": history.grad_norm}.items():
        assert scalars[tag] == [(step, f32(v)) for step, v in zip(steps, values, strict=True)], tag


def test_fit_without_validation_logs_no_validation_curves(tmp_path):
    _, _, writer = _classification_run(tmp_path, val=False)
    writer.close()
    assert read_tags(writer.log_dir)["scalars"] == ["grad_norm", "loss/train", "lr"]


def test_fit_regression_logs_no_accuracy(tmp_path):
    loader = make_loader(make_regression_data(40, n_features=3), 20)
    model = nn.Linear(3, 1)
    writer = make_writer("reg", root=tmp_path)
    fit(model, loader, loader, torch.optim.SGD(model.parameters(), lr=0.01), nn.MSELoss(), 2, writer=writer)
    writer.close()
    assert read_tags(writer.log_dir)["scalars"] == ["grad_norm", "loss/train", "loss/val", "lr"]


def test_histograms_hold_every_value(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    writer = make_writer("hist", root=tmp_path)
    log_histograms(writer, model, 0)  # no gradients yet: weights only
    model(torch.randn(4, 6)).sum().backward()
    log_histograms(writer, model, 1)
    writer.close()
    tags = read_tags(tmp_path / "hist")["histograms"]
    assert tags == sorted(f"{kind}/{name}" for kind in ("weights", "gradients") for name, _ in model.named_parameters())
    weights = read_histograms(tmp_path / "hist", "weights/0.weight")
    assert [record.step for record in weights] == [0, 1]
    record = weights[1]
    assert record.counts.sum() == model[0].weight.numel()
    assert len(record.edges) == len(record.counts) + 1 and np.all(np.diff(record.edges) >= 0)
    assert record.edges[0] == pytest.approx(float(model[0].weight.detach().min()))
    assert record.edges[-1] == pytest.approx(float(model[0].weight.detach().max()))
    assert [record.step for record in read_histograms(tmp_path / "hist", "gradients/0.weight")] == [1]


def test_histograms_leave_out_non_finite_values(tmp_path):
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight[0, 0] = float("nan")
        model.bias.fill_(float("nan"))
    writer = make_writer("nan", root=tmp_path)
    log_histograms(writer, model, 1)
    writer.close()
    assert read_tags(tmp_path / "nan")["histograms"] == ["weights/weight"]  # the all-NaN bias is skipped
    assert read_histograms(tmp_path / "nan", "weights/weight")[0].counts.sum() == 3


def test_graph_and_confusion_matrix(tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    writer = make_writer("graph", root=tmp_path)
    figures_before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a notebook shows every warning; there must be none
        log_graph(writer, model, torch.zeros(1, 2, 2))
        log_confusion_matrix(writer, torch.tensor([[5, 1], [2, 7]]), 3, class_names=["cat", "dog"])
    writer.close()
    assert plt.get_fignums() == figures_before  # nothing left for a notebook to display
    tags = read_tags(tmp_path / "graph")
    assert tags["graph"] is True and tags["images"] == ["confusion_matrix"]
    assert model.training  # tracing put the model back in train mode


def test_hparams_round_trip(tmp_path):
    writer = make_writer("hp", root=tmp_path)
    log_scalars(writer, {"loss/train": 0.5}, 1)
    log_hparams(writer, {"lr": 0.1, "optimizer": "sgd", "hidden": 32}, {"hparam/val_accuracy": 0.875}, step=1)
    writer.close()
    run = read_hparams(tmp_path / "hp")
    assert run.hparams == {"hidden": 32.0, "lr": 0.1, "optimizer": "sgd"}
    assert run.metrics == {"hparam/val_accuracy": 0.875}
    assert read_scalars(tmp_path / "hp")["loss/train"] == [(1, 0.5)]


def test_make_writer_refuses_to_mix_runs(tmp_path):
    make_writer("run", root=tmp_path).close()
    (tmp_path / "run" / "sub").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"already holds 1 event file\(s\); pass overwrite=True"):
        make_writer("run", root=tmp_path)
    writer = make_writer("run", root=tmp_path, overwrite=True)
    log_scalars(writer, {"x": 1.0}, 7)
    writer.close()
    assert read_scalars(tmp_path / "run") == {"x": [(7, 1.0)]}
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"sub", "notes.txt"}  # only event files went


@pytest.mark.parametrize("name", ["", "  ", "../outside", "a/../../outside", "/absolute"])
def test_make_writer_bad_names(tmp_path, name):
    with pytest.raises(ValueError, match="`name` must be a relative folder name inside `root`, without '..'"):
        make_writer(name, root=tmp_path)
    with pytest.raises(TypeError, match="`name` must be a str .*; got int"):
        make_writer(3, root=tmp_path)


def test_logging_argument_errors(tmp_path):
    writer = make_writer("err", root=tmp_path)
    try:
        with pytest.raises(TypeError, match="`writer` must be a torch.utils.tensorboard.SummaryWriter; got dict"):
            log_scalars({}, {"x": 1.0}, 1)
        with pytest.raises(ValueError, match=r"`step` must be a non-negative int \(e\.g\. the epoch\); got -1"):
            log_scalars(writer, {"x": 1.0}, -1)
        with pytest.raises(TypeError, match="`scalars` must be a mapping of tag to number; got list"):
            log_scalars(writer, [1.0], 1)
        with pytest.raises(TypeError, match=r"`scalars\['x'\]` must be a number; got str"):
            log_scalars(writer, {"x": "1.0"}, 1)
        with pytest.raises(TypeError, match="`model` must be a torch.nn.Module; got str"):
            log_histograms(writer, "model", 1)
        with pytest.raises(TypeError, match=r"`hparams\['layers'\]` must be a number, str or bool; got list"):
            log_hparams(writer, {"layers": [1, 2]}, {"hparam/acc": 0.5})
        with pytest.raises(TypeError, match="`hparams` must be a mapping of name to value; got list"):
            log_hparams(writer, [("lr", 0.1)], {"hparam/acc": 0.5})
        with pytest.raises(TypeError, match=r"`metrics\['hparam/acc'\]` must be a number; got str"):
            log_hparams(writer, {"lr": 0.1}, {"hparam/acc": "high"})
        with pytest.raises(ValueError, match="`bins` must be a positive int; got 0"):
            log_histograms(writer, nn.Linear(2, 2), 1, bins=0)
        with pytest.raises(TypeError, match="`model` must be a torch.nn.Module; got function"):
            log_graph(writer, lambda x: x, torch.zeros(1))
        log_scalars(writer, {"x": 1.0}, 1)
    finally:
        writer.close()
    with pytest.raises(ValueError, match="holds no hparams"):  # the rejected calls wrote nothing
        read_hparams(tmp_path / "err")
    assert read_scalars(tmp_path / "err") == {"x": [(1, 1.0)]}


def test_fit_rejects_a_non_writer():
    loader = make_loader(make_classification_data(20, n_features=2), 10)
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="`writer` must be a SummaryWriter .*; got str"):
        fit(model, loader, loader, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), 1,
            writer="runs")


def test_reading_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no TensorBoard event files"):
        read_scalars(tmp_path)
    with pytest.raises(FileNotFoundError, match="holds no TensorBoard event files"):
        read_tags(tmp_path / "missing")
    writer = make_writer("plain", root=tmp_path)
    log_scalars(writer, {"x": 1.0}, 1)
    writer.close()
    with pytest.raises(ValueError, match=r"`tag` 'weights/w' is not a histogram .*; available: \[\]"):
        read_histograms(tmp_path / "plain", "weights/w")
    with pytest.raises(ValueError, match="holds no hparams; log them with log_hparams"):
        read_hparams(tmp_path / "plain")


# ---------------------------------------------------------------- the real TensorBoard server


def _tensorboard_executable() -> str:
    beside_python = Path(sys.executable).with_name("tensorboard")
    found = str(beside_python) if beside_python.exists() else shutil.which("tensorboard")
    if found is None:
        pytest.fail("the `tensorboard` executable is missing; it is a dependency of this project (pip install -e .)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get_json(port: int, path: str, **params):
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}{query}", timeout=5) as response:
        return json.load(response)


def _processes_mentioning(text: str) -> list[int]:
    """Ids of live processes whose command line contains ``text`` (Linux /proc; empty elsewhere)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(entry.name))
    return pids


@contextlib.contextmanager
def _tensorboard_server(logdir: Path, workdir: Path, timeout_s: float = 60.0):
    """Start TensorBoard on 127.0.0.1, yield (process, port) once it serves the run, always stop it."""
    port = _free_port()
    log = open(workdir / "tensorboard.log", "wb")  # a file, not a pipe: a full pipe would block the server
    env = {**os.environ, "TMPDIR": str(workdir)}  # its .tensorboard-info files stay in the test's folder
    process = subprocess.Popen([_tensorboard_executable(), "--logdir", str(logdir), "--host", "127.0.0.1",
                                "--port", str(port), "--load_fast", "false"],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                pytest.fail(f"tensorboard exited with {process.returncode}: "
                            f"{(workdir / 'tensorboard.log').read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                if _get_json(port, "/data/plugin/scalars/tags"):
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"tensorboard did not serve the run within {timeout_s:.0f} s")
            time.sleep(0.25)
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()


def test_tensorboard_server_serves_the_logged_scalars(tmp_path):
    logdir = tmp_path / "runs"
    writer = make_writer("mnist_mlp", root=logdir)
    losses = [2.25, 1.5, 0.75]
    for step, loss in enumerate(losses, start=1):
        log_scalars(writer, {"loss/train": loss, "accuracy/val": 0.25 * step}, step)
    writer.close()

    with _tensorboard_server(logdir, tmp_path) as (process, port):
        tags = _get_json(port, "/data/plugin/scalars/tags")
        assert set(tags) == {"mnist_mlp"}
        assert set(tags["mnist_mlp"]) == {"loss/train", "accuracy/val"}
        points = _get_json(port, "/data/plugin/scalars/scalars", run="mnist_mlp", tag="loss/train")
        assert [(step, value) for _, step, value in points] == [(1, 2.25), (2, 1.5), (3, 0.75)]
        points = _get_json(port, "/data/plugin/scalars/scalars", run="mnist_mlp", tag="accuracy/val")
        served = [(step, value) for _, step, value in points]
        assert served == read_scalars(logdir / "mnist_mlp")["accuracy/val"]  # the server and our reader agree
    assert process.returncode is not None  # stopped and reaped
    assert _processes_mentioning(str(logdir)) == []  # nothing left running over our log directory


def test_writer_is_a_summary_writer(tmp_path):
    writer = make_writer("w", root=tmp_path)
    writer.close()
    assert isinstance(writer, SummaryWriter) and Path(writer.log_dir) == tmp_path / "w"
