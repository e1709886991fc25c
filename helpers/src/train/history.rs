//! What a training run records per epoch, and its standard plots.

use crate::display::{Table, emit};
use crate::plot::{Figure, Line};
use crate::{Error, Result};

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
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Wall-clock seconds the epoch took, validation included.
    pub seconds: f64,
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

    /// Loss curves, and accuracy curves beside them when there are any.
    pub fn plot(&self) -> Result<Figure> {
        if self.epochs.is_empty() {
            return Err(Error::InvalidArgument("history: no epochs recorded".into()));
        }
        let epochs: Vec<f64> = self.epochs.iter().map(|e| e.epoch as f64).collect();
        let curves = |pick: &dyn Fn(&Epoch) -> [Option<f64>; 2], title: &str| {
            let mut chart = Line::new().title(title).x_label("epoch").size(480, 340);
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
        let loss = curves(&|e| [Some(e.train_loss), e.val_loss], "loss").figure()?;
        if self
            .epochs
            .iter()
            .all(|e| e.train_accuracy.is_none() && e.val_accuracy.is_none())
        {
            return Ok(loss);
        }
        let accuracy = curves(&|e| [e.train_accuracy, e.val_accuracy], "accuracy").figure()?;
        Ok(Figure::grid([loss, accuracy], 2))
    }

    /// One row per epoch.
    pub fn table(&self) -> Table {
        let opt = |v: Option<f64>, f: fn(f64) -> String| v.map(f).unwrap_or_default();
        let pct = |v: f64| format!("{:.2}%", 100.0 * v);
        let num = |v: f64| format!("{v:.4}");
        let mut table = Table::new([
            "epoch",
            "train loss",
            "train acc",
            "val loss",
            "val acc",
            "lr",
            "seconds",
        ]);
        for e in &self.epochs {
            table.push_row([
                e.epoch.to_string(),
                num(e.train_loss),
                opt(e.train_accuracy, pct),
                opt(e.val_loss, num),
                opt(e.val_accuracy, pct),
                format!("{:.2e}", e.lr),
                format!("{:.1}", e.seconds),
            ]);
        }
        table
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
            lr: 1e-3,
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
}
