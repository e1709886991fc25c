//! Colours shared by all plots, so class 0 has the same colour in a scatter
//! plot, a decision boundary and a legend.

use plotters::style::RGBColor;

/// The Tableau 10 palette (matplotlib's default colour cycle), which learners
/// coming from Python will recognise.
const TAB10: [RGBColor; 10] = [
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

/// The colour of series or class `i` (cycling after ten).
pub(crate) fn color(i: usize) -> RGBColor {
    TAB10[i % TAB10.len()]
}

/// A pale version of [`color`], for filled regions under points.
pub(crate) fn pale(i: usize) -> [u8; 3] {
    let RGBColor(r, g, b) = color(i);
    let mix = |c: u8| (c as u16 + 2 * 255).div_ceil(3) as u8;
    [mix(r), mix(g), mix(b)]
}
