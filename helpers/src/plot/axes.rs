//! What every chart shares: title, axis labels, size, and the way input
//! problems are reported. Builder methods cannot return errors without making
//! every chained call fallible, so a conversion problem is kept and returned
//! when the chart is drawn.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Figure;
use crate::{Error, Result};

pub(crate) const FONT: &str = "sans-serif";

/// Title, labels and size of a chart.
#[derive(Clone, Debug)]
pub(crate) struct Axes {
    pub(crate) title: Option<String>,
    pub(crate) x_label: Option<String>,
    pub(crate) y_label: Option<String>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// The first input that could not be used, reported by `render`.
    problem: Option<String>,
}

impl Default for Axes {
    fn default() -> Axes {
        Axes {
            title: None,
            x_label: None,
            y_label: None,
            width: 640,
            height: 400,
            problem: None,
        }
    }
}

impl Axes {
    /// The value of `result`, or `default` after remembering the error.
    pub(crate) fn keep<T>(&mut self, result: Result<T>, default: T) -> T {
        match result {
            Ok(v) => v,
            Err(e) => {
                self.problem.get_or_insert(e.to_string());
                default
            }
        }
    }

    /// Remembers a problem found while building.
    pub(crate) fn complain(&mut self, problem: String) {
        self.problem.get_or_insert(problem);
    }

    /// The first input problem recorded, as an error.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.problem {
            Some(problem) => Err(Error::InvalidArgument(problem.clone())),
            None => Ok(()),
        }
    }

    /// Draws a figure of this size, unless an input problem was recorded.
    pub(crate) fn render<F>(&self, draw: F) -> Result<Figure>
    where
        F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<Option<String>>,
    {
        self.check()?;
        Figure::render(self.width, self.height, draw)
    }

    /// A chart builder with the title and room for axis labels.
    pub(crate) fn builder<'a, 's>(
        &self,
        root: &'a DrawingArea<SVGBackend<'s>, Shift>,
    ) -> ChartBuilder<'a, 'a, SVGBackend<'s>> {
        self.builder_for_labels(root, 5)
    }

    /// A chart builder with room left of the plot for y tick labels of up
    /// to `chars` characters (category names can be long).
    pub(crate) fn builder_for_labels<'a, 's>(
        &self,
        root: &'a DrawingArea<SVGBackend<'s>, Shift>,
        chars: usize,
    ) -> ChartBuilder<'a, 'a, SVGBackend<'s>> {
        // About 8 px per character at 14 px, plus the tick and a gap.
        let ticks = 8 * chars.min(30) as u32 + 16;
        let mut builder = ChartBuilder::on(root);
        builder
            .margin(12)
            .x_label_area_size(if self.x_label.is_some() { 44 } else { 28 })
            .y_label_area_size(if self.y_label.is_some() {
                ticks + 22
            } else {
                ticks
            });
        if let Some(title) = &self.title {
            builder.caption(title, (FONT, 22));
        }
        builder
    }

    /// Axes, grid lines, tick labels and axis descriptions. Categorical
    /// axes (`x_ticks` or `y_ticks` false) get no numeric ticks; their labels
    /// come from [`category_labels`].
    pub(crate) fn mesh<X, Y>(
        &self,
        chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<X, Y>>,
        grid: bool,
        x_ticks: bool,
        y_ticks: bool,
    ) -> Result<()>
    where
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let x_tick = tick_on(chart.x_range());
        let y_tick = tick_on(chart.y_range());
        let mut mesh = chart.configure_mesh();
        mesh.label_style((FONT, 14))
            .max_light_lines(0)
            .x_label_formatter(&x_tick)
            .y_label_formatter(&y_tick);
        if !grid {
            mesh.disable_mesh();
        }
        if !x_ticks {
            mesh.x_labels(0);
        }
        if !y_ticks {
            mesh.y_labels(0);
        }
        if let Some(x) = &self.x_label {
            mesh.x_desc(x);
        }
        if let Some(y) = &self.y_label {
            mesh.y_desc(y);
        }
        mesh.draw()?;
        Ok(())
    }
}

/// Draws the legend of a chart with several series at `position` (`None`:
/// middle right, the default of every plot kind whose caller did not choose),
/// in the one style all plot kinds share.
pub(crate) fn draw_legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: Option<SeriesLabelPosition>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position.unwrap_or(SeriesLabelPosition::MiddleRight))
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
}

/// A tick label: short decimals, scientific notation for very large or
/// small magnitudes (plotters' default prints `0.30000000000000004`).
pub(crate) fn tick(v: &f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        format!(
            "{}e{exponent}",
            mantissa.trim_end_matches('0').trim_end_matches('.')
        )
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.into() }
    }
}

/// [`tick`] for an axis spanning `range`. On an axis that crosses zero, plotters
/// computes the zero tick as a sum of steps and can land on `-1.1e-16`; a
/// value within a billionth of the span from zero is that tick. (A log axis
/// never crosses zero, so its `1e-13` ticks stay as they are.)
fn tick_on(range: std::ops::Range<f64>) -> impl Fn(&f64) -> String {
    let noise = if range.start < 0.0 && range.end > 0.0 {
        (range.end - range.start) * 1e-9
    } else {
        0.0
    };
    move |v: &f64| {
        if v.abs() < noise { "0".into() } else { tick(v) }
    }
}

/// Which axis [`category_labels`] labels.
#[derive(Clone, Copy)]
pub(crate) enum Side {
    /// Below the plot, cell 0 on the left.
    X,
    /// Left of the plot, cell 0 at the top.
    Y,
}

/// Writes `labels` at the centres of the unit cells `0..n` of a categorical
/// axis (plotters puts its own labels at round numbers, not cell centres).
/// Long label lists are thinned to about 25.
pub(crate) fn category_labels(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &ChartContext<'_, SVGBackend<'_>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    labels: &[String],
    side: Side,
) -> Result<()> {
    let n = labels.len();
    let every = n.div_ceil(25).max(1);
    let (xs, ys) = (chart.x_range(), chart.y_range());
    for (i, label) in labels.iter().enumerate().step_by(every) {
        let (at, pos, offset) = match side {
            Side::X => (
                (i as f64 + 0.5, ys.start),
                Pos::new(HPos::Center, VPos::Top),
                (0, 6),
            ),
            Side::Y => (
                (xs.start, n as f64 - i as f64 - 0.5),
                Pos::new(HPos::Right, VPos::Center),
                (-6, 0),
            ),
        };
        let (px, py) = chart.backend_coord(&at);
        let style = TextStyle::from((FONT, 14).into_font()).pos(pos);
        root.draw(&Text::new(
            label.clone(),
            (px + offset.0, py + offset.1),
            style,
        ))?;
    }
    Ok(())
}

/// `min..max` of the finite values, widened by 5% (or by 1 when all are
/// equal) so points do not sit on the frame.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>) -> Option<std::ops::Range<f64>> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return None;
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
    Some(lo - pad..hi + pad)
}

/// Title, axis-label and size setters for a chart type with an `axes: Axes` field.
macro_rules! chart_api {
    ($chart:ty) => {
        impl $chart {
            /// Sets the title drawn above the chart.
            pub fn title(mut self, title: impl Into<String>) -> Self {
                self.axes.title = Some(title.into());
                self
            }

            /// Sets the x-axis description.
            pub fn x_label(mut self, label: impl Into<String>) -> Self {
                self.axes.x_label = Some(label.into());
                self
            }

            /// Sets the y-axis description.
            pub fn y_label(mut self, label: impl Into<String>) -> Self {
                self.axes.y_label = Some(label.into());
                self
            }

            /// Sets the size in pixels (default 640 x 400).
            pub fn size(mut self, width: u32, height: u32) -> Self {
                self.axes.width = width;
                self.axes.height = height;
                self
            }
        }
    };
}

/// `save` and `evcxr_display` for a plot type with a `figure(&self)` method,
/// so the plot shows when it is a cell's last value.
macro_rules! displayable {
    ($plot:ty) => {
        impl $plot {
            /// Draws the plot and writes it as an SVG file.
            pub fn save(&self, path: impl AsRef<std::path::Path>) -> $crate::Result<()> {
                self.figure()?.save(path)
            }

            /// Shows the plot in a notebook, or the reason it cannot be drawn.
            pub fn evcxr_display(&self) {
                match self.figure() {
                    Ok(figure) => figure.evcxr_display(),
                    Err(e) => $crate::display::emit(&[("text/plain", &format!("error: {e}"))]),
                }
            }
        }
    };
}
pub(crate) use {chart_api, displayable};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_padded() {
        assert_eq!(padded_range([0.0, 10.0]), Some(-0.5..10.5));
        assert_eq!(padded_range([2.0, f64::NAN]), Some(1.0..3.0));
        assert_eq!(padded_range([f64::NAN]), None);
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(&0.30000000000000004), "0.3");
        assert_eq!(tick(&2.0), "2");
        assert_eq!(tick(&-0.0), "0");
        assert_eq!(tick(&0.00002), "2e-5");
        assert_eq!(tick(&0.00025), "2.5e-4");
        let crossing_zero = tick_on(-1.0..1.5);
        assert_eq!(crossing_zero(&-1.1102230246251565e-16), "0");
        assert_eq!(crossing_zero(&0.5), "0.5");
        let log_axis = tick_on(1e-13..0.1);
        assert_eq!(log_axis(&1e-13), "1e-13");
        assert_eq!(tick(&250000.0), "2.5e5");
    }

    #[test]
    fn recorded_problems_stop_rendering() {
        let mut axes = Axes::default();
        let v = axes.keep(Err(Error::InvalidArgument("bad input".into())), 0);
        assert_eq!(v, 0);
        let err = axes.render(|_| Ok(None)).unwrap_err();
        assert!(err.to_string().contains("bad input"));
    }
}
