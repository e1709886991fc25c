//! Decision boundaries of 2-D classifiers: the predicted class over the whole
//! plane as a pale background, with the data points on top.

use image::{Rgb, RgbImage};
use ndarray::Array2;

use super::axes::{Axes, chart_api};
use super::input::class_labels;
use super::scatter::Points;
use super::{Figure, Matrix, Values, palette, raster};
use crate::{Error, Result};

/// A decision-boundary plot; finish it with [`DecisionBoundary::figure`],
/// which takes the model's prediction function.
///
/// ```
/// use aiguide::plot::decision_boundary;
/// use ndarray::{Array1, Array2, array};
/// let x = array![[0.0, 0.0], [1.0, 1.0], [0.2, 0.9], [0.9, 0.1]];
/// let y = [0, 1, 1, 0];
/// // A "model" that predicts class 1 above the diagonal.
/// let predict = |grid: &Array2<f64>| -> Array1<usize> {
///     grid.rows().into_iter().map(|p| usize::from(p[1] > p[0])).collect()
/// };
/// let fig = decision_boundary(&x, &y).resolution(50).figure(predict)?;
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct DecisionBoundary {
    points: Points,
    resolution: usize,
    axes: Axes,
}

/// A decision boundary over the first two columns of `x`, with the points
/// coloured by `labels`.
pub fn decision_boundary(
    x: &(impl Matrix + ?Sized),
    labels: &(impl Values + ?Sized),
) -> DecisionBoundary {
    let mut axes = Axes::default();
    let points = Points::new(&mut axes, x, labels);
    DecisionBoundary {
        points,
        resolution: 200,
        axes,
    }
}

chart_api!(DecisionBoundary);

impl DecisionBoundary {
    /// Grid points per axis at which the model is asked (default 200).
    pub fn resolution(mut self, resolution: usize) -> DecisionBoundary {
        self.resolution = resolution.clamp(2, 2000);
        self
    }

    /// Names for classes 0, 1, ... shown in the legend.
    pub fn class_names<I: IntoIterator<Item: ToString>>(mut self, names: I) -> DecisionBoundary {
        self.points.class_names = names.into_iter().map(|n| n.to_string()).collect();
        self
    }

    /// The grid the model is asked about: `resolution`² points, row by row
    /// from the top-left corner of the plot.
    fn grid(&self, xs: &std::ops::Range<f64>, ys: &std::ops::Range<f64>) -> Array2<f64> {
        let n = self.resolution;
        let step_x = (xs.end - xs.start) / n as f64;
        let step_y = (ys.end - ys.start) / n as f64;
        Array2::from_shape_fn((n * n, 2), |(i, col)| match col {
            0 => xs.start + ((i % n) as f64 + 0.5) * step_x,
            _ => ys.end - ((i / n) as f64 + 0.5) * step_y,
        })
    }

    /// Draws the plot, calling `predict` once with the grid (an n x 2 array)
    /// to get one class per grid point.
    pub fn figure<F, R>(&self, predict: F) -> Result<Figure>
    where
        F: FnOnce(&Array2<f64>) -> R,
        R: Values,
    {
        self.axes.check()?;
        let (xs, ys) = self.points.ranges()?;
        let grid = self.grid(&xs, &ys);
        let classes = class_labels("decision_boundary: the predictions", &predict(&grid))?;
        let n = self.resolution;
        if classes.len() != n * n {
            return Err(Error::InvalidArgument(format!(
                "decision_boundary: predict returned {} classes for {} grid points",
                classes.len(),
                n * n
            )));
        }
        let background = RgbImage::from_fn(n as u32, n as u32, |x, y| {
            Rgb(palette::pale(classes[y as usize * n + x as usize]))
        });
        self.axes.render(|root| {
            let mut chart = self.axes.builder(root).build_cartesian_2d(xs, ys)?;
            self.axes.mesh(&mut chart, false, true, true)?;
            self.points.draw(&mut chart)?;
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            let (w, h) = ((xr.end - xr.start) as u32, (yr.end - yr.start) as u32);
            Ok(Some(raster::svg_image(
                &raster::resize(&background, w, h),
                xr.start,
                yr.start,
            )?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn asks_the_model_about_the_whole_plane() {
        let x = array![[0.0, 0.0], [1.0, 1.0]];
        let b = decision_boundary(&x, &[0, 1]).resolution(4);
        let mut seen = None;
        let fig = b.figure(|grid| {
            seen = Some(grid.clone());
            vec![1usize; 16]
        });
        assert!(fig.unwrap().to_svg().contains("<image"));
        let grid = seen.unwrap();
        assert_eq!(grid.dim(), (16, 2));
        // Row by row from the top left: x grows along a row, y falls down the rows.
        assert!(grid[[0, 0]] < grid[[1, 0]] && grid[[0, 1]] == grid[[1, 1]]);
        assert!(grid[[0, 1]] > grid[[4, 1]] && grid[[0, 0]] == grid[[4, 0]]);
    }

    #[test]
    fn wrong_prediction_count_is_an_error() {
        let x = array![[0.0, 0.0], [1.0, 1.0]];
        let err = decision_boundary(&x, &[0, 1])
            .resolution(3)
            .figure(|_| vec![0usize; 5])
            .unwrap_err();
        assert!(err.to_string().contains("5 classes for 9 grid points"));
    }
}
