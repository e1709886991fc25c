//! Photos as image tensors: the two sample photos from the data hub, or any
//! JPEG/PNG file of the learner's.

use std::path::Path;

use tch::{Kind, Tensor};

use crate::hub::Hub;
use crate::{Error, Result};

/// A sample photo from the data hub, `"china"` or `"flower"` (scikit-learn's
/// `load_sample_image`), as a Float tensor `[3, H, W]` in `[0, 1]`.
pub fn sample_image(name: &str) -> Result<Tensor> {
    load_sample_image(&Hub::from_env()?, name)
}

/// A JPEG or PNG file as a Float tensor `[3, H, W]` in `[0, 1]`, the layout
/// PyTorch vision models use (channels first).
pub fn load_image(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let rgb = image::load_from_memory(&bytes)
        .map_err(|e| Error::corrupt(path, format!("cannot decode the image ({e})")))?
        .to_rgb8();
    let (w, h) = rgb.dimensions();
    let hwc = Tensor::from_slice(rgb.as_raw()).f_reshape([h as i64, w as i64, 3])?;
    Ok(hwc.f_permute([2, 0, 1])?.f_to_kind(Kind::Float)? / 255.0)
}

pub(crate) fn load_sample_image(hub: &Hub, name: &str) -> Result<Tensor> {
    if !matches!(name, "china" | "flower") {
        return Err(Error::InvalidArgument(format!(
            "sample_image: no photo `{name}`; the sample photos are \"china\" and \"flower\""
        )));
    }
    load_image(hub.locate(&format!("photo-{name}"))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::assert_loader_errors;
    use crate::hub::testing::hub_with;
    use image::{ImageFormat, Rgb, RgbImage};
    use std::io::Cursor;

    fn encoded(format: ImageFormat) -> Vec<u8> {
        let img = RgbImage::from_fn(4, 2, |x, y| Rgb([x as u8 * 60, y as u8 * 200, 255]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn photos_become_chw_tensors() {
        let png = encoded(ImageFormat::Png);
        let (_d, hub) = hub_with(&[("photo-china", "china.png", Some(&png))]);
        let t = load_sample_image(&hub, "china").unwrap();
        assert_eq!((t.size(), t.kind()), (vec![3, 2, 4], Kind::Float));
        assert!((t.double_value(&[0, 0, 3]) - 180.0 / 255.0).abs() < 1e-6);
        assert!((t.double_value(&[1, 1, 0]) - 200.0 / 255.0).abs() < 1e-6);
        assert!(
            load_sample_image(&hub, "moon")
                .unwrap_err()
                .to_string()
                .contains("\"flower\"")
        );
        assert_loader_errors("photo-flower", "flower.png", &png, |h| {
            load_sample_image(h, "flower")
        });
    }

    #[test]
    fn jpeg_files_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jpg");
        std::fs::write(&path, encoded(ImageFormat::Jpeg)).unwrap();
        assert_eq!(load_image(&path).unwrap().size(), [3, 2, 4]);
        assert!(matches!(
            load_image(dir.path().join("none.jpg")),
            Err(Error::Io { .. })
        ));
    }
}
