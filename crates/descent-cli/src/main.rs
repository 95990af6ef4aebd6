//! The `descent` command line: parses, wires and prints. All mathematics lives in the
//! `descent` library.

mod checkpoints;
mod compare;
mod distributed;
mod fit;
mod goal;
mod interrupt;
mod minimize;
mod plot;
mod progress;
mod report;
mod train;

use clap::{Parser, Subcommand};

/// faer's matrix products allocate packing buffers of a few hundred KiB per call; glibc
/// serves those with fresh `mmap`s, and zeroing the new pages cost a third of a training
/// step. mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every classical and modern optimizer, measured side by side.
#[derive(Parser)]
#[command(name = "descent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
// Negative numbers are values: `--lr -1` is refused for its sign, not taken for a flag.
enum Command {
    /// Minimize a built-in test problem or a typed expression.
    #[command(allow_negative_numbers = true)]
    Minimize(Box<minimize::MinimizeArgs>),
    /// Run several methods on the same problem and compare them.
    #[command(allow_negative_numbers = true)]
    Compare(Box<compare::CompareArgs>),
    /// Fit a nonlinear model by least squares (NIST StRD file, or a typed model and CSV;
    /// under `mpirun -np K` with the `mpi` build, the rows are split across the ranks).
    #[command(allow_negative_numbers = true)]
    Fit(Box<fit::FitArgs>),
    /// Run the lecture's experiments and write a markdown report with its figures.
    #[command(allow_negative_numbers = true)]
    Report(Box<report::ReportArgs>),
    /// Train a multilayer perceptron.
    #[command(allow_negative_numbers = true)]
    Train(Box<train::TrainArgs>),
    /// Predict with a saved model.
    #[command(allow_negative_numbers = true)]
    Predict(Box<train::PredictArgs>),
    /// List the built-in test problems, one per line.
    Problems,
    /// List the optimization methods, one per line (--json: the registry as a JSON array).
    Methods {
        /// Print the registry as one JSON array: name, description, applies_to, needs,
        /// settings (setting → default), default_gtol, reference.
        #[arg(long)]
        json: bool,
    },
}

/// clap's message in one line: its first line carries the reason, and when that line ends
/// in a colon the indented lines after it name what it is about (the missing arguments).
fn parse_error_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("invalid arguments").trim_end();
    match first.strip_suffix(':') {
        Some(head) => {
            let items: Vec<&str> = lines
                .take_while(|l| l.starts_with(char::is_whitespace) && !l.trim().is_empty())
                .map(str::trim)
                .collect();
            if items.is_empty() {
                first.to_string()
            } else {
                format!("{head}: {}", items.join(", "))
            }
        }
        None => first.to_string(),
    }
}

fn main() {
    // Like other Unix tools, end quietly when the reader of stdout goes away (`| head`).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            eprintln!("{} (see --help)", parse_error_line(&e.to_string()));
            std::process::exit(2);
        }
    };
    let result = match cli.command {
        Command::Minimize(args) => minimize::run(*args),
        Command::Fit(args) => fit::run(*args),
        Command::Compare(args) => compare::run(*args),
        Command::Report(args) => report::run_report(*args),
        Command::Train(args) => train::run_train(*args),
        Command::Predict(args) => train::run_predict(*args),
        Command::Problems => {
            list_problems();
            Ok(())
        }
        Command::Methods { json } => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string(descent::method::REGISTRY).expect("serializable")
                );
            } else {
                for m in descent::method::REGISTRY {
                    let uses: Vec<&str> = m.applies_to.iter().map(|a| a.as_str()).collect();
                    println!("{:<10} {} [{}]", m.name, m.description, uses.join(", "));
                }
            }
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("error: {}", one_line(&format!("{e:#}")));
        std::process::exit(1);
    }
}

/// An error as one line of readable length: control characters (a newline in an echoed
/// input) escaped, and an echo of a huge input shortened in its middle.
fn one_line(message: &str) -> String {
    const MOST: usize = 1200;
    let escaped: String = message
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    let chars: Vec<char> = escaped.chars().collect();
    if chars.len() <= MOST {
        return escaped;
    }
    let head: String = chars[..MOST * 2 / 3].iter().collect();
    let tail: String = chars[chars.len() - MOST / 3..].iter().collect();
    format!(
        "{head} … ({} characters left out) … {tail}",
        chars.len() - MOST
    )
}

/// The names in a note about `count` coordinates, the first few of many: `x1, x3, x5`,
/// or `x1, x3, …, x15 and 499992 more` (a note about a million coordinates stays one line).
fn first_names<D: std::fmt::Display>(names: impl Iterator<Item = D>, count: usize) -> String {
    const MOST: usize = 8;
    let shown: Vec<String> = names.take(MOST).map(|n| n.to_string()).collect();
    match count.saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

fn list_problems() {
    use descent::problems::mgh::MghProblem;
    for name in descent::problems::mgh::names() {
        let p = MghProblem::new(name, None, None).expect("built-in problem");
        let fstar = p
            .f_star()
            .map_or("unknown".to_string(), |f| format!("{f:.6e}"));
        println!(
            "{:<24} MGH #{:<2}  n={:<4} m={:<4} f*={}",
            name, p.number, p.n, p.m, fstar
        );
    }
}
