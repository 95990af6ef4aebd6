//! The NIST StRD nonlinear-regression problems: a reader for their `.dat` files (data,
//! starting values, certified values) and a table of their 27 models in descent's
//! expression syntax (the file's own model text is translated when the name is unknown).
//!
//! Reference: NIST Statistical Reference Datasets, Nonlinear Regression,
//! <https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml>.

use crate::error::{Error, Result};
use crate::expr::ExprModel;
use std::path::Path;

/// The 27 models, in descent's syntax, with the response transform (Nelson fits log y).
const MODELS: &[(&str, &str)] = &[
    ("Misra1a", "b1*(1-exp(-b2*x))"),
    ("Chwirut2", "exp(-b1*x)/(b2+b3*x)"),
    ("Chwirut1", "exp(-b1*x)/(b2+b3*x)"),
    ("Lanczos3", "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)"),
    ("Gauss1", "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)"),
    ("Gauss2", "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)"),
    ("DanWood", "b1*x^b2"),
    ("Misra1b", "b1 * (1-(1+b2*x/2)^(-2))"),
    ("Kirby2", "(b1 + b2*x + b3*x^2) / (1 + b4*x + b5*x^2)"),
    ("Hahn1", "(b1+b2*x+b3*x^2+b4*x^3) / (1+b5*x+b6*x^2+b7*x^3)"),
    ("Nelson", "b1 - b2*x1 * exp(-b3*x2)"),
    ("MGH17", "b1 + b2*exp(-x*b4) + b3*exp(-x*b5)"),
    ("Lanczos1", "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)"),
    ("Lanczos2", "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)"),
    ("Gauss3", "b1*exp(-b2*x) + b3*exp(-(x-b4)^2/b5^2) + b6*exp(-(x-b7)^2/b8^2)"),
    ("Misra1c", "b1 * (1-(1+2*b2*x)^(-0.5))"),
    ("Misra1d", "b1*b2*x*((1+b2*x)^(-1))"),
    ("Roszman1", "b1 - b2*x - atan(b3/(x-b4))/pi"),
    ("ENSO", "b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4) + b6*sin(2*pi*x/b4) + b8*cos(2*pi*x/b7) + b9*sin(2*pi*x/b7)"),
    ("MGH09", "b1*(x^2+x*b2) / (x^2+x*b3+b4)"),
    ("Thurber", "(b1 + b2*x + b3*x^2 + b4*x^3) / (1 + b5*x + b6*x^2 + b7*x^3)"),
    ("BoxBOD", "b1*(1-exp(-b2*x))"),
    ("Rat42", "b1 / (1+exp(b2-b3*x))"),
    ("MGH10", "b1 * exp(b2/(x+b3))"),
    ("Eckerle4", "(b1/b2) * exp(-0.5*((x-b3)/b2)^2)"),
    ("Rat43", "b1 / ((1+exp(b2-b3*x))^(1/b4))"),
    ("Bennett5", "b1 * (b2+x)^(-1/b3)"),
];

/// One NIST StRD problem as read from its file.
#[derive(Clone, Debug)]
pub struct NistProblem {
    /// Dataset name (e.g. "Misra1a").
    pub name: String,
    /// The model in descent's syntax.
    pub model: String,
    /// Whether the response is fitted on a log scale (`log[y] = …`, Nelson).
    pub log_response: bool,
    /// Parameter names b1…bk.
    pub params: Vec<String>,
    /// Starting values: start 1 and start 2.
    pub starts: [Vec<f64>; 2],
    /// Certified parameter values.
    pub certified: Vec<f64>,
    /// Certified standard deviations of the parameters.
    pub certified_sd: Vec<f64>,
    /// Certified residual sum of squares.
    pub certified_rss: f64,
    /// Names of the predictors (x, or x1, x2, …).
    pub inputs: Vec<String>,
    /// Predictor columns.
    pub x: Vec<Vec<f64>>,
    /// Responses (already log-transformed when `log_response`).
    pub y: Vec<f64>,
}

fn parse_err(path: &str, line: usize, why: impl std::fmt::Display) -> Error {
    Error::Parse(format!("{path}:{line}: {why}"))
}

/// Translates the file's model text (`y = b1*(1-exp[-b2*x])  +  e`, Fortran `**`,
/// brackets, `arctan`) into descent's syntax. Returns (model, log_response).
pub fn translate_model(text: &str) -> Option<(String, bool)> {
    let (lhs, rhs) = text.split_once('=')?;
    let log_response = lhs.contains("log");
    let rhs = rhs.trim();
    let rhs = rhs
        .strip_suffix('e')
        .map(str::trim_end)
        .and_then(|s| s.strip_suffix('+'))
        .unwrap_or(rhs);
    let model = rhs
        .replace("**", "^")
        .replace('[', "(")
        .replace(']', ")")
        .replace("arctan", "atan");
    Some((model.trim().to_string(), log_response))
}

impl NistProblem {
    /// Reads a NIST StRD `.dat` file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Parse(format!("cannot read {}: {e}", path.display())))?;
        let fallback = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::parse(&text, &path.display().to_string(), &fallback)
    }

    /// Parses the text of a `.dat` file; `source` names it in errors.
    pub fn parse(text: &str, source: &str, fallback_name: &str) -> Result<Self> {
        let lines: Vec<&str> = text.lines().collect();
        let name = lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("Dataset Name:"))
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or(fallback_name)
            .to_string();
        // Starting and certified values: lines "  b1 =   500   250   2.38E+02  2.70E+00".
        let (mut params, mut s1, mut s2, mut cert, mut sd) =
            (vec![], vec![], vec![], vec![], vec![]);
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim();
            if let Some((lhs, rhs)) = t.split_once('=') {
                let lhs = lhs.trim();
                if lhs.len() >= 2
                    && lhs.starts_with('b')
                    && lhs[1..].chars().all(|c| c.is_ascii_digit())
                {
                    let nums: Vec<f64> = rhs
                        .split_whitespace()
                        .map(|w| {
                            w.parse::<f64>().map_err(|_| {
                                parse_err(source, i + 1, format!("'{w}' is not a number"))
                            })
                        })
                        .collect::<Result<_>>()?;
                    if nums.len() != 4 {
                        return Err(parse_err(
                            source,
                            i + 1,
                            "expected start 1, start 2, certified value and standard deviation",
                        ));
                    }
                    params.push(lhs.to_string());
                    s1.push(nums[0]);
                    s2.push(nums[1]);
                    cert.push(nums[2]);
                    sd.push(nums[3]);
                }
            }
        }
        if params.is_empty() {
            return Err(Error::Parse(format!(
                "{source}: no parameter lines (b1 = ...) found"
            )));
        }
        let certified_rss = lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("Residual Sum of Squares:"))
            .and_then(|s| s.trim().parse::<f64>().ok())
            .ok_or_else(|| Error::Parse(format!("{source}: no 'Residual Sum of Squares:' line")))?;
        // Model: from the table, else the file's text after "Model:" (up to "+ e").
        let file_model = {
            let start = lines
                .iter()
                .position(|l| l.trim_start().starts_with("Model:"));
            start.and_then(|s| {
                let mut txt = String::new();
                for l in &lines[s + 1..] {
                    let t = l.trim();
                    if t.contains('=') && (t.starts_with('y') || t.starts_with("log"))
                        || !txt.is_empty()
                    {
                        if t.is_empty() {
                            break;
                        }
                        if t.starts_with("pi") && txt.is_empty() {
                            continue;
                        }
                        txt.push(' ');
                        txt.push_str(t);
                        if t.ends_with("+  e") || t.ends_with("+ e") || t.ends_with("+e") {
                            break;
                        }
                    }
                }
                translate_model(&txt)
            })
        };
        let (model, log_response) = match MODELS.iter().find(|(n, _)| *n == name) {
            Some((_, m)) => (m.to_string(), file_model.as_ref().is_some_and(|(_, l)| *l)),
            None => file_model.ok_or_else(|| Error::Parse(format!("{source}: no model found")))?,
        };
        // Data: after the line "Data:   y   x ..." (the second "Data:" line).
        let header = lines
            .iter()
            .position(|l| {
                let t = l.trim();
                t.starts_with("Data:") && t[5..].split_whitespace().next() == Some("y")
            })
            .ok_or_else(|| Error::Parse(format!("{source}: no data header ('Data:  y  x')")))?;
        let cols: Vec<String> = lines[header].trim()[5..]
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut x: Vec<Vec<f64>> = vec![Vec::new(); cols.len() - 1];
        let mut y = Vec::new();
        for (i, l) in lines.iter().enumerate().skip(header + 1) {
            let t = l.trim();
            if t.is_empty() {
                continue;
            }
            let nums: Vec<f64> = t
                .split_whitespace()
                .map(|w| {
                    w.parse::<f64>()
                        .map_err(|_| parse_err(source, i + 1, format!("'{w}' is not a number")))
                })
                .collect::<Result<_>>()?;
            if nums.len() != cols.len() {
                return Err(parse_err(
                    source,
                    i + 1,
                    format!("expected {} values, found {}", cols.len(), nums.len()),
                ));
            }
            y.push(if log_response { nums[0].ln() } else { nums[0] });
            for (c, v) in nums[1..].iter().enumerate() {
                x[c].push(*v);
            }
        }
        if y.is_empty() {
            return Err(Error::Parse(format!("{source}: no data rows")));
        }
        // A file cut short (or padded) still parses: its header says how many rows it has.
        let declared = lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("Number of Observations:"))
            .and_then(|s| s.trim().parse::<usize>().ok());
        if let Some(n) = declared.filter(|&n| n != y.len()) {
            return Err(Error::Parse(format!(
                "{source}: the header declares {n} observations but the file has {} data rows",
                y.len()
            )));
        }
        Ok(NistProblem {
            name,
            model,
            log_response,
            params,
            starts: [s1, s2],
            certified: cert,
            certified_sd: sd,
            certified_rss,
            inputs: cols[1..].to_vec(),
            x,
            y,
        })
    }

    /// The least-squares problem in the parameters.
    pub fn least_squares(&self) -> Result<ExprModel> {
        ExprModel::new(
            &self.model,
            &self.params,
            &self.inputs,
            self.x.clone(),
            self.y.clone(),
        )
    }
}

/// Log relative error: −log₁₀(|a − c|/|c|) (or −log₁₀|a| when c = 0), capped at 15 —
/// the number of agreeing significant digits, NIST's measure of accuracy.
pub fn lre(a: f64, c: f64) -> f64 {
    let e = if c == 0.0 {
        a.abs()
    } else {
        (a - c).abs() / c.abs()
    };
    if !e.is_finite() {
        return 0.0;
    }
    if e == 0.0 {
        15.0
    } else {
        (-e.log10()).clamp(0.0, 15.0)
    }
}
