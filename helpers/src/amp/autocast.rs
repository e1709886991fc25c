//! libtorch's autocast mode, switched through libtorch's own functions.
//!
//! tch 0.26 exposes only `at::autocast::set_enabled`, which since PyTorch 2.4
//! means CUDA. The device-generic switches (`set_autocast_enabled(device,
//! on)`, `set_autocast_dtype(device, dtype)`) are exported C++ functions of
//! `libtorch_cpu.so`; we look them up by their (stable, Itanium-ABI) symbol
//! names in the already loaded library, the way PyTorch's own Python binding
//! calls them. A libtorch without them gives an error, not a crash.

use std::ffi::{CStr, c_void};

use tch::{Device, Kind};

use crate::{Error, Result};

// c10::DeviceType and c10::ScalarType are `enum class : int8_t`.
const CPU: i8 = 0;
const CUDA: i8 = 1;
const HALF: i8 = 5;
const BFLOAT16: i8 = 15;

/// The autocast functions of the loaded libtorch.
#[derive(Clone, Copy)]
struct Api {
    is_enabled: unsafe extern "C" fn(i8) -> bool,
    set_enabled: unsafe extern "C" fn(i8, bool),
    get_dtype: unsafe extern "C" fn(i8) -> i8,
    set_dtype: unsafe extern "C" fn(i8, i8),
    increment_nesting: unsafe extern "C" fn() -> i32,
    decrement_nesting: unsafe extern "C" fn() -> i32,
    clear_cache: unsafe extern "C" fn(),
}

impl Api {
    fn load() -> Result<Api> {
        let library = libtorch()?;
        let find = |name: &CStr| -> Result<*mut c_void> {
            // SAFETY: `library` is a live handle and `name` is NUL-terminated.
            let symbol = unsafe { libc::dlsym(library, name.as_ptr()) };
            if symbol.is_null() {
                Err(Error::InvalidArgument(format!(
                    "autocast: libtorch has no `{}`; it needs libtorch 2.4 or newer (the course \
                     pins 2.13)",
                    name.to_string_lossy()
                )))
            } else {
                Ok(symbol)
            }
        };
        // SAFETY: each symbol is the C++ function whose mangled name encodes
        // exactly these parameter types (int8_t-based enums, bool) and
        // return types; C++ free functions use the C calling convention.
        unsafe {
            Ok(Api {
                is_enabled: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(i8) -> bool>(
                    find(c"_ZN2at8autocast19is_autocast_enabledEN3c1010DeviceTypeE")?,
                ),
                set_enabled: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(i8, bool)>(
                    find(c"_ZN2at8autocast20set_autocast_enabledEN3c1010DeviceTypeEb")?,
                ),
                get_dtype: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(i8) -> i8>(
                    find(c"_ZN2at8autocast18get_autocast_dtypeEN3c1010DeviceTypeE")?,
                ),
                set_dtype: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(i8, i8)>(find(
                    c"_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE",
                )?),
                increment_nesting: std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> i32>(
                    find(c"_ZN2at8autocast17increment_nestingEv")?,
                ),
                decrement_nesting: std::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> i32>(
                    find(c"_ZN2at8autocast17decrement_nestingEv")?,
                ),
                clear_cache: std::mem::transmute::<*mut c_void, unsafe extern "C" fn()>(find(
                    c"_ZN2at8autocast11clear_cacheEv",
                )?),
            })
        }
    }
}

/// A handle to the libtorch_cpu already in the process (tch links it).
fn libtorch() -> Result<*mut c_void> {
    // SAFETY: dlopen with a NUL-terminated name; RTLD_NOLOAD only returns a
    // library that is already loaded, and the handle is never closed.
    let handle = unsafe {
        let name = c"libtorch_cpu.so";
        let loaded = libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if loaded.is_null() {
            libc::dlopen(name.as_ptr(), libc::RTLD_NOW)
        } else {
            loaded
        }
    };
    if handle.is_null() {
        return Err(Error::InvalidArgument(
            "autocast: cannot find libtorch_cpu.so; put libtorch's lib directory on \
             LD_LIBRARY_PATH"
                .into(),
        ));
    }
    Ok(handle)
}

fn device_type(device: Device) -> Result<i8> {
    match device {
        Device::Cpu => Ok(CPU),
        Device::Cuda(_) => Ok(CUDA),
        other => Err(Error::InvalidArgument(format!(
            "autocast: supported on the CPU and CUDA, not {other:?}"
        ))),
    }
}

fn scalar_type(kind: Kind) -> Result<i8> {
    match kind {
        Kind::BFloat16 => Ok(BFLOAT16),
        Kind::Half => Ok(HALF),
        other => Err(Error::InvalidArgument(format!(
            "autocast: the reduced precision must be Kind::BFloat16 or Kind::Half, not {other:?}"
        ))),
    }
}

/// Whether autocast is on for `device`'s type on this thread.
pub fn is_autocast_enabled(device: Device) -> Result<bool> {
    let api = Api::load()?;
    let device = device_type(device)?;
    // SAFETY: a valid DeviceType value, see `Api::load`.
    Ok(unsafe { (api.is_enabled)(device) })
}

/// Runs `f` with autocast on for `device` in precision `kind`
/// (`Kind::BFloat16` or `Kind::Half`), like PyTorch's
/// `with torch.autocast(device_type, dtype=kind):`.
///
/// Inside, operations that gain from lower precision (matrix products,
/// linear layers, convolutions) cast their inputs to `kind`; operations that
/// need range or accuracy (reductions, losses, normalisation on CUDA) run in
/// `fp32`. Weights stay `fp32` in the [`VarStore`](tch::nn::VarStore); the
/// casts are recorded by autograd, so `backward` delivers `fp32` gradients
/// to them. Compute the loss inside or outside, and call `backward` outside.
///
/// The previous state is restored afterwards, also if `f` panics. Autocast
/// is per thread, like in PyTorch.
///
/// ```
/// use aiguide::amp::autocast;
/// use tch::{Device, Kind, Tensor};
/// let a = Tensor::ones([4, 4], (Kind::Float, Device::Cpu));
/// let product = autocast(Device::Cpu, Kind::BFloat16, || a.matmul(&a))?;
/// assert_eq!(product.kind(), Kind::BFloat16);
/// assert_eq!(a.matmul(&a).kind(), Kind::Float);
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn autocast<T>(device: Device, kind: Kind, f: impl FnOnce() -> T) -> Result<T> {
    let api = Api::load()?;
    let device = device_type(device)?;
    let dtype = scalar_type(kind)?;
    // SAFETY: valid enum values; see `Api::load`.
    let guard = unsafe {
        let guard = Restore {
            api,
            device,
            enabled: (api.is_enabled)(device),
            dtype: (api.get_dtype)(device),
        };
        (api.set_enabled)(device, true);
        (api.set_dtype)(device, dtype);
        (api.increment_nesting)();
        guard
    };
    let out = f();
    drop(guard);
    Ok(out)
}

/// Puts autocast back as it was, and frees the cast-weight cache when the
/// outermost autocast region ends (what `torch.autocast.__exit__` does).
struct Restore {
    api: Api,
    device: i8,
    enabled: bool,
    dtype: i8,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let api = &self.api;
        // SAFETY: values read from libtorch before; see `Api::load`.
        unsafe {
            if (api.decrement_nesting)() == 0 {
                (api.clear_cache)();
            }
            (api.set_enabled)(self.device, self.enabled);
            (api.set_dtype)(self.device, self.dtype);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;
    use tch::nn::{self, Module};

    #[test]
    fn linear_layers_compute_in_the_chosen_precision() {
        let vs = nn::VarStore::new(Device::Cpu);
        let layer = nn::linear(vs.root(), 8, 4, Default::default());
        let x = Tensor::ones([2, 8], (Kind::Float, Device::Cpu));
        for kind in [Kind::BFloat16, Kind::Half] {
            let (y, inside) = autocast(Device::Cpu, kind, || {
                (layer.forward(&x), is_autocast_enabled(Device::Cpu).unwrap())
            })
            .unwrap();
            assert!(inside);
            assert_eq!(y.kind(), kind);
            // The weights stay fp32 and get fp32 gradients.
            y.to_kind(Kind::Float).sum(Kind::Float).backward();
            assert_eq!(
                (layer.ws.kind(), layer.ws.grad().kind()),
                (Kind::Float, Kind::Float)
            );
            let _ = layer.ws.grad().zero_();
        }
        assert!(!is_autocast_enabled(Device::Cpu).unwrap());
        assert_eq!(layer.forward(&x).kind(), Kind::Float);
    }

    #[test]
    fn nesting_restores_and_panics_restore() {
        let x = Tensor::ones([2, 2], (Kind::Float, Device::Cpu));
        let inner = autocast(Device::Cpu, Kind::BFloat16, || {
            let half = autocast(Device::Cpu, Kind::Half, || x.matmul(&x)).unwrap();
            (half.kind(), x.matmul(&x).kind())
        })
        .unwrap();
        assert_eq!(inner, (Kind::Half, Kind::BFloat16));
        let caught = std::panic::catch_unwind(|| {
            autocast(Device::Cpu, Kind::BFloat16, || panic!("inside")).unwrap()
        });
        assert!(caught.is_err());
        assert!(!is_autocast_enabled(Device::Cpu).unwrap());
        assert!(autocast(Device::Cpu, Kind::Float, || ()).is_err());
    }
}
