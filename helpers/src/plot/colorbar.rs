//! Colour bars: the key that says which value a colour stands for, beside a
//! heatmap (a continuous gradient) or a filled contour plot (one swatch per
//! band, labelled at the levels between them).

use std::ops::Range;

use image::{Rgb, RgbImage};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axes::FONT;
use super::raster;
use crate::Result;

/// Width of the area a colour bar takes on the right of a figure.
pub(crate) const WIDTH: u32 = 84;
/// Pixels between two tick labels, at least, so that they never overlap.
const MIN_TICK_GAP: f64 = 16.0;

/// Draws a colour bar into `area` (the figure's right-hand strip) beside a
/// plot spanning the pixel rows `rows`: `colors` in equal steps from the
/// bottom of the bar to the top, and `ticks` as (height from 0 at the bottom
/// to 1 at the top, label). Ticks closer than 16 px to the last one drawn are
/// skipped. Returns the bar's raster, to go under what plotters draws.
pub(crate) fn draw(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    rows: Range<i32>,
    colors: &[Rgb<u8>],
    ticks: &[(f64, String)],
) -> Result<String> {
    let height = (rows.end - rows.start).max(1);
    let steps = colors.len().max(1) as u32;
    let strip = RgbImage::from_fn(1, steps, |_, y| {
        colors
            .get((steps - 1 - y) as usize)
            .copied()
            .unwrap_or(Rgb([255, 255, 255]))
    });
    let (left, _) = area.get_base_pixel();
    let image = raster::svg_image(
        &raster::resize(&strip, 16, height as u32),
        left + 8,
        rows.start,
    )?;
    let style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    let mut last: Option<f64> = None;
    for (at, label) in ticks {
        let y = rows.end as f64 - at.clamp(0.0, 1.0) * height as f64;
        if last.is_some_and(|previous| (previous - y).abs() < MIN_TICK_GAP) {
            continue;
        }
        area.draw(&Text::new(
            label.clone(),
            (30, y.round() as i32),
            style.clone(),
        ))?;
        last = Some(y);
    }
    Ok(image)
}
