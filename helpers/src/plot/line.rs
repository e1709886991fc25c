//! Line charts: loss curves, learning-rate schedules, fitted functions.

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::axes::{Axes, chart_api, displayable, draw_legend, padded_range};
use super::{Figure, Values, palette};
use crate::{Error, Result};

/// A line chart of one or more named series, optionally on log scales.
///
/// ```
/// use aiguide::plot::line;
/// let losses = [2.3, 1.2, 0.7, 0.5, 0.45];
/// let chart = line("train", &losses).series("val", &[2.4, 1.4, 0.9, 0.8, 0.82]).log_y().title("loss");
/// assert!(chart.figure()?.to_svg().contains("train"));
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Line {
    series: Vec<(String, Vec<(f64, f64)>)>,
    log_x: bool,
    log_y: bool,
    /// Where the legend goes; `None` keeps plotters' default (middle right).
    legend: Option<SeriesLabelPosition>,
    axes: Axes,
}

/// A line chart of `y` against its index 0, 1, 2, ...
pub fn line(name: &str, y: &(impl Values + ?Sized)) -> Line {
    Line::default().series(name, y)
}

chart_api!(Line);
displayable!(Line);

impl Line {
    /// An empty chart; add series with [`Line::series`] or [`Line::series_xy`].
    pub fn new() -> Line {
        Line::default()
    }

    /// Where the legend goes (default middle right): move it off the curves,
    /// e.g. `.legend(SeriesLabelPosition::UpperRight)` for falling losses.
    pub fn legend(mut self, position: SeriesLabelPosition) -> Line {
        self.legend = Some(position);
        self
    }

    /// Adds `y` against its index.
    pub fn series(mut self, name: &str, y: &(impl Values + ?Sized)) -> Line {
        let y = self.axes.keep(y.to_f64s(), Vec::new());
        let points = y
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as f64, v))
            .collect();
        self.series.push((name.to_string(), points));
        self
    }

    /// Adds `y` against `x`; both must have the same length.
    pub fn series_xy(
        mut self,
        name: &str,
        x: &(impl Values + ?Sized),
        y: &(impl Values + ?Sized),
    ) -> Line {
        let x = self.axes.keep(x.to_f64s(), Vec::new());
        let y = self.axes.keep(y.to_f64s(), Vec::new());
        if x.len() != y.len() {
            self.axes.complain(format!(
                "series `{name}`: {} x values but {} y values",
                x.len(),
                y.len()
            ));
        }
        self.series
            .push((name.to_string(), x.into_iter().zip(y).collect()));
        self
    }

    /// Uses a logarithmic x axis (non-positive x values are left out).
    pub fn log_x(mut self) -> Line {
        self.log_x = true;
        self
    }

    /// Uses a logarithmic y axis (non-positive y values are left out), the
    /// usual way to look at a loss that falls by orders of magnitude.
    pub fn log_y(mut self) -> Line {
        self.log_y = true;
        self
    }

    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure> {
        self.axes.check()?;
        let keep = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
        let series: Vec<(&str, Vec<(f64, f64)>)> = self
            .series
            .iter()
            .map(|(name, pts)| {
                let pts = pts
                    .iter()
                    .copied()
                    .filter(|&(x, y)| keep(x, self.log_x) && keep(y, self.log_y));
                (name.as_str(), pts.collect())
            })
            .collect();
        let no_data = || Error::InvalidArgument("line chart: no finite values to draw".into());
        let xs = padded_range(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)))
            .ok_or_else(no_data)?;
        let ys = padded_range(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)))
            .ok_or_else(no_data)?;
        // Log axes need a positive range: shrink the padding instead of crossing zero.
        let positive =
            |r: std::ops::Range<f64>, lo: f64| if r.start > 0.0 { r } else { lo * 0.9..r.end };
        let min_of = |f: fn(&(f64, f64)) -> f64| {
            series
                .iter()
                .flat_map(|(_, p)| p.iter().map(f))
                .fold(f64::INFINITY, f64::min)
        };
        let xs_log = positive(xs.clone(), min_of(|p| p.0));
        let ys_log = positive(ys.clone(), min_of(|p| p.1));
        self.axes.render(|root| {
            match (self.log_x, self.log_y) {
                (false, false) => self.draw(root, xs, ys, &series),
                (true, false) => self.draw(root, xs_log.log_scale(), ys, &series),
                (false, true) => self.draw(root, xs, ys_log.log_scale(), &series),
                (true, true) => self.draw(root, xs_log.log_scale(), ys_log.log_scale(), &series),
            }?;
            Ok(None)
        })
    }

    fn draw<X, Y>(
        &self,
        root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
        x: X,
        y: Y,
        series: &[(&str, Vec<(f64, f64)>)],
    ) -> Result<()>
    where
        X: AsRangedCoord<Value = f64>,
        Y: AsRangedCoord<Value = f64>,
        X::CoordDescType: ValueFormatter<f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = self.axes.builder(root).build_cartesian_2d(x, y)?;
        self.axes.mesh(&mut chart, true, true, true)?;
        for (i, (name, points)) in series.iter().enumerate() {
            let color = palette::color(i);
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        if series.len() > 1 {
            draw_legend(&mut chart, self.legend.clone())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_series_with_legend() {
        let svg = line("train", &[3.0, 2.0, 1.0])
            .series("val", &vec![3.5f32, 2.5, 2.0])
            .figure()
            .unwrap()
            .to_svg();
        assert!(svg.contains("train") && svg.contains("val"));
        assert!(svg.contains("<polyline"));
    }

    #[test]
    fn log_scale_skips_non_positive_values() {
        let fig = line("loss", &[0.0, 10.0, 1.0, 0.1])
            .log_y()
            .log_x()
            .figure();
        assert!(fig.is_ok());
        assert!(line("zero", &[0.0, -1.0]).log_y().figure().is_err());
    }

    #[test]
    fn mismatched_xy_is_an_error() {
        let err = Line::new()
            .series_xy("s", &[1.0, 2.0], &[1.0])
            .figure()
            .unwrap_err();
        assert!(err.to_string().contains("2 x values but 1 y values"));
    }
}
