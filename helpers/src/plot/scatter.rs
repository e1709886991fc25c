//! Scatter plots of 2-D points coloured by class: datasets, clusters, and the
//! points on top of a decision boundary.

use ndarray::Array2;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::axes::{Axes, chart_api, displayable, draw_legend, padded_range};
use super::input::class_labels;
use super::{Figure, Matrix, Values, palette};
use crate::{Error, Result};

/// A scatter plot; each class gets its own colour and legend entry.
///
/// ```
/// use aiguide::plot::scatter;
/// use ndarray::array;
/// let x = array![[0.0, 1.0], [1.0, 0.5], [2.0, 2.0]];
/// let svg = scatter(&x, &[0, 1, 1]).class_names(["cat", "dog"]).figure()?.to_svg();
/// assert!(svg.contains("dog"));
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Scatter {
    points: Points,
    axes: Axes,
    /// Pairs of point indices joined by a line, drawn under the points.
    edges: Vec<(usize, usize)>,
}

/// Points with class labels and optional class names.
#[derive(Clone, Debug, Default)]
pub(crate) struct Points {
    pub(crate) xy: Vec<(f64, f64)>,
    pub(crate) labels: Vec<usize>,
    pub(crate) class_names: Vec<String>,
    /// Where the legend goes; `None` is middle right.
    pub(crate) legend: Option<SeriesLabelPosition>,
}

/// A scatter plot of the first two columns of `x`, coloured by `labels`.
pub fn scatter(x: &(impl Matrix + ?Sized), labels: &(impl Values + ?Sized)) -> Scatter {
    let mut axes = Axes::default();
    let points = Points::new(&mut axes, x, labels);
    Scatter {
        points,
        axes,
        edges: Vec::new(),
    }
}

/// A scatter plot of `y` against `x`, one colour.
pub fn scatter_xy(x: &(impl Values + ?Sized), y: &(impl Values + ?Sized)) -> Scatter {
    let mut axes = Axes::default();
    let x = axes.keep(x.to_f64s(), Vec::new());
    let y = axes.keep(y.to_f64s(), Vec::new());
    if x.len() != y.len() {
        axes.complain(format!(
            "scatter: {} x values but {} y values",
            x.len(),
            y.len()
        ));
    }
    let labels = vec![0; x.len()];
    let points = Points {
        xy: x.into_iter().zip(y).collect(),
        labels,
        class_names: Vec::new(),
        legend: None,
    };
    Scatter {
        points,
        axes,
        edges: Vec::new(),
    }
}

chart_api!(Scatter);
displayable!(Scatter);

impl Scatter {
    /// Names for classes 0, 1, ... shown in the legend.
    pub fn class_names<I>(mut self, names: I) -> Scatter
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        self.points.class_names = names.into_iter().map(|n| n.to_string()).collect();
        self
    }

    /// Where the class legend goes (default middle right). Clusters often
    /// fill the middle of the plot: put the legend in a corner they leave
    /// empty, e.g. `.legend(SeriesLabelPosition::LowerRight)`.
    pub fn legend(mut self, position: SeriesLabelPosition) -> Scatter {
        self.points.legend = Some(position);
        self
    }

    /// Joins points `i` and `j` by a thin grey line for every `(i, j)`: the
    /// edges of a graph drawn at the points' positions (a node-link
    /// diagram). The lines go under the points.
    pub fn edges(mut self, edges: impl IntoIterator<Item = (usize, usize)>) -> Scatter {
        self.edges = edges.into_iter().collect();
        self
    }

    /// Draws the chart.
    pub fn figure(&self) -> Result<Figure> {
        self.axes.check()?;
        let n = self.points.xy.len();
        if let Some((i, j)) = self.edges.iter().find(|(i, j)| *i >= n || *j >= n) {
            return Err(Error::InvalidArgument(format!(
                "scatter: edge ({i}, {j}) joins a point beyond the {n} points given"
            )));
        }
        let (xs, ys) = self.points.ranges()?;
        self.axes.render(|root| {
            let mut chart = self.axes.builder(root).build_cartesian_2d(xs, ys)?;
            self.axes.mesh(&mut chart, true, true, true)?;
            let segment = |&(i, j): &(usize, usize)| {
                let style = RGBColor(150, 150, 150).mix(0.5).stroke_width(1);
                PathElement::new(vec![self.points.xy[i], self.points.xy[j]], style)
            };
            chart.draw_series(self.edges.iter().map(segment))?;
            self.points.draw(&mut chart)?;
            Ok(None)
        })
    }
}

impl Points {
    /// Points from the first two columns of `x` and their labels; problems go to `axes`.
    pub(crate) fn new(
        axes: &mut Axes,
        x: &(impl Matrix + ?Sized),
        labels: &(impl Values + ?Sized),
    ) -> Points {
        let x = axes.keep(x.to_array2(), Array2::zeros((0, 2)));
        let labels = axes.keep(class_labels("scatter", labels), Vec::new());
        if x.ncols() < 2 {
            axes.complain(format!("scatter: need 2 columns (x, y), got {}", x.ncols()));
        } else if x.nrows() != labels.len() {
            axes.complain(format!(
                "scatter: {} points but {} labels",
                x.nrows(),
                labels.len()
            ));
        }
        let xy = if x.ncols() >= 2 {
            x.rows().into_iter().map(|r| (r[0], r[1])).collect()
        } else {
            Vec::new()
        };
        Points {
            xy,
            labels,
            class_names: Vec::new(),
            legend: None,
        }
    }

    /// Padded x and y ranges of the points.
    pub(crate) fn ranges(&self) -> Result<(std::ops::Range<f64>, std::ops::Range<f64>)> {
        let none = || Error::InvalidArgument("scatter: no finite points to draw".into());
        let xs = padded_range(self.xy.iter().map(|p| p.0)).ok_or_else(none)?;
        let ys = padded_range(self.xy.iter().map(|p| p.1)).ok_or_else(none)?;
        Ok((xs, ys))
    }

    /// Draws the points class by class, with a legend when classes are
    /// named or there are several.
    pub(crate) fn draw<'a, 'b: 'a>(
        &self,
        chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    ) -> Result<()> {
        let n_classes = self.labels.iter().max().map_or(0, |m| m + 1);
        for class in 0..n_classes {
            let color = palette::color(class);
            let points = self
                .xy
                .iter()
                .zip(&self.labels)
                .filter(|(_, l)| **l == class);
            let name = self
                .class_names
                .get(class)
                .cloned()
                .unwrap_or_else(|| class.to_string());
            chart
                .draw_series(points.map(|(&p, _)| Circle::new(p, 3, color.mix(0.85).filled())))?
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, color.filled()));
        }
        if n_classes > 1 || !self.class_names.is_empty() {
            draw_legend(chart, self.legend.clone())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn edges_are_drawn_as_lines_and_checked() {
        let x = array![[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]];
        let svg = scatter(&x, &[0usize, 0, 1])
            .edges([(0, 1), (1, 2)])
            .figure()
            .unwrap()
            .to_svg();
        assert_eq!(
            svg.matches("<polyline").count()
                - scatter(&x, &[0usize, 0, 1])
                    .figure()
                    .unwrap()
                    .to_svg()
                    .matches("<polyline")
                    .count(),
            2
        );
        let error = scatter(&x, &[0usize, 0, 1])
            .edges([(0, 3)])
            .figure()
            .unwrap_err();
        assert!(error.to_string().contains("edge (0, 3)"), "{error}");
    }

    #[test]
    fn one_circle_per_point_plus_legend() {
        let x = array![[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]];
        let svg = scatter(&x, &[0usize, 1, 2]).figure().unwrap().to_svg();
        assert_eq!(svg.matches("<circle").count(), 3 + 3);
    }

    /// The (x, y) position of the SVG text element that reads `text`.
    fn text_position(svg: &str, text: &str) -> (f64, f64) {
        let end = svg
            .find(&format!(">\n{text}\n</text>"))
            .expect("text in the SVG");
        let element = &svg[svg[..end].rfind("<text").unwrap()..end];
        let attribute = |name: &str| -> f64 {
            let value = &element[element.find(&format!(" {name}=\"")).unwrap() + name.len() + 3..];
            value[..value.find('"').unwrap()].parse().unwrap()
        };
        (attribute("x"), attribute("y"))
    }

    #[test]
    fn the_legend_goes_where_it_is_asked() {
        let x = array![[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]];
        let legend_entry = |chart: Scatter| {
            let svg = chart
                .class_names(["first", "second"])
                .figure()
                .unwrap()
                .to_svg();
            text_position(&svg, "second")
        };
        let middle_right = legend_entry(scatter(&x, &[0usize, 1, 1]));
        let upper_left =
            legend_entry(scatter(&x, &[0usize, 1, 1]).legend(SeriesLabelPosition::UpperLeft));
        let lower_left =
            legend_entry(scatter(&x, &[0usize, 1, 1]).legend(SeriesLabelPosition::LowerLeft));
        assert!(
            upper_left.0 < middle_right.0,
            "left of the default: {upper_left:?} vs {middle_right:?}"
        );
        assert!(upper_left.1 < middle_right.1 && middle_right.1 < lower_left.1);
    }

    #[test]
    fn bad_inputs_are_reported() {
        let x = array![[0.0], [1.0]];
        assert!(
            scatter(&x, &[0, 1])
                .figure()
                .unwrap_err()
                .to_string()
                .contains("2 columns")
        );
        let x = array![[0.0, 1.0]];
        assert!(scatter(&x, &[0, 1]).figure().is_err());
        assert!(scatter_xy(&[1.0], &[1.0, 2.0]).figure().is_err());
        assert!(scatter_xy(&[1.0, 2.0], &[3.0, 4.0]).figure().is_ok());
    }
}
