//! Who may submit what: an identity and a command in, a verdict out
//! (the rule language and the decision are `picket_authz`'s).
//!
//! As Debian's server decides it (`is_authorized`): the identity's
//! `authorize` block (or `"*"`) is looked up; the command must end with
//! its one newline; the bracketed timestamp and the blanks after it are
//! skipped; the rest must match one of the block's `hosts`, `services` or
//! `commands` patterns in full. Picket also refuses, as malformed, a command
//! holding any other line break (`picket_text`: `\r`, U+2028, …) or a
//! control character other than a tab, so that no reader of the command
//! file sees two lines where the identity was allowed one.

use picket_authz::{Rules, Scope};

use crate::config::{Authorization, ServerConfig};

pub use picket_authz::{Denial, Verdict, command_body};

/// The authorizations of a configuration, indexed by identity (the
/// decision is `picket_authz`'s, shared with every ingest path).
#[derive(Debug, Clone)]
pub struct Authorizer {
    blocks: Vec<Authorization>,
    rules: Rules,
}

impl Authorizer {
    /// From a parsed `nsca-ng.cfg`.
    pub fn new(cfg: &ServerConfig) -> Self {
        let blocks = cfg.authorizations.clone();
        let rules = Rules::new(
            blocks
                .iter()
                .map(|a| {
                    (
                        a.identity.clone(),
                        Scope {
                            hosts: a.hosts.clone(),
                            services: a.services.clone(),
                            commands: a.commands.clone(),
                        },
                    )
                })
                .collect(),
        );
        Authorizer { blocks, rules }
    }

    /// The block that applies to `identity`: its own, else `"*"`.
    pub fn block(&self, identity: &str) -> Option<&Authorization> {
        self.rules.index(identity).map(|i| &self.blocks[i])
    }

    /// The pre-shared key of `identity` (for the TLS handshake).
    pub fn password(&self, identity: &str) -> Option<&[u8]> {
        self.block(identity).map(|a| a.password.as_slice())
    }

    /// May `identity` submit `command` (the `PUSH`ed bytes)?
    pub fn decide(&self, identity: &str, command: &[u8]) -> Verdict {
        self.rules.decide(identity, command)
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
