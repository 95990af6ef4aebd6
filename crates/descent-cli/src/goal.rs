//! `descent compare --data … --goal G`: every method trains to the goal from fresh
//! weights for each seed (MATLAB's training-function benchmark); a table, JSON, and with
//! `--out` a summary and the figure of the share of seeds at the goal against time.

use crate::interrupt;
use crate::plot::{LineChart, Scale};
use anyhow::{bail, Result};
use descent::nn::{goal_epochs, Experiment, ExperimentConfig, GoalSummary, TrainConfig};
use serde_json::json;
use std::path::{Path, PathBuf};

/// What a goal comparison needs from the command line.
pub struct GoalArgs<'a> {
    pub label: &'a str,
    pub methods: &'a [String],
    pub epochs: Option<usize>,
    pub seeds: u64,
    pub out: Option<&'a Path>,
    pub json: bool,
}

pub fn run_goal(a: &GoalArgs, config: &ExperimentConfig) -> Result<()> {
    if a.seeds == 0 {
        bail!("--seeds must be at least 1");
    }
    let prep = Experiment::prepare(config)?;
    if let Some(dir) = a.out {
        super::compare::check_out(dir)?;
    }
    interrupt::install();
    let mut rows: Vec<GoalSummary> = Vec::new();
    for m in a.methods {
        if interrupt::requested() {
            break;
        }
        let cfg = TrainConfig {
            optimizer: m.clone(),
            epochs: a.epochs.unwrap_or_else(|| goal_epochs(m)),
            ..prep.cfg.clone()
        };
        if !a.json {
            eprint!("{m}: ");
        }
        let json = a.json;
        let summary = prep.to_goal(&cfg, 0..a.seeds, &mut |_| {
            if !json {
                eprint!(".");
            }
        })?;
        if !a.json {
            eprintln!(" {}/{}", summary.reached, summary.seeds);
        }
        rows.push(summary);
    }
    let goal = config.train.goal.unwrap_or(f64::NAN);
    let head = format!(
        "data: {}, layers {:?} ({} parameters), goal {goal} (training loss), {} seeds",
        a.label,
        prep.net.arch.sizes,
        prep.net.num_params(),
        a.seeds
    );
    let mut written = Vec::new();
    if let Some(dir) = a.out {
        written = write_goal_outputs(dir, &head, &rows, a, &prep, goal)?;
    }
    if a.json {
        println!(
            "{}",
            json!({ "data": a.label, "layers": prep.net.arch.sizes, "params": prep.net.num_params(),
                    "goal": goal, "seeds": a.seeds, "interrupted": interrupt::requested(),
                    "entries": rows })
        );
    } else {
        println!("{head}");
        print!("{}", table(&rows, false));
        if interrupt::requested() {
            println!(
                "interrupted: {} of {} methods ran",
                rows.len(),
                a.methods.len()
            );
        }
        super::compare::report_written(a.out, &written);
    }
    Ok(())
}

/// The summary table, as text or markdown.
pub fn table(rows: &[GoalSummary], markdown: bool) -> String {
    let cell =
        |v: Option<f64>, digits: usize| v.map_or("—".to_string(), |v| format!("{v:.digits$}"));
    let mut s = String::new();
    if markdown {
        s.push_str("| method | reached | median epochs | median ms |\n|---|---|---|---|\n");
    } else {
        s.push_str(&format!(
            "{:<14} {:>8} {:>14} {:>10}\n",
            "method", "reached", "median epochs", "median ms"
        ));
    }
    for r in rows {
        let (reached, epochs, ms) = (
            format!("{}/{}", r.reached, r.seeds),
            cell(r.median_epochs, 0),
            cell(r.median_seconds.map(|s| 1e3 * s), 3),
        );
        if markdown {
            s.push_str(&format!("| {} | {reached} | {epochs} | {ms} |\n", r.method));
        } else {
            s.push_str(&format!(
                "{:<14} {reached:>8} {epochs:>14} {ms:>10}\n",
                r.method
            ));
        }
    }
    s
}

/// The share of seeds at the goal against milliseconds (each curve steps up at a run's
/// time to the goal), on a log time axis.
pub fn reached_chart(title: &str, rows: &[GoalSummary]) -> LineChart {
    let mut chart = LineChart::new(title, "milliseconds", "share of seeds at the goal");
    chart.x_scale = Scale::Log;
    for r in rows {
        let mut times: Vec<f64> = r
            .runs
            .iter()
            .filter(|run| run.reached)
            .map(|run| 1e3 * run.seconds)
            .collect();
        times.sort_by(f64::total_cmp);
        let n = r.seeds.max(1) as f64;
        let mut points = Vec::new();
        for (k, t) in times.iter().enumerate() {
            points.push((*t, k as f64 / n));
            points.push((*t, (k + 1) as f64 / n));
        }
        chart.add(&r.method, points);
    }
    chart
}

fn write_goal_outputs(
    dir: &Path,
    head: &str,
    rows: &[GoalSummary],
    a: &GoalArgs,
    prep: &Experiment,
    goal: f64,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let md = format!("# {}\n\n{head}\n\n{}", a.label, table(rows, true));
    let p = dir.join("summary.md");
    std::fs::write(&p, md)?;
    written.push(p);
    let p = dir.join("summary.json");
    std::fs::write(
        &p,
        serde_json::to_string_pretty(&json!({
            "data": a.label, "layers": prep.net.arch.sizes, "goal": goal, "seeds": a.seeds,
            "entries": rows,
        }))?,
    )?;
    written.push(p);
    let chart = reached_chart(&format!("{}: time to the goal {goal}", a.label), rows);
    if chart.series.iter().any(|s| !s.points.is_empty()) {
        written.extend(chart.save(dir, "reached_vs_time")?);
    }
    Ok(written)
}
