//! NumPy-style text for n-dimensional values. Arrays with more than 1000
//! entries show only the first and last three indices of each axis, like
//! NumPy and PyTorch, so printing a big tensor never floods a notebook.

use super::escape_html;

/// Arrays with more entries than this are summarized.
const THRESHOLD: usize = 1000;
/// How many leading and trailing indices of an axis a summary keeps.
const EDGE: usize = 3;

/// One value of an array or tensor, as the formatter sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    Float(f64),
    Int(i128),
    Bool(bool),
}

/// Element types whose arrays can be displayed.
pub trait Scalar: Copy + 'static {
    /// The value as a [`Cell`].
    fn cell(self) -> Cell;
}

macro_rules! scalar {
    ($variant:ident as $conv:ty: $($t:ty),*) => {
        $(impl Scalar for $t {
            fn cell(self) -> Cell {
                Cell::$variant(<$conv>::from(self))
            }
        })*
    };
}
scalar!(Float as f64: f32, f64);
scalar!(Int as i128: i8, i16, i32, i64, u8, u16, u32, u64);
scalar!(Bool as bool: bool);

impl Scalar for usize {
    fn cell(self) -> Cell {
        Cell::Int(self as i128)
    }
}

impl Scalar for isize {
    fn cell(self) -> Cell {
        Cell::Int(self as i128)
    }
}

/// For each axis of `shape`, the indices a display shows.
pub(crate) fn kept_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let summarize = shape.iter().product::<usize>() > THRESHOLD;
    shape
        .iter()
        .map(|&len| {
            if summarize && len > 2 * EDGE {
                (0..EDGE).chain(len - EDGE..len).collect()
            } else {
                (0..len).collect()
            }
        })
        .collect()
}

/// The shown part of an array: its full shape, the kept indices per axis and
/// the kept values formatted to a common width (row-major).
pub(crate) struct Summary {
    shape: Vec<usize>,
    kept: Vec<Vec<usize>>,
    cells: Vec<String>,
}

impl Summary {
    /// `values` are the entries at the [`kept_indices`] of `shape`, row-major.
    pub(crate) fn new(shape: Vec<usize>, values: &[Cell]) -> Summary {
        let kept = kept_indices(&shape);
        let cells = format_cells(values);
        debug_assert_eq!(cells.len(), kept.iter().map(Vec::len).product::<usize>());
        Summary { shape, kept, cells }
    }

    /// Nested brackets, NumPy style.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        if self.shape.is_empty() {
            out.push_str(self.cells[0].trim_start());
        } else {
            self.render(0, 0, &mut out);
        }
        out
    }

    fn elided(&self, axis: usize) -> bool {
        self.kept[axis].len() < self.shape[axis]
    }

    fn render(&self, axis: usize, offset: usize, out: &mut String) {
        let last = axis + 1 == self.shape.len();
        let stride: usize = self.kept[axis + 1..].iter().map(Vec::len).product();
        let separator = if last {
            ", ".to_string()
        } else {
            format!(
                ",{}{}",
                "\n".repeat(self.shape.len() - axis - 1),
                " ".repeat(axis + 1)
            )
        };
        out.push('[');
        for i in 0..self.kept[axis].len() {
            if i > 0 {
                out.push_str(&separator);
            }
            if self.elided(axis) && i == EDGE {
                out.push_str("...");
                out.push_str(&separator);
            }
            if last {
                out.push_str(&self.cells[offset + i]);
            } else {
                self.render(axis + 1, offset + i * stride, out);
            }
        }
        out.push(']');
    }

    /// An HTML table for 1-D and 2-D values (index headers, elided rows and
    /// columns marked); `None` for other ranks.
    pub(crate) fn html_table(&self) -> Option<String> {
        let (rows, cols) = match self.shape.len() {
            1 => (vec![None], 0),
            2 => (self.kept[0].iter().copied().map(Some).collect(), 1),
            _ => return None,
        };
        let col_idx = &self.kept[cols];
        let ncols = col_idx.len();
        let col_elided = self.elided(cols);
        let mut html = String::from("<table><thead><tr><th></th>");
        for (j, c) in col_idx.iter().enumerate() {
            if col_elided && j == EDGE {
                html += "<th>⋯</th>";
            }
            html += &format!("<th>{c}</th>");
        }
        html += "</tr></thead><tbody>";
        for (i, r) in rows.iter().enumerate() {
            if self.shape.len() == 2 && self.elided(0) && i == EDGE {
                html += &format!(
                    "<tr><th>⋮</th>{}</tr>",
                    "<td>⋮</td>".repeat(ncols + col_elided as usize)
                );
            }
            html += &format!(
                "<tr><th>{}</th>",
                r.map(|r| r.to_string()).unwrap_or_default()
            );
            for j in 0..ncols {
                if col_elided && j == EDGE {
                    html += "<td>⋯</td>";
                }
                html += &format!("<td>{}</td>", escape_html(self.cells[i * ncols + j].trim()));
            }
            html += "</tr>";
        }
        Some(html + "</tbody></table>")
    }
}

/// Formats all values alike: whole floats as `3.`, very large or very small
/// magnitudes in scientific notation, other floats with four decimals.
fn format_cells(values: &[Cell]) -> Vec<String> {
    let finite: Vec<f64> = values
        .iter()
        .filter_map(|v| match v {
            Cell::Float(f) if f.is_finite() => Some(f.abs()),
            _ => None,
        })
        .collect();
    let max = finite.iter().copied().fold(0.0, f64::max);
    let min_nonzero = finite
        .iter()
        .copied()
        .filter(|&f| f > 0.0)
        .fold(f64::INFINITY, f64::min);
    let whole = finite.iter().all(|f| f.fract() == 0.0) && max < 1e16;
    let scientific = !whole && (max >= 1e8 || min_nonzero < 1e-4);
    let strings: Vec<String> = values
        .iter()
        .map(|v| match *v {
            Cell::Float(f) if f.is_nan() => "nan".into(),
            Cell::Float(f) if f.is_infinite() => if f > 0.0 { "inf" } else { "-inf" }.into(),
            Cell::Float(f) if whole => format!("{f:.0}."),
            Cell::Float(f) if scientific => format!("{f:.4e}"),
            Cell::Float(f) => format!("{f:.4}"),
            Cell::Int(i) => i.to_string(),
            Cell::Bool(b) => b.to_string(),
        })
        .collect();
    let width = strings.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    strings
        .into_iter()
        .map(|s| format!("{s:>width$}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(shape: &[usize]) -> Summary {
        let kept = kept_indices(shape);
        // The value at each kept position is its flat index in the full array.
        let mut values = Vec::new();
        let total: usize = kept.iter().map(Vec::len).product();
        for k in 0..total {
            let (mut rest, mut flat, mut scale) = (k, 0, 1);
            for axis in (0..shape.len()).rev() {
                let n = kept[axis].len();
                flat += kept[axis][rest % n] * scale;
                rest /= n;
                scale *= shape[axis];
            }
            values.push(Cell::Int(flat as i128));
        }
        Summary::new(shape.to_vec(), &values)
    }

    #[test]
    fn small_arrays_are_shown_whole() {
        assert_eq!(ints(&[2, 3]).text(), "[[0, 1, 2],\n [3, 4, 5]]");
        assert_eq!(ints(&[]).text(), "0");
        assert_eq!(ints(&[0]).text(), "[]");
    }

    #[test]
    fn big_arrays_keep_three_edges_like_numpy() {
        assert_eq!(
            ints(&[2000]).text(),
            "[   0,    1,    2, ..., 1997, 1998, 1999]"
        );
        let text = ints(&[100, 100]).text();
        assert!(
            text.starts_with("[[   0,    1,    2, ...,   97,   98,   99],\n"),
            "{text}"
        );
        assert!(text.contains("\n ...,\n [9700,"), "{text}");
        let three_d = ints(&[20, 20, 20]).text();
        assert!(three_d.contains("]],\n\n [["), "{three_d}");
    }

    #[test]
    fn floats_share_one_style() {
        let f = |v: &[f64]| format_cells(&v.iter().map(|&x| Cell::Float(x)).collect::<Vec<_>>());
        assert_eq!(f(&[1.0, -2.0]), [" 1.", "-2."]);
        assert_eq!(f(&[0.5, 1.25]), ["0.5000", "1.2500"]);
        assert_eq!(f(&[1e-5, 1.5]), ["1.0000e-5", " 1.5000e0"]);
        assert_eq!(f(&[f64::NAN, 0.5]), ["   nan", "0.5000"]);
    }

    #[test]
    fn html_marks_elided_rows_and_columns() {
        let html = ints(&[100, 100]).html_table().unwrap();
        assert!(html.contains("<th>⋯</th>") && html.contains("<th>⋮</th>"));
        assert!(html.contains("<td>9999</td>"));
        assert!(ints(&[2, 2, 2]).html_table().is_none());
    }
}
