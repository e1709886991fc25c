//! Making a cell that fails with `?` fail, as a panic does.
//!
//! evcxr wraps each cell in a closure returning `Result`, so `let x = f()?;`
//! works in a cell; when it returns an error, evcxr prints the error, drops
//! the cell's new variables and reports the cell as *successful*. "Run All"
//! then carries on past a data file that failed to load, and
//! `nbconvert --execute` passes. The generated code announces such an error
//! to the evcxr process by printing a marker line on stdout. The runtime
//! subprocess is this binary, so before the runtime starts we route its
//! stdout through a pipe, forward every line unchanged, and end the process
//! when the marker goes by: evcxr then reports the cell as failed and starts
//! a fresh runtime, exactly as after a panic.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};

/// The line evcxr's generated code prints after showing a `?` error
/// (`evcxr_internal_runtime::USER_ERROR_OCCURRED`, private to evcxr).
const MARKER: &[u8] = b"EVCXR_ERROR_OCCURRED\n";

/// Called in the runtime subprocess before `evcxr::runtime_hook`. If the
/// pipe cannot be set up, stdout is left as it was (and `?` errors keep
/// evcxr's lenient behaviour).
pub fn fail_cells_on_errors() {
    // SAFETY: plain fd syscalls on fds this function owns; it runs before
    // any other thread exists, so nothing writes to fd 1 in between.
    let reader = unsafe {
        let original = libc::dup(1);
        let mut pipe: [RawFd; 2] = [0; 2];
        if original < 0 || libc::pipe(pipe.as_mut_ptr()) != 0 {
            return;
        }
        if libc::dup2(pipe[1], 1) < 0 {
            return;
        }
        libc::close(pipe[1]);
        (File::from_raw_fd(pipe[0]), File::from_raw_fd(original))
    };
    std::thread::spawn(move || forward(reader.0, reader.1));
}

/// Copies lines from `pipe` to `stdout` until the marker, then ends the
/// process without forwarding it (or anything after it).
fn forward(pipe: File, mut stdout: File) {
    let mut pipe = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        match pipe.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == MARKER => {
                eprintln!(
                    "the cell returned this error through `?`; like a panic, it stops the \
                     notebook here and resets its variables"
                );
                // SAFETY: ends the process at once, as a crash would; the
                // evcxr process notices and reports the cell as failed.
                unsafe { libc::_exit(1) };
            }
            Ok(_) => {
                if stdout
                    .write_all(&line)
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}
