//! Training utilities on tch: mini-batches, accuracy, learning-rate
//! schedules, early stopping, and a [`Trainer`] that combines them into the
//! train/evaluate loop with a [`History`] of metrics to plot.

mod batches;
mod early_stopping;
mod history;
mod metrics;
mod schedule;
mod trainer;

pub use batches::batches;
pub use early_stopping::EarlyStopping;
pub use history::{Epoch, History};
pub use metrics::accuracy;
pub use schedule::Schedule;
pub use trainer::{Loss, Trainer, evaluate};
