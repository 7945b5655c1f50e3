"""Helpers for the PyTorch evaluation and debugging notebooks; every public name is re-exported here."""

from helpers.cv import CVResult, cross_validate
from helpers.data import (
    load_mnist,
    make_classification_data,
    make_loader,
    make_regression_data,
    mnist_loaders,
)
from helpers.early_stopping import EarlyStopping
from helpers.errors import (
    ConfusedPair,
    LabelIssues,
    SampleTable,
    class_error_rates,
    misclassified,
    most_confused,
    suspected_label_issues,
    top_losses,
)
from helpers.evaluate import Predictions, autograd_saved_bytes, evaluate, predict
from helpers.metrics import (
    PRFS,
    BootstrapCI,
    ConfusionMatrix,
    accuracy,
    bootstrap_ci,
    classification_report,
    confusion_matrix,
    f1_score,
    fbeta_score,
    mean_absolute_error,
    mean_squared_error,
    normalize_confusion_matrix,
    precision,
    precision_recall_fscore_support,
    r2_score,
    recall,
    scores_from_confusion_matrix,
)
from helpers.mnist_files import MNISTChecksumError, MNISTUnavailableError, ensure_mnist
from helpers.models import MLP, DeepPlainNet, LinearRegressor, SmallCNN
from helpers.plots import (
    plot_confusion_matrix,
    plot_fold_scores,
    plot_histogram_series,
    plot_learning_curves,
    show_images,
)
from helpers.preprocessing import Standardizer, fit_preprocess, fit_standardizer
from helpers.repro import get_device, seed_everything
from helpers.slices import error_rate_by_slice
from helpers.splits import split_indices
from helpers.tensorboard import (
    HistogramRecord,
    HParamsRun,
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
from helpers.training import History, fit, train_one_epoch
