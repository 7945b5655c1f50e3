"""helpers._validation: the shared input checks behind every public function."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch

from helpers._validation import (
    as_tensor,
    check_bool,
    check_labels,
    check_non_negative_int,
    check_positive_int,
    check_seed,
    check_zero_division,
    to_labels,
)


def test_as_tensor_reads_tensors_arrays_and_lists():
    leaf = torch.ones(2, requires_grad=True)
    assert not as_tensor(leaf, "x").requires_grad
    assert torch.equal(as_tensor(np.array([1, 2]), "x"), torch.tensor([1, 2]))
    assert torch.equal(as_tensor([[1.5], [2.5]], "x"), torch.tensor([[1.5], [2.5]], dtype=torch.float64))
    assert torch.equal(as_tensor((True, False), "x"), torch.tensor([True, False]))


def test_as_tensor_copies_reversed_and_read_only_arrays_without_warning():
    read_only = np.arange(4)
    read_only.flags.writeable = False  # e.g. a pandas column's .values
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert as_tensor(np.arange(4)[::-1], "x").tolist() == [3, 2, 1, 0]
        assert as_tensor(read_only, "x").tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("value, match", [
    (3, "`preds` must be a torch.Tensor, a NumPy array or a list; got int"),
    ("0 1", "`preds` must be a torch.Tensor, a NumPy array or a list; got str"),
    (["a", "b"], "`preds` must hold numbers; got list that torch cannot read"),
    ([[1, 2], [3]], "`preds` must hold numbers; got list that torch cannot read"),
    (np.array([1, None]), "`preds` must hold numbers; got ndarray that torch cannot read"),
])
def test_as_tensor_rejects_what_is_not_numbers(value, match):
    with pytest.raises(TypeError, match=match):
        as_tensor(value, "preds")


def test_check_labels_returns_int64_and_reads_bools():
    assert check_labels(torch.tensor([True, False]), "target").tolist() == [1, 0]
    assert check_labels(torch.tensor([3, 0], dtype=torch.uint8), "target").dtype == torch.int64


@pytest.mark.parametrize("labels, error, match", [
    (torch.tensor([0.0, 1.0]), TypeError, "`target` must hold integer class indices; got dtype torch.float32"),
    (torch.tensor([1j]), TypeError, "`target` must hold integer class indices; got dtype torch.complex64"),
    (torch.zeros(2, 2, dtype=torch.long), ValueError, r"`target` must be 1-D \(N,\) class indices; got shape \(2, 2\)"),
    (torch.tensor([0, -1]), ValueError, "`target` must hold class indices >= 0; got -1"),
])
def test_check_labels_rejects(labels, error, match):
    with pytest.raises(error, match=match):
        check_labels(labels, "target")


def test_to_labels_argmax_of_scores_and_threshold_of_probabilities():
    assert to_labels(torch.tensor([[0.1, 0.9], [2.0, -1.0]])).tolist() == [1, 0]
    assert to_labels(torch.tensor([0.0, 0.49, 0.5, 1.0])).tolist() == [0, 0, 1, 1]  # 0.5 is positive
    assert to_labels([2, 0, 1]).tolist() == [2, 0, 1]


@pytest.mark.parametrize("preds, match", [
    (torch.tensor([[0.5, math.nan]]), "`preds` contains NaN or infinity; scores must be finite"),
    (torch.tensor([math.inf]), "`preds` contains NaN or infinity"),
    (torch.zeros(3, 0), r"`preds` of shape \(N, C\) needs C >= 1; got shape \(3, 0\)"),
    (torch.tensor([0.2, 1.5]), r"floating `preds` of shape \(N,\) are read as binary probabilities and must lie in \[0, 1\]"),
    (torch.zeros(2, 2, 2), r"`preds` scores must be \(N, C\) or \(N,\); got shape \(2, 2, 2\)"),
])
def test_to_labels_rejects(preds, match):
    with pytest.raises(ValueError, match=match):
        to_labels(preds)


def test_check_zero_division_accepts_0_1_and_nan():
    assert check_zero_division(0) == 0.0 and check_zero_division(1.0) == 1.0
    assert math.isnan(check_zero_division(math.nan))


@pytest.mark.parametrize("value", [2, 0.5, True, "0", None])
def test_check_zero_division_rejects(value):
    with pytest.raises(ValueError, match=rf"`zero_division` must be 0, 1 or float\('nan'\); got {value!r}"):
        check_zero_division(value)


@pytest.mark.parametrize("value", [0, -2, 1.0, True, "3", None])
def test_check_positive_int_rejects(value):
    with pytest.raises(ValueError, match=rf"`n` must be a positive int; got {value!r}"):
        check_positive_int(value, "n")


def test_int_checks_accept_numpy_integers_and_return_plain_ints():
    assert [type(v) for v in (check_positive_int(np.int64(3), "n"), check_non_negative_int(np.int32(0), "n"))] == [int, int]
    assert check_non_negative_int(0, "n") == 0


@pytest.mark.parametrize("value", [-1, np.int64(-1), 1.0, True, "3", None])
def test_check_non_negative_int_rejects(value):
    with pytest.raises(ValueError, match=re.escape(f"`n` must be a non-negative int; got {value!r}.")):
        check_non_negative_int(value, "n")


def test_check_seed_and_check_bool_accept_their_range():
    assert check_seed(0) == 0 and check_seed(2**32 - 1) == 2**32 - 1
    assert check_bool(False, "flag") is False


@pytest.mark.parametrize("value", [-1, 2**32, 0.0, False, "1"])
def test_check_seed_rejects(value):
    with pytest.raises(ValueError, match=rf"`seed` must be an int in \[0, 2\*\*32 - 1\]; got {value!r}"):
        check_seed(value)


@pytest.mark.parametrize("value", [1, 0, "True", None, np.bool_(True)])
def test_check_bool_rejects(value):
    with pytest.raises(TypeError, match=rf"`flag` must be True or False; got {value!r}"):
        check_bool(value, "flag")
