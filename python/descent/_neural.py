"""scikit-learn's ``MLPClassifier`` and ``MLPRegressor``, trained by descent.

The estimators follow scikit-learn's conventions (``fit``/``predict``/``score``,
``get_params``/``set_params``, fitted attributes ending in ``_``), so they drop into a
``Pipeline`` or ``GridSearchCV``. What descent adds: ``solver`` is any descent optimizer
that trains networks — ``"auto"`` (descent chooses: Levenberg–Marquardt for small
squared-error networks, full-batch L-BFGS when the data fits one batch, Adam otherwise),
``"adam"``, ``"sgd"`` (Nesterov momentum, as scikit-learn's default SGD), ``"lbfgs"``,
``"lm"``, ``"scg"``, ``"rprop"``, ``"br"``, … (``descent.methods()``); training runs in
Rust with the GIL released; ``save``/``load`` use the CLI's safetensors files and
``to_torch()`` gives the network as a ``torch.nn.Sequential``. Networks compute in f32
(``precision="f32"``, as ``descent train``), and a mini-batch solver steps the network's
own f32 weights (``master_weights=None`` or ``"f32"``; ``"f64"`` keeps f64 master
weights, as ``--master-weights f64``); ``precision="f64"`` computes in f64.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6

    def validate_data(estimator, X="no_validation", y="no_validation", reset=True, **kw):
        return estimator._validate_data(X, y, reset=reset, **kw)


from . import _descent
from ._common import method_info
from ._common import methods as _methods

#: scikit-learn's activation names and descent's.
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def _registry():
    return {m["name"]: m for m in _methods()}  # fresh dicts: callers may not change the cache


class _BaseMLP(BaseEstimator):
    """What the two estimators share: parameters, training, the network's arrays."""

    _loss = None
    #: scikit-learn's loss in units of descent's: the same cross-entropy, but half the
    #: squared error (scikit-learn's regressor minimizes ½·mean((y − ŷ)²)). Losses are
    #: reported, and tol, alpha and the gradient test read, in scikit-learn's units.
    _sk_loss_scale = 1.0

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, precision="f32", threads=1,
                 master_weights=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.precision = precision
        self.threads = threads
        self.master_weights = master_weights

    # --- settings -------------------------------------------------------------------

    def _hidden(self):
        h = self.hidden_layer_sizes
        h = [h] if np.isscalar(h) else list(h)
        if any(int(v) != v or v <= 0 for v in h):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes}.")
        return [int(v) for v in h]

    def _check_params(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"The activation '{self.activation}' is not supported. Supported activations "
                f"are {sorted(ACTIVATIONS)}."
            )
        for name in ("max_iter", "n_iter_no_change", "max_fun"):
            _whole(name, getattr(self, name))
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError(f"learning_rate must be 'constant', 'invscaling' or 'adaptive', "
                             f"got {self.learning_rate!r}.")
        if not (isinstance(self.power_t, (int, float, np.number)) and self.power_t >= 0
                and np.isfinite(self.power_t)):
            raise ValueError(f"power_t must be >= 0 and finite, got {self.power_t!r}.")
        if not isinstance(self.shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False, got {self.shuffle!r}.")
        _whole("threads", self.threads, high=1024)  # descent's ceiling (--threads)
        if not (self.alpha >= 0 and np.isfinite(self.alpha)):
            raise ValueError(f"alpha must be >= 0 and finite, got {self.alpha}.")
        if not (self.learning_rate_init > 0 and np.isfinite(self.learning_rate_init)):
            raise ValueError(f"learning_rate_init must be > 0 and finite, got "
                             f"{self.learning_rate_init}.")
        if self.tol is not None and not (self.tol >= 0 and np.isfinite(self.tol)):
            raise ValueError(f"tol must be >= 0 and finite, got {self.tol}.")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction}."
            )

    def _batch(self, n):
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            return min(200, n)
        try:
            b = _whole("batch_size", self.batch_size)
        except ValueError:
            raise ValueError(f"batch_size must be >= 1 or 'auto', got {self.batch_size}.") \
                from None
        if b > n:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going "
                          "to be clipped", UserWarning)
        return max(1, min(b, n))

    def _solver(self, sizes, n, batch):
        """The descent method spec (with settings) and whether it takes mini-batches."""
        name = str(self.solver)
        if name == "auto":
            name, _ = _descent.choose_optimizer(sizes, ACTIVATIONS[self.activation],
                                                self._loss, n, batch, False)
        elif name == "sgd":
            name = "nesterov" if self.nesterovs_momentum else "momentum"
        registry = _registry()
        base = name.split(":")[0]
        info = registry.get(base) or next(
            (m for m in registry.values() if base in m["aliases"]), None)
        if info is None or not ({"minibatch", "fullbatch"} & set(info["applies_to"])):
            trains = [m["name"] for m in registry.values()
                      if {"minibatch", "fullbatch"} & set(m["applies_to"])]
            raise ValueError(f"solver {self.solver!r}: not a descent method that trains "
                             f"networks; those that do: auto, sgd, {', '.join(trains)}")
        settings = {s for s, _ in info["settings"]}
        extra = []
        # Adam's moments as scikit-learn names them, where they differ from the defaults
        # (the same numbers: Kingma & Ba 2015).
        for key, value, default in (("beta1", self.beta_1, 0.9), ("beta2", self.beta_2, 0.999),
                                    ("eps", self.epsilon, 1e-8)):
            if key in settings and f":{key}=" not in name and value != default:
                extra.append(f"{key}={value}")
        spec = name + "".join(":" + e for e in extra)
        minibatch = "minibatch" in info["applies_to"]
        lr = self.learning_rate_init if ("lr" in settings and ":lr=" not in name) else None
        mom = self.momentum if ("momentum" in settings and ":momentum=" not in name) else None
        decay = None
        if minibatch and self.alpha > 0 and "weight_decay" not in settings:
            decay = float(self.alpha)
        # A full-batch solver minimizes scikit-learn's lbfgs objective, the mean loss and
        # ½·alpha·‖W‖²/n; least-squares solvers fit residuals and take no penalty.
        penalized = not minibatch and "objective" in info["applies_to"]
        if not minibatch and not penalized and self.alpha != 0.0001:
            warnings.warn(f"alpha is not applied by {info['name']}, a least-squares solver "
                          "(br chooses its own regularization; lbfgs, scg, cg take alpha)",
                          UserWarning)
        return spec, minibatch, lr, mom, decay, info["name"], penalized

    def _seed(self):
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    # --- training -------------------------------------------------------------------

    def _train(self, X, targets, epochs, state=None, partial=False):
        n, d = X.shape
        sizes = [d] + self._hidden() + [self._outputs]
        if state is not None and sizes != getattr(self, "_sizes", sizes):
            raise ValueError(f"cannot go on training a network of layers {self._sizes} as "
                             f"one of layers {sizes} (the data's inputs or outputs, or "
                             "hidden_layer_sizes, changed): fit it afresh (warm_start=False)")
        batch = self._batch(n)
        spec, minibatch, lr, mom, decay, base, penalized = self._solver(sizes, n, batch)
        if partial and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True (as "
                             "scikit-learn's: one pass holds out no validation rows)")
        if partial and not minibatch:
            raise ValueError(f"partial_fit needs a mini-batch solver; {base} trains on the "
                             "full batch")
        # A resumed run (warm start, partial_fit) must draw what the saved one drew: its
        # seed is kept (a fresh one from random_state=None was refused on resume).
        seed = getattr(self, "_run_seed", None) if state is not None else None
        if seed is None:
            seed = self._seed()
        kw = dict(lr=lr, momentum=mom, weight_decay=decay, batch_size=batch, epochs=epochs,
                  seed=seed, state=state, precision=self.precision, threads=self.threads,
                  master_weights=self.master_weights,
                  # (scikit-learn's shuffle applies to its stochastic solvers only.)
                  shuffle=bool(self.shuffle) or not minibatch,
                  verbose=self._sk_loss_scale if self.verbose else None)
        kw.update(self._targets_kw(targets))
        # scikit-learn's learning-rate schedules are SGD's (Adam keeps its rate); the count
        # of epochs without improvement, and the samples seen (t_), go on from the last
        # call when training goes on (warm start, partial_fit), as scikit-learn's do.
        rate = str(self.learning_rate) if str(self.solver) == "sgd" else "constant"
        kw.update(learning_rate=rate, power_t=float(self.power_t),
                  samples_before=int(getattr(self, "t_", 0)) if state is not None else 0)
        if state is not None:
            # A warm-start fit starts a new optimizer on the weights (its moments,
            # velocities and rate), as scikit-learn's; partial_fit goes on with it.
            kw["fresh_optimizer"] = not partial
            watched = getattr(self, "_no_improvement", None)
            if watched is not None and len(watched) == 3 and \
                    watched[0] == (self.early_stopping and not partial):
                kw["no_improvement"] = watched[1:]
        adaptive = rate == "adaptive" and self.tol is not None
        if self.early_stopping and not partial:
            stratify = targets if self._loss == "cross-entropy" else None
            try:
                idx_t, idx_v = train_test_split(
                    np.arange(n), test_size=self.validation_fraction, random_state=seed,
                    stratify=stratify)
            except ValueError:
                idx_t, idx_v = train_test_split(
                    np.arange(n), test_size=self.validation_fraction, random_state=seed)
            tv, vv = self._targets_kw(targets[idx_t]), self._targets_kw(targets[idx_v], "val_")
            kw.update(tv)
            kw.update(vv)
            # scikit-learn's early stopping: on the validation score (accuracy, R²), which
            # counts as not improved when it does not beat the best by tol; more than
            # n_iter_no_change such epochs in a row stop the run (or, with the adaptive
            # rate, divide the rate). The library keeps the best-scoring weights and
            # restores them (its own patience, on the same score, never runs out first).
            # (Full-batch solvers, which scikit-learn's early stopping leaves out, stop
            # after n_iter_no_change epochs without a better score.)
            kw["monitor_score"] = True
            if self.tol is not None and minibatch:
                kw.update(patience=2**31, tol=float(self.tol),
                          n_iter_no_change=int(self.n_iter_no_change))
            else:
                kw["patience"] = int(self.n_iter_no_change)
            Xt, Xv = X[idx_t], X[idx_v]
            kw["val_x"] = np.ascontiguousarray(Xv)
            X = Xt
            kw["batch_size"] = self._batch(len(idx_t))
        elif (not partial or adaptive) and self.tol is not None and minibatch:
            kw["tol"] = float(self.tol) / self._sk_loss_scale
            kw["n_iter_no_change"] = int(self.n_iter_no_change)
        if not minibatch:
            kw["max_evals"] = int(self.max_fun)
            # scikit-learn's lbfgs: tol is the gradient's ∞-norm at which it stops (gtol),
            # alpha the L2 penalty over the rows trained on.
            # (descent's objective is scikit-learn's divided by _sk_loss_scale.)
            if self.tol is not None:
                kw["min_grad"] = float(self.tol) / self._sk_loss_scale
            if penalized and self.alpha > 0:
                kw["l2"] = float(self.alpha) / len(X) / self._sk_loss_scale
        out = _descent.train_network(
            np.ascontiguousarray(X, dtype=float), sizes, ACTIVATIONS[self.activation],
            self._loss, spec, **kw)
        self._state = out["state"]
        self._run_seed = seed
        self._set_network(sizes, out["params"])
        self.solver_ = spec
        self.loss_curve_ = [self._sk_loss_scale * v for v in out["loss_curve"]]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else np.nan
        # Epochs of this call (scikit-learn's n_iter_: a warm-start fit or a partial_fit
        # counts its own; loss_curve_ and t_ go on accumulating).
        before = getattr(self, "_epochs", 0) if state is not None else 0
        self._epochs = int(out["epochs"])
        self.n_iter_ = self._epochs - before
        # Samples seen (scikit-learn's t_): one more pass for partial_fit, all epochs for fit.
        seen = getattr(self, "t_", 0) if state is not None else 0
        self.t_ = seen + (len(X) if partial else len(X) * self.n_iter_)
        self.stop_ = out["stop"]
        # The count of epochs without improvement and the best value, with what they
        # watched (the validation score with early stopping, else the training loss).
        self._no_improvement = (bool(self.early_stopping and not partial),
                                *out["no_improvement"])
        # The rate each epoch ended with (learning_rate_init times the schedule's factor).
        self._learning_rates = [lr * f for f in out["lr_scale"]] if lr is not None else None
        if self.early_stopping and not partial:
            self.validation_scores_ = list(out["val_score"])
            self.best_validation_score_ = max(self.validation_scores_, default=np.nan)
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
        if out["stop"] == "completed" and minibatch and not partial and \
                self.n_iter_ >= self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning)
        if not minibatch and not partial and out["stop"] in ("completed", "max_evaluations"):
            limit = ("ITERATIONS", "max_iter") if out["stop"] == "completed" else \
                ("F,G EVALUATIONS", "max_fun")
            warnings.warn(
                f"{base} failed to converge after {self.n_iter_} iteration(s): STOP: TOTAL NO. "
                f"OF {limit[0]} REACHED LIMIT. Increase {limit[1]} or scale the data.",
                ConvergenceWarning)
        if out["stop"] == "diverged":
            warnings.warn("Training diverged (the loss became NaN or infinite); the last "
                          "finite weights are kept.", ConvergenceWarning)
        return self

    def _set_network(self, sizes, params):
        self._sizes = list(sizes)
        self._params = np.asarray(params, dtype=float)
        self.coefs_, self.intercepts_ = [], []
        off = 0
        for a, b in zip(sizes[:-1], sizes[1:]):
            self.coefs_.append(self._params[off:off + a * b].reshape(a, b).copy())
            off += a * b
            self.intercepts_.append(self._params[off:off + b].copy())
            off += b
        self.n_layers_ = len(sizes)
        self.n_outputs_ = sizes[-1]
        self.out_activation_ = "softmax" if self._loss == "cross-entropy" else "identity"

    def _flat_params(self):
        """coefs_ and intercepts_ in descent's order: each layer's weights, then biases."""
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in
                               zip(self.coefs_, self.intercepts_)])

    def _answer(self, X):
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        params = self._flat_params()
        return _descent.network_outputs(self._sizes, ACTIVATIONS[self.activation], self._loss,
                                        params, np.ascontiguousarray(X, dtype=float))

    def _warm(self):
        return self.warm_start and hasattr(self, "_state")

    # --- files and other tools ---------------------------------------------------------

    def save(self, path):
        """Saves the network as descent's CLI does (safetensors: ``layers.L.weight``
        n_in×n_out, ``layers.L.bias``; architecture and class names in the metadata), so
        that ``descent predict --model PATH`` reads it."""
        check_is_fitted(self, "coefs_")
        classes, kind = None, None
        if hasattr(self, "classes_"):
            classes = [str(c) for c in self.classes_]
            kind = _label_type(self.classes_)
        params = self._flat_params()
        _descent.save_network(str(path), self._sizes, ACTIVATIONS[self.activation],
                              self._loss, params, "f64", classes, kind)

    @classmethod
    def load(cls, path):
        """An estimator from a model file (``save`` or ``descent train --save``). A model
        trained by the CLI on standardized data has the standardization folded into its
        first (and, for regression, last) layer, so it takes the raw features."""
        m = _descent.load_network(str(path))
        acts = set(m["activations"])
        if len(acts) > 1:
            raise ValueError(f"{path}: layers with different activations {sorted(acts)}")
        act = next(iter(acts), "relu")
        names = {v: k for k, v in ACTIVATIONS.items()}
        if act not in names:
            raise ValueError(f"{path}: activation {act!r} has no scikit-learn name")
        if (m["loss"] == "cross-entropy") != (cls is MLPClassifier):
            raise ValueError(f"{path}: a {m['loss']} network is not a {cls.__name__}")
        sizes = list(m["sizes"])
        est = cls(hidden_layer_sizes=tuple(sizes[1:-1]), activation=names[act])
        est._set_network(sizes, m["params"])
        if m.get("mean") is not None:  # fold x' = (x - mean)/std into the first layer
            mean, std = np.asarray(m["mean"]), np.asarray(m["std"])
            w0 = est.coefs_[0] / std[:, None]
            est.intercepts_[0] = est.intercepts_[0] - mean @ w0
            est.coefs_[0] = w0
            if m.get("target") is not None:  # and y = y'·sd + m into the last
                tm, ts = (np.asarray(v) for v in m["target"])
                est.coefs_[-1] = est.coefs_[-1] * ts[None, :]
                est.intercepts_[-1] = est.intercepts_[-1] * ts + tm
        est.n_features_in_ = sizes[0]
        if cls is MLPClassifier:
            classes = m["classes"] or [str(i) for i in range(sizes[-1])]
            est.classes_ = _typed_labels(classes, m.get("class_type"))
            est._label_encoder = LabelEncoder().fit(est.classes_)
        est.n_iter_ = 0
        est.loss_curve_ = []
        # warm_start and partial_fit go on from the file's weights (the file holds no
        # optimizer state: the solver's starts fresh).
        est._outputs = sizes[-1]
        est._state = _descent.fresh_state(est._flat_params())
        return est

    def to_torch(self):
        """The network as a ``torch.nn.Sequential`` of ``Linear`` layers and activations
        with these weights (float32); its outputs are the pre-activations of the output
        layer (logits for a classifier)."""
        import torch
        from torch import nn

        check_is_fitted(self, "coefs_")
        act = {"identity": nn.Identity, "logistic": nn.Sigmoid, "tanh": nn.Tanh,
               "relu": nn.ReLU}[self.activation]
        layers = []
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_)):
            lin = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i + 1 < len(self.coefs_):
                layers.append(act())
        return nn.Sequential(*layers)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _whole(name, value, low=1, high=2**53):
    """An integer setting (an integral float too), or a ValueError in one line — not
    numpy's or Python's overflow error for inf, NaN or a number no counter holds."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v == int(v) and low <= v <= high):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}.")
    return int(v)


def _label_type(classes):
    """How class labels are written back: the type they had (a file keeps names only)."""
    kind = np.asarray(classes).dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "int"
    if kind == "f":
        return "float"
    if kind == "O" and all(isinstance(c, (bool, np.bool_)) for c in classes):
        return "bool"
    if kind == "O" and all(isinstance(c, (int, np.integer)) for c in classes):
        return "int"
    return "str"


def _typed_labels(names, kind):
    """Class names from a file as the labels they were: by the saved type, or, for a
    file without one (the CLI's), integers where every name is one written plainly
    ('7', not '07' or '7.0'), names otherwise."""
    if kind == "bool":
        return np.array([n == "True" for n in names])
    if kind == "int":
        return np.array([int(n) for n in names])
    if kind == "float":
        return np.array([float(n) for n in names])
    if kind is None:
        try:
            ints = [int(n) for n in names]
        except ValueError:
            ints = None
        if ints is not None and all(str(i) == n for i, n in zip(ints, names)):
            return np.array(ints)
    return np.array(names)


def _minibatch_solver(est):
    # By the method's name or alias, whatever settings follow it (`adam:lr=0.01`).
    try:
        name = est.solver.split(":")[0]
        info = method_info({"sgd": "nesterov"}.get(name, name)) or {}
        return "minibatch" in info.get("applies_to", [])
    except Exception:  # noqa: BLE001 - availability checks must not raise
        return False


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier (softmax outputs, cross-entropy), scikit-learn's
    interface, descent's optimizers. See the module documentation."""

    _loss = "cross-entropy"

    def _targets_kw(self, y, prefix=""):
        return {prefix + "labels": np.ascontiguousarray(y, dtype=np.int64),
                "classes": self._outputs}

    def _encode(self, y, reset, classes=None):
        check_classification_targets(y)
        if reset:
            # Sorted and distinct, as scikit-learn keeps them: the label encoder numbers the
            # classes in sorted order, and the outputs must follow `classes_`.
            self.classes_ = unique_labels(y) if classes is None else np.unique(classes)
            self._label_encoder = LabelEncoder().fit(self.classes_)
            if len(self.classes_) < 2:
                raise ValueError(
                    "MLPClassifier needs samples of at least 2 classes in the data, but the "
                    f"data contains only one class: {self.classes_[0]}")
        self._outputs = len(self.classes_)
        if not set(np.unique(y)) <= set(self.classes_):
            raise ValueError(f"`y` has classes not in `self.classes_`: "
                             f"{sorted(set(np.unique(y)) - set(self.classes_))}")
        return self._label_encoder.transform(y)

    def fit(self, X, y):
        """Trains on ``X`` (n×d) and labels ``y``; returns ``self``."""
        self._check_params()
        warm = self._warm()
        X, y = validate_data(self, X, y, reset=not warm, dtype=(np.float64, np.float32))
        yi = self._encode(y, reset=not warm)
        state = self._state if warm else None
        return self._train(X, yi, int(self.max_iter), state=state)

    @available_if(_minibatch_solver)
    def partial_fit(self, X, y, classes=None):
        """One pass over ``(X, y)`` from the current weights and optimizer state
        (``classes`` is required on the first call)."""
        first = not hasattr(self, "_state")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self._check_params()
        X, y = validate_data(self, X, y, reset=first, dtype=(np.float64, np.float32))
        yi = self._encode(y, reset=first, classes=classes)
        return self._train(X, yi, 1, state=None if first else self._state, partial=True)

    def predict_proba(self, X):
        """Class probabilities (n×classes), in the order of ``classes_``."""
        return self._answer(X)

    def predict_log_proba(self, X):
        """Logarithms of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row."""
        check_is_fitted(self, "coefs_")
        return self.classes_[np.argmax(self._answer(X), axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy."""
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor (linear outputs, squared error), scikit-learn's
    interface, descent's optimizers. See the module documentation."""

    _loss = "mse"
    _sk_loss_scale = 0.5

    def _targets_kw(self, y, prefix=""):
        return {prefix + "values": np.ascontiguousarray(y.reshape(len(y), -1), dtype=float)}

    def fit(self, X, y):
        """Trains on ``X`` (n×d) and targets ``y`` (n or n×k); returns ``self``."""
        self._check_params()
        warm = self._warm()
        X, y = validate_data(self, X, y, reset=not warm, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32))
        y = np.asarray(y, dtype=float)
        self._outputs = 1 if y.ndim == 1 else y.shape[1]
        return self._train(X, y, int(self.max_iter), state=self._state if warm else None)

    @available_if(_minibatch_solver)
    def partial_fit(self, X, y):
        """One pass over ``(X, y)`` from the current weights and optimizer state."""
        first = not hasattr(self, "_state")
        self._check_params()
        X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32))
        y = np.asarray(y, dtype=float)
        if first:
            self._outputs = 1 if y.ndim == 1 else y.shape[1]
        return self._train(X, y, 1, state=None if first else self._state, partial=True)

    def predict(self, X):
        """Predicted values (n, or n×k for several targets)."""
        out = self._answer(X)
        # One output is returned flat, whatever y's shape was (as scikit-learn's).
        return out.ravel() if out.shape[1] == 1 else out

    def score(self, X, y, sample_weight=None):
        """R² of the prediction."""
        return r2_score(y, self.predict(X), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
