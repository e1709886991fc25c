//! Contour plots of a function of two variables, with paths on top: the
//! picture of an optimiser walking down a loss surface.

use std::ops::Range;

use image::{Rgb, RgbImage};
use ndarray::Array2;
use plotters::prelude::*;

use super::axes::{Axes, chart_api, displayable, draw_legend, tick};
use super::{Figure, colorbar, palette, raster};
use crate::{Error, Result};

/// Grid points per axis at which the function is evaluated; the picture
/// interpolates between them.
const GRID: usize = 201;
/// Decades of values [`Contour::log_levels`] spreads its levels over.
const LOG_DECADES: f64 = 4.0;

/// A filled contour plot of `f(x, y)` over a rectangle, with a colour bar
/// that gives the level between each two bands, and optional paths (one
/// colour and legend entry each) and marked points.
///
/// ```
/// use aiguide::plot::contour;
/// let bowl = |x: f64, y: f64| x * x + 10.0 * y * y;
/// let path = [(-4.0, 1.5), (-3.2, -1.2), (-2.6, 0.9), (-2.0, -0.7)];
/// let chart = contour(bowl, -5.0..5.0, -2.0..2.0)
///     .path("gradient descent", &path)
///     .legend(plotters::chart::SeriesLabelPosition::LowerRight)
///     .marker("minimum", (0.0, 0.0))
///     .title("x^2 + 10 y^2");
/// assert!(chart.figure()?.to_svg().contains("gradient descent"));
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Contour {
    /// `values[[i, j]]` is `f` at row `i` (y, bottom to top), column `j` (x).
    values: Array2<f64>,
    x: Range<f64>,
    y: Range<f64>,
    levels: usize,
    log_levels: bool,
    paths: Vec<(String, Vec<(f64, f64)>)>,
    markers: Vec<(String, (f64, f64))>,
    legend: SeriesLabelPosition,
    axes: Axes,
}

/// A contour plot of `f` over `x` times `y` (each range must be non-empty),
/// with 12 evenly spaced levels.
pub fn contour<F: Fn(f64, f64) -> f64>(f: F, x: Range<f64>, y: Range<f64>) -> Contour {
    let mut axes = Axes::default();
    let ok = |r: &Range<f64>| r.start.is_finite() && r.end.is_finite() && r.start < r.end;
    let values = if ok(&x) && ok(&y) {
        let at =
            |r: &Range<f64>, k: usize| r.start + (r.end - r.start) * k as f64 / (GRID - 1) as f64;
        Array2::from_shape_fn((GRID, GRID), |(i, j)| f(at(&x, j), at(&y, i)))
    } else {
        axes.complain(format!(
            "contour: the ranges must be finite and increasing, got x {x:?} and y {y:?}"
        ));
        Array2::zeros((0, 0))
    };
    Contour {
        values,
        x,
        y,
        levels: 12,
        log_levels: false,
        paths: Vec::new(),
        markers: Vec::new(),
        legend: SeriesLabelPosition::UpperRight,
        axes,
    }
}

chart_api!(Contour);
displayable!(Contour);

impl Contour {
    /// The number of contour levels (default 12, at least 1).
    pub fn levels(mut self, levels: usize) -> Contour {
        self.levels = levels.max(1);
        self
    }

    /// Spaces the levels geometrically above the minimum (over four decades)
    /// instead of evenly, so the rings stay visible near the bottom of a
    /// steep or ill-conditioned bowl.
    pub fn log_levels(mut self) -> Contour {
        self.log_levels = true;
        self
    }

    /// Adds a path (an optimiser's iterates, say), drawn as a line through
    /// its points with a dot at each. Parts outside the plot are cut off.
    pub fn path(mut self, name: &str, points: &[(f64, f64)]) -> Contour {
        self.paths.push((name.to_string(), points.to_vec()));
        self
    }

    /// Marks one point (a minimum, a starting point) with a cross.
    pub fn marker(mut self, name: &str, at: (f64, f64)) -> Contour {
        self.markers.push((name.to_string(), at));
        self
    }

    /// Where the legend goes (default upper right): move it off the
    /// interesting part of the plot, e.g. `SeriesLabelPosition::LowerRight`.
    pub fn legend(mut self, position: SeriesLabelPosition) -> Contour {
        self.legend = position;
        self
    }

    /// The level values, increasing.
    fn level_values(&self) -> Result<Vec<f64>> {
        let finite = self.values.iter().copied().filter(|v| v.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if lo >= hi {
            return Err(Error::InvalidArgument(
                "contour: the function has no two different finite values on this range".into(),
            ));
        }
        let n = self.levels;
        Ok((1..=n)
            .map(|k| {
                let t = k as f64 / (n + 1) as f64;
                if self.log_levels {
                    lo + (hi - lo) * 10f64.powf(LOG_DECADES * (t - 1.0))
                } else {
                    lo + (hi - lo) * t
                }
            })
            .collect())
    }

    /// `f` at a point of the plot, interpolated bilinearly on the grid.
    fn value_at(&self, x: f64, y: f64) -> f64 {
        let scale = |v: f64, r: &Range<f64>| {
            ((v - r.start) / (r.end - r.start) * (GRID - 1) as f64).clamp(0.0, (GRID - 1) as f64)
        };
        let (fx, fy) = (scale(x, &self.x), scale(y, &self.y));
        let (j, i) = ((fx as usize).min(GRID - 2), (fy as usize).min(GRID - 2));
        let (tx, ty) = (fx - j as f64, fy - i as f64);
        let v = &self.values;
        let bottom = v[[i, j]] * (1.0 - tx) + v[[i, j + 1]] * tx;
        let top = v[[i + 1, j]] * (1.0 - tx) + v[[i + 1, j + 1]] * tx;
        bottom * (1.0 - ty) + top * ty
    }

    /// The filled bands as a `width` x `height` image, with the level lines
    /// drawn where the band changes between neighbouring pixels.
    fn bands(&self, width: u32, height: u32, levels: &[f64]) -> RgbImage {
        let (w, h) = (width.max(1) as usize, height.max(1) as usize);
        let band = Array2::from_shape_fn((h, w), |(row, col)| {
            let x = self.x.start + (self.x.end - self.x.start) * (col as f64 + 0.5) / w as f64;
            let y = self.y.end - (self.y.end - self.y.start) * (row as f64 + 0.5) / h as f64;
            let v = self.value_at(x, y);
            // NaN sorts past every level, like a value above the top one.
            levels.partition_point(|&level| level < v)
        });
        RgbImage::from_fn(w as u32, h as u32, |col, row| {
            let (r, c) = (row as usize, col as usize);
            let b = band[[r, c]];
            let edge = (c + 1 < w && band[[r, c + 1]] != b) || (r + 1 < h && band[[r + 1, c]] != b);
            if edge {
                return Rgb([110, 110, 110]);
            }
            band_color(b, levels.len())
        })
    }

    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure> {
        self.axes.check()?;
        let levels = self.level_values()?;
        let (xs, ys) = (self.x.clone(), self.y.clone());
        self.axes.render(|root| {
            let (main, bar) =
                root.split_horizontally(self.axes.width.saturating_sub(colorbar::WIDTH));
            let mut chart = self
                .axes
                .builder(&main)
                .build_cartesian_2d(xs.clone(), ys.clone())?;
            self.axes.mesh(&mut chart, false, true, true)?;
            for (i, (name, points)) in self.paths.iter().enumerate() {
                let color = palette::color(i);
                let segments = points
                    .windows(2)
                    .filter_map(|pair| clip(pair[0], pair[1], &xs, &ys));
                chart
                    .draw_series(
                        segments.map(|(a, b)| PathElement::new([a, b], color.stroke_width(2))),
                    )?
                    .label(name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                let inside = points
                    .iter()
                    .filter(|(x, y)| xs.contains(x) && ys.contains(y));
                chart.draw_series(inside.map(|&p| Circle::new(p, 3, color.filled())))?;
            }
            for (name, (x, y)) in &self.markers {
                chart
                    .draw_series([Cross::new((*x, *y), 7, BLACK.stroke_width(3))])?
                    .label(name.as_str())
                    .legend(|(x, y)| Cross::new((x + 8, y), 5, BLACK.stroke_width(2)));
            }
            if !self.paths.is_empty() || !self.markers.is_empty() {
                draw_legend(&mut chart, Some(self.legend.clone()))?;
            }
            let (xr, yr) = chart.plotting_area().get_pixel_range();
            let bands = self.bands(
                (xr.end - xr.start) as u32,
                (yr.end - yr.start) as u32,
                &levels,
            );
            let mut underlay = raster::svg_image(&bands, xr.start, yr.start)?;
            // One swatch per band; band b lies between levels b - 1 and b.
            let swatches: Vec<_> = (0..=levels.len())
                .map(|b| band_color(b, levels.len()))
                .collect();
            let ticks: Vec<_> = levels
                .iter()
                .enumerate()
                .map(|(i, level)| ((i + 1) as f64 / swatches.len() as f64, tick(level)))
                .collect();
            underlay += &colorbar::draw(&bar, yr, &swatches, &ticks)?;
            Ok(Some(underlay))
        })
    }
}

/// The colour of band `b` of `levels + 1` (0 below the lowest level): pale
/// viridis, so the bands stay light and the paths on top stand out.
fn band_color(b: usize, levels: usize) -> Rgb<u8> {
    let RGBColor(red, green, blue) = ViridisRGB.get_color((b as f64 / levels.max(1) as f64) as f32);
    let pale = |c: u8| ((c as u16 + 255 * 2) / 3) as u8;
    Rgb([pale(red), pale(green), pale(blue)])
}

/// The part of the segment `a`-`b` inside the rectangle `xs` x `ys`
/// (Liang-Barsky), or `None` when none of it is.
fn clip(
    a: (f64, f64),
    b: (f64, f64),
    xs: &Range<f64>,
    ys: &Range<f64>,
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - xs.start),
        (dx, xs.end - a.0),
        (-dy, a.1 - ys.start),
        (dy, ys.end - a.1),
    ] {
        if !(p.is_finite() && q.is_finite()) {
            return None;
        }
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then(|| {
        let at = |t: f64| (a.0 + t * dx, a.1 + t * dy);
        (at(t0), at(t1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_bands_paths_and_markers() {
        let c = contour(|x, y| x * x + y * y, -1.0..1.0, -1.0..1.0)
            .levels(5)
            .path("descent", &[(0.8, 0.8), (0.4, 0.4), (0.1, 0.1)])
            .marker("minimum", (0.0, 0.0));
        let svg = c.figure().unwrap().to_svg();
        assert!(svg.contains("<image") && svg.contains("descent") && svg.contains("minimum"));
        // The colour bar: a second raster, labelled with the levels.
        assert_eq!(svg.matches("<image").count(), 2);
        let levels = c.level_values().unwrap();
        for level in &levels {
            let label = format!("\n{}\n</text>", tick(level));
            assert!(svg.contains(&label), "level {level} labelled");
        }
        // A paraboloid's levels are circles: the band index grows with the radius.
        assert_eq!(levels.len(), 5);
        let img = c.bands(101, 101, &levels);
        assert_ne!(img.get_pixel(50, 50), img.get_pixel(0, 0));
        assert_eq!(img.get_pixel(0, 0), img.get_pixel(100, 100), "symmetric");
    }

    #[test]
    fn interpolates_between_grid_points() {
        let c = contour(|x, y| 2.0 * x + y, 0.0..1.0, 0.0..1.0);
        assert!((c.value_at(0.123, 0.456) - (0.246 + 0.456)).abs() < 1e-12);
        assert!((c.value_at(1.0, 1.0) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn log_levels_crowd_near_the_minimum() {
        let c = contour(|x, _| x, 0.0..1.0, 0.0..1.0).levels(3).log_levels();
        let levels = c.level_values().unwrap();
        assert!(levels[0] < 0.01 && levels[1] < 0.1 && levels[2] < 1.0);
        assert!(levels.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn segments_are_cut_at_the_frame() {
        let (xs, ys) = (0.0..1.0, 0.0..1.0);
        assert_eq!(
            clip((0.5, 0.5), (1.5, 0.5), &xs, &ys),
            Some(((0.5, 0.5), (1.0, 0.5)))
        );
        assert_eq!(clip((2.0, 2.0), (3.0, 3.0), &xs, &ys), None);
        assert_eq!(clip((0.5, 0.5), (f64::INFINITY, 0.5), &xs, &ys), None);
    }

    #[test]
    fn bad_ranges_and_flat_functions_are_errors() {
        assert!(contour(|x, _| x, 1.0..0.0, 0.0..1.0).figure().is_err());
        let err = contour(|_, _| 1.0, 0.0..1.0, 0.0..1.0)
            .figure()
            .unwrap_err();
        assert!(err.to_string().contains("no two different"));
    }
}
