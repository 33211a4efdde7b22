//! Spawns per second of a trivial plugin (`/bin/true`, run directly) through the
//! executor at concurrency 1, 8 and 64, with the process's RSS inflated first so that a
//! fork-based spawn would have to copy a big page table.
//!
//! ```text
//! cargo bench -p picket-exec --bench spawn                      # 2048 MiB touched, 2000 jobs per level
//! PICKET_BENCH_RSS_MB=0 PICKET_BENCH_JOBS=500 cargo bench -p picket-exec --bench spawn
//! ```
//! Results go to stdout; see BENCHMARKS.md (plugin executor section).

use std::time::{Duration, Instant};

use picket_exec::{Executor, ExecutorConfig, Exit, Job, classify};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.trim_start_matches("VmRSS:").trim().to_owned())
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let rss_mb = env_usize("PICKET_BENCH_RSS_MB", 2048);
    let jobs = env_usize("PICKET_BENCH_JOBS", 2000);
    let levels: Vec<usize> = std::env::var("PICKET_BENCH_LEVELS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 8, 64]);

    // Inflate RSS: touch every page of a big allocation.
    let mut ballast: Vec<u8> = vec![0; rss_mb * 1024 * 1024];
    for i in (0..ballast.len()).step_by(4096) {
        ballast[i] = (i % 251) as u8 + 1;
    }
    println!("ballast {rss_mb} MiB touched, VmRSS {}", rss_mib());

    let Ok(command) = classify("/bin/true") else {
        eprintln!("cannot classify /bin/true");
        std::process::exit(2);
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        eprintln!("cannot build runtime");
        std::process::exit(2);
    };
    println!("| concurrency | jobs | seconds | spawns/s | VmRSS |");
    println!("|---:|---:|---:|---:|---:|");
    for &conc in &levels {
        let exec = Executor::new(ExecutorConfig {
            max_concurrent: conc,
            ..Default::default()
        });
        let t0 = Instant::now();
        let ok = rt.block_on(async {
            let handles: Vec<_> = (0..jobs)
                .map(|_| exec.spawn(Job::new(command.clone(), Duration::from_secs(30))))
                .collect();
            let mut ok = 0usize;
            for h in handles {
                if let Ok(r) = h.await {
                    if r.exit == Exit::Code(0) {
                        ok += 1;
                    }
                }
            }
            ok
        });
        let secs = t0.elapsed().as_secs_f64();
        if ok != jobs {
            eprintln!("only {ok} of {jobs} jobs exited 0");
            std::process::exit(1);
        }
        println!(
            "| {conc} | {jobs} | {secs:.3} | {:.0} | {} |",
            jobs as f64 / secs,
            rss_mib()
        );
    }
    // Keep the ballast alive (and used) until the end.
    let sum: u64 = ballast.iter().step_by(1 << 20).map(|&b| u64::from(b)).sum();
    println!("(ballast checksum {sum})");
}
