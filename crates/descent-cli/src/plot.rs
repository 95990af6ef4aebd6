//! Figures, each written as SVG and PNG: line charts (linear or log axes, a legend) and
//! contour plots with optimizer paths. Text is drawn with a bundled DejaVu Sans, so PNGs
//! look the same on a machine without fonts.

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const WIDTH: u32 = 1000;
const HEIGHT: u32 = 640;
/// Most points drawn per series (long runs are thinned, keeping the start dense).
const MAX_POINTS: usize = 2500;

/// Distinguishable colours (Tableau 10) and, for more series, dashes cycle.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            // Registration only fails on malformed font bytes, which are bundled.
            let _ = plotters::style::register_font("sans-serif", style, FONT);
        }
    });
}

/// The i-th series colour.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Axis scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

/// One named curve.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
        }
    }
}

/// A series ready to draw: its index, label and points.
type Prepared<'a> = (usize, &'a str, Vec<(f64, f64)>);

/// A chart of curves against a common x axis.
#[derive(Clone, Debug)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    pub series: Vec<Series>,
}

impl LineChart {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: Vec::new(),
        }
    }
    pub fn log_y(mut self) -> Self {
        self.y_scale = Scale::Log;
        self
    }
    pub fn add(&mut self, label: impl Into<String>, points: Vec<(f64, f64)>) {
        self.series.push(Series::new(label, points));
    }

    /// Writes `dir/stem.svg` and `dir/stem.png`; returns both paths.
    pub fn save(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
        save_figure(self, dir, stem)
    }

    /// Finite points, those not drawable on a log axis dropped, thinned.
    fn prepared(&self) -> Vec<Prepared<'_>> {
        let ok = |v: f64, s: Scale| v.is_finite() && (s == Scale::Linear || v > 0.0);
        self.series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|(x, y)| ok(*x, self.x_scale) && ok(*y, self.y_scale))
                    .collect();
                (i, s.label.as_str(), thin(pts))
            })
            .collect()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let series = self.prepared();
        let all = series.iter().flat_map(|(_, _, p)| p.iter().copied());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in all {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        // A log axis over less than ~1.5 decades gets no labelled ticks: linear instead.
        let x_scale = if self.x_scale == Scale::Log && x1 < 30.0 * x0 {
            Scale::Linear
        } else {
            self.x_scale
        };
        let y_scale = if self.y_scale == Scale::Log && y1 < 30.0 * y0 {
            Scale::Linear
        } else {
            self.y_scale
        };
        if y_scale == Scale::Log {
            // Below 1e-20 of the largest value nothing is visible that matters.
            y0 = y0.max(y1 * 1e-20);
        }
        let (x0, x1) = pad(x0, x1, x_scale, 0.0);
        let (y0, y1) = pad(y0, y1, y_scale, 0.04);
        let clamp_y = |y: f64| y.max(y0);
        let legend_at = legend_corner(&series, (x0, x1, x_scale), (y0, y1, y_scale));
        root.fill(&WHITE).map_err(err)?;
        let mut builder = ChartBuilder::on(root);
        builder
            .caption(&self.title, ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(96);
        macro_rules! body {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(self.x_label.as_str())
                    .y_desc(self.y_label.as_str())
                    .axis_desc_style(("sans-serif", 20))
                    .label_style(("sans-serif", 16))
                    .light_line_style(RGBColor(235, 235, 235))
                    .bold_line_style(RGBColor(215, 215, 215))
                    .x_labels(8)
                    .y_labels(10)
                    .y_label_formatter(&|v| fmt_tick(*v))
                    .x_label_formatter(&|v| fmt_tick(*v))
                    .draw()
                    .map_err(err)?;
                for (i, label, pts) in &series {
                    let c = color(*i);
                    let style = ShapeStyle::from(&c).stroke_width(if *i < 10 { 3 } else { 2 });
                    let pts: Vec<(f64, f64)> = pts.iter().map(|(x, y)| (*x, clamp_y(*y))).collect();
                    let anno = if *i < 10 {
                        chart
                            .draw_series(LineSeries::new(pts.clone(), style))
                            .map_err(err)?
                    } else {
                        chart
                            .draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))
                            .map_err(err)?
                    };
                    anno.label(label.to_string()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                    });
                    if pts.len() == 1 {
                        chart
                            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
                            .map_err(err)?;
                    }
                }
                chart
                    .configure_series_labels()
                    .position(legend_at.clone())
                    .label_font(("sans-serif", 17))
                    .background_style(WHITE.mix(0.85))
                    .border_style(RGBColor(180, 180, 180))
                    .draw()
                    .map_err(err)?;
            }};
        }
        match (x_scale, y_scale) {
            (Scale::Linear, Scale::Linear) => {
                body!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?)
            }
            (Scale::Linear, Scale::Log) => {
                body!(builder
                    .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                    .map_err(err)?)
            }
            (Scale::Log, Scale::Linear) => {
                body!(builder
                    .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                    .map_err(err)?)
            }
            (Scale::Log, Scale::Log) => body!(builder
                .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(err)?),
        }
        root.present().map_err(err)?;
        Ok(())
    }
}

/// The corner of the plot with the fewest points under it, for the legend.
fn legend_corner(
    series: &[Prepared<'_>],
    (x0, x1, xs): (f64, f64, Scale),
    (y0, y1, ys): (f64, f64, Scale),
) -> SeriesLabelPosition {
    let unit = |v: f64, lo: f64, hi: f64, s: Scale| match s {
        Scale::Linear => (v - lo) / (hi - lo),
        Scale::Log => (v.ln() - lo.ln()) / (hi.ln() - lo.ln()),
    };
    // (right?, top?) corners, in the order preferred on ties.
    let corners = [
        (true, true, SeriesLabelPosition::UpperRight),
        (true, false, SeriesLabelPosition::LowerRight),
        (false, true, SeriesLabelPosition::UpperLeft),
        (false, false, SeriesLabelPosition::LowerLeft),
    ];
    let mut counts = [0usize; 4];
    for (_, _, pts) in series {
        for (x, y) in pts {
            let (u, v) = (unit(*x, x0, x1, xs), unit(*y, y0, y1, ys));
            for (k, (right, top, _)) in corners.iter().enumerate() {
                let in_x = if *right { u > 0.7 } else { u < 0.3 };
                let in_y = if *top { v > 0.65 } else { v < 0.35 };
                counts[k] += (in_x && in_y) as usize;
            }
        }
    }
    let best = (0..4).min_by_key(|k| counts[*k]).unwrap_or(0);
    corners[best].2.clone()
}

/// A function of two variables as contour lines, with paths drawn over it.
pub struct ContourPlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// Grid values, `grid[j][i]` at (x_i, y_j), on an `n×n` grid spanning the ranges.
    pub grid: Vec<Vec<f64>>,
    pub levels: Vec<f64>,
    pub paths: Vec<Series>,
}

impl ContourPlot {
    /// Samples `f` on an n×n grid with `levels` log-spaced contour levels above its minimum.
    pub fn sample(
        title: impl Into<String>,
        f: impl Fn(f64, f64) -> f64,
        x_range: (f64, f64),
        y_range: (f64, f64),
        n: usize,
        levels: usize,
    ) -> Self {
        let grid: Vec<Vec<f64>> = (0..n)
            .map(|j| {
                let y = y_range.0 + (y_range.1 - y_range.0) * j as f64 / (n - 1) as f64;
                (0..n)
                    .map(|i| {
                        let x = x_range.0 + (x_range.1 - x_range.0) * i as f64 / (n - 1) as f64;
                        f(x, y)
                    })
                    .collect()
            })
            .collect();
        let finite = grid.iter().flatten().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        // Log-spaced heights above the minimum: valleys need many levels near the bottom.
        let span = (hi - lo).max(1e-12);
        let first = span * 1e-4;
        let levels = (0..levels)
            .map(|k| lo + first * (span / first).powf(k as f64 / (levels - 1).max(1) as f64))
            .collect();
        ContourPlot {
            title: title.into(),
            x_label: "x₁".into(),
            y_label: "x₂".into(),
            x_range,
            y_range,
            grid,
            levels,
            paths: Vec::new(),
        }
    }

    pub fn save(&self, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
        save_figure(self, dir, stem)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        root.fill(&WHITE).map_err(err)?;
        let (xr, yr) = (self.x_range, self.y_range);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(80)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .axis_desc_style(("sans-serif", 20))
            .label_style(("sans-serif", 16))
            .disable_mesh()
            .draw()
            .map_err(err)?;
        let n = self.grid.len();
        let at = |i: usize, j: usize| {
            (
                xr.0 + (xr.1 - xr.0) * i as f64 / (n - 1) as f64,
                yr.0 + (yr.1 - yr.0) * j as f64 / (n - 1) as f64,
            )
        };
        let nl = self.levels.len();
        for (k, level) in self.levels.iter().enumerate() {
            let t = k as f64 / nl.max(2) as f64;
            let shade = RGBColor(
                (90.0 + 120.0 * t) as u8,
                (110.0 + 110.0 * t) as u8,
                (170.0 + 60.0 * t) as u8,
            );
            let segments = marching_squares(&self.grid, *level, at);
            chart
                .draw_series(
                    segments
                        .into_iter()
                        .map(|(a, b)| PathElement::new(vec![a, b], shade.stroke_width(1))),
                )
                .map_err(err)?;
        }
        for (i, path) in self.paths.iter().enumerate() {
            let c = color(i);
            let pts: Vec<(f64, f64)> = thin(
                path.points
                    .iter()
                    .copied()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect(),
            );
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(err)?
                .label(path.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                });
            let marks = pts.len() <= 400;
            if marks {
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))
                    .map_err(err)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 17))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
        Ok(())
    }
}

/// Line segments of the level set `{f = level}` on a grid (marching squares).
fn marching_squares(
    grid: &[Vec<f64>],
    level: f64,
    at: impl Fn(usize, usize) -> (f64, f64),
) -> Vec<((f64, f64), (f64, f64))> {
    let n = grid.len();
    let mut out = Vec::new();
    let lerp = |(i0, j0): (usize, usize), (i1, j1): (usize, usize)| {
        let (v0, v1) = (grid[j0][i0], grid[j1][i1]);
        let t = if v1 != v0 {
            (level - v0) / (v1 - v0)
        } else {
            0.5
        };
        let (p0, p1) = (at(i0, j0), at(i1, j1));
        (p0.0 + t * (p1.0 - p0.0), p0.1 + t * (p1.1 - p0.1))
    };
    for j in 0..n.saturating_sub(1) {
        for i in 0..n - 1 {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            if corners.iter().any(|(a, b)| !grid[*b][*a].is_finite()) {
                continue;
            }
            // Edges whose ends straddle the level, in order around the cell.
            let crossings: Vec<(f64, f64)> = (0..4)
                .filter_map(|e| {
                    let (a, b) = (corners[e], corners[(e + 1) % 4]);
                    let (va, vb) = (grid[a.1][a.0], grid[b.1][b.0]);
                    ((va < level) != (vb < level)).then(|| lerp(a, b))
                })
                .collect();
            match crossings.len() {
                2 => out.push((crossings[0], crossings[1])),
                4 => {
                    out.push((crossings[0], crossings[1]));
                    out.push((crossings[2], crossings[3]));
                }
                _ => {}
            }
        }
    }
    out
}

/// Keeps at most [`MAX_POINTS`]: all of the first few hundred, then evenly spaced, and
/// the last point.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let head = MAX_POINTS / 4;
    let stride = (points.len() - head).div_ceil(MAX_POINTS - head);
    let last = points.len() - 1;
    points
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i < head || (i - head).is_multiple_of(stride) || *i == last)
        .map(|(_, p)| p)
        .collect()
}

fn pad(lo: f64, hi: f64, scale: Scale, frac: f64) -> (f64, f64) {
    match scale {
        Scale::Linear => {
            if hi > lo {
                let d = (hi - lo) * frac;
                (lo - d, hi + d)
            } else {
                let d = lo.abs().max(1.0) * 0.05;
                (lo - d, hi + d)
            }
        }
        Scale::Log => {
            if hi > lo {
                let f = (hi / lo).powf(frac);
                (lo / f, hi * f)
            } else {
                (lo / 2.0, hi * 2.0)
            }
        }
    }
}

fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 100.0 || (v.fract() == 0.0) {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').into()
    }
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e:?}")
}

/// Something drawable on any plotters backend.
trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

impl Figure for LineChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        LineChart::draw(self, root)
    }
}

impl Figure for ContourPlot {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        ContourPlot::draw(self, root)
    }
}

/// Writes `dir/stem.svg` and `dir/stem.png`.
fn save_figure(fig: &impl Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>> {
    register_font();
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    {
        let root = SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area();
        fig.draw(&root)?;
    }
    {
        let root = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        fig.draw(&root)?;
    }
    Ok(vec![svg, png])
}
