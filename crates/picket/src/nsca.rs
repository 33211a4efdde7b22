//! The built-in NSCA receiver: with `nsca_config_file=` in the main
//! configuration the daemon listens for NSCA itself (the `nsca.cfg` format
//! and meanings of `picket-nsca`'s `nsca`) and hands every decoded result
//! straight to the engine as [`Input::Passive`] — no FIFO, no reaper. The
//! engine logs them exactly as if they had come through the command file.
//!
//! Each connection's task converts its batch and puts it on the engine
//! thread's bounded channel itself ([`EngineSink`]). Back-pressure runs end to
//! end: when the engine is busy the channel fills and NSCA connections wait;
//! nothing is dropped.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError};

use anyhow::Context;
use picket_engine::PassiveResult;
use picket_nsca::server::{Batch, Received, Settings, Sink, Stats};
use picket_nsca_proto::config::ServerConfig;
use tokio::sync::watch;

use crate::input::Input;

/// The running receiver.
pub(crate) struct Receiver {
    /// What it has received and refused, for logs and metrics.
    #[allow(dead_code)]
    pub(crate) stats: Arc<Stats>,
    /// Where it listens.
    pub(crate) local_addr: std::net::SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl Receiver {
    /// Stop accepting connections (at shutdown, before the runtime goes).
    pub(crate) fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// Reads and checks `nsca.cfg`; returns it with its warnings.
pub(crate) fn read_config(cfg_path: &Path) -> anyhow::Result<(ServerConfig, Vec<String>)> {
    let text = picket_config::read_config_file(cfg_path)
        .with_context(|| format!("nsca_config_file {}", cfg_path.display()))?;
    let (config, mut warnings) = ServerConfig::parse(&cfg_path.display().to_string(), &text)?;
    warnings.extend(weak_password(&cfg_path.display().to_string(), &config));
    Ok((config, warnings))
}

/// Passwords that ship in examples and documentation: anyone can send results with them.
const PLACEHOLDER_PASSWORDS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "password",
    "secret",
    "nsca",
    "nagios",
];

/// A warning when results are encrypted with an empty or a well-known password (with
/// `decryption_method=0` nothing is encrypted and the password is not used).
pub(crate) fn weak_password(file: &str, config: &ServerConfig) -> Option<String> {
    if config.decryption_method == picket_nsca_proto::Method::None {
        return None;
    }
    let pw = String::from_utf8_lossy(&config.password);
    let lower = pw.trim().to_ascii_lowercase();
    if lower.is_empty() {
        Some(format!(
            "{file}: the NSCA password is empty: anyone who can reach the port can submit results; set password="
        ))
    } else if PLACEHOLDER_PASSWORDS.contains(&lower.as_str()) {
        Some(format!(
            "{file}: the NSCA password is the placeholder '{}': anyone who can reach the port can submit results; change password= here and in send_nsca.cfg",
            picket_engine::output::log_safe(&pw)
        ))
    } else {
        None
    }
}

/// Binds and starts serving `config` on `rt`, at most `max_connections` at once (its
/// own `max_connections` or the open-file budget's share, whichever is lower); results
/// go to `tx`.
pub(crate) fn start(
    rt: &tokio::runtime::Runtime,
    cfg_path: &Path,
    config: &ServerConfig,
    max_connections: usize,
    tx: SyncSender<Input>,
) -> anyhow::Result<Receiver> {
    let listener = picket_nsca::server::bind(config)
        .with_context(|| format!("NSCA listener of {}", cfg_path.display()))?;
    let local_addr = listener.local_addr()?;
    picket_nsca::server::source_rules(config)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cfg_path.display()))?;
    let mut settings = Settings::from_config(config);
    settings.max_connections = settings.max_connections.min(max_connections).max(1);
    let (_settings_tx, settings_rx) = watch::channel(Arc::new(settings));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let stats = Arc::new(Stats::default());
    {
        let _guard = rt.enter();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        rt.spawn(picket_nsca::server::serve(
            listener,
            settings_rx,
            EngineSink(tx),
            Arc::clone(&stats),
            shutdown_rx,
        ));
    }
    Ok(Receiver {
        stats,
        local_addr,
        shutdown: shutdown_tx,
    })
}

/// The connections hand their batches to the engine thread's channel themselves (no
/// forwarding thread between two channels).
#[derive(Clone)]
struct EngineSink(SyncSender<Input>);

impl Sink for EngineSink {
    async fn send(&self, batch: Batch) -> Result<(), ()> {
        let input = Input::Passive(batch.into_iter().map(passive_result).collect());
        match self.0.try_send(input) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(()),
            // The engine is busy: wait for room on a blocking thread, not on a runtime
            // worker; this connection reads nothing meanwhile (TCP back-pressure).
            Err(TrySendError::Full(input)) => {
                let tx = self.0.clone();
                match tokio::task::spawn_blocking(move || tx.send(input)).await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(()),
                }
            }
        }
    }
}

/// An NSCA result as the engine's passive result: the same fields, names cut
/// and the output escaped as on a command-file line, stamped with the time it was
/// received (the C `nsca` stamps its lines with its own clock too). The decoded
/// buffers become the strings (no copy for names, one for the escaped output).
pub(crate) fn passive_result(r: Received) -> PassiveResult {
    let host_result = r.result.is_host_result();
    let name = |mut b: Vec<u8>| {
        let n = picket_nsca_proto::command::name_field(&b).len();
        b.truncate(n);
        text(b)
    };
    let mut output = Vec::with_capacity(r.result.plugin_output.len());
    picket_nsca_proto::command::escape_output(&mut output, &r.result.plugin_output);
    PassiveResult {
        host: name(r.result.host_name),
        service: (!host_result).then(|| name(r.result.service)),
        return_code: i32::from(r.result.return_code),
        output: text(output),
        check_time: picket_engine::Time::try_from(r.received_at).unwrap_or_default(),
    }
}

/// Bytes as a string, invalid UTF-8 replaced (as `String::from_utf8_lossy`), without a
/// copy when they are valid.
fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
