//! `nsca-ng.cfg` and `send_nsca.cfg` in the libConfuse syntax that
//! Debian's programs read (`nsca-ng.cfg(5)`, `send_nsca.cfg(5)`):
//!
//! * `name = value` or `name += value`; a value is a string (quoted with
//!   `"` or `'`, or bare), an integer or a decimal number; a list is
//!   `{ v1, v2, … }`;
//! * `#` starts a comment; a backslash at the end of a line continues it;
//! * in double quotes `\"`, `\\`, `\n`, `\t` are escapes; in single quotes
//!   only `\'` and `\\` are;
//! * `${FOO}` and `${FOO:-bar}` in a bare or double-quoted value are the
//!   environment variable (looked up through the [`Loader`]);
//! * `include(file)` reads another file (or every `.cfg`/`.conf` file of a
//!   directory) through the [`Loader`], at most 16 deep;
//! * `authorize "<identity>" { password = …; hosts = …; services = …;
//!   commands = … }`, where an authorization key outside any block is the
//!   fallback of blocks that do not set it.
//!
//! An unknown key, a value of the wrong type, a pattern that does not
//! compile, a duplicate identity, a block without a password and a file
//! without any block are errors naming file:line.

use std::collections::HashSet;

use crate::{DEFAULT_MAX_COMMAND_SIZE, DEFAULT_MAX_QUEUE_SIZE, DEFAULT_PORT, DEFAULT_TLS_CIPHERS};

/// A configuration error with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    /// The file (as named to the loader).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// What the parser needs from outside: included files and the environment.
pub trait Loader {
    /// The files `path` names: itself, or for a directory every `.cfg` and
    /// `.conf` file under it, as `(name, text)` in a stable order.
    fn include(&mut self, path: &str) -> Result<Vec<(String, String)>, String>;
    /// An environment variable.
    fn env(&self, name: &str) -> Option<String>;
}

/// A loader with no files and no environment (for tests and fuzzing).
#[derive(Debug, Default)]
pub struct NoLoader;

impl Loader for NoLoader {
    fn include(&mut self, path: &str) -> Result<Vec<(String, String)>, String> {
        Err(format!("cannot include {path}"))
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

pub use picket_authz::Pattern;

/// One `authorize` block (globals folded in).
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The identity (`*`: the fallback for every identity without a block).
    pub identity: String,
    /// The pre-shared key.
    pub password: Vec<u8>,
    /// `hosts`: host results.
    pub hosts: Vec<Pattern>,
    /// `services`: service results (`svc@host`).
    pub services: Vec<Pattern>,
    /// `commands`: any command.
    pub commands: Vec<Pattern>,
    /// Where the block starts.
    pub file: String,
    /// Its line.
    pub line: usize,
}

/// `nsca-ng.cfg`.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `chroot`.
    pub chroot: Option<String>,
    /// `command_file` (default `/var/nagios/rw/nagios.cmd`).
    pub command_file: String,
    /// `listen` (default `*`): address or name, optionally `:port`.
    pub listen: String,
    /// `log_level` 0–5 (default 3).
    pub log_level: u8,
    /// `max_command_size` bytes (0: no limit; default 16384).
    pub max_command_size: usize,
    /// `max_queue_size` MB (0: no limit; default 1024).
    pub max_queue_size: usize,
    /// `pid_file`.
    pub pid_file: Option<String>,
    /// `temp_directory` (default `/tmp`).
    pub temp_directory: String,
    /// `timeout` seconds (0: none; default 60).
    pub timeout: f64,
    /// `tls_ciphers` (an OpenSSL cipher list).
    pub tls_ciphers: String,
    /// `user`.
    pub user: Option<String>,
    /// The `authorize` blocks, in file order.
    pub authorizations: Vec<Authorization>,
    /// Things that parse but deserve a word (printed at start-up).
    pub warnings: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            chroot: None,
            command_file: "/var/nagios/rw/nagios.cmd".into(),
            listen: "*".into(),
            log_level: 3,
            max_command_size: DEFAULT_MAX_COMMAND_SIZE,
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            pid_file: None,
            temp_directory: "/tmp".into(),
            timeout: 60.0,
            tls_ciphers: DEFAULT_TLS_CIPHERS.into(),
            user: None,
            authorizations: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// `send_nsca.cfg` of `nsca-ng-client`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// `delay` seconds (random wait before connecting).
    pub delay: u64,
    /// `identity` (default: the host name, filled in by the caller).
    pub identity: Option<String>,
    /// `password` (default `change-me`).
    pub password: String,
    /// `port` (service name or number).
    pub port: String,
    /// `server` (default `localhost`).
    pub server: String,
    /// `timeout` seconds (default 15; 0: none).
    pub timeout: u64,
    /// `tls_ciphers`.
    pub tls_ciphers: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            delay: 0,
            identity: None,
            password: "change-me".into(),
            port: DEFAULT_PORT.to_string(),
            server: "localhost".into(),
            timeout: 15,
            tls_ciphers: DEFAULT_TLS_CIPHERS.into(),
        }
    }
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word (a key, or a bare value).
    Word(String),
    /// A quoted string.
    Quoted(String),
    Eq,
    PlusEq,
    Open,
    Close,
    Comma,
    LParen,
    RParen,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn lex(text: &str, file: &str, loader: &dyn Loader) -> Result<Vec<Token>, ConfigError> {
    let err = |line: usize, message: String| ConfigError {
        file: file.to_string(),
        line,
        message,
    };
    let c: Vec<char> = text.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < c.len() {
        let ch = c[i];
        match ch {
            '\n' => {
                line += 1;
                i += 1;
            }
            '\\' if c.get(i + 1) == Some(&'\n') => {
                line += 1;
                i += 2;
            }
            '\\' if c.get(i + 1) == Some(&'\r') && c.get(i + 2) == Some(&'\n') => {
                line += 1;
                i += 3;
            }
            c0 if c0.is_whitespace() => i += 1,
            '#' => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '=' => {
                toks.push(Token { tok: Tok::Eq, line });
                i += 1;
            }
            '+' if c.get(i + 1) == Some(&'=') => {
                toks.push(Token {
                    tok: Tok::PlusEq,
                    line,
                });
                i += 2;
            }
            '{' | '}' | ',' | '(' | ')' => {
                let tok = match ch {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    '(' => Tok::LParen,
                    _ => Tok::RParen,
                };
                toks.push(Token { tok, line });
                i += 1;
            }
            '"' | '\'' => {
                let start = line;
                let q = ch;
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&d) = c.get(i) else {
                        return Err(err(start, "unterminated quoted string".into()));
                    };
                    match d {
                        _ if d == q => {
                            i += 1;
                            break;
                        }
                        '\\' if c.get(i + 1) == Some(&'\n') => {
                            line += 1;
                            i += 2;
                        }
                        '\\' => {
                            let n = c.get(i + 1).copied();
                            match (q, n) {
                                ('"', Some('n')) => s.push('\n'),
                                ('"', Some('t')) => s.push('\t'),
                                ('"', Some('r')) => s.push('\r'),
                                ('"', Some('"' | '\\' | '\'')) => s.push(n.unwrap_or('\\')),
                                ('\'', Some('\'' | '\\')) => s.push(n.unwrap_or('\\')),
                                _ => {
                                    s.push('\\');
                                    i += 1;
                                    continue;
                                }
                            }
                            i += 2;
                        }
                        '\n' => {
                            line += 1;
                            s.push('\n');
                            i += 1;
                        }
                        _ => {
                            s.push(d);
                            i += 1;
                        }
                    }
                }
                let s = if q == '"' {
                    expand(&s, loader).map_err(|m| err(start, m))?
                } else {
                    s
                };
                toks.push(Token {
                    tok: Tok::Quoted(s),
                    line: start,
                });
            }
            _ => {
                let mut s = String::new();
                while let Some(&d) = c.get(i) {
                    if d.is_whitespace() || "#={},()\"'".contains(d) {
                        break;
                    }
                    if d == '$' && c.get(i + 1) == Some(&'{') {
                        // Keep `${…}` whole (it may hold `:-`, `=`…).
                        while let Some(&e) = c.get(i) {
                            s.push(e);
                            i += 1;
                            if e == '}' || e == '\n' {
                                break;
                            }
                        }
                        continue;
                    }
                    if d == '+' && c.get(i + 1) == Some(&'=') {
                        break;
                    }
                    s.push(d);
                    i += 1;
                }
                let s = expand(&s, loader).map_err(|m| err(line, m))?;
                toks.push(Token {
                    tok: Tok::Word(s),
                    line,
                });
            }
        }
    }
    Ok(toks)
}

/// `${FOO}` and `${FOO:-default}`.
fn expand(s: &str, loader: &dyn Loader) -> Result<String, String> {
    if !s.contains("${") {
        return Ok(s.to_string());
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(p) = rest.find("${") {
        out.push_str(&rest[..p]);
        let after = &rest[p + 2..];
        let end = after.find('}').ok_or("unterminated ${")?;
        let spec = &after[..end];
        let (name, default) = match spec.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (spec, None),
        };
        match (loader.env(name), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {}
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

// ---------------------------------------------------------------- parser

#[derive(Debug, Clone)]
struct Setting {
    key: String,
    append: bool,
    values: Vec<String>,
    list: bool,
    file: String,
    line: usize,
}

#[derive(Debug, Clone)]
struct Block {
    identity: String,
    settings: Vec<Setting>,
    file: String,
    line: usize,
}

#[derive(Debug, Default)]
struct Parsed {
    globals: Vec<Setting>,
    blocks: Vec<Block>,
}

const MAX_INCLUDE_DEPTH: usize = 16;

struct Parser<'a> {
    loader: &'a mut dyn Loader,
    sections: bool,
}

impl Parser<'_> {
    fn parse_file(
        &mut self,
        file: &str,
        text: &str,
        depth: usize,
        out: &mut Parsed,
    ) -> Result<(), ConfigError> {
        let toks = lex(text, file, &*self.loader)?;
        let err = |line: usize, message: String| ConfigError {
            file: file.to_string(),
            line,
            message,
        };
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            let Tok::Word(key) = &t.tok else {
                return Err(err(
                    t.line,
                    format!("expected a setting name, found {}", show(&t.tok)),
                ));
            };
            let line = t.line;
            if key == "include" && self.sections {
                // include(file)
                let (path, next) = match (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3)) {
                    (
                        Some(Token {
                            tok: Tok::LParen, ..
                        }),
                        Some(Token {
                            tok: Tok::Word(p) | Tok::Quoted(p),
                            ..
                        }),
                        Some(Token {
                            tok: Tok::RParen, ..
                        }),
                    ) => (p.clone(), i + 4),
                    _ => return Err(err(line, "include needs the form include(\"file\")".into())),
                };
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(err(
                        line,
                        format!("include({path}): includes nested too deep"),
                    ));
                }
                let files = self
                    .loader
                    .include(&path)
                    .map_err(|m| err(line, format!("include({path}): {m}")))?;
                for (name, text) in files {
                    self.parse_file(&name, &text, depth + 1, out)?;
                }
                i = next;
                continue;
            }
            if key == "authorize" && self.sections {
                let identity = match toks.get(i + 1) {
                    Some(Token {
                        tok: Tok::Word(s) | Tok::Quoted(s),
                        ..
                    }) => s.clone(),
                    _ => return Err(err(line, "authorize needs a client identity".into())),
                };
                if !matches!(toks.get(i + 2).map(|t| &t.tok), Some(Tok::Open)) {
                    return Err(err(
                        line,
                        format!("authorize \"{identity}\" needs a {{ block }}"),
                    ));
                }
                i += 3;
                let mut settings = Vec::new();
                loop {
                    match toks.get(i) {
                        None => {
                            return Err(err(line, format!("authorize \"{identity}\": missing }}")));
                        }
                        Some(Token {
                            tok: Tok::Close, ..
                        }) => {
                            i += 1;
                            break;
                        }
                        Some(Token {
                            tok: Tok::Word(k),
                            line: kl,
                        }) => {
                            let (s, next) = setting(&toks, i, k.clone(), *kl, file)?;
                            settings.push(s);
                            i = next;
                        }
                        Some(t) => {
                            return Err(err(
                                t.line,
                                format!("expected a setting name, found {}", show(&t.tok)),
                            ));
                        }
                    }
                }
                out.blocks.push(Block {
                    identity,
                    settings,
                    file: file.to_string(),
                    line,
                });
                continue;
            }
            let (s, next) = setting(&toks, i, key.clone(), line, file)?;
            out.globals.push(s);
            i = next;
        }
        Ok(())
    }
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Quoted(q) => format!("\"{q}\""),
        Tok::Eq => "`=`".into(),
        Tok::PlusEq => "`+=`".into(),
        Tok::Open => "`{`".into(),
        Tok::Close => "`}`".into(),
        Tok::Comma => "`,`".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
    }
}

/// `key = value` or `key = { v, … }` starting at `toks[i]` (the key).
fn setting(
    toks: &[Token],
    i: usize,
    key: String,
    line: usize,
    file: &str,
) -> Result<(Setting, usize), ConfigError> {
    let err = |line: usize, message: String| ConfigError {
        file: file.to_string(),
        line,
        message,
    };
    let append = match toks.get(i + 1).map(|t| &t.tok) {
        Some(Tok::Eq) => false,
        Some(Tok::PlusEq) => true,
        _ => return Err(err(line, format!("`{key}` needs `=` and a value"))),
    };
    let mut j = i + 2;
    let value = |t: Option<&Token>| match t.map(|t| &t.tok) {
        Some(Tok::Word(s) | Tok::Quoted(s)) => Some(s.clone()),
        _ => None,
    };
    if matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Open)) {
        j += 1;
        let mut values = Vec::new();
        if matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Close)) {
            j += 1;
        } else {
            loop {
                let v = value(toks.get(j))
                    .ok_or_else(|| err(line, format!("`{key}`: expected a value in the list")))?;
                values.push(v);
                j += 1;
                match toks.get(j).map(|t| &t.tok) {
                    Some(Tok::Comma) => j += 1,
                    Some(Tok::Close) => {
                        j += 1;
                        break;
                    }
                    _ => {
                        return Err(err(
                            line,
                            format!("`{key}`: expected `,` or `}}` in the list"),
                        ));
                    }
                }
            }
        }
        return Ok((
            Setting {
                key,
                append,
                values,
                list: true,
                file: file.to_string(),
                line,
            },
            j,
        ));
    }
    let v = value(toks.get(j)).ok_or_else(|| err(line, format!("`{key}` needs a value")))?;
    Ok((
        Setting {
            key,
            append,
            values: vec![v],
            list: false,
            file: file.to_string(),
            line,
        },
        j + 1,
    ))
}

impl Setting {
    fn err(&self, message: String) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.line,
            message,
        }
    }
    fn scalar(&self) -> Result<&str, ConfigError> {
        match (&self.values[..], self.list, self.append) {
            ([v], false, false) => Ok(v),
            _ => Err(self.err(format!("`{}` takes one value, not a list", self.key))),
        }
    }
    fn uint(&self) -> Result<u64, ConfigError> {
        let v = self.scalar()?;
        v.parse::<u64>().map_err(|_| {
            self.err(format!(
                "`{}` must be a non-negative integer, not {v:?}",
                self.key
            ))
        })
    }
    fn float(&self) -> Result<f64, ConfigError> {
        let v = self.scalar()?;
        match v.parse::<f64>() {
            Ok(f) if f.is_finite() && f >= 0.0 => Ok(f),
            _ => Err(self.err(format!(
                "`{}` must be a non-negative number, not {v:?}",
                self.key
            ))),
        }
    }
}

use picket_authz::compile;

/// Parses `nsca-ng.cfg` (`text` is the file named `file`).
pub fn parse_server(
    file: &str,
    text: &str,
    loader: &mut dyn Loader,
) -> Result<ServerConfig, ConfigError> {
    let mut parsed = Parsed::default();
    Parser {
        loader,
        sections: true,
    }
    .parse_file(file, text, 0, &mut parsed)?;
    let mut cfg = ServerConfig::default();
    let mut global_auth: Vec<Setting> = Vec::new();
    for s in &parsed.globals {
        match s.key.as_str() {
            "chroot" => cfg.chroot = Some(s.scalar()?.to_string()),
            "command_file" => cfg.command_file = s.scalar()?.to_string(),
            "listen" => cfg.listen = s.scalar()?.to_string(),
            "log_level" => {
                let v = s.uint()?;
                if v > 5 {
                    return Err(s.err(format!("`log_level` must be 0 to 5, not {v}")));
                }
                cfg.log_level = v as u8;
            }
            "max_command_size" => cfg.max_command_size = s.uint()?.try_into().unwrap_or(usize::MAX),
            "max_queue_size" => cfg.max_queue_size = s.uint()?.try_into().unwrap_or(usize::MAX),
            "pid_file" => cfg.pid_file = Some(s.scalar()?.to_string()),
            "temp_directory" => cfg.temp_directory = s.scalar()?.to_string(),
            "timeout" => cfg.timeout = s.float()?,
            "tls_ciphers" => cfg.tls_ciphers = s.scalar()?.to_string(),
            "user" => cfg.user = Some(s.scalar()?.to_string()),
            "password" | "hosts" | "services" | "commands" => global_auth.push(s.clone()),
            other => return Err(s.err(format!("unknown setting `{other}`"))),
        }
    }
    if parsed.blocks.is_empty() {
        return Err(ConfigError {
            file: file.to_string(),
            line: 1,
            message: "No authorizations configured (no `authorize` block)".into(),
        });
    }
    let mut seen = HashSet::new();
    for b in &parsed.blocks {
        if !seen.insert(b.identity.clone()) {
            return Err(ConfigError {
                file: b.file.clone(),
                line: b.line,
                message: format!("authorize \"{}\" is defined twice", b.identity),
            });
        }
        let mut a = Authorization {
            identity: b.identity.clone(),
            password: Vec::new(),
            hosts: Vec::new(),
            services: Vec::new(),
            commands: Vec::new(),
            file: b.file.clone(),
            line: b.line,
        };
        let mut password = None;
        let mut set: HashSet<&str> = HashSet::new();
        for s in &b.settings {
            if !matches!(
                s.key.as_str(),
                "password" | "hosts" | "services" | "commands"
            ) {
                return Err(s.err(format!(
                    "unknown setting `{}` in authorize \"{}\"",
                    s.key, b.identity
                )));
            }
            set.insert(s.key.as_str());
        }
        // Globals first, then the block's own (a block's setting replaces
        // the global one unless it appends).
        let apply = |s: &Setting,
                     a: &mut Authorization,
                     password: &mut Option<String>|
         -> Result<(), ConfigError> {
            if s.key == "password" {
                *password = Some(s.scalar()?.to_string());
                return Ok(());
            }
            let list = match s.key.as_str() {
                "hosts" => &mut a.hosts,
                "services" => &mut a.services,
                _ => &mut a.commands,
            };
            if !s.append {
                list.clear();
            }
            for v in &s.values {
                list.push(
                    compile(&s.key, v)
                        .map_err(|m| s.err(format!("Error in `{}' pattern `{v}': {m}", s.key)))?,
                );
            }
            Ok(())
        };
        for s in &global_auth {
            if !set.contains(s.key.as_str()) {
                apply(s, &mut a, &mut password)?;
            }
        }
        for s in &b.settings {
            apply(s, &mut a, &mut password)?;
        }
        match password {
            Some(p) => a.password = p.into_bytes(),
            None => {
                return Err(ConfigError {
                    file: b.file.clone(),
                    line: b.line,
                    message: format!("No password specified for {}", b.identity),
                });
            }
        }
        for p in a.hosts.iter().chain(&a.services).chain(&a.commands) {
            if top_level_alternation(&p.source) {
                cfg.warnings.push(format!(
                    "{}:{}: authorize \"{}\": pattern `{}` has a top-level `|`; Picket anchors \
                     each alternative, Debian's nsca-ng anchors only the first and the last",
                    a.file, a.line, a.identity, p.source
                ));
            }
        }
        cfg.authorizations.push(a);
    }
    Ok(cfg)
}

/// Parses an API identities file (Picket's `api_identities_file=`): the
/// `nsca-ng.cfg` syntax, one `authorize "<identity>" { … }` block per API
/// identity with `token` (bearer token, UI login) and/or `password` (HTTP
/// basic authentication as this user: the Icinga 2 API) and the same
/// `hosts`, `services` and `commands` lists as `nsca-ng.cfg`. Nothing
/// outside blocks; no `"*"` block (a token names its identity); tokens
/// unique; unknown keys are errors with file:line.
pub fn parse_identities(
    file: &str,
    text: &str,
    loader: &mut dyn Loader,
) -> Result<Vec<picket_authz::Identity>, ConfigError> {
    let mut parsed = Parsed::default();
    Parser {
        loader,
        sections: true,
    }
    .parse_file(file, text, 0, &mut parsed)?;
    if let Some(s) = parsed.globals.first() {
        return Err(s.err(format!(
            "`{}` outside an `authorize` block (every setting belongs to one identity)",
            s.key
        )));
    }
    let mut out: Vec<picket_authz::Identity> = Vec::new();
    let mut seen = HashSet::new();
    let mut tokens = HashSet::new();
    for b in &parsed.blocks {
        let err = |message: String| ConfigError {
            file: b.file.clone(),
            line: b.line,
            message,
        };
        if b.identity == "*" || b.identity.is_empty() {
            return Err(err(format!(
                "authorize \"{}\": an API identity needs a name of its own",
                b.identity
            )));
        }
        if b.identity.chars().any(|c| c.is_control()) {
            return Err(err("an identity must not hold control characters".into()));
        }
        if !seen.insert(b.identity.clone()) {
            return Err(err(format!(
                "authorize \"{}\" is defined twice",
                b.identity
            )));
        }
        let mut id = picket_authz::Identity {
            name: b.identity.clone(),
            token: None,
            password: None,
            scope: picket_authz::Scope::default(),
            origin: format!("{}:{}", b.file, b.line),
        };
        for s in &b.settings {
            match s.key.as_str() {
                "token" | "password" => {
                    let v = s.scalar()?.to_string();
                    if v.is_empty() {
                        return Err(s.err(format!("`{}` is empty", s.key)));
                    }
                    if s.key == "token" {
                        if !tokens.insert(v.clone()) {
                            return Err(s.err(format!(
                                "authorize \"{}\": this token is already another identity's",
                                b.identity
                            )));
                        }
                        id.token = Some(v);
                    } else {
                        id.password = Some(v);
                    }
                }
                "hosts" | "services" | "commands" => {
                    let list = match s.key.as_str() {
                        "hosts" => &mut id.scope.hosts,
                        "services" => &mut id.scope.services,
                        _ => &mut id.scope.commands,
                    };
                    if !s.append {
                        list.clear();
                    }
                    for v in &s.values {
                        list.push(compile(&s.key, v).map_err(|m| {
                            s.err(format!("Error in `{}' pattern `{v}': {m}", s.key))
                        })?);
                    }
                }
                other => {
                    return Err(s.err(format!(
                        "unknown setting `{other}` in authorize \"{}\" (token, password, hosts, services, commands)",
                        b.identity
                    )));
                }
            }
        }
        if id.token.is_none() && id.password.is_none() {
            return Err(err(format!(
                "authorize \"{}\": neither `token` nor `password`",
                b.identity
            )));
        }
        out.push(id);
    }
    Ok(out)
}

fn top_level_alternation(p: &str) -> bool {
    let mut depth = 0i32;
    let mut bracket = false;
    let mut esc = false;
    for c in p.chars() {
        match (esc, bracket, c) {
            (true, _, _) => esc = false,
            (false, false, '\\') => esc = true,
            (false, false, '[') => bracket = true,
            (false, true, ']') => bracket = false,
            (false, false, '(') => depth += 1,
            (false, false, ')') => depth -= 1,
            (false, false, '|') if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// Parses `send_nsca.cfg` of `nsca-ng-client`.
pub fn parse_client(
    file: &str,
    text: &str,
    loader: &dyn Loader,
) -> Result<ClientConfig, ConfigError> {
    struct Env<'a>(&'a dyn Loader);
    impl Loader for Env<'_> {
        fn include(&mut self, path: &str) -> Result<Vec<(String, String)>, String> {
            Err(format!("include({path}) is not allowed here"))
        }
        fn env(&self, name: &str) -> Option<String> {
            self.0.env(name)
        }
    }
    let mut env = Env(loader);
    let mut parsed = Parsed::default();
    Parser {
        loader: &mut env,
        sections: false,
    }
    .parse_file(file, text, 0, &mut parsed)?;
    let mut cfg = ClientConfig::default();
    for s in &parsed.globals {
        match s.key.as_str() {
            "delay" => cfg.delay = s.uint()?,
            "encryption_method" => {
                s.scalar()?;
            }
            "identity" => cfg.identity = Some(s.scalar()?.to_string()),
            "password" => cfg.password = s.scalar()?.to_string(),
            "port" => cfg.port = s.scalar()?.to_string(),
            "server" => cfg.server = s.scalar()?.to_string(),
            "timeout" => cfg.timeout = s.uint()?,
            "tls_ciphers" => cfg.tls_ciphers = s.scalar()?.to_string(),
            other => return Err(s.err(format!("unknown setting `{other}`"))),
        }
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(text: &str) -> Result<ServerConfig, ConfigError> {
        parse_server("t.cfg", text, &mut NoLoader)
    }

    #[test]
    fn debians_shipped_file_parses() {
        struct L;
        impl Loader for L {
            fn include(&mut self, path: &str) -> Result<Vec<(String, String)>, String> {
                Ok(vec![(path.to_string(), "# local\n".into())])
            }
            fn env(&self, _: &str) -> Option<String> {
                None
            }
        }
        let text = "command_file= \"/var/run/icinga2/cmd/icinga2.cmd\"\n\
            listen = \"localhost:5668\" # only localhost\n\
            user = \"nagios\" # run as\n\
            pid_file = \"/var/run/nsca-ng/nsca-ng.pid\"\n\
            include(/etc/nsca-ng/nsca-ng.local.cfg)\n\
            authorize \"*\" {\n\tpassword = \"change-me\"\n\t# \thosts = \".*\"\n}\n";
        let c = parse_server("nsca-ng.cfg", text, &mut L).expect("parses");
        assert_eq!(c.command_file, "/var/run/icinga2/cmd/icinga2.cmd");
        assert_eq!(c.listen, "localhost:5668");
        assert_eq!(c.user.as_deref(), Some("nagios"));
        assert_eq!(c.authorizations.len(), 1);
        assert_eq!(c.authorizations[0].identity, "*");
        assert_eq!(c.authorizations[0].password, b"change-me");
        assert!(c.authorizations[0].hosts.is_empty());
    }

    #[test]
    fn the_manual_example_parses() {
        let text = r#"
user = "nagios"
chroot = "/var/nagios" # Other paths are relative to this one!
command_file = "/rw/nagios.cmd"
temp_directory = "/dev/shm"
listen = "monitoring.example.com:5668"
tls_ciphers = "PSK-AES256-CBC-SHA"
log_level = 3
max_command_size = 65536
max_queue_size = 128
timeout = 15.0
authorize "root" {
    password = "g3m25sMCUAO4NecZGld1H4xcJ9uDWvhH"
    commands = ".*"
}
authorize "web-checker" {
    password = "m2ua"
    services = ".+@www.*"
}
authorize "*" {
    password = "awHW"
    services = {
        "disk",
        "swap",
        "load"
    }
}
"#;
        let c = server(text).expect("parses");
        assert_eq!(c.max_command_size, 65536);
        assert_eq!(c.max_queue_size, 128);
        assert!((c.timeout - 15.0).abs() < 1e-9);
        assert_eq!(c.chroot.as_deref(), Some("/var/nagios"));
        assert_eq!(c.authorizations[2].services.len(), 3);
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = server("listen = x\nbogus = 1\n").unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (2, "unknown setting `bogus`"));
        assert_eq!(e.to_string(), "t.cfg:2: unknown setting `bogus`");
        let e = server("authorize a {\n password = p\n host = x\n}\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown setting `host`"));
        let e = server("authorize a {\n hosts = x\n}\n").unwrap_err();
        assert_eq!(e.message, "No password specified for a");
        let e = server("timeout = 1\n").unwrap_err();
        assert!(e.message.contains("No authorizations"));
        let e = server("authorize a { password = p }\nauthorize a { password = q }\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = server("authorize a {\npassword = p\nhosts = \"(ab\"\n}").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message.starts_with("Error in `hosts' pattern `(ab'"),
            "{e}"
        );
        let e = server("max_command_size = -1\nauthorize a { password = p }").unwrap_err();
        assert_eq!(e.line, 1);
        let e = server("log_level = 9\nauthorize a { password = p }").unwrap_err();
        assert!(e.message.contains("0 to 5"));
        let e = server("listen = \"x\nauthorize").unwrap_err();
        assert!(e.message.contains("unterminated"));
    }

    #[test]
    fn globals_are_fallbacks_and_lists_append() {
        let c = server(
            "password = g\nhosts = h.*\nauthorize a { services = s }\n\
             authorize b { password = p\n hosts += x }\nauthorize c { password = q\n hosts = y }",
        )
        .expect("parses");
        let a = &c.authorizations;
        assert_eq!(a[0].password, b"g");
        assert_eq!(a[0].hosts.len(), 1);
        assert_eq!(a[1].password, b"p");
        assert_eq!(
            a[1].hosts.len(),
            1,
            "the block sets hosts: it replaces the global"
        );
        assert_eq!(a[2].hosts[0].source, "y");
    }

    #[test]
    fn quoting_escapes_continuations_and_environment() {
        struct E;
        impl Loader for E {
            fn include(&mut self, _: &str) -> Result<Vec<(String, String)>, String> {
                Err("no".into())
            }
            fn env(&self, n: &str) -> Option<String> {
                (n == "PW").then(|| "secret".to_string())
            }
        }
        let c = parse_server(
            "t",
            "command_file = '/a b\\'c'\nlisten = \\\n  \"x\\\\y\"\nauthorize 'id' { password = ${PW}\n commands = \"${NOPE:-A}.*\" }",
            &mut E,
        )
        .expect("parses");
        assert_eq!(c.command_file, "/a b'c");
        assert_eq!(c.listen, "x\\y");
        assert_eq!(c.authorizations[0].password, b"secret");
        assert_eq!(c.authorizations[0].commands[0].source, "A.*");
    }

    #[test]
    fn includes_are_bounded() {
        struct Loop;
        impl Loader for Loop {
            fn include(&mut self, p: &str) -> Result<Vec<(String, String)>, String> {
                Ok(vec![(p.to_string(), format!("include({p})"))])
            }
            fn env(&self, _: &str) -> Option<String> {
                None
            }
        }
        let e = parse_server("t", "include(self)", &mut Loop).unwrap_err();
        assert!(e.message.contains("too deep"), "{e}");
    }

    #[test]
    fn client_file() {
        let c = parse_client(
            "send_nsca.cfg",
            "identity = \"web-checker\"\npassword = \"djMK\"\nserver = \"mon\"\n\
             tls_ciphers = \"PSK-AES256-CBC-SHA\"\ndelay = 2\nport = 5668\ntimeout = 10\n\
             encryption_method = 1\n",
            &NoLoader,
        )
        .expect("parses");
        assert_eq!(c.identity.as_deref(), Some("web-checker"));
        assert_eq!((c.delay, c.timeout, c.port.as_str()), (2, 10, "5668"));
        let e = parse_client("f", "\nfoo = 1\n", &NoLoader).unwrap_err();
        assert_eq!(e.to_string(), "f:2: unknown setting `foo`");
    }
    #[test]
    fn identities_file() {
        let ids = parse_identities(
            "ids.cfg",
            "authorize \"web-checker\" {\n token = \"t1\"\n password = pw\n hosts = \"web.*\"\n services = \".+@web.*\"\n}\n\
             authorize ops { token = t2\n commands = \".*\" }\n",
            &mut NoLoader,
        )
        .expect("parses");
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].name, "web-checker");
        assert_eq!(ids[0].token.as_deref(), Some("t1"));
        assert_eq!(ids[0].password.as_deref(), Some("pw"));
        assert!(
            ids[0]
                .scope
                .decide(b"[1] PROCESS_HOST_CHECK_RESULT;web1;0;x\n")
                .is_ok()
        );
        assert!(
            ids[0]
                .scope
                .decide(b"[1] PROCESS_HOST_CHECK_RESULT;db01;0;x\n")
                .is_err()
        );
        assert_eq!(ids[1].origin, "ids.cfg:7");
        let e = |t: &str| {
            parse_identities("f", t, &mut NoLoader)
                .expect_err("refused")
                .to_string()
        };
        assert!(e("token = x\n").contains("f:1"), "{}", e("token = x\n"));
        assert!(e("authorize a { hosts = x }").contains("neither"));
        assert!(e("authorize a { token = x\n user = y }").contains("unknown setting `user`"));
        assert!(e("authorize a { token = x }\nauthorize b { token = x }").contains("f:2"));
        assert!(e("authorize \"*\" { token = x }").contains("name of its own"));
    }
}
