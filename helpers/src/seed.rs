//! Reproducible randomness with one call.
//!
//! aiguide keeps no random generator of its own between calls, on purpose:
//! evcxr compiles each notebook cell into a separate library with its own
//! copy of aiguide's statics, so a global generator would silently restart
//! in every cell. What does persist is libtorch's generator (one shared
//! library for the whole kernel) and any value the notebook keeps in a
//! variable. So [`seed_all`] seeds the first and returns the second, and
//! aiguide's own random functions take an explicit `seed` argument
//! (generators, splits) or use libtorch's generator (batch shuffling).

use rand::SeedableRng;
use rand::rngs::StdRng;

/// Seeds libtorch's generators (CPU and CUDA) and returns a `StdRng` seeded
/// the same way, for `rand` and ndarray-rand:
///
/// ```
/// use aiguide::prelude::*;
/// let mut rng = seed_all(42);
/// let w = Array2::<f64>::random_using((4, 2), StandardNormal, &mut rng);
/// let t = Tensor::randn([2, 3], (Kind::Float, Device::Cpu));
/// assert_eq!(seed_all(42).r#gen::<u64>(), StdRng::seed_from_u64(42).r#gen::<u64>());
/// # let _ = (w, t);
/// ```
pub fn seed_all(seed: u64) -> StdRng {
    // libtorch takes a signed seed; reinterpret the bits so every u64 is usable.
    tch::manual_seed(seed as i64);
    StdRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn same_seed_same_numbers() {
        let _rng = crate::torch_rng_lock();
        let draw = || {
            let mut rng = seed_all(7);
            let t = Tensor::randn([4], (Kind::Float, Device::Cpu));
            (Vec::<f32>::try_from(&t).unwrap(), rng.r#gen::<u64>())
        };
        assert_eq!(draw(), draw());
        let other = seed_all(8).r#gen::<u64>();
        assert_ne!(draw().1, other);
    }
}
