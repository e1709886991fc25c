//! Choosing where tensors live: the GPU when there is one, else the CPU.

use tch::{Cuda, Device};

/// Returns CUDA device 0 when a CUDA GPU is usable, else the CPU, and prints
/// which it picked.
///
/// Before asking libtorch, it loads `libtorch_cuda.so` if that library is on
/// the library path. Linkers drop a shared library nothing calls directly,
/// and no Rust code calls into libtorch_cuda, so without this a CUDA build of
/// libtorch can silently report no GPU (tch issues 907 and 980).
pub fn pick_device() -> Device {
    load_cuda_backend();
    let device = Device::cuda_if_available();
    println!("{}", describe(device, Cuda::device_count()));
    device
}

#[cfg(target_os = "linux")]
fn load_cuda_backend() {
    // SAFETY: dlopen gets a valid NUL-terminated name; the returned handle is
    // deliberately never closed, so the library stays loaded for the process.
    // A CPU-only libtorch has no such file, and dlopen then returns null,
    // which leaves everything as it was.
    unsafe {
        libc::dlopen(
            c"libtorch_cuda.so".as_ptr(),
            libc::RTLD_NOW | libc::RTLD_GLOBAL,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn load_cuda_backend() {}

fn describe(device: Device, cuda_devices: i64) -> String {
    match device {
        Device::Cuda(i) => format!("device: cuda:{i} ({cuda_devices} CUDA device(s) visible)"),
        _ => "device: cpu (no CUDA device found)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_which_device() {
        assert_eq!(
            describe(Device::Cuda(0), 2),
            "device: cuda:0 (2 CUDA device(s) visible)"
        );
        assert_eq!(
            describe(Device::Cpu, 0),
            "device: cpu (no CUDA device found)"
        );
        let picked = pick_device();
        assert_eq!(picked == Device::Cpu, !Cuda::is_available());
    }
}
