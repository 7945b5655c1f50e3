"""Benchmark: confusion matrix + macro precision/recall/F1 on 10,000,000 predictions over 10 classes.

helpers, scikit-learn and torchmetrics compute the same four results in the same run; each is timed
(best of several repeats), the ratios are printed, and the values are checked to agree.

    make bench            # or: python tests/benchmarks/bench_metrics.py --n 10000000
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch

N_CLASSES = 10


def best_time(fn, repeats: int):
    result, times = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, min(times)


def with_helpers(preds, target):
    from helpers import confusion_matrix, scores_from_confusion_matrix

    cm = confusion_matrix(preds, target, num_classes=N_CLASSES)  # one bincount
    s = scores_from_confusion_matrix(cm, "macro")  # every ratio read off the same counts
    return cm.numpy(), (s.precision, s.recall, s.fbeta)


def with_sklearn(preds_np, target_np):
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(N_CLASSES))
    cm = confusion_matrix(target_np, preds_np, labels=labels)
    p, r, f, _ = precision_recall_fscore_support(target_np, preds_np, labels=labels, average="macro", zero_division=0)
    return cm, (p, r, f)


def with_torchmetrics(preds, target, validate_args: bool):
    from torchmetrics.functional.classification import (
        multiclass_confusion_matrix,
        multiclass_f1_score,
        multiclass_precision,
        multiclass_recall,
    )

    kw = {"num_classes": N_CLASSES, "validate_args": validate_args}
    cm = multiclass_confusion_matrix(preds, target, **kw)
    p = multiclass_precision(preds, target, average="macro", **kw)
    r = multiclass_recall(preds, target, average="macro", **kw)
    f = multiclass_f1_score(preds, target, average="macro", **kw)
    return cm.numpy(), (float(p), float(r), float(f))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    g = torch.Generator().manual_seed(0)
    target = torch.randint(N_CLASSES, (args.n,), generator=g)
    # About 80% correct, errors spread over the other classes.
    wrong = torch.rand(args.n, generator=g) > 0.8
    preds = torch.where(wrong, (target + torch.randint(1, N_CLASSES, (args.n,), generator=g)) % N_CLASSES, target)
    preds_np, target_np = preds.numpy(), target.numpy()
    print(f"{args.n:,} predictions, {N_CLASSES} classes, torch threads: {torch.get_num_threads()}, best of {args.repeats}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, t_ours = best_time(lambda: with_helpers(preds, target), args.repeats)
        sk, t_sk = best_time(lambda: with_sklearn(preds_np, target_np), args.repeats)
        tm, t_tm = best_time(lambda: with_torchmetrics(preds, target, True), args.repeats)
        tm_fast, t_tm_fast = best_time(lambda: with_torchmetrics(preds, target, False), args.repeats)

    rows = [("helpers", t_ours), ("scikit-learn", t_sk), ("torchmetrics", t_tm),
            ("torchmetrics (validate_args=False)", t_tm_fast)]
    for name, seconds in rows:
        print(f"  {name:36} {seconds * 1000:9.1f} ms   {seconds / t_ours:6.1f}x helpers' time")

    ok = True
    for name, (cm, scores), tol in (("scikit-learn", sk, 1e-12), ("torchmetrics", tm, 1e-6),
                                    ("torchmetrics (validate_args=False)", tm_fast, 1e-6)):
        same_cm = np.array_equal(cm, ours[0])
        diff = max(abs(a - b) for a, b in zip(scores, ours[1]))
        print(f"  values vs {name:34} confusion matrix equal: {same_cm}; max |score difference| = {diff:.1e}")
        ok &= same_cm and diff <= tol
    print(f"  macro precision/recall/F1 = {ours[1][0]:.6f} / {ours[1][1]:.6f} / {ours[1][2]:.6f}")
    print(f"speed-up: {t_sk / t_ours:.1f}x vs scikit-learn (target >= 25x), {t_tm / t_ours:.1f}x vs torchmetrics "
          f"(target >= 10x); values {'agree' if ok else 'DISAGREE'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
