//! Tokenizer, recursive-descent parser and postfix evaluator.

use crate::ad::Scalar;
use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Func {
    Exp,
    Ln,
    Sqrt,
    Sin,
    Cos,
    Tan,
    Tanh,
    Atan,
    Abs,
}

impl Func {
    fn by_name(s: &str) -> Option<Func> {
        Some(match s {
            "exp" => Func::Exp,
            "log" | "ln" => Func::Ln,
            "sqrt" => Func::Sqrt,
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            "tan" => Func::Tan,
            "tanh" => Func::Tanh,
            "atan" => Func::Atan,
            "abs" => Func::Abs,
            _ => return None,
        })
    }
    pub(super) fn apply<T: Scalar>(self, v: T) -> T {
        match self {
            Func::Exp => v.exp(),
            Func::Ln => v.ln(),
            Func::Sqrt => v.sqrt(),
            Func::Sin => v.sin(),
            Func::Cos => v.cos(),
            Func::Tan => v.tan(),
            Func::Tanh => v.tanh(),
            Func::Atan => v.atan(),
            Func::Abs => v.abs(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Op {
    Num(f64),
    Var(usize),
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Neg,
    Call(Func),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(f64),
    Ident(String),
    Sym(char),
}

/// A parsed expression: its variables (in a fixed order) and a postfix program.
#[derive(Clone, Debug)]
pub struct Expr {
    source: String,
    variables: Vec<String>,
    program: Vec<Op>,
    max_stack: usize,
}

fn tokenize(src: &str) -> Result<Vec<(Tok, usize)>> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch.is_ascii_digit()
            || (ch == '.' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()))
        {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut j = i + 1;
                if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
                    j += 1;
                }
                if j < chars.len() && chars[j].is_ascii_digit() {
                    i = j;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let v = text.parse::<f64>().map_err(|_| {
                Error::Parse(format!("malformed number '{text}' at column {}", start + 1))
            })?;
            out.push((Tok::Num(v), start));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), start));
        } else if "+-*/^(),".contains(ch) {
            out.push((Tok::Sym(ch), i));
            i += 1;
        } else {
            return Err(Error::Parse(format!(
                "unexpected character '{ch}' at column {}",
                i + 1
            )));
        }
    }
    Ok(out)
}

/// Deepest nesting of parentheses, signs, powers and calls a parser follows (recursion
/// on the thread's stack: 20 000 nested parentheses overflowed it).
const MAX_NESTING: usize = 500;

/// Largest variable index of an `x1, x2, …` expression (its Hessian costs a pass per pair
/// of variables).
pub const MAX_INDEXED_VARIABLE: usize = 100_000;

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    names: Vec<String>,
    program: Vec<Op>,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn column(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, c)| *c) + 1
    }
    fn expect(&mut self, ch: char) -> Result<()> {
        if self.peek() == Some(&Tok::Sym(ch)) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Error::Parse(format!(
                "expected '{ch}' at column {}",
                self.column()
            )))
        }
    }
    /// Runs `parse` one level deeper, refusing nesting beyond [`MAX_NESTING`].
    fn nested(&mut self, parse: fn(&mut Self) -> Result<()>) -> Result<()> {
        if self.depth >= MAX_NESTING {
            return Err(Error::Parse(format!(
                "expression nested more than {MAX_NESTING} deep at column {}",
                self.column()
            )));
        }
        self.depth += 1;
        let r = parse(self);
        self.depth -= 1;
        r
    }
    // expr := term (('+'|'-') term)*
    fn expr(&mut self) -> Result<()> {
        self.term()?;
        while let Some(Tok::Sym(c @ ('+' | '-'))) = self.peek().cloned() {
            self.pos += 1;
            self.term()?;
            self.program.push(if c == '+' { Op::Add } else { Op::Sub });
        }
        Ok(())
    }
    // term := unary (('*'|'/') unary)*
    fn term(&mut self) -> Result<()> {
        self.unary()?;
        while let Some(Tok::Sym(c @ ('*' | '/'))) = self.peek().cloned() {
            self.pos += 1;
            self.unary()?;
            self.program.push(if c == '*' { Op::Mul } else { Op::Div });
        }
        Ok(())
    }
    // unary := ('-'|'+') unary | power
    fn unary(&mut self) -> Result<()> {
        match self.peek() {
            Some(Tok::Sym('-')) => {
                self.pos += 1;
                self.nested(Self::unary)?;
                self.program.push(Op::Neg);
                Ok(())
            }
            Some(Tok::Sym('+')) => {
                self.pos += 1;
                self.nested(Self::unary)
            }
            _ => self.power(),
        }
    }
    // power := atom ('^' unary)?   (right associative; exponent may be negative)
    fn power(&mut self) -> Result<()> {
        self.atom()?;
        if self.peek() == Some(&Tok::Sym('^')) {
            self.pos += 1;
            self.nested(Self::unary)?;
            self.program.push(Op::Pow);
        }
        Ok(())
    }
    fn atom(&mut self) -> Result<()> {
        let col = self.column();
        match self.peek().cloned() {
            Some(Tok::Num(v)) => {
                self.pos += 1;
                self.program.push(Op::Num(v));
                Ok(())
            }
            Some(Tok::Sym('(')) => {
                self.pos += 1;
                self.nested(Self::expr)?;
                self.expect(')')
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                if let Some(f) = Func::by_name(&name) {
                    if self.peek() != Some(&Tok::Sym('(')) {
                        return Err(Error::Parse(format!(
                            "function '{name}' at column {col} needs parentheses: {name}(...)"
                        )));
                    }
                    self.pos += 1;
                    self.nested(Self::expr)?;
                    self.expect(')')?;
                    self.program.push(Op::Call(f));
                    return Ok(());
                }
                if self.peek() == Some(&Tok::Sym('(')) {
                    return Err(Error::Parse(format!(
                        "unknown function '{name}' at column {col} (known: exp log sqrt sin cos tan tanh atan abs)"
                    )));
                }
                match name.as_str() {
                    "pi" => self.program.push(Op::Num(std::f64::consts::PI)),
                    "e" => self.program.push(Op::Num(std::f64::consts::E)),
                    // Read as numbers elsewhere; here they would be variables to minimize over.
                    _ if ["inf", "infinity", "nan"]
                        .contains(&name.to_ascii_lowercase().as_str()) =>
                    {
                        return Err(Error::Parse(format!(
                            "'{name}' at column {col} is not a value an expression can hold \
                             (nor a variable name): write a finite number"
                        )));
                    }
                    _ => {
                        let idx = match self.names.iter().position(|n| *n == name) {
                            Some(i) => i,
                            None => {
                                self.names.push(name);
                                self.names.len() - 1
                            }
                        };
                        self.program.push(Op::Var(idx));
                    }
                }
                Ok(())
            }
            Some(Tok::Sym(c)) => Err(Error::Parse(format!("unexpected '{c}' at column {col}"))),
            None => Err(Error::Parse(format!(
                "unexpected end of expression at column {col}"
            ))),
        }
    }
}

/// `x12` → Some(12).
fn indexed_x(name: &str) -> Option<usize> {
    let rest = name.strip_prefix('x')?;
    if rest.is_empty() || rest.starts_with('0') {
        return None;
    }
    rest.parse::<usize>().ok().filter(|i| *i >= 1)
}

impl Expr {
    /// Parses `src`. Variables are ordered x1, x2, … when every name is of that form (n is
    /// the largest index), else in order of first appearance.
    pub fn parse(src: &str) -> Result<Expr> {
        let toks = tokenize(src)?;
        if toks.is_empty() {
            return Err(Error::Parse("empty expression".into()));
        }
        let mut p = Parser {
            toks,
            pos: 0,
            end: src.chars().count(),
            names: Vec::new(),
            program: Vec::new(),
            depth: 0,
        };
        p.expr()?;
        if p.pos < p.toks.len() {
            return Err(Error::Parse(format!(
                "unexpected '{}' at column {}",
                tok_text(&p.toks[p.pos].0),
                p.column()
            )));
        }
        let mut e = Expr {
            source: src.to_string(),
            variables: p.names,
            program: p.program,
            max_stack: 0,
        };
        if !e.variables.is_empty() && e.variables.iter().all(|v| indexed_x(v).is_some()) {
            let n = e
                .variables
                .iter()
                .filter_map(|v| indexed_x(v))
                .max()
                .unwrap_or(0);
            if n > MAX_INDEXED_VARIABLE {
                return Err(Error::Parse(format!(
                    "variable x{n}: an expression's variables are numbered up to x{MAX_INDEXED_VARIABLE} (x{n} would make a problem of {n} variables)"
                )));
            }
            let remap: Vec<usize> = e
                .variables
                .iter()
                .map(|v| indexed_x(v).unwrap() - 1)
                .collect();
            for op in &mut e.program {
                if let Op::Var(i) = op {
                    *i = remap[*i];
                }
            }
            e.variables = (1..=n).map(|i| format!("x{i}")).collect();
        }
        e.max_stack = e.stack_depth();
        Ok(e)
    }

    /// Reorders the variables to `order` (every variable of the expression must appear;
    /// extra names are allowed and simply unused). Used to bind model parameters and data
    /// columns by name.
    pub fn with_variable_order(mut self, order: &[String]) -> Result<Expr> {
        let mut remap = Vec::with_capacity(self.variables.len());
        for v in &self.variables {
            let i = order
                .iter()
                .position(|o| o == v)
                .ok_or_else(|| Error::Unknown {
                    kind: "variable",
                    name: v.clone(),
                    hint: format!(" in '{}' (known: {})", self.source, order.join(", ")),
                })?;
            remap.push(i);
        }
        for op in &mut self.program {
            if let Op::Var(i) = op {
                *i = remap[*i];
            }
        }
        self.variables = order.to_vec();
        Ok(self)
    }

    fn stack_depth(&self) -> usize {
        let (mut d, mut m) = (0i64, 0i64);
        for op in &self.program {
            d += match op {
                Op::Num(_) | Op::Var(_) => 1,
                Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Pow => -1,
                Op::Neg | Op::Call(_) => 0,
            };
            m = m.max(d);
        }
        m as usize
    }

    /// The variable names, in evaluation order.
    pub fn variables(&self) -> &[String] {
        &self.variables
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The postfix program.
    pub(super) fn program(&self) -> &[Op] {
        &self.program
    }

    /// Evaluates at `vars` (one value per variable, in [`Expr::variables`]' order).
    ///
    /// # Panics
    ///
    /// When `vars` has fewer values than the expression has variables (a caller's
    /// mistake, as an index out of a slice; the problems built on expressions check
    /// their dimension before evaluating).
    pub fn eval<T: Scalar>(&self, vars: &[T]) -> T {
        assert!(
            vars.len() >= self.variables.len(),
            "Expr::eval: {} values for the {} variables of '{}'",
            vars.len(),
            self.variables.len(),
            self.source
        );
        let mut stack: Vec<T> = Vec::with_capacity(self.max_stack);
        for op in &self.program {
            match op {
                Op::Num(v) => stack.push(T::cst(*v)),
                Op::Var(i) => stack.push(vars[*i]),
                Op::Neg => {
                    let a = stack.pop().expect("valid program");
                    stack.push(-a);
                }
                Op::Call(f) => {
                    let a = stack.pop().expect("valid program");
                    stack.push(f.apply(a));
                }
                _ => {
                    let b = stack.pop().expect("valid program");
                    let a = stack.pop().expect("valid program");
                    stack.push(match op {
                        Op::Add => a + b,
                        Op::Sub => a - b,
                        Op::Mul => a * b,
                        Op::Div => a / b,
                        _ => a.pow(b),
                    });
                }
            }
        }
        stack.pop().expect("valid program")
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Num(v) => v.to_string(),
        Tok::Ident(s) => s.clone(),
        Tok::Sym(c) => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_values() {
        let e = Expr::parse("-x1^2 + 2*x2^2^1 - 3/x1 + sin(pi/2) + 1.5e1").unwrap();
        assert_eq!(e.variables(), &["x1", "x2"]);
        let v = e.eval(&[2.0, 3.0]);
        assert!((v - (-4.0 + 18.0 - 1.5 + 1.0 + 15.0)).abs() < 1e-12);
    }

    #[test]
    fn named_variables_in_order_of_appearance() {
        let e = Expr::parse("(a - 1)^2 + b*exp(a)").unwrap();
        assert_eq!(e.variables(), &["a", "b"]);
        let e = Expr::parse("x3 + x1").unwrap();
        assert_eq!(e.variables(), &["x1", "x2", "x3"]);
    }

    #[test]
    fn malformed_expressions_are_errors() {
        for bad in [
            "", "x1 +", "(x1", "x1)", "foo(x1)", "sin x1", "x1 $ 2", "2..3", "*x1",
        ] {
            assert!(Expr::parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
