//! Pixel images inside SVG figures: heatmaps, decision boundaries and image
//! grids are drawn as one embedded PNG each rather than thousands of SVG
//! rectangles, which keeps a 200 x 200 boundary at a few kilobytes.

use base64::Engine;
use image::codecs::png::PngEncoder;
use image::imageops::{self, FilterType};
use image::{ImageEncoder, RgbImage};

use crate::{Error, Result};

/// `image` resized to `width` x `height`: nearest neighbour when enlarging,
/// so cells and pixels stay crisp squares whatever the viewer's smoothing
/// does, and a triangle filter when shrinking, so photos stay smooth.
pub(crate) fn resize(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let filter = if width >= image.width() {
        FilterType::Nearest
    } else {
        FilterType::Triangle
    };
    imageops::resize(image, width.max(1), height.max(1), filter)
}

/// An SVG `<image>` element showing `image` unscaled at (`x`, `y`).
pub(crate) fn svg_image(image: &RgbImage, x: i32, y: i32) -> Result<String> {
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::Plot(format!("PNG encoding failed: {e}")))?;
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    Ok(format!(
        r#"<image x="{x}" y="{y}" width="{w}" height="{h}" href="data:image/png;base64,{data}"/>"#,
        w = image.width(),
        h = image.height()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn enlarging_keeps_blocks() {
        let img = RgbImage::from_fn(2, 1, |x, _| Rgb([x as u8 * 200, 0, 0]));
        let big = resize(&img, 4, 2);
        let reds: Vec<u8> = big.pixels().map(|p| p[0]).collect();
        assert_eq!(reds, [0, 0, 200, 200, 0, 0, 200, 200]);
    }

    #[test]
    fn embeds_a_png() {
        let el = svg_image(&RgbImage::new(3, 3), 5, 6).unwrap();
        assert!(el.starts_with(
            r#"<image x="5" y="6" width="3" height="3" href="data:image/png;base64,iVBOR"#
        ));
    }
}
