//! Integration tests of the executor with real processes.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use picket_engine::output::parse_output;
use picket_exec::{
    CommandLine, Executor, ExecutorConfig, Exit, Job, classify, nagios_check_output,
};

fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_owned()
}

fn job(line: &str, timeout: Duration) -> Job {
    Job::new(classify(line).unwrap(), timeout)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

fn read_pid(path: &Path) -> i32 {
    fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

/// Waits (generously) until `pred` holds.
fn eventually(mut pred: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pred()
}

#[test]
fn plain_check_exit_code_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "p",
        "echo 'WARN - x=1 | x=1;0;2'; echo 'long line'; echo 'to stderr' >&2; exit 1",
    );
    let exec = Executor::new(ExecutorConfig::default());
    let r = rt().block_on(exec.run(job(&format!("{p} arg1 arg2"), Duration::from_secs(30))));
    assert_eq!(r.exit, Exit::Code(1));
    assert!(!r.used_shell);
    assert_eq!(r.stdout, b"WARN - x=1 | x=1;0;2\nlong line\n");
    assert_eq!(r.stderr, b"to stderr\n");
    assert!(r.finished >= r.started);
    // What the engine (the owner of the plugin output format) makes of it.
    let out = parse_output(&nagios_check_output(&r));
    assert_eq!(out.short, "WARN - x=1");
    assert_eq!(out.perf, "x=1;0;2");
    // The final newline is part of the long output, escaped (`checks.c:parse_check_output()`).
    assert_eq!(out.long, "long line\\n");
}

#[test]
fn arguments_direct_and_through_shell() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "args",
        "for a in \"$@\"; do echo \"[$a]\"; done",
    );
    let exec = Executor::new(ExecutorConfig::default());
    let rt = rt();
    let r = rt.block_on(exec.run(job(&format!("{p} a  b\tc%"), Duration::from_secs(30))));
    assert!(!r.used_shell);
    assert_eq!(r.stdout, b"[a]\n[b]\n[c%]\n");
    let r = rt.block_on(exec.run(job(
        &format!("{p} 'x y' \"$HOME\" | tr a-z A-Z"),
        Duration::from_secs(30),
    )));
    assert!(r.used_shell);
    let home = std::env::var("HOME").unwrap_or_default().to_uppercase();
    assert_eq!(
        String::from_utf8(r.stdout).unwrap(),
        format!("[X Y]\n[{home}]\n")
    );
}

#[test]
fn stdin_is_dev_null_and_env_is_passed() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        dir.path(),
        "env",
        "cat; echo \"svc=$NAGIOS_SERVICEDESC home=${HOME:-unset} keep=${KEEP_ME:-unset}\"",
    );
    let exec = Executor::new(ExecutorConfig::default());
    let rt = rt();
    let mut j = job(&p, Duration::from_secs(30));
    j.env.push(("NAGIOS_SERVICEDESC".into(), "Disk /".into()));
    let r = rt.block_on(exec.run(j.clone()));
    // `cat` on /dev/null returns at once with nothing.
    let out = String::from_utf8(r.stdout).unwrap();
    assert_eq!(
        out,
        format!(
            "svc=Disk / home={} keep=unset\n",
            std::env::var("HOME").unwrap_or_else(|_| "unset".into())
        )
    );
    j.clear_env = true;
    j.env.push(("KEEP_ME".into(), "yes".into()));
    let r = rt.block_on(exec.run(j));
    assert_eq!(
        String::from_utf8(r.stdout).unwrap(),
        "svc=Disk / home=unset keep=yes\n"
    );
}

/// The plugin starts a child and a grandchild that would outlive it, then sleeps past the
/// timeout: the whole process group must be gone afterwards.
#[test]
fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let p = script(
        dir.path(),
        "slow",
        &format!(
            "echo $$ > {d}/leader.pid\n\
             (sleep 300; echo survived > {d}/child.out) &\n\
             echo $! > {d}/child.pid\n\
             sh -c 'echo $$ > {d}/grandchild.pid; sleep 300' &\n\
             echo partial output\n\
             sleep 300\n\
             echo never"
        ),
    );
    let exec = Executor::new(ExecutorConfig::default());
    let rt = rt();
    let t0 = Instant::now();
    let r = rt.block_on(exec.run(job(&p, Duration::from_millis(1500))));
    let took = t0.elapsed();
    assert_eq!(r.exit, Exit::TimedOut);
    assert!(r.early_timeout());
    assert!(
        r.duration >= Duration::from_millis(1500),
        "{:?}",
        r.duration
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");

    let leader = read_pid(&dir.path().join("leader.pid"));
    let child = read_pid(&dir.path().join("child.pid"));
    let grandchild = read_pid(&dir.path().join("grandchild.pid"));
    for pid in [leader, child, grandchild] {
        assert!(eventually(|| !alive(pid)), "pid {pid} still alive");
    }
    assert!(!dir.path().join("child.out").exists());
    // The state and message of a timed-out check are the engine's
    // (`picket_engine::active`, tested in crates/engine/tests/scheduling.rs and the
    // `active_checks` oracle test).
}

/// A plugin that exits at once but leaves a background child holding stdout: the result
/// is the plugin's exit, and the lingering child is killed at the deadline.
#[test]
fn lingering_child_holding_the_pipe_is_killed_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let p = script(
        dir.path(),
        "linger",
        &format!("sleep 300 & echo $! > {d}/bg.pid\necho OK done\nexit 0"),
    );
    let exec = Executor::new(ExecutorConfig::default());
    let r = rt().block_on(exec.run(job(&p, Duration::from_millis(1000))));
    assert_eq!(r.exit, Exit::Code(0));
    assert_eq!(r.stdout, b"OK done\n");
    let bg = read_pid(&dir.path().join("bg.pid"));
    assert!(
        eventually(|| !alive(bg)),
        "background child {bg} still alive"
    );
}

#[test]
fn signal_death_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let exec = Executor::new(ExecutorConfig::default());
    let rt = rt();
    let sig = script(dir.path(), "sig", "echo before; kill -9 $$");
    let r = rt.block_on(exec.run(job(&sig, Duration::from_secs(30))));
    assert_eq!(r.exit, Exit::Signaled(9));
    assert_eq!(parse_output(&nagios_check_output(&r)).short, "before");

    let five = script(dir.path(), "five", "echo five; exit 5");
    let r = rt.block_on(exec.run(job(&five, Duration::from_secs(30))));
    assert_eq!(r.exit, Exit::Code(5));
    assert_eq!(nagios_check_output(&r), "five\n");
}

#[test]
fn missing_and_non_executable_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let exec = Executor::new(ExecutorConfig::default());
    let rt = rt();
    let missing = dir.path().join("does-not-exist");
    let missing = missing.to_str().unwrap();
    let r = rt.block_on(exec.run(job(missing, Duration::from_secs(30))));
    assert_eq!(
        r.exit,
        Exit::SpawnFailed {
            errno: 2,
            program: missing.to_owned()
        }
    );
    assert_eq!(
        parse_output(&nagios_check_output(&r)).short,
        format!(
            "(No output on stdout) stderr: execvp({missing}, ...) failed. errno is 2: No such file or directory"
        )
    );

    let noexec = dir.path().join("noexec.sh");
    fs::write(&noexec, "#!/bin/sh\necho hi\n").unwrap();
    let r = rt.block_on(exec.run(job(noexec.to_str().unwrap(), Duration::from_secs(30))));
    assert!(
        matches!(r.exit, Exit::SpawnFailed { errno: 13, .. }),
        "{:?}",
        r.exit
    );

    // Through the shell the shell reports 127.
    let r = rt.block_on(exec.run(job(&format!("{missing} | cat"), Duration::from_secs(30))));
    assert!(r.used_shell);
    assert_eq!(r.exit, Exit::Code(0), "the pipeline's status is cat's");
    let r = rt.block_on(exec.run(job(&format!("{missing} 2>&1"), Duration::from_secs(30))));
    assert_eq!(r.exit, Exit::Code(127));
}

/// Nagios' worker runs a direct command with execvp(3): an executable file without `#!`
/// (ENOEXEC) runs as `/bin/sh <file> <args>` [oracle: found with z_check_results].
#[test]
fn executable_script_without_shebang_runs_with_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noshebang");
    fs::write(&path, "echo \"args $*\"\nexit 1\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    let p = path.to_str().unwrap();
    let exec = Executor::new(ExecutorConfig::default());
    let r = rt().block_on(exec.run(job(&format!("{p} -H 10.0.0.1"), Duration::from_secs(30))));
    assert_eq!(
        r.exit,
        Exit::Code(1),
        "{:?}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(r.stdout, b"args -H 10.0.0.1\n");
    assert!(!r.used_shell);
}

#[test]
fn output_limit_is_respected_and_plugin_not_blocked() {
    let dir = tempfile::tempdir().unwrap();
    // 1 MiB on stdout (far more than a pipe buffer), 300 KiB on stderr, then exit 2.
    let p = script(
        dir.path(),
        "big",
        "head -c 1048576 /dev/zero | tr '\\0' x; head -c 307200 /dev/zero | tr '\\0' y >&2; exit 2",
    );
    let exec = Executor::new(ExecutorConfig {
        output_limit: 1000,
        ..Default::default()
    });
    let r = rt().block_on(exec.run(job(&p, Duration::from_secs(60))));
    assert_eq!(r.exit, Exit::Code(2));
    assert_eq!(r.stdout.len(), 1000);
    assert!(r.stdout.iter().all(|&b| b == b'x'));
    assert!(r.stdout_truncated);
    assert_eq!(r.stderr.len(), 1000);
    assert!(r.stderr_truncated);

    let small = script(dir.path(), "small", "printf 'abc'");
    let r = rt().block_on(exec.run(job(&small, Duration::from_secs(60))));
    assert_eq!(r.stdout, b"abc");
    assert!(!r.stdout_truncated);
}

#[test]
fn concurrency_bound_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // Each job records its start and end with a unique file; the peak of overlapping
    // jobs is computed from a counter directory under flock.
    let p = script(
        dir.path(),
        "conc",
        &format!(
            "exec 9>{d}/lock\n\
             flock 9; n=$(cat {d}/running 2>/dev/null || echo 0); n=$((n+1)); echo $n > {d}/running\n\
             m=$(cat {d}/peak 2>/dev/null || echo 0); [ $n -gt $m ] && echo $n > {d}/peak; flock -u 9\n\
             sleep 0.2\n\
             flock 9; n=$(cat {d}/running); echo $((n-1)) > {d}/running; flock -u 9\n\
             echo done"
        ),
    );
    let limit = 3;
    let exec = Executor::new(ExecutorConfig {
        max_concurrent: limit,
        ..Default::default()
    });
    let finished = Arc::new(AtomicUsize::new(0));
    rt().block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..12 {
            exec.submit(i, job(&p, Duration::from_secs(60)), tx.clone());
        }
        drop(tx);
        let mut tags = Vec::new();
        while let Some((tag, r)) = rx.recv().await {
            assert_eq!(r.exit, Exit::Code(0), "job {tag}: {r:?}");
            assert_eq!(r.stdout, b"done\n");
            finished.fetch_add(1, Ordering::SeqCst);
            tags.push(tag);
        }
        tags.sort_unstable();
        assert_eq!(tags, (0..12).collect::<Vec<_>>());
    });
    assert_eq!(finished.load(Ordering::SeqCst), 12);
    let peak: usize = fs::read_to_string(dir.path().join("peak"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(peak <= limit, "peak {peak} > {limit}");
    assert!(
        peak >= 2,
        "jobs never overlapped (peak {peak}): bound not exercised"
    );
    assert_eq!(exec.available(), limit);
}

#[test]
fn command_line_errors_are_typed() {
    assert!(classify("").is_err());
    assert!(matches!(classify("a b"), Ok(CommandLine::Direct(_))));
}

/// The errno text is the C library's, as in Nagios' worker (`strerror`), with no Rust suffix.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn spawn_failure_text_is_the_c_library_strerror() {
    assert_eq!(
        picket_exec::exec::spawn_failure_stderr("/x", 40),
        "execvp(/x, ...) failed. errno is 40: Too many levels of symbolic links\n"
    );
    assert_eq!(
        picket_exec::exec::spawn_failure_stderr("/x", 2),
        "execvp(/x, ...) failed. errno is 2: No such file or directory\n"
    );
}
