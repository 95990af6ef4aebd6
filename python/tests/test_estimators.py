"""MLPClassifier and MLPRegressor: scikit-learn's checks, accuracy, files, PyTorch."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import descent
from descent import MLPClassifier, MLPRegressor

# Skipped checks, with their reasons: `check_array_api_input` needs SCIPY_ARRAY_API and
# array-api-strict, and the estimators compute in Rust on NumPy arrays (no array API);
# `check_*_data_not_an_array` needs pandas, which runs when pandas is installed.


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_scikit_learn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs", "scg", "auto"])
def test_digits_accuracy(digits, solver):
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(hidden_layer_sizes=(64,), solver=solver, max_iter=200,
                        random_state=0, learning_rate_init=0.01 if solver == "sgd" else 0.001)
    clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.94, (solver, clf.score(Xte, yte), clf.stop_)
    assert clf.n_iter_ >= 1 and len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    np.testing.assert_allclose(clf.predict_proba(Xte).sum(axis=1), 1, rtol=1e-12)


def test_regressor_with_levenberg_marquardt():
    X, y = make_regression(n_samples=200, n_features=3, noise=1.0, random_state=0)
    y = y / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(10,), activation="tanh", solver="lm",
                       max_iter=100, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.99
    assert reg.solver_ == "lm"


def test_auto_says_what_it_chose():
    X, y = make_regression(n_samples=100, n_features=2, noise=0.1, random_state=1)
    reg = MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", solver="auto",
                       random_state=0).fit(X, y / y.std())
    assert reg.solver_ == "lm"  # small squared-error network: MATLAB's trainlm


def test_same_seed_same_weights_and_partial_fit(digits):
    Xtr, _, ytr, _ = digits
    a = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=3).fit(Xtr, ytr)
    b = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=3).fit(Xtr, ytr)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)
    p = MLPClassifier(hidden_layer_sizes=(16,), random_state=3)
    losses = []
    for _ in range(5):
        p.partial_fit(Xtr, ytr, classes=np.arange(10))
        losses.append(p.loss_)
    assert losses[-1] < losses[0]
    # As scikit-learn's: n_iter_ counts this call's epochs; loss_curve_ and t_ accumulate.
    assert p.n_iter_ == 1 and len(p.loss_curve_) == 5 and p.t_ == 5 * len(Xtr)


def test_pipeline_gridsearch_and_pickle(digits):
    Xtr, Xte, ytr, yte = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__solver": ["adam", "lbfgs"]}, cv=2)
    grid.fit(Xtr[:400], ytr[:400])
    assert grid.best_score_ > 0.8
    clone = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(clone.predict(Xte), grid.best_estimator_.predict(Xte))


def test_save_and_load_as_the_cli_does(digits, tmp_path):
    Xtr, Xte, ytr, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(20,), max_iter=10, random_state=0).fit(Xtr, ytr)
    path = tmp_path / "digits.safetensors"
    clf.save(path)
    back = MLPClassifier.load(path)
    np.testing.assert_allclose(back.predict_proba(Xte), clf.predict_proba(Xte), rtol=1e-12)
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    with pytest.raises(ValueError, match="not a MLPRegressor"):
        MLPRegressor.load(path)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_the_regressor_s_loss_is_scikit_learn_s_half_squared_error(solver):
    # scikit-learn's regressor minimizes ½·mean((y − ŷ)²) + ½·alpha·‖W‖²/n: loss_ and
    # loss_curve_ are in those units and alpha weighs against that half (descent's own
    # squared error is the whole mean: loss_ was twice scikit-learn's, and alpha acted at
    # half its strength — at alpha = 10 the weights were scikit-learn's at alpha = 5).
    from sklearn.neural_network import MLPRegressor as SkMLP

    X, y = make_regression(80, 3, noise=5, random_state=0)
    y = y / 50
    alpha = 10.0
    kw = dict(hidden_layer_sizes=(5,), activation="tanh", solver=solver, alpha=alpha,
              random_state=0)
    ours = MLPRegressor(precision="f64", max_iter=3000 if solver == "lbfgs" else 20,
                        tol=1e-10 if solver == "lbfgs" else 1e-4, **kw).fit(X, y)

    def objective(est):
        penalty = sum((w ** 2).sum() for w in est.coefs_)
        return 0.5 * np.mean((est.predict(X) - y) ** 2) + 0.5 * alpha * penalty / len(X)

    if solver == "lbfgs":
        np.testing.assert_allclose(ours.loss_, objective(ours), rtol=1e-10)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = SkMLP(max_iter=3000, tol=1e-10, **kw).fit(X, y)
        np.testing.assert_allclose(objective(ours), objective(theirs), rtol=2e-3)
        np.testing.assert_allclose(sum((w ** 2).sum() for w in ours.coefs_),
                                   sum((w ** 2).sum() for w in theirs.coefs_), rtol=2e-2)
    else:
        # A mini-batch epoch's loss is the mean over its batches, taken as they trained:
        # near the end it is within a few per cent of the loss at the final weights.
        data_loss = 0.5 * np.mean((ours.predict(X) - y) ** 2)
        assert abs(ours.loss_ - data_loss) < 0.2 * data_loss, (ours.loss_, data_loss)


def test_a_loaded_model_is_fine_tuned_from_its_weights(digits, tmp_path):
    # warm_start and partial_fit on a loaded model go on from the file's weights (they
    # started from fresh ones: one epoch of fine-tuning lost what the file held).
    Xtr, Xte, ytr, yte = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=100, random_state=0).fit(Xtr, ytr)
    trained = clf.score(Xte, yte)
    assert trained > 0.9
    clf.save(tmp_path / "m.safetensors")
    for tune in ("warm_start", "partial_fit"):
        back = MLPClassifier.load(tmp_path / "m.safetensors")
        back.set_params(max_iter=1, random_state=0, warm_start=True)
        if tune == "warm_start":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # one epoch: not converged
                back.fit(Xtr, ytr)
        else:
            back.partial_fit(Xtr, ytr)
        fresh = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fresh.fit(Xtr, ytr)
        # One more epoch keeps what a hundred taught; one from scratch does not.
        assert back.score(Xte, yte) > trained - 0.03, tune
        assert fresh.score(Xte, yte) < trained - 0.1


@pytest.mark.parametrize("labels", [
    ["01", "02", "10"],            # strings that look like numbers stay strings
    [False, True],
    [-3, 7, 12],
    [1.0, 2.0, 4.0],               # floats, as scikit-learn takes them
    ["cat", "dog", "7"],
])
def test_loaded_labels_are_the_labels_it_was_fitted_on(tmp_path, labels):
    # A file keeps class names as text: the labels' type is saved beside them, so a
    # loaded model predicts what the fitted one did ('01' once came back as 1, and
    # True as 'True': its predictions then matched no label).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.array(labels, dtype=object if isinstance(labels[0], str) else None)[
        np.arange(60) % len(labels)]
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    clf.save(tmp_path / "m.safetensors")
    back = MLPClassifier.load(tmp_path / "m.safetensors")
    assert back.classes_.dtype.kind == clf.classes_.dtype.kind or (
        back.classes_.dtype.kind in "OU" and clf.classes_.dtype.kind in "OU")
    assert list(back.predict(X)) == list(clf.predict(X))
    assert back.score(X, y) == clf.score(X, y)


@pytest.mark.parametrize("alpha", [1e-4, 1.0, 10.0])
def test_full_batch_solvers_minimize_scikit_learn_s_penalized_objective(alpha):
    # scikit-learn's lbfgs minimizes the mean log-loss plus ½·alpha·‖W‖²/n (weights,
    # not biases) and stops where the gradient's ∞-norm reaches tol; descent's full-batch
    # solvers do the same (alpha was ignored by them before): loss_ is that objective at
    # the weights returned, and it reaches scikit-learn's minimum.
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier as SkMLP

    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]

    def objective(est):
        penalty = sum((w ** 2).sum() for w in est.coefs_)
        return log_loss(y, est.predict_proba(X), labels=est.classes_) + \
            0.5 * alpha * penalty / len(X)

    ours = MLPClassifier((10,), solver="lbfgs", alpha=alpha, max_iter=2000,
                         precision="f64", random_state=0).fit(X, y)
    assert ours.stop_ == "converged"
    np.testing.assert_allclose(ours.loss_, objective(ours), rtol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkMLP((10,), solver="lbfgs", alpha=alpha, max_iter=2000,
                       random_state=0).fit(X, y)
    if alpha >= 10:  # a strong penalty leaves one minimum up to the hidden units' order
        np.testing.assert_allclose(objective(ours), objective(theirs), rtol=2e-3)
        np.testing.assert_allclose(sum((w ** 2).sum() for w in ours.coefs_),
                                   sum((w ** 2).sum() for w in theirs.coefs_), rtol=2e-2)
    # Least-squares solvers take no penalty, and say so when one is asked for.
    with pytest.warns(UserWarning, match="alpha is not applied by lm"):
        MLPRegressor((3,), solver="lm", alpha=1.0, max_iter=3).fit(X[:50], y[:50])


def test_to_torch_gives_the_same_outputs(digits):
    torch = pytest.importorskip("torch")
    Xtr, Xte, ytr, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(20, 12), activation="tanh", max_iter=5,
                        random_state=0).fit(Xtr, ytr)
    net = clf.to_torch().double()
    with torch.no_grad():
        p = torch.softmax(net(torch.from_numpy(Xte)), dim=1).numpy()
    np.testing.assert_allclose(p, clf.predict_proba(Xte), rtol=1e-6, atol=1e-9)


def test_own_f32_weights_or_f64_master_weights(digits):
    # As `descent train --master-weights`: the default steps the network's own f32
    # weights, "f64" keeps f64 master weights; both learn, and they are different runs.
    # (alpha=0: plain Adam, no composed decay.)
    Xtr, Xte, ytr, yte = digits
    fits = {
        mw: MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0, alpha=0.0,
                          master_weights=mw).fit(Xtr, ytr)
        for mw in (None, "f64")
    }
    for mw, clf in fits.items():
        assert clf.score(Xte, yte) > 0.8, mw
    assert fits[None].loss_curve_ != fits["f64"].loss_curve_
    # Own weights are f32 values, with the composed decay of alpha > 0 too.
    decayed = MLPClassifier(hidden_layer_sizes=(32,), max_iter=5, random_state=0,
                            alpha=1e-3).fit(Xtr, ytr)
    for w in fits[None].coefs_ + decayed.coefs_:
        np.testing.assert_array_equal(w, w.astype(np.float32).astype(np.float64))
    with pytest.raises(ValueError, match="master_weights"):
        MLPClassifier(precision="f64", master_weights="f32", max_iter=2).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="master_weights"):
        MLPClassifier(master_weights="f16", max_iter=2).fit(Xtr, ytr)


def test_bad_settings_are_clear_errors(digits):
    Xtr, _, ytr, _ = digits
    with pytest.raises(ValueError, match="not a descent method that trains networks"):
        MLPClassifier(solver="trust-exact").fit(Xtr, ytr)
    with pytest.raises(ValueError, match="activation"):
        MLPClassifier(activation="swish").fit(Xtr, ytr)
    # Settings no run can have are ValueErrors naming them (inf, NaN and 1e30 gave
    # OverflowError or numpy's messages, or reached Rust as a cast).
    for name, value in [("max_iter", np.inf), ("max_iter", np.nan), ("max_iter", 1e30),
                        ("max_iter", 2.5), ("n_iter_no_change", 0), ("batch_size", np.inf),
                        ("batch_size", "big"), ("threads", 0), ("threads", 10**6),
                        ("alpha", np.nan), ("alpha", np.inf), ("learning_rate_init", np.nan),
                        ("tol", np.nan)]:
        with pytest.raises(ValueError, match=name):
            MLPClassifier(**{"max_iter": 2, name: value}).fit(Xtr, ytr)
    # As scikit-learn's: partial_fit exists only for mini-batch solvers.
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPRegressor(solver="adam"), "partial_fit")


def test_online_learning_with_the_default_random_state(digits):
    # random_state=None draws a seed once per run; a resumed run (partial_fit, warm start)
    # keeps it (a fresh draw was refused as another run's seed).
    Xtr, Xte, ytr, yte = digits
    p = MLPClassifier(hidden_layer_sizes=(16,))
    for _ in range(3):
        p.partial_fit(Xtr, ytr, classes=np.arange(10))
    assert p.n_iter_ == 1 and len(p.loss_curve_) == 3
    w = MLPClassifier(hidden_layer_sizes=(16,), warm_start=True, max_iter=3).fit(Xtr, ytr)
    first = w.loss_
    w.fit(Xtr, ytr)
    # (It counted 6: scikit-learn's n_iter_ is the call's, its loss_curve_ the run's.)
    assert w.n_iter_ == 3 and len(w.loss_curve_) == 6 and w.t_ == 6 * len(Xtr)
    assert w.loss_ < first


def test_partial_fit_classes_in_any_order_are_kept_sorted(digits):
    # The labels are encoded in sorted order: classes_ must follow it (given as [9, 0, 1,
    # …, 8] and kept so, the outputs were read against permuted names).
    Xtr, Xte, ytr, yte = digits
    fits = []
    for order in (np.roll(np.arange(10), 1), np.arange(10)):
        p = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
        for _ in range(3):
            p.partial_fit(Xtr, ytr, classes=order)
        np.testing.assert_array_equal(p.classes_, np.arange(10))
        fits.append(p.predict(Xte))
    np.testing.assert_array_equal(fits[0], fits[1])


def test_partial_fit_for_solvers_named_with_settings_or_aliases():
    assert hasattr(MLPClassifier(solver="adam:lr=0.01"), "partial_fit")
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")
    assert not hasattr(MLPClassifier(solver="lbfgs:memory=5"), "partial_fit")


def test_adam_refuses_a_zero_epsilon(digits):
    # 0/√0 for a weight whose gradient has been 0 (scikit-learn refuses it too).
    Xtr, _, ytr, _ = digits
    with pytest.raises(ValueError, match="eps"):
        MLPClassifier(epsilon=0.0, max_iter=2).fit(Xtr, ytr)


def test_one_output_is_predicted_flat_whatever_the_shape_of_y():
    X, y = make_regression(n_samples=60, n_features=3, noise=0.1, random_state=0)
    y = (y / y.std()).reshape(-1, 1)
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (60,)  # as scikit-learn's


def _sklearn_mlp(**kw):
    from sklearn.neural_network import MLPClassifier as SkMLP
    return SkMLP(**kw)


def _quiet_fit(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few epochs: not converged
        return est.fit(*args)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_adaptive_rate_divides_by_five_and_stops_where_scikit_learn_does(digits,
                                                                         early_stopping):
    # With a tol no epoch can beat, every epoch after the first counts as no improvement:
    # scikit-learn divides the rate by 5 each time the count passes n_iter_no_change and
    # stops once it is at most 1e-6. Same settings, same epochs, same rates.
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive",
              learning_rate_init=0.01, tol=1e9, n_iter_no_change=2, max_iter=60,
              random_state=0, early_stopping=early_stopping)
    ours = _quiet_fit(MLPClassifier(**kw), Xtr, ytr)
    theirs = _quiet_fit(_sklearn_mlp(**kw), Xtr, ytr)
    assert ours.n_iter_ == theirs.n_iter_ < 60
    np.testing.assert_allclose(ours._learning_rates[-1], theirs._optimizer.learning_rate,
                               rtol=1e-12)
    assert ours.stop_ == "no_improvement"
    # Adam keeps its rate, as scikit-learn's (the schedules are SGD's).
    adam = _quiet_fit(MLPClassifier(**{**kw, "solver": "adam", "max_iter": 8}), Xtr, ytr)
    assert set(adam._learning_rates) == {0.01}


def test_adaptive_rate_goes_on_across_partial_fit_calls(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive",
              learning_rate_init=0.01, tol=1e9, n_iter_no_change=1, random_state=0)
    ours, theirs = MLPClassifier(**kw), _sklearn_mlp(**kw)
    for _ in range(7):
        ours.partial_fit(Xtr, ytr, classes=np.arange(10))
        theirs.partial_fit(Xtr, ytr, classes=np.arange(10))
        np.testing.assert_allclose(ours._learning_rates[-1], theirs._optimizer.learning_rate,
                                   rtol=1e-12)
    assert theirs._optimizer.learning_rate < 0.01 / 5  # (it was divided, twice or more)


def test_inverse_scaling_rate_is_scikit_learn_s(digits):
    # ρ = ρ₀/(t + 1)^power_t after each epoch, t the samples seen so far.
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling",
              power_t=0.25, learning_rate_init=0.1, max_iter=4, n_iter_no_change=100,
              random_state=0)
    ours = _quiet_fit(MLPClassifier(**kw), Xtr, ytr)
    theirs = _quiet_fit(_sklearn_mlp(**kw), Xtr, ytr)
    n = len(Xtr)
    np.testing.assert_allclose(ours._learning_rates,
                               [0.1 / (e * n + 1) ** 0.25 for e in range(1, 5)], rtol=1e-12)
    np.testing.assert_allclose(ours._learning_rates[-1], theirs._optimizer.learning_rate,
                               rtol=1e-12)
    # A warm start goes on counting the samples seen.
    ours.set_params(warm_start=True, max_iter=2)
    _quiet_fit(ours, Xtr, ytr)
    np.testing.assert_allclose(ours._learning_rates[-1], 0.1 / (6 * n + 1) ** 0.25,
                               rtol=1e-12)


def test_shuffle_false_keeps_the_rows_order(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", batch_size=50, max_iter=2,
              random_state=0)
    kept = _quiet_fit(MLPClassifier(shuffle=False, **kw), Xtr, ytr).coefs_[0]
    shuffled = _quiet_fit(MLPClassifier(**kw), Xtr, ytr).coefs_[0]
    assert not np.array_equal(kept, shuffled)
    # In order, the batches of the rows reversed are another run.
    reversed_ = _quiet_fit(MLPClassifier(shuffle=False, **kw), Xtr[::-1], ytr[::-1])
    assert not np.array_equal(kept, reversed_.coefs_[0])
    # Between partial_fit calls (at an epoch's end) the setting may change.
    p = MLPClassifier(hidden_layer_sizes=(8,), shuffle=False, random_state=0)
    p.partial_fit(Xtr, ytr, classes=np.arange(10))
    p.set_params(shuffle=True).partial_fit(Xtr, ytr)
    assert len(p.loss_curve_) == 2
    with pytest.raises(ValueError, match="shuffle"):
        MLPClassifier(shuffle="yes", max_iter=2).fit(Xtr, ytr)
    # A full-batch solver takes every row at once: shuffle does not apply (scikit-learn
    # ignores it there too).
    full = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5, random_state=0)
    a = _quiet_fit(full, Xtr, ytr).coefs_[0]
    np.testing.assert_array_equal(a, _quiet_fit(full.set_params(shuffle=False), Xtr, ytr).coefs_[0])


def test_max_fun_bounds_the_evaluations_of_full_batch_solvers(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_fun=6, random_state=0)
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS"):
        ours = MLPClassifier(**kw).fit(Xtr, ytr)
    assert ours.stop_ == "max_evaluations" and ours.n_iter_ <= 6
    with pytest.warns(ConvergenceWarning, match="ITERATIONS"):
        MLPClassifier(**{**kw, "max_fun": 15000, "max_iter": 3}).fit(Xtr, ytr)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(Xtr, ytr, classes=np.arange(10))
    for name, value in [("max_fun", 0), ("power_t", -1.0), ("learning_rate", "optimal")]:
        with pytest.raises(ValueError, match=name):
            MLPClassifier(**{"max_iter": 2, name: value}).fit(Xtr, ytr)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_counts_the_validation_score_as_scikit_learn_does(digits, solver):
    # With a tol no score can beat, scikit-learn stops after n_iter_no_change + 2 epochs
    # (the first sets the best); descent stops at the same epoch, and keeps the weights
    # of the best validation score.
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(16,), solver=solver, early_stopping=True, tol=1e9,
              n_iter_no_change=4, max_iter=50, random_state=0)
    ours = _quiet_fit(MLPClassifier(**kw), Xtr, ytr)
    theirs = _quiet_fit(_sklearn_mlp(**kw), Xtr, ytr)
    assert ours.n_iter_ == theirs.n_iter_ == 6
    # At a tol any gain beats, it trains on while the score improves.
    patient = _quiet_fit(MLPClassifier(**{**kw, "tol": 0.0}), Xtr, ytr)
    assert patient.n_iter_ > 6


def test_verbose_prints_each_epoch_as_scikit_learn_does(digits, capsys):
    Xtr, _, ytr, _ = digits
    est = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, verbose=True,
                                   early_stopping=True, random_state=0), Xtr, ytr)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[::2]] == \
        [f"Iteration {i}" for i in range(1, 4)]
    assert float(lines[0].split("= ")[1]) == pytest.approx(est.loss_curve_[0], rel=1e-7)
    assert lines[1].startswith("Validation score: ")
    _quiet_fit(MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0), Xtr, ytr)
    assert capsys.readouterr().out == ""


def _validation_split(est, X, y, stratify):
    """The rows an early-stopping fit held out (its split, drawn from its run's seed)."""
    _, idx_v = train_test_split(np.arange(len(X)), test_size=est.validation_fraction,
                                random_state=est._run_seed,
                                stratify=y if stratify else None)
    return X[idx_v], y[idx_v]


def test_early_stopping_keeps_the_best_scoring_weights(digits):
    # The weights returned score, on the held-out rows, the best validation score; for a
    # regressor of several outputs the score is scikit-learn's R² (each output's, averaged).
    Xtr, _, ytr, _ = digits
    clf = _quiet_fit(MLPClassifier(hidden_layer_sizes=(16,), early_stopping=True,
                                   n_iter_no_change=3, max_iter=40, random_state=0), Xtr, ytr)
    Xv, yv = _validation_split(clf, Xtr, ytr, stratify=True)
    assert clf.score(Xv, yv) == clf.best_validation_score_
    assert clf.best_validation_score_ > clf.validation_scores_[-1] or \
        clf.n_iter_ == 40  # (it stopped after epochs that were not the best)
    X, y = make_regression(n_samples=300, n_features=4, n_targets=2, noise=5.0,
                           random_state=0)
    y = y / y.std(axis=0) + np.array([0.0, 10.0])  # outputs about different means
    reg = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), early_stopping=True, max_iter=30,
                                  learning_rate_init=0.01, random_state=0), X, y)
    Xv, yv = _validation_split(reg, X, y, stratify=False)
    # (Validated in the network's f32, scored by predict in f64.)
    np.testing.assert_allclose(reg.best_validation_score_, reg.score(Xv, yv), rtol=1e-6)
    # A constant target scores 0 (scikit-learn's finite R²), not NaN, and stops.
    flat = _quiet_fit(MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True, max_iter=50,
                                   random_state=0), X, np.full(len(X), 3.0))
    assert not np.isnan(flat.validation_scores_).any() and flat.n_iter_ < 50


def test_a_warm_start_fit_starts_a_new_optimizer_as_scikit_learn_s(digits):
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate="adaptive",
              learning_rate_init=0.01, tol=1e9, n_iter_no_change=1, max_iter=6,
              random_state=0)
    ours, theirs = MLPClassifier(**kw), _sklearn_mlp(**kw)
    for est in (ours, theirs):
        _quiet_fit(est, Xtr, ytr)
        est.set_params(warm_start=True, max_iter=4)
        _quiet_fit(est, Xtr, ytr)
    np.testing.assert_allclose(ours._learning_rates[-1], theirs._optimizer.learning_rate,
                               rtol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_
    # What the count watched changes with early stopping: it is not carried over then.
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    est = _quiet_fit(MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", early_stopping=True,
                                  learning_rate_init=1e-4, max_iter=20, random_state=0), X, y)
    est.set_params(warm_start=True, early_stopping=False, max_iter=15)
    _quiet_fit(est, X, y)
    assert est.n_iter_ == 15 and est.loss_curve_[-1] < est.loss_curve_[-15]


def test_verbose_says_when_it_stops_or_lowers_the_rate(digits, capsys):
    Xtr, _, ytr, _ = digits
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", tol=1e9, n_iter_no_change=1,
              verbose=True, random_state=0)
    _quiet_fit(MLPClassifier(**kw), Xtr, ytr)
    out = capsys.readouterr().out
    assert "Training loss did not improve more than tol=1000000000.000000 for 1 " \
        "consecutive epochs. Stopping." in out
    _quiet_fit(MLPClassifier(learning_rate="adaptive", max_iter=4, **kw), Xtr, ytr)
    assert "Setting learning rate to 0.000200" in capsys.readouterr().out
    p = MLPClassifier(hidden_layer_sizes=(8,), verbose=True, random_state=0)
    for _ in range(2):
        p.partial_fit(Xtr, ytr, classes=np.arange(10))
    assert [line.split(",")[0] for line in capsys.readouterr().out.splitlines()] == \
        ["Iteration 1", "Iteration 1"]  # each call's epochs, as scikit-learn's n_iter_


def test_each_partial_fit_call_trains_on_its_own_rows():
    # One batch a call: the second call's step must come from its rows (it came from the
    # first call's gradient, kept in the run's checkpoint, and ignored the new targets).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y1, y2 = X @ [1.0, -2.0, 0.5], X @ [-3.0, 1.0, 2.0]

    def twice(first, second):
        est = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", batch_size=40,
                           momentum=0.0, alpha=0.0, random_state=0)
        est.partial_fit(X, first)
        return est.partial_fit(X, second).coefs_[0]
    assert not np.array_equal(twice(y1, y1), twice(y1, y2))
