#!/usr/bin/env python3
"""Test accuracy on CSV data: descent versus scikit-learn's MLPClassifier, same split.

For each data set (scikit-learn's built-in ones, no download), writes train.csv and
test.csv (header row, target column `label`), trains MLPClassifier with its defaults
(one hidden layer of 100 ReLU units, Adam 1e-3, batch min(200, n), up to 200 epochs)
behind a StandardScaler, and `descent train` with the same layers on the same files
(nothing else: CSV is standardized by default, the optimizer is `auto`), and prints both
test accuracies.

    python3 bench/sklearn_compare.py [--seeds 3] [--extra ...descent flags]

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


def write_csv(path, x, y, names=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"f{i}" for i in range(x.shape[1])] + ["label"])
        for row, label in zip(x, y):
            w.writerow([repr(float(v)) for v in row] + [names[label] if names else int(label)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    a = ap.parse_args()
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    import warnings
    warnings.filterwarnings("ignore")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "descent-cli"], cwd=root, check=True)
    exe = os.path.join(root, "target", "release", "descent")
    print(f"{'data':20} {'n':>5} {'d':>3} {'k':>2}  {'sklearn':>8} {'descent':>8}  diff")
    diffs = []
    for name, (x, y) in datasets().items():
        k = len(set(y))
        sk, de = [], []
        for seed in range(a.seeds):
            xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
            clf = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))
            clf.fit(xtr, ytr)
            sk.append(clf.score(xte, yte))
            with tempfile.TemporaryDirectory() as tmp:
                tr, te = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
                labels = [f"class_{c}" for c in range(k)]
                write_csv(tr, xtr, ytr, labels)
                write_csv(te, xte, yte, labels)
                cmd = [exe, "train", "--data", f"csv:{tr},target=label", "--test", f"csv:{te},target=label",
                       "--layers", f"{x.shape[1]},100,{k}", "--seed", str(seed),
                       "--json", "--quiet"] + a.extra
                r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                de.append(r["test_accuracy"])
        s, d = 100 * sum(sk) / len(sk), 100 * sum(de) / len(de)
        diffs.append(d - s)
        print(f"{name:20} {len(y):5} {x.shape[1]:3} {k:2}  {s:8.2f} {d:8.2f}  {d - s:+.2f}")
    print(f"mean difference descent − sklearn: {sum(diffs) / len(diffs):+.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
