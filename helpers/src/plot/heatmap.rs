//! Heatmaps of matrices: confusion matrices, correlation matrices, attention
//! weights. Cells are one embedded image (see `raster`), so a 512 x 512
//! attention map costs no more to show than a 3 x 3 confusion matrix.

use image::{Rgb, RgbImage};
use ndarray::Array2;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::{Axes, FONT, Side, category_labels, chart_api, displayable, tick};
use super::{Figure, Matrix, colorbar, raster};
use crate::{Error, Result};

/// Matrices up to this many cells get their values written in the cells.
const ANNOTATE_MAX_CELLS: usize = 400;

/// A heatmap of a matrix, row 0 at the top, with a colour bar.
///
/// ```
/// use aiguide::plot::heatmap;
/// use ndarray::array;
/// let cm = array![[50, 2], [5, 43]];
/// let chart = heatmap(&cm).labels(["cat", "dog"]).x_label("predicted").y_label("true");
/// assert!(chart.figure()?.to_svg().contains("43"));
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Heatmap {
    data: Array2<f64>,
    row_labels: Vec<String>,
    col_labels: Vec<String>,
    annotate: Option<bool>,
    cell_text: Option<Vec<String>>,
    axes: Axes,
}

/// A heatmap of `matrix`.
pub fn heatmap(matrix: &(impl Matrix + ?Sized)) -> Heatmap {
    let mut axes = Axes::default();
    let data = axes.keep(matrix.to_array2(), Array2::zeros((0, 0)));
    Heatmap {
        data,
        row_labels: Vec::new(),
        col_labels: Vec::new(),
        annotate: None,
        cell_text: None,
        axes,
    }
}

chart_api!(Heatmap);
displayable!(Heatmap);

impl Heatmap {
    /// Names for the rows, top to bottom.
    pub fn row_labels<I: IntoIterator<Item: ToString>>(mut self, labels: I) -> Heatmap {
        self.row_labels = labels.into_iter().map(|l| l.to_string()).collect();
        self
    }

    /// Names for the columns, left to right.
    pub fn col_labels<I: IntoIterator<Item: ToString>>(mut self, labels: I) -> Heatmap {
        self.col_labels = labels.into_iter().map(|l| l.to_string()).collect();
        self
    }

    /// The same names for rows and columns, as in a confusion matrix.
    pub fn labels<I: IntoIterator<Item: ToString>>(self, labels: I) -> Heatmap {
        let labels: Vec<String> = labels.into_iter().map(|l| l.to_string()).collect();
        self.row_labels(labels.clone()).col_labels(labels)
    }

    /// Whether to write each value in its cell (default: when there are at
    /// most 400 cells).
    pub fn annotate(mut self, annotate: bool) -> Heatmap {
        self.annotate = Some(annotate);
        self
    }

    /// Writes `texts` in the cells instead of their values, row by row
    /// (one per cell), e.g. a policy's arrow beside each state's value.
    /// Implies [`Heatmap::annotate`]`(true)`.
    pub fn cell_text<I: IntoIterator<Item: ToString>>(mut self, texts: I) -> Heatmap {
        self.cell_text = Some(texts.into_iter().map(|t| t.to_string()).collect());
        self.annotate = Some(true);
        self
    }

    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure> {
        self.axes.check()?;
        let (rows, cols) = self.data.dim();
        if rows == 0 || cols == 0 {
            return Err(Error::InvalidArgument(
                "heatmap: the matrix is empty".into(),
            ));
        }
        if let Some(texts) = &self.cell_text
            && texts.len() != rows * cols
        {
            return Err(Error::InvalidArgument(format!(
                "heatmap: {} cell texts for a {rows} x {cols} matrix: give one per cell, row by row",
                texts.len()
            )));
        }
        let finite = self.data.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let (lo, hi) = if lo > hi { (0.0, 1.0) } else { (lo, hi) };
        let cells = RgbImage::from_fn(cols as u32, rows as u32, |c, r| {
            color(self.data[[r as usize, c as usize]], lo, hi)
        });
        let annotate = self.annotate.unwrap_or(rows * cols <= ANNOTATE_MAX_CELLS);
        let names = |labels: &[String], n: usize| -> Vec<String> {
            (0..n)
                .map(|i| labels.get(i).cloned().unwrap_or_else(|| i.to_string()))
                .collect()
        };
        self.axes.render(|root| {
            let (main, bar) =
                root.split_horizontally(self.axes.width.saturating_sub(colorbar::WIDTH));
            // Cell (r, c) is the unit square at x = c, y = rows - 1 - r: row 0 on top.
            let row_names = names(&self.row_labels, rows);
            let widest = row_names
                .iter()
                .map(|n| n.chars().count())
                .max()
                .unwrap_or(1);
            let mut chart = self
                .axes
                .builder_for_labels(&main, widest)
                .build_cartesian_2d(0.0..cols as f64, 0.0..rows as f64)?;
            self.axes.mesh(&mut chart, false, false, false)?;
            category_labels(&main, &chart, &names(&self.col_labels, cols), Side::X)?;
            category_labels(&main, &chart, &row_names, Side::Y)?;
            if annotate {
                let whole = self.data.iter().all(|v| v.fract() == 0.0);
                let texts = self.data.indexed_iter().map(|((r, c), &v)| {
                    let text = match &self.cell_text {
                        Some(texts) => texts[r * cols + c].clone(),
                        None if whole => format!("{v:.0}"),
                        None => format!("{v:.2}"),
                    };
                    let Rgb([red, green, blue]) = color(v, lo, hi);
                    let luminance = 0.299 * red as f64 + 0.587 * green as f64 + 0.114 * blue as f64;
                    let ink: &'static RGBColor = if luminance < 128.0 { &WHITE } else { &BLACK };
                    let style = TextStyle::from((FONT, 14).into_font())
                        .color(ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    Text::new(text, (c as f64 + 0.5, (rows - r) as f64 - 0.5), style)
                });
                chart.draw_series(texts)?;
            }
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            let (w, h) = ((xr.end - xr.start) as u32, (yr.end - yr.start) as u32);
            let mut underlay =
                raster::svg_image(&raster::resize(&cells, w, h), xr.start, yr.start)?;
            // The colour bar: a gradient beside the plot with its min and max.
            let gradient: Vec<_> = (0..256)
                .map(|i| color(lo + (hi - lo) * i as f64 / 255.0, lo, hi))
                .collect();
            let ticks = [(0.0, tick(&lo)), (1.0, tick(&hi))];
            underlay += &colorbar::draw(&bar, yr, &gradient, &ticks)?;
            Ok(Some(underlay))
        })
    }
}

/// The viridis colour of `v` on the scale `lo..=hi`; NaN is light grey.
fn color(v: f64, lo: f64, hi: f64) -> Rgb<u8> {
    if !v.is_finite() {
        return Rgb([220, 220, 220]);
    }
    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let RGBColor(r, g, b) = ViridisRGB.get_color(t as f32);
    Rgb([r, g, b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn small_matrices_are_annotated() {
        let svg = heatmap(&array![[1, 20], [300, 4]])
            .figure()
            .unwrap()
            .to_svg();
        for v in ["20", "300"] {
            assert!(svg.contains(&format!("\n{v}\n")), "{v} missing");
        }
        assert_eq!(svg.matches("<image").count(), 2, "cells and colour bar");
    }

    #[test]
    fn big_matrices_stay_small() {
        let big = Array2::from_shape_fn((300, 300), |(r, c)| (r * c) as f64);
        let svg = heatmap(&big).figure().unwrap().to_svg();
        assert!(svg.len() < 200_000, "{} bytes", svg.len());
        assert!(
            svg.matches("<text").count() < 100,
            "cells are not annotated"
        );
    }

    #[test]
    fn cells_can_carry_their_own_text() {
        let chart =
            heatmap(&array![[1.0, 2.0], [f64::NAN, 4.0]]).cell_text(["→ 1", "↓ 2", "#", "G"]);
        let svg = chart.figure().unwrap().to_svg();
        for text in ["→ 1", "↓ 2", "#", "G"] {
            assert!(svg.contains(&format!("\n{text}\n")), "{text} missing");
        }
        let wrong = heatmap(&array![[1.0, 2.0]]).cell_text(["a"]).figure();
        assert!(
            wrong
                .unwrap_err()
                .to_string()
                .contains("1 cell texts for a 1 x 2 matrix")
        );
    }

    #[test]
    fn empty_matrix_is_an_error() {
        assert!(heatmap(&Array2::<f64>::zeros((0, 3))).figure().is_err());
    }
}
