//! Side-by-side timings of a few ways to compute the same thing, reported as
//! ratios.
//!
//! A single stopwatch reading says little on a laptop or a shared machine:
//! frequency scaling, caches and other processes move it by tens of percent.
//! Comparing ways *against each other in one run* holds up much better, so
//! [`Bench`] runs its cases interleaved (one round runs every case once, in
//! order, then the next round starts), after one untimed warm-up round, and
//! reports the median of the rounds. A burst of load then slows every case
//! alike instead of whichever happened to be running, and the ratios between
//! cases stay meaningful where the absolute times do not.
//!
//! ```
//! use aiguide::bench::Bench;
//! let v: Vec<u64> = (0..10_000).collect();
//! let timings = Bench::new(5)
//!     .case("loop", || {
//!         let mut s = 0;
//!         for i in 0..v.len() {
//!             s += v[i];
//!         }
//!         s
//!     })
//!     .case("iterator", || v.iter().sum::<u64>())
//!     .run()?;
//! assert!(timings.ratio("loop", "iterator")? > 0.0);
//! # Ok::<(), aiguide::Error>(())
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::display::{Table, emit};
use crate::plot::{Bar, bar};
use crate::{Error, Result};

/// Cases to time against each other; [`Bench::run`] times them.
///
/// Each case is a closure that does the whole piece of work once and returns
/// its result, which is passed through [`std::hint::black_box`] so the
/// compiler cannot drop the work as unused.
pub struct Bench<'a> {
    rounds: usize,
    cases: Vec<(String, Box<dyn FnMut() + 'a>)>,
}

impl<'a> Bench<'a> {
    /// A benchmark of `rounds` timed rounds (plus one warm-up round).
    pub fn new(rounds: usize) -> Bench<'a> {
        Bench {
            rounds,
            cases: Vec::new(),
        }
    }

    /// Adds a case; cases run in the order they are added.
    pub fn case<R>(mut self, name: impl Into<String>, mut work: impl FnMut() -> R + 'a) -> Self {
        self.cases.push((
            name.into(),
            Box::new(move || {
                black_box(work());
            }),
        ));
        self
    }

    /// Runs one warm-up round, then the timed rounds, each running every case
    /// once. Fails without running anything when there are no rounds, no
    /// cases, or two cases with one name.
    pub fn run(mut self) -> Result<Timings> {
        if self.rounds == 0 {
            return Err(Error::InvalidArgument(
                "Bench: need at least one round, e.g. Bench::new(10)".into(),
            ));
        }
        if self.cases.is_empty() {
            return Err(Error::InvalidArgument(
                "Bench: no cases; add some with .case(name, || work())".into(),
            ));
        }
        for (i, (name, _)) in self.cases.iter().enumerate() {
            if self.cases[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::InvalidArgument(format!(
                    "Bench: two cases are named `{name}`; give each case its own name"
                )));
            }
        }
        let mut samples = vec![Vec::with_capacity(self.rounds); self.cases.len()];
        for round in 0..=self.rounds {
            for (case, (_, work)) in self.cases.iter_mut().enumerate() {
                let start = Instant::now();
                work();
                let elapsed = start.elapsed();
                if round > 0 {
                    samples[case].push(elapsed);
                }
            }
        }
        let cases = self
            .cases
            .into_iter()
            .zip(samples)
            .map(|((name, _), samples)| CaseTiming { name, samples })
            .collect();
        Ok(Timings { cases })
    }
}

/// The measured durations of one case, one per timed round.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseTiming {
    /// The case's name.
    pub name: String,
    /// One duration per round, in round order.
    pub samples: Vec<Duration>,
}

impl CaseTiming {
    /// The median duration: robust to the odd round a background task slowed.
    pub fn median(&self) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let n = sorted.len();
        if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        }
    }

    /// The fastest round: the closest to the cost of the work alone.
    pub fn min(&self) -> Duration {
        self.samples.iter().copied().min().unwrap_or_default()
    }
}

/// What [`Bench::run`] measured. Shows as a table in a notebook.
#[derive(Clone, Debug, PartialEq)]
pub struct Timings {
    /// One entry per case, in the order the cases were added.
    pub cases: Vec<CaseTiming>,
}

impl Timings {
    /// The timing of case `name`.
    pub fn case(&self, name: &str) -> Result<&CaseTiming> {
        self.cases.iter().find(|c| c.name == name).ok_or_else(|| {
            let known: Vec<&str> = self.cases.iter().map(|c| c.name.as_str()).collect();
            Error::InvalidArgument(format!(
                "no case named `{name}`; the cases are {}",
                known.join(", ")
            ))
        })
    }

    /// The median duration of case `name`.
    pub fn median(&self, name: &str) -> Result<Duration> {
        Ok(self.case(name)?.median())
    }

    /// How many times slower `slow` is than `fast`, by median: above 1 when
    /// `slow` really is slower.
    pub fn ratio(&self, slow: &str, fast: &str) -> Result<f64> {
        let slow = self.median(slow)?.as_secs_f64();
        let fast = self.median(fast)?.as_secs_f64();
        Ok(slow / fast.max(f64::MIN_POSITIVE))
    }

    /// One row per case: median and fastest round, and how many times slower
    /// than the fastest case its median is.
    pub fn table(&self) -> Table {
        let best = self
            .cases
            .iter()
            .map(|c| c.median().as_secs_f64())
            .fold(f64::INFINITY, f64::min)
            .max(f64::MIN_POSITIVE);
        let rounds = self.cases.first().map_or(0, |c| c.samples.len());
        let mut table = Table::new(["case", "median", "min", "vs fastest"]);
        for case in &self.cases {
            let median = case.median();
            table.push_row([
                case.name.clone(),
                human(median),
                human(case.min()),
                format!("{:.1}x", median.as_secs_f64() / best),
            ]);
        }
        table.with_caption(format!(
            "{rounds} interleaved rounds after one warm-up round; times are medians and minima"
        ))
    }

    /// The medians as a bar chart, in milliseconds.
    pub fn plot(&self) -> Bar {
        let millis: Vec<f64> = self
            .cases
            .iter()
            .map(|c| c.median().as_secs_f64() * 1e3)
            .collect();
        bar(self.cases.iter().map(|c| c.name.as_str()), &millis).y_label("median time (ms)")
    }

    /// Shows the table in a notebook.
    pub fn evcxr_display(&self) {
        let table = self.table();
        emit(&[
            ("text/html", &table.to_html()),
            ("text/plain", &table.to_text()),
        ]);
    }
}

/// A duration with three significant digits in a fitting unit.
fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    let (value, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn timing(name: &str, millis: &[u64]) -> CaseTiming {
        CaseTiming {
            name: name.into(),
            samples: millis.iter().map(|&m| Duration::from_millis(m)).collect(),
        }
    }

    #[test]
    fn every_case_runs_once_per_round_plus_warm_up_in_order() {
        let order = std::cell::RefCell::new(Vec::new());
        let timings = Bench::new(3)
            .case("a", || order.borrow_mut().push('a'))
            .case("b", || order.borrow_mut().push('b'))
            .run()
            .unwrap();
        assert_eq!(order.into_inner(), ['a', 'b'].repeat(4));
        assert_eq!(timings.cases.len(), 2);
        assert!(timings.cases.iter().all(|c| c.samples.len() == 3));
    }

    #[test]
    fn medians_minima_and_ratios() {
        let timings = Timings {
            cases: vec![
                timing("slow", &[30, 10, 20, 90]),
                timing("fast", &[5, 4, 6]),
            ],
        };
        assert_eq!(
            timings.median("slow").unwrap(),
            Duration::from_millis(25),
            "even count: mean of the middle two"
        );
        assert_eq!(timings.median("fast").unwrap(), Duration::from_millis(5));
        assert_eq!(
            timings.case("slow").unwrap().min(),
            Duration::from_millis(10)
        );
        assert!((timings.ratio("slow", "fast").unwrap() - 5.0).abs() < 1e-12);
        let text = timings.table().to_text();
        assert!(text.contains("25.0 ms") && text.contains("5.0x"), "{text}");
        assert!(text.contains("4.00 ms"), "{text}");
    }

    #[test]
    fn a_slower_case_measures_slower() {
        let slept = Cell::new(0);
        let timings = Bench::new(3)
            .case("sleep", || {
                std::thread::sleep(Duration::from_millis(5));
                slept.set(slept.get() + 1);
            })
            .case("nothing", || ())
            .run()
            .unwrap();
        assert_eq!(slept.get(), 4);
        assert!(timings.median("sleep").unwrap() >= Duration::from_millis(5));
        assert!(timings.ratio("sleep", "nothing").unwrap() > 1.0);
    }

    #[test]
    fn bad_setups_are_refused_with_the_fix() {
        let no_rounds = Bench::new(0).case("a", || ()).run().unwrap_err();
        assert!(no_rounds.to_string().contains("Bench::new(10)"));
        let no_cases = Bench::new(2).run().unwrap_err();
        assert!(no_cases.to_string().contains(".case("));
        let twice = Bench::new(2)
            .case("a", || ())
            .case("a", || ())
            .run()
            .unwrap_err();
        assert!(twice.to_string().contains("two cases are named `a`"));
        let timings = Bench::new(1).case("a", || ()).run().unwrap();
        let unknown = timings.ratio("a", "b").unwrap_err().to_string();
        assert!(
            unknown.contains("no case named `b`; the cases are a"),
            "{unknown}"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_nanos(850)), "850 ns");
        assert_eq!(human(Duration::from_micros(12_345)), "12.3 ms");
        assert_eq!(human(Duration::from_secs_f64(2.5)), "2.50 s");
        assert_eq!(human(Duration::from_nanos(4_200)), "4.20 µs");
    }

    #[test]
    fn plot_has_a_bar_per_case() {
        let timings = Timings {
            cases: vec![timing("loop", &[2]), timing("iterator", &[1])],
        };
        let svg = timings.plot().figure().unwrap().to_svg();
        assert!(
            svg.contains("loop") && svg.contains("iterator"),
            "a label per case"
        );
        assert!(svg.contains("median time (ms)"));
    }
}
