//! Time `picket_config::load` alone (no report printing), for profiling the loader.
//!
//! `cargo run --release -p picket-config --example load_time -- MAIN_CFG`

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: load_time MAIN_CFG");
        return std::process::ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    match picket_config::load(std::path::Path::new(&path), &Default::default()) {
        Ok(loaded) => {
            eprintln!(
                "loaded in {:.1} ms: {} services, {} errors, {} warnings",
                started.elapsed().as_secs_f64() * 1e3,
                loaded.config.services.len(),
                loaded.error_count(),
                loaded.warning_count()
            );
            // As `picket -v` does: the process exits, no need to free object by object.
            std::mem::forget(loaded);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
