"""Early stopping: stop training when the monitored value stops improving, and keep the best state.

The semantics follow Keras' and Lightning's ``EarlyStopping``:

- an epoch *improves* when ``value < best - min_delta`` (mode "min") or ``value > best + min_delta``
  (mode "max"); ``min_delta`` is an absolute margin;
- ``wait`` counts the monitored epochs since the last improvement, and training stops on the epoch
  where ``wait`` reaches ``patience``;
- ``best`` starts at ``baseline`` when one is given, so a value must beat the baseline to count;
- the first ``start_from_epoch`` epochs are a warm-up and are not monitored;
- a NaN or infinite value stops at once (even during the warm-up): it never counts as "no improvement
  yet", and it never resets the counter.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from helpers._validation import check_non_negative_int

_MODES = ("min", "max")


def _check_settings(patience, min_delta, mode, baseline, start_from_epoch, restore_best_weights,
                    checkpoint_path) -> None:
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"`patience` must be a positive int (epochs without improvement); got {patience!r}.")
    if (isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not math.isfinite(min_delta)
            or min_delta < 0):
        raise ValueError(f"`min_delta` must be a finite number >= 0 (an absolute margin); got {min_delta!r}.")
    if mode not in _MODES:
        raise ValueError(f"`mode` must be one of 'min' or 'max'; got {mode!r}.")
    if baseline is not None and (isinstance(baseline, bool) or not isinstance(baseline, numbers.Real)
                                 or not math.isfinite(baseline)):
        raise ValueError(f"`baseline` must be a finite number or None; got {baseline!r}.")
    check_non_negative_int(start_from_epoch, "start_from_epoch")
    if not isinstance(restore_best_weights, bool):
        raise TypeError(f"`restore_best_weights` must be True or False; got {restore_best_weights!r}.")
    if checkpoint_path is not None:
        if not isinstance(checkpoint_path, (str, os.PathLike)):
            raise TypeError(f"`checkpoint_path` must be a str or os.PathLike or None; got {type(checkpoint_path).__name__}.")
        if Path(checkpoint_path).is_dir():
            raise ValueError(f"`checkpoint_path` must name a file; got the folder {str(checkpoint_path)!r}.")


def _check_value(value) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"`value` must be a single number; got a tensor of shape {tuple(value.shape)}.")
        return float(value.item())
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`value` must be a number (e.g. the validation loss); got {type(value).__name__}.")
    return float(value)


class EarlyStopping:
    """Decide, epoch by epoch, whether to stop; optionally keep (and save) the best model state.

    Args:
        patience: stop on the epoch where this many monitored epochs in a row have not improved.
        min_delta: an improvement must beat ``best`` by more than this absolute margin.
        mode: "min" (a loss) or "max" (an accuracy); never inferred from a name.
        baseline: a value the metric must beat to count as an improvement at all.
        start_from_epoch: number of warm-up epochs that are not monitored.
        restore_best_weights: keep a deep copy of the model's ``state_dict()`` at the best epoch,
            for :meth:`restore`. A copy, never references to the live tensors, which later
            in-place optimizer steps would change.
        checkpoint_path: where to write the best state whenever it improves, as
            ``{"state_dict", "epoch", "value"}`` (load with ``torch.load(path, weights_only=True)``);
            written to a temporary file in the same folder, then renamed over the old one.

    Attributes:
        best: best monitored value so far (``baseline``, or +inf / -inf, before any improvement).
        best_epoch: 1-based epoch of ``best``; None before any improvement.
        wait: monitored epochs since the last improvement.
        epoch: number of calls to :meth:`step` since construction or :meth:`reset`.
        stopped_epoch: the epoch on which :meth:`step` first returned True; else None.
        reason: why it stopped, in words; else None.
        best_state: the deep copy kept for :meth:`restore` (None without ``restore_best_weights``).

    Raises:
        ValueError: a setting out of range (e.g. ``patience=0``, ``mode="minimum"``), or a
            ``checkpoint_path`` that is a folder.
        TypeError: ``restore_best_weights`` not a bool, ``checkpoint_path`` not a path.

    Example:
        >>> stopper = EarlyStopping(patience=2)
        >>> [stopper.step(v) for v in [1.0, 0.8, 0.9, 0.85]]
        [False, False, False, True]
        >>> stopper.best, stopper.best_epoch, stopper.stopped_epoch
        (0.8, 2, 4)
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, mode: Literal["min", "max"] = "min", *,
                 baseline: float | None = None, start_from_epoch: int = 0, restore_best_weights: bool = False,
                 checkpoint_path: str | os.PathLike | None = None):
        _check_settings(patience, min_delta, mode, baseline, start_from_epoch, restore_best_weights, checkpoint_path)
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.baseline = None if baseline is None else float(baseline)
        self.start_from_epoch = start_from_epoch
        self.restore_best_weights = restore_best_weights
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.reset()

    def reset(self) -> None:
        """Forget everything seen, so the same instance can watch a new run (files are left alone)."""
        if self.baseline is not None:
            self.best = self.baseline
        else:
            self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.epoch = 0
        self.stopped_epoch: int | None = None
        self.reason: str | None = None
        self.best_state: dict[str, Any] | None = None

    def _is_improvement(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float | torch.Tensor, model: nn.Module | None = None) -> bool:
        """Record one epoch's monitored value; return True when training should stop now.

        Args:
            value: this epoch's monitored number (a float or a one-element tensor).
            model: the model being trained; required with ``restore_best_weights`` or
                ``checkpoint_path``, whose state is copied when ``value`` improves.

        Raises:
            TypeError: ``value`` is not a number, or ``model`` is not an ``nn.Module``.
            ValueError: ``value`` is a tensor of more than one element, or ``model`` is missing
                although a state must be kept. A rejected call counts no epoch.
        """
        value = _check_value(value)
        self._check_model(model)
        self.epoch += 1
        if not math.isfinite(value):
            return self._stop(f"the monitored value is {value} at epoch {self.epoch}; stopped at once "
                              f"({self._best_text()})")
        if self.epoch <= self.start_from_epoch:
            return False
        if self._is_improvement(value):
            self.best, self.best_epoch, self.wait = value, self.epoch, 0
            self._keep_state(model)
            return False
        self.wait += 1
        if self.wait >= self.patience:
            return self._stop(f"no improvement by more than {self.min_delta:g} in {self.wait} epochs "
                              f"(patience {self.patience}); {self._best_text()}")
        return False

    def restore(self, model: nn.Module) -> None:
        """Load the kept best state into ``model`` (the kept copy stays intact, so this can be repeated).

        Raises:
            TypeError: ``model`` is not an ``nn.Module``.
            RuntimeError: nothing was kept (``restore_best_weights=False``, or no epoch improved yet).
        """
        if not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
        if self.best_state is None:
            why = ("restore_best_weights=False, so no state was kept" if not self.restore_best_weights
                   else "no epoch has improved on the start value yet")
            raise RuntimeError(f"nothing to restore: {why}.")
        model.load_state_dict(self.best_state)

    def _check_model(self, model) -> None:
        if model is not None and not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module or None; got {type(model).__name__}.")
        if model is None and (self.restore_best_weights or self.checkpoint_path is not None):
            raise ValueError("`model` is required when restore_best_weights=True or checkpoint_path is set; "
                             "call step(value, model).")

    def _best_text(self) -> str:
        if self.best_epoch is None:
            return "no improvement yet" if self.baseline is None else f"baseline {self.baseline:.6g} never beaten"
        return f"best {self.best:.6g} at epoch {self.best_epoch}"

    def _stop(self, reason: str) -> bool:
        if self.stopped_epoch is None:
            self.stopped_epoch, self.reason = self.epoch, reason
        return True

    def _keep_state(self, model: nn.Module | None) -> None:
        if model is None:
            return
        if self.restore_best_weights:
            # A deep copy has its own storage; state_dict() alone shares it with the live parameters,
            # so the next in-place optimizer step would change the "best" state too.
            self.best_state = copy.deepcopy(model.state_dict())
        if self.checkpoint_path is not None:
            state = self.best_state if self.best_state is not None else model.state_dict()
            _save_atomically({"state_dict": state, "epoch": self.best_epoch, "value": self.best}, self.checkpoint_path)

    def __repr__(self) -> str:
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta:g}, mode={self.mode!r}, "
                f"best={self.best:.6g}, best_epoch={self.best_epoch}, wait={self.wait}, epoch={self.epoch})")


def _save_atomically(obj: dict, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.chmod(tmp_name, 0o644)  # mkstemp creates files readable by the owner only
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)  # on success it has already been renamed
