//! The built-in NSCA-ng receiver: with `nsca_ng_config_file=` in the main
//! configuration the daemon listens for NSCA-ng itself (Debian's
//! `nsca-ng.cfg`, read by `picket-nsca-ng`) and hands every authorized
//! command to the engine as a command-file line ([`Input::Lines`]): it is
//! journaled and processed exactly as if it had come through the FIFO.
//!
//! A client gets its `OKAY` only once the line is on the engine's bounded
//! channel: a busy engine makes NSCA-ng clients wait, nothing is dropped.
//! Refused commands get `FAIL You're not authorized`, a `Warning: NSCA: …`
//! line in `nagios.log` naming identity, peer and object (through the
//! report layer) and a count in `picket_nsca_ng_commands_total`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use anyhow::Context;
use picket_nsca_ng::server::{Options, Receiver as NgReceiver, Sink, Stats};
use picket_nsca_ng_proto::{Authorizer, ServerConfig};

use crate::input::Input;

/// The running receiver.
pub(crate) struct Receiver {
    /// Where it listens.
    pub(crate) local_addr: SocketAddr,
    /// Its counters.
    pub(crate) stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    /// Stop accepting connections.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads `nsca-ng.cfg`; returns it with its warnings (placeholder passwords included).
pub(crate) fn read_config(path: &Path) -> anyhow::Result<(ServerConfig, Vec<String>)> {
    let config = picket_nsca_ng::load_config(path)
        .with_context(|| format!("nsca_ng_config_file {}", path.display()))?;
    let mut warnings = config.warnings.clone();
    for a in &config.authorizations {
        let pw = String::from_utf8_lossy(&a.password).to_ascii_lowercase();
        if pw.len() < 8 || ["change-me", "changeme", "password", "secret"].contains(&pw.as_str()) {
            warnings.push(format!(
                "{}:{}: the NSCA-ng password of authorize \"{}\" is a placeholder or shorter than 8 characters",
                a.file,
                a.line,
                picket_engine::output::log_safe(&a.identity)
            ));
        }
    }
    Ok((config, warnings))
}

struct EngineSink(SyncSender<Input>);

impl Sink for EngineSink {
    fn submit(&self, _identity: &str, _peer: SocketAddr, command: Vec<u8>) -> Result<(), String> {
        self.0
            .send(Input::Lines(command))
            .map_err(|_| "the monitoring engine is shutting down".to_string())
    }
}

/// Binds and serves `config`; commands go to `tx`.
pub(crate) fn start(
    path: &Path,
    config: &ServerConfig,
    max_connections: usize,
    tx: SyncSender<Input>,
) -> anyhow::Result<Receiver> {
    let listener = picket_nsca_ng::bind(&config.listen)
        .with_context(|| format!("NSCA-ng listener of {}", path.display()))?;
    let local_addr = listener.local_addr()?;
    let authorizer = Arc::new(Authorizer::new(config));
    let tls = picket_nsca_ng::tls::server_context(&config.tls_ciphers, Arc::clone(&authorizer))
        .with_context(|| format!("{}: tls_ciphers {:?}", path.display(), config.tls_ciphers))?;
    let mut options = Options::from_config(config);
    options.max_connections = max_connections.max(1);
    let stats = Arc::new(Stats::default());
    let receiver = Arc::new(NgReceiver {
        tls,
        authorizer,
        options,
        sink: Arc::new(EngineSink(tx)),
        stats: Arc::clone(&stats),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("picket-nsca-ng".into())
        .spawn(move || {
            if let Err(e) = picket_nsca_ng::server::serve(listener, receiver, stop2) {
                tracing::error!(target: "nsca_ng", "NSCA-ng listener failed: {e}");
            }
        })?;
    Ok(Receiver {
        local_addr,
        stats,
        stop,
    })
}

/// Mirrors the receiver's counters into `/metrics` once a second:
/// `picket_nsca_ng_commands_total{identity,outcome}` (identity: the
/// configured `authorize` block, so a client cannot add series),
/// `picket_nsca_ng_last_submission_seconds{identity}` and the handshake
/// failures without an identity.
pub(crate) fn mirror_stats(
    rt: &tokio::runtime::Runtime,
    stats: Arc<Stats>,
    metrics: Arc<picket_web::Metrics>,
    ledger: Arc<std::sync::Mutex<picket_web::Ledger>>,
) {
    rt.spawn(async move {
        let mut last = std::collections::BTreeMap::<(String, String), u64>::new();
        let mut last_hs = 0u64;
        let hs = metrics.counter(
            "picket_nsca_ng_handshake_failures_total",
            "NSCA-ng TLS handshakes that failed before any identity was offered.",
            &[],
        );
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let now = stats
                .by_identity
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default();
            for ((id, outcome), n) in &now {
                let prev = last
                    .get(&(id.clone(), outcome.clone()))
                    .copied()
                    .unwrap_or(0);
                metrics
                    .counter(
                        "picket_nsca_ng_commands_total",
                        "NSCA-ng commands and handshakes by configured identity and outcome.",
                        &[("identity", id), ("outcome", outcome)],
                    )
                    .add(n.saturating_sub(prev));
                // The same counts under every path's name and outcome labels.
                let outcome = match outcome.as_str() {
                    "accepted" => Some(picket_web::Outcome::Accepted),
                    "bad_key" | "refused_unknown_identity" => Some(picket_web::Outcome::BadKey),
                    "refused_malformed" | "protocol_error" => Some(picket_web::Outcome::Malformed),
                    o if o.starts_with("refused_") => Some(picket_web::Outcome::RefusedUnauthorized),
                    _ => None,
                };
                if let (Some(o), d @ 1..) = (outcome, n.saturating_sub(prev)) {
                    metrics
                        .counter(
                            "picket_ingest_total",
                            "Submissions by ingest path, identity and outcome (accepted, refused_unauthorized, bad_key, malformed).",
                            &[("via", "nsca-ng"), ("identity", id), ("outcome", o.label())],
                        )
                        .add(d);
                    if let Ok(mut l) = ledger.lock() {
                        l.add(picket_web::Via::NscaNg, id, o, d);
                    }
                }
            }
            last = now;
            if let Ok(m) = stats.last_submission.lock() {
                if let Ok(mut l) = ledger.lock() {
                    for (id, t) in m.iter() {
                        l.seen(id, picket_web::Via::NscaNg, i64::try_from(*t).unwrap_or(i64::MAX));
                    }
                }
                for (id, t) in m.iter() {
                    metrics
                        .gauge(
                            "picket_nsca_ng_last_submission_seconds",
                            "When an NSCA-ng identity last had a command accepted (UNIX time).",
                            &[("identity", id)],
                        )
                        .set(i64::try_from(*t).unwrap_or(i64::MAX));
                }
            }
            let h = stats.handshake_failures.load(Ordering::Relaxed);
            hs.add(h.saturating_sub(last_hs));
            last_hs = h;
        }
    });
}
