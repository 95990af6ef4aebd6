#!/usr/bin/env python3
"""descent.MLPClassifier against scikit-learn's MLPClassifier on scikit-learn's digits,
same architecture, same epochs, same run.

Digits (1797 images 8×8, scaled to [0, 1]), 75/25 split, 64-100-10 ReLU (scikit-learn's
default hidden layer), batch 200, Adam at lr 1e-3, a fixed number of epochs (tol=0 so
neither stops early), seeds 0..S-1. Prints, per tool, the median wall time of `fit`, the
mean test accuracy, and the time ratio; then descent's `solver="auto"` (and what it
chose) and the other solvers on the same network.

    python3 bench/python_mlp_vs_sklearn.py [--epochs 200] [--seeds 5]

Needs the package (pip install ./python) and scikit-learn.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

import descent


def run(make, data, seeds):
    Xtr, Xte, ytr, yte = data
    times, accs, chose = [], [], None
    for seed in range(seeds):
        clf = make(seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(Xtr, ytr)
        times.append(time.perf_counter() - start)
        accs.append(clf.score(Xte, yte))
        chose = getattr(clf, "solver_", None)
    return statistics.median(times), float(np.mean(accs)), chose


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    X, y = load_digits(return_X_y=True)
    data = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    common = dict(hidden_layer_sizes=(100,), batch_size=200, learning_rate_init=1e-3,
                  max_iter=a.epochs, tol=0.0, n_iter_no_change=a.epochs + 1)
    sk = run(lambda s: SkMLP(solver="adam", random_state=s, **common), data, a.seeds)
    ours = run(lambda s: descent.MLPClassifier(solver="adam", random_state=s,
                                               precision="f64", **common), data, a.seeds)
    ours32 = run(lambda s: descent.MLPClassifier(solver="adam", random_state=s, **common),
                 data, a.seeds)
    print(f"digits 64-100-10, Adam, batch 200, {a.epochs} epochs, {a.seeds} seeds "
          f"(median fit time, mean test accuracy)")
    print(f"  scikit-learn {sk[0]:7.3f} s  accuracy {sk[1]:.4f}")
    print(f"  descent f64  {ours[0]:7.3f} s  accuracy {ours[1]:.4f}  "
          f"{sk[0] / ours[0]:.1f}x faster")
    print(f"  descent f32  {ours32[0]:7.3f} s  accuracy {ours32[1]:.4f}  "
          f"{sk[0] / ours32[0]:.1f}x faster")
    auto_kw = dict(hidden_layer_sizes=(100,), max_iter=a.epochs)
    for solver in ["auto", "lbfgs", "scg", "sgd"]:
        t, acc, chose = run(lambda s: descent.MLPClassifier(solver=solver, random_state=s,
                                                            **auto_kw), data, a.seeds)
        print(f"  descent solver={solver:<6} ({chose}) {t:7.3f} s  accuracy {acc:.4f}")
    t, acc, _ = run(lambda s: SkMLP(solver="lbfgs", random_state=s, max_iter=a.epochs,
                                    hidden_layer_sizes=(100,)), data, a.seeds)
    print(f"  scikit-learn solver=lbfgs  {t:7.3f} s  accuracy {acc:.4f}")


if __name__ == "__main__":
    main()
