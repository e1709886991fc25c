//! What a training run records per epoch, and its standard plots.

use crate::display::{Table, emit};
use crate::plot::{Figure, Line};
use crate::{Error, Result};
use plotters::chart::SeriesLabelPosition;

/// Metrics of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Epoch {
    /// Epoch number, from 1.
    pub epoch: usize,
    pub train_loss: f64,
    /// Training accuracy, for classification losses.
    pub train_accuracy: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// Learning rate at the end of the epoch; `None` when it was not
    /// recorded (a [`Trainer`](super::Trainer) without a schedule cannot read
    /// the optimizer's rate).
    pub lr: Option<f64>,
    /// Wall-clock seconds the epoch took, validation included; 0 when it was
    /// not measured.
    pub seconds: f64,
}

/// A column of [`History::table`]: its header and how to fill one cell.
type Column = (&'static str, fn(&Epoch) -> Option<String>);

/// Seconds as a person reads them: an epoch of a small model takes a few
/// milliseconds, which `{:.1}` seconds would print as `0.0`.
fn duration(seconds: f64) -> String {
    if seconds < 0.1 {
        format!("{:.1} ms", 1e3 * seconds)
    } else if seconds < 10.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{seconds:.1} s")
    }
}

/// Per-epoch metrics of a training run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub epochs: Vec<Epoch>,
}

impl History {
    /// Training losses, one per epoch.
    pub fn train_loss(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.train_loss).collect()
    }

    /// Validation losses, one per epoch (empty without validation data).
    pub fn val_loss(&self) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.val_loss).collect()
    }

    /// The epoch with the lowest validation loss (training loss without
    /// validation data).
    pub fn best(&self) -> Option<&Epoch> {
        let key = |e: &Epoch| e.val_loss.unwrap_or(e.train_loss);
        self.epochs
            .iter()
            .filter(|e| !key(e).is_nan())
            .min_by(|a, b| key(a).total_cmp(&key(b)))
    }

    /// Loss curves, and accuracy curves beside them when there are any; each
    /// panel has a title, axis labels and a legend clear of its curves.
    pub fn plot(&self) -> Result<Figure> {
        if self.epochs.is_empty() {
            return Err(Error::InvalidArgument("history: no epochs recorded".into()));
        }
        let epochs: Vec<f64> = self.epochs.iter().map(|e| e.epoch as f64).collect();
        // Losses fall and accuracies rise, so each legend goes in the corner
        // its curves leave empty.
        let curves = |pick: &dyn Fn(&Epoch) -> [Option<f64>; 2],
                      metric: &str,
                      legend: SeriesLabelPosition| {
            let mut chart = Line::new()
                .title(format!("{metric} per epoch"))
                .x_label("epoch")
                .y_label(metric)
                .legend(legend)
                .size(480, 340);
            for (i, name) in ["train", "validation"].into_iter().enumerate() {
                let points: Vec<(f64, f64)> = self
                    .epochs
                    .iter()
                    .zip(&epochs)
                    .filter_map(|(e, &x)| pick(e)[i].map(|y| (x, y)))
                    .collect();
                if !points.is_empty() {
                    let (xs, ys): (Vec<f64>, Vec<f64>) = points.into_iter().unzip();
                    chart = chart.series_xy(name, &xs, &ys);
                }
            }
            chart
        };
        let loss = curves(
            &|e| [Some(e.train_loss), e.val_loss],
            "loss",
            SeriesLabelPosition::UpperRight,
        )
        .figure()?;
        if self
            .epochs
            .iter()
            .all(|e| e.train_accuracy.is_none() && e.val_accuracy.is_none())
        {
            return Ok(loss);
        }
        let accuracy = curves(
            &|e| [e.train_accuracy, e.val_accuracy],
            "accuracy",
            SeriesLabelPosition::LowerRight,
        )
        .figure()?;
        Ok(Figure::grid([loss, accuracy], 2))
    }

    /// One row per epoch, with only the columns the run recorded: a column
    /// is left out when no epoch has a value for it (no validation data, a
    /// regression loss without accuracy, a learning rate the trainer never
    /// set, times never measured), so the table shows no filler such as
    /// `NaN` or `0.0`.
    pub fn table(&self) -> Table {
        let columns = Self::columns();
        let shown: Vec<&Column> = columns
            .iter()
            .filter(|(_, cell)| self.epochs.iter().any(|e| cell(e).is_some()))
            .collect();
        let mut table = Table::new(shown.iter().map(|(header, _)| *header));
        for e in &self.epochs {
            table.push_row(shown.iter().map(|(_, cell)| cell(e).unwrap_or_default()));
        }
        table
    }

    /// Every column [`History::table`] can show: a header, and the cell of one
    /// epoch (`None` when that epoch did not record the value).
    fn columns() -> [Column; 7] {
        fn pct(v: f64) -> String {
            format!("{:.2}%", 100.0 * v)
        }
        fn num(v: f64) -> String {
            format!("{v:.4}")
        }
        [
            ("epoch", |e| Some(e.epoch.to_string())),
            ("train loss", |e| Some(num(e.train_loss))),
            ("train acc", |e| e.train_accuracy.map(pct)),
            ("val loss", |e| e.val_loss.map(num)),
            ("val acc", |e| e.val_accuracy.map(pct)),
            ("lr", |e| e.lr.map(|lr| format!("{lr:.2e}"))),
            // Zero means not measured (a history built by hand).
            ("time", |e| (e.seconds > 0.0).then(|| duration(e.seconds))),
        ]
    }

    /// Shows the curves in a notebook (the table as text fallback).
    pub fn evcxr_display(&self) {
        let text = self.table().to_text();
        match self.plot() {
            Ok(figure) => emit(&[("image/svg+xml", &figure.to_svg()), ("text/plain", &text)]),
            Err(e) => emit(&[("text/plain", &format!("{e}"))]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(n: usize, train: f64, val: Option<f64>, acc: Option<f64>) -> Epoch {
        Epoch {
            epoch: n,
            train_loss: train,
            train_accuracy: acc,
            val_loss: val,
            val_accuracy: acc,
            lr: Some(1e-3),
            seconds: 0.5,
        }
    }

    #[test]
    fn best_epoch_prefers_validation_loss() {
        let h = History {
            epochs: vec![
                epoch(1, 1.0, Some(0.9), None),
                epoch(2, 0.5, Some(0.95), None),
            ],
        };
        assert_eq!(h.best().unwrap().epoch, 1);
        assert_eq!(h.val_loss(), [0.9, 0.95]);
        assert_eq!(h.plot().unwrap().width(), 480, "one panel without accuracy");
    }

    #[test]
    fn accuracy_adds_a_panel_and_table_columns() {
        let h = History {
            epochs: vec![
                epoch(1, 1.0, None, Some(0.5)),
                epoch(2, 0.7, None, Some(0.75)),
            ],
        };
        assert_eq!(h.plot().unwrap().width(), 960);
        assert!(h.table().to_text().contains("75.00%"));
        assert!(History::default().plot().is_err());
    }

    #[test]
    fn table_leaves_out_columns_never_recorded() {
        // What `Trainer` records without a schedule: no learning rate;
        // and a history built by hand has no times (0.0).
        let mut plain = epoch(1, 0.8061, Some(0.4054), Some(0.59));
        plain.lr = None;
        plain.seconds = 0.0;
        let table = History {
            epochs: vec![plain.clone()],
        }
        .table();
        assert_eq!(
            table.headers(),
            ["epoch", "train loss", "train acc", "val loss", "val acc"]
        );
        assert_eq!(
            table.rows()[0],
            ["1", "0.8061", "59.00%", "0.4054", "59.00%"]
        );
        assert!(!table.to_text().contains("NaN"));

        // Regression without validation data: loss only.
        let loss_only = History {
            epochs: vec![epoch(1, 2.5, None, None)],
        }
        .table();
        assert_eq!(loss_only.headers(), ["epoch", "train loss", "lr", "time"]);

        // One epoch with a learning rate and a time is enough to show both
        // columns; the others leave those cells empty.
        let mut timed = plain;
        timed.epoch = 2;
        timed.lr = Some(5e-4);
        timed.seconds = 0.0042;
        let both = History {
            epochs: vec![epoch(1, 1.0, None, None), timed],
        }
        .table();
        assert_eq!(
            both.headers(),
            [
                "epoch",
                "train loss",
                "train acc",
                "val loss",
                "val acc",
                "lr",
                "time"
            ]
        );
        assert_eq!(both.rows()[0][5..], ["1.00e-3", "0.50 s"]);
        assert_eq!(both.rows()[1][5..], ["5.00e-4", "4.2 ms"]);
    }

    #[test]
    fn durations_keep_their_digits() {
        assert_eq!(duration(0.0042), "4.2 ms");
        assert_eq!(duration(0.5), "0.50 s");
        assert_eq!(duration(2.06), "2.06 s");
        assert_eq!(duration(75.0), "75.0 s");
    }
}
