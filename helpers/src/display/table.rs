//! Small tables (metrics, dataset heads, data status) that render as HTML in a
//! notebook and as aligned text elsewhere.

use std::fmt;

use super::{emit, escape_html};

/// A table of strings with a header row and an optional caption.
///
/// ```
/// use aiguide::display::Table;
/// let t = Table::new(["model", "accuracy"]).row(["tree", "0.93"]).row(["forest", "0.96"]);
/// assert!(t.to_text().contains("forest"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    caption: Option<String>,
}

impl Table {
    /// A table with these column headers and no rows.
    pub fn new<I>(headers: I) -> Table
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        Table {
            headers: headers.into_iter().map(|h| h.to_string()).collect(),
            ..Table::default()
        }
    }

    /// Adds a row (builder style).
    pub fn row<I>(mut self, cells: I) -> Table
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        self.push_row(cells);
        self
    }

    /// Adds a row. Short rows are padded with empty cells.
    pub fn push_row<I>(&mut self, cells: I)
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
    }

    /// Sets a caption shown above the table.
    pub fn with_caption(mut self, caption: impl Into<String>) -> Table {
        self.caption = Some(caption.into());
        self
    }

    /// The header row.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The body rows.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    fn ncols(&self) -> usize {
        self.rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0)
    }

    /// The table as an HTML fragment.
    pub fn to_html(&self) -> String {
        let n = self.ncols();
        let cells = |row: &[String], tag: &str| {
            (0..n)
                .map(|i| {
                    let c = row.get(i).map(String::as_str).unwrap_or("");
                    format!("<{tag}>{}</{tag}>", escape_html(c))
                })
                .collect::<String>()
        };
        let mut html = String::from("<table>");
        if let Some(caption) = &self.caption {
            html += &format!("<caption>{}</caption>", escape_html(caption));
        }
        html += &format!(
            "<thead><tr>{}</tr></thead><tbody>",
            cells(&self.headers, "th")
        );
        for row in &self.rows {
            html += &format!("<tr>{}</tr>", cells(row, "td"));
        }
        html + "</tbody></table>"
    }

    /// The table as monospace text with aligned columns.
    pub fn to_text(&self) -> String {
        let n = self.ncols();
        let width = |i: usize| {
            self.rows
                .iter()
                .chain([&self.headers])
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..n).map(width).collect();
        let line = |row: &[String]| {
            let cells: Vec<String> = (0..n)
                .map(|i| {
                    let c = row.get(i).map(String::as_str).unwrap_or("");
                    format!("{c:<w$}", w = widths[i])
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        };
        let mut out = Vec::new();
        if let Some(caption) = &self.caption {
            out.push(caption.clone());
        }
        out.push(line(&self.headers));
        out.push(
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .join("  "),
        );
        out.extend(self.rows.iter().map(|r| line(r)));
        out.join("\n")
    }

    /// Shows the table in a notebook (HTML, with the text as fallback).
    pub fn evcxr_display(&self) {
        emit(&[
            ("text/html", &self.to_html()),
            ("text/plain", &self.to_text()),
        ]);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_aligned_and_html_escaped() {
        let t = Table::new(["name", "n"])
            .row(["a<b", "1"])
            .row(["long name", "22"])
            .with_caption("demo");
        assert_eq!(
            t.to_text(),
            "demo\nname       n\n---------  --\na<b        1\nlong name  22"
        );
        let html = t.to_html();
        assert!(html.contains("<td>a&lt;b</td>") && html.contains("<caption>demo</caption>"));
    }

    #[test]
    fn short_rows_are_padded() {
        let t = Table::new(["a", "b", "c"]).row(["1"]);
        assert_eq!(t.to_html().matches("<td>").count(), 3);
    }
}
