//! The external command FIFO: created like Nagios does, read by one thread in large
//! chunks, handed to the engine thread as whole lines.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::mpsc::SyncSender;

use anyhow::{Context, bail};

use crate::input::Input;

/// Create the FIFO at `path` (mode 0660) unless a FIFO is already there.
pub(crate) fn create(path: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_fifo() => return Ok(()),
        Ok(_) => bail!(
            "command file {} exists and is not a FIFO; remove it or fix command_file",
            path.display()
        ),
        Err(_) => {}
    }
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o660))
        .with_context(|| format!("mkfifo {}", path.display()))
}

/// Open the FIFO read-write (so it never reports end-of-file when writers come and go)
/// and start the reader thread. Each message holds complete lines only.
pub(crate) fn spawn_reader(path: &Path, tx: SyncSender<Input>) -> anyhow::Result<()> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("open command file {}", path.display()))?;
    // A larger pipe buffer (1 MiB, the usual pipe-max-size) means fewer, larger reads
    // and fewer context switches under bursts; failure only costs speed.
    let _ = nix::fcntl::fcntl(&f, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
    let name = path.display().to_string();
    std::thread::Builder::new()
        .name("picket-fifo".into())
        .spawn(move || {
            let mut pending: Vec<u8> = Vec::with_capacity(1 << 20);
            let mut buf = vec![0u8; 1 << 20];
            let mut read_errors = 0u64;
            loop {
                let n = match f.read(&mut buf) {
                    Ok(0) => continue,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // Said once, then every minute while it lasts; never a busy loop.
                        if read_errors % 60 == 0 {
                            let line = format!(
                                "Error: cannot read the command file {}: {e} ({} time(s))",
                                picket_engine::output::log_safe(&name),
                                read_errors + 1
                            );
                            eprintln!("picket: {line}");
                            if tx.send(Input::Log(line)).is_err() {
                                return;
                            }
                        }
                        read_errors += 1;
                        std::thread::sleep(std::time::Duration::from_secs(1));
                        continue;
                    }
                };
                pending.extend_from_slice(&buf[..n]);
                let Some(last_nl) = pending.iter().rposition(|&b| b == b'\n') else {
                    // A single line longer than the buffer keeps accumulating; cap it.
                    if pending.len() > 64 << 20 {
                        let line = format!(
                            "Warning: discarded {} bytes of a command-file line longer than 64 MiB",
                            pending.len()
                        );
                        pending.clear();
                        if tx.send(Input::Log(line)).is_err() {
                            return;
                        }
                    }
                    continue;
                };
                let rest = pending.split_off(last_nl + 1);
                let chunk = std::mem::replace(&mut pending, rest);
                if tx.send(Input::Lines(chunk)).is_err() {
                    return;
                }
            }
        })
        .context("spawn FIFO reader")?;
    Ok(())
}
