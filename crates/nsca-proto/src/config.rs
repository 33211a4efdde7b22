//! `nsca.cfg` and `send_nsca.cfg`, parsed by the C programs' rules
//! (`nsca.c:356-562`, `send_nsca.c:562-705`):
//!
//! * a line starting with `#`, or empty, is skipped;
//! * otherwise it is `name=value`: the name runs to the first `=` (leading `=`
//!   are skipped, as `strtok` does), the value to the end of the line,
//!   **untrimmed** (`password = x` sets the name `password ` to ` x`);
//! * some names must match exactly, the others match when the name merely
//!   *contains* the option (`strstr`), in the C program's order;
//! * an unknown name is an error.
//!
//! Picket's own options (marked below) are accepted only by Picket; a file
//! that uses them no longer loads in the C programs.

use std::path::PathBuf;

use crate::crypto::{CryptoError, Method};

/// A configuration error, naming the file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {kind}")]
pub struct ConfigError {
    /// The file, as given.
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

/// What is wrong with a configuration line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// `=value` with no name.
    #[error("no variable name")]
    NoName,
    /// `name` or `name=` with no value.
    #[error("no value for '{0}'")]
    NoValue(String),
    /// A name no option matches.
    #[error("unknown option '{0}'")]
    UnknownOption(String),
    /// A value that does not fit the option.
    #[error("invalid value '{value}' for {option}: {why}")]
    InvalidValue {
        /// The option.
        option: &'static str,
        /// The value as written.
        value: String,
        /// Why it does not fit.
        why: String,
    },
    /// The encryption method is invalid or cannot be used.
    #[error(transparent)]
    Method(#[from] CryptoError),
}

/// One `name=value` line.
struct Line<'a> {
    number: usize,
    name: &'a str,
    value: &'a str,
}

/// Splits a config file into its `name=value` lines.
fn lines<'a>(
    file: &'a str,
    text: &'a str,
) -> impl Iterator<Item = Result<Line<'a>, ConfigError>> + 'a {
    text.split_inclusive('\n')
        .enumerate()
        .filter_map(move |(i, raw)| {
            let number = i + 1;
            let l = raw.strip_suffix('\n').unwrap_or(raw);
            if l.is_empty() || l.starts_with('#') {
                return None;
            }
            let err = |kind| {
                Some(Err(ConfigError {
                    file: file.to_string(),
                    line: number,
                    kind,
                }))
            };
            // strtok(buf, "=") skips leading '=' and stops at the next one.
            let l = l.trim_start_matches('=');
            let (name, value) = match l.split_once('=') {
                Some((n, v)) => (n, v),
                None => (l, ""),
            };
            if name.is_empty() {
                return err(ConfigErrorKind::NoName);
            }
            if value.is_empty() {
                return err(ConfigErrorKind::NoValue(name.to_string()));
            }
            Some(Ok(Line {
                number,
                name,
                value,
            }))
        })
}

/// How an option name is compared.
#[derive(Clone, Copy)]
enum Match {
    Exact,
    Contains,
}

fn matches(name: &str, option: &str, how: Match) -> bool {
    match how {
        Match::Exact => name == option,
        Match::Contains => name.contains(option),
    }
}

/// C `atoi`: optional blanks and sign, then digits; anything else ends it.
/// Overflow wraps to what glibc would most plausibly give for sane input;
/// callers range-check the result.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

/// The daemon's configuration (`nsca.cfg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `server_port`, default 5667.
    pub server_port: u16,
    /// `server_address`; `None` = all addresses.
    pub server_address: Option<String>,
    /// `pid_file`.
    pub pid_file: Option<PathBuf>,
    /// `nsca_user`.
    pub nsca_user: Option<String>,
    /// `nsca_group`.
    pub nsca_group: Option<String>,
    /// `nsca_chroot`.
    pub nsca_chroot: Option<PathBuf>,
    /// `debug`: log every connection and result.
    pub debug: bool,
    /// `command_file`: the monitor's external command file (a FIFO).
    pub command_file: Option<PathBuf>,
    /// `alternate_dump_file`: where lines go when the command file is absent.
    pub alternate_dump_file: PathBuf,
    /// `aggregate_writes`.
    pub aggregate_writes: bool,
    /// `append_to_file`.
    pub append_to_file: bool,
    /// `max_packet_age` in seconds (0-900); 0 disables the check. Enforced by
    /// Picket (the C 2.10 daemon parses it and ignores it).
    pub max_packet_age: u32,
    /// `password`.
    pub password: Vec<u8>,
    /// `decryption_method`, default 1 (XOR).
    pub decryption_method: Method,
    /// `log_facility`, default `daemon`.
    pub log_facility: String,
    /// `strict_mode_spoofing`: accept a result only if the host name resolves
    /// to the peer's address.
    pub strict_mode_spoofing: bool,
    /// `check_result_path`: write Nagios check-result files there instead of
    /// command lines.
    pub check_result_path: Option<PathBuf>,
    /// Picket: `socket_timeout` in seconds for a connection to send its next
    /// packet (the C daemon's is a fixed 10).
    pub socket_timeout: u32,
    /// Picket: `max_connections` served at once; more are closed at once.
    pub max_connections: u32,
    /// Picket: `max_connections_per_source` served at once for one client
    /// address (an IPv6 /64 counts as one address); more from it are closed at
    /// once, so one source cannot hold every slot.
    pub max_connections_per_source: u32,
    /// Picket: `first_packet_timeout` in seconds from the connection to its
    /// first complete data packet (capped by `socket_timeout`), so a client
    /// that connects and says little gives its slot back soon.
    pub first_packet_timeout: u32,
    /// Picket: `spool_file`, where lines wait while the command file cannot
    /// take them; they are replayed when it can.
    pub spool_file: Option<PathBuf>,
    /// Picket: `strict_names` (default 1): refuse results whose host or
    /// service name holds `;` or control characters.
    pub strict_names: bool,
    /// Picket: `source_allow_file`, a hosts.allow-style table whose daemon
    /// field is the result's host name (see `picket_authz::SourceRules`).
    pub source_allow_file: Option<PathBuf>,
    /// Picket: `source_deny_file`, the matching hosts.deny-style table.
    pub source_deny_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            server_port: 5667,
            server_address: None,
            pid_file: None,
            nsca_user: None,
            nsca_group: None,
            nsca_chroot: None,
            debug: false,
            command_file: None,
            alternate_dump_file: PathBuf::from("/dev/null"),
            aggregate_writes: false,
            append_to_file: false,
            max_packet_age: 30,
            password: Vec::new(),
            decryption_method: Method::Xor,
            log_facility: "daemon".into(),
            strict_mode_spoofing: false,
            check_result_path: None,
            socket_timeout: 10,
            max_connections: 4096,
            max_connections_per_source: 256,
            first_packet_timeout: 5,
            spool_file: None,
            strict_names: true,
            source_allow_file: None,
            source_deny_file: None,
        }
    }
}

/// Syslog facilities `nsca.cfg` accepts (`nsca.c:567-615`; `lrp` is the C
/// program's spelling of `lpr`).
pub const LOG_FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lrp", "news", "uucp", "cron", "authpriv",
    "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

impl ServerConfig {
    /// Parses `nsca.cfg` text. `file` names it in errors. Returns the config
    /// and warnings (file:line: message) for values the C daemon only warns
    /// about.
    pub fn parse(file: &str, text: &str) -> Result<(ServerConfig, Vec<String>), ConfigError> {
        let mut c = ServerConfig::default();
        let mut warnings = Vec::new();
        for line in lines(file, text) {
            let Line {
                number,
                name,
                value,
            } = line?;
            let err = |kind| ConfigError {
                file: file.to_string(),
                line: number,
                kind,
            };
            let invalid = |option: &'static str, why: &str| {
                err(ConfigErrorKind::InvalidValue {
                    option,
                    value: value.to_string(),
                    why: why.to_string(),
                })
            };
            let flag = || atoi(value) != 0;
            use Match::{Contains, Exact};
            // The C program's order matters for the substring matches.
            if matches(name, "server_port", Exact) {
                c.server_port = u16::try_from(atoi(value))
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| invalid("server_port", "not a port number"))?;
            } else if matches(name, "server_address", Exact) {
                if value.len() > 63 {
                    return Err(invalid("server_address", "longer than 63 characters"));
                }
                c.server_address = Some(value.to_string());
            } else if matches(name, "allowed_hosts", Exact) {
                // NRPE's option; the C nsca rejects it as unknown.
                return Err(err(ConfigErrorKind::UnknownOption(name.to_string())));
            } else if matches(name, "command_file", Contains) {
                c.command_file = Some(PathBuf::from(value));
            } else if matches(name, "alternate_dump_file", Contains) {
                c.alternate_dump_file = PathBuf::from(value);
            } else if matches(name, "password", Contains) {
                if value.len() > 5119 {
                    return Err(invalid("password", "longer than 5119 bytes"));
                }
                c.password = value.as_bytes().to_vec();
            } else if matches(name, "decryption_method", Contains) {
                let m = Method::from_number(atoi(value)).map_err(|e| err(e.into()))?;
                c.decryption_method = m.check_supported().map_err(|e| err(e.into()))?;
            } else if matches(name, "append_to_file", Contains) {
                c.append_to_file = flag();
            } else if matches(name, "aggregate_writes", Contains) {
                c.aggregate_writes = flag();
            } else if matches(name, "max_packet_age", Exact) {
                let v = atoi(value);
                if !(0..=900).contains(&v) {
                    return Err(invalid(
                        "max_packet_age",
                        "must be between 0 and 900 seconds",
                    ));
                }
                c.max_packet_age = v as u32;
            } else if matches(name, "check_result_path", Contains) {
                c.check_result_path = Some(PathBuf::from(value));
            } else if matches(name, "strict_mode_spoofing", Contains) {
                c.strict_mode_spoofing = flag();
            } else if matches(name, "spool_file", Exact) {
                c.spool_file = Some(PathBuf::from(value));
            } else if matches(name, "source_allow_file", Exact) {
                c.source_allow_file = Some(PathBuf::from(value));
            } else if matches(name, "source_deny_file", Exact) {
                c.source_deny_file = Some(PathBuf::from(value));
            } else if matches(name, "strict_names", Exact) {
                c.strict_names = flag();
            } else if matches(name, "socket_timeout", Exact) {
                let v = atoi(value);
                if !(1..=3600).contains(&v) {
                    return Err(invalid("socket_timeout", "must be 1 to 3600 seconds"));
                }
                c.socket_timeout = v as u32;
            } else if matches(name, "max_connections", Exact) {
                let v = atoi(value);
                if !(1..=1_000_000).contains(&v) {
                    return Err(invalid("max_connections", "must be 1 to 1000000"));
                }
                c.max_connections = v as u32;
            } else if matches(name, "max_connections_per_source", Exact) {
                let v = atoi(value);
                if !(1..=1_000_000).contains(&v) {
                    return Err(invalid(
                        "max_connections_per_source",
                        "must be 1 to 1000000",
                    ));
                }
                c.max_connections_per_source = v as u32;
            } else if matches(name, "first_packet_timeout", Exact) {
                let v = atoi(value);
                if !(1..=3600).contains(&v) {
                    return Err(invalid("first_packet_timeout", "must be 1 to 3600 seconds"));
                }
                c.first_packet_timeout = v as u32;
            } else if matches(name, "debug", Contains) {
                c.debug = flag();
            } else if matches(name, "nsca_user", Exact) {
                c.nsca_user = Some(value.to_string());
            } else if matches(name, "nsca_group", Exact) {
                c.nsca_group = Some(value.to_string());
            } else if matches(name, "nsca_chroot", Exact) {
                c.nsca_chroot = Some(PathBuf::from(value));
            } else if matches(name, "pid_file", Exact) {
                c.pid_file = Some(PathBuf::from(value));
            } else if matches(name, "log_facility", Exact) {
                if LOG_FACILITIES.contains(&value) {
                    c.log_facility = value.to_string();
                } else {
                    warnings.push(format!(
                        "{file}:{number}: invalid log_facility '{value}', using '{}'",
                        c.log_facility
                    ));
                }
            } else {
                return Err(err(ConfigErrorKind::UnknownOption(name.to_string())));
            }
        }
        Ok((c, warnings))
    }
}

/// The client's configuration (`send_nsca.cfg`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `password`.
    pub password: Vec<u8>,
    /// `encryption_method`, default 1 (XOR).
    pub encryption_method: Method,
    /// `legacy_2_7_mode`: send 720-byte packets.
    pub legacy_2_7_mode: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            password: Vec::new(),
            encryption_method: Method::Xor,
            legacy_2_7_mode: false,
        }
    }
}

impl ClientConfig {
    /// Parses `send_nsca.cfg` text. Unlike the C client, an encryption
    /// method that cannot work is refused here, naming the method, rather
    /// than at the first connection.
    pub fn parse(file: &str, text: &str) -> Result<ClientConfig, ConfigError> {
        let mut c = ClientConfig::default();
        for line in lines(file, text) {
            let Line {
                number,
                name,
                value,
            } = line?;
            let err = |kind| ConfigError {
                file: file.to_string(),
                line: number,
                kind,
            };
            if name.contains("password") {
                if value.len() > 5119 {
                    return Err(err(ConfigErrorKind::InvalidValue {
                        option: "password",
                        value: String::new(),
                        why: "longer than 5119 bytes".into(),
                    }));
                }
                c.password = value.as_bytes().to_vec();
            } else if name.contains("encryption_method") {
                c.encryption_method =
                    Method::from_number(atoi(value)).map_err(|e| err(e.into()))?;
            } else if name.contains("legacy_2_7_mode") {
                c.legacy_2_7_mode = if value.contains("true") || value.contains("yes") {
                    true
                } else if value.contains("false") || value.contains("no") {
                    false
                } else {
                    return Err(err(ConfigErrorKind::InvalidValue {
                        option: "legacy_2_7_mode",
                        value: value.to_string(),
                        why: "expected yes/true or no/false".into(),
                    }));
                };
            } else {
                return Err(err(ConfigErrorKind::UnknownOption(name.to_string())));
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_default_server_config() {
        let text = "# comment\n\npid_file=/run/nagios/nsca.pid\nserver_port=5667\n\
                    nsca_user=nagios\nnsca_group=nogroup\ndebug=0\n\
                    command_file=/var/run/icinga2/cmd/icinga2.cmd\n\
                    alternate_dump_file=/run/nagios/nsca.dump\naggregate_writes=0\n\
                    append_to_file=0\nmax_packet_age=30\ndecryption_method=1\n\
                    log_facility=daemon\n";
        let (c, w) = ServerConfig::parse("nsca.cfg", text).unwrap();
        assert!(w.is_empty());
        assert_eq!(c.server_port, 5667);
        assert_eq!(
            c.command_file.as_deref(),
            Some(std::path::Path::new("/var/run/icinga2/cmd/icinga2.cmd"))
        );
        assert_eq!(c.decryption_method, Method::Xor);
        assert_eq!(c.max_packet_age, 30);
    }

    #[test]
    fn values_are_untrimmed_and_names_exact_or_substring() {
        let (c, _) = ServerConfig::parse("f", "password = x\n").unwrap();
        assert_eq!(c.password, b" x");
        let e = ServerConfig::parse("f", "\nserver_port = 5667\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(
            e.kind,
            ConfigErrorKind::UnknownOption("server_port ".into())
        );
        assert_eq!(e.to_string(), "f:2: unknown option 'server_port '");
        let (c, _) = ServerConfig::parse("f", "my_debug_flag=1\n").unwrap();
        assert!(c.debug);
    }

    #[test]
    fn errors_name_the_line() {
        let e = ServerConfig::parse("nsca.cfg", "debug=0\nallowed_hosts=127.0.0.1\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = ServerConfig::parse("nsca.cfg", "max_packet_age=901\n").unwrap_err();
        assert!(e.to_string().contains("max_packet_age"), "{e}");
        let e = ServerConfig::parse("nsca.cfg", "debug\n").unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::NoValue("debug".into()));
        let e = ServerConfig::parse("nsca.cfg", "decryption_method=26\n").unwrap_err();
        assert!(e.to_string().contains("26 (SAFER+)"), "{e}");
        let e = ServerConfig::parse("nsca.cfg", "decryption_method=13\n").unwrap_err();
        assert!(
            e.to_string().contains("invalid encryption method 13"),
            "{e}"
        );
    }

    #[test]
    fn client_config() {
        let c = ClientConfig::parse(
            "send_nsca.cfg",
            "password=secret\nencryption_method=14\nlegacy_2_7_mode=yes\n",
        )
        .unwrap();
        assert_eq!(c.password, b"secret");
        assert_eq!(c.encryption_method, Method::Rijndael128);
        assert!(c.legacy_2_7_mode);
        assert!(ClientConfig::parse("f", "legacy_2_7_mode=maybe\n").is_err());
        assert!(ClientConfig::parse("f", "server=x\n").is_err());
    }

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi(" 42abc"), 42);
        assert_eq!(atoi("-7"), -7);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("+3"), 3);
    }
}
