"""helpers.metrics against scikit-learn as the oracle (property tests), plus hand-worked cases and bad input."""

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from helpers import metrics as hm

pytestmark = pytest.mark.filterwarnings("ignore:A single label was found")
EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = 1e-12
AVERAGES = ["micro", "macro", "weighted", None]
ZERO_DIVISION = [0.0, 1.0, math.nan]


def same(ours, theirs, tol=TOL):
    """Element-wise |ours - theirs| <= tol, with NaN equal to NaN."""
    a = np.atleast_1d(np.asarray(ours.numpy() if isinstance(ours, torch.Tensor) else ours, dtype=np.float64))
    b = np.atleast_1d(np.asarray(theirs, dtype=np.float64))
    assert a.shape == b.shape, (a, b)
    both_nan = np.isnan(a) & np.isnan(b)
    assert np.all(both_nan | (np.abs(a - b) <= tol)), (a, b)


@st.composite
def labelled(draw, max_classes=6, max_n=60):
    """(preds, target, num_classes or None): labels in [0, C), with classes often missing from either side."""
    num_classes = draw(st.integers(1, max_classes))
    n = draw(st.integers(1, max_n))
    classes = st.integers(0, num_classes - 1)
    target = draw(st.lists(classes, min_size=n, max_size=n))
    preds = draw(st.lists(classes, min_size=n, max_size=n))
    given_c = draw(st.booleans())
    return torch.tensor(preds), torch.tensor(target), (num_classes if given_c else None)


def sk_labels(num_classes):
    return None if num_classes is None else list(range(num_classes))


def present(preds, target):
    return sorted(set(preds.tolist()) | set(target.tolist()))


def check_against_sklearn(ours_fn, sk_fn, data, average, zero_division, **extra):
    preds, target, num_classes = data
    ours = ours_fn(preds, target, average=average, num_classes=num_classes, zero_division=zero_division, **extra)
    theirs = sk_fn(target.numpy(), preds.numpy(), average=average, labels=sk_labels(num_classes),
                   zero_division=zero_division, **extra)
    if average is None:
        assert isinstance(ours, torch.Tensor) and ours.dtype == torch.float64
        # Ours is indexed by class id; scikit-learn lists only its label set.
        ours = ours if num_classes is not None else ours[present(preds, target)]
    else:
        assert isinstance(ours, float)
    same(ours, theirs)


@EXAMPLES
@given(labelled(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISION))
def test_precision_matches_sklearn(data, average, zero_division):
    check_against_sklearn(hm.precision, skm.precision_score, data, average, zero_division)


@EXAMPLES
@given(labelled(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISION))
def test_recall_matches_sklearn(data, average, zero_division):
    check_against_sklearn(hm.recall, skm.recall_score, data, average, zero_division)


@EXAMPLES
@given(labelled(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISION))
def test_f1_matches_sklearn(data, average, zero_division):
    check_against_sklearn(hm.f1_score, skm.f1_score, data, average, zero_division)


@EXAMPLES
@given(labelled(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISION),
       st.sampled_from([0.0, 0.5, 2.0, 3.0]))
def test_fbeta_matches_sklearn(data, average, zero_division, beta):
    check_against_sklearn(hm.fbeta_score, skm.fbeta_score, data, average, zero_division, beta=beta)


@EXAMPLES
@given(labelled(), st.sampled_from(AVERAGES + ["binary"]), st.sampled_from(ZERO_DIVISION))
def test_precision_recall_fscore_support_matches_sklearn(data, average, zero_division):
    preds, target, num_classes = data
    if average == "binary":
        assume(len(present(preds, target)) <= 2)
        pos_label = max(present(preds, target))
    else:
        pos_label = 1
    ours = hm.precision_recall_fscore_support(preds, target, average, num_classes=num_classes,
                                              pos_label=pos_label, zero_division=zero_division)
    labels = None if average == "binary" else sk_labels(num_classes)
    p, r, f, s = skm.precision_recall_fscore_support(target.numpy(), preds.numpy(), average=average, labels=labels,
                                                     pos_label=pos_label, zero_division=zero_division)
    keep = slice(None) if (average is not None or num_classes is not None) else present(preds, target)
    for mine, theirs in ((ours.precision, p), (ours.recall, r), (ours.fbeta, f)):
        same(mine[keep] if average is None else mine, theirs)
    if average is None:
        same(ours.support[keep], s, tol=0)


@st.composite
def binary_labelled(draw):
    """Two arbitrary class ids (sometimes only one present) and a pos_label among them."""
    a, b = draw(st.lists(st.integers(0, 5), min_size=2, max_size=2, unique=True))
    n = draw(st.integers(1, 40))
    values = st.sampled_from([a, b]) if draw(st.booleans()) else st.just(a)
    target = torch.tensor(draw(st.lists(values, min_size=n, max_size=n)))
    preds = torch.tensor(draw(st.lists(values, min_size=n, max_size=n)))
    labels = present(preds, target)
    pos_label = draw(st.sampled_from(labels if len(labels) == 2 else labels + [b]))
    return preds, target, pos_label


@EXAMPLES
@given(binary_labelled(), st.sampled_from(ZERO_DIVISION),
       st.sampled_from([(hm.precision, skm.precision_score), (hm.recall, skm.recall_score),
                        (hm.f1_score, skm.f1_score)]))
def test_binary_average_matches_sklearn(data, zero_division, fns):
    preds, target, pos_label = data
    ours_fn, sk_fn = fns
    ours = ours_fn(preds, target, average="binary", pos_label=pos_label, zero_division=zero_division)
    theirs = sk_fn(target.numpy(), preds.numpy(), average="binary", pos_label=pos_label, zero_division=zero_division)
    same(ours, theirs)


@EXAMPLES
@given(labelled())
def test_confusion_matrix_and_accuracy_match_sklearn(data):
    preds, target, num_classes = data
    c = num_classes or int(max(preds.max(), target.max())) + 1
    cm = hm.confusion_matrix(preds, target, num_classes=num_classes)
    assert cm.dtype == torch.int64 and cm.shape == (c, c)
    np.testing.assert_array_equal(cm.numpy(), skm.confusion_matrix(target.numpy(), preds.numpy(), labels=range(c)))
    for normalize in ("true", "pred", "all"):
        same(hm.confusion_matrix(preds, target, num_classes=num_classes, normalize=normalize),
             skm.confusion_matrix(target.numpy(), preds.numpy(), labels=range(c), normalize=normalize))
    same(hm.accuracy(preds, target, num_classes=num_classes), skm.accuracy_score(target.numpy(), preds.numpy()))


@EXAMPLES
@given(labelled())
def test_micro_precision_and_recall_equal_accuracy(data):
    preds, target, _ = data
    acc = hm.accuracy(preds, target)
    same(hm.precision(preds, target, "micro"), acc)
    same(hm.recall(preds, target, "micro"), acc)


@settings(max_examples=300, deadline=None)
@given(labelled(), st.sampled_from(ZERO_DIVISION))
def test_classification_report_matches_sklearn(data, zero_division):
    preds, target, num_classes = data
    ours = hm.classification_report(preds, target, num_classes=num_classes, zero_division=zero_division)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's report warns about unused `labels` sometimes
        theirs = skm.classification_report(target.numpy(), preds.numpy(), labels=sk_labels(num_classes),
                                           output_dict=True, zero_division=zero_division)
    if "accuracy" not in theirs:  # sklearn reports "micro avg" instead when `labels` is a strict subset
        return
    for row, values in theirs.items():
        if row == "accuracy":
            same(ours.loc["accuracy", "precision"], values)
            continue
        for column in ("precision", "recall", "f1-score", "support"):
            same(ours.loc[row, column], values[column])
    assert len(ours) == len(theirs)


@EXAMPLES
@given(labelled(max_n=80), st.integers(1, 5))
def test_streaming_confusion_matrix_equals_one_shot(data, n_batches):
    preds, target, _ = data
    c = int(max(preds.max(), target.max())) + 1
    stream = hm.ConfusionMatrix(c)
    for p, t in zip(preds.tensor_split(n_batches), target.tensor_split(n_batches)):
        if len(t):
            stream.update(p, t)
    assert torch.equal(stream.compute(), hm.confusion_matrix(preds, target, num_classes=c))
    stream.reset()
    assert int(stream.compute().sum()) == 0


@EXAMPLES
@given(st.integers(1, 50), st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_scores_are_argmaxed_and_probabilities_thresholded(n, c, seed):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=torch.float64)
    target = torch.randint(c, (n,), generator=g)
    assert torch.equal(hm.confusion_matrix(logits, target, num_classes=c),
                       hm.confusion_matrix(logits.argmax(1), target, num_classes=c))
    probs = torch.rand(n, generator=g)
    binary_target = target % 2
    same(hm.f1_score(probs, binary_target, average="binary"),
         skm.f1_score(binary_target.numpy(), (probs >= 0.5).long().numpy(), zero_division=0))


# ------------------------------------------------------------------ regression

finite = st.integers(-100, 100).map(float)


@st.composite
def regression_pairs(draw, min_n=1):
    n = draw(st.integers(min_n, 40))
    k = draw(st.sampled_from([None, 1, 3]))
    shape = (n,) if k is None else (n, k)
    size = n * (k or 1)
    preds = torch.tensor(draw(st.lists(finite, min_size=size, max_size=size)), dtype=torch.float64).reshape(shape)
    target = torch.tensor(draw(st.lists(finite, min_size=size, max_size=size)), dtype=torch.float64).reshape(shape)
    return preds, target


def close(ours, theirs):
    assert abs(ours - theirs) <= TOL * max(1.0, abs(theirs)), (ours, theirs)


@EXAMPLES
@given(regression_pairs())
def test_mse_and_mae_match_sklearn(data):
    preds, target = data
    close(hm.mean_squared_error(preds, target), skm.mean_squared_error(target.numpy(), preds.numpy()))
    close(hm.mean_absolute_error(preds, target), skm.mean_absolute_error(target.numpy(), preds.numpy()))


@EXAMPLES
@given(regression_pairs(min_n=2))
def test_r2_matches_sklearn(data):
    preds, target = data
    close(hm.r2_score(preds, target), skm.r2_score(target.numpy(), preds.numpy()))


@EXAMPLES
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=40), st.integers(0, 2**31 - 1))
def test_r2_matches_sklearn_on_real_valued_data(target, seed):
    target = torch.tensor(target, dtype=torch.float64)
    assume(float(target.std()) > 1e-3)
    preds = target + torch.randn(len(target), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    close(hm.r2_score(preds, target), skm.r2_score(target.numpy(), preds.numpy()))


# ------------------------------------------------------------------ hand-worked cases


def test_hand_worked_binary_case():
    # cm = [[TN=3, FP=1], [FN=2, TP=4]]
    target = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    preds = torch.tensor([0, 0, 0, 1, 0, 0, 1, 1, 1, 1])
    assert hm.confusion_matrix(preds, target).tolist() == [[3, 1], [2, 4]]
    assert hm.precision(preds, target, "binary") == 4 / 5
    assert hm.recall(preds, target, "binary") == 4 / 6
    assert abs(hm.f1_score(preds, target, "binary") - 2 * 4 / (2 * 4 + 1 + 2)) < TOL
    assert hm.accuracy(preds, target) == 7 / 10


def test_zero_division_fills_only_the_undefined_class():
    # class 2 is never predicted: its precision is 0/0.
    preds, target = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2])
    assert hm.precision(preds, target, None, zero_division=1.0).tolist() == [1.0, 0.5, 1.0]
    assert math.isnan(hm.precision(preds, target, None, zero_division=math.nan)[2])
    # NaN entries are skipped by the macro average, as scikit-learn does.
    assert hm.precision(preds, target, "macro", zero_division=math.nan) == 0.75


def test_bootstrap_ci_brackets_the_estimate_and_is_reproducible():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(3, (500,), generator=g)
    preds = torch.where(torch.rand(500, generator=g) < 0.8, target, (target + 1) % 3)
    a = hm.bootstrap_ci(hm.accuracy, preds, target, n_resamples=300, seed=1)
    b = hm.bootstrap_ci(hm.accuracy, preds, target, n_resamples=300, seed=1)
    assert a == b
    assert a.low < a.estimate < a.high
    # The normal-approximation half-width sqrt(p(1-p)/n) * 1.96 is about 0.035 here.
    half_width = 1.96 * math.sqrt(a.estimate * (1 - a.estimate) / 500)
    assert abs((a.high - a.low) / 2 - half_width) < 0.01


# ------------------------------------------------------------------ bad input

BAD_INPUTS = [
    (lambda: hm.accuracy(torch.tensor([0, 1]), torch.tensor([0])), ValueError, "same samples"),
    (lambda: hm.accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long)), ValueError, "empty"),
    (lambda: hm.accuracy(torch.tensor([0, -1]), torch.tensor([0, 1])), ValueError, "`preds` must hold class indices >= 0"),
    (lambda: hm.accuracy(torch.tensor([0, 1]), torch.tensor([0, -2])), ValueError, "`target` must hold class indices >= 0"),
    (lambda: hm.confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), num_classes=3), ValueError, r"\[0, 3\)"),
    (lambda: hm.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 1]), num_classes=0), ValueError, "num_classes"),
    (lambda: hm.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0, 1]), normalize="rows"), ValueError, "normalize"),
    (lambda: hm.confusion_matrix(torch.tensor([[0.1, float("nan")]]), torch.tensor([0])), ValueError, "NaN or infinity"),
    (lambda: hm.confusion_matrix(torch.tensor([0.2, 1.7]), torch.tensor([0, 1])), ValueError, "probabilities"),
    (lambda: hm.confusion_matrix(torch.zeros(2, 2, 2), torch.tensor([0, 1])), ValueError, r"\(N, C\)"),
    (lambda: hm.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0.0, 1.0])), TypeError, "`target` must hold integer"),
    (lambda: hm.confusion_matrix(torch.tensor([[0, 1]]), torch.tensor([[0, 1]])), ValueError, "1-D"),
    (lambda: hm.confusion_matrix("01", torch.tensor([0, 1])), TypeError, "`preds` must be a torch.Tensor"),
    (lambda: hm.precision(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 2]), "binary"), ValueError, "at most two classes"),
    (lambda: hm.precision(torch.tensor([0, 1]), torch.tensor([0, 1]), "mean"), ValueError, "`average` must be one of"),
    (lambda: hm.precision(torch.tensor([0, 1]), torch.tensor([0, 1]), "binary", pos_label=2), ValueError, "pos_label"),
    (lambda: hm.recall(torch.tensor([0, 1]), torch.tensor([0, 1]), zero_division="warn"), ValueError, "zero_division"),
    (lambda: hm.fbeta_score(torch.tensor([0, 1]), torch.tensor([0, 1]), beta=-1.0), ValueError, "beta"),
    (lambda: hm.classification_report(torch.tensor([0, 1]), torch.tensor([0, 1]), class_names=["a"]), ValueError, "class_names"),
    (lambda: hm.ConfusionMatrix(0), ValueError, "num_classes"),
    (lambda: hm.bootstrap_ci("accuracy", [0], [0]), TypeError, "metric"),
    (lambda: hm.bootstrap_ci(hm.accuracy, [0], [0], n_resamples=0), ValueError, "n_resamples"),
    (lambda: hm.bootstrap_ci(hm.accuracy, [0], [0], confidence=95), ValueError, "confidence"),
    (lambda: hm.bootstrap_ci(hm.accuracy, [0, 1], [0]), ValueError, "equal length"),
    (lambda: hm.mean_squared_error(torch.zeros(3), torch.zeros(4)), ValueError, "same shape"),
    (lambda: hm.mean_absolute_error(torch.zeros(0), torch.zeros(0)), ValueError, "empty"),
    (lambda: hm.r2_score(torch.tensor([1.0, float("inf")]), torch.zeros(2)), ValueError, "`preds` contains NaN"),
    (lambda: hm.r2_score(torch.tensor([1.0]), torch.tensor([2.0])), ValueError, "two samples"),
    (lambda: hm.normalize_confusion_matrix(torch.eye(2), None), ValueError, "normalize"),
    (lambda: hm.scores_from_confusion_matrix(torch.eye(2), "binary", pos_label="1"), TypeError, "pos_label"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS)
def test_bad_input_is_refused_with_a_named_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
