//! Bad input handed to the library's own calls (structs built by hand, settings no run can
//! use) is a typed error naming what is wrong — found by probing the public API from
//! outside: each case below panicked, or ran and answered something else, before.

use descent::data::{Dataset, TargetData};
use descent::expr::ExprModel;
use descent::least_squares::{fit, FitOptions, LsqMethod};
use descent::nn::{
    predict_data, train, Activation, Init, Loss, Mlp, SavedModel, TrainConfig, TrainState,
};
use descent::problems::mgh::MghProblem;
use descent::{minimize, Bounds, Error, MethodSpec, NoObserver, Options};

fn says(r: Result<impl std::fmt::Debug, Error>, what: &str) {
    match r {
        Err(e) => assert!(e.to_string().contains(what), "{e} (wanted: {what})"),
        Ok(v) => panic!("accepted: {v:?} (wanted an error: {what})"),
    }
}

#[test]
fn tolerances_no_test_can_use_are_refused() {
    // A negative tolerance made the step test pass at once: Rosenbrock "converged" at
    // f = 2.84 after 5 iterations.
    let p = MghProblem::parse("rosenbrock").unwrap();
    for (opts, what) in [
        (
            Options {
                gtol: -1.0,
                ..Options::default()
            },
            "gtol",
        ),
        (
            Options {
                ftol: f64::NAN,
                ..Options::default()
            },
            "ftol",
        ),
        (
            Options {
                xtol: -1e-9,
                ..Options::default()
            },
            "xtol",
        ),
        (
            Options {
                target: Some(f64::NAN),
                ..Options::default()
            },
            "target",
        ),
    ] {
        let mut m = MethodSpec::new("lbfgs").build().unwrap();
        says(
            minimize(&p, m.as_mut(), &p.x0(), &opts, &mut NoObserver),
            what,
        );
    }
}

#[test]
fn a_fit_refuses_bounds_it_cannot_keep_and_settings_it_cannot_use() {
    let p = MghProblem::parse("rosenbrock").unwrap();
    let x0 = p.x0();
    let boxed = |n| FitOptions {
        bounds: Some(Bounds::uniform(n, 5.0, 6.0).unwrap()),
        ..FitOptions::default()
    };
    // Gauss–Newton left the box [5, 6]² without a word (x = 1.25, 1.25).
    for method in [LsqMethod::GaussNewton, LsqMethod::DiagonalGaussNewton] {
        says(
            fit(&p, method, &x0, &boxed(2), &mut NoObserver),
            "takes no bounds",
        );
    }
    // Bounds of another dimension: a panic inside the covariance's active set.
    says(
        fit(
            &p,
            LsqMethod::LevenbergMarquardt,
            &x0,
            &boxed(1),
            &mut NoObserver,
        ),
        "bounds",
    );
    for (opts, what) in [
        (
            FitOptions {
                tau: f64::NAN,
                ..FitOptions::default()
            },
            "tau",
        ),
        (
            FitOptions {
                tau: -1.0,
                ..FitOptions::default()
            },
            "tau",
        ),
        (
            FitOptions {
                mu_max: f64::NAN,
                ..FitOptions::default()
            },
            "mu_max",
        ),
    ] {
        says(
            fit(
                &p,
                LsqMethod::LevenbergMarquardt,
                &x0,
                &opts,
                &mut NoObserver,
            ),
            what,
        );
    }
    // Inside a box that holds the minimum, lm keeps to it and reaches it.
    let inside = FitOptions {
        bounds: Some(Bounds::uniform(2, -2.0, 2.0).unwrap()),
        ..FitOptions::default()
    };
    let s = fit(
        &p,
        LsqMethod::LevenbergMarquardt,
        &x0,
        &inside,
        &mut NoObserver,
    )
    .unwrap();
    assert!(s.rss < 1e-20, "{}", s.rss);
}

#[test]
fn a_model_binds_each_name_once() {
    let cols = || vec![vec![1.0, 2.0, 3.0]];
    let y = || vec![2.0, 4.0, 6.0];
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // `x` as a parameter shadowed the column x: the data were ignored (x = 2, rss 8).
    says(
        ExprModel::new("a*x", &names(&["x", "a"]), &names(&["x"]), cols(), y()),
        "'x' is both a parameter and a data column",
    );
    says(
        ExprModel::new("a*x", &names(&["a", "a"]), &names(&["x"]), cols(), y()),
        "'a' is named twice among the parameters",
    );
    says(
        ExprModel::new(
            "a*x",
            &names(&["a"]),
            &names(&["x", "x"]),
            vec![cols()[0].clone(); 2],
            y(),
        ),
        "'x' is named twice among the data columns",
    );
    assert!(ExprModel::new("a*x", &names(&["a"]), &names(&["x"]), cols(), y()).is_ok());
}

fn dataset(x: Vec<f64>, d: usize, targets: TargetData) -> Dataset {
    Dataset {
        x,
        d,
        targets,
        feature_names: vec![],
        part: None,
    }
}

#[test]
fn a_data_set_built_by_hand_must_be_whole() {
    let two_classes = |labels: Vec<u32>| TargetData::Classes {
        labels,
        names: vec!["a".into(), "b".into()],
    };
    let cases = [
        (
            dataset(vec![1.0, 2.0, 3.0], 2, two_classes(vec![0])),
            "3 feature values",
        ),
        (
            dataset(vec![1.0, 2.0, 3.0, 4.0], 2, two_classes(vec![0])),
            "1 labels for 2 rows",
        ),
        (
            dataset(vec![1.0, 2.0, 3.0, 4.0], 2, two_classes(vec![0, 2])),
            "label 2",
        ),
        (
            dataset(
                vec![1.0, 2.0, 3.0, 4.0],
                2,
                TargetData::Values { y: vec![1.0], k: 1 },
            ),
            "1 target values are not 2 rows of 1",
        ),
    ];
    let net = |loss| Mlp::new(&[2, 3, 2], &[Activation::Tanh], loss).unwrap();
    for (data, what) in &cases {
        for loss in [Loss::CrossEntropy, Loss::SquaredError] {
            let net = net(loss);
            let cfg = TrainConfig {
                epochs: 1,
                batch_size: 2,
                ..TrainConfig::default()
            };
            let start = TrainState::new(net.init_params(Init::GlorotUniform, 0));
            says(
                train::<f64>(&net, data, None, &cfg, start, &mut descent::nn::Silent),
                what,
            );
            let model = SavedModel {
                net: net.clone(),
                params: net.init_params(Init::GlorotUniform, 0),
                meta: Default::default(),
                precision: "f64".into(),
            };
            says(predict_data(&model, data.clone()), what);
        }
    }
    // Binary cross-entropy's targets are probabilities: 7 trained to a loss of −2.25.
    let bce = Mlp::new(&[2, 3, 1], &[Activation::Tanh], Loss::BinaryCrossEntropy).unwrap();
    let data = dataset(
        vec![1.0, 2.0, 3.0, 4.0],
        2,
        TargetData::Values {
            y: vec![1.0, 7.0],
            k: 1,
        },
    );
    let start = TrainState::new(bce.init_params(Init::GlorotUniform, 0));
    let cfg = TrainConfig {
        epochs: 1,
        batch_size: 2,
        ..TrainConfig::default()
    };
    says(
        train::<f64>(&bce, &data, None, &cfg, start, &mut descent::nn::Silent),
        "targets in [0, 1]",
    );
    // Splits that leave nothing to train on, or are not fractions.
    let set = dataset(
        vec![0.0; 20],
        2,
        two_classes(vec![0, 1, 0, 1, 0, 1, 0, 1, 0, 1]),
    );
    says(set.split(f64::NAN, 0.0, 0), "val_frac");
    says(set.split(0.2, -0.1, 0), "test_frac");
    says(set.split(0.8, 0.8, 0), "leave none of the 10 rows");
    assert!(set.split(0.2, 0.2, 0).is_ok());
}

#[test]
fn a_network_answers_only_inputs_of_its_shape() {
    let net = Mlp::new(&[2, 3, 1], &[Activation::Tanh], Loss::SquaredError).unwrap();
    let p = net.init_params(Init::GlorotUniform, 0);
    says(
        net.answer(&p, &[1.0, 2.0, 3.0], 2),
        "3 values are not 2 rows",
    );
    says(net.answer(&p[..4], &[1.0, 2.0], 1), "parameters");
    assert_eq!(net.answer(&p, &[1.0, 2.0], 1).unwrap().len(), 1);
}

#[test]
fn smaller_calls_refuse_what_they_cannot_use() {
    // A plateau factor outside (0, 1): −5 drove the rate's scale to −3e10, and the run
    // "completed".
    let cfg = TrainConfig {
        plateau: Some((-5.0, 0)),
        ..TrainConfig::default()
    };
    says(cfg.method_spec(), "FACTOR must be in (0, 1)");
    // linear_cg with x0 of another length answered a 2-vector "converged" for a 3-vector b.
    let apply = |v: &[f64], out: &mut [f64]| out.copy_from_slice(v);
    says(
        descent::linear_cg(&apply, &[1.0, 2.0, 3.0], &[0.0, 0.0], 1e-10, 10, None),
        "x0",
    );
    says(
        descent::linear_cg(&apply, &[1.0, 2.0], &[0.0, 0.0], f64::NAN, 10, None),
        "tol",
    );
    // A quadratic whose A is not b's size (newton panicked, lbfgs minimized something
    // else), or not symmetric.
    use descent::linalg::DenseMatrix;
    use descent::Quadratic;
    let mut eye = DenseMatrix::zeros(2, 2);
    eye.set(0, 0, 1.0);
    eye.set(1, 1, 1.0);
    says(
        Quadratic::new(eye.clone(), vec![1.0, 2.0, 3.0]),
        "A is 2×2 but b has 3",
    );
    let mut skew = eye.clone();
    skew.set(0, 1, 1.0);
    says(Quadratic::new(skew, vec![1.0, 2.0]), "symmetric");
    let q = Quadratic::new(eye, vec![1.0, 2.0]).unwrap();
    let mut m = MethodSpec::new("newton").build().unwrap();
    let s = minimize(
        &q,
        m.as_mut(),
        &[0.0, 0.0],
        &Options::default(),
        &mut NoObserver,
    )
    .unwrap();
    assert!((s.x[0] - 1.0).abs() < 1e-12 && (s.x[1] - 2.0).abs() < 1e-12);
    // A point of another dimension is not inside a box.
    let b = Bounds::uniform(2, 0.0, 1.0).unwrap();
    assert!(!b.contains(&[0.5]) && !b.contains(&[0.5, 0.5, 0.5]) && b.contains(&[0.5, 0.5]));
}
