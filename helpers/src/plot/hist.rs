//! Histograms: distributions of features, weights, activations or errors.

use plotters::prelude::*;

use super::axes::{Axes, chart_api, displayable, draw_legend, padded_range};
use super::{Figure, Values, palette};
use crate::{Error, Result};

/// A histogram of one or more samples over shared bins; several samples are
/// drawn semi-transparent on top of each other.
///
/// ```
/// use aiguide::plot::hist;
/// let chart = hist("noise", &[0.1, 0.4, 0.35, 0.8, 0.5]).bins(4);
/// assert!(chart.figure().is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct Hist {
    samples: Vec<(String, Vec<f64>)>,
    bins: usize,
    /// Colours of the samples in order; the shared palette beyond them.
    colors: Vec<RGBColor>,
    /// Where the legend goes; `None` is middle right.
    legend: Option<SeriesLabelPosition>,
    axes: Axes,
}

/// A histogram of `values` with 30 bins.
pub fn hist(name: &str, values: &(impl Values + ?Sized)) -> Hist {
    Hist {
        samples: Vec::new(),
        bins: 30,
        colors: Vec::new(),
        legend: None,
        axes: Axes::default(),
    }
    .sample(name, values)
}

chart_api!(Hist);
displayable!(Hist);

impl Hist {
    /// Adds another sample to compare.
    pub fn sample(mut self, name: &str, values: &(impl Values + ?Sized)) -> Hist {
        let values = self.axes.keep(values.to_f64s(), Vec::new());
        self.samples.push((
            name.to_string(),
            values.into_iter().filter(|v| v.is_finite()).collect(),
        ));
        self
    }

    /// Sets the number of bins (default 30).
    pub fn bins(mut self, bins: usize) -> Hist {
        self.bins = bins.max(1);
        self
    }

    /// Colours for the samples, in the order they were added, instead of the
    /// shared palette: when the samples have colours of their own, such as
    /// the red, green and blue channels of an image, the legend should not
    /// call the blue bars "red".
    pub fn colors(mut self, colors: impl IntoIterator<Item = RGBColor>) -> Hist {
        self.colors = colors.into_iter().collect();
        self
    }

    /// Where the legend goes (default middle right): put it over bins that
    /// are empty or low, e.g. `.legend(SeriesLabelPosition::UpperMiddle)`
    /// for a sample that piles up at both ends.
    pub fn legend(mut self, position: SeriesLabelPosition) -> Hist {
        self.legend = Some(position);
        self
    }

    /// The bin counts of each sample, with the bins' lower edges and width.
    fn counts(&self) -> Result<(f64, f64, Vec<Vec<usize>>)> {
        let all = self.samples.iter().flat_map(|(_, v)| v.iter().copied());
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if lo > hi {
            return Err(Error::InvalidArgument("hist: no finite values".into()));
        }
        let width = if hi > lo {
            (hi - lo) / self.bins as f64
        } else {
            1.0
        };
        let counts = self
            .samples
            .iter()
            .map(|(_, values)| {
                let mut counts = vec![0; self.bins];
                for v in values {
                    let bin = (((v - lo) / width) as usize).min(self.bins - 1);
                    counts[bin] += 1;
                }
                counts
            })
            .collect();
        Ok((lo, width, counts))
    }

    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure> {
        self.axes.check()?;
        let (lo, width, counts) = self.counts()?;
        let xs = padded_range([lo, lo + width * self.bins as f64]).expect("finite bin edges");
        let top = counts.iter().flatten().copied().max().unwrap_or(0) as f64;
        let alpha = if counts.len() > 1 { 0.5 } else { 0.9 };
        self.axes.render(|root| {
            let mut chart = self
                .axes
                .builder(root)
                .build_cartesian_2d(xs, 0.0..top * 1.05 + 1e-9)?;
            self.axes.mesh(&mut chart, true, true, true)?;
            for (s, ((name, _), counts)) in self.samples.iter().zip(&counts).enumerate() {
                let color = self
                    .colors
                    .get(s)
                    .copied()
                    .unwrap_or_else(|| palette::color(s));
                let bars = counts.iter().enumerate().map(|(b, &c)| {
                    let x0 = lo + b as f64 * width;
                    Rectangle::new(
                        [(x0, 0.0), (x0 + width, c as f64)],
                        color.mix(alpha).filled(),
                    )
                });
                chart
                    .draw_series(bars)?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                    });
            }
            if self.samples.len() > 1 {
                draw_legend(&mut chart, self.legend.clone())?;
            }
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cover_every_value_once() {
        let h = hist("a", &[0.0, 0.5, 1.0, 1.0]).sample("b", &[2.0]).bins(4);
        let (lo, width, counts) = h.counts().unwrap();
        assert_eq!((lo, width), (0.0, 0.5));
        assert_eq!(counts, [vec![1, 1, 2, 0], vec![0, 0, 0, 1]]);
        assert!(h.figure().unwrap().to_svg().contains("<rect"));
    }

    #[test]
    fn samples_take_the_colours_given() {
        let svg = |chart: Hist| chart.figure().unwrap().to_svg();
        let two = || hist("a", &[0.0, 1.0]).sample("b", &[0.5]);
        let red = "#D62728"; // palette colour 3, not used by two samples
        assert!(!svg(two()).contains(red));
        let coloured = svg(two().colors([RGBColor(214, 39, 40)]));
        assert!(coloured.contains(red), "first sample in the colour given");
        assert!(
            coloured.contains("#FF7F0E"),
            "the second keeps palette colour 1"
        );
    }

    #[test]
    fn constant_and_empty_samples() {
        assert!(hist("c", &[3.0, 3.0]).figure().is_ok());
        assert!(hist("e", &[f64::NAN]).figure().is_err());
    }
}
