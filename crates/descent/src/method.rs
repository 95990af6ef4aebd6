//! The registry: every method by name, once — what it is, where it applies, what it needs,
//! its settings with their defaults and sources — and [`MethodSpec`], a method with its
//! settings, parsed once at the edge (`lbfgs:memory=5:secant=standard`) and built into a
//! [`Minimizer`] for objectives, one for least squares, or a [`StepRule`] for mini-batch
//! training. `minimize`, `fit`, `train`, `compare` and `report` all build from here, so a
//! name has one meaning and one set of defaults everywhere.
//!
//! Adding a method: its file (with its reference), one [`MethodInfo`] in [`REGISTRY`], and
//! its arm in the builder it applies to ([`MethodSpec::build`], [`MethodSpec::step_rule`],
//! [`MethodSpec::build_least_squares`]).

use crate::direction::{
    CgBeta, Lbfgs, LineSearchMethod, Newton, NewtonCg, NonlinearCg, QuasiNewton, QuasiNewtonKind,
    SecantPair, Steepest,
};
use crate::driver::{Minimizer, OnLeastSquares, Options};
use crate::error::{Error, Result};
use crate::least_squares::{FitOptions, LsqMethod};
use crate::linesearch::{Backtracking, Exact, LineSearch, StrongWolfe};
use crate::update::{
    Adagrad, Adam, FixedStep, Momentum, MomentumForm, Nesterov, RmsProp, Schedule, Sgd, StepRule,
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

/// One setting of a method, with its default as text (as it would be typed).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SettingInfo {
    /// Name, as in `NAME:setting=value`.
    pub name: &'static str,
    /// Default value.
    pub default: &'static str,
    /// What it does and where the default comes from.
    pub help: &'static str,
}

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
};
const MOMENTUM: SettingInfo = SettingInfo {
    name: "momentum",
    default: "0.9",
    help: "momentum coefficient μ (Sutskever et al. 2013)",
};
const WOLFE: SettingInfo = SettingInfo {
    name: "line_search",
    default: "wolfe",
    help: "exact (bracketing + Brent), backtracking (Armijo) or wolfe (strong Wolfe, N&W Alg. 3.5)",
};
const SGD_LR: SettingInfo = SettingInfo {
    name: "lr",
    default: "1e-3",
    help: "learning rate (torch.optim.SGD's default)",
};
const ADAM_SETTINGS: [SettingInfo; 5] = [
    SettingInfo {
        name: "lr",
        default: "1e-3",
        help: "step size α (Kingma & Ba 2015)",
    },
    SettingInfo {
        name: "beta1",
        default: "0.9",
        help: "first-moment decay β₁ (Kingma & Ba 2015)",
    },
    SettingInfo {
        name: "beta2",
        default: "0.999",
        help: "second-moment decay β₂ (Kingma & Ba 2015)",
    },
    SettingInfo {
        name: "eps",
        default: "1e-8",
        help: "ε (Kingma & Ba 2015)",
    },
    LR_SCHEDULE,
];
const SECANT_VC: SettingInfo = SettingInfo {
    name: "secant",
    default: "value-corrected",
    help: "curvature pair: value-corrected (Zhang, Deng & Chen 1999, u = y) or standard",
};
const SECANT_STD: SettingInfo = SettingInfo {
    name: "secant",
    default: "standard",
    help: "curvature pair: standard (y = g₊ − g) or value-corrected",
};

const STEP_RULE_USE: &[AppliesTo] = &[AppliesTo::Objective, AppliesTo::Minibatch];
const FULL_BATCH_USE: &[AppliesTo] = &[AppliesTo::Objective, AppliesTo::Fullbatch];
const LSQ_USE: &[AppliesTo] = &[AppliesTo::LeastSquares, AppliesTo::Fullbatch];
const GRADIENT: &[Need] = &[Need::Value, Need::Gradient];
const RESIDUALS: &[Need] = &[Need::Residuals, Need::Jacobian];

/// Every method, once.
pub static REGISTRY: &[MethodInfo] = &[
    MethodInfo {
        name: "gd",
        aliases: &["sgd"],
        description: "gradient descent: fixed rate (with a schedule), or any line search",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &[
            SGD_LR,
            LR_SCHEDULE,
            SettingInfo {
                name: "line_search",
                default: "none",
                help: "none (fixed rate), exact, backtracking or wolfe (objectives only)",
            },
        ],
        default_gtol: 1e-8,
        reference: "Cauchy 1847; the lecture, eq. 1",
    },
    MethodInfo {
        name: "momentum",
        aliases: &[],
        description: "heavy-ball momentum w+ = w - lr*grad + mu*(w - w-), or the velocity form",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &[
            SGD_LR,
            MOMENTUM,
            SettingInfo {
                name: "form",
                default: "heavy-ball",
                help: "heavy-ball (keeps w₋) or velocity (keeps Δ); the same iterates at a constant rate",
            },
            LR_SCHEDULE,
        ],
        default_gtol: 1e-8,
        reference: "Polyak 1964; Rumelhart, Hinton & Williams 1986",
    },
    MethodInfo {
        name: "nesterov",
        aliases: &[],
        description: "Nesterov accelerated gradient (gradient at the look-ahead point)",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &[SGD_LR, MOMENTUM, LR_SCHEDULE],
        default_gtol: 1e-8,
        reference: "Nesterov 1983; Sutskever, Martens, Dahl & Hinton 2013",
    },
    MethodInfo {
        name: "adam",
        aliases: &[],
        description: "Adam with bias correction",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &ADAM_SETTINGS,
        default_gtol: 1e-8,
        reference: "Kingma & Ba, Adam: a method for stochastic optimization, ICLR 2015",
    },
    MethodInfo {
        name: "adamw",
        aliases: &[],
        description: "Adam with decoupled weight decay",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &[
            ADAM_SETTINGS[0],
            ADAM_SETTINGS[1],
            ADAM_SETTINGS[2],
            ADAM_SETTINGS[3],
            SettingInfo {
                name: "weight_decay",
                default: "1e-2",
                help: "decoupled weight decay λ (torch.optim.AdamW's default)",
            },
            LR_SCHEDULE,
        ],
        default_gtol: 1e-8,
        reference: "Loshchilov & Hutter, Decoupled weight decay regularization, ICLR 2019",
    },
    MethodInfo {
        name: "amsgrad",
        aliases: &[],
        description: "Adam with the running maximum of the second moment",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &ADAM_SETTINGS,
        default_gtol: 1e-8,
        reference: "Reddi, Kale & Kumar, On the convergence of Adam and beyond, ICLR 2018",
    },
    MethodInfo {
        name: "rmsprop",
        aliases: &[],
        description: "RMSprop: the gradient scaled by a running RMS",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1e-3",
                help: "learning rate (Keras' default)",
            },
            SettingInfo {
                name: "decay",
                default: "0.9",
                help: "decay of the running mean of g² (Tieleman & Hinton 2012)",
            },
            SettingInfo {
                name: "eps",
                default: "1e-8",
                help: "ε",
            },
            LR_SCHEDULE,
        ],
        default_gtol: 1e-8,
        reference: "Tieleman & Hinton, Lecture 6.5, COURSERA Neural Networks 2012",
    },
    MethodInfo {
        name: "adagrad",
        aliases: &[],
        description: "Adagrad: the gradient scaled by the root of the summed g²",
        applies_to: STEP_RULE_USE,
        needs: GRADIENT,
        settings: &[
            SettingInfo {
                name: "lr",
                default: "1e-2",
                help: "learning rate (torch.optim.Adagrad's default)",
            },
            SettingInfo {
                name: "eps",
                default: "1e-10",
                help: "ε (torch.optim.Adagrad's default)",
            },
            LR_SCHEDULE,
        ],
        default_gtol: 1e-8,
        reference: "Duchi, Hazan & Singer, JMLR 12, 2011",
    },
    MethodInfo {
        name: "newton",
        aliases: &[],
        description: "Newton with a line search and the watchdog; shifted Cholesky when the Hessian is indefinite",
        applies_to: &[AppliesTo::Objective],
        needs: &[Need::Value, Need::Gradient, Need::Hessian],
        settings: &[WOLFE],
        default_gtol: 1e-8,
        reference: "Nocedal & Wright, Numerical Optimization (2006), Alg. 3.3; Chamberlain et al. 1982 (watchdog)",
    },
    MethodInfo {
        name: "newton-cg",
        aliases: &[],
        description: "truncated Newton: CG on Hessian-vector products",
        applies_to: FULL_BATCH_USE,
        needs: &[Need::Value, Need::Gradient, Need::HessianVector],
        settings: &[WOLFE],
        default_gtol: 1e-8,
        reference: "Nocedal & Wright (2006), Alg. 7.1",
    },
    MethodInfo {
        name: "hf",
        aliases: &[],
        description: "Hessian-free: CG on damped Gauss-Newton products (networks, least squares)",
        applies_to: FULL_BATCH_USE,
        needs: &[Need::Value, Need::Gradient, Need::GaussNewtonVector],
        settings: &[WOLFE],
        default_gtol: 1e-8,
        reference: "Martens, Deep learning via Hessian-free optimization, ICML 2010",
    },
    MethodInfo {
        name: "cg",
        aliases: &[],
        description: "nonlinear conjugate gradient, beta = fr|pr|prplus|hs|dy|hz",
        applies_to: FULL_BATCH_USE,
        needs: GRADIENT,
        settings: &[
            SettingInfo {
                name: "beta",
                default: "prplus",
                help: "β formula: fr, pr, prplus (Gilbert & Nocedal 1992), hs, dy, hz",
            },
            WOLFE,
        ],
        default_gtol: 1e-8,
        reference: "Nocedal & Wright (2006), §5.2; Hager & Zhang 2006 (hz)",
    },
    MethodInfo {
        name: "bfgs",
        aliases: &[],
        description: "BFGS quasi-Newton on a dense inverse Hessian",
        applies_to: FULL_BATCH_USE,
        needs: GRADIENT,
        settings: &[WOLFE, SECANT_VC],
        default_gtol: 1e-6,
        reference: "Nocedal & Wright (2006), Alg. 6.1",
    },
    MethodInfo {
        name: "dfp",
        aliases: &[],
        description: "DFP quasi-Newton on a dense inverse Hessian (strong Wolfe c2 = 0.1)",
        applies_to: FULL_BATCH_USE,
        needs: GRADIENT,
        settings: &[WOLFE, SECANT_VC],
        default_gtol: 1e-8,
        reference: "Nocedal & Wright (2006), eq. 6.15",
    },
    MethodInfo {
        name: "sr1",
        aliases: &[],
        description: "symmetric rank-one quasi-Newton with the skip rule",
        applies_to: FULL_BATCH_USE,
        needs: GRADIENT,
        settings: &[WOLFE, SECANT_STD],
        default_gtol: 1e-8,
        reference: "Nocedal & Wright (2006), eq. 6.25-6.26",
    },
    MethodInfo {
        name: "lbfgs",
        aliases: &[],
        description: "limited-memory BFGS, two-loop recursion",
        applies_to: FULL_BATCH_USE,
        needs: GRADIENT,
        settings: &[
            SettingInfo {
                name: "memory",
                default: "10",
                help: "stored pairs m (N&W §7.2 suggest 3-20; SciPy's and Optim.jl's 10)",
            },
            WOLFE,
            SECANT_VC,
        ],
        default_gtol: 1e-6,
        reference: "Nocedal & Wright (2006), Alg. 7.4; Liu & Nocedal 1989",
    },
    MethodInfo {
        name: "lm",
        aliases: &["levenberg-marquardt"],
        description: "Levenberg-Marquardt: Nielsen damping, MINPACK scaling, geodesic acceleration, a restart",
        applies_to: LSQ_USE,
        needs: RESIDUALS,
        settings: &[
            SettingInfo {
                name: "tau",
                default: "1e-3",
                help: "initial damping relative to the scaled JᵀJ (Madsen, Nielsen & Tingleff 2004)",
            },
            SettingInfo {
                name: "geodesic",
                default: "true",
                help: "geodesic acceleration (Transtrum & Sethna 2012); off for networks",
            },
            SettingInfo {
                name: "restart",
                default: "true",
                help: "a second attempt with Marquardt scaling when the first does not converge (fit)",
            },
            SettingInfo {
                name: "restart_after",
                default: "1000",
                help: "iterations after which an unconverged first attempt restarts",
            },
        ],
        default_gtol: 1e-15,
        reference: "Madsen, Nielsen & Tingleff 2004, Alg. 3.16; Moré 1978 (MINPACK)",
    },
    MethodInfo {
        name: "gn",
        aliases: &["gauss-newton"],
        description: "Gauss-Newton with an Armijo line search",
        applies_to: LSQ_USE,
        needs: RESIDUALS,
        settings: &[],
        default_gtol: 1e-15,
        reference: "Nocedal & Wright (2006), §10.3",
    },
    MethodInfo {
        name: "diag-gn",
        aliases: &["diagonal-gauss-newton"],
        description: "the diagonal of the Gauss-Newton matrix as a scaling of the gradient",
        applies_to: LSQ_USE,
        needs: RESIDUALS,
        settings: &[],
        default_gtol: 1e-15,
        reference: "Becker & LeCun 1988 (diagonal approximation); the lecture, eq. 13",
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
/// the method does not have is an error naming it ([`MethodSpec::check`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MethodSpec {
    /// Method name (see [`REGISTRY`]).
    pub name: String,
    /// Line search (methods with a `line_search` setting).
    pub line_search: Option<LineSearchKind>,
    /// CG β formula (`cg`).
    pub beta: Option<CgBeta>,
    /// L-BFGS memory (`lbfgs`).
    pub memory: Option<usize>,
    /// Learning rate (step rules).
    pub lr: Option<f64>,
    /// Schedule spec (see [`Schedule::parse`]).
    pub schedule: Option<String>,
    /// Momentum coefficient (`momentum`, `nesterov`).
    pub momentum: Option<f64>,
    /// Momentum formula (`momentum`).
    pub momentum_form: Option<MomentumForm>,
    /// Decoupled weight decay (`adamw`).
    pub weight_decay: Option<f64>,
    /// Curvature pair of the secant methods.
    pub secant: Option<SecantPair>,
    /// β₁ (Adam family).
    pub beta1: Option<f64>,
    /// β₂ (Adam family).
    pub beta2: Option<f64>,
    /// ε (Adam family, RMSprop, Adagrad).
    pub eps: Option<f64>,
    /// Decay of RMSprop's running mean of g².
    pub decay: Option<f64>,
    /// Levenberg–Marquardt's initial damping τ.
    pub tau: Option<f64>,
    /// Levenberg–Marquardt's geodesic acceleration.
    pub geodesic: Option<bool>,
    /// Levenberg–Marquardt's restart.
    pub restart: Option<bool>,
    /// Iterations of Levenberg–Marquardt's first attempt.
    pub restart_after: Option<u64>,
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

impl MethodSpec {
    /// `name` with every setting at its default (checked when built).
    pub fn new(name: &str) -> Self {
        MethodSpec {
            name: name.into(),
            ..MethodSpec::default()
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
            m.set(key.trim(), &value)?;
            i += 1;
        }
        Ok(m)
    }

    /// The registry entry.
    pub fn info(&self) -> Result<&'static MethodInfo> {
        lookup(&self.name)
    }

    /// Sets `setting` from text, refusing a setting the method does not have.
    pub fn set(&mut self, setting: &str, value: &str) -> Result<()> {
        let info = self.info()?;
        if info.setting(setting).is_none() {
            return Err(not_a_setting(info, setting));
        }
        let number = || parse_number(setting, value);
        match setting {
            "lr" => self.lr = Some(number()?),
            "schedule" => self.schedule = Some(value.to_string()),
            "momentum" => self.momentum = Some(number()?),
            "form" => {
                self.momentum_form = Some(match value {
                    "heavy-ball" | "heavyball" => MomentumForm::HeavyBall,
                    "velocity" => MomentumForm::Velocity,
                    _ => {
                        return Err(Error::config(
                            "form",
                            format!("unknown '{value}' (expected heavy-ball or velocity)"),
                        ))
                    }
                })
            }
            "weight_decay" => self.weight_decay = Some(number()?),
            "beta1" => self.beta1 = Some(number()?),
            "beta2" => self.beta2 = Some(number()?),
            "eps" => self.eps = Some(number()?),
            "decay" => self.decay = Some(number()?),
            "tau" => self.tau = Some(number()?),
            "geodesic" => self.geodesic = Some(parse_bool(setting, value)?),
            "restart" => self.restart = Some(parse_bool(setting, value)?),
            "memory" => {
                self.memory = Some(value.trim().parse().map_err(|_| {
                    Error::config("memory", format!("'{value}' is not a whole number"))
                })?)
            }
            "restart_after" => {
                self.restart_after = Some(value.trim().parse().map_err(|_| {
                    Error::config("restart_after", format!("'{value}' is not a whole number"))
                })?)
            }
            "beta" => {
                self.beta = Some(CgBeta::parse(value).ok_or_else(|| {
                    Error::config(
                        "beta",
                        format!("unknown '{value}' (expected fr, pr, prplus, hs, dy or hz)"),
                    )
                })?)
            }
            "secant" => {
                self.secant = Some(SecantPair::parse(value).ok_or_else(|| {
                    Error::config(
                        "secant",
                        format!("unknown '{value}' (expected standard or value-corrected)"),
                    )
                })?)
            }
            "line_search" => {
                self.line_search = match value {
                    "none" => None,
                    other => Some(LineSearchKind::parse(other)?),
                }
            }
            other => unreachable!("setting '{other}' is in the registry but has no parser"),
        }
        Ok(())
    }

    /// The settings given (not left at their defaults), by name.
    pub fn given(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = Vec::new();
        let mut put = |k: &'static str, s: Option<String>| {
            if let Some(s) = s {
                v.push((k, s));
            }
        };
        put("lr", self.lr.map(|x| x.to_string()));
        put("schedule", self.schedule.clone());
        put("momentum", self.momentum.map(|x| x.to_string()));
        put(
            "form",
            self.momentum_form.map(|f| {
                match f {
                    MomentumForm::HeavyBall => "heavy-ball",
                    MomentumForm::Velocity => "velocity",
                }
                .to_string()
            }),
        );
        put("weight_decay", self.weight_decay.map(|x| x.to_string()));
        put("beta1", self.beta1.map(|x| x.to_string()));
        put("beta2", self.beta2.map(|x| x.to_string()));
        put("eps", self.eps.map(|x| x.to_string()));
        put("decay", self.decay.map(|x| x.to_string()));
        put("tau", self.tau.map(|x| x.to_string()));
        put("geodesic", self.geodesic.map(|x| x.to_string()));
        put("restart", self.restart.map(|x| x.to_string()));
        put("memory", self.memory.map(|x| x.to_string()));
        put("restart_after", self.restart_after.map(|x| x.to_string()));
        put("beta", self.beta.map(|b| b.as_str().to_string()));
        put("secant", self.secant.map(|s| s.name().to_string()));
        put(
            "line_search",
            self.line_search.map(|l| l.as_str().to_string()),
        );
        v
    }

    /// Checks that every given setting belongs to the method and is in range.
    pub fn check(&self) -> Result<&'static MethodInfo> {
        let info = self.info()?;
        for (k, _) in self.given() {
            if info.setting(k).is_none() {
                return Err(not_a_setting(info, k));
            }
        }
        let in_unit = |name: &str, v: Option<f64>| -> Result<()> {
            match v {
                Some(x) if !(0.0..1.0).contains(&x) => {
                    Err(Error::config(name, format!("must be in [0, 1), got {x}")))
                }
                _ => Ok(()),
            }
        };
        in_unit("momentum", self.momentum)?;
        in_unit("beta1", self.beta1)?;
        in_unit("beta2", self.beta2)?;
        in_unit("decay", self.decay)?;
        for (name, v) in [
            ("eps", self.eps),
            ("tau", self.tau),
            ("weight_decay", self.weight_decay),
        ] {
            if let Some(x) = v {
                if !(x >= 0.0 && x.is_finite()) {
                    return Err(Error::config(
                        name,
                        format!("must be finite and not negative, got {x}"),
                    ));
                }
            }
        }
        if self.memory == Some(0) {
            return Err(Error::config("memory", "must be at least 1"));
        }
        Ok(info)
    }

    /// The default value of `setting` for this method, parsed.
    fn default_number(&self, setting: &str) -> f64 {
        self.info()
            .ok()
            .and_then(|i| i.setting(setting))
            .and_then(|s| s.default.parse().ok())
            .unwrap_or_else(|| panic!("'{setting}' has a numeric default in the registry"))
    }

    /// The learning-rate schedule of a step rule.
    fn schedule(&self) -> Result<Schedule> {
        let lr = self.lr.unwrap_or_else(|| self.default_number("lr"));
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(Error::config(
                "lr",
                format!("must be positive and finite, got {lr}"),
            ));
        }
        match &self.schedule {
            None => Ok(Schedule::Constant(lr)),
            Some(s) => Schedule::parse(s, lr).map_err(|e| Error::config("schedule", e)),
        }
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
            .map_or(Options::default().gtol, |i| i.default_gtol.max(1e-8))
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
        if !info.applies(AppliesTo::Minibatch) {
            return Err(Error::NotApplicable {
                method: self.name.clone(),
                why: "it does not train on mini-batches".into(),
            });
        }
        let lr = self.schedule()?;
        let mu = self.momentum.unwrap_or(0.9);
        let adam = |mut a: Adam| {
            a.beta1 = self.beta1.unwrap_or(a.beta1);
            a.beta2 = self.beta2.unwrap_or(a.beta2);
            a.eps = self.eps.unwrap_or(a.eps);
            Box::new(a) as Box<dyn StepRule + Send>
        };
        Ok(match info.name {
            "gd" => Box::new(Sgd { lr }),
            "momentum" => Box::new(Momentum::new(
                lr,
                mu,
                self.momentum_form.unwrap_or(MomentumForm::HeavyBall),
            )),
            "nesterov" => Box::new(Nesterov::new(lr, mu)),
            "adam" => adam(Adam::new(lr)),
            "adamw" => adam(Adam::adamw(lr, self.weight_decay.unwrap_or(1e-2))),
            "amsgrad" => adam(Adam::amsgrad(lr)),
            "rmsprop" => {
                let mut r = RmsProp::new(lr);
                r.decay = self.decay.unwrap_or(r.decay);
                r.eps = self.eps.unwrap_or(r.eps);
                Box::new(r)
            }
            "adagrad" => {
                let mut a = Adagrad::new(lr);
                a.eps = self.eps.unwrap_or(a.eps);
                Box::new(a)
            }
            other => unreachable!("'{other}' is registered for mini-batches without a rule"),
        })
    }

    /// Builds the method for objectives.
    pub fn build(&self) -> Result<Box<dyn Minimizer>> {
        let info = self.check()?;
        if !info.applies(AppliesTo::Objective) {
            return Err(Error::NotApplicable {
                method: self.name.clone(),
                why: "it needs residuals (a least-squares problem), not only an objective".into(),
            });
        }
        let ls = self.line_search.unwrap_or(LineSearchKind::Wolfe);
        let m: Box<dyn Minimizer> = match info.name {
            "gd" => match self.line_search {
                None => Box::new(FixedStep::new(self.step_rule()?)),
                Some(ls) => with_line_search(Steepest, ls, Assembly::new(0.9)),
            },
            "momentum" | "nesterov" | "adam" | "adamw" | "amsgrad" | "rmsprop" | "adagrad" => {
                Box::new(FixedStep::new(self.step_rule()?))
            }
            "newton" => with_line_search(Newton::default(), ls, Assembly::new(0.9).watchdog()),
            "newton-cg" => with_line_search(NewtonCg::default(), ls, Assembly::new(0.9)),
            "hf" => with_line_search(NewtonCg::hessian_free(), ls, Assembly::new(0.9)),
            "cg" => {
                let beta = self.beta.unwrap_or(CgBeta::PolakRibierePlus);
                with_line_search(NonlinearCg::new(beta), ls, Assembly::new(0.1))
            }
            "bfgs" => with_line_search(
                QuasiNewton::new(QuasiNewtonKind::Bfgs),
                ls,
                self.secant_method(SecantPair::ValueCorrected),
            ),
            // DFP corrects a poor inverse-Hessian estimate far more slowly than BFGS under
            // inexact line searches (Powell 1986; N&W §6.1): with c₂ = 0.9 it crawled (MGH
            // 25/38 reached, median 219 evaluations; Wood from (−3, −1, −3, −1) stopped at
            // 10 000 iterations, f = 7e-6). CG's more accurate c₂ = 0.1 and the
            // value-corrected pair: 36/38, median 57; Wood in 22 iterations.
            "dfp" => with_line_search(
                QuasiNewton::new(QuasiNewtonKind::Dfp),
                ls,
                Assembly {
                    c2: 0.1,
                    ..self.secant_method(SecantPair::ValueCorrected)
                },
            ),
            "sr1" => with_line_search(
                QuasiNewton::new(QuasiNewtonKind::Sr1),
                ls,
                self.secant_method(SecantPair::Standard),
            ),
            "lbfgs" => with_line_search(
                Lbfgs::new(self.memory.unwrap_or(10)),
                ls,
                self.secant_method(SecantPair::ValueCorrected),
            ),
            other => unreachable!("'{other}' is registered for objectives without a builder"),
        };
        Ok(m)
    }

    /// The least-squares options this spec sets on top of `base` (τ, geodesic, restart).
    pub fn fit_options(&self, base: &FitOptions) -> FitOptions {
        FitOptions {
            tau: self.tau.unwrap_or(base.tau),
            geodesic: self.geodesic.unwrap_or(base.geodesic),
            restart: self.restart.unwrap_or(base.restart),
            restart_after: self.restart_after.unwrap_or(base.restart_after),
            ..base.clone()
        }
    }

    /// The least-squares method of this spec.
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
        Ok(self.least_squares_method()?.build(&self.fit_options(base)))
    }

    /// A secant method: c₂ = 0.9, bounded first step, the chosen pair or `default`.
    fn secant_method(&self, default: SecantPair) -> Assembly {
        Assembly {
            secant: self.secant.unwrap_or(default),
            bounded_first_step: true,
            ..Assembly::new(0.9)
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
                spec.least_squares_method().is_ok(),
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
        let m = MethodSpec::parse("lbfgs:memory=5:secant=standard").unwrap();
        assert_eq!(m.memory, Some(5));
        assert_eq!(m.to_string(), "lbfgs:memory=5:secant=standard");
        assert_eq!(MethodSpec::parse(&m.to_string()).unwrap(), m);
        let s = MethodSpec::parse("adam:lr=0.01:schedule=cosine:2000:beta1=0.8").unwrap();
        assert_eq!(s.schedule.as_deref(), Some("cosine:2000"));
        assert_eq!(s.beta1, Some(0.8));
        assert_eq!(MethodSpec::parse("sgd").unwrap().name, "gd");
        let e = MethodSpec::parse("bfgs:memory=5").unwrap_err().to_string();
        assert!(e.contains("memory") && e.contains("bfgs"), "{e}");
        let mut b = MethodSpec::new("lbfgs");
        b.lr = Some(0.1);
        let e = b.build().err().expect("refused").to_string();
        assert!(e.contains("lr") && e.contains("lbfgs"), "{e}");
        assert!(MethodSpec::parse("cg:beta=nope").is_err());
        assert!(MethodSpec::parse("lbfgs:memory").is_err());
        assert!(MethodSpec::parse("nope").is_err());
    }
}
