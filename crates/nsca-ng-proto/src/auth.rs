//! Who may submit what: an identity and a command in, a verdict out.
//!
//! As Debian's server decides it (`is_authorized`): the identity's
//! `authorize` block (or `"*"`) is looked up; the command must end with
//! its one newline; the bracketed timestamp and the blanks after it are
//! skipped; the rest must match one of the block's `hosts`, `services` or
//! `commands` patterns in full. Picket also refuses, as malformed, a command
//! holding any other line break (`picket_text`: `\r`, U+2028, …) or a
//! control character other than a tab, so that no reader of the command
//! file sees two lines where the identity was allowed one.

use std::collections::HashMap;

use crate::config::{Authorization, ServerConfig};

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// No block for the identity and no `"*"` block.
    UnknownIdentity,
    /// Not one line with a timestamp (the text says what is wrong).
    Malformed(&'static str),
    /// A host result for a host the identity may not speak for.
    Host {
        /// The host field.
        host: String,
    },
    /// A service result the identity may not submit.
    Service {
        /// The host field.
        host: String,
        /// The service field.
        service: String,
    },
    /// Any other command the identity may not send.
    Command {
        /// The command's name (up to the first `;`).
        name: String,
    },
}

impl Denial {
    /// A short label for metrics: `unknown_identity`, `malformed`, `host`,
    /// `service`, `command`.
    pub fn reason(&self) -> &'static str {
        match self {
            Denial::UnknownIdentity => "unknown_identity",
            Denial::Malformed(_) => "malformed",
            Denial::Host { .. } => "host",
            Denial::Service { .. } => "service",
            Denial::Command { .. } => "command",
        }
    }

    /// What was refused, for a log line (untrusted text: the caller
    /// escapes it).
    pub fn object(&self) -> String {
        match self {
            Denial::UnknownIdentity => "no authorize block".into(),
            Denial::Malformed(why) => format!("malformed command ({why})"),
            Denial::Host { host } => format!("host {host}"),
            Denial::Service { host, service } => format!("service {service} on host {host}"),
            Denial::Command { name } => format!("command {name}"),
        }
    }
}

/// The verdict on one command.
pub type Verdict = Result<(), Denial>;

/// The authorizations of a configuration, indexed by identity.
#[derive(Debug, Clone)]
pub struct Authorizer {
    blocks: Vec<Authorization>,
    by_identity: HashMap<String, usize>,
    star: Option<usize>,
}

impl Authorizer {
    /// From a parsed `nsca-ng.cfg`.
    pub fn new(cfg: &ServerConfig) -> Self {
        let blocks = cfg.authorizations.clone();
        let by_identity: HashMap<String, usize> = blocks
            .iter()
            .enumerate()
            .map(|(i, a)| (a.identity.clone(), i))
            .collect();
        let star = by_identity.get("*").copied();
        Authorizer {
            blocks,
            by_identity,
            star,
        }
    }

    /// The block that applies to `identity`: its own, else `"*"`.
    pub fn block(&self, identity: &str) -> Option<&Authorization> {
        self.by_identity
            .get(identity)
            .or(self.star.as_ref())
            .map(|&i| &self.blocks[i])
    }

    /// The pre-shared key of `identity` (for the TLS handshake).
    pub fn password(&self, identity: &str) -> Option<&[u8]> {
        self.block(identity).map(|a| a.password.as_slice())
    }

    /// May `identity` submit `command` (the `PUSH`ed bytes)?
    pub fn decide(&self, identity: &str, command: &[u8]) -> Verdict {
        let Some(auth) = self.block(identity) else {
            return Err(Denial::UnknownIdentity);
        };
        let body = command_body(command)?;
        let all = auth
            .hosts
            .iter()
            .chain(&auth.services)
            .chain(&auth.commands);
        for p in all {
            if p.regex.is_match(body) {
                return Ok(());
            }
        }
        Err(classify(body))
    }
}

/// The command without its timestamp, checked to be one line.
pub fn command_body(command: &[u8]) -> Result<&[u8], Denial> {
    let Some((&b'\n', line)) = command.split_last() else {
        return Err(Denial::Malformed("not newline-terminated"));
    };
    if line.contains(&b'\n') {
        return Err(Denial::Malformed("embedded newline"));
    }
    if picket_text::find_line_break(line).is_some() {
        return Err(Denial::Malformed("line break"));
    }
    if line.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(Denial::Malformed("control character"));
    }
    let Some(close) = line.iter().position(|&b| b == b']') else {
        return Err(Denial::Malformed("timestamp missing"));
    };
    let mut rest = &command[close + 1..];
    while let Some((&b, r)) = rest.split_first() {
        if b == b' ' || b == b'\t' {
            rest = r;
        } else {
            break;
        }
    }
    Ok(rest)
}

fn classify(body: &[u8]) -> Denial {
    let line = body.strip_suffix(b"\n").unwrap_or(body);
    let text = String::from_utf8_lossy(line);
    let mut f = text.split(';');
    let name = f.next().unwrap_or("").to_string();
    match name.as_str() {
        "PROCESS_SERVICE_CHECK_RESULT" => Denial::Service {
            host: f.next().unwrap_or("").to_string(),
            service: f.next().unwrap_or("").to_string(),
        },
        "PROCESS_HOST_CHECK_RESULT" => Denial::Host {
            host: f.next().unwrap_or("").to_string(),
        },
        _ => Denial::Command { name },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NoLoader, parse_server};

    fn authz(text: &str) -> Authorizer {
        Authorizer::new(&parse_server("t", text, &mut NoLoader).expect("parses"))
    }

    const WEB: &str = "authorize \"web\" {\n password = w\n hosts = \"web.*\"\n \
                       services = { \"disk\", \".+@web.*\" }\n}\n\
                       authorize \"*\" { password = s }\n";

    #[test]
    fn the_web_identity_of_the_demo() {
        let a = authz(WEB);
        let ok = |c: &str| a.decide("web", c.as_bytes());
        assert_eq!(ok("[1] PROCESS_HOST_CHECK_RESULT;web01;0;up\n"), Ok(()));
        assert_eq!(
            ok("[1] PROCESS_HOST_CHECK_RESULT;db01;0;up\n"),
            Err(Denial::Host {
                host: "db01".into()
            })
        );
        assert_eq!(
            ok("[1] PROCESS_SERVICE_CHECK_RESULT;web01;http;2;x\n"),
            Ok(())
        );
        assert_eq!(
            ok("[1] PROCESS_SERVICE_CHECK_RESULT;db01;disk;1;x\n"),
            Ok(())
        );
        assert_eq!(
            ok("[1] PROCESS_SERVICE_CHECK_RESULT;db01;http;1;y\n"),
            Err(Denial::Service {
                host: "db01".into(),
                service: "http".into()
            })
        );
        assert_eq!(
            ok("[1] DISABLE_NOTIFICATIONS\n"),
            Err(Denial::Command {
                name: "DISABLE_NOTIFICATIONS".into()
            })
        );
        // The star block exists but allows nothing.
        assert!(
            a.decide("someone", b"[1] PROCESS_HOST_CHECK_RESULT;web01;0;up\n")
                .is_err()
        );
        assert_eq!(a.password("someone"), Some(&b"s"[..]));
        assert_eq!(a.password("web"), Some(&b"w"[..]));
    }

    #[test]
    fn anchoring_is_whole_command() {
        let a = authz(WEB);
        // `web.*` must match the host field from its start.
        assert!(
            a.decide("web", b"[1] PROCESS_HOST_CHECK_RESULT;xweb;0;up\n")
                .is_err()
        );
        // Debian's `.+;.+` wants a return code and an output.
        assert!(
            a.decide("web", b"[1] PROCESS_HOST_CHECK_RESULT;web1;0\n")
                .is_err()
        );
        // A service without `@` matches any one host field.
        assert!(
            a.decide("web", b"[1] PROCESS_SERVICE_CHECK_RESULT;a;b;disk;0;x\n")
                .is_err()
        );
        let b = authz("authorize x { password = p\n hosts = \"a|b\" }");
        assert!(
            b.decide("x", b"[1] PROCESS_HOST_CHECK_RESULT;b;0;x\n")
                .is_ok()
        );
        assert!(
            b.decide("x", b"[1] PROCESS_HOST_CHECK_RESULT;db01;0;b;x;y\n")
                .is_err(),
            "a top-level | does not escape the anchors"
        );
    }

    #[test]
    fn malformed_commands() {
        let a = authz("authorize x { password = p\n commands = \".*\" }");
        let d = |c: &[u8]| a.decide("x", c).map_err(|e| e.reason());
        assert_eq!(d(b"[1] NOOP\n"), Ok(()));
        assert_eq!(d(b"[1] NOOP"), Err("malformed"));
        assert_eq!(d(b"[1] A\n[2] B\n"), Err("malformed"));
        assert_eq!(d(b"[1] A\r\n"), Err("malformed"));
        assert_eq!(d("[1] A\u{2028}[2] B\n".as_bytes()), Err("malformed"));
        assert_eq!(d(b"[1] A\0B\n"), Err("malformed"));
        assert_eq!(d(b"NOOP\n"), Err("malformed"));
        assert_eq!(d(b"[1]\tA;b\tc\n"), Ok(()), "a tab is kept");
        let none = authz("authorize x { password = p }");
        assert_eq!(
            none.decide("y", b"[1] A\n").map_err(|e| e.reason()),
            Err("unknown_identity")
        );
    }
}
