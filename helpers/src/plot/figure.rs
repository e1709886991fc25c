//! The value every plot produces: an SVG document that shows inline in a
//! notebook and saves to a file. SVG keeps figures sharp, needs no fonts or
//! native libraries, and several figures nest into one, which matters because
//! evcxr shows only one image per cell.

use std::fmt;
use std::path::Path;

use plotters::prelude::*;

use crate::display::emit;
use crate::{Error, Result};

/// An SVG figure.
///
/// Show it by making it a cell's last value; save it with [`Figure::save`];
/// combine figures with [`Figure::grid`]; draw anything plotters can draw
/// with [`Figure::draw`].
#[derive(Clone, PartialEq)]
pub struct Figure {
    width: u32,
    height: u32,
    /// SVG elements, without the enclosing `<svg>` tag.
    body: String,
}

impl Figure {
    /// A custom figure drawn with the plotters API on a `width` x `height`
    /// SVG area (the background is white already).
    ///
    /// ```
    /// use aiguide::plot::Figure;
    /// use plotters::prelude::*;
    /// let fig = Figure::draw(300, 200, |root| {
    ///     root.draw(&Circle::new((150, 100), 40, RED.filled()))?;
    ///     Ok(())
    /// })?;
    /// assert!(fig.to_svg().contains("<circle"));
    /// # Ok::<(), aiguide::Error>(())
    /// ```
    pub fn draw<F>(width: u32, height: u32, draw: F) -> Result<Figure>
    where
        F: FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<()>,
    {
        Figure::render(width, height, |root| draw(root).map(|()| None))
    }

    /// Like [`Figure::draw`], but `draw` may return SVG elements to put under
    /// what plotters draws (the rasters of heatmaps and decision boundaries).
    pub(crate) fn render<F>(width: u32, height: u32, draw: F) -> Result<Figure>
    where
        F: FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Result<Option<String>>,
    {
        let mut svg = String::new();
        let underlay = {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            let underlay = draw(&root)?;
            root.present()?;
            underlay
        };
        let inner = strip_svg_tag(&svg)
            .ok_or_else(|| Error::Plot("plotters produced no SVG document".into()))?;
        let body = format!(
            r#"<rect width="{width}" height="{height}" fill="white"/>{}{inner}"#,
            underlay.unwrap_or_default()
        );
        Ok(Figure {
            width,
            height,
            body,
        })
    }

    /// A figure from SVG elements (no enclosing `<svg>` tag) of the given size.
    pub(crate) fn from_elements(width: u32, height: u32, elements: String) -> Figure {
        let body = format!(r#"<rect width="{width}" height="{height}" fill="white"/>{elements}"#);
        Figure {
            width,
            height,
            body,
        }
    }

    /// Several figures as one, `cols` per row, each in a cell the size of the
    /// largest. Use it for side-by-side panels: a notebook cell shows only one
    /// figure.
    pub fn grid(panels: impl IntoIterator<Item = Figure>, cols: usize) -> Figure {
        let panels: Vec<Figure> = panels.into_iter().collect();
        let cols = cols.clamp(1, panels.len().max(1));
        let cell_w = panels.iter().map(|p| p.width).max().unwrap_or(0);
        let cell_h = panels.iter().map(|p| p.height).max().unwrap_or(0);
        let rows = panels.len().div_ceil(cols);
        let mut body = String::new();
        for (i, panel) in panels.iter().enumerate() {
            let x = (i % cols) as u32 * cell_w;
            let y = (i / cols) as u32 * cell_h;
            body += &format!(r#"<g transform="translate({x},{y})">{}</g>"#, panel.body);
        }
        Figure::from_elements(cols as u32 * cell_w, rows as u32 * cell_h, body)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The complete SVG document.
    pub fn to_svg(&self) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>"#,
            w = self.width,
            h = self.height,
            body = self.body
        )
    }

    /// Writes the figure as an SVG file; the path must end in `.svg`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if path.extension().and_then(|e| e.to_str()) != Some("svg") {
            return Err(Error::InvalidArgument(format!(
                "{}: figures are saved as SVG; use a path ending in .svg",
                path.display()
            )));
        }
        std::fs::write(path, self.to_svg()).map_err(|e| Error::io(path, e))
    }

    /// Shows the figure in a notebook.
    pub fn evcxr_display(&self) {
        let text = format!("Figure {}x{} (SVG)", self.width, self.height);
        emit(&[("image/svg+xml", &self.to_svg()), ("text/plain", &text)]);
    }
}

/// A one-line summary instead of kilobytes of SVG markup. evcxr prints a
/// cell's value with `Debug` when it cannot call `evcxr_display`, which
/// happens when the value is a bare `{ ... }` block; the summary says how to
/// get the picture.
impl fmt::Debug for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Figure {}x{} (SVG, {} bytes; to see it, end the cell with the figure, e.g. `let fig = {{ ... }}; fig`)",
            self.width,
            self.height,
            self.body.len()
        )
    }
}

/// The content of an `<svg ...>...</svg>` document.
fn strip_svg_tag(svg: &str) -> Option<&str> {
    let start = svg.find("<svg")?;
    let open_end = start + svg[start..].find('>')? + 1;
    let close = svg.rfind("</svg>")?;
    (close >= open_end).then(|| &svg[open_end..close])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot() -> Figure {
        Figure::draw(100, 50, |root| {
            root.draw(&Circle::new((10, 10), 5, RED.filled()))?;
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn draws_a_standalone_svg() {
        let svg = dot().to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\""));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("<circle") && svg.ends_with("</svg>"));
    }

    #[test]
    fn grid_places_panels_in_rows() {
        let g = Figure::grid([dot(), dot(), dot()], 2);
        assert_eq!((g.width(), g.height()), (200, 100));
        assert!(g.to_svg().contains("translate(100,0)") && g.to_svg().contains("translate(0,50)"));
    }

    #[test]
    fn saves_only_svg_paths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.svg");
        dot().save(&path).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("<circle"));
        let err = dot().save(dir.path().join("f.png")).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)));
    }

    #[test]
    fn debug_is_a_one_line_summary_with_the_fix() {
        let text = format!("{:?}", dot());
        assert!(text.starts_with("Figure 100x50 (SVG, "), "{text}");
        assert!(
            !text.contains("<circle") && text.contains("let fig"),
            "{text}"
        );
    }
}
