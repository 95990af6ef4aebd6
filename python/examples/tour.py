"""A short tour of descent from Python, notebook style (run it: python tour.py).

1. Fit a curve with a bound and a robust loss, as with SciPy's curve_fit/least_squares.
2. Minimize a function with SciPy's interface, switching methods by name.
3. Train the same network with five optimizers and compare their loss curves (a figure,
   tour_losses.png, when matplotlib is installed).
"""

import time

import numpy as np

import descent

# --- 1. A curve with a bound and outliers -------------------------------------------------
rng = np.random.default_rng(0)
t = np.linspace(0, 5, 80)
y = 3.0 * np.exp(-0.7 * t) + 0.4 + 0.05 * rng.normal(size=t.size)
y[::9] += 1.5  # outliers


def decay(t, a, k, c):
    return a * np.exp(-k * t) + c


popt, pcov = descent.curve_fit(decay, t, y, p0=[1, 1, 0], bounds=([0, 0, 0], [10, 5, 0.3]))
print("curve_fit, c bounded by 0.3:", np.round(popt, 4), "±", np.round(np.sqrt(np.diag(pcov)), 4))

fit = descent.least_squares(lambda p: decay(t, *p) - y, [1, 1, 0], loss="soft_l1",
                            f_scale=0.1)
print("least_squares with soft_l1 (outliers discounted):", np.round(fit.x, 4), fit.message)

# --- 2. SciPy's minimize, descent's methods -------------------------------------------------


def rosen(x):
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


x0 = np.full(20, -1.0)
for method in ["L-BFGS-B", "BFGS", "CG", "lbfgs:memory=5", "scg", "adam:lr=0.01"]:
    res = descent.minimize(rosen, x0, jac=rosen_grad, method=method,
                           options={"maxiter": 20000})
    print(f"{method:>15}: f = {res.fun:.2e} after {res.nit} iterations, {res.nfev} "
          f"evaluations ({res.termination})")

# --- 3. Five optimizers on one network -----------------------------------------------------
try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError:
    raise SystemExit("part 3 needs scikit-learn (pip install scikit-learn)")

X, y = load_digits(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
curves = {}
for solver in ["adam", "sgd", "lbfgs", "scg", "auto"]:
    clf = descent.MLPClassifier(hidden_layer_sizes=(64,), solver=solver, max_iter=100,
                                learning_rate_init=0.01 if solver == "sgd" else 0.001,
                                random_state=0, tol=0)
    start = time.perf_counter()
    clf.fit(Xtr, ytr)
    seconds = time.perf_counter() - start
    curves[f"{solver} ({clf.solver_})"] = clf.loss_curve_
    print(f"{solver:>6} ({clf.solver_}): test accuracy {clf.score(Xte, yte):.3f}, "
          f"{clf.n_iter_} epochs/iterations, {seconds:.2f} s")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(install matplotlib for the figure)")
else:
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, curve in curves.items():
        ax.semilogy(np.arange(1, len(curve) + 1), curve, label=label)
    ax.set_xlabel("epoch (mini-batch solvers) or iteration (full batch)")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title("digits, 64-64-10: five optimizers")
    ax.legend()
    fig.tight_layout()
    fig.savefig("tour_losses.png", dpi=120)
    print("wrote tour_losses.png")
