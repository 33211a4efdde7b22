//! Who may submit what, for every ingest path (NSCA-ng, the JSON API, the UI,
//! the Icinga 2 API, NRDP, Livestatus `COMMAND`): one rule language, one owner. Sans-I/O: identities,
//! commands, peers and times come in; verdicts and counts come out.
//!
//! The language is NSCA-ng's `authorize` block (Debian `nsca-ng-server` 1.6):
//! an identity has `hosts`, `services` (`svc@host`) and `commands` lists of
//! anchored POSIX extended regular expressions ([`ere`]), each compiled into
//! a pattern over the whole external command without its timestamp
//! ([`compile`]): `hosts = "web.*"` allows
//! `PROCESS_HOST_CHECK_RESULT;web…;code;output`, `services = "http@web.*"`
//! allows `PROCESS_SERVICE_CHECK_RESULT;web…;http;code;output`, `commands`
//! allows any command line it matches in full. A `"*"` block is the fallback
//! for identities without one ([`Rules`]).
//!
//! Every path turns what it received into that command line and asks
//! [`Scope::decide`]; a refusal is a [`Refusal`] naming path, identity, peer,
//! object and reason, which the caller logs (with [`Refusal::log_line`],
//! already sanitized) and counts in a [`Ledger`].
#![forbid(unsafe_code)]

pub mod ere;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use regex::bytes::Regex;

/// One compiled pattern of `hosts`, `services` or `commands`.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written in the file.
    pub source: String,
    /// Matches the whole command (without its timestamp).
    pub regex: Regex,
}

/// The regular expression a pattern of `key` (`hosts`, `services`, anything
/// else: `commands`) becomes: the whole command without its timestamp must
/// match. Each user pattern is grouped, so a `|` in it cannot escape the
/// anchors (Debian pastes it in as it is: `hosts = "a|b"` there also accepts
/// any command that merely ends in `b` plus two fields; here it means host
/// `a` or host `b`).
pub fn compile(key: &str, source: &str) -> Result<Pattern, String> {
    let body = match key {
        "hosts" => format!(
            "PROCESS_HOST_CHECK_RESULT;(?:{});.+;.+",
            ere::translate(source)?
        ),
        "services" => {
            let (svc, host) = match source.rfind('@') {
                Some(at) => (
                    &source[..at],
                    format!("(?:{})", ere::translate(&source[at + 1..])?),
                ),
                None => (source, "[^;]+".to_string()),
            };
            format!(
                "PROCESS_SERVICE_CHECK_RESULT;{host};(?:{});.+;.+",
                ere::translate(svc)?
            )
        }
        _ => format!("(?:{})", ere::translate(source)?),
    };
    let regex = regex::bytes::RegexBuilder::new(&format!("(?s-u)^{body}\n?$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("invalid")
                .to_string()
        })?;
    Ok(Pattern {
        source: source.to_string(),
        regex,
    })
}

/// What one identity may submit: the three pattern lists of its block.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `hosts`: host results.
    pub hosts: Vec<Pattern>,
    /// `services`: service results (`svc@host`).
    pub services: Vec<Pattern>,
    /// `commands`: any command.
    pub commands: Vec<Pattern>,
}

impl Scope {
    /// Builds a scope from pattern sources (`hosts`, `services`, `commands`).
    pub fn from_sources(
        hosts: &[&str],
        services: &[&str],
        commands: &[&str],
    ) -> Result<Scope, String> {
        let c = |key: &str, l: &[&str]| -> Result<Vec<Pattern>, String> {
            l.iter()
                .map(|s| compile(key, s).map_err(|e| format!("`{key}` pattern `{s}`: {e}")))
                .collect()
        };
        Ok(Scope {
            hosts: c("hosts", hosts)?,
            services: c("services", services)?,
            commands: c("commands", commands)?,
        })
    }

    /// Every pattern, hosts first.
    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.hosts
            .iter()
            .chain(&self.services)
            .chain(&self.commands)
    }

    /// May this scope submit `command` (`[time] NAME;args\n`, as written to
    /// the command file)?
    pub fn decide(&self, command: &[u8]) -> Result<(), Denial> {
        let body = command_body(command)?;
        self.decide_body(body)
    }

    /// As [`Scope::decide`], for a command without its timestamp
    /// (`NAME;args`, one line, no newline needed).
    pub fn decide_body(&self, body: &[u8]) -> Result<(), Denial> {
        if self.patterns().any(|p| p.regex.is_match(body)) {
            Ok(())
        } else {
            Err(classify(body))
        }
    }
}

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
    /// A result for a host from an address its source rules do not allow.
    Source {
        /// The host field.
        host: String,
    },
}

impl Denial {
    /// A short label for metrics: `unknown_identity`, `malformed`, `host`,
    /// `service`, `command`, `source`.
    pub fn reason(&self) -> &'static str {
        match self {
            Denial::UnknownIdentity => "unknown_identity",
            Denial::Malformed(_) => "malformed",
            Denial::Host { .. } => "host",
            Denial::Service { .. } => "service",
            Denial::Command { .. } => "command",
            Denial::Source { .. } => "source",
        }
    }

    /// The [`Outcome`] a refusal counts as.
    pub fn outcome(&self) -> Outcome {
        match self {
            Denial::Malformed(_) => Outcome::Malformed,
            Denial::UnknownIdentity => Outcome::BadKey,
            _ => Outcome::RefusedUnauthorized,
        }
    }

    /// What was refused, for a log line (untrusted text: escape it, or use
    /// [`Refusal::log_line`]).
    pub fn object(&self) -> String {
        match self {
            Denial::UnknownIdentity => "no authorize block".into(),
            Denial::Malformed(why) => format!("malformed command ({why})"),
            Denial::Host { host } => format!("host {host}"),
            Denial::Service { host, service } => format!("service {service} on host {host}"),
            Denial::Command { name } => format!("command {name}"),
            Denial::Source { host } => format!("a result for host {host} from this address"),
        }
    }
}

/// The verdict on one command.
pub type Verdict = Result<(), Denial>;

/// The command without its timestamp, checked to be one line: it must end
/// with its one newline, hold no other line break (`picket_text`: `\r`,
/// U+2028, …) and no control character but a tab, and start with a
/// bracketed timestamp; the blanks after it are skipped.
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

/// Names what a refused command asked for (host, service or command).
pub fn classify(body: &[u8]) -> Denial {
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

/// Scopes by identity, with NSCA-ng's `"*"` fallback.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    scopes: Vec<(String, Scope)>,
    by_identity: HashMap<String, usize>,
    star: Option<usize>,
}

impl Rules {
    /// From `(identity, scope)` pairs (a later duplicate replaces an earlier one).
    pub fn new(scopes: Vec<(String, Scope)>) -> Rules {
        let by_identity: HashMap<String, usize> = scopes
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (id.clone(), i))
            .collect();
        let star = by_identity.get("*").copied();
        Rules {
            scopes,
            by_identity,
            star,
        }
    }

    /// The index of the block that applies to `identity`: its own, else `"*"`.
    pub fn index(&self, identity: &str) -> Option<usize> {
        self.by_identity.get(identity).copied().or(self.star)
    }

    /// The scope that applies to `identity`.
    pub fn scope(&self, identity: &str) -> Option<&Scope> {
        self.index(identity).map(|i| &self.scopes[i].1)
    }

    /// May `identity` submit `command` (`[time] NAME;args\n`)?
    pub fn decide(&self, identity: &str, command: &[u8]) -> Verdict {
        match self.scope(identity) {
            Some(s) => s.decide(command),
            None => Err(Denial::UnknownIdentity),
        }
    }
}

/// NSCA 2 has no identities: its receivers can restrict which client addresses
/// may submit results for which hosts, in the TCP-wrappers language
/// (`tcpwrap`, hosts_access(5)), with the result's host name in the daemon
/// field: `firestorm : 192.0.2.10` in the allow table and `firestorm : ALL`
/// in the deny table take `firestorm`'s results from 192.0.2.10 only. The
/// allow table first, then the deny table, first match wins, no match
/// grants (as `tcpd`); options are not run and names are not looked up
/// (address patterns, networks, `ALL`, `EXCEPT`; a host-name pattern never
/// matches), so a verdict costs no DNS query. The caller reads the files (a
/// file that cannot be read is a configuration error there).
#[derive(Debug, Clone)]
pub struct SourceRules {
    tables: picket_tcpwrap::Tables,
}

impl SourceRules {
    /// From the two tables' names and contents (`None`: no such table).
    pub fn new(allow: Option<(&str, &[u8])>, deny: Option<(&str, &[u8])>) -> SourceRules {
        let table = |t: Option<(&str, &[u8])>, kind: &str| match t {
            None => picket_tcpwrap::Table::parse(kind, b""),
            Some((name, data)) => picket_tcpwrap::Table::parse(name, data),
        };
        SourceRules {
            tables: picket_tcpwrap::Tables {
                allow: table(allow, "source_allow_file"),
                deny: table(deny, "source_deny_file"),
            },
        }
    }

    /// May `client` submit a result for `host`? (`server`: the receiver's address.)
    pub fn decide(
        &self,
        host: &str,
        client: std::net::SocketAddr,
        server: std::net::SocketAddr,
    ) -> Verdict {
        let mut req = picket_tcpwrap::Request::tcp(host, client, server);
        let v = picket_tcpwrap::hosts_access(
            &self.tables,
            &mut req,
            &mut picket_tcpwrap::StaticResolver::new(),
            &mut picket_tcpwrap::DryRun,
            picket_tcpwrap::Settings { resident: true },
        );
        if v.is_granted() {
            Ok(())
        } else {
            Err(Denial::Source {
                host: host.to_string(),
            })
        }
    }
}

/// An ingest path, for verdicts, log lines and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    /// The NSCA-ng receiver.
    NscaNg,
    /// `POST /api/results`, `/api/commands`, `/api/connection-events`.
    Api,
    /// The web UI's actions.
    Ui,
    /// `POST /v1/actions/process-check-result`.
    Icinga,
    /// NRDP's `cmd=submitcheck` and `cmd=submitcmd`.
    Nrdp,
    /// Livestatus `COMMAND` (the identity its listener or the peer's uid names).
    Livestatus,
    /// Check-result files of `check_result_path` (the identity their owner's uid names).
    Spool,
}

impl Via {
    /// The label: `nsca-ng`, `api`, `ui`, `icinga-api`, `nrdp`, `livestatus`,
    /// `check-result-spool`.
    pub fn label(self) -> &'static str {
        match self {
            Via::NscaNg => "nsca-ng",
            Via::Api => "api",
            Via::Ui => "ui",
            Via::Icinga => "icinga-api",
            Via::Nrdp => "nrdp",
            Via::Livestatus => "livestatus",
            Via::Spool => "check-result-spool",
        }
    }
}

/// A refused submission: who, from where, through which path, what and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The path it came through.
    pub via: Via,
    /// The identity it authenticated as.
    pub identity: String,
    /// The peer (address and port, as text).
    pub peer: String,
    /// What was refused and why.
    pub denial: Denial,
}

impl Refusal {
    /// `refusing <object> from identity <id> at <peer> via <path>: not authorized`,
    /// every untrusted part with line breaks and control characters turned into
    /// spaces, so that the line is one line.
    pub fn log_line(&self) -> String {
        let mut s = String::new();
        let why = match self.denial {
            Denial::Malformed(_) => "malformed",
            Denial::UnknownIdentity => "unknown identity",
            _ => "not authorized",
        };
        let _ = write!(
            s,
            "refusing {} from identity {} at {} via {}: {why}",
            safe(&self.denial.object()),
            safe(&self.identity),
            safe(&self.peer),
            self.via.label()
        );
        s
    }
}

/// `s` with every control character but a tab and every line break
/// (`picket_text`) turned into a space.
pub fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (c.is_control() && c != '\t') || picket_text::is_line_break(c) {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// What happened to one submission, for the per-identity counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// Authorized and handed on.
    Accepted,
    /// Authenticated, but not allowed for that object.
    RefusedUnauthorized,
    /// Wrong token, password or key.
    BadKey,
    /// Not a well-formed submission.
    Malformed,
}

impl Outcome {
    /// The metric label: `accepted`, `refused_unauthorized`, `bad_key`, `malformed`.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::RefusedUnauthorized => "refused_unauthorized",
            Outcome::BadKey => "bad_key",
            Outcome::Malformed => "malformed",
        }
    }
}

/// One identity's line in the [`Ledger`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityStats {
    /// Counts by path and outcome.
    pub counts: BTreeMap<(Via, Outcome), u64>,
    /// The last accepted submission: time (UNIX seconds), path, object.
    pub last: Option<(i64, Via, String)>,
}

/// Per-identity counts and last submissions (time comes in; nothing is read).
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    ids: BTreeMap<String, IdentityStats>,
}

/// At most this many identities are kept apart; more are folded into `"(other)"`, so a
/// client cannot grow the ledger by inventing names (only configured identities reach it
/// in practice).
pub const MAX_IDENTITIES: usize = 4096;

impl Ledger {
    /// Counts one submission of `identity` through `via`. An accepted one also becomes
    /// the identity's last submission (`object`: what it was for).
    pub fn record(&mut self, via: Via, identity: &str, outcome: Outcome, now: i64, object: &str) {
        let key = if self.ids.contains_key(identity) || self.ids.len() < MAX_IDENTITIES {
            identity
        } else {
            "(other)"
        };
        let e = self.ids.entry(key.to_string()).or_default();
        *e.counts.entry((via, outcome)).or_default() += 1;
        if outcome == Outcome::Accepted {
            e.last = Some((now, via, safe(object)));
        }
    }

    /// Adds `n` to the count of `identity`'s `outcome` through `via` (for paths that keep
    /// their own counters and mirror them here).
    pub fn add(&mut self, via: Via, identity: &str, outcome: Outcome, n: u64) {
        let key = if self.ids.contains_key(identity) || self.ids.len() < MAX_IDENTITIES {
            identity
        } else {
            "(other)"
        };
        let e = self.ids.entry(key.to_string()).or_default();
        *e.counts.entry((via, outcome)).or_default() += n;
    }

    /// `identity` had a submission accepted through `via` at `time` (kept if newer than
    /// its last one).
    pub fn seen(&mut self, identity: &str, via: Via, time: i64) {
        if let Some(e) = self.ids.get_mut(identity) {
            if e.last.as_ref().is_none_or(|(t, _, _)| *t < time) {
                e.last = Some((time, via, "command".into()));
            }
        }
    }

    /// Makes `identity` known (listed with no submissions yet).
    pub fn declare(&mut self, identity: &str) {
        if self.ids.len() < MAX_IDENTITIES {
            self.ids.entry(identity.to_string()).or_default();
        }
    }

    /// Every identity, by name.
    pub fn identities(&self) -> impl Iterator<Item = (&str, &IdentityStats)> {
        self.ids.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// One identity.
    pub fn get(&self, identity: &str) -> Option<&IdentityStats> {
        self.ids.get(identity)
    }
}

/// One API identity (a block of the identities file): how it authenticates and
/// what it may submit.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The name (in log lines, metrics, the Identities page).
    pub name: String,
    /// Bearer token (`Authorization: Bearer`, the UI login, NRDP's `token`).
    pub token: Option<String>,
    /// Password for HTTP basic authentication as this user (the Icinga 2 API).
    pub password: Option<String>,
    /// What it may submit.
    pub scope: Scope,
    /// Where the block starts (`file:line`).
    pub origin: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> Scope {
        Scope::from_sources(&["web.*"], &["disk", ".+@web.*"], &[]).expect("compiles")
    }

    #[test]
    fn the_web_identity() {
        let s = web();
        let d = |c: &str| s.decide(c.as_bytes());
        assert_eq!(d("[1] PROCESS_HOST_CHECK_RESULT;web01;0;up\n"), Ok(()));
        assert_eq!(
            d("[1] PROCESS_HOST_CHECK_RESULT;db01;0;up\n"),
            Err(Denial::Host {
                host: "db01".into()
            })
        );
        assert_eq!(
            d("[1] PROCESS_SERVICE_CHECK_RESULT;web01;http;2;x\n"),
            Ok(())
        );
        assert_eq!(
            d("[1] PROCESS_SERVICE_CHECK_RESULT;db01;disk;1;x\n"),
            Ok(())
        );
        assert_eq!(
            d("[1] PROCESS_SERVICE_CHECK_RESULT;firestorm;TCP Wrappers;2;Denied x\n"),
            Err(Denial::Service {
                host: "firestorm".into(),
                service: "TCP Wrappers".into()
            })
        );
        assert_eq!(
            d("[1] DISABLE_NOTIFICATIONS\n"),
            Err(Denial::Command {
                name: "DISABLE_NOTIFICATIONS".into()
            })
        );
        assert_eq!(
            d("[1] A\r\n").map_err(|e| e.outcome()),
            Err(Outcome::Malformed)
        );
        assert_eq!(
            s.decide_body(b"PROCESS_HOST_CHECK_RESULT;web9;0;up"),
            Ok(())
        );
    }

    #[test]
    fn star_fallback() {
        let r = Rules::new(vec![
            ("web".into(), web()),
            (
                "*".into(),
                Scope::from_sources(&[], &[], &["NOOP"]).expect("compiles"),
            ),
        ]);
        assert!(
            r.decide("web", b"[1] PROCESS_HOST_CHECK_RESULT;web1;0;x\n")
                .is_ok()
        );
        assert!(r.decide("other", b"[1] NOOP\n").is_ok());
        assert!(
            r.decide("other", b"[1] PROCESS_HOST_CHECK_RESULT;web1;0;x\n")
                .is_err()
        );
        let none = Rules::new(vec![("web".into(), web())]);
        assert_eq!(
            none.decide("x", b"[1] NOOP\n"),
            Err(Denial::UnknownIdentity)
        );
    }

    #[test]
    fn refusal_lines_are_one_line() {
        let r = Refusal {
            via: Via::Api,
            identity: "we\nb".into(),
            peer: "127.0.0.1:5".into(),
            denial: Denial::Host {
                host: "db\u{2028}01".into(),
            },
        };
        assert_eq!(
            r.log_line(),
            "refusing host db 01 from identity we b at 127.0.0.1:5 via api: not authorized"
        );
    }

    #[test]
    fn source_rules_take_a_host_only_from_its_addresses() {
        let r = SourceRules::new(
            Some(("allow", b"firestorm : 127.0.0.2 192.0.2.0/255.255.255.0\n")),
            Some(("deny", b"firestorm : ALL\n")),
        );
        let srv: std::net::SocketAddr = "127.0.0.1:5667".parse().expect("addr");
        let at = |a: &str| {
            format!("{a}:4000")
                .parse::<std::net::SocketAddr>()
                .expect("addr")
        };
        assert_eq!(r.decide("firestorm", at("127.0.0.2"), srv), Ok(()));
        assert_eq!(r.decide("firestorm", at("192.0.2.77"), srv), Ok(()));
        assert_eq!(
            r.decide("firestorm", at("127.0.0.3"), srv),
            Err(Denial::Source {
                host: "firestorm".into()
            })
        );
        // Other hosts: no rule, granted (the default is unchanged behaviour).
        assert_eq!(r.decide("web01", at("127.0.0.3"), srv), Ok(()));
        let except = SourceRules::new(
            None,
            Some((
                "deny",
                b"ALL EXCEPT web01 : ALL EXCEPT 127.0.0.0/255.0.0.0\n",
            )),
        );
        assert!(except.decide("db01", at("127.0.0.9"), srv).is_ok());
        assert!(except.decide("db01", at("192.0.2.1"), srv).is_err());
        assert!(except.decide("web01", at("192.0.2.1"), srv).is_ok());
    }

    #[test]
    fn ledger_counts_and_last() {
        let mut l = Ledger::default();
        l.declare("idle");
        l.record(Via::Api, "web", Outcome::Accepted, 10, "host web1");
        l.record(
            Via::Api,
            "web",
            Outcome::RefusedUnauthorized,
            11,
            "host db01",
        );
        let w = l.get("web").expect("listed");
        assert_eq!(w.counts[&(Via::Api, Outcome::Accepted)], 1);
        assert_eq!(w.counts[&(Via::Api, Outcome::RefusedUnauthorized)], 1);
        assert_eq!(w.last, Some((10, Via::Api, "host web1".into())));
        assert_eq!(l.identities().count(), 2);
    }
}
