//! The registry: every method by name, once — what it is, where it applies, what it needs,
//! its settings with their defaults and sources — and [`MethodSpec`], a method with its
//! settings, parsed once at the edge (`lbfgs:memory=5:secant=standard`) and built into a
//! [`Minimizer`] for objectives, one for least squares, or a [`StepRule`] for mini-batch
//! training. `minimize`, `fit`, `train`, `compare` and `report` all build from here, so a
//! name has one meaning and one set of defaults everywhere.
//!
//! Adding a method: its file (the algorithm, with its reference) and one [`MethodInfo`] in
//! [`REGISTRY`] — its settings with their kinds and cited defaults, and its builder (a step
//! rule, a minimizer on objectives, or one on least squares). Parsing, validation,
//! printing, `methods --json` and every command follow from the entry.

use crate::bounds::Bounds;
use crate::direction::{
    CgBeta, Lbfgs, LineSearchMethod, Newton, NewtonCg, NonlinearCg, OneStepSecant, PowellBeale,
    QuasiNewton, QuasiNewtonKind, SecantPair, Steepest,
};
use crate::driver::{Minimizer, OnLeastSquares, Options};
use crate::error::{Error, Result};
use crate::lbfgsb::Lbfgsb;
use crate::least_squares::{
    BayesianRegularization, FitOptions, LsqMethod, TrfConfig, TrustRegionReflective,
};
use crate::linesearch::{Backtracking, Exact, LineSearch, StrongWolfe};
use crate::trainers::{AdaptiveRate, IRpropPlus, ScaledCg};
use crate::trust_region::{
    Dogleg, ExactSubproblem, RadiusRules, Steihaug, Subproblem, TrustRegion,
};
use crate::update::{
    Adadelta, Adagrad, Adam, Adamax, FixedStep, Lion, Momentum, MomentumForm, Muon, NAdam,
    Nesterov, RAdam, RmsProp, Rprop, Schedule, ScheduleFreeAdamW, Sgd, StepRule,
};
use serde::Serialize;
use std::fmt;

/// Where a method can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    /// A function with a gradient (`minimize`, `compare --problem/--expr`).
    Objective,
    /// Residuals with a Jacobian (`fit`, `compare --nist`, squared-error networks).
    LeastSquares,
    /// Mini-batches of a sampled objective (`train` with a batch size).
    Minibatch,
    /// A network and its whole training set as one deterministic problem (`train`).
    Fullbatch,
}

impl AppliesTo {
    /// snake_case name, as in `descent methods --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppliesTo::Objective => "objective",
            AppliesTo::LeastSquares => "least_squares",
            AppliesTo::Minibatch => "minibatch",
            AppliesTo::Fullbatch => "fullbatch",
        }
    }
}

/// What a method asks of the problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    /// Values.
    Value,
    /// Gradients.
    Gradient,
    /// Hessians (exact, or finite differences of gradients).
    Hessian,
    /// Hessian-vector products.
    HessianVector,
    /// Generalized Gauss–Newton-vector products `JᵀHJv`.
    GaussNewtonVector,
    /// Residual vectors.
    Residuals,
    /// Jacobians of the residuals.
    Jacobian,
}

/// What values a setting takes; [`MethodSpec::set`] refuses others with a message naming
/// the setting.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A real number > 0 and finite.
    Positive,
    /// A real number ≥ 0 and finite.
    NonNegative,
    /// A real number in [0, 1).
    Unit,
    /// A real number in (1, ∞) (growth factors).
    AboveOne,
    /// A real number in (0, 1) (shrink factors).
    Fraction,
    /// A whole number ≥ 1.
    Count,
    /// `true`/`false` (also on/off, yes/no, 1/0).
    Flag,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A learning-rate schedule ([`Schedule::parse`]).
    Schedule,
}

/// One setting of a method, with its default as text (as it would be typed).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SettingInfo {
    /// Name, as in `NAME:setting=value`.
    pub name: &'static str,
    /// Default value.
    pub default: &'static str,
    /// What it does and where the default comes from.
    pub help: &'static str,
    /// What values it takes.
    #[serde(skip)]
    pub kind: Kind,
}

/// Builds a step rule from a checked spec.
pub type StepRuleBuilder = fn(&MethodSpec) -> Result<Box<dyn StepRule + Send>>;
/// Builds a minimizer on objectives from a checked spec.
pub type ObjectiveBuilder = fn(&MethodSpec) -> Result<Box<dyn Minimizer>>;
/// Builds a minimizer on objectives that keeps to a box, from a checked spec.
pub type BoundedBuilder = fn(&MethodSpec, Bounds) -> Result<Box<dyn Minimizer>>;
/// Builds a minimizer on least squares from a checked spec and the fit's options.
pub type LeastSquaresBuilder =
    fn(&MethodSpec, &FitOptions) -> Result<Box<dyn Minimizer<OnLeastSquares>>>;

/// A method in the registry.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MethodInfo {
    /// Its name.
    pub name: &'static str,
    /// Other names accepted for it.
    #[serde(skip)]
    pub aliases: &'static [&'static str],
    /// One line.
    pub description: &'static str,
    /// Where it can be used.
    pub applies_to: &'static [AppliesTo],
    /// What it needs.
    pub needs: &'static [Need],
    /// Its settings and their defaults.
    #[serde(serialize_with = "settings_as_map")]
    pub settings: &'static [SettingInfo],
    /// The gradient tolerance it stops at by default on objectives.
    pub default_gtol: f64,
    /// Where the method and its defaults come from.
    pub reference: &'static str,
    /// Its step rule (mini-batch methods; on objectives it runs with a fixed step unless
    /// `objective` says otherwise).
    #[serde(skip)]
    pub step_rule: Option<StepRuleBuilder>,
    /// Its minimizer on objectives (and so on a network's full batch).
    #[serde(skip)]
    pub objective: Option<ObjectiveBuilder>,
    /// Its minimizer on least squares.
    #[serde(skip)]
    pub least_squares: Option<LeastSquaresBuilder>,
    /// Its minimizer on objectives with bounds, for methods other than the step rules
    /// (which keep to a box by projecting each step, see [`MethodSpec::build_bounded`]).
    #[serde(skip)]
    pub bounded: Option<BoundedBuilder>,
    /// The method a bounded run actually is, when another (`lbfgs` in a box is `lbfgsb`):
    /// its defaults (the gradient tolerance) apply.
    #[serde(skip)]
    pub bounded_as: Option<&'static str>,
    /// Whether its least-squares minimizer keeps to `FitOptions::bounds`.
    #[serde(skip)]
    pub bounded_least_squares: bool,
    /// Whether it is schedule-free: its steps keep its sequences consistent only when
    /// taken whole, so no learning-rate schedule or plateau reduction may scale them.
    #[serde(skip)]
    pub schedule_free: bool,
}

fn settings_as_map<S: serde::Serializer>(
    settings: &&'static [SettingInfo],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(settings.len()))?;
    for st in settings.iter() {
        m.serialize_entry(st.name, st.default)?;
    }
    m.end()
}

impl MethodInfo {
    /// Whether the method can be used on `kind`.
    pub fn applies(&self, kind: AppliesTo) -> bool {
        self.applies_to.contains(&kind)
    }
    /// The setting named `name`, if the method has it.
    pub fn setting(&self, name: &str) -> Option<&'static SettingInfo> {
        self.settings.iter().find(|s| s.name == name)
    }
}

const LR_SCHEDULE: SettingInfo = SettingInfo {
    name: "schedule",
    default: "const",
    help: "learning-rate schedule: const, step:GAMMA:EVERY, exp:GAMMA, cosine:TOTAL[:MIN], inverse:DECAY, warmup:STEPS[:INNER]",
    kind: Kind::Schedule,
};
const MOMENTUM: SettingInfo = SettingInfo {
    name: "momentum",
    default: "0.9",
    help: "momentum coefficient μ (Sutskever et al. 2013)",
    kind: Kind::Unit,
};
const LINE_SEARCHES: &[&str] = &["exact", "backtracking", "armijo", "wolfe", "strong-wolfe"];
const WOLFE: SettingInfo = SettingInfo {
    name: "line_search",
    default: "wolfe",
    help: "exact (bracketing + Brent), backtracking (Armijo) or wolfe (strong Wolfe, N&W Alg. 3.5)",
    kind: Kind::Choice(LINE_SEARCHES),
};
const SGD_LR: SettingInfo = SettingInfo {
    name: "lr",
    default: "1e-3",
    help: "learning rate (torch.optim.SGD's default)",
    kind: Kind::Positive,
};
const ADAM_LR: SettingInfo = SettingInfo {
    name: "lr",
    default: "1e-3",
    help: "step size α (Kingma & Ba 2015)",
    kind: Kind::Positive,
};
const BETA1: SettingInfo = SettingInfo {
    name: "beta1",
    default: "0.9",
    help: "first-moment decay β₁ (Kingma & Ba 2015)",
    kind: Kind::Unit,
};
const BETA2: SettingInfo = SettingInfo {
    name: "beta2",
    default: "0.999",
    help: "second-moment decay β₂ (Kingma & Ba 2015)",
    kind: Kind::Unit,
};
const ADAM_EPS: SettingInfo = SettingInfo {
    name: "eps",
    default: "1e-8",
    help: "ε (Kingma & Ba 2015; above 0: a weight whose gradient has been 0 divides 0 by √0)",
    kind: Kind::Positive,
};
const ADAM_SETTINGS: [SettingInfo; 5] = [ADAM_LR, BETA1, BETA2, ADAM_EPS, LR_SCHEDULE];
const SECANT_PAIRS: &[&str] = &["standard", "value-corrected"];
const SECANT_VC: SettingInfo = SettingInfo {
    name: "secant",
    default: "value-corrected",
    help: "curvature pair: value-corrected (Zhang, Deng & Chen 1999, u = y) or standard",
    kind: Kind::Choice(SECANT_PAIRS),
};
const SECANT_STD: SettingInfo = SettingInfo {
    name: "secant",
    default: "standard",
    help: "curvature pair: standard (y = g₊ − g) or value-corrected",
    kind: Kind::Choice(SECANT_PAIRS),
};

const STEP_RULE_USE: &[AppliesTo] = &[AppliesTo::Objective, AppliesTo::Minibatch];
const FULL_BATCH_USE: &[AppliesTo] = &[AppliesTo::Objective, AppliesTo::Fullbatch];
const LSQ_USE: &[AppliesTo] = &[AppliesTo::LeastSquares, AppliesTo::Fullbatch];
const GRADIENT: &[Need] = &[Need::Value, Need::Gradient];
const RESIDUALS: &[Need] = &[Need::Residuals, Need::Jacobian];

/// An entry's fields that most methods leave empty.
const NONE: MethodInfo = MethodInfo {
    name: "",
    aliases: &[],
    description: "",
    applies_to: &[],
    needs: GRADIENT,
    settings: &[],
    default_gtol: 1e-8,
    reference: "",
    step_rule: None,
    objective: None,
    least_squares: None,
    bounded: None,
    bounded_as: None,
    bounded_least_squares: false,
    schedule_free: false,
};

/// The settings of the bold driver (`gda`, `gdx`), MATLAB's defaults.
const BOLD_DRIVER: [SettingInfo; 4] = [
    SettingInfo {
        name: "lr",
        default: "0.01",
        help: "initial learning rate (traingda's default)",
        kind: Kind::Positive,
    },
    SettingInfo {
        name: "lr_inc",
        default: "1.05",
        help: "rate factor after a decrease (traingda's default)",
        kind: Kind::AboveOne,
    },
    SettingInfo {
        name: "lr_dec",
        default: "0.7",
        help: "rate factor after an undone step (traingda's default)",
        kind: Kind::Fraction,
    },
    SettingInfo {
        name: "max_perf_inc",
        default: "1.04",
        help: "largest accepted loss ratio (traingda's default)",
        kind: Kind::AboveOne,
    },
];

fn bold_driver(s: &MethodSpec, mut m: AdaptiveRate) -> Result<AdaptiveRate> {
    m.lr0 = s.real("lr")?;
    (m.lr_inc, m.lr_dec) = (s.real("lr_inc")?, s.real("lr_dec")?);
    m.max_perf_inc = s.real("max_perf_inc")?;
    Ok(m)
}

/// The radius settings of the trust-region methods, SciPy's defaults.
const TRUST_REGION: [SettingInfo; 3] = [
    SettingInfo {
        name: "radius",
        default: "1",
        help: "initial radius Δ₀ (SciPy's initial_trust_radius)",
        kind: Kind::Positive,
    },
    SettingInfo {
        name: "max_radius",
        default: "1000",
        help: "largest radius (SciPy's max_trust_radius)",
        kind: Kind::Positive,
    },
    SettingInfo {
        name: "eta",
        default: "0.15",
        help: "smallest gain ratio of a step taken (SciPy's eta)",
        kind: Kind::Unit,
    },
];

/// A trust-region method around `subproblem` with the spec's radius rules.
fn trust_region<S: Subproblem + 'static>(
    s: &MethodSpec,
    subproblem: S,
) -> Result<Box<dyn Minimizer>> {
    let mut m = TrustRegion::new(subproblem);
    m.rules = RadiusRules {
        initial: s.real("radius")?,
        max: s.real("max_radius")?,
        eta: s.real("eta")?,
    };
    if m.rules.initial > m.rules.max {
        return Err(Error::config(
            "radius",
            format!("{} is above max_radius {}", m.rules.initial, m.rules.max),
        ));
    }
    Ok(Box::new(m))
}

/// L-BFGS-B from a spec with `memory` and `secant` settings (`lbfgs`, `lbfgsb`).
fn lbfgsb(s: &MethodSpec, bounds: Option<Bounds>) -> Result<Box<dyn Minimizer>> {
    let mut m = Lbfgsb::new(s.count("memory")?, bounds);
    m.secant = s.secant_method()?.secant;
    Ok(Box::new(m))
}

/// Adam's β₁, β₂, ε from the spec.
fn adam_moments(spec: &MethodSpec, mut a: Adam) -> Result<Box<dyn StepRule + Send>> {
    a.beta1 = spec.real("beta1")?;
    a.beta2 = spec.real("beta2")?;
    a.eps = spec.real("eps")?;
    Ok(Box::new(a))
}

/// Every method, once.
pub static REGISTRY: &[MethodInfo] = &[
    MethodInfo {
        name: "gd",
        aliases: &["sgd"],
        description: "gradient descent: fixed rate (with a schedule), or any line search",
        applies_to: STEP_RULE_USE,
        settings: &[
            SGD_LR,
            LR_SCHEDULE,
            SettingInfo {
                name: "line_search",
                default: "none",
                help: "none (fixed rate), exact, backtracking or wolfe (objectives only)",
                kind: Kind::Choice(&["none", "exact", "backtracking", "armijo", "wolfe", "strong-wolfe"]),
            },
        ],
        reference: "Cauchy 1847; the lecture, eq. 1",
        step_rule: Some(|s| Ok(Box::new(Sgd { lr: s.schedule()? }))),
        objective: Some(|s| match s.line_search()? {
            None => Ok(Box::new(FixedStep::new(s.step_rule()?))),
            Some(ls) => Ok(with_line_search(Steepest, ls, Assembly::new(0.9))),
        }),
        bounded: Some(|s, bounds| match s.line_search()? {
            None => Ok(Box::new(FixedStep::new(s.step_rule()?).within(bounds))),
            Some(_) => Err(Error::NotApplicable {
                method: s.name.clone(),
                why: "with bounds gd runs at its fixed rate, projected (line_search=none); lbfgsb searches lines inside a box".into(),
            }),
        }),
        ..NONE
    },
    MethodInfo {
        name: "momentum",
        description: "heavy-ball momentum w+ = w - lr*grad + mu*(w - w-), or the velocity form",
        applies_to: STEP_RULE_USE,
        settings: &[
            SGD_LR,
            MOMENTUM,
            SettingInfo {
                name: "form",
                default: "heavy-ball",
                help: "heavy-ball (keeps w₋) or velocity (keeps Δ); the same iterates at a constant rate",
                kind: Kind::Choice(&["heavy-ball", "heavyball", "velocity"]),
            },
            LR_SCHEDULE,
        ],
        reference: "Polyak 1964; Rumelhart, Hinton & Williams 1986",
        step_rule: Some(|s| {
            let form = match s.text("form")? {
                "velocity" => MomentumForm::Velocity,
                _ => MomentumForm::HeavyBall,
            };
            Ok(Box::new(Momentum::new(s.schedule()?, s.real("momentum")?, form)))
        }),
        ..NONE
    },
    MethodInfo {
        name: "nesterov",
        description: "Nesterov accelerated gradient (gradient at the look-ahead point)",
        applies_to: STEP_RULE_USE,
        settings: &[SGD_LR, MOMENTUM, LR_SCHEDULE],
        reference: "Nesterov 1983; Sutskever, Martens, Dahl & Hinton 2013",
        step_rule: Some(|s| Ok(Box::new(Nesterov::new(s.schedule()?, s.real("momentum")?)))),
        ..NONE
    },
    MethodInfo {
        name: "adam",
        description: "Adam with bias correction",
        applies_to: STEP_RULE_USE,
        settings: &ADAM_SETTINGS,
        reference: "Kingma & Ba, Adam: a method for stochastic optimization, ICLR 2015",
        step_rule: Some(|s| adam_moments(s, Adam::new(s.schedule()?))),
        ..NONE
    },
    MethodInfo {
        name: "adamw",
        description: "Adam with decoupled weight decay",
        applies_to: STEP_RULE_USE,
        settings: &[
            ADAM_LR,
            BETA1,
            BETA2,
            ADAM_EPS,
            SettingInfo {
                name: "weight_decay",
                default: "1e-2",
                help: "decoupled weight decay λ (torch.optim.AdamW's default)",
                kind: Kind::NonNegative,
            },
            LR_SCHEDULE,
        ],
        reference: "Loshchilov & Hutter, Decoupled weight decay regularization, ICLR 2019",
        step_rule: Some(|s| adam_moments(s, Adam::adamw(s.schedule()?, s.real("weight_decay")?))),
        ..NONE
    },
    MethodInfo {
        name: "amsgrad",
        description: "Adam with the running maximum of the second moment",
        applies_to: STEP_RULE_USE,
        settings: &ADAM_SETTINGS,
        reference: "Reddi, Kale & Kumar, On the convergence of Adam and beyond, ICLR 2018",
        step_rule: Some(|s| adam_moments(s, Adam::amsgrad(s.schedule()?))),
        ..NONE
    },
    MethodInfo {
        name: "rmsprop",
        description: "RMSprop: the gradient scaled by a running RMS",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1e-3",
                help: "learning rate (Keras' default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "decay",
                default: "0.9",
                help: "decay of the running mean of g² (Tieleman & Hinton 2012)",
                kind: Kind::Unit,
            },
            SettingInfo {
                name: "eps",
                default: "1e-8",
                help: "ε (above 0: a weight whose gradient has been 0 divides 0 by √0)",
                kind: Kind::Positive,
            },
            LR_SCHEDULE,
        ],
        reference: "Tieleman & Hinton, Lecture 6.5, COURSERA Neural Networks 2012",
        step_rule: Some(|s| {
            let mut r = RmsProp::new(s.schedule()?);
            r.decay = s.real("decay")?;
            r.eps = s.real("eps")?;
            Ok(Box::new(r))
        }),
        ..NONE
    },
    MethodInfo {
        name: "adagrad",
        description: "Adagrad: the gradient scaled by the root of the summed g²",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1e-2",
                help: "learning rate (torch.optim.Adagrad's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "eps",
                default: "1e-10",
                help: "ε (torch.optim.Adagrad's default; above 0: 0/√0 otherwise)",
                kind: Kind::Positive,
            },
            LR_SCHEDULE,
        ],
        reference: "Duchi, Hazan & Singer, JMLR 12, 2011",
        step_rule: Some(|s| {
            let mut a = Adagrad::new(s.schedule()?);
            a.eps = s.real("eps")?;
            Ok(Box::new(a))
        }),
        ..NONE
    },
    MethodInfo {
        name: "nadam",
        description: "NAdam: Adam with Nesterov momentum",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "2e-3",
                help: "learning rate (torch.optim.NAdam's default)",
                kind: Kind::Positive,
            },
            BETA1,
            BETA2,
            ADAM_EPS,
            SettingInfo {
                name: "momentum_decay",
                default: "4e-3",
                help: "momentum decay ψ (Dozat 2016; torch.optim.NAdam's default)",
                kind: Kind::NonNegative,
            },
            LR_SCHEDULE,
        ],
        reference: "Dozat, Incorporating Nesterov momentum into Adam, ICLR workshop 2016; torch.optim.NAdam",
        step_rule: Some(|s| {
            let mut a = NAdam::new(s.schedule()?);
            (a.beta1, a.beta2, a.eps) = (s.real("beta1")?, s.real("beta2")?, s.real("eps")?);
            a.momentum_decay = s.real("momentum_decay")?;
            Ok(Box::new(a))
        }),
        ..NONE
    },
    MethodInfo {
        name: "radam",
        description: "RAdam: Adam with the variance of the adaptive rate rectified",
        applies_to: STEP_RULE_USE,
        settings: &ADAM_SETTINGS,
        reference: "Liu et al., On the variance of the adaptive learning rate and beyond, ICLR 2020; torch.optim.RAdam",
        step_rule: Some(|s| {
            let mut a = RAdam::new(s.schedule()?);
            (a.beta1, a.beta2, a.eps) = (s.real("beta1")?, s.real("beta2")?, s.real("eps")?);
            Ok(Box::new(a))
        }),
        ..NONE
    },
    MethodInfo {
        name: "adamax",
        description: "Adamax: Adam with the infinity norm",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "2e-3",
                help: "learning rate (Kingma & Ba 2015 §7.1; torch.optim.Adamax's default)",
                kind: Kind::Positive,
            },
            BETA1,
            BETA2,
            ADAM_EPS,
            LR_SCHEDULE,
        ],
        reference: "Kingma & Ba, ICLR 2015, §7.1; torch.optim.Adamax",
        step_rule: Some(|s| {
            let mut a = Adamax::new(s.schedule()?);
            (a.beta1, a.beta2, a.eps) = (s.real("beta1")?, s.real("beta2")?, s.real("eps")?);
            Ok(Box::new(a))
        }),
        ..NONE
    },
    MethodInfo {
        name: "adadelta",
        description: "Adadelta: steps in the units of the parameters from two running RMS",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1",
                help: "multiplier of the step (torch.optim.Adadelta's default 1.0)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "rho",
                default: "0.9",
                help: "decay ρ of the running means (Zeiler 2012)",
                kind: Kind::Unit,
            },
            SettingInfo {
                name: "eps",
                default: "1e-6",
                help: "ε (Zeiler 2012; torch.optim.Adadelta's default)",
                kind: Kind::Positive,
            },
            LR_SCHEDULE,
        ],
        reference: "Zeiler, ADADELTA: an adaptive learning rate method, arXiv:1212.5701 (2012); torch.optim.Adadelta",
        step_rule: Some(|s| {
            let mut a = Adadelta::new(s.schedule()?);
            (a.rho, a.eps) = (s.real("rho")?, s.real("eps")?);
            Ok(Box::new(a))
        }),
        ..NONE
    },
    MethodInfo {
        name: "lion",
        description: "Lion: the sign of interpolated momentum",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1e-4",
                help: "learning rate (Chen et al. 2023)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "beta1",
                default: "0.9",
                help: "interpolation β₁ of the update (Chen et al. 2023)",
                kind: Kind::Unit,
            },
            SettingInfo {
                name: "beta2",
                default: "0.99",
                help: "momentum decay β₂ (Chen et al. 2023)",
                kind: Kind::Unit,
            },
            SettingInfo {
                name: "weight_decay",
                default: "0",
                help: "decoupled weight decay λ",
                kind: Kind::NonNegative,
            },
            LR_SCHEDULE,
        ],
        reference: "Chen et al., Symbolic discovery of optimization algorithms, NeurIPS 2023",
        step_rule: Some(|s| {
            let mut a = Lion::new(s.schedule()?);
            (a.beta1, a.beta2) = (s.real("beta1")?, s.real("beta2")?);
            a.weight_decay = s.real("weight_decay")?;
            Ok(Box::new(a))
        }),
        ..NONE
    },
    MethodInfo {
        name: "muon",
        description: "Muon: momentum orthogonalized by Newton-Schulz on each weight matrix, AdamW on the biases",
        applies_to: &[AppliesTo::Minibatch],
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1e-3",
                help: "learning rate of the weight matrices (torch.optim.Muon's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "momentum",
                default: "0.95",
                help: "momentum μ (torch.optim.Muon's default)",
                kind: Kind::Unit,
            },
            SettingInfo {
                name: "nesterov",
                default: "true",
                help: "Nesterov's form of the momentum (torch.optim.Muon's default)",
                kind: Kind::Flag,
            },
            SettingInfo {
                name: "weight_decay",
                default: "0.1",
                help: "decoupled weight decay of the matrices (torch.optim.Muon's default)",
                kind: Kind::NonNegative,
            },
            SettingInfo {
                name: "ns_steps",
                default: "5",
                help: "Newton-Schulz steps (Jordan et al. 2024; torch.optim.Muon)",
                kind: Kind::Count,
            },
            SettingInfo {
                name: "adamw_lr",
                default: "1e-3",
                help: "AdamW's rate for the parameters outside the matrices (torch.optim.AdamW's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "adamw_weight_decay",
                default: "1e-2",
                help: "AdamW's decoupled weight decay outside the matrices (torch.optim.AdamW's default)",
                kind: Kind::NonNegative,
            },
            LR_SCHEDULE,
        ],
        reference: "Jordan et al., Muon: an optimizer for hidden layers in neural networks, 2024; torch.optim.Muon",
        step_rule: Some(|s| {
            let mut m = Muon::new(s.schedule()?);
            (m.momentum, m.nesterov) = (s.real("momentum")?, s.flag("nesterov")?);
            (m.weight_decay, m.ns_steps) = (s.real("weight_decay")?, s.count("ns_steps")?);
            m.rest = Adam::adamw(
                Schedule::Constant(s.real("adamw_lr")?),
                s.real("adamw_weight_decay")?,
            );
            Ok(Box::new(m))
        }),
        ..NONE
    },
    MethodInfo {
        name: "sf-adamw",
        aliases: &["schedule-free-adamw"],
        description: "schedule-free AdamW: Adam steps averaged, gradients at an interpolation, the average is the model",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "0.0025",
                help: "learning rate (facebookresearch/schedule_free's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "beta1",
                default: "0.9",
                help: "interpolation β₁ between the average and the steps (Defazio et al. 2024)",
                kind: Kind::Unit,
            },
            BETA2,
            ADAM_EPS,
            SettingInfo {
                name: "weight_decay",
                default: "0",
                help: "decoupled weight decay λ, applied at the interpolation y (the reference's default)",
                kind: Kind::NonNegative,
            },
            SettingInfo {
                name: "warmup",
                default: "0",
                help: "steps of linear warmup of the rate (the reference's warmup_steps)",
                kind: Kind::NonNegative,
            },
        ],
        reference: "Defazio et al., The road less scheduled, NeurIPS 2024; facebookresearch/schedule_free (AdamWScheduleFreeReference)",
        step_rule: Some(|s| {
            let mut a = ScheduleFreeAdamW::new(s.real("lr")?);
            (a.beta1, a.beta2, a.eps) = (s.real("beta1")?, s.real("beta2")?, s.real("eps")?);
            a.weight_decay = s.real("weight_decay")?;
            a.warmup = s.real("warmup")?.round() as u64;
            Ok(Box::new(a))
        }),
        schedule_free: true,
        ..NONE
    },
    MethodInfo {
        name: "irprop-",
        aliases: &["irprop-minus"],
        description: "iRprop-: per-weight step sizes from gradient signs, as torch.optim.Rprop",
        applies_to: STEP_RULE_USE,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1e-2",
                help: "initial step size (torch.optim.Rprop's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "eta_minus",
                default: "0.5",
                help: "step shrink factor η⁻ (Riedmiller & Braun 1993)",
                kind: Kind::Fraction,
            },
            SettingInfo {
                name: "eta_plus",
                default: "1.2",
                help: "step growth factor η⁺ (Riedmiller & Braun 1993)",
                kind: Kind::AboveOne,
            },
            SettingInfo {
                name: "step_min",
                default: "1e-6",
                help: "smallest step size (torch.optim.Rprop's default)",
                kind: Kind::NonNegative,
            },
            SettingInfo {
                name: "step_max",
                default: "50",
                help: "largest step size (Riedmiller & Braun 1993)",
                kind: Kind::Positive,
            },
        ],
        reference: "Igel & Hüsken, Improving the Rprop learning algorithm, NC 2000; torch.optim.Rprop",
        step_rule: Some(|s| {
            let mut a = Rprop::irprop_minus(s.schedule()?);
            (a.eta_minus, a.eta_plus) = (s.real("eta_minus")?, s.real("eta_plus")?);
            (a.step_min, a.step_max) = s.ordered("step_min", "step_max")?;
            Ok(Box::new(a))
        }),
        ..NONE
    },
    MethodInfo {
        name: "newton",
        description: "Newton with a line search and the watchdog; shifted Cholesky when the Hessian is indefinite",
        applies_to: &[AppliesTo::Objective],
        needs: &[Need::Value, Need::Gradient, Need::Hessian],
        settings: &[WOLFE],
        reference: "Nocedal & Wright, Numerical Optimization (2006), Alg. 3.3; Chamberlain et al. 1982 (watchdog)",
        objective: Some(|s| {
            let how = Assembly::new(0.9).watchdog();
            Ok(with_line_search(Newton::default(), s.line_search_or_wolfe()?, how))
        }),
        ..NONE
    },
    MethodInfo {
        name: "newton-cg",
        description: "truncated Newton: CG on Hessian-vector products",
        applies_to: FULL_BATCH_USE,
        needs: &[Need::Value, Need::Gradient, Need::HessianVector],
        settings: &[WOLFE],
        reference: "Nocedal & Wright (2006), Alg. 7.1",
        objective: Some(|s| {
            let ls = s.line_search_or_wolfe()?;
            Ok(with_line_search(NewtonCg::default(), ls, Assembly::new(0.9)))
        }),
        ..NONE
    },
    MethodInfo {
        name: "trust-dogleg",
        aliases: &["dogleg"],
        description: "trust region, Powell's dogleg between the Cauchy and Newton points",
        applies_to: &[AppliesTo::Objective],
        needs: &[Need::Value, Need::Gradient, Need::Hessian],
        settings: &TRUST_REGION,
        reference: "Powell 1970; Nocedal & Wright (2006), §4.1 and Alg. 4.1; radius rules as SciPy's",
        objective: Some(|s| trust_region(s, Dogleg)),
        ..NONE
    },
    MethodInfo {
        name: "trust-ncg",
        description: "trust region, Steihaug-Toint CG on Hessian-vector products",
        applies_to: &[AppliesTo::Objective],
        needs: &[Need::Value, Need::Gradient, Need::HessianVector],
        settings: &TRUST_REGION,
        reference: "Steihaug 1983; Toint 1981; Nocedal & Wright (2006), Alg. 7.2",
        objective: Some(|s| trust_region(s, Steihaug)),
        ..NONE
    },
    MethodInfo {
        name: "trust-exact",
        description: "trust region, the exact subproblem minimizer (Moré-Sorensen conditions, by eigendecomposition)",
        applies_to: &[AppliesTo::Objective],
        needs: &[Need::Value, Need::Gradient, Need::Hessian],
        settings: &TRUST_REGION,
        reference: "Moré & Sorensen, SIAM J. Sci. Stat. Comput. 4, 1983; Nocedal & Wright (2006), §4.3",
        objective: Some(|s| trust_region(s, ExactSubproblem)),
        ..NONE
    },
    MethodInfo {
        name: "hf",
        description: "Hessian-free: CG on damped Gauss-Newton products (networks, least squares)",
        applies_to: FULL_BATCH_USE,
        needs: &[Need::Value, Need::Gradient, Need::GaussNewtonVector],
        settings: &[WOLFE],
        reference: "Martens, Deep learning via Hessian-free optimization, ICML 2010",
        objective: Some(|s| {
            let ls = s.line_search_or_wolfe()?;
            Ok(with_line_search(NewtonCg::hessian_free(), ls, Assembly::new(0.9)))
        }),
        ..NONE
    },
    MethodInfo {
        name: "cg",
        description: "nonlinear conjugate gradient, beta = fr|pr|prplus|hs|dy|hz",
        applies_to: FULL_BATCH_USE,
        settings: &[
            SettingInfo {
                name: "beta",
                default: "prplus",
                help: "β formula: fr, pr, prplus (Gilbert & Nocedal 1992), hs, dy, hz",
                kind: Kind::Choice(&["fr", "pr", "prplus", "pr+", "hs", "dy", "hz"]),
            },
            WOLFE,
        ],
        reference: "Nocedal & Wright (2006), §5.2; Hager & Zhang 2006 (hz)",
        objective: Some(|s| {
            let beta = CgBeta::parse(s.text("beta")?).unwrap_or(CgBeta::PolakRibierePlus);
            let ls = s.line_search_or_wolfe()?;
            Ok(with_line_search(NonlinearCg::new(beta), ls, Assembly::new(0.1)))
        }),
        ..NONE
    },
    MethodInfo {
        name: "bfgs",
        description: "BFGS quasi-Newton on a dense inverse Hessian",
        applies_to: FULL_BATCH_USE,
        settings: &[WOLFE, SECANT_VC],
        default_gtol: 1e-6,
        reference: "Nocedal & Wright (2006), Alg. 6.1",
        objective: Some(|s| {
            let (ls, how) = (s.line_search_or_wolfe()?, s.secant_method()?);
            Ok(with_line_search(QuasiNewton::new(QuasiNewtonKind::Bfgs), ls, how))
        }),
        ..NONE
    },
    MethodInfo {
        name: "dfp",
        description: "DFP quasi-Newton on a dense inverse Hessian (strong Wolfe c2 = 0.1)",
        applies_to: FULL_BATCH_USE,
        settings: &[WOLFE, SECANT_VC],
        reference: "Nocedal & Wright (2006), eq. 6.15",
        // DFP corrects a poor inverse-Hessian estimate far more slowly than BFGS under
        // inexact line searches (Powell 1986; N&W §6.1): with c₂ = 0.9 it crawled (MGH
        // 25/38 reached, median 219 evaluations; Wood from (−3, −1, −3, −1) stopped at
        // 10 000 iterations, f = 7e-6). CG's more accurate c₂ = 0.1 and the
        // value-corrected pair: 36/38, median 57; Wood in 22 iterations.
        objective: Some(|s| {
            let how = Assembly {
                c2: 0.1,
                ..s.secant_method()?
            };
            let ls = s.line_search_or_wolfe()?;
            Ok(with_line_search(QuasiNewton::new(QuasiNewtonKind::Dfp), ls, how))
        }),
        ..NONE
    },
    MethodInfo {
        name: "sr1",
        description: "symmetric rank-one quasi-Newton with the skip rule",
        applies_to: FULL_BATCH_USE,
        settings: &[WOLFE, SECANT_STD],
        reference: "Nocedal & Wright (2006), eq. 6.25-6.26",
        objective: Some(|s| {
            let (ls, how) = (s.line_search_or_wolfe()?, s.secant_method()?);
            Ok(with_line_search(QuasiNewton::new(QuasiNewtonKind::Sr1), ls, how))
        }),
        ..NONE
    },
    MethodInfo {
        name: "lbfgs",
        description: "limited-memory BFGS, two-loop recursion",
        applies_to: FULL_BATCH_USE,
        settings: &[
            SettingInfo {
                name: "memory",
                default: "10",
                help: "stored pairs m (N&W §7.2 suggest 3-20; SciPy's and Optim.jl's 10)",
                kind: Kind::Count,
            },
            WOLFE,
            SECANT_VC,
        ],
        default_gtol: 1e-6,
        reference: "Nocedal & Wright (2006), Alg. 7.4; Liu & Nocedal 1989",
        objective: Some(|s| {
            let (ls, how) = (s.line_search_or_wolfe()?, s.secant_method()?);
            Ok(with_line_search(Lbfgs::new(s.count("memory")?), ls, how))
        }),
        bounded: Some(|s, bounds| lbfgsb(s, Some(bounds))),
        bounded_as: Some("lbfgsb"),
        ..NONE
    },
    MethodInfo {
        name: "lbfgsb",
        aliases: &["l-bfgs-b"],
        description: "L-BFGS-B: limited-memory BFGS in a box (generalized Cauchy point, subspace minimization, projected search); lbfgs with bounds runs it",
        applies_to: &[AppliesTo::Objective],
        settings: &[
            SettingInfo {
                name: "memory",
                default: "10",
                help: "stored pairs m (SciPy's maxcor default)",
                kind: Kind::Count,
            },
            SECANT_VC,
        ],
        default_gtol: 1e-10,
        reference: "Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16(5), 1995; Morales & Nocedal, ACM TOMS 38(1), 2011",
        objective: Some(|s| lbfgsb(s, None)),
        bounded: Some(|s, bounds| lbfgsb(s, Some(bounds))),
        ..NONE
    },
    MethodInfo {
        name: "scg",
        aliases: &["trainscg"],
        description: "scaled conjugate gradient: no line search, curvature from one gradient difference (MATLAB's trainscg)",
        applies_to: FULL_BATCH_USE,
        settings: &[
            SettingInfo {
                name: "sigma",
                default: "5e-5",
                help: "step of the gradient difference σ (Møller 1993; trainscg's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "lambda",
                default: "5e-7",
                help: "initial scale λ₁ (Møller 1993; trainscg's default)",
                kind: Kind::Positive,
            },
        ],
        reference: "Møller, A scaled conjugate gradient algorithm for fast supervised learning, Neural Networks 6, 1993",
        objective: Some(|s| Ok(Box::new(ScaledCg::new(s.real("sigma")?, s.real("lambda")?)))),
        ..NONE
    },
    MethodInfo {
        name: "rprop",
        aliases: &["trainrp"],
        description: "resilient backpropagation as MATLAB's trainrp (full batch)",
        applies_to: FULL_BATCH_USE,
        settings: &[
            SettingInfo {
                name: "delta0",
                default: "0.07",
                help: "initial step size Δ₀ (trainrp's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "eta_plus",
                default: "1.2",
                help: "step growth η⁺ (Riedmiller & Braun 1993; trainrp's delt_inc)",
                kind: Kind::AboveOne,
            },
            SettingInfo {
                name: "eta_minus",
                default: "0.5",
                help: "step shrink η⁻ (Riedmiller & Braun 1993; trainrp's delt_dec)",
                kind: Kind::Fraction,
            },
            SettingInfo {
                name: "step_max",
                default: "50",
                help: "largest step size (Riedmiller & Braun 1993; trainrp's deltamax)",
                kind: Kind::Positive,
            },
        ],
        reference: "Riedmiller & Braun, A direct adaptive method for faster backpropagation learning: the RPROP algorithm, ICNN 1993; MATLAB trainrp",
        objective: Some(|s| {
            let mut r = Rprop::trainrp(Schedule::Constant(s.real("delta0")?));
            (r.eta_plus, r.eta_minus) = (s.real("eta_plus")?, s.real("eta_minus")?);
            r.step_max = s.real("step_max")?;
            Ok(Box::new(FixedStep::new(r)))
        }),
        ..NONE
    },
    MethodInfo {
        name: "irprop+",
        aliases: &["irprop-plus"],
        description: "iRprop+: Rprop that undoes a weight's step only when the error grew",
        applies_to: FULL_BATCH_USE,
        settings: &[
            SettingInfo {
                name: "delta0",
                default: "0.0125",
                help: "initial step size Δ₀ (Igel & Hüsken 2003)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "eta_plus",
                default: "1.2",
                help: "step growth η⁺ (Igel & Hüsken 2000)",
                kind: Kind::AboveOne,
            },
            SettingInfo {
                name: "eta_minus",
                default: "0.5",
                help: "step shrink η⁻ (Igel & Hüsken 2000)",
                kind: Kind::Fraction,
            },
            SettingInfo {
                name: "step_max",
                default: "50",
                help: "largest step size (Igel & Hüsken 2000)",
                kind: Kind::Positive,
            },
        ],
        reference: "Igel & Hüsken, Improving the Rprop learning algorithm, NC 2000; Neurocomputing 50, 2003",
        objective: Some(|s| {
            let mut r = IRpropPlus::new(s.real("delta0")?);
            (r.eta_plus, r.eta_minus) = (s.real("eta_plus")?, s.real("eta_minus")?);
            r.step_max = s.real("step_max")?;
            Ok(Box::new(r))
        }),
        ..NONE
    },
    MethodInfo {
        name: "gda",
        aliases: &["traingda"],
        description: "gradient descent with an adaptive rate, the bold driver (MATLAB's traingda)",
        applies_to: FULL_BATCH_USE,
        settings: &BOLD_DRIVER,
        reference: "Vogl et al., Biol. Cybern. 59, 1988; MATLAB traingda",
        objective: Some(|s| Ok(Box::new(bold_driver(s, AdaptiveRate::gda())?))),
        ..NONE
    },
    MethodInfo {
        name: "gdx",
        aliases: &["traingdx"],
        description: "gradient descent with momentum and an adaptive rate (MATLAB's traingdx)",
        applies_to: FULL_BATCH_USE,
        settings: &[
            BOLD_DRIVER[0],
            BOLD_DRIVER[1],
            BOLD_DRIVER[2],
            BOLD_DRIVER[3],
            SettingInfo {
                name: "momentum",
                default: "0.9",
                help: "momentum constant mc (traingdx's default)",
                kind: Kind::Unit,
            },
        ],
        reference: "Vogl et al., Biol. Cybern. 59, 1988; MATLAB traingdx",
        objective: Some(|s| {
            let mut m = bold_driver(s, AdaptiveRate::gdx())?;
            m.momentum = s.real("momentum")?;
            Ok(Box::new(m))
        }),
        ..NONE
    },
    MethodInfo {
        name: "cgb",
        aliases: &["traincgb"],
        description: "conjugate gradient with Powell-Beale restarts (MATLAB's traincgb)",
        applies_to: FULL_BATCH_USE,
        settings: &[WOLFE],
        reference: "Powell, Restart procedures for the conjugate gradient method, Math. Programming 12, 1977; Beale 1972",
        objective: Some(|s| {
            let ls = s.line_search_or_wolfe()?;
            Ok(with_line_search(PowellBeale::default(), ls, Assembly::new(0.1)))
        }),
        ..NONE
    },
    MethodInfo {
        name: "oss",
        aliases: &["trainoss"],
        description: "one-step secant: the BFGS update of the identity by the last step (MATLAB's trainoss)",
        applies_to: FULL_BATCH_USE,
        settings: &[WOLFE],
        reference: "Battiti, First- and second-order methods for learning, Neural Computation 4, 1992",
        objective: Some(|s| {
            let ls = s.line_search_or_wolfe()?;
            let how = Assembly {
                bounded_first_step: true,
                ..Assembly::new(0.9)
            };
            Ok(with_line_search(OneStepSecant::default(), ls, how))
        }),
        ..NONE
    },
    MethodInfo {
        name: "lm",
        aliases: &["levenberg-marquardt"],
        description: "Levenberg-Marquardt: Nielsen damping, MINPACK scaling, geodesic acceleration, a restart (networks: unscaled, as MATLAB's trainlm)",
        applies_to: LSQ_USE,
        needs: RESIDUALS,
        settings: &[
            SettingInfo {
                name: "tau",
                default: "1e-3",
                help: "initial damping relative to the largest diagonal of the scaled JᵀJ (Madsen, Nielsen & Tingleff 2004); 0.1 for networks",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "geodesic",
                default: "true",
                help: "geodesic acceleration (Transtrum & Sethna 2012); off for networks",
                kind: Kind::Flag,
            },
            SettingInfo {
                name: "restart",
                default: "true",
                help: "a second attempt with Marquardt scaling when the first does not converge (fit)",
                kind: Kind::Flag,
            },
            SettingInfo {
                name: "restart_after",
                default: "1000",
                help: "iterations after which an unconverged first attempt restarts",
                kind: Kind::Count,
            },
            SettingInfo {
                name: "mu_max",
                default: "1e100",
                help: "damping ceiling: stop when μ (relative to the scaled JᵀJ) exceeds it; MATLAB's trainlm stops at 1e10 (the default for networks)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "scaling",
                default: "minpack",
                help: "column scaling D: minpack (running maximum of the column norms, Moré 1978), marquardt (current norms), none (D = I, Levenberg 1944 — MATLAB's trainlm, the default for networks)",
                kind: Kind::Choice(&["minpack", "marquardt", "none"]),
            },
            SettingInfo {
                name: "damping",
                default: "nielsen",
                help: "how μ follows the gain ratio: nielsen (Madsen, Nielsen & Tingleff 2004) or matlab (×0.1 after a success, ×10 after a failure: trainlm's mu_dec, mu_inc — the default for networks)",
                kind: Kind::Choice(&["nielsen", "matlab"]),
            },
        ],
        default_gtol: 1e-15,
        reference: "Madsen, Nielsen & Tingleff 2004, Alg. 3.16; Moré 1978 (MINPACK); MATLAB trainlm for networks",
        least_squares: Some(|s, base| {
            Ok(LsqMethod::LevenbergMarquardt.build(&s.fit_options(base)))
        }),
        bounded_least_squares: true,
        ..NONE
    },
    MethodInfo {
        name: "trf",
        description: "trust-region reflective: bounded least squares inside the box (SciPy's least_squares default)",
        applies_to: &[AppliesTo::LeastSquares],
        needs: RESIDUALS,
        reference: "Branch, Coleman & Li, SIAM J. Sci. Comput. 21(1), 1999; as SciPy's least_squares(method='trf')",
        least_squares: Some(|s, base| {
            let o = s.fit_options(base);
            Ok(Box::new(TrustRegionReflective::new(TrfConfig {
                ftol: o.ftol,
                xtol: o.xtol,
                gtol: o.gtol,
                bounds: o.bounds,
            })))
        }),
        bounded_least_squares: true,
        ..NONE
    },
    MethodInfo {
        name: "gn",
        aliases: &["gauss-newton"],
        description: "Gauss-Newton with an Armijo line search",
        applies_to: LSQ_USE,
        needs: RESIDUALS,
        default_gtol: 1e-15,
        reference: "Nocedal & Wright (2006), §10.3",
        least_squares: Some(|s, base| Ok(LsqMethod::GaussNewton.build(&s.fit_options(base)))),
        ..NONE
    },
    MethodInfo {
        name: "diag-gn",
        aliases: &["diagonal-gauss-newton"],
        description: "the diagonal of the Gauss-Newton matrix as a scaling of the gradient",
        applies_to: LSQ_USE,
        needs: RESIDUALS,
        default_gtol: 1e-15,
        reference: "Becker & LeCun 1988 (diagonal approximation); the lecture, eq. 13",
        least_squares: Some(|s, base| {
            Ok(LsqMethod::DiagonalGaussNewton.build(&s.fit_options(base)))
        }),
        ..NONE
    },
    MethodInfo {
        name: "br",
        aliases: &["trainbr", "bayesian-regularization"],
        description: "Bayesian regularization: LM on beta*SSE + alpha*SSW, alpha and beta re-estimated every step (MATLAB's trainbr)",
        applies_to: LSQ_USE,
        needs: RESIDUALS,
        settings: &[
            SettingInfo {
                name: "mu",
                default: "0.005",
                help: "initial damping μ (trainbr's default)",
                kind: Kind::Positive,
            },
            SettingInfo {
                name: "mu_dec",
                default: "0.1",
                help: "μ factor after a successful step (trainbr's default)",
                kind: Kind::Fraction,
            },
            SettingInfo {
                name: "mu_inc",
                default: "10",
                help: "μ factor after a failed trial (trainbr's default)",
                kind: Kind::AboveOne,
            },
            SettingInfo {
                name: "mu_max",
                default: "1e10",
                help: "μ above which training stops (trainbr's default)",
                kind: Kind::Positive,
            },
        ],
        default_gtol: 1e-15,
        reference: "MacKay, Bayesian interpolation, Neural Computation 4, 1992; Foresee & Hagan, ICNN 1997",
        least_squares: Some(|s, _| {
            let mut m = BayesianRegularization::default();
            (m.mu0, m.mu_max) = s.ordered("mu", "mu_max")?;
            (m.mu_dec, m.mu_inc) = (s.real("mu_dec")?, s.real("mu_inc")?);
            Ok(Box::new(m))
        }),
        ..NONE
    },
];

/// The registry entry of `name` (or an alias).
pub fn lookup(name: &str) -> Result<&'static MethodInfo> {
    REGISTRY
        .iter()
        .find(|m| m.name == name || m.aliases.contains(&name))
        .ok_or_else(|| Error::Unknown {
            kind: "method",
            name: name.into(),
            hint: format!(" (expected one of: {})", names(|_| true).join(" ")),
        })
}

/// Names of the methods that satisfy `keep`, in registry order.
pub fn names(keep: impl Fn(&MethodInfo) -> bool) -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|m| keep(m))
        .map(|m| m.name)
        .collect()
}

/// Which line search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineSearchKind {
    /// Bracketing + Brent.
    Exact,
    /// Armijo backtracking.
    Backtracking,
    /// Strong Wolfe.
    Wolfe,
}

impl LineSearchKind {
    /// Parses `exact|backtracking|wolfe`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "exact" => Ok(LineSearchKind::Exact),
            "backtracking" | "armijo" => Ok(LineSearchKind::Backtracking),
            "wolfe" | "strong-wolfe" => Ok(LineSearchKind::Wolfe),
            _ => Err(Error::Unknown {
                kind: "line search",
                name: s.into(),
                hint: " (expected exact, backtracking or wolfe)".into(),
            }),
        }
    }
    /// Short name.
    pub fn as_str(self) -> &'static str {
        match self {
            LineSearchKind::Exact => "exact",
            LineSearchKind::Backtracking => "backtracking",
            LineSearchKind::Wolfe => "wolfe",
        }
    }
}

/// A method with its settings. Unset settings take the registry's defaults; a setting
/// the method does not have, or a value its kind refuses, is an error naming it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MethodSpec {
    /// Method name (see [`REGISTRY`]).
    pub name: String,
    /// The settings given, by name, as checked text (numbers in their shortest form).
    given: Vec<(&'static str, String)>,
}

fn parse_number(setting: &str, value: &str) -> Result<f64> {
    value
        .trim()
        .parse::<f64>()
        .map_err(|_| Error::config(setting, format!("'{value}' is not a number")))
}

fn parse_bool(setting: &str, value: &str) -> Result<bool> {
    match value.trim() {
        "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(Error::config(
            setting,
            format!("'{value}' is not true or false"),
        )),
    }
}

fn parse_count(setting: &str, value: &str) -> Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(0) => Err(Error::config(setting, "must be at least 1")),
        Ok(n) => Ok(n),
        Err(_) => Err(Error::config(
            setting,
            format!("'{value}' is not a whole number"),
        )),
    }
}

impl Kind {
    /// Checks `value` for `setting`; returns it in canonical form.
    fn check(self, setting: &str, value: &str) -> Result<String> {
        let real = |ok: fn(f64) -> bool, what: &str| -> Result<String> {
            let x = parse_number(setting, value)?;
            if ok(x) {
                Ok(x.to_string())
            } else {
                Err(Error::config(setting, format!("must be {what}, got {x}")))
            }
        };
        match self {
            Kind::Positive => real(|x| x > 0.0 && x.is_finite(), "positive and finite"),
            Kind::NonNegative => real(|x| x >= 0.0 && x.is_finite(), "finite and not negative"),
            Kind::Unit => real(|x| (0.0..1.0).contains(&x), "in [0, 1)"),
            Kind::AboveOne => real(|x| x > 1.0 && x.is_finite(), "greater than 1 and finite"),
            Kind::Fraction => real(|x| x > 0.0 && x < 1.0, "in (0, 1)"),
            Kind::Count => parse_count(setting, value).map(|n| n.to_string()),
            Kind::Flag => parse_bool(setting, value).map(|b| b.to_string()),
            Kind::Choice(words) => {
                let v = value.trim();
                if words.contains(&v) {
                    Ok(v.to_string())
                } else {
                    Err(Error::config(
                        setting,
                        format!("unknown '{v}' (expected {})", words.join(", ")),
                    ))
                }
            }
            Kind::Schedule => {
                Schedule::parse(value, 1.0).map_err(|e| Error::config(setting, e))?;
                Ok(value.to_string())
            }
        }
    }
}

impl MethodSpec {
    /// `name` with every setting at its default (checked when built).
    pub fn new(name: &str) -> Self {
        MethodSpec {
            name: name.into(),
            given: Vec::new(),
        }
    }

    /// Parses `NAME[:SETTING=VALUE[:…]]`, e.g. `lbfgs:memory=5`, `adam:lr=0.01`,
    /// `cg:beta=hz:line_search=exact`. Aliases resolve to the registry's name.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or("").trim();
        let info = lookup(name)?;
        let mut m = MethodSpec::new(info.name);
        let rest: Vec<&str> = parts.collect();
        let mut seen: Vec<&str> = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let part = rest[i];
            let (key, value) = part.split_once('=').ok_or_else(|| {
                Error::config(
                    "method",
                    format!("'{part}' in '{spec}' is not SETTING=VALUE"),
                )
            })?;
            // A schedule's own colons (`schedule=cosine:2000`): the parts after it that
            // are not SETTING=VALUE belong to it.
            let mut value = value.to_string();
            if key.trim() == "schedule" {
                while i + 1 < rest.len() && !rest[i + 1].contains('=') {
                    value.push(':');
                    value.push_str(rest[i + 1]);
                    i += 1;
                }
            }
            let key = key.trim();
            if seen.contains(&key) {
                return Err(Error::config(
                    "method",
                    format!("'{key}' is set twice in '{spec}'"),
                ));
            }
            seen.push(key);
            m.set(key, &value)?;
            i += 1;
        }
        Ok(m)
    }

    /// The registry entry.
    pub fn info(&self) -> Result<&'static MethodInfo> {
        lookup(&self.name)
    }

    /// Sets `setting` from text, refusing a setting the method does not have and a value
    /// its kind does not take.
    /// A setting's name may be spelled with hyphens (`line-search`), as CLI flags are.
    pub fn set(&mut self, setting: &str, value: &str) -> Result<()> {
        let info = self.info()?;
        let st = info
            .setting(&setting.replace('-', "_"))
            .ok_or_else(|| not_a_setting(info, setting))?;
        let value = st.kind.check(st.name, value)?;
        match self.given.iter_mut().find(|(k, _)| *k == st.name) {
            Some((_, v)) => *v = value,
            None => self.given.push((st.name, value)),
        }
        // Registry order, so that one method with the same settings prints one way.
        let order = |k: &str| info.settings.iter().position(|s| s.name == k);
        self.given.sort_by_key(|(k, _)| order(k));
        Ok(())
    }

    /// The settings given (not left at their defaults), by name, in registry order.
    pub fn given(&self) -> Vec<(&'static str, String)> {
        self.given.clone()
    }

    /// The value of `setting` as given, if it was.
    pub fn given_value(&self, setting: &str) -> Option<&str> {
        self.given
            .iter()
            .find(|(k, _)| *k == setting)
            .map(|(_, v)| v.as_str())
    }

    /// A given setting, parsed (set() stored it in canonical form, so it parses).
    fn given_parsed<T: std::str::FromStr>(&self, setting: &str) -> Option<T> {
        self.given_value(setting).and_then(|v| v.parse().ok())
    }

    /// Checks that the method exists and every given setting belongs to it.
    pub fn check(&self) -> Result<&'static MethodInfo> {
        let info = self.info()?;
        for (k, v) in &self.given {
            let st = info.setting(k).ok_or_else(|| not_a_setting(info, k))?;
            st.kind.check(k, v)?;
        }
        Ok(info)
    }

    /// The value of `setting`: as given, or the registry's default.
    pub fn text(&self, setting: &str) -> Result<&str> {
        if let Some(v) = self.given_value(setting) {
            return Ok(v);
        }
        let info = self.info()?;
        info.setting(setting)
            .map(|s| s.default)
            .ok_or_else(|| not_a_setting(info, setting))
    }

    /// A real-valued setting.
    pub fn real(&self, setting: &str) -> Result<f64> {
        parse_number(setting, self.text(setting)?)
    }

    /// Two numeric settings that bound a range, `low` ≤ `high` (each is checked alone by
    /// its kind; a pair the other way round clamped to an empty range and panicked).
    pub fn ordered(&self, low: &str, high: &str) -> Result<(f64, f64)> {
        let (a, b) = (self.real(low)?, self.real(high)?);
        if a > b {
            return Err(Error::config(
                low,
                format!("{a} is above {high} ({b}); it must not be"),
            ));
        }
        Ok((a, b))
    }

    /// A whole-number setting.
    pub fn count(&self, setting: &str) -> Result<usize> {
        parse_count(setting, self.text(setting)?)
    }

    /// A true/false setting.
    pub fn flag(&self, setting: &str) -> Result<bool> {
        parse_bool(setting, self.text(setting)?)
    }

    /// The learning-rate schedule of a step rule (`lr` and `schedule`).
    pub fn schedule(&self) -> Result<Schedule> {
        let lr = self.real("lr")?;
        match self.given_value("schedule") {
            None => Ok(Schedule::Constant(lr)),
            Some(s) => Schedule::parse(s, lr).map_err(|e| Error::config("schedule", e)),
        }
    }

    /// The line search (`None`: gd's fixed rate).
    pub fn line_search(&self) -> Result<Option<LineSearchKind>> {
        match self.text("line_search")? {
            "none" => Ok(None),
            other => LineSearchKind::parse(other).map(Some),
        }
    }

    fn line_search_or_wolfe(&self) -> Result<LineSearchKind> {
        Ok(self.line_search()?.unwrap_or(LineSearchKind::Wolfe))
    }

    /// A secant method: c₂ = 0.9, bounded first step, the chosen curvature pair.
    fn secant_method(&self) -> Result<Assembly> {
        let secant = SecantPair::parse(self.text("secant")?).unwrap_or(SecantPair::Standard);
        Ok(Assembly {
            secant,
            bounded_first_step: true,
            ..Assembly::new(0.9)
        })
    }

    /// The gradient tolerance the method stops at by default on objectives: 1e-6 for
    /// `bfgs` and `lbfgs`, [`Options::default`]'s 1e-8 for the other methods.
    ///
    /// BFGS and L-BFGS end superlinearly: each of their last steps cuts ‖∇f‖ by a growing
    /// factor, so the iterate that first passes 1e-6 is usually far below it, and the
    /// 1e-8 test mostly buys one more step. Measured on the 38 Moré–Garbow–Hillstrom
    /// instances (`examples/mgh_suite.rs`): both still reach f* on all 38, and L-BFGS's
    /// median run is 2 evaluations shorter. Methods that converge linearly (CG, Newton-CG's
    /// inexact steps, SR1/DFP here, gradient methods) stop close to the tolerance, where
    /// 1e-6 would cost accuracy: CG reaches 3 instances fewer with it.
    pub fn default_gtol(&self) -> f64 {
        self.info()
            .map_or(Options::default().gtol, |i| i.default_gtol)
    }

    /// The default gradient tolerance when the run keeps to `bounds`: that of the method
    /// actually run (`lbfgs` in a box runs `lbfgsb`, whose projected-gradient test is
    /// tighter: on a face or towards a minimum at infinity the projected gradient bounds
    /// f − f* less closely than a free gradient does).
    pub fn default_gtol_within(&self, bounds: &Bounds) -> f64 {
        match self.info().ok().and_then(|i| i.bounded_as) {
            Some(name) if !bounds.is_unbounded() => MethodSpec::new(name).default_gtol(),
            _ => self.default_gtol(),
        }
    }

    /// [`Options::default`] with this method's [`MethodSpec::default_gtol`].
    pub fn default_options(&self) -> Options {
        Options {
            gtol: self.default_gtol(),
            ..Options::default()
        }
    }

    /// The step rule of a method that runs on mini-batches (`gd`, `momentum`, `adam`, …).
    pub fn step_rule(&self) -> Result<Box<dyn StepRule + Send>> {
        let info = self.check()?;
        match info.step_rule {
            Some(build) if info.applies(AppliesTo::Minibatch) => build(self),
            _ => Err(Error::NotApplicable {
                method: self.name.clone(),
                why: "it does not train on mini-batches".into(),
            }),
        }
    }

    /// Builds the method for objectives.
    pub fn build(&self) -> Result<Box<dyn Minimizer>> {
        let info = self.check()?;
        if !info.applies(AppliesTo::Objective) {
            let why = if info.applies(AppliesTo::Minibatch) {
                "it trains networks only (descent train): it works on their weight matrices, and an objective has none"
            } else {
                "it needs residuals (a least-squares problem), not only an objective"
            };
            return Err(Error::NotApplicable {
                method: self.name.clone(),
                why: why.into(),
            });
        }
        match (info.objective, info.step_rule) {
            (Some(build), _) => build(self),
            (None, Some(rule)) => Ok(Box::new(FixedStep::new(rule(self)?))),
            (None, None) => Err(Error::NotApplicable {
                method: self.name.clone(),
                why: "it has no builder for objectives".into(),
            }),
        }
    }

    /// Builds the method for objectives kept in `bounds`: its own bounded form (`lbfgsb`,
    /// which `lbfgs` becomes), or, for a step rule, the rule with each step projected onto
    /// the box. A method that cannot keep to a box is refused, saying which can. Without
    /// any finite bound this is [`MethodSpec::build`].
    pub fn build_bounded(&self, bounds: &Bounds) -> Result<Box<dyn Minimizer>> {
        if bounds.is_unbounded() {
            return self.build();
        }
        let info = self.check()?;
        if !info.applies(AppliesTo::Objective) {
            return self.build();
        }
        match (info.bounded, info.objective, info.step_rule) {
            (Some(build), _, _) => build(self, bounds.clone()),
            (None, None, Some(rule)) => {
                Ok(Box::new(FixedStep::new(rule(self)?).within(bounds.clone())))
            }
            _ => Err(Error::NotApplicable {
                method: self.name.clone(),
                why: format!(
                    "it cannot keep to bounds; methods that can: {}",
                    names(|i| i.bounded.is_some()
                        || (i.objective.is_none()
                            && i.step_rule.is_some()
                            && i.applies(AppliesTo::Objective)))
                    .join(", ")
                ),
            }),
        }
    }

    /// The least-squares options this spec sets on top of `base` (τ, geodesic, restart).
    pub fn fit_options(&self, base: &FitOptions) -> FitOptions {
        FitOptions {
            tau: self.given_parsed("tau").unwrap_or(base.tau),
            geodesic: self.given_parsed("geodesic").unwrap_or(base.geodesic),
            restart: self.given_parsed("restart").unwrap_or(base.restart),
            restart_after: self
                .given_parsed("restart_after")
                .unwrap_or(base.restart_after),
            mu_max: self.given_parsed("mu_max").unwrap_or(base.mu_max),
            scaling: self.given_parsed("scaling").unwrap_or(base.scaling),
            damping: self.given_parsed("damping").unwrap_or(base.damping),
            ..base.clone()
        }
    }

    /// The least-squares method of this spec as the [`LsqMethod`] enum (`lm`, `gn`,
    /// `diag-gn`; other least-squares methods, such as `br`, are built with
    /// [`MethodSpec::build_least_squares`]).
    pub fn least_squares_method(&self) -> Result<LsqMethod> {
        let info = self.check()?;
        if !info.applies(AppliesTo::LeastSquares) {
            return Err(Error::NotApplicable {
                method: self.name.clone(),
                why: "it is not a least-squares method (lm, gn, diag-gn)".into(),
            });
        }
        LsqMethod::parse(info.name)
    }

    /// Builds the method for least-squares problems, with `base`'s tolerances.
    pub fn build_least_squares(
        &self,
        base: &FitOptions,
    ) -> Result<Box<dyn Minimizer<OnLeastSquares>>> {
        let info = self.check()?;
        if base.bounds.as_ref().is_some_and(|b| !b.is_unbounded()) && !info.bounded_least_squares {
            return Err(Error::NotApplicable {
                method: self.name.clone(),
                why: format!(
                    "it cannot keep to bounds; {} can",
                    names(|i| i.bounded_least_squares).join(" and ")
                ),
            });
        }
        match info.least_squares {
            Some(build) if info.applies(AppliesTo::LeastSquares) => build(self, base),
            _ => Err(Error::NotApplicable {
                method: self.name.clone(),
                why: "it is not a least-squares method".into(),
            }),
        }
    }
}

impl fmt::Display for MethodSpec {
    /// `NAME[:SETTING=VALUE…]`, the form [`MethodSpec::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (k, v) in self.given() {
            write!(f, ":{k}={v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for MethodSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        MethodSpec::parse(s)
    }
}

fn not_a_setting(info: &MethodInfo, setting: &str) -> Error {
    let has = if info.settings.is_empty() {
        "it has no settings".to_string()
    } else {
        format!(
            "its settings: {}",
            info.settings
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Error::config(
        setting,
        format!("does not apply to method '{}' ({has})", info.name),
    )
}

/// How a direction is put together with its line search.
#[derive(Clone, Copy)]
struct Assembly {
    /// Strong Wolfe curvature constant.
    c2: f64,
    /// Watchdog (see [`LineSearchMethod::with_watchdog`]); Newton uses it.
    watchdog: bool,
    secant: SecantPair,
    /// See [`LineSearchMethod::with_bounded_first_step`]; the secant methods use it.
    bounded_first_step: bool,
}

impl Assembly {
    fn new(c2: f64) -> Self {
        Assembly {
            c2,
            watchdog: false,
            secant: SecantPair::Standard,
            bounded_first_step: false,
        }
    }
    fn watchdog(mut self) -> Self {
        self.watchdog = true;
        self
    }
}

fn with_line_search<D: crate::direction::Direction + 'static>(
    d: D,
    kind: LineSearchKind,
    how: Assembly,
) -> Box<dyn Minimizer> {
    fn boxed<D: crate::direction::Direction + 'static, L: LineSearch + 'static>(
        d: D,
        l: L,
        how: Assembly,
    ) -> Box<dyn Minimizer> {
        let mut m = LineSearchMethod::new(d, l).with_secant(how.secant);
        if how.watchdog {
            m = m.with_watchdog();
        }
        if how.bounded_first_step {
            m = m.with_bounded_first_step();
        }
        Box::new(m)
    }
    match kind {
        LineSearchKind::Exact => boxed(d, Exact::default(), how),
        LineSearchKind::Backtracking => boxed(d, Backtracking::default(), how),
        LineSearchKind::Wolfe => boxed(d, StrongWolfe::with_c2(how.c2), how),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_method_builds_where_it_applies() {
        for info in REGISTRY {
            let spec = MethodSpec::new(info.name);
            assert_eq!(
                spec.build().is_ok(),
                info.applies(AppliesTo::Objective),
                "{}",
                info.name
            );
            assert_eq!(
                spec.step_rule().is_ok(),
                info.applies(AppliesTo::Minibatch),
                "{}",
                info.name
            );
            assert_eq!(
                spec.build_least_squares(&FitOptions::default()).is_ok(),
                info.applies(AppliesTo::LeastSquares),
                "{}",
                info.name
            );
            for s in info.settings {
                let mut m = MethodSpec::new(info.name);
                if s.default != "none" {
                    m.set(s.name, s.default).unwrap();
                    assert!(m.check().is_ok(), "{}:{}={}", info.name, s.name, s.default);
                }
            }
        }
    }

    #[test]
    fn specs_parse_print_and_refuse_foreign_settings() {
        let m = MethodSpec::parse("lbfgs:secant=standard:memory=5").unwrap();
        assert_eq!(m.count("memory").unwrap(), 5);
        assert_eq!(m.to_string(), "lbfgs:memory=5:secant=standard");
        assert_eq!(MethodSpec::parse(&m.to_string()).unwrap(), m);
        let s = MethodSpec::parse("adam:lr=0.01:schedule=cosine:2000:beta1=0.8").unwrap();
        assert_eq!(s.given_value("schedule"), Some("cosine:2000"));
        assert_eq!(s.given_value("beta1"), Some("0.8"));
        assert_eq!(MethodSpec::parse("sgd").unwrap().name, "gd");
        let e = MethodSpec::parse("bfgs:memory=5").unwrap_err().to_string();
        assert!(e.contains("memory") && e.contains("bfgs"), "{e}");
        let e = MethodSpec::new("lbfgs")
            .set("lr", "0.1")
            .expect_err("refused")
            .to_string();
        assert!(e.contains("lr") && e.contains("lbfgs"), "{e}");
        assert!(MethodSpec::parse("cg:beta=nope").is_err());
        assert!(MethodSpec::parse("lbfgs:memory").is_err());
        for bad in [
            "lbfgs:memory=0",
            "adam:beta1=1",
            "adam:lr=-1",
            "gd:schedule=nope",
        ] {
            let e = MethodSpec::parse(bad).unwrap_err().to_string();
            let setting = bad.split(':').nth(1).unwrap().split('=').next().unwrap();
            assert!(e.contains(setting), "{bad}: {e}");
        }
        assert!(MethodSpec::parse("nope").is_err());
    }
}
