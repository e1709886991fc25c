//! How much CPU memory a piece of work allocates at its peak, measured from
//! the C allocator that libtorch's CPU tensors come from.
//!
//! "Mixed precision halves the memory" is usually argued from element sizes
//! (2 bytes instead of 4), which is true by definition for one tensor and
//! says nothing about a training step: weights, their gradients and the
//! optimizer state stay `fp32`, autocast keeps `bf16` copies of the weights,
//! and some operations still produce `fp32`. The honest number is what the
//! process holds. On the CPU, libtorch allocates tensors with `malloc` /
//! `posix_memalign`, so glibc's own books (`mallinfo2`: bytes in use in the
//! heap arenas plus bytes in `mmap`ped blocks) count every live tensor.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::{Error, Result};

/// Bytes the process currently holds through `malloc` (glibc's
/// `mallinfo2().uordblks + hblkhd`): every CPU tensor's storage, and
/// everything else the process allocated. Only meaningful as a difference
/// between two moments.
pub fn heap_in_use() -> Result<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes no arguments and only reads the
        // allocator's statistics (under its own locks).
        let info = unsafe { libc::mallinfo2() };
        Ok(info.uordblks + info.hblkhd)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        Err(Error::InvalidArgument(
            "heap_in_use: needs glibc's mallinfo2 (Linux with glibc)".into(),
        ))
    }
}

/// Heap use before, at the peak of, and after a closure, from
/// [`HeapPeak::measure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapPeak {
    /// Bytes in use just before the closure ran.
    pub before: usize,
    /// The most bytes in use seen while it ran (sampled, see
    /// [`measure`](HeapPeak::measure)).
    pub peak: usize,
    /// Bytes in use right after it returned (its result still alive).
    pub after: usize,
    /// How many times the heap was sampled.
    pub samples: usize,
}

impl HeapPeak {
    /// Runs `f` while a second thread reads [`heap_in_use`] about every
    /// 100 microseconds, and returns `f`'s result with the readings.
    ///
    /// A sampled peak can miss an allocation that lives for less than a
    /// sampling interval, so it is a lower bound; the tensors that matter
    /// (activations kept for `backward`, gradients) live for whole layers or
    /// the whole step and are seen. Other threads' allocations count too:
    /// measure on an otherwise idle process.
    ///
    /// ```
    /// use aiguide::amp::HeapPeak;
    /// use tch::{Device, Kind, Tensor};
    /// let (sum, heap) = HeapPeak::measure(|| {
    ///     let big = Tensor::ones([4 << 20], (Kind::Float, Device::Cpu)); // 16 MiB
    ///     big.sum(Kind::Float).double_value(&[])
    /// })?;
    /// assert_eq!(sum, (4 << 20) as f64);
    /// assert!(heap.growth() >= 16 << 20);
    /// # Ok::<(), aiguide::Error>(())
    /// ```
    pub fn measure<T>(f: impl FnOnce() -> T) -> Result<(T, HeapPeak)> {
        heap_in_use()?;
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(AtomicUsize::new(0));
        let sampler = {
            let (stop, peak, samples) = (stop.clone(), peak.clone(), samples.clone());
            std::thread::spawn(move || {
                loop {
                    // Checked before reading, so the last reading is taken after `f`.
                    let done = stop.load(Ordering::Acquire);
                    if let Ok(now) = heap_in_use() {
                        peak.fetch_max(now, Ordering::AcqRel);
                        samples.fetch_add(1, Ordering::AcqRel);
                    }
                    if done {
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(100));
                }
            })
        };
        // Read the baseline once the sampler thread exists, so its own
        // start-up is not counted as the closure's.
        while samples.load(Ordering::Acquire) == 0 {
            std::thread::yield_now();
        }
        let before = heap_in_use()?;
        let out = f();
        let after = heap_in_use()?;
        stop.store(true, Ordering::Release);
        sampler
            .join()
            .map_err(|_| Error::InvalidArgument("HeapPeak: the sampler thread panicked".into()))?;
        let peak = peak.load(Ordering::Acquire).max(before).max(after);
        Ok((
            out,
            HeapPeak {
                before,
                peak,
                after,
                samples: samples.load(Ordering::Acquire),
            },
        ))
    }

    /// `peak - before`: the most the closure added to the heap at once.
    pub fn growth(&self) -> usize {
        self.peak.saturating_sub(self.before)
    }

    /// `after - before`, signed: what the closure left allocated (its result).
    pub fn retained(&self) -> i64 {
        self.after as i64 - self.before as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    #[test]
    fn sees_a_temporary_and_what_is_kept() {
        // Other tests run in parallel threads and allocate too: check only
        // bounds their allocations cannot break.
        let ((), heap) = HeapPeak::measure(|| {
            let t = Tensor::ones([8 << 20], (Kind::Float, Device::Cpu)); // 32 MiB
            std::thread::sleep(Duration::from_millis(5));
            drop(t);
        })
        .unwrap();
        assert!(heap.growth() >= 32 << 20, "{heap:?}");
        assert!(heap.samples >= 2 && heap.peak >= heap.after, "{heap:?}");
        let (kept, heap) =
            HeapPeak::measure(|| Tensor::zeros([4 << 20], (Kind::Float, Device::Cpu))).unwrap();
        assert!(heap.growth() >= 16 << 20, "{heap:?}");
        assert_eq!(kept.numel(), 4 << 20);
    }
}
