//! Images from tensors or arrays: one photo, or a grid of samples such as
//! MNIST digits with their labels.

use image::{Rgb, RgbImage};
use tch::{Kind, Tensor};

use super::axes::{FONT, displayable};
use super::{Figure, ImageData, raster};
use crate::display::escape_html;
use crate::{Error, Result};

/// At most this many images of a batch are shown (the first ones).
const MAX_IMAGES: i64 = 100;

/// A grid of images with optional labels and title.
///
/// Pixel values: `u8` data is shown as is; float data in `[0, 1]` is scaled
/// to 0-255, and other float data is stretched from each image's minimum to
/// its maximum (so normalized tensors still show).
///
/// ```
/// use aiguide::plot::images;
/// use tch::{Kind, Tensor};
/// let batch = Tensor::rand([6, 1, 28, 28], (Kind::Float, tch::Device::Cpu));
/// let grid = images(&batch).labels(0..6).cols(3).title("noise");
/// assert!(grid.figure()?.to_svg().contains("<image"));
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Images {
    images: Vec<RgbImage>,
    labels: Vec<String>,
    cols: Option<usize>,
    title: Option<String>,
    problem: Option<String>,
    /// Longest side, in pixels, each image is scaled to.
    cell: u32,
}

/// A grid of a batch: shape `[N, H, W]` (grey) or `[N, C, H, W]` with C = 1 or 3.
pub fn images(batch: &(impl ImageData + ?Sized)) -> Images {
    Images::from_result(batch.to_tensor().and_then(|t| batch_to_rgb(&t, false)), 96)
}

/// One image: shape `[H, W]` (grey) or `[C, H, W]` with C = 1 or 3.
pub fn image(img: &(impl ImageData + ?Sized)) -> Images {
    Images::from_result(img.to_tensor().and_then(|t| batch_to_rgb(&t, true)), 480)
}

displayable!(Images);

impl Images {
    fn from_result(images: Result<Vec<RgbImage>>, cell: u32) -> Images {
        let (images, problem) = match images {
            Ok(images) => (images, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        Images {
            images,
            labels: Vec::new(),
            cols: None,
            title: None,
            problem,
            cell,
        }
    }

    /// A label under each image, in order.
    pub fn labels<I: IntoIterator<Item: ToString>>(mut self, labels: I) -> Images {
        self.labels = labels.into_iter().map(|l| l.to_string()).collect();
        self
    }

    /// Images per row (default: up to 10).
    pub fn cols(mut self, cols: usize) -> Images {
        self.cols = Some(cols.max(1));
        self
    }

    /// A title above the grid.
    pub fn title(mut self, title: impl Into<String>) -> Images {
        self.title = Some(title.into());
        self
    }

    /// Longest side of each image in pixels (default 96 in a grid, 480 alone).
    pub fn cell_size(mut self, pixels: u32) -> Images {
        self.cell = pixels.max(8);
        self
    }

    /// Draws the grid.
    pub fn figure(&self) -> Result<Figure> {
        if let Some(problem) = &self.problem {
            return Err(Error::InvalidArgument(problem.clone()));
        }
        let n = self.images.len();
        let cols = self.cols.unwrap_or(10).min(n.max(1));
        let (cw, ch) = self.images.iter().fold((1, 1), |(w, h), img| {
            let (iw, ih) = fit(img, self.cell);
            (w.max(iw), h.max(ih))
        });
        let (pad, label_h) = (6, if self.labels.is_empty() { 0 } else { 18 });
        let title_h = if self.title.is_some() { 30 } else { 0 };
        let (cell_w, cell_h) = (cw + 2 * pad, ch + label_h + 2 * pad);
        let mut body = String::new();
        if let Some(title) = &self.title {
            body += &format!(
                r#"<text x="{}" y="20" text-anchor="middle" font-family="{FONT}" font-size="18">{}</text>"#,
                cols as u32 * cell_w / 2,
                escape_html(title)
            );
        }
        for (i, img) in self.images.iter().enumerate() {
            let (w, h) = fit(img, self.cell);
            let x = (i % cols) as u32 * cell_w + pad + (cw - w) / 2;
            let y = title_h + (i / cols) as u32 * cell_h + pad + (ch - h) / 2;
            body += &raster::svg_image(&raster::resize(img, w, h), x as i32, y as i32)?;
            if let Some(label) = self.labels.get(i) {
                body += &format!(
                    r#"<text x="{}" y="{}" text-anchor="middle" font-family="{FONT}" font-size="13">{}</text>"#,
                    (i % cols) as u32 * cell_w + cell_w / 2,
                    title_h + (i / cols) as u32 * cell_h + pad + ch + 15,
                    escape_html(label)
                );
            }
        }
        let rows = n.div_ceil(cols) as u32;
        Ok(Figure::from_elements(
            cols as u32 * cell_w,
            title_h + rows * cell_h,
            body,
        ))
    }
}

/// The size `img` is shown at: its longest side scaled to `cell`, by a whole
/// factor when enlarging so pixels stay square.
fn fit(img: &RgbImage, cell: u32) -> (u32, u32) {
    let (w, h) = img.dimensions();
    let longest = w.max(h).max(1);
    if longest <= cell {
        let k = cell / longest;
        (w * k, h * k)
    } else {
        (
            (w as u64 * cell as u64 / longest as u64).max(1) as u32,
            (h as u64 * cell as u64 / longest as u64).max(1) as u32,
        )
    }
}

/// Converts image data to RGB images; `single` selects the one-image shapes.
fn batch_to_rgb(t: &Tensor, single: bool) -> Result<Vec<RgbImage>> {
    let size = t.size();
    let nchw = match (single, size.as_slice()) {
        (true, &[h, w]) => t.f_reshape([1, 1, h, w])?,
        (true, &[c, h, w]) => t.f_reshape([1, c, h, w])?,
        (false, &[n, h, w]) => t.f_reshape([n, 1, h, w])?,
        (false, &[_, _, _, _]) => t.shallow_clone(),
        _ => {
            let expected = if single {
                "[H, W] or [C, H, W]"
            } else {
                "[N, H, W] or [N, C, H, W]"
            };
            return Err(Error::InvalidArgument(format!(
                "images: expected shape {expected}, got {size:?}"
            )));
        }
    };
    let [n, c, h, w] = nchw.size()[..] else {
        unreachable!("reshaped to 4-D above")
    };
    if c != 1 && c != 3 {
        return Err(Error::InvalidArgument(format!(
            "images: need 1 (grey) or 3 (RGB) channels, got {c} in shape {size:?}"
        )));
    }
    let nchw = nchw.f_narrow(0, 0, n.min(MAX_IMAGES))?;
    let is_bytes = nchw.kind() == Kind::Uint8;
    let data = Vec::<f64>::try_from(&nchw.f_to_kind(Kind::Double)?.f_reshape([-1])?)?;
    let per_image = (c * h * w) as usize;
    let plane = (h * w) as usize;
    let images = data
        .chunks(per_image)
        .map(|px| {
            let (lo, hi) = px
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            let to_byte: Box<dyn Fn(f64) -> u8> = if is_bytes {
                Box::new(|v| v as u8)
            } else if lo >= 0.0 && hi <= 1.0 {
                Box::new(|v| (v * 255.0).round() as u8)
            } else {
                let span = if hi > lo { hi - lo } else { 1.0 };
                Box::new(move |v| ((v - lo) / span * 255.0).round() as u8)
            };
            RgbImage::from_fn(w as u32, h as u32, |x, y| {
                let at = |ch: usize| to_byte(px[ch * plane + (y * w as u32 + x) as usize]);
                if c == 1 {
                    Rgb([at(0); 3])
                } else {
                    Rgb([at(0), at(1), at(2)])
                }
            })
        })
        .collect();
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;
    use tch::Device;

    #[test]
    fn grids_of_grey_and_colour_images() {
        let _rng = crate::torch_rng_lock();
        let grey = Tensor::rand([5, 28, 28], (Kind::Float, Device::Cpu));
        let svg = images(&grey)
            .labels(["a", "b", "c", "d", "e"])
            .cols(2)
            .figure()
            .unwrap()
            .to_svg();
        assert_eq!(svg.matches("<image").count(), 5);
        assert!(svg.contains(">e</text>"));
        let rgb = Tensor::zeros([2, 3, 8, 8], (Kind::Uint8, Device::Cpu));
        assert_eq!(images(&rgb).figure().unwrap().width(), 2 * (96 + 12));
    }

    #[test]
    fn values_are_scaled_into_bytes() {
        let t = Tensor::from_slice(&[-1.0f32, 1.0]).reshape([1, 2]);
        let img = &batch_to_rgb(&t, true).unwrap()[0];
        assert_eq!((img.get_pixel(0, 0)[0], img.get_pixel(1, 0)[0]), (0, 255));
        let t = Tensor::from_slice(&[0.0f64, 0.5]).reshape([1, 2]);
        assert_eq!(batch_to_rgb(&t, true).unwrap()[0].get_pixel(1, 0)[0], 128);
    }

    #[test]
    fn ndarray_input_and_shape_errors() {
        let digits = Array3::<f64>::zeros((3, 8, 8));
        assert!(images(&digits).figure().is_ok());
        let err = image(&Tensor::zeros([2, 5, 4, 4], (Kind::Float, Device::Cpu)))
            .figure()
            .unwrap_err();
        assert!(err.to_string().contains("[H, W] or [C, H, W]"));
        assert!(
            images(&Tensor::zeros([2, 4, 4, 4], (Kind::Float, Device::Cpu)))
                .figure()
                .is_err()
        );
    }

    #[test]
    fn small_images_grow_by_whole_factors() {
        assert_eq!(fit(&RgbImage::new(28, 28), 96), (84, 84));
        assert_eq!(fit(&RgbImage::new(640, 427), 480), (480, 320));
    }
}
