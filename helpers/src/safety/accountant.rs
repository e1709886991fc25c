//! How much privacy DP-SGD spends: a Rényi differential privacy (RDP)
//! accountant for the sampled Gaussian mechanism.
//!
//! One DP-SGD step adds Gaussian noise of standard deviation
//! `noise_multiplier` (in units of the clipping norm) to the sum of the
//! clipped gradients of a batch in which each training example took part
//! with probability `sample_rate` (Poisson sampling). Mironov, Talwar and
//! Zhang (2019), "Rényi Differential Privacy of the Sampled Gaussian
//! Mechanism", give that step's RDP at each order α as `log(A_α) / (α - 1)`;
//! RDP adds up over steps, and the total converts to an (ε, δ) guarantee
//! at the order that gives the smallest ε.
//!
//! The numbers are Opacus's (`opacus/accountants/analysis/rdp.py`, itself
//! TensorFlow Privacy's `compute_rdp`): the same series for `A_α`, the same
//! default orders, the same conversion. `helpers/tests/privacy_accountant.rs`
//! checks them against values Opacus computed.

use crate::{Error, Result};

/// Opacus's default RDP orders (`RDPAccountant.DEFAULT_ALPHAS`): 1.1, 1.2,
/// ..., 10.9 and 12, 13, ..., 63.
pub fn default_orders() -> Vec<f64> {
    let fine = (1..100).map(|x| 1.0 + f64::from(x) / 10.0);
    fine.chain((12..64).map(f64::from)).collect()
}

/// The RDP at order `order` of one step of the sampled Gaussian mechanism
/// with sampling probability `sample_rate` and noise standard deviation
/// `noise_multiplier` times the sensitivity. Infinite without noise.
///
/// Integer orders sum a finite binomial series; fractional orders sum two
/// infinite ones until their terms fall below `e^-30` (Mironov et al.,
/// Section 3.3).
pub fn sampled_gaussian_rdp(sample_rate: f64, noise_multiplier: f64, order: f64) -> Result<f64> {
    check_mechanism(sample_rate, noise_multiplier)?;
    check_orders(&[order])?;
    Ok(rdp_one_step(sample_rate, noise_multiplier, order))
}

fn rdp_one_step(q: f64, sigma: f64, order: f64) -> f64 {
    if q == 0.0 {
        0.0
    } else if sigma == 0.0 || order.is_infinite() {
        f64::INFINITY
    } else if q == 1.0 {
        // No sampling: the Gaussian mechanism itself.
        order / (2.0 * sigma * sigma)
    } else if order.fract() == 0.0 {
        log_a_integer(q, sigma, order as u64) / (order - 1.0)
    } else {
        log_a_fractional(q, sigma, order) / (order - 1.0)
    }
}

/// `log A_α` for an integer α: `Σ_i C(α, i) q^i (1-q)^(α-i) exp((i² - i) / 2σ²)`.
fn log_a_integer(q: f64, sigma: f64, alpha: u64) -> f64 {
    let mut log_a = f64::NEG_INFINITY;
    for (i, (log_coef, _)) in log_binomials(alpha as f64)
        .take(alpha as usize + 1)
        .enumerate()
    {
        let i = i as f64;
        let term = log_coef
            + i * q.ln()
            + (alpha as f64 - i) * (-q).ln_1p()
            + (i * i - i) / (2.0 * sigma * sigma);
        log_a = log_add(log_a, term);
    }
    log_a
}

/// `log A_α` for a fractional α: the integral split at `z0` where the two
/// Gaussians' densities cross, each half a series in `i` with alternating
/// binomial signs, summed until both terms drop below `e^-30`.
fn log_a_fractional(q: f64, sigma: f64, alpha: f64) -> f64 {
    let (mut log_a0, mut log_a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let scale = std::f64::consts::SQRT_2 * sigma;
    for (i, (log_coef, positive)) in log_binomials(alpha).enumerate() {
        let i = i as f64;
        let j = alpha - i;
        let log_t0 = log_coef + i * q.ln() + j * (-q).ln_1p();
        let log_t1 = log_coef + j * q.ln() + i * (-q).ln_1p();
        let log_e0 = 0.5f64.ln() + log_erfc((i - z0) / scale);
        let log_e1 = 0.5f64.ln() + log_erfc((z0 - j) / scale);
        let log_s0 = log_t0 + (i * i - i) / (2.0 * sigma * sigma) + log_e0;
        let log_s1 = log_t1 + (j * j - j) / (2.0 * sigma * sigma) + log_e1;
        if positive {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0);
            log_a1 = log_sub(log_a1, log_s1);
        }
        if log_s0.max(log_s1) < -30.0 {
            break;
        }
    }
    log_add(log_a0, log_a1)
}

/// `(log |C(α, i)|, C(α, i) >= 0)` for i = 0, 1, 2, ..., from
/// `C(α, i) = C(α, i-1) (α - i + 1) / i`; for an integer α the
/// coefficients past `i = α` are zero (log -inf).
fn log_binomials(alpha: f64) -> impl Iterator<Item = (f64, bool)> {
    let mut state = (0.0, true);
    (0u32..).map(move |i| {
        if i > 0 {
            let factor = (alpha - f64::from(i) + 1.0) / f64::from(i);
            state = (state.0 + factor.abs().ln(), state.1 == (factor >= 0.0));
        }
        state
    })
}

/// `log(e^x + e^y)` without overflow.
fn log_add(x: f64, y: f64) -> f64 {
    let (a, b) = (x.min(y), x.max(y));
    if a == f64::NEG_INFINITY {
        return b;
    }
    (a - b).exp().ln_1p() + b
}

/// `log(e^x - e^y)` for `x >= y`; NaN if `x < y` (a negative difference
/// has no logarithm: the conversion then skips that order).
fn log_sub(x: f64, y: f64) -> f64 {
    if x < y {
        f64::NAN
    } else if y == f64::NEG_INFINITY {
        x
    } else if x == y {
        f64::NEG_INFINITY
    } else if x - y > 700.0 {
        // e^(x-y) - 1 would overflow; it equals e^(x-y) to far below f64's precision.
        x
    } else {
        (x - y).exp_m1().ln() + y
    }
}

/// `log(erfc(x))`, accurate where `erfc` itself underflows (x > 26): there
/// the asymptotic series `erfc(x) = e^(-x²) / (x √π) Σ (-1)^n (2n-1)!! / (2x²)^n`
/// is exact to f64 precision after a few terms.
fn log_erfc(x: f64) -> f64 {
    if x < 26.0 {
        return libm::erfc(x).ln();
    }
    let inv = 1.0 / (2.0 * x * x);
    let (mut term, mut series) = (1.0, 1.0);
    for n in 1..8 {
        term *= -(2.0 * f64::from(n) - 1.0) * inv;
        series += term;
    }
    -x * x - x.ln() - 0.5 * std::f64::consts::PI.ln() + series.ln()
}

/// The smallest ε, over the orders, of an (ε, δ) guarantee implied by RDP
/// values `rdp` at `orders`, with the conversion of Balle et al. (2020),
/// "Hypothesis Testing Interpretations and Renyi Differential Privacy",
/// Theorem 21, as Opacus uses it:
///
/// `ε = rdp(α) + log((α - 1) / α) - (log δ + log α) / (α - 1)`
///
/// (tighter than the classic `rdp(α) - log δ / (α - 1)` by Mironov 2017).
/// Returns `(ε, α)`; orders whose RDP is NaN are skipped, and ε is
/// infinite when no order gives a finite bound.
pub fn rdp_to_epsilon(orders: &[f64], rdp: &[f64], delta: f64) -> Result<(f64, f64)> {
    check_orders(orders)?;
    if orders.len() != rdp.len() {
        return Err(Error::InvalidArgument(format!(
            "rdp_to_epsilon: {} orders but {} RDP values; pass one value per order",
            orders.len(),
            rdp.len()
        )));
    }
    check_delta(delta)?;
    let best = orders
        .iter()
        .zip(rdp)
        .map(|(&a, &r)| {
            (
                r + ((a - 1.0) / a).ln() - (delta.ln() + a.ln()) / (a - 1.0),
                a,
            )
        })
        .filter(|(eps, _)| !eps.is_nan())
        .min_by(|x, y| x.0.total_cmp(&y.0));
    Ok(best.unwrap_or((f64::INFINITY, f64::NAN)))
}

/// Tracks the privacy spent by repeated steps of DP-SGD with one sampling
/// rate and noise multiplier.
///
/// ```
/// use aiguide::safety::RdpAccountant;
/// // TensorFlow Privacy's MNIST tutorial: batches of 256 of 60 000 images,
/// // noise multiplier 1.1, 60 epochs. (TF Privacy reported 3.01 with the
/// // older, looser conversion.)
/// let mut accountant = RdpAccountant::new(256.0 / 60_000.0, 1.1)?;
/// accountant.step(60 * 60_000 / 256);
/// let (epsilon, order) = accountant.epsilon(1e-5)?;
/// assert_eq!((format!("{epsilon:.2}"), order), ("2.60".to_string(), 8.1));
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RdpAccountant {
    sample_rate: f64,
    noise_multiplier: f64,
    orders: Vec<f64>,
    /// RDP of one step at each order.
    rdp_one_step: Vec<f64>,
    steps: u64,
}

impl RdpAccountant {
    /// An accountant for steps that sample each example with probability
    /// `sample_rate` (in [0, 1]; the expected batch size over the dataset
    /// size) and add noise `noise_multiplier` (>= 0) times the clipping norm,
    /// at Opacus's [`default_orders`].
    pub fn new(sample_rate: f64, noise_multiplier: f64) -> Result<RdpAccountant> {
        RdpAccountant::with_orders(sample_rate, noise_multiplier, &default_orders())
    }

    /// As [`RdpAccountant::new`], at chosen RDP orders (each > 1; `f64::INFINITY`
    /// is allowed and gives infinite RDP).
    pub fn with_orders(
        sample_rate: f64,
        noise_multiplier: f64,
        orders: &[f64],
    ) -> Result<RdpAccountant> {
        check_mechanism(sample_rate, noise_multiplier)?;
        check_orders(orders)?;
        Ok(RdpAccountant {
            sample_rate,
            noise_multiplier,
            orders: orders.to_vec(),
            rdp_one_step: orders
                .iter()
                .map(|&a| rdp_one_step(sample_rate, noise_multiplier, a))
                .collect(),
            steps: 0,
        })
    }

    /// Records `n` more steps.
    pub fn step(&mut self, n: u64) {
        self.steps += n;
    }

    /// The steps recorded so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The sampling probability of every step.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The noise multiplier of every step.
    pub fn noise_multiplier(&self) -> f64 {
        self.noise_multiplier
    }

    /// `(order, total RDP)` after the steps so far.
    pub fn rdp(&self) -> Vec<(f64, f64)> {
        let steps = self.steps as f64;
        self.orders
            .iter()
            .zip(&self.rdp_one_step)
            .map(|(&a, &r)| (a, if steps == 0.0 { 0.0 } else { r * steps }))
            .collect()
    }

    /// The ε of an (ε, `delta`) guarantee for the steps so far, with the
    /// order that gives it (see [`rdp_to_epsilon`] for the conversion).
    /// Before any step nothing has been released: ε is 0 and the order NaN.
    pub fn epsilon(&self, delta: f64) -> Result<(f64, f64)> {
        check_delta(delta)?;
        if self.steps == 0 {
            return Ok((0.0, f64::NAN));
        }
        let (orders, rdp): (Vec<f64>, Vec<f64>) = self.rdp().into_iter().unzip();
        rdp_to_epsilon(&orders, &rdp, delta)
    }
}

/// The smallest noise multiplier (to a relative 1e-6) for which `steps`
/// steps at `sample_rate` stay within (`target_epsilon`, `delta`), at the
/// default orders, found by bisection (ε falls as the noise grows). An error
/// if no noise reaches the target: with orders up to 63 and δ = 1e-5, ε
/// cannot be certified below about 0.1.
pub fn noise_multiplier_for(
    target_epsilon: f64,
    delta: f64,
    sample_rate: f64,
    steps: u64,
) -> Result<f64> {
    if !(target_epsilon > 0.0 && target_epsilon.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "noise_multiplier_for: target epsilon must be positive and finite, got {target_epsilon}"
        )));
    }
    check_delta(delta)?;
    check_mechanism(sample_rate, 1.0)?;
    let epsilon = |sigma: f64| -> Result<f64> {
        let mut accountant = RdpAccountant::new(sample_rate, sigma)?;
        accountant.step(steps);
        Ok(accountant.epsilon(delta)?.0)
    };
    let (mut low, mut high) = (0.0, 1.0);
    while epsilon(high)? > target_epsilon {
        (low, high) = (high, 2.0 * high);
        if high > 1e6 {
            return Err(Error::InvalidArgument(format!(
                "noise_multiplier_for: no noise multiplier reaches epsilon {target_epsilon} at \
                 delta {delta}; the default RDP orders cannot certify so small an epsilon: \
                 aim higher or allow a larger delta"
            )));
        }
    }
    while high - low > 1e-6 * high {
        let mid = 0.5 * (low + high);
        if epsilon(mid)? > target_epsilon {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(high)
}

fn check_mechanism(sample_rate: f64, noise_multiplier: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&sample_rate) {
        return Err(Error::InvalidArgument(format!(
            "sample rate must be in [0, 1] (expected batch size / dataset size), got {sample_rate}"
        )));
    }
    if !(noise_multiplier >= 0.0 && noise_multiplier.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "noise multiplier must be finite and >= 0, got {noise_multiplier}"
        )));
    }
    Ok(())
}

fn check_orders(orders: &[f64]) -> Result<()> {
    if orders.is_empty() || orders.iter().any(|&a| a.is_nan() || a <= 1.0) {
        return Err(Error::InvalidArgument(format!(
            "RDP orders must be > 1 and there must be at least one, got {orders:?}"
        )));
    }
    Ok(())
}

fn check_delta(delta: f64) -> Result<()> {
    if !(delta > 0.0 && delta < 1.0) {
        return Err(Error::InvalidArgument(format!(
            "delta must be in (0, 1), usually below 1 / dataset size, got {delta}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without sampling the mechanism is the Gaussian mechanism, RDP α / 2σ²;
    /// without noise there is no privacy; without sampling anything, no loss.
    #[test]
    fn limits_have_closed_forms() {
        for order in [1.5, 2.0, 7.3, 32.0] {
            let rdp = sampled_gaussian_rdp(1.0, 2.0, order).unwrap();
            assert!((rdp - order / 8.0).abs() < 1e-15);
            assert_eq!(sampled_gaussian_rdp(0.0, 2.0, order).unwrap(), 0.0);
            assert_eq!(
                sampled_gaussian_rdp(0.1, 0.0, order).unwrap(),
                f64::INFINITY
            );
        }
    }

    /// For α = 2 the series has three terms:
    /// `A_2 = (1-q)² + 2q(1-q) + q² e^(1/σ²) = 1 + q² (e^(1/σ²) - 1)`.
    #[test]
    fn order_two_by_hand() {
        let (q, sigma) = (0.01, 1.3f64);
        let expected = (q * q * (1.0 / (sigma * sigma)).exp_m1()).ln_1p();
        let rdp = sampled_gaussian_rdp(q, sigma, 2.0).unwrap();
        assert!(
            (rdp - expected).abs() < 1e-12 * expected,
            "{rdp} vs {expected}"
        );
    }

    /// Fractional orders lie between their integer neighbours (RDP grows
    /// with the order).
    #[test]
    fn rdp_grows_with_the_order() {
        let rdps: Vec<f64> = default_orders()
            .iter()
            .map(|&a| sampled_gaussian_rdp(0.02, 1.0, a).unwrap())
            .collect();
        assert!(rdps.windows(2).all(|w| w[0] < w[1]), "{rdps:?}");
    }

    #[test]
    fn log_erfc_joins_its_asymptotic_series() {
        // Both sides of the switch at 26 agree with ln(erfc) where it is representable.
        for x in [-3.0, 0.0, 1.0, 5.0, 20.0, 25.9] {
            assert!((log_erfc(x) - libm::erfc(x).ln()).abs() < 1e-12 * (1.0 + x * x));
        }
        let below = libm::erfc(26.0 - 1e-9).ln();
        assert!((log_erfc(26.0) - below).abs() < 1e-9 * 26.0 * 26.0);
        assert!(log_erfc(40.0).is_finite() && log_erfc(40.0) < -1600.0);
    }

    #[test]
    fn epsilon_grows_with_steps_and_falls_with_noise() {
        let eps = |sigma, steps| {
            let mut acc = RdpAccountant::new(0.01, sigma).unwrap();
            acc.step(steps);
            acc.epsilon(1e-5).unwrap().0
        };
        assert_eq!(
            RdpAccountant::new(0.01, 1.0)
                .unwrap()
                .epsilon(1e-5)
                .unwrap()
                .0,
            0.0
        );
        assert!(eps(1.0, 100) < eps(1.0, 1000));
        assert!(eps(2.0, 1000) < eps(1.0, 1000));
        assert_eq!(eps(0.0, 1), f64::INFINITY);
    }

    #[test]
    fn noise_multiplier_for_meets_the_target_tightly() {
        let (q, steps, delta) = (256.0 / 60_000.0, 2_000, 1e-5);
        let sigma = noise_multiplier_for(1.0, delta, q, steps).unwrap();
        let eps = |s| {
            let mut acc = RdpAccountant::new(q, s).unwrap();
            acc.step(steps);
            acc.epsilon(delta).unwrap().0
        };
        assert!(eps(sigma) <= 1.0, "{}", eps(sigma));
        assert!(eps(sigma * (1.0 - 1e-5)) > 1.0);
        assert!(noise_multiplier_for(0.01, delta, q, steps).is_err());
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(RdpAccountant::new(1.5, 1.0).is_err());
        assert!(RdpAccountant::new(0.1, -1.0).is_err());
        assert!(RdpAccountant::with_orders(0.1, 1.0, &[1.0]).is_err());
        assert!(RdpAccountant::with_orders(0.1, 1.0, &[]).is_err());
        assert!(RdpAccountant::new(0.1, 1.0).unwrap().epsilon(0.0).is_err());
        assert!(rdp_to_epsilon(&[2.0, 3.0], &[0.1], 1e-5).is_err());
        assert!(noise_multiplier_for(-1.0, 1e-5, 0.1, 10).is_err());
    }
}
