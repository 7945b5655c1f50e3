"""split_indices: the splitter's own folds (scikit-learn is the oracle), its checks, and its re-emitted warnings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import model_selection as ms

from helpers.splits import split_indices

LABELS = np.array([0] * 8 + [1] * 4)


@pytest.mark.parametrize("splitter, groups", [
    (ms.KFold(3), None), (ms.StratifiedKFold(4, shuffle=True, random_state=0), None), (ms.LeaveOneOut(), None),
    (ms.GroupKFold(3), np.arange(12) % 4), (ms.RepeatedStratifiedKFold(n_splits=2, n_repeats=3, random_state=1), None),
    (ms.LeaveOneGroupOut(), np.arange(12) // 3), (ms.StratifiedShuffleSplit(5, test_size=4, random_state=0), None),
])
def test_folds_equal_the_splitters(splitter, groups):
    ours = split_indices(splitter, 12, labels=torch.as_tensor(LABELS), groups=groups)
    theirs = list(splitter.split(np.zeros((12, 1)), LABELS, groups))
    assert len(ours) == len(theirs)
    for (train, val), (sk_train, sk_val) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(train, sk_train)
        np.testing.assert_array_equal(val, sk_val)


def test_shuffle_splits_may_have_more_splits_than_samples():
    assert len(split_indices(ms.ShuffleSplit(20, test_size=2, random_state=0), 5)) == 20


def test_the_least_populated_class_warning_is_re_emitted_with_the_splitters_name():
    with pytest.warns(UserWarning, match=r"^StratifiedKFold: The least populated class in y has only 4 members") as w:
        split_indices(ms.StratifiedKFold(5), 12, labels=LABELS)
    assert w[0].filename == __file__


class EmptyValidation:
    def get_n_splits(self, *args):
        return 1

    def split(self, x, y=None, groups=None):
        yield np.arange(len(x)), np.array([], dtype=int)


class NeedsY:
    def get_n_splits(self, *args):
        return 1

    def split(self, x, y, groups=None):
        yield np.arange(len(x) - 1), np.array([len(x) - 1])


BAD = [
    (dict(splitter="KFold"), TypeError, "`splitter` must be a scikit-learn splitter"),
    (dict(n_samples=0), ValueError, "`n_samples` must be a positive int"),
    (dict(n_samples=True), ValueError, "`n_samples` must be a positive int"),
    (dict(splitter=EmptyValidation()), ValueError, "EmptyValidation produced an empty training or validation fold"),
    (dict(splitter=NeedsY()), ValueError, "NeedsY stratifies by class and needs `labels`"),
    (dict(splitter=ms.StratifiedShuffleSplit(2)), ValueError, "StratifiedShuffleSplit stratifies by class"),
    (dict(splitter=ms.RepeatedStratifiedKFold(n_splits=3)), ValueError, "needs `labels`"),
    (dict(splitter=ms.LeaveOneGroupOut()), ValueError, "LeaveOneGroupOut keeps groups together and needs `groups`"),
    (dict(splitter=ms.KFold(13)), ValueError, "n_splits=13 folds but there are only 12 samples"),
    (dict(splitter=ms.RepeatedKFold(n_splits=13)), ValueError, "n_splits=13 folds but there are only 12 samples"),
    (dict(splitter=ms.StratifiedKFold(9), labels=LABELS), ValueError, r"every class has fewer members \(largest class: 8"),
    (dict(splitter=ms.GroupKFold(5), groups=np.arange(12) % 4), ValueError, "only 4 distinct groups"),
    (dict(labels=[0, 1]), ValueError, r"`labels` must have one entry per sample, shape \(12,\); got shape \(2,\)"),
]


@pytest.mark.parametrize("change, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_is_refused_with_a_message_naming_it(change, error, message):
    args = dict(splitter=ms.KFold(3), n_samples=12)
    args.update(change)
    with pytest.raises(error, match=message):
        split_indices(**args)
