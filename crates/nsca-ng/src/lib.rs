//! NSCA-ng at the edge: the TLS-PSK transport (the system OpenSSL), the
//! receiver (reused threads blocking in `accept`, one connection each at a
//! time, around [`picket_nsca_ng_proto::ServerSession`]), the client transport and the
//! loading of `nsca-ng.cfg` from disk. Binaries: `nsca-ng` (a drop-in for
//! Debian's daemon) and `send_nsca-ng` (Debian's `nsca-ng-client`
//! `send_nsca`). `picket` embeds the receiver (`nsca_ng_config_file=`).
//!
//! Why OpenSSL: NSCA-ng authenticates with a pre-shared key (identity =
//! client identity, key = password), as TLS 1.3 external PSK when both
//! sides run OpenSSL 3 (what Debian's 1.6 negotiates) and as the RFC 4279
//! `PSK-*` suites of TLS ≤ 1.2 otherwise. rustls has neither, so this crate
//! links the system's libssl through the `openssl` crate, with the same
//! callbacks Debian's programs install (`SSL_CTX_set_psk_server_callback`,
//! `SSL_CTX_set_psk_client_callback`): the same library negotiating the
//! same way gives the same handshakes.

pub mod client;
pub mod server;
pub mod tls;

use std::path::Path;

use anyhow::Context;
use picket_nsca_ng_proto::config::{Loader, ServerConfig, parse_server};

/// Files and environment for the configuration parser: includes through
/// `picket_config::read_config_file` (regular files only, bounded), a
/// directory as every `.cfg`/`.conf` file under it, sorted.
pub struct FsLoader;

impl Loader for FsLoader {
    fn include(&mut self, path: &str) -> Result<Vec<(String, String)>, String> {
        let p = Path::new(path);
        if p.is_dir() {
            let mut files = Vec::new();
            collect(p, &mut files, 0).map_err(|e| e.to_string())?;
            files.sort();
            files
                .into_iter()
                .map(|f| {
                    let text = picket_config::read_config_file(&f).map_err(|e| e.to_string())?;
                    Ok((f.display().to_string(), text))
                })
                .collect()
        } else {
            let text = picket_config::read_config_file(p).map_err(|e| e.to_string())?;
            Ok(vec![(path.to_string(), text)])
        }
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>, depth: usize) -> std::io::Result<()> {
    if depth > 16 {
        return Ok(());
    }
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect(&p, out, depth + 1)?;
        } else if p.extension().is_some_and(|x| x == "cfg" || x == "conf") {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads `nsca-ng.cfg` (a file, or a directory of them as `-c DIR` reads).
pub fn load_config(path: &Path) -> anyhow::Result<ServerConfig> {
    let name = path.display().to_string();
    if path.is_dir() {
        let mut text = String::new();
        let mut files = Vec::new();
        collect(path, &mut files, 0).with_context(|| format!("reading {name}"))?;
        files.sort();
        for f in files {
            text.push_str(&format!("include(\"{}\")\n", f.display()));
        }
        return Ok(parse_server(&name, &text, &mut FsLoader)?);
    }
    let text = picket_config::read_config_file(path).with_context(|| format!("reading {name}"))?;
    Ok(parse_server(&name, &text, &mut FsLoader)?)
}

/// `host[:port]` of `listen`/`-b` (`*` is every address; the port defaults
/// to 5668; `[v6]:port` is accepted).
pub fn listen_addr(listen: &str) -> (String, u16) {
    let (host, port) = if let Some(rest) = listen.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (
                h.to_string(),
                p.strip_prefix(':').and_then(|p| p.parse().ok()),
            ),
            None => (rest.to_string(), None),
        }
    } else if listen.matches(':').count() == 1 {
        let (h, p) = listen.split_once(':').unwrap_or((listen, ""));
        (h.to_string(), p.parse().ok())
    } else {
        (listen.to_string(), None)
    };
    let host = if host == "*" || host.is_empty() {
        "::".to_string()
    } else {
        host
    };
    (host, port.unwrap_or(picket_nsca_ng_proto::DEFAULT_PORT))
}

/// Binds the listener (`::` falls back to `0.0.0.0` without IPv6).
pub fn bind(listen: &str) -> anyhow::Result<std::net::TcpListener> {
    let (host, port) = listen_addr(listen);
    match std::net::TcpListener::bind((host.as_str(), port)) {
        Ok(l) => Ok(l),
        Err(_) if host == "::" => Ok(std::net::TcpListener::bind(("0.0.0.0", port))?),
        Err(e) => Err(e).with_context(|| format!("cannot listen on {host}:{port}")),
    }
}

#[cfg(test)]
mod tests {
    use super::listen_addr;

    #[test]
    fn listen_forms() {
        assert_eq!(listen_addr("*"), ("::".into(), 5668));
        assert_eq!(listen_addr("localhost:5668"), ("localhost".into(), 5668));
        assert_eq!(listen_addr("127.0.0.1:99"), ("127.0.0.1".into(), 99));
        assert_eq!(listen_addr("[::1]:7"), ("::1".into(), 7));
        assert_eq!(listen_addr("::1"), ("::1".into(), 5668));
    }
}
