"""cross_validate: folds from the splitter (scikit-learn is the oracle), a fresh model per fold, preprocessing fitted
on training rows only, deterministic seeding (n_jobs=2 equals n_jobs=1), the summary statistics, and bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn import model_selection as ms
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import TensorDataset

from helpers.cv import CVResult, cross_validate
from helpers.data import make_classification_data, make_loader, make_regression_data
from helpers.evaluate import evaluate
from helpers.preprocessing import fit_standardizer
from helpers.training import fit

CE = nn.CrossEntropyLoss()


def make_linear(in_features: int = 20, out_features: int = 2):
    def make_model():
        model = nn.Linear(in_features, out_features)
        return model, torch.optim.SGD(model.parameters(), lr=0.1)

    return make_model


def make_dropout_mlp():
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    return model, torch.optim.Adam(model.parameters(), lr=1e-2)


@pytest.fixture(scope="module")
def imbalanced():
    return make_classification_data(60, weights=[0.8, 0.2], seed=3)


SPLITTERS = {
    "KFold": (ms.KFold(4, shuffle=True, random_state=0), False),
    "StratifiedKFold": (ms.StratifiedKFold(4, shuffle=True, random_state=0), False),
    "LeaveOneOut": (ms.LeaveOneOut(), False),
    "GroupKFold": (ms.GroupKFold(3), True),
    "RepeatedStratifiedKFold": (ms.RepeatedStratifiedKFold(n_splits=3, n_repeats=2, random_state=0), False),
    "ShuffleSplit": (ms.ShuffleSplit(3, test_size=0.25, random_state=0), False),
}


@pytest.mark.parametrize("name", SPLITTERS)
def test_folds_are_the_splitters_and_disjoint_and_covering(name, imbalanced):
    splitter, grouped = SPLITTERS[name]
    x, y = imbalanced.tensors
    groups = np.arange(len(y)) % 6 if grouped else None
    result = cross_validate(make_linear(), imbalanced, splitter, loss_fn=CE, epochs=1, groups=groups)
    expected = list(splitter.split(x.numpy(), y.numpy(), groups))
    assert len(result.folds) == len(result.splits) == len(expected)
    for (train, val), (sk_train, sk_val) in zip(result.splits, expected, strict=True):
        np.testing.assert_array_equal(train, sk_train)
        np.testing.assert_array_equal(val, sk_val)
    for train, val in result.splits:
        assert not set(train) & set(val)
        if name != "ShuffleSplit":  # K-fold style: every fold uses every sample
            assert sorted(set(train) | set(val)) == list(range(len(y)))
    if name in ("KFold", "StratifiedKFold", "LeaveOneOut", "GroupKFold"):  # validation folds partition the data
        assert sorted(np.concatenate([val for _, val in result.splits]).tolist()) == list(range(len(y)))
    if grouped:  # a group never straddles training and validation
        for train, val in result.splits:
            assert not set(groups[train]) & set(groups[val])
    assert result.folds["n_val"].tolist() == [len(val) for _, val in result.splits]


def test_stratification_keeps_class_ratios_with_labels_from_the_dataset(imbalanced):
    y = imbalanced.tensors[1].numpy()
    result = cross_validate(make_linear(), imbalanced, ms.StratifiedKFold(4, shuffle=True, random_state=1),
                            loss_fn=CE, epochs=1)
    overall = y.mean()  # 0.2 positives
    for train, val in result.splits:
        assert abs(y[val].sum() - overall * len(val)) <= 1
        assert abs(y[train].sum() - overall * len(train)) <= 1


def test_labels_argument_stratifies_a_regression_set():
    data = make_regression_data(40, noise=1.0)
    bins = (data.tensors[1][:, 0] > 0).long()
    result = cross_validate(make_linear(10, 1), data, ms.StratifiedKFold(4), loss_fn=nn.MSELoss(), epochs=1,
                            labels=bins)
    expected = list(ms.StratifiedKFold(4).split(np.zeros(40), bins.numpy()))
    for (_, val), (_, sk_val) in zip(result.splits, expected, strict=True):
        np.testing.assert_array_equal(val, sk_val)
    assert list(result.folds.columns) == ["fold", "n_train", "n_val", "loss", "mse", "mae", "r2"]
    assert result.metric == "mse"


def test_make_model_is_called_once_per_fold_and_folds_share_no_parameter(imbalanced):
    built = []

    def make_model():
        model, optimizer = make_linear()()
        built.append((model, optimizer, [p.detach().clone() for p in model.parameters()]))
        return model, optimizer

    result = cross_validate(make_model, imbalanced, ms.KFold(5), loss_fn=CE, epochs=2)
    assert len(built) == len(result.folds) == 5
    storages = [p.untyped_storage().data_ptr() for model, _, _ in built for p in model.parameters()]
    assert len(storages) == len(set(storages)) == 5 * 2  # weight and bias of 5 distinct models
    assert len({id(optimizer) for _, optimizer, _ in built}) == 5
    for model, _, initial in built:  # each model was trained (by its own fold only; see the reuse test)
        assert any(not torch.equal(p, p0) for p, p0 in zip(model.parameters(), initial, strict=True))


def test_a_model_reused_across_folds_is_refused(imbalanced):
    model = nn.Linear(20, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="already used by an earlier fold"):
        cross_validate(lambda: (model, optimizer), imbalanced, ms.KFold(3), loss_fn=CE, epochs=1)
    shared = nn.Linear(20, 8)  # a new head on a shared body is still a shared parameter

    def make_model():
        net = nn.Sequential(shared, nn.Linear(8, 2))
        return net, torch.optim.SGD(net.parameters(), lr=0.1)

    with pytest.raises(ValueError, match="already used by an earlier fold"):
        cross_validate(make_model, imbalanced, ms.KFold(3), loss_fn=CE, epochs=1)


def test_an_optimizer_of_another_model_is_refused(imbalanced):
    def make_model():
        return nn.Linear(20, 2), torch.optim.SGD(nn.Linear(20, 2).parameters(), lr=0.1)

    with pytest.raises(ValueError, match="not this fold's model parameters"):
        cross_validate(make_model, imbalanced, ms.KFold(3), loss_fn=CE, epochs=1)


def test_preprocessing_is_fitted_on_training_rows_and_applied_to_validation_rows():
    n = 30
    x = torch.stack([torch.arange(n, dtype=torch.float32), torch.randn(n)], dim=1)  # column 0 = row index
    data = TensorDataset(x, (torch.arange(n) % 2))
    fitted_on, applied_to = [], []

    def preprocess(x_train, y_train):
        assert len(x_train) == len(y_train)
        fitted_on.append(sorted(x_train[:, 0].long().tolist()))

        def transform(rows):
            applied_to.append(sorted(rows[:, 0].long().tolist()))
            return rows

        return transform

    result = cross_validate(make_linear(2), data, ms.KFold(3, shuffle=True, random_state=0), loss_fn=CE, epochs=1,
                            preprocess=preprocess)
    assert fitted_on == [sorted(train.tolist()) for train, _ in result.splits]
    assert applied_to == [rows for train, val in result.splits for rows in (sorted(train), sorted(val.tolist()))]


def test_a_scikit_learn_transformer_is_cloned_and_fitted_per_fold(imbalanced):
    scaler = StandardScaler()
    with_scaler = cross_validate(make_linear(), imbalanced, ms.KFold(3), loss_fn=CE, epochs=2, preprocess=scaler)
    with_ours = cross_validate(make_linear(), imbalanced, ms.KFold(3), loss_fn=CE, epochs=2,
                               preprocess=fit_standardizer)
    assert not hasattr(scaler, "mean_")  # the object passed in was never fitted
    pd.testing.assert_frame_equal(with_scaler.folds, with_ours.folds, rtol=1e-4)


def test_leave_one_out_gives_one_fold_per_sample():
    classes = make_classification_data(12, n_features=4, seed=1)
    result = cross_validate(make_linear(4), classes, ms.LeaveOneOut(), loss_fn=CE, epochs=1)
    assert len(result.folds) == 12 and result.folds["n_val"].eq(1).all() and result.folds["n_train"].eq(11).all()
    assert set(result.folds["accuracy"]) <= {0.0, 1.0}
    values = make_regression_data(8, n_features=3)  # R^2 is undefined on one sample: NaN, the other scores are kept
    result = cross_validate(make_linear(3, 1), values, ms.LeaveOneOut(), loss_fn=nn.MSELoss(), epochs=1)
    assert len(result.folds) == 8 and result.folds["r2"].isna().all() and result.folds["mse"].notna().all()


def test_two_workers_give_the_same_results_as_one(imbalanced):
    settings = dict(loss_fn=CE, epochs=3, batch_size=8, preprocess=fit_standardizer, seed=5)
    splitter = ms.StratifiedKFold(4, shuffle=True, random_state=0)
    sequential = cross_validate(make_dropout_mlp, imbalanced, splitter, **settings)
    parallel = cross_validate(make_dropout_mlp, imbalanced, splitter, n_jobs=2, **settings)
    pd.testing.assert_frame_equal(parallel.folds, sequential.folds, check_exact=True)


def test_each_fold_is_seeded_with_seed_plus_fold_whatever_the_global_state(imbalanced):
    splitter = ms.KFold(3, shuffle=True, random_state=0)
    settings = dict(loss_fn=CE, epochs=2, batch_size=8, seed=7)
    torch.manual_seed(123)
    first = cross_validate(make_dropout_mlp, imbalanced, splitter, **settings)
    after = torch.rand(3)
    torch.manual_seed(999)
    second = cross_validate(make_dropout_mlp, imbalanced, splitter, **settings)
    pd.testing.assert_frame_equal(first.folds, second.folds, check_exact=True)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after)  # the caller's random stream was not consumed
    x, y = imbalanced.tensors  # a hand-written loop seeded the same way reproduces fold 2
    train, val = first.splits[2]
    torch.manual_seed(7 + 2)
    model, optimizer = make_dropout_mlp()
    fit(model, make_loader(TensorDataset(x[train], y[train]), 8, shuffle=True, seed=7 + 2), None, optimizer, CE, 2)
    by_hand = evaluate(model, make_loader(TensorDataset(x[val], y[val]), 256), CE)
    assert by_hand == {k: first.folds.loc[2, k] for k in ("loss", "accuracy", "macro_f1")}


def test_fit_fn_replaces_the_default_training(imbalanced):
    calls = []

    def fit_fn(model, optimizer, train_loader):
        calls.append(len(train_loader.dataset))

    result = cross_validate(make_linear(), imbalanced, ms.KFold(3), loss_fn=CE, fit_fn=fit_fn)
    assert calls == result.folds["n_train"].tolist() == [40, 40, 40]


def test_mean_std_and_interval_match_scipy():
    folds = pd.DataFrame({"fold": [0, 1, 2, 3], "n_train": 3, "n_val": 1, "accuracy": [0.7, 0.9, 0.8, 1.0],
                          "loss": [0.5, 0.25, 0.5, 0.25]})
    result = CVResult(folds, "accuracy", ())
    scores = folds["accuracy"].to_numpy()
    assert result.mean == pytest.approx(scores.mean()) and result.std == pytest.approx(scores.std(ddof=1))
    low, high = stats.t.interval(0.95, 3, loc=scores.mean(), scale=stats.sem(scores))
    assert result.ci == pytest.approx((low, high))
    summary = result.summary()
    assert list(summary.index) == ["accuracy", "loss"] and list(summary.columns) == ["mean", "std", "ci_low", "ci_high"]
    assert summary.loc["loss", "mean"] == pytest.approx(0.375)
    assert str(result).startswith("accuracy 0.8500 ± 0.1291 (95% CI")
    single = CVResult(folds.iloc[:1], "accuracy", ())
    assert math.isnan(single.std) and all(math.isnan(v) for v in single.ci)


def test_a_class_smaller_than_n_splits_is_warned_every_time(imbalanced):
    x, y = imbalanced.tensors
    y = y.clone()
    y[y == 1] = torch.tensor([2, 2, 2] + [1] * (int((y == 1).sum()) - 3))  # class 2 has 3 members
    data = TensorDataset(x, y)
    for _ in range(2):  # not swallowed by the once-per-location warning registry either
        with pytest.warns(UserWarning, match="StratifiedKFold: The least populated class in y has only 3") as caught:
            cross_validate(make_linear(20, 3), data, ms.StratifiedKFold(4), loss_fn=CE, epochs=1)
        assert caught[0].filename == __file__  # points at the caller's line


def test_no_warning_when_every_class_is_large_enough(imbalanced):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cross_validate(make_linear(), imbalanced, ms.StratifiedKFold(4), loss_fn=CE, epochs=1)


BAD = [
    (dict(dataset=[1, 2]), TypeError, "`dataset` must be a TensorDataset"),
    (dict(dataset=TensorDataset(torch.zeros(4, 2), torch.zeros(4), torch.zeros(4))), TypeError, "of 3 tensors"),
    (dict(make_model="MLP"), TypeError, "`make_model` must be a function"),
    (dict(make_model=lambda: nn.Linear(20, 2)), TypeError, r"must return a new \(model, optimizer\) pair"),
    (dict(seed=-1), ValueError, "`seed` must be a non-negative int"),
    (dict(n_jobs=0), ValueError, "`n_jobs` must be None, a positive int or -1"),
    (dict(loss_fn="mse"), TypeError, "`loss_fn` must be callable"),
    (dict(epochs=0), ValueError, "`epochs` must be a positive int"),
    (dict(batch_size=2.5), ValueError, "`batch_size` must be a positive int"),
    (dict(preprocess=42), TypeError, "`preprocess` must be a function"),
    (dict(preprocess=lambda x, y: 42), TypeError, "`preprocess` must return a callable transform"),
    (dict(preprocess=lambda x, y: (lambda rows: rows[:1])), ValueError, "one row per input row"),
    (dict(fit_fn="adam"), TypeError, "`fit_fn` must be None or a function"),
    (dict(metric="r2"), ValueError, r"`metric` must be one of \['loss', 'accuracy', 'macro_f1'\]"),
    (dict(splitter="5-fold"), TypeError, "`splitter` must be a scikit-learn splitter"),
    (dict(splitter=ms.KFold(61)), ValueError, "n_splits=61 folds but there are only 60 samples"),
    (dict(splitter=ms.StratifiedKFold(50)), ValueError, r"every class has fewer members \(largest class: 48\)"),
    (dict(splitter=ms.GroupKFold(3)), ValueError, "needs `groups`"),
    (dict(splitter=ms.GroupKFold(4), groups=[0, 1, 2] * 20), ValueError, "only 3 distinct groups"),
    (dict(groups=[0, 1]), ValueError, r"`groups` must have one entry per sample, shape \(60,\)"),
    (dict(labels=np.zeros((60, 2))), ValueError, "`labels` must have one entry per sample"),
]


@pytest.mark.parametrize("change, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_is_refused_with_a_message_naming_it(change, error, message, imbalanced):
    args = dict(make_model=make_linear(), dataset=imbalanced, splitter=ms.KFold(3), loss_fn=CE, epochs=1)
    args.update(change)
    with pytest.raises(error, match=message):
        cross_validate(args.pop("make_model"), args.pop("dataset"), args.pop("splitter"), **args)


def test_a_stratified_splitter_on_regression_targets_asks_for_labels():
    with pytest.raises(ValueError, match="StratifiedKFold stratifies by class and needs `labels`"):
        cross_validate(make_linear(10, 1), make_regression_data(20), ms.StratifiedKFold(2), loss_fn=nn.MSELoss())
    with pytest.raises(ValueError, match=r"`metric` must be one of \['loss', 'mse', 'mae', 'r2'\]"):
        cross_validate(make_linear(10, 1), make_regression_data(20), ms.KFold(2), loss_fn=nn.MSELoss(),
                       metric="accuracy")


def test_plot_fold_scores_draws_one_column_per_group_and_refuses_an_empty_dict():
    import matplotlib.pyplot as plt

    from helpers.plots import plot_fold_scores

    ax = plot_fold_scores({"hold-out": [0.6, 0.8, 0.7], "CV": [0.7]}, ylabel="accuracy")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hold-out", "CV"] and ax.get_ylabel() == "accuracy"
    np.testing.assert_allclose([line.get_segments()[0][0][1] for line in ax.collections[1::2]], [0.7, 0.7])
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="`groups` must be a non-empty dict"):
        plot_fold_scores({})
