//! Rich display in notebooks: arrays, tensors and tables as HTML, with text as
//! the fallback.
//!
//! evcxr shows a cell's final value by calling `value.evcxr_display()` when
//! that method exists, and expects MIME blocks on stdout. aiguide's own types
//! have the method built in; for ndarray arrays and tch tensors the
//! [`RichDisplay`] trait (in the prelude) adds it. Outside a notebook the same
//! text is available through [`RichDisplay::to_text`].

mod summary;
mod table;

use std::io::Write;

use ndarray::{ArrayBase, Axis, Data, Dimension};
use tch::{Device, Kind, Tensor};

pub use summary::{Cell, Scalar};
pub use table::Table;

use summary::{Summary, kept_indices};

/// Display for types aiguide does not own: ndarray arrays (of numbers or
/// bools) and tch tensors. Large values are summarized like NumPy does.
pub trait RichDisplay {
    /// An HTML fragment for notebooks.
    fn to_html(&self) -> String;
    /// Plain text: a header line (type, shape) and the values.
    fn to_text(&self) -> String;
    /// Prints the HTML and text blocks evcxr picks up from a cell's last value.
    fn evcxr_display(&self) {
        emit(&[
            ("text/html", &self.to_html()),
            ("text/plain", &self.to_text()),
        ]);
    }
}

impl<S, D> RichDisplay for ArrayBase<S, D>
where
    S: Data,
    S::Elem: Scalar,
    D: Dimension,
{
    fn to_html(&self) -> String {
        let summary = array_summary(self);
        let body = summary
            .html_table()
            .unwrap_or_else(|| format!("<pre>{}</pre>", escape_html(&summary.text())));
        format!(
            "<div><code>{}</code></div>{body}",
            escape_html(&array_header(self))
        )
    }

    fn to_text(&self) -> String {
        format!("{}\n{}", array_header(self), array_summary(self).text())
    }
}

fn array_header<S: Data, D: Dimension>(a: &ArrayBase<S, D>) -> String {
    let elem = std::any::type_name::<S::Elem>();
    let shape: Vec<String> = a.shape().iter().map(usize::to_string).collect();
    format!("array<{elem}> shape ({})", shape.join(", "))
}

fn array_summary<S, D>(a: &ArrayBase<S, D>) -> Summary
where
    S: Data,
    S::Elem: Scalar,
    D: Dimension,
{
    let view = a.view().into_dyn();
    let shape = view.shape().to_vec();
    let indices = kept_indices(&shape);
    let Some(first) = indices.first() else {
        // A 0-d array: its single value.
        let cells: Vec<Cell> = view.iter().map(|v| v.cell()).collect();
        return Summary::new(shape, &cells);
    };
    // Select axis by axis, so only the kept entries are ever copied.
    let mut kept = view.select(Axis(0), first);
    for (axis, idx) in indices.iter().enumerate().skip(1) {
        if idx.len() < shape[axis] {
            kept = kept.select(Axis(axis), idx);
        }
    }
    let cells: Vec<Cell> = kept.iter().map(|v| v.cell()).collect();
    Summary::new(shape, &cells)
}

impl RichDisplay for Tensor {
    fn to_html(&self) -> String {
        let body = match tensor_summary(self) {
            Ok(s) => s
                .html_table()
                .unwrap_or_else(|| format!("<pre>{}</pre>", escape_html(&s.text()))),
            Err(e) => format!("<pre>{}</pre>", escape_html(&e)),
        };
        format!(
            "<div><code>{}</code></div>{body}",
            escape_html(&tensor_header(self))
        )
    }

    fn to_text(&self) -> String {
        let body = match tensor_summary(self) {
            Ok(s) => s.text(),
            Err(e) => e,
        };
        format!("{}\n{body}", tensor_header(self))
    }
}

/// `tensor shape [2, 3] Float cpu` (+ `requires_grad`).
fn tensor_header(t: &Tensor) -> String {
    if !t.defined() {
        return "tensor (undefined)".into();
    }
    let device = match t.device() {
        Device::Cpu => "cpu".to_string(),
        Device::Cuda(i) => format!("cuda:{i}"),
        Device::Mps => "mps".into(),
        Device::Vulkan => "vulkan".into(),
    };
    let grad = if t.requires_grad() {
        " requires_grad"
    } else {
        ""
    };
    format!("tensor shape {:?} {:?} {device}{grad}", t.size(), t.kind())
}

fn tensor_summary(t: &Tensor) -> Result<Summary, String> {
    if !t.defined() {
        return Err("(no values)".into());
    }
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let mut kept = t.detach();
    for (axis, indices) in kept_indices(&shape).iter().enumerate() {
        if indices.len() < shape[axis] {
            let index: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
            let index = Tensor::from_slice(&index).to_device(t.device());
            kept = kept
                .f_index_select(axis as i64, &index)
                .map_err(|e| e.to_string())?;
        }
    }
    let flat = kept
        .to_device(Device::Cpu)
        .f_reshape([-1])
        .map_err(|e| e.to_string())?;
    let err = |e: tch::TchError| e.to_string();
    let cells: Vec<Cell> = match t.kind() {
        Kind::Bool => Vec::<bool>::try_from(&flat)
            .map_err(err)?
            .into_iter()
            .map(Cell::Bool)
            .collect(),
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16 => {
            let flat = flat.f_to_kind(Kind::Double).map_err(err)?;
            Vec::<f64>::try_from(&flat)
                .map_err(err)?
                .into_iter()
                .map(Cell::Float)
                .collect()
        }
        Kind::Uint8 | Kind::Int8 | Kind::Int16 | Kind::Int | Kind::Int64 => {
            let flat = flat.f_to_kind(Kind::Int64).map_err(err)?;
            Vec::<i64>::try_from(&flat)
                .map_err(err)?
                .into_iter()
                .map(|v| Cell::Int(v.into()))
                .collect()
        }
        other => return Err(format!("(values of kind {other:?} are not shown)")),
    };
    Ok(Summary::new(shape, &cells))
}

/// Prints MIME blocks in the form evcxr reads from stdout, in one write so
/// they cannot interleave with other output.
pub(crate) fn emit(blocks: &[(&str, &str)]) {
    let mut out = String::new();
    for (mime, content) in blocks {
        out.push_str(&format!(
            "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n"
        ));
    }
    let mut stdout = std::io::stdout().lock();
    // Display is best effort: a closed stdout must not panic a notebook cell.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, Array2, array};

    #[test]
    fn arrays_show_header_and_values() {
        let a = array![[1.5, 2.0], [3.0, 4.0]];
        assert_eq!(
            a.to_text(),
            "array<f64> shape (2, 2)\n[[1.5000, 2.0000],\n [3.0000, 4.0000]]"
        );
        let html = a.view().to_html();
        assert!(html.contains("<td>1.5000</td>") && html.contains("array&lt;f64&gt;"));
        let b = Array::from_elem((2, 2, 2), true);
        assert!(b.to_html().contains("<pre>[[[true, true]"));
    }

    #[test]
    fn big_arrays_are_summarized() {
        let a = Array2::<u8>::zeros((500, 500));
        let text = a.to_text();
        assert!(text.lines().count() < 12, "{text}");
        assert!(text.contains("..."));
    }

    #[test]
    fn tensors_show_kind_device_and_values() {
        let t = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6]).reshape([2, 3]);
        assert_eq!(
            t.to_text(),
            "tensor shape [2, 3] Int64 cpu\n[[1, 2, 3],\n [4, 5, 6]]"
        );
        let big = Tensor::arange(10_000, (Kind::Float, Device::Cpu)).reshape([100, 100]);
        let text = big.to_text();
        assert!(text.contains("9999.") && text.contains("..."), "{text}");
        let grad = Tensor::ones([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        assert!(grad.to_html().contains("requires_grad"));
        let flags = Tensor::from_slice(&[true, false]);
        assert!(flags.to_text().ends_with("[ true, false]"));
    }
}
