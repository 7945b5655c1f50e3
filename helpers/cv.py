"""Cross-validation for PyTorch models over any scikit-learn splitter.

PyTorch has no cross-validation of its own. :func:`cross_validate` joins a scikit-learn splitter
(``KFold``, ``StratifiedKFold``, ``LeaveOneOut``, ``GroupKFold``, ``RepeatedStratifiedKFold``, ...)
to the training loop of :mod:`helpers.training` and guards against the two classic mistakes:

* **one model for all folds**: ``make_model`` is called once per fold and must return a new model
  and a new optimizer each time (a parameter seen in an earlier fold is refused);
* **preprocessing fitted on all the data**: ``preprocess`` is fitted on the fold's training rows
  only and then applied, unchanged, to its validation rows.

Fold ``i`` is seeded with ``seed + i`` before ``make_model`` runs, and the training continues from
the random state ``make_model`` left, so a fold's result does not depend on the order in which folds
run: ``n_jobs=2`` gives what ``n_jobs=1`` gives, and a hand-written loop that seeds each fold the
same way reproduces the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import TensorDataset

from helpers._validation import check_non_negative_int, check_positive_int
from helpers.data import make_loader
from helpers.evaluate import evaluate, predict
from helpers.metrics import mean_absolute_error, mean_squared_error
from helpers.preprocessing import check_preprocess, fit_preprocess
from helpers.splits import _split
from helpers.training import fit

_INFO_COLUMNS = ("fold", "n_train", "n_val")


@dataclass(frozen=True, eq=False)
class CVResult:
    """Per-fold scores of a cross-validation and their summary.

    Attributes:
        folds: one row per fold: "fold", "n_train", "n_val", then the scores of
            :func:`helpers.evaluate.evaluate` on the fold's validation rows.
        metric: the column that ``mean``, ``std`` and ``ci`` summarise.
        splits: the (train indices, validation indices) of every fold, as the splitter gave them.

    The 95% interval is ``mean ± t(0.975, k - 1) · std / sqrt(k)`` over the k fold scores. Folds
    share most of their training rows, so their scores are correlated and the interval is a rough,
    optimistic guide, not an exact coverage guarantee.
    """

    folds: pd.DataFrame
    metric: str
    splits: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def scores(self) -> np.ndarray:
        """The ``metric`` of every fold, (k,)."""
        return self.folds[self.metric].to_numpy(dtype=np.float64)

    @property
    def mean(self) -> float:
        """Mean of ``metric`` over folds."""
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        """Sample standard deviation over folds (ddof=1); NaN for a single fold."""
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else math.nan

    @property
    def ci(self) -> tuple[float, float]:
        """95% t-interval of the mean over folds (NaN for a single fold)."""
        return _t_interval(self.scores)

    def summary(self) -> pd.DataFrame:
        """Mean, std and 95% interval of every score column, one row per score."""
        rows = {}
        for column in (c for c in self.folds.columns if c not in _INFO_COLUMNS):
            values = self.folds[column].to_numpy(np.float64)
            std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
            rows[column] = (float(np.mean(values)), std, *_t_interval(values))
        return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "std", "ci_low", "ci_high"])

    def __str__(self) -> str:
        low, high = self.ci
        return (f"{self.metric} {self.mean:.4f} ± {self.std:.4f} (95% CI {low:.4f}–{high:.4f}, "
                f"{len(self.scores)} folds)")


def _t_interval(values: np.ndarray) -> tuple[float, float]:
    from scipy.stats import t

    k = len(values)
    if k < 2:
        return math.nan, math.nan
    half = float(t.ppf(0.975, k - 1) * np.std(values, ddof=1) / math.sqrt(k))
    return float(np.mean(values)) - half, float(np.mean(values)) + half


def _check_dataset(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(dataset, TensorDataset):
        raise TypeError(f"`dataset` must be a TensorDataset(features, targets); got {type(dataset).__name__}.")
    if len(dataset.tensors) != 2:
        raise TypeError("`dataset` must be a TensorDataset(features, targets); got a TensorDataset of "
                        f"{len(dataset.tensors)} tensors.")
    return dataset.tensors


def _build(make_model: Callable, fold: int, seed: int, seen: set[int]):
    """Seed, call make_model, check it returned a new (model, optimizer); return them and the RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + fold)
        built = make_model()
        rng_state = torch.get_rng_state()
    if not (isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], nn.Module)
            and isinstance(built[1], torch.optim.Optimizer)):
        raise TypeError("`make_model` must return a new (model, optimizer) pair, e.g. "
                        f"`model = MLP(); return model, torch.optim.Adam(model.parameters())`; got {type(built).__name__}.")
    model, optimizer = built
    params = list(model.parameters())
    storages = {p.untyped_storage().data_ptr() for p in params if p.numel() > 0}  # empty tensors have no storage
    if storages & seen:
        raise ValueError(f"`make_model` returned, for fold {fold}, a model whose parameters were already used by an "
                         "earlier fold; it must build a new model on every call (reusing one leaks validation data).")
    ids = {id(p) for p in params}
    if any(id(p) not in ids for group in optimizer.param_groups for p in group["params"]):
        raise ValueError(f"the optimizer `make_model` returned for fold {fold} updates tensors that are not this "
                         "fold's model parameters; build it from the new model's .parameters().")
    seen |= storages
    return model, optimizer, rng_state


def _run_fold(fold, model, optimizer, rng_state, x, y, train_idx, val_idx, *, num_threads, **settings) -> dict[str, float]:
    """:func:`_train_and_score` with the caller's torch thread count.

    joblib's workers start with fewer threads, and a float sum split over another number of
    threads rounds differently; using the parent's count keeps parallel folds bit-identical.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        return _train_and_score(fold, model, optimizer, rng_state, x, y, train_idx, val_idx, **settings)
    finally:
        torch.set_num_threads(previous)


def _train_and_score(fold, model, optimizer, rng_state, x, y, train_idx, val_idx, *, loss_fn, epochs, batch_size,
                     preprocess, fit_fn, seed, device) -> dict[str, float]:
    """Fit preprocessing on the training rows, train, and score on the validation rows."""
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(rng_state)
        train_idx_t, val_idx_t = torch.as_tensor(train_idx), torch.as_tensor(val_idx)
        x_train, x_val = x[train_idx_t], x[val_idx_t]
        if preprocess is not None:
            transform = fit_preprocess(preprocess, x_train, y[train_idx_t])
            x_train, x_val = transform(x_train), transform(x_val)
            if not (isinstance(x_train, torch.Tensor) and len(x_train) == len(train_idx) and len(x_val) == len(val_idx)):
                raise ValueError("the transform fitted by `preprocess` must return a tensor with one row per input row.")
        train_loader = make_loader(TensorDataset(x_train, y[train_idx_t]), batch_size, shuffle=True, seed=seed + fold)
        val_loader = make_loader(TensorDataset(x_val, y[val_idx_t]), max(batch_size, 256))
        if device is not None:
            model.to(device)
        if fit_fn is None:
            fit(model, train_loader, None, optimizer, loss_fn, epochs, device=device)
        else:
            fit_fn(model, optimizer, train_loader)
        if y.is_floating_point() and len(val_idx) < 2:  # R^2 needs two samples (leave-one-out regression)
            out = predict(model, val_loader, device)
            scores = {"loss": float(loss_fn(out.logits, out.target)), "mse": mean_squared_error(out.preds, out.target),
                      "mae": mean_absolute_error(out.preds, out.target), "r2": math.nan}
        else:
            scores = evaluate(model, val_loader, loss_fn, device)
    return {"fold": fold, "n_train": len(train_idx), "n_val": len(val_idx), **scores}


def cross_validate(make_model: Callable[[], tuple[nn.Module, torch.optim.Optimizer]], dataset: TensorDataset,
                   splitter, *, loss_fn: Callable, epochs: int = 10, batch_size: int = 32,
                   preprocess=None, fit_fn: Callable | None = None, labels=None, groups=None,
                   metric: str | None = None, seed: int = 0, n_jobs: int | None = None,
                   device: torch.device | str | None = None) -> CVResult:
    """Train and score a fresh model on every fold of ``splitter``.

    Args:
        make_model: called once per fold with no argument; returns a new ``(model, optimizer)``.
        dataset: ``TensorDataset(features, targets)``; integer targets mean classification.
        splitter: any scikit-learn splitter (``KFold(5, shuffle=True, random_state=0)``, ...).
        loss_fn: the training loss, e.g. ``nn.CrossEntropyLoss()``.
        epochs, batch_size: for the default training, :func:`helpers.training.fit`.
        preprocess: fitted on each fold's training rows only: a function ``(x_train, y_train) ->
            transform`` (e.g. :func:`fit_standardizer`) or a scikit-learn transformer (cloned per fold,
            features flattened to 2-D).
        fit_fn: ``fit_fn(model, optimizer, train_loader)`` replaces the default training.
        labels: class per sample for stratified splitters; defaults to the dataset's integer targets.
        groups: group id per sample for group splitters (``GroupKFold``, ...).
        metric: the score to summarise; "accuracy" for classification, "mse" for regression by default.
        seed: fold ``i`` is seeded with ``seed + i`` (CPU random stream: model initialisation, shuffling,
            dropout); the caller's random state is left untouched.
        n_jobs: run folds in parallel processes with joblib (-1: all cores); same results as sequential.
        device: where to train; defaults to where each model's parameters are.

    Returns:
        A :class:`CVResult` with the per-fold table and mean, std and 95% interval of ``metric``.

    All k models are built (in this process) before any is trained, so that a parameter shared between
    folds can be detected; with ``n_jobs`` each worker process imports torch and helpers first
    (seconds), which pays off only for folds that take longer than that.

    Raises:
        TypeError: a bad ``dataset``, ``splitter`` or ``make_model`` return value.
        ValueError: missing labels or groups, more folds than samples (or than members of every class
            for a stratified splitter), a model reused across folds, an unknown ``metric``.

    Example:
        >>> from sklearn.model_selection import StratifiedKFold
        >>> from helpers.data import make_classification_data
        >>> from helpers.preprocessing import fit_standardizer
        >>> def make_model():
        ...     model = nn.Linear(20, 2)
        ...     return model, torch.optim.SGD(model.parameters(), lr=0.1)
        >>> result = cross_validate(make_model, make_classification_data(60), StratifiedKFold(3),
        ...                         loss_fn=nn.CrossEntropyLoss(), epochs=2, preprocess=fit_standardizer)
        >>> result.folds[["fold", "n_train", "n_val"]].values.tolist()
        [[0, 40, 20], [1, 40, 20], [2, 40, 20]]
    """
    x, y = _check_dataset(dataset)
    n = len(y)
    if not callable(make_model):
        raise TypeError(f"`make_model` must be a function returning (model, optimizer); got {type(make_model).__name__}.")
    seed = check_non_negative_int(seed, "seed")
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1):
        raise ValueError(f"`n_jobs` must be None, a positive int or -1 (all cores); got {n_jobs!r}.")
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable, e.g. nn.CrossEntropyLoss(); got {type(loss_fn).__name__}.")
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    check_preprocess(preprocess)
    if fit_fn is not None and not callable(fit_fn):
        raise TypeError(f"`fit_fn` must be None or a function (model, optimizer, train_loader); got {type(fit_fn).__name__}.")
    regression = y.is_floating_point()
    allowed = ["loss", "mse", "mae", "r2"] if regression else ["loss", "accuracy", "macro_f1"]
    metric = metric if metric is not None else ("mse" if regression else "accuracy")
    if metric not in allowed:
        raise ValueError(f"`metric` must be one of {allowed} for {'regression' if regression else 'classification'}"
                         f" targets; got {metric!r}.")
    if labels is None and not regression and y.ndim == 1:
        labels = y
    folds = _split(splitter, n, labels, groups, stacklevel=3)
    seen: set[int] = set()
    built = [_build(make_model, fold, seed, seen) for fold in range(len(folds))]
    settings = dict(loss_fn=loss_fn, epochs=epochs, batch_size=batch_size, preprocess=preprocess, fit_fn=fit_fn,
                    seed=seed, device=device, num_threads=torch.get_num_threads())
    jobs = [(fold, *built[fold], x, y, tr, va) for fold, (tr, va) in enumerate(folds)]
    if n_jobs in (None, 1):
        rows = [_run_fold(*job, **settings) for job in jobs]
    else:
        from joblib import Parallel, delayed

        rows = Parallel(n_jobs=n_jobs)(delayed(_run_fold)(*job, **settings) for job in jobs)
    return CVResult(pd.DataFrame(rows), metric, tuple(folds))
