//! Bar charts of named values: feature importances, per-class scores.

use plotters::prelude::*;

use super::axes::{Axes, Side, category_labels, chart_api, displayable};
use super::{Figure, Values, palette};
use crate::{Error, Result};

/// A bar chart with one bar per label.
///
/// ```
/// use aiguide::plot::bar;
/// let chart = bar(["petal length", "petal width"], &[0.45, 0.42]).title("importance");
/// assert!(chart.figure()?.to_svg().contains("petal width"));
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Bar {
    labels: Vec<String>,
    values: Vec<f64>,
    axes: Axes,
}

/// Bars of `values`, labelled by `labels`.
pub fn bar<I>(labels: I, values: &(impl Values + ?Sized)) -> Bar
where
    I: IntoIterator,
    I::Item: ToString,
{
    let mut axes = Axes::default();
    let labels: Vec<String> = labels.into_iter().map(|l| l.to_string()).collect();
    let values = axes.keep(values.to_f64s(), Vec::new());
    if labels.len() != values.len() {
        axes.complain(format!(
            "bar: {} labels but {} values",
            labels.len(),
            values.len()
        ));
    }
    Bar {
        labels,
        values,
        axes,
    }
}

chart_api!(Bar);
displayable!(Bar);

impl Bar {
    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure> {
        self.axes.check()?;
        if self.values.is_empty() || self.values.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument(
                "bar: need at least one value, all finite".into(),
            ));
        }
        let lo = self.values.iter().copied().fold(0.0, f64::min);
        let hi = self.values.iter().copied().fold(0.0, f64::max);
        let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
        let ys = if lo < 0.0 { lo - pad } else { 0.0 }..if hi > 0.0 { hi + pad } else { 0.0 };
        let n = self.values.len() as f64;
        self.axes.render(|root| {
            let mut chart = self.axes.builder(root).build_cartesian_2d(0.0..n, ys)?;
            self.axes.mesh(&mut chart, true, false, true)?;
            // Bar i fills the middle 80% of the unit cell [i, i + 1].
            chart.draw_series(self.values.iter().enumerate().map(|(i, &v)| {
                let x = i as f64;
                Rectangle::new([(x + 0.1, 0.0), (x + 0.9, v)], palette::color(0).filled())
            }))?;
            category_labels(root, &chart, &self.labels, Side::X)?;
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_per_value() {
        let svg = bar(["a", "b", "c"], &[1.0, -2.0, 3.0])
            .figure()
            .unwrap()
            .to_svg();
        assert_eq!(svg.matches("fill=\"#1F77B4\"").count(), 3, "{svg}");
    }

    #[test]
    fn label_count_must_match() {
        assert!(bar(["a"], &[1.0, 2.0]).figure().is_err());
        assert!(
            bar(Vec::<String>::new(), &Vec::<f64>::new())
                .figure()
                .is_err()
        );
    }
}
