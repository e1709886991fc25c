//! Mixed-precision training (automatic mixed precision, AMP): run the heavy
//! operations in 16-bit floats, keep the weights and their updates in 32-bit.
//!
//! - [`autocast`] runs a closure with libtorch's autocast switched on for a
//!   device: matrix products and convolutions then compute in `bf16` or
//!   `fp16`, while precision-sensitive operations stay in `fp32`. It is
//!   PyTorch's `with torch.autocast(device_type, dtype):`, for the CPU as
//!   well as CUDA (tch's own `tch::autocast` switches CUDA only).
//! - [`GradScaler`] is PyTorch's dynamic loss scaling, which tch lacks:
//!   `fp16` gradients below about 6e-8 round to zero, so the loss is
//!   multiplied by a large factor before `backward`, the gradients are
//!   divided by it again before the optimizer step, and steps whose
//!   gradients overflowed are skipped while the factor shrinks.
//! - [`HeapPeak`] measures what a closure allocates on the CPU heap at its
//!   peak, to compare the memory of `fp32` and mixed-precision steps with a
//!   measurement rather than a formula.
//!
//! `bf16` has `fp32`'s exponent range, so it needs no loss scaling; `fp16`
//! does.

mod autocast;
mod memory;
mod scaler;

pub use autocast::{autocast, is_autocast_enabled};
pub use memory::{HeapPeak, heap_in_use};
pub use scaler::{GradScaler, GradScalerState};
