#!/usr/bin/env python3
"""Test accuracy (R² for regression) on CSV data: descent versus scikit-learn's
MLPClassifier and MLPRegressor, same split.

For each data set (scikit-learn's built-in and generated ones, no download), writes
train.csv and test.csv (header row, target column `label`), trains MLPClassifier or
MLPRegressor with its defaults (one hidden layer of 100 ReLU units, Adam 1e-3, batch
min(200, n), up to 200 epochs) behind a StandardScaler, and `descent train` with the same
layers on the same files (nothing else: CSV is standardized by default, the loss and the
optimizer are `auto`), and prints both test scores (accuracy, or R² in points).

    python3 bench/sklearn_compare.py [--seeds 3] [--only classification|regression]
                                     [--extra ...descent flags]

Needs scikit-learn (pip install scikit-learn); builds descent with cargo.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile


def datasets():
    from sklearn import datasets as ds
    out = {
        "iris": ds.load_iris(return_X_y=True),
        "wine": ds.load_wine(return_X_y=True),
        "breast_cancer": ds.load_breast_cancer(return_X_y=True),
        "digits": ds.load_digits(return_X_y=True),
    }
    out["classification_20d"] = ds.make_classification(
        n_samples=3000, n_features=20, n_informative=10, n_classes=4, random_state=0)
    out["moons_noisy"] = ds.make_moons(n_samples=2000, noise=0.3, random_state=0)
    return out


def regression_sets():
    from sklearn import datasets as ds
    return {
        "diabetes": ds.load_diabetes(return_X_y=True),
        "friedman1": ds.make_friedman1(n_samples=1000, noise=1.0, random_state=0),
        "friedman2": ds.make_friedman2(n_samples=1000, noise=10.0, random_state=0),
        "friedman3": ds.make_friedman3(n_samples=1000, noise=0.1, random_state=0),
        "regression_20d": ds.make_regression(
            n_samples=1000, n_features=20, n_informative=10, noise=10.0, random_state=0),
    }


def write_csv(path, x, y, names=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"f{i}" for i in range(x.shape[1])] + ["label"])
        for row, label in zip(x, y):
            if names is None and float(label) != int(label):
                target = repr(float(label))
            else:
                target = names[label] if names else int(label)
            w.writerow([repr(float(v)) for v in row] + [target])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", choices=["classification", "regression"])
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    a = ap.parse_args()
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import warnings
    warnings.filterwarnings("ignore")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=root, check=True)
    exe = os.path.join(root, "target", "release", "descent")
    print(f"{'data':20} {'n':>5} {'d':>3} {'k':>2}  {'sklearn':>8} {'descent':>8}  diff  descent chose")
    diffs = []
    tasks = []
    if a.only != "regression":
        tasks += [(name, x, y, False) for name, (x, y) in datasets().items()]
    if a.only != "classification":
        tasks += [(name, x, y, True) for name, (x, y) in regression_sets().items()]
    for name, x, y, regression in tasks:
        k = 1 if regression else len(set(y))
        sk, de, chose = [], [], set()
        for seed in range(a.seeds):
            split = dict(test_size=0.25, random_state=seed)
            if not regression:
                split["stratify"] = y
            xtr, xte, ytr, yte = train_test_split(x, y, **split)
            model = MLPRegressor(random_state=seed) if regression else MLPClassifier(random_state=seed)
            est = make_pipeline(StandardScaler(), model)
            est.fit(xtr, ytr)
            sk.append(est.score(xte, yte))
            with tempfile.TemporaryDirectory() as tmp:
                tr, te = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
                labels = None if regression else [f"class_{c}" for c in range(k)]
                write_csv(tr, xtr, ytr, labels)
                write_csv(te, xte, yte, labels)
                cmd = [exe, "train", "--data", f"csv:{tr},target=label", "--test", f"csv:{te},target=label",
                       "--layers", f"{x.shape[1]},100,{k}", "--seed", str(seed),
                       "--json", "--quiet"] + a.extra
                r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                de.append(r["test_r2"] if regression else r["test_accuracy"])
                chose.add(r.get("optimizer_chosen", r["optimizer"]))
        s, d = 100 * sum(sk) / len(sk), 100 * sum(de) / len(de)
        diffs.append(d - s)
        kind = "R²" if regression else "acc"
        print(f"{name:20} {len(y):5} {x.shape[1]:3} {k:2}  {s:8.2f} {d:8.2f}  {d - s:+.2f} {kind} {','.join(sorted(chose))}")
    print(f"mean difference descent − sklearn: {sum(diffs) / len(diffs):+.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
