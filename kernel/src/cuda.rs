//! Making CUDA visible to notebook code.
//!
//! tch links `libtorch_cuda.so`, but the linker's `--as-needed` drops it from
//! every cell library evcxr builds, because no cell calls into it directly.
//! libtorch then never registers its CUDA backend and
//! `tch::Cuda::is_available()` is silently `false` (tch issues 907 and 980).
//! evcxr runs cells inside a subprocess that is this very binary, so that
//! process loads `libtorch_cuda.so` itself before the first cell; the cells'
//! libtorch then finds the CUDA backend registered.

use std::path::Path;

/// Set by the kernel for its runtime subprocess: the `torch/lib` directory.
pub const TORCH_LIB_VAR: &str = "AIGUIDE_TORCH_LIB";

/// Loads `libtorch_cuda.so` into this process when this machine has an NVIDIA
/// driver and the course's torch build has CUDA. On a CPU-only machine it does
/// nothing (loading a gigabyte of CUDA kernels would only slow every start).
pub fn preload_for_runtime() {
    let Some(torch_lib) = std::env::var_os(TORCH_LIB_VAR) else {
        return;
    };
    let library = Path::new(&torch_lib).join("libtorch_cuda.so");
    if !has_nvidia_driver() || !library.is_file() {
        return;
    }
    // SAFETY: loading libtorch_cuda runs its static initialisers, which only
    // register CUDA kernels with libtorch; nothing else runs yet.
    match unsafe { libloading::Library::new(&library) } {
        // Keep it loaded for the life of the process.
        Ok(handle) => std::mem::forget(handle),
        Err(error) => eprintln!(
            "aiguide: could not load {} ({error}); tch will see no CUDA device",
            library.display()
        ),
    }
}

/// Whether the NVIDIA kernel driver is present (not whether a GPU is free).
pub fn has_nvidia_driver() -> bool {
    Path::new("/proc/driver/nvidia/version").exists()
}
