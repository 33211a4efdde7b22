//! The verdict: `hosts_access()` and `table_match()` (spec §1), options included.

use serde::Serialize;

use crate::diag::Level;
use crate::effects::Effects;
use crate::options::{Jump, OptionState, Severity, process_options};
use crate::pattern::{Cx, client_match, list_match, server_match};
use crate::request::{Request, Resolver};
use crate::table::{Entry, Table, TableKind, TableState};

/// The two tables, in search order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// `hosts.allow`.
    pub allow: Table,
    /// `hosts.deny`.
    pub deny: Table,
}

impl Tables {
    /// The table of the given kind.
    #[must_use]
    pub fn get(&self, kind: TableKind) -> &Table {
        match kind {
            TableKind::Allow => &self.allow,
            TableKind::Deny => &self.deny,
        }
    }
}

/// Grant or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Access {
    /// The service may run.
    Granted,
    /// The connection is refused.
    Denied,
}

/// Why the verdict is what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Cause {
    /// No rule matched in either table: granted.
    NoMatch,
    /// A rule matched (in hosts.allow: granted, in hosts.deny: denied).
    Rule,
    /// The `allow` option.
    AllowOption,
    /// The `deny` option.
    DenyOption,
    /// An option error (message already logged as `error: …`): denied.
    OptionError {
        /// The message.
        message: String,
    },
    /// hosts.deny was unreadable or broken (missing newline / line too long): denied.
    BrokenDenyTable,
}

/// The rule that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matched {
    /// Which table.
    pub table: TableKind,
    /// The path as shown in diagnostics.
    pub path: String,
    /// libwrap's line number.
    pub line: u32,
}

/// The result of [`hosts_access`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Granted or denied (what `hosts_access()` returns).
    pub access: Access,
    /// A `twist` command: the caller must replace the service with `/bin/sh -c CMD` on the
    /// client socket (tcpdmatch prints `access: delegated`). Already expanded and sanitised.
    pub twist: Option<String>,
    /// The last rule whose patterns matched, if any.
    pub matched: Option<Matched>,
    /// Why.
    pub cause: Cause,
    /// The `severity` option of the matched rule, if any.
    pub severity: Option<Severity>,
}

impl Verdict {
    /// Whether the connection may proceed (to the real daemon or to a twist command).
    #[must_use]
    pub fn is_granted(&self) -> bool {
        self.access == Access::Granted
    }
}

/// Evaluation settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// A long-running process (libwrap's `resident`): `twist` is an error (deny).
    pub resident: bool,
}

enum TableResult {
    Yes,
    No,
    Err,
}

/// `hosts_access()`: hosts.allow, then hosts.deny, first match wins, options may decide.
///
/// Diagnostics (warnings, errors, `matched:`/`option:` debug lines) are appended to
/// `req.diag` in the order libwrap would log them.
pub fn hosts_access(
    tables: &Tables,
    req: &mut Request,
    resolver: &mut dyn Resolver,
    effects: &mut dyn Effects,
    settings: Settings,
) -> Verdict {
    let mut cx = Cx {
        req,
        resolver,
        effects,
    };
    let mut st = OptionState::default();
    let mut matched = None;
    let saved = cx.req.diag.context().cloned();
    let outcome = (|| -> Result<(Access, Cause), Jump> {
        match table_match(
            &tables.allow,
            TableKind::Allow,
            &mut cx,
            settings,
            &mut st,
            &mut matched,
        )? {
            TableResult::Yes => return Ok((Access::Granted, Cause::Rule)),
            TableResult::No | TableResult::Err => {}
        }
        match table_match(
            &tables.deny,
            TableKind::Deny,
            &mut cx,
            settings,
            &mut st,
            &mut matched,
        )? {
            TableResult::No => Ok((Access::Granted, Cause::NoMatch)),
            TableResult::Yes => Ok((Access::Denied, Cause::Rule)),
            TableResult::Err => Ok((Access::Denied, Cause::BrokenDenyTable)),
        }
    })();
    cx.req.diag.set_context(saved);
    let (access, cause) = match outcome {
        Ok(x) => x,
        Err(Jump::Permit) => (Access::Granted, Cause::AllowOption),
        Err(Jump::Deny { error: None }) => (Access::Denied, Cause::DenyOption),
        Err(Jump::Deny {
            error: Some(message),
        }) => (Access::Denied, Cause::OptionError { message }),
    };
    // A twist only happens when the option run completed (twist must be the last option).
    let twist = match cause {
        Cause::Rule => st.twist.take(),
        _ => None,
    };
    Verdict {
        access,
        twist,
        matched,
        cause,
        severity: st.severity,
    }
}

fn table_match(
    table: &Table,
    kind: TableKind,
    cx: &mut Cx<'_>,
    settings: Settings,
    st: &mut OptionState,
    matched: &mut Option<Matched>,
) -> Result<TableResult, Jump> {
    let entries = match &table.state {
        TableState::Missing => return Ok(TableResult::No),
        TableState::Unreadable(e) => {
            cx.req.diag.warn(format!("cannot open {}: {e}", table.path));
            return Ok(TableResult::Err);
        }
        TableState::Parsed(e) => e,
    };
    for entry in entries {
        match entry {
            Entry::Broken { line } => {
                cx.req.diag.set_context(Some((table.path.clone(), *line)));
                cx.req.diag.warn("missing newline or line too long");
                cx.req.diag.warn("all the subsequent rules will be ignored");
                return Ok(TableResult::Err);
            }
            Entry::MissingColon { line } => {
                cx.req.diag.set_context(Some((table.path.clone(), *line)));
                cx.req.diag.warn("missing \":\" separator");
            }
            Entry::Rule(rule) => {
                cx.req
                    .diag
                    .set_context(Some((table.path.clone(), rule.line)));
                let hit = list_match(&rule.daemons, cx, server_match)
                    && list_match(&rule.clients, cx, client_match);
                if !hit {
                    continue;
                }
                cx.req.log(
                    Level::Debug,
                    format!("matched:  {} line {}", table.path, rule.line),
                );
                *matched = Some(Matched {
                    table: kind,
                    path: table.path.clone(),
                    line: rule.line,
                });
                if let Some(opts) = &rule.options {
                    process_options(opts, cx, settings.resident, st)?;
                    if let Some(status) = st.aclexec_failed.take() {
                        st.twist = None;
                        cx.req
                            .log(Level::Info, format!("aclexec returned {status}"));
                        return Ok(TableResult::No);
                    }
                }
                return Ok(TableResult::Yes);
            }
        }
    }
    Ok(TableResult::No)
}

/// How an option list run on its own ended (see [`run_options`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsOutcome {
    /// All options ran; `twist` is set if the list ended in `twist`.
    Completed {
        /// The expanded twist command.
        twist: Option<String>,
    },
    /// `allow`.
    Permit,
    /// `deny`, or an error (`Some(message)`, already logged).
    Deny {
        /// The error, if any.
        error: Option<String>,
    },
}

/// Runs one rule's option string for `req`, as `tcpdchk` does for every rule.
pub fn run_options(
    options: &str,
    req: &mut Request,
    resolver: &mut dyn Resolver,
    effects: &mut dyn Effects,
    settings: Settings,
) -> OptionsOutcome {
    let mut cx = Cx {
        req,
        resolver,
        effects,
    };
    let mut st = OptionState::default();
    match process_options(options, &mut cx, settings.resident, &mut st) {
        Ok(()) => OptionsOutcome::Completed { twist: st.twist },
        Err(Jump::Permit) => OptionsOutcome::Permit,
        Err(Jump::Deny { error }) => OptionsOutcome::Deny { error },
    }
}
