//! Plots as SVG [`Figure`]s that show inline in a notebook and save to files.
//!
//! One call makes each common plot: [`line()`], [`scatter`], [`bar`], [`hist`],
//! [`heatmap`], [`images`] / [`image()`] and [`decision_boundary`]. Each returns
//! a builder whose options (title, axis labels, size, log scale, ...) chain;
//! the builder shows itself when it is a cell's last value, and
//! `.figure()` turns it into a [`Figure`] for [`Figure::grid`] or saving.
//! For anything else, [`Figure::draw`] hands over a plotters drawing area.
//!
//! A notebook cell shows one figure, so several panels are one
//! [`Figure::grid`].

mod axes;
mod bar;
mod boundary;
mod colorbar;
mod contour;
mod figure;
mod heatmap;
mod hist;
mod images;
pub(crate) mod input;
mod line;
mod palette;
mod raster;
mod scatter;

pub use bar::{Bar, bar};
pub use boundary::{DecisionBoundary, decision_boundary};
pub use contour::{Contour, contour};
pub use figure::Figure;
pub use heatmap::{Heatmap, heatmap};
pub use hist::{Hist, hist};
pub use images::{Images, image, images};
pub use input::{ImageData, Matrix, Number, Values};
pub use line::{Line, line};
pub use scatter::{Scatter, scatter, scatter_xy};
