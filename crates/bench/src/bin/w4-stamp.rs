//! `w4-stamp FILE ARG...`: the W4 benchmark's notification command.
//!
//! The first thing it does is read `CLOCK_REALTIME`; it then appends one line,
//! `<now_ns> <ARG...>`, to FILE with `O_APPEND` in a single `write(2)`, so
//! concurrent invocations never interleave. Std only, no shell needed: the
//! time it records is as close to "the notification command started" as a
//! program can get.

use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> ExitCode {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut args = std::env::args_os().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: w4-stamp FILE ARG...");
        return ExitCode::from(2);
    };
    let mut line = now.to_string().into_bytes();
    for a in args {
        line.push(b' ');
        line.extend_from_slice(a.as_encoded_bytes());
    }
    line.retain(|&b| b != b'\n');
    line.push(b'\n');
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path);
    match file.and_then(|mut f| f.write_all(&line)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("w4-stamp: {}: {e}", path.to_string_lossy());
            ExitCode::from(1)
        }
    }
}
