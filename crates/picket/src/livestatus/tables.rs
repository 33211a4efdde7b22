//! Livestatus tables over an engine [`Snapshot`] (and the SQLite history for `log`).
//!
//! The snapshot is taken on the engine thread between batches (clones of the run-time
//! status; the configuration is shared), and every query is then evaluated on it
//! outside the engine thread: a large `GET services` never holds the engine.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use picket_config::{Checkable, Config};
use picket_engine::{
    AckType, CheckType, Comment, CommentKind, Downtime, Engine, ProgramStatus, StateType, Status,
    Time,
};
use picket_livestatus::{ColumnDef, ColumnType, Filter, Op, Row, ScanHint, Table, Value};

/// `livestatus_version` (without naemon's `-naemon` suffix: Thruk and LMD would then use
/// naemon-only extensions).
pub(crate) const LIVESTATUS_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-picket");

/// Everything a query reads, at one instant.
pub(crate) struct Snapshot {
    pub(crate) cfg: Arc<Config>,
    pub(crate) taken: Time,
    pub(crate) tz: jiff::tz::TimeZone,
    pub(crate) hosts: Vec<Status>,
    pub(crate) services: Vec<Status>,
    pub(crate) program: ProgramStatus,
    pub(crate) comments: Vec<Comment>,
    pub(crate) downtimes: Vec<Downtime>,
    pub(crate) program_start: Time,
    pub(crate) pid: u32,
    /// Livestatus counters (`connections`, `requests`) at the time of the snapshot.
    pub(crate) counters: (u64, u64),
    /// Indexes built off the engine thread ([`Snapshot::index`]).
    host_comments: HashMap<usize, Vec<usize>>,
    svc_comments: HashMap<usize, Vec<usize>>,
    host_downtimes: HashMap<usize, Vec<usize>>,
    svc_downtimes: HashMap<usize, Vec<usize>>,
    /// Whether `taken` is inside each timeperiod (computed once per snapshot).
    periods: Vec<bool>,
}

impl Snapshot {
    /// Copy the engine's state (run on the engine thread: clones only).
    /// The time zone, program start and counters are filled in by the caller.
    pub(crate) fn take(engine: &Engine, now: Time) -> Snapshot {
        let cfg = Arc::clone(engine.config());
        Snapshot {
            hosts: cfg
                .hosts
                .iter()
                .map(|h| engine.host_status(h.id).clone())
                .collect(),
            services: cfg
                .services
                .iter()
                .map(|s| engine.service_status(s.id).clone())
                .collect(),
            cfg,
            taken: now,
            tz: jiff::tz::TimeZone::UTC,
            program: engine.program_status().clone(),
            comments: engine.comments().cloned().collect(),
            downtimes: engine.downtimes().cloned().collect(),
            program_start: 0,
            pid: std::process::id(),
            counters: (0, 0),
            host_comments: HashMap::new(),
            svc_comments: HashMap::new(),
            host_downtimes: HashMap::new(),
            svc_downtimes: HashMap::new(),
            periods: Vec::new(),
        }
    }

    /// Build the per-object indexes (off the engine thread).
    pub(crate) fn index(mut self) -> Snapshot {
        let cfg = Arc::clone(&self.cfg);
        let locate = |t: &picket_engine::Target| -> Option<(usize, Option<usize>)> {
            let h = cfg.host_by_name(&t.host)?;
            match &t.service {
                None => Some((h.0 as usize, None)),
                Some(s) => Some((h.0 as usize, Some(cfg.find_service(h, s)?.0 as usize))),
            }
        };
        let at = jiff::Timestamp::from_second(self.taken).ok();
        self.periods = cfg
            .timeperiods
            .iter()
            .map(|tp| at.is_none_or(|t| cfg.in_period(tp.id, t, &self.tz)))
            .collect();
        for (i, c) in self.comments.iter().enumerate() {
            match locate(&c.target) {
                Some((_, Some(s))) => self.svc_comments.entry(s).or_default().push(i),
                Some((h, None)) => self.host_comments.entry(h).or_default().push(i),
                None => {}
            }
        }
        for (i, d) in self.downtimes.iter().enumerate() {
            match locate(&d.target) {
                Some((_, Some(s))) => self.svc_downtimes.entry(s).or_default().push(i),
                Some((h, None)) => self.host_downtimes.entry(h).or_default().push(i),
                None => {}
            }
        }
        self
    }

    fn in_period(&self, p: Option<picket_config::TimeperiodId>) -> Value {
        match p {
            None => Value::Int(1),
            Some(id) => Value::bool(self.periods.get(id.0 as usize).copied().unwrap_or(true)),
        }
    }
}

/// The position of a row in the snapshot; which fields are set depends on the table.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    s: &'a Snapshot,
    host: usize,
    svc: usize,
    hg: usize,
    sg: usize,
    idx: usize,
}

type Get = fn(&Ctx<'_>) -> Value;

fn opt(s: &Option<Box<str>>) -> Value {
    Value::str(s.as_deref().unwrap_or(""))
}

fn call(cfg: &Config, c: &Option<picket_config::CommandCall>) -> Value {
    match c {
        None => Value::str(""),
        Some(c) => {
            let mut s = cfg.command(c.command).name.to_string();
            for a in &c.args {
                s.push('!');
                s.push_str(a);
            }
            Value::Str(s)
        }
    }
}

fn period(cfg: &Config, p: Option<picket_config::TimeperiodId>) -> Value {
    Value::str(p.map_or("", |p| &*cfg.timeperiod(p).name))
}

fn contacts_of(cfg: &Config, ck: &Checkable) -> Value {
    Value::strings(
        ck.notification_contacts
            .iter()
            .map(|c| cfg.contact(*c).name.to_string()),
    )
}

fn is_contact(cfg: &Config, ck: &Checkable, user: &str) -> bool {
    ck.notification_contacts
        .iter()
        .any(|c| &*cfg.contact(*c).name == user)
}

fn host_sel<'a>(c: &Ctx<'a>) -> (&'a Status, &'a Checkable) {
    (&c.s.hosts[c.host], &c.s.cfg.hosts[c.host].common)
}

fn svc_sel<'a>(c: &Ctx<'a>) -> (&'a Status, &'a Checkable) {
    (&c.s.services[c.svc], &c.s.cfg.services[c.svc].common)
}

fn ids_of(list: Option<&Vec<usize>>, f: impl Fn(usize) -> Value) -> Value {
    Value::List(list.map_or(Vec::new(), |v| v.iter().map(|i| f(*i)).collect()))
}

/// Service-state severity for "worst" (OK < WARNING < UNKNOWN < CRITICAL), as Nagios
/// orders them.
fn severity(state: u8) -> u8 {
    match state {
        0 => 0,
        1 => 1,
        3 => 2,
        _ => 3,
    }
}

fn worst(states: impl Iterator<Item = u8>) -> Value {
    Value::Int(i64::from(states.max_by_key(|s| severity(*s)).unwrap_or(0)))
}

/// Counters over a set of services: ok, warn, crit, unknown, pending, and the hard ones.
fn svc_counts(s: &Snapshot, ids: impl Iterator<Item = usize>, which: &str) -> Value {
    let mut n = 0i64;
    for i in ids {
        let st = &s.services[i];
        let hit = match which {
            "all" => true,
            "pending" => !st.has_been_checked,
            "ok" => st.has_been_checked && st.current_state == 0,
            "warn" => st.has_been_checked && st.current_state == 1,
            "crit" => st.has_been_checked && st.current_state == 2,
            "unknown" => st.has_been_checked && st.current_state == 3,
            "hard_ok" => st.has_been_checked && hard_state(st) == 0,
            "hard_warn" => st.has_been_checked && hard_state(st) == 1,
            "hard_crit" => st.has_been_checked && hard_state(st) == 2,
            "hard_unknown" => st.has_been_checked && hard_state(st) == 3,
            _ => false,
        };
        n += i64::from(hit);
    }
    Value::Int(n)
}

fn hard_state(st: &Status) -> u8 {
    if st.state_type == StateType::Hard {
        st.current_state
    } else {
        st.last_hard_state
    }
}

macro_rules! checkable_columns {
    ($sel:ident, $comments:ident, $downtimes:ident, $key:ident) => {{
        let v: Cols = vec![
            ("accept_passive_checks", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.passive_checks_enabled)
            }),
            ("acknowledged", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.problem_has_been_acknowledged)
            }),
            ("acknowledgement_type", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(match $sel(c).0.acknowledgement_type {
                    AckType::None => 0,
                    AckType::Normal => 1,
                    AckType::Sticky => 2,
                })
            }),
            ("action_url", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.action_url)
            }),
            ("action_url_expanded", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.action_url)
            }),
            ("active_checks_enabled", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.active_checks_enabled)
            }),
            ("check_command", ColumnType::String, |c: &Ctx<'_>| {
                call(&c.s.cfg, &$sel(c).1.check_command)
            }),
            (
                "check_command_expanded",
                ColumnType::String,
                |c: &Ctx<'_>| call(&c.s.cfg, &$sel(c).1.check_command),
            ),
            ("check_freshness", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).1.check_freshness)
            }),
            ("check_interval", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).1.check_interval)
            }),
            ("check_options", ColumnType::Int, |_c: &Ctx<'_>| {
                Value::Int(0)
            }),
            ("check_period", ColumnType::String, |c: &Ctx<'_>| {
                period(&c.s.cfg, $sel(c).1.check_period)
            }),
            ("check_type", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(match $sel(c).0.check_type {
                    CheckType::Active => 0,
                    CheckType::Passive => 1,
                })
            }),
            ("checks_enabled", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.active_checks_enabled)
            }),
            ("comments", ColumnType::List, |c: &Ctx<'_>| {
                ids_of(c.s.$comments.get(&c.$key), |i| {
                    Value::Int(c.s.comments[i].id as i64)
                })
            }),
            ("comments_with_info", ColumnType::List, |c: &Ctx<'_>| {
                ids_of(c.s.$comments.get(&c.$key), |i| {
                    let m = &c.s.comments[i];
                    Value::List(vec![
                        Value::Int(m.id as i64),
                        Value::str(m.author.clone()),
                        Value::str(m.text.clone()),
                    ])
                })
            }),
            ("contact_groups", ColumnType::List, |c: &Ctx<'_>| {
                Value::strings(
                    $sel(c)
                        .1
                        .contact_groups
                        .iter()
                        .map(|g| c.s.cfg.contactgroups[g.0 as usize].name.to_string()),
                )
            }),
            ("contacts", ColumnType::List, |c: &Ctx<'_>| {
                contacts_of(&c.s.cfg, $sel(c).1)
            }),
            ("current_attempt", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(i64::from($sel(c).0.current_attempt))
            }),
            (
                "current_notification_number",
                ColumnType::Int,
                |c: &Ctx<'_>| Value::Int(i64::from($sel(c).0.current_notification_number)),
            ),
            ("custom_variable_names", ColumnType::List, |c: &Ctx<'_>| {
                Value::strings($sel(c).1.custom_vars.iter().map(|(k, _)| k.to_string()))
            }),
            ("custom_variable_values", ColumnType::List, |c: &Ctx<'_>| {
                Value::strings($sel(c).1.custom_vars.iter().map(|(_, v)| v.to_string()))
            }),
            ("display_name", ColumnType::String, |c: &Ctx<'_>| {
                Value::str(&*$sel(c).1.display_name)
            }),
            ("downtimes", ColumnType::List, |c: &Ctx<'_>| {
                ids_of(c.s.$downtimes.get(&c.$key), |i| {
                    Value::Int(c.s.downtimes[i].id as i64)
                })
            }),
            ("downtimes_with_info", ColumnType::List, |c: &Ctx<'_>| {
                ids_of(c.s.$downtimes.get(&c.$key), |i| {
                    let d = &c.s.downtimes[i];
                    Value::List(vec![
                        Value::Int(d.id as i64),
                        Value::str(d.author.clone()),
                        Value::str(d.comment.clone()),
                    ])
                })
            }),
            ("event_handler", ColumnType::String, |c: &Ctx<'_>| {
                call(&c.s.cfg, &$sel(c).1.event_handler)
            }),
            ("event_handler_enabled", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.event_handler_enabled)
            }),
            ("execution_time", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).0.execution_time)
            }),
            (
                "first_notification_delay",
                ColumnType::Float,
                |c: &Ctx<'_>| Value::Float($sel(c).1.first_notification_delay),
            ),
            ("flap_detection_enabled", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.flap_detection_enabled)
            }),
            ("has_been_checked", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.has_been_checked)
            }),
            ("high_flap_threshold", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).1.high_flap_threshold)
            }),
            ("icon_image", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.icon_image)
            }),
            ("icon_image_alt", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.icon_image_alt)
            }),
            ("icon_image_expanded", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.icon_image)
            }),
            ("in_check_period", ColumnType::Int, |c: &Ctx<'_>| {
                c.s.in_period($sel(c).1.check_period)
            }),
            ("in_notification_period", ColumnType::Int, |c: &Ctx<'_>| {
                let (st, ck) = $sel(c);
                c.s.in_period(
                    st.notification_period
                        .map(picket_config::TimeperiodId)
                        .or(ck.notification_period),
                )
            }),
            ("initial_state", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(match $sel(c).1.initial_state {
                    picket_config::InitialState::Ok => 0,
                    picket_config::InitialState::Warning | picket_config::InitialState::Down => 1,
                    picket_config::InitialState::Critical => 2,
                    picket_config::InitialState::Unknown => 3,
                })
            }),
            ("is_executing", ColumnType::Int, |_c: &Ctx<'_>| {
                Value::Int(0)
            }),
            ("is_flapping", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.is_flapping)
            }),
            ("last_check", ColumnType::Time, |c: &Ctx<'_>| {
                Value::Time($sel(c).0.last_check)
            }),
            ("last_hard_state", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(i64::from($sel(c).0.last_hard_state))
            }),
            ("last_hard_state_change", ColumnType::Time, |c: &Ctx<'_>| {
                Value::Time($sel(c).0.last_hard_state_change)
            }),
            ("last_notification", ColumnType::Time, |c: &Ctx<'_>| {
                Value::Time($sel(c).0.last_notification)
            }),
            ("last_state", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(i64::from($sel(c).0.last_state))
            }),
            ("last_state_change", ColumnType::Time, |c: &Ctx<'_>| {
                Value::Time($sel(c).0.last_state_change)
            }),
            ("last_update", ColumnType::Time, |c: &Ctx<'_>| {
                Value::Time(c.s.taken)
            }),
            ("latency", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).0.latency)
            }),
            ("long_plugin_output", ColumnType::String, |c: &Ctx<'_>| {
                Value::str($sel(c).0.long_output.clone())
            }),
            ("low_flap_threshold", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).1.low_flap_threshold)
            }),
            ("max_check_attempts", ColumnType::Int, |c: &Ctx<'_>| {
                let (st, ck) = $sel(c);
                Value::Int(i64::from(
                    st.max_check_attempts.unwrap_or(ck.max_check_attempts),
                ))
            }),
            ("modified_attributes", ColumnType::Int, |_c: &Ctx<'_>| {
                Value::Int(0)
            }),
            (
                "modified_attributes_list",
                ColumnType::List,
                |_c: &Ctx<'_>| Value::List(Vec::new()),
            ),
            ("next_check", ColumnType::Time, |c: &Ctx<'_>| {
                Value::Time($sel(c).0.next_check)
            }),
            ("next_notification", ColumnType::Time, |c: &Ctx<'_>| {
                Value::Time($sel(c).0.next_notification)
            }),
            ("notes", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.notes)
            }),
            ("notes_expanded", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.notes)
            }),
            ("notes_url", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.notes_url)
            }),
            ("notes_url_expanded", ColumnType::String, |c: &Ctx<'_>| {
                opt(&$sel(c).1.notes_url)
            }),
            ("notification_interval", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).1.notification_interval)
            }),
            ("notification_period", ColumnType::String, |c: &Ctx<'_>| {
                let (st, ck) = $sel(c);
                period(
                    &c.s.cfg,
                    st.notification_period
                        .map(picket_config::TimeperiodId)
                        .or(ck.notification_period),
                )
            }),
            ("notifications_enabled", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).0.notifications_enabled)
            }),
            ("notified_on", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(i64::from($sel(c).0.notified_on))
            }),
            ("obsess", ColumnType::Int, |c: &Ctx<'_>| {
                Value::bool($sel(c).1.obsess)
            }),
            ("percent_state_change", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).0.percent_state_change)
            }),
            ("perf_data", ColumnType::String, |c: &Ctx<'_>| {
                Value::str($sel(c).0.perf_data.clone())
            }),
            ("plugin_output", ColumnType::String, |c: &Ctx<'_>| {
                Value::str($sel(c).0.plugin_output.clone().unwrap_or_default())
            }),
            ("pnpgraph_present", ColumnType::Int, |_c: &Ctx<'_>| {
                Value::Int(0)
            }),
            (
                "process_performance_data",
                ColumnType::Int,
                |c: &Ctx<'_>| Value::bool($sel(c).1.process_perf_data),
            ),
            ("retry_interval", ColumnType::Float, |c: &Ctx<'_>| {
                Value::Float($sel(c).1.retry_interval)
            }),
            (
                "scheduled_downtime_depth",
                ColumnType::Int,
                |c: &Ctx<'_>| Value::Int(i64::from($sel(c).0.scheduled_downtime_depth)),
            ),
            ("state", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(i64::from($sel(c).0.current_state))
            }),
            ("state_type", ColumnType::Int, |c: &Ctx<'_>| {
                Value::Int(match $sel(c).0.state_type {
                    StateType::Soft => 0,
                    StateType::Hard => 1,
                })
            }),
            ("staleness", ColumnType::Float, |c: &Ctx<'_>| {
                let (st, ck) = $sel(c);
                let iv = ck.check_interval * f64::from(c.s.cfg.main.interval_length);
                Value::Float(if st.has_been_checked && iv > 0.0 {
                    (c.s.taken - st.last_check) as f64 / iv
                } else {
                    0.0
                })
            }),
        ];
        v
    }};
}

type Cols = Vec<(&'static str, ColumnType, Get)>;

fn host_columns() -> Cols {
    let mut v: Cols = vec![
        ("name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.hosts[c.host].name)
        }),
        ("host_name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.hosts[c.host].name)
        }),
        ("alias", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.hosts[c.host].alias)
        }),
        ("address", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.hosts[c.host].address)
        }),
        ("parents", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.hosts[c.host]
                    .parents
                    .iter()
                    .map(|p| c.s.cfg.host(*p).name.to_string()),
            )
        }),
        ("childs", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.hosts[c.host]
                    .children
                    .iter()
                    .map(|p| c.s.cfg.host(*p).name.to_string()),
            )
        }),
        ("groups", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.hosts[c.host]
                    .hostgroups
                    .iter()
                    .map(|g| c.s.cfg.hostgroups[g.0 as usize].name.to_string()),
            )
        }),
        ("services", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.hosts[c.host]
                    .services
                    .iter()
                    .map(|s| c.s.cfg.service(*s).description.to_string()),
            )
        }),
        ("services_with_state", ColumnType::List, |c| {
            Value::List(
                c.s.cfg.hosts[c.host]
                    .services
                    .iter()
                    .map(|s| {
                        let st = &c.s.services[s.0 as usize];
                        Value::List(vec![
                            Value::str(&*c.s.cfg.service(*s).description),
                            Value::Int(i64::from(st.current_state)),
                            Value::bool(st.has_been_checked),
                        ])
                    })
                    .collect(),
            )
        }),
        ("hard_state", ColumnType::Int, |c| {
            Value::Int(i64::from(hard_state(&c.s.hosts[c.host])))
        }),
        ("last_time_up", ColumnType::Time, |c| {
            Value::Time(c.s.hosts[c.host].last_time_in_state[0])
        }),
        ("last_time_down", ColumnType::Time, |c| {
            Value::Time(c.s.hosts[c.host].last_time_in_state[1])
        }),
        ("last_time_unreachable", ColumnType::Time, |c| {
            Value::Time(c.s.hosts[c.host].last_time_in_state[2])
        }),
        ("obsess_over_host", ColumnType::Int, |c| {
            Value::bool(c.s.cfg.hosts[c.host].common.obsess)
        }),
        ("worst_service_state", ColumnType::Int, |c| {
            worst(
                c.s.cfg.hosts[c.host]
                    .services
                    .iter()
                    .map(|s| c.s.services[s.0 as usize].current_state),
            )
        }),
        ("worst_service_hard_state", ColumnType::Int, |c| {
            worst(
                c.s.cfg.hosts[c.host]
                    .services
                    .iter()
                    .map(|s| hard_state(&c.s.services[s.0 as usize])),
            )
        }),
    ];
    for (name, which) in SVC_COUNTS {
        v.push((name, ColumnType::Int, which));
    }
    v.extend(checkable_columns!(
        host_sel,
        host_comments,
        host_downtimes,
        host
    ));
    v
}

type CountGet = Get;
const SVC_COUNTS: [(&str, CountGet); 11] = [
    ("num_services", |c| svc_counts(c.s, host_svcs(c), "all")),
    ("total_services", |c| svc_counts(c.s, host_svcs(c), "all")),
    ("num_services_ok", |c| svc_counts(c.s, host_svcs(c), "ok")),
    ("num_services_warn", |c| {
        svc_counts(c.s, host_svcs(c), "warn")
    }),
    ("num_services_crit", |c| {
        svc_counts(c.s, host_svcs(c), "crit")
    }),
    ("num_services_unknown", |c| {
        svc_counts(c.s, host_svcs(c), "unknown")
    }),
    ("num_services_pending", |c| {
        svc_counts(c.s, host_svcs(c), "pending")
    }),
    ("num_services_hard_ok", |c| {
        svc_counts(c.s, host_svcs(c), "hard_ok")
    }),
    ("num_services_hard_warn", |c| {
        svc_counts(c.s, host_svcs(c), "hard_warn")
    }),
    ("num_services_hard_crit", |c| {
        svc_counts(c.s, host_svcs(c), "hard_crit")
    }),
    ("num_services_hard_unknown", |c| {
        svc_counts(c.s, host_svcs(c), "hard_unknown")
    }),
];

fn host_svcs<'a>(c: &Ctx<'a>) -> impl Iterator<Item = usize> + 'a {
    c.s.cfg.hosts[c.host].services.iter().map(|s| s.0 as usize)
}

fn service_columns() -> Cols {
    let mut v: Cols = vec![
        ("description", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.services[c.svc].description)
        }),
        ("host_name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.hosts[c.host].name)
        }),
        ("groups", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.services[c.svc]
                    .servicegroups
                    .iter()
                    .map(|g| c.s.cfg.servicegroups[g.0 as usize].name.to_string()),
            )
        }),
        ("is_volatile", ColumnType::Int, |c| {
            Value::bool(c.s.cfg.services[c.svc].is_volatile)
        }),
        ("hard_state", ColumnType::Int, |c| {
            Value::Int(i64::from(hard_state(&c.s.services[c.svc])))
        }),
        ("last_time_ok", ColumnType::Time, |c| {
            Value::Time(c.s.services[c.svc].last_time_in_state[0])
        }),
        ("last_time_warning", ColumnType::Time, |c| {
            Value::Time(c.s.services[c.svc].last_time_in_state[1])
        }),
        ("last_time_critical", ColumnType::Time, |c| {
            Value::Time(c.s.services[c.svc].last_time_in_state[2])
        }),
        ("last_time_unknown", ColumnType::Time, |c| {
            Value::Time(c.s.services[c.svc].last_time_in_state[3])
        }),
        ("obsess_over_service", ColumnType::Int, |c| {
            Value::bool(c.s.cfg.services[c.svc].common.obsess)
        }),
    ];
    v.extend(checkable_columns!(
        svc_sel,
        svc_comments,
        svc_downtimes,
        svc
    ));
    v
}

fn hg_hosts<'a>(c: &Ctx<'a>) -> impl Iterator<Item = usize> + 'a {
    c.s.cfg.hostgroups[c.hg]
        .members
        .iter()
        .map(|h| h.0 as usize)
}

fn hg_svcs<'a>(c: &Ctx<'a>) -> impl Iterator<Item = usize> + 'a {
    hg_hosts(c).flat_map(|h| c.s.cfg.hosts[h].services.iter().map(|s| s.0 as usize))
}

fn sg_svcs<'a>(c: &Ctx<'a>) -> impl Iterator<Item = usize> + 'a {
    c.s.cfg.servicegroups[c.sg]
        .members
        .iter()
        .map(|s| s.0 as usize)
}

fn host_count(c: &Ctx<'_>, f: fn(&Status) -> bool) -> Value {
    Value::Int(hg_hosts(c).filter(|h| f(&c.s.hosts[*h])).count() as i64)
}

fn hostgroup_columns() -> Cols {
    vec![
        ("name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.hostgroups[c.hg].name)
        }),
        ("alias", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.hostgroups[c.hg].alias)
        }),
        ("members", ColumnType::List, |c| {
            Value::strings(hg_hosts(c).map(|h| c.s.cfg.hosts[h].name.to_string()))
        }),
        ("members_with_state", ColumnType::List, |c| {
            Value::List(
                hg_hosts(c)
                    .map(|h| {
                        let st = &c.s.hosts[h];
                        Value::List(vec![
                            Value::str(&*c.s.cfg.hosts[h].name),
                            Value::Int(i64::from(st.current_state)),
                            Value::bool(st.has_been_checked),
                        ])
                    })
                    .collect(),
            )
        }),
        ("notes", ColumnType::String, |c| {
            opt(&c.s.cfg.hostgroups[c.hg].notes)
        }),
        ("notes_url", ColumnType::String, |c| {
            opt(&c.s.cfg.hostgroups[c.hg].notes_url)
        }),
        ("action_url", ColumnType::String, |c| {
            opt(&c.s.cfg.hostgroups[c.hg].action_url)
        }),
        ("num_hosts", ColumnType::Int, |c| host_count(c, |_| true)),
        ("num_hosts_pending", ColumnType::Int, |c| {
            host_count(c, |s| !s.has_been_checked)
        }),
        ("num_hosts_up", ColumnType::Int, |c| {
            host_count(c, |s| s.has_been_checked && s.current_state == 0)
        }),
        ("num_hosts_down", ColumnType::Int, |c| {
            host_count(c, |s| s.has_been_checked && s.current_state == 1)
        }),
        ("num_hosts_unreach", ColumnType::Int, |c| {
            host_count(c, |s| s.has_been_checked && s.current_state == 2)
        }),
        ("worst_host_state", ColumnType::Int, |c| {
            Value::Int(
                hg_hosts(c)
                    .map(|h| i64::from(c.s.hosts[h].current_state))
                    .max()
                    .unwrap_or(0),
            )
        }),
        ("num_services", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "all")
        }),
        ("num_services_ok", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "ok")
        }),
        ("num_services_warn", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "warn")
        }),
        ("num_services_crit", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "crit")
        }),
        ("num_services_unknown", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "unknown")
        }),
        ("num_services_pending", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "pending")
        }),
        ("num_services_hard_ok", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "hard_ok")
        }),
        ("num_services_hard_warn", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "hard_warn")
        }),
        ("num_services_hard_crit", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "hard_crit")
        }),
        ("num_services_hard_unknown", ColumnType::Int, |c| {
            svc_counts(c.s, hg_svcs(c), "hard_unknown")
        }),
        ("worst_service_state", ColumnType::Int, |c| {
            worst(hg_svcs(c).map(|s| c.s.services[s].current_state))
        }),
        ("worst_service_hard_state", ColumnType::Int, |c| {
            worst(hg_svcs(c).map(|s| hard_state(&c.s.services[s])))
        }),
    ]
}

fn servicegroup_columns() -> Cols {
    vec![
        ("name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.servicegroups[c.sg].name)
        }),
        ("alias", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.servicegroups[c.sg].alias)
        }),
        ("members", ColumnType::List, |c| {
            Value::List(
                sg_svcs(c)
                    .map(|s| {
                        let svc = &c.s.cfg.services[s];
                        Value::Pair(
                            c.s.cfg.host(svc.host).name.to_string(),
                            svc.description.to_string(),
                        )
                    })
                    .collect(),
            )
        }),
        ("notes", ColumnType::String, |c| {
            opt(&c.s.cfg.servicegroups[c.sg].notes)
        }),
        ("notes_url", ColumnType::String, |c| {
            opt(&c.s.cfg.servicegroups[c.sg].notes_url)
        }),
        ("action_url", ColumnType::String, |c| {
            opt(&c.s.cfg.servicegroups[c.sg].action_url)
        }),
        ("num_services", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "all")
        }),
        ("num_services_ok", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "ok")
        }),
        ("num_services_warn", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "warn")
        }),
        ("num_services_crit", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "crit")
        }),
        ("num_services_unknown", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "unknown")
        }),
        ("num_services_pending", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "pending")
        }),
        ("num_services_hard_ok", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "hard_ok")
        }),
        ("num_services_hard_warn", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "hard_warn")
        }),
        ("num_services_hard_crit", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "hard_crit")
        }),
        ("num_services_hard_unknown", ColumnType::Int, |c| {
            svc_counts(c.s, sg_svcs(c), "hard_unknown")
        }),
        ("worst_service_state", ColumnType::Int, |c| {
            worst(sg_svcs(c).map(|s| c.s.services[s].current_state))
        }),
        ("worst_service_hard_state", ColumnType::Int, |c| {
            worst(sg_svcs(c).map(|s| hard_state(&c.s.services[s])))
        }),
    ]
}

fn contact_columns() -> Cols {
    vec![
        ("name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.contacts[c.idx].name)
        }),
        ("alias", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.contacts[c.idx].alias)
        }),
        ("email", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].email)
        }),
        ("pager", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].pager)
        }),
        ("address1", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].addresses[0])
        }),
        ("address2", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].addresses[1])
        }),
        ("address3", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].addresses[2])
        }),
        ("address4", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].addresses[3])
        }),
        ("address5", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].addresses[4])
        }),
        ("address6", ColumnType::String, |c| {
            opt(&c.s.cfg.contacts[c.idx].addresses[5])
        }),
        ("can_submit_commands", ColumnType::Int, |c| {
            Value::bool(c.s.cfg.contacts[c.idx].can_submit_commands)
        }),
        ("host_notifications_enabled", ColumnType::Int, |c| {
            Value::bool(c.s.cfg.contacts[c.idx].host_notifications_enabled)
        }),
        ("service_notifications_enabled", ColumnType::Int, |c| {
            Value::bool(c.s.cfg.contacts[c.idx].service_notifications_enabled)
        }),
        ("host_notification_period", ColumnType::String, |c| {
            period(
                &c.s.cfg,
                c.s.cfg.contacts[c.idx]
                    .ways
                    .first()
                    .and_then(|w| w.host_notification_period),
            )
        }),
        ("service_notification_period", ColumnType::String, |c| {
            period(
                &c.s.cfg,
                c.s.cfg.contacts[c.idx]
                    .ways
                    .first()
                    .and_then(|w| w.service_notification_period),
            )
        }),
        ("in_host_notification_period", ColumnType::Int, |c| {
            c.s.in_period(
                c.s.cfg.contacts[c.idx]
                    .ways
                    .first()
                    .and_then(|w| w.host_notification_period),
            )
        }),
        ("in_service_notification_period", ColumnType::Int, |c| {
            c.s.in_period(
                c.s.cfg.contacts[c.idx]
                    .ways
                    .first()
                    .and_then(|w| w.service_notification_period),
            )
        }),
        ("groups", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.contacts[c.idx]
                    .contactgroups
                    .iter()
                    .map(|g| c.s.cfg.contactgroups[g.0 as usize].name.to_string()),
            )
        }),
        ("custom_variable_names", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.contacts[c.idx]
                    .custom_vars
                    .iter()
                    .map(|(k, _)| k.to_string()),
            )
        }),
        ("custom_variable_values", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.contacts[c.idx]
                    .custom_vars
                    .iter()
                    .map(|(_, v)| v.to_string()),
            )
        }),
        ("modified_attributes", ColumnType::Int, |_| Value::Int(0)),
        ("modified_attributes_list", ColumnType::List, |_| {
            Value::List(Vec::new())
        }),
    ]
}

fn contactgroup_columns() -> Cols {
    vec![
        ("name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.contactgroups[c.idx].name)
        }),
        ("alias", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.contactgroups[c.idx].alias)
        }),
        ("members", ColumnType::List, |c| {
            Value::strings(
                c.s.cfg.contactgroups[c.idx]
                    .members
                    .iter()
                    .map(|m| c.s.cfg.contact(*m).name.to_string()),
            )
        }),
    ]
}

fn command_columns() -> Cols {
    vec![
        ("name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.commands[c.idx].name)
        }),
        ("line", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.commands[c.idx].line)
        }),
    ]
}

fn timeperiod_columns() -> Cols {
    vec![
        ("name", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.timeperiods[c.idx].name)
        }),
        ("alias", ColumnType::String, |c| {
            Value::str(&*c.s.cfg.timeperiods[c.idx].alias)
        }),
        ("in", ColumnType::Int, |c| {
            c.s.in_period(Some(c.s.cfg.timeperiods[c.idx].id))
        }),
    ]
}

fn comment_columns() -> Cols {
    vec![
        ("id", ColumnType::Int, |c| {
            Value::Int(c.s.comments[c.idx].id as i64)
        }),
        ("author", ColumnType::String, |c| {
            Value::str(c.s.comments[c.idx].author.clone())
        }),
        ("comment", ColumnType::String, |c| {
            Value::str(c.s.comments[c.idx].text.clone())
        }),
        ("entry_time", ColumnType::Time, |c| {
            Value::Time(c.s.comments[c.idx].entry_time)
        }),
        ("entry_type", ColumnType::Int, |c| {
            Value::Int(match c.s.comments[c.idx].kind {
                CommentKind::User => 1,
                CommentKind::Downtime => 2,
                CommentKind::Flapping => 3,
                CommentKind::Acknowledgement => 4,
            })
        }),
        ("expires", ColumnType::Int, |_| Value::Int(0)),
        ("expire_time", ColumnType::Time, |_| Value::Time(0)),
        ("is_service", ColumnType::Int, |c| {
            Value::bool(c.s.comments[c.idx].target.service.is_some())
        }),
        ("persistent", ColumnType::Int, |c| {
            Value::bool(c.s.comments[c.idx].persistent)
        }),
        ("source", ColumnType::Int, |c| {
            Value::Int(i64::from(c.s.comments[c.idx].kind == CommentKind::User))
        }),
        ("type", ColumnType::Int, |c| {
            Value::Int(if c.s.comments[c.idx].target.service.is_some() {
                2
            } else {
                1
            })
        }),
        ("host_name", ColumnType::String, |c| {
            Value::str(c.s.comments[c.idx].target.host.clone())
        }),
        ("service_description", ColumnType::String, |c| {
            Value::str(
                c.s.comments[c.idx]
                    .target
                    .service
                    .clone()
                    .unwrap_or_default(),
            )
        }),
    ]
}

fn downtime_columns() -> Cols {
    vec![
        ("id", ColumnType::Int, |c| {
            Value::Int(c.s.downtimes[c.idx].id as i64)
        }),
        ("author", ColumnType::String, |c| {
            Value::str(c.s.downtimes[c.idx].author.clone())
        }),
        ("comment", ColumnType::String, |c| {
            Value::str(c.s.downtimes[c.idx].comment.clone())
        }),
        ("duration", ColumnType::Int, |c| {
            Value::Int(c.s.downtimes[c.idx].duration)
        }),
        ("start_time", ColumnType::Time, |c| {
            Value::Time(c.s.downtimes[c.idx].start)
        }),
        ("end_time", ColumnType::Time, |c| {
            Value::Time(c.s.downtimes[c.idx].end)
        }),
        ("entry_time", ColumnType::Time, |c| {
            Value::Time(c.s.downtimes[c.idx].entry_time)
        }),
        ("fixed", ColumnType::Int, |c| {
            Value::bool(c.s.downtimes[c.idx].fixed)
        }),
        ("is_service", ColumnType::Int, |c| {
            Value::bool(c.s.downtimes[c.idx].target.service.is_some())
        }),
        ("triggered_by", ColumnType::Int, |c| {
            Value::Int(c.s.downtimes[c.idx].trigger_id as i64)
        }),
        // naemon: 0 active, 1 pending.
        ("type", ColumnType::Int, |c| {
            Value::Int(i64::from(!c.s.downtimes[c.idx].in_effect))
        }),
        ("host_name", ColumnType::String, |c| {
            Value::str(c.s.downtimes[c.idx].target.host.clone())
        }),
        ("service_description", ColumnType::String, |c| {
            Value::str(
                c.s.downtimes[c.idx]
                    .target
                    .service
                    .clone()
                    .unwrap_or_default(),
            )
        }),
    ]
}

fn status_columns() -> Cols {
    fn p<'a>(c: &Ctx<'a>) -> &'a ProgramStatus {
        &c.s.program
    }
    vec![
        ("accept_passive_host_checks", ColumnType::Int, |c| {
            Value::bool(p(c).accept_passive_host_checks)
        }),
        ("accept_passive_service_checks", ColumnType::Int, |c| {
            Value::bool(p(c).accept_passive_service_checks)
        }),
        ("cached_log_messages", ColumnType::Int, |_| Value::Int(0)),
        ("check_external_commands", ColumnType::Int, |c| {
            Value::bool(c.s.cfg.main.check_external_commands)
        }),
        ("check_host_freshness", ColumnType::Int, |c| {
            Value::bool(p(c).check_host_freshness)
        }),
        ("check_service_freshness", ColumnType::Int, |c| {
            Value::bool(p(c).check_service_freshness)
        }),
        ("connections", ColumnType::Int, |c| {
            Value::Int(c.s.counters.0 as i64)
        }),
        ("connections_rate", ColumnType::Float, |_| Value::Float(0.0)),
        ("enable_event_handlers", ColumnType::Int, |c| {
            Value::bool(p(c).enable_event_handlers)
        }),
        ("enable_flap_detection", ColumnType::Int, |c| {
            Value::bool(p(c).enable_flap_detection)
        }),
        ("enable_notifications", ColumnType::Int, |c| {
            Value::bool(p(c).enable_notifications)
        }),
        ("execute_host_checks", ColumnType::Int, |c| {
            Value::bool(p(c).execute_host_checks)
        }),
        ("execute_service_checks", ColumnType::Int, |c| {
            Value::bool(p(c).execute_service_checks)
        }),
        ("forks", ColumnType::Int, |_| Value::Int(0)),
        ("forks_rate", ColumnType::Float, |_| Value::Float(0.0)),
        ("host_checks", ColumnType::Int, |_| Value::Int(0)),
        ("host_checks_rate", ColumnType::Float, |_| Value::Float(0.0)),
        ("interval_length", ColumnType::Int, |c| {
            Value::Int(i64::from(c.s.cfg.main.interval_length))
        }),
        ("last_command_check", ColumnType::Time, |c| {
            Value::Time(c.s.taken)
        }),
        ("last_log_rotation", ColumnType::Time, |_| Value::Time(0)),
        ("livestatus_version", ColumnType::String, |_| {
            Value::str(LIVESTATUS_VERSION)
        }),
        ("log_messages", ColumnType::Int, |_| Value::Int(0)),
        ("log_messages_rate", ColumnType::Float, |_| {
            Value::Float(0.0)
        }),
        ("nagios_pid", ColumnType::Int, |c| {
            Value::Int(i64::from(c.s.pid))
        }),
        ("neb_callbacks", ColumnType::Int, |_| Value::Int(0)),
        ("neb_callbacks_rate", ColumnType::Float, |_| {
            Value::Float(0.0)
        }),
        ("num_hosts", ColumnType::Int, |c| {
            Value::Int(c.s.hosts.len() as i64)
        }),
        ("num_services", ColumnType::Int, |c| {
            Value::Int(c.s.services.len() as i64)
        }),
        ("obsess_over_hosts", ColumnType::Int, |_| Value::Int(0)),
        ("obsess_over_services", ColumnType::Int, |_| Value::Int(0)),
        ("process_performance_data", ColumnType::Int, |_| {
            Value::Int(0)
        }),
        ("program_start", ColumnType::Time, |c| {
            Value::Time(c.s.program_start)
        }),
        ("program_version", ColumnType::String, |_| {
            Value::str(concat!("Picket ", env!("CARGO_PKG_VERSION")))
        }),
        ("requests", ColumnType::Int, |c| {
            Value::Int(c.s.counters.1 as i64)
        }),
        ("requests_rate", ColumnType::Float, |_| Value::Float(0.0)),
        ("service_checks", ColumnType::Int, |_| Value::Int(0)),
        ("service_checks_rate", ColumnType::Float, |_| {
            Value::Float(0.0)
        }),
    ]
}

/// Which rows a table iterates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Status,
    Hosts,
    Services,
    HostGroups,
    ServiceGroups,
    Contacts,
    ContactGroups,
    Commands,
    Timeperiods,
    Comments,
    Downtimes,
    HostsByGroup,
    ServicesByGroup,
    ServicesByHostGroup,
}

pub(crate) struct Schema {
    defs: Vec<ColumnDef>,
    gets: Vec<Get>,
}

fn leak(prefix: &str, name: &str) -> &'static str {
    Box::leak(format!("{prefix}{name}").into_boxed_str())
}

fn build(parts: Vec<(&str, Cols)>) -> Schema {
    let mut defs = Vec::new();
    let mut gets = Vec::new();
    for (prefix, cols) in parts {
        for (name, kind, get) in cols {
            let name = if prefix.is_empty() {
                name
            } else {
                leak(prefix, name)
            };
            if defs.iter().any(|d: &ColumnDef| d.name == name) {
                continue;
            }
            defs.push(ColumnDef::new(name, kind, ""));
            gets.push(get);
        }
    }
    Schema { defs, gets }
}

const TABLES: [(&str, Kind); 14] = [
    ("status", Kind::Status),
    ("hosts", Kind::Hosts),
    ("services", Kind::Services),
    ("hostgroups", Kind::HostGroups),
    ("servicegroups", Kind::ServiceGroups),
    ("contacts", Kind::Contacts),
    ("contactgroups", Kind::ContactGroups),
    ("commands", Kind::Commands),
    ("timeperiods", Kind::Timeperiods),
    ("comments", Kind::Comments),
    ("downtimes", Kind::Downtimes),
    ("hostsbygroup", Kind::HostsByGroup),
    ("servicesbygroup", Kind::ServicesByGroup),
    ("servicesbyhostgroup", Kind::ServicesByHostGroup),
];

fn schema(kind: Kind) -> &'static Schema {
    static ALL: OnceLock<HashMap<&'static str, Schema>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        let mut m = HashMap::new();
        for (name, k) in TABLES {
            let s = match k {
                Kind::Status => build(vec![("", status_columns())]),
                Kind::Hosts => build(vec![("", host_columns())]),
                Kind::Services => build(vec![("", service_columns()), ("host_", host_columns())]),
                Kind::HostGroups => build(vec![("", hostgroup_columns())]),
                Kind::ServiceGroups => build(vec![("", servicegroup_columns())]),
                Kind::Contacts => build(vec![("", contact_columns())]),
                Kind::ContactGroups => build(vec![("", contactgroup_columns())]),
                Kind::Commands => build(vec![("", command_columns())]),
                Kind::Timeperiods => build(vec![("", timeperiod_columns())]),
                Kind::Comments => build(vec![("", comment_columns())]),
                Kind::Downtimes => build(vec![("", downtime_columns())]),
                Kind::HostsByGroup => build(vec![
                    ("", host_columns()),
                    ("hostgroup_", hostgroup_columns()),
                ]),
                Kind::ServicesByGroup => build(vec![
                    ("", service_columns()),
                    ("host_", host_columns()),
                    ("servicegroup_", servicegroup_columns()),
                ]),
                Kind::ServicesByHostGroup => build(vec![
                    ("", service_columns()),
                    ("host_", host_columns()),
                    ("hostgroup_", hostgroup_columns()),
                ]),
            };
            m.insert(name, s);
        }
        m
    });
    let name = TABLES
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or("status", |(n, _)| n);
    &all[name]
}

/// How `AuthUser:` applies (naemon's `service_authorization` / `group_authorization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AuthMode {
    /// `service_authorization=strict`: a service is visible only to its own contacts
    /// (default loose: also to its host's).
    pub(crate) strict_services: bool,
    /// `group_authorization=loose`: a group is visible when any member is (default
    /// strict: every member must be).
    pub(crate) loose_groups: bool,
}

/// A table over a snapshot.
pub(crate) struct SnapTable<'a> {
    s: &'a Snapshot,
    kind: Kind,
    schema: &'static Schema,
    auth: AuthMode,
}

/// The names of the tables this module serves (plus `columns` and `log`).
pub(crate) fn table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|(n, _)| *n)
}

impl<'a> SnapTable<'a> {
    pub(crate) fn new(s: &'a Snapshot, name: &str, auth: AuthMode) -> Option<SnapTable<'a>> {
        let kind = TABLES.iter().find(|(n, _)| *n == name)?.1;
        Some(SnapTable {
            s,
            kind,
            schema: schema(kind),
            auth,
        })
    }
}

struct RowRef<'t, 'a> {
    c: Ctx<'a>,
    t: &'t SnapTable<'a>,
}

impl RowRef<'_, '_> {
    fn host_visible(&self, h: usize, user: &str) -> bool {
        is_contact(&self.c.s.cfg, &self.c.s.cfg.hosts[h].common, user)
    }

    fn svc_visible(&self, s: usize, user: &str) -> bool {
        let cfg = &self.c.s.cfg;
        let svc = &cfg.services[s];
        is_contact(cfg, &svc.common, user)
            || (!self.t.auth.strict_services && self.host_visible(svc.host.0 as usize, user))
    }

    fn group<I: Iterator<Item = bool>>(&self, mut it: I) -> bool {
        if self.t.auth.loose_groups {
            it.any(|b| b)
        } else {
            it.all(|b| b)
        }
    }

    fn target_visible(&self, t: &picket_engine::Target, user: &str) -> bool {
        let cfg = &self.c.s.cfg;
        let Some(h) = cfg.host_by_name(&t.host) else {
            return false;
        };
        match &t.service {
            None => self.host_visible(h.0 as usize, user),
            Some(d) => cfg
                .find_service(h, d)
                .is_some_and(|s| self.svc_visible(s.0 as usize, user)),
        }
    }
}

impl Row for RowRef<'_, '_> {
    fn value(&self, column: usize) -> Value {
        (self.t.schema.gets[column])(&self.c)
    }

    fn visible_to(&self, user: &str) -> bool {
        let c = &self.c;
        match self.t.kind {
            Kind::Hosts | Kind::HostsByGroup => self.host_visible(c.host, user),
            Kind::Services | Kind::ServicesByGroup | Kind::ServicesByHostGroup => {
                self.svc_visible(c.svc, user)
            }
            Kind::HostGroups => self.group(hg_hosts(c).map(|h| self.host_visible(h, user))),
            Kind::ServiceGroups => self.group(sg_svcs(c).map(|s| self.svc_visible(s, user))),
            Kind::Comments => self.target_visible(&c.s.comments[c.idx].target, user),
            Kind::Downtimes => self.target_visible(&c.s.downtimes[c.idx].target, user),
            Kind::Status
            | Kind::Contacts
            | Kind::ContactGroups
            | Kind::Commands
            | Kind::Timeperiods => true,
        }
    }
}

impl Table for SnapTable<'_> {
    fn columns(&self) -> &[ColumnDef] {
        &self.schema.defs
    }

    fn scan(&self, _hint: &ScanHint, f: &mut dyn FnMut(&dyn Row)) {
        let s = self.s;
        let base = Ctx {
            s,
            host: 0,
            svc: 0,
            hg: 0,
            sg: 0,
            idx: 0,
        };
        let mut emit = |c: Ctx<'_>| f(&RowRef { c, t: self });
        let cfg = &s.cfg;
        match self.kind {
            Kind::Status => emit(base),
            Kind::Hosts => (0..s.hosts.len()).for_each(|host| emit(Ctx { host, ..base })),
            Kind::Services => {
                for (svc, sv) in cfg.services.iter().enumerate() {
                    emit(Ctx {
                        svc,
                        host: sv.host.0 as usize,
                        ..base
                    });
                }
            }
            Kind::HostGroups => (0..cfg.hostgroups.len()).for_each(|hg| emit(Ctx { hg, ..base })),
            Kind::ServiceGroups => {
                (0..cfg.servicegroups.len()).for_each(|sg| emit(Ctx { sg, ..base }))
            }
            Kind::Contacts => (0..cfg.contacts.len()).for_each(|idx| emit(Ctx { idx, ..base })),
            Kind::ContactGroups => {
                (0..cfg.contactgroups.len()).for_each(|idx| emit(Ctx { idx, ..base }))
            }
            Kind::Commands => (0..cfg.commands.len()).for_each(|idx| emit(Ctx { idx, ..base })),
            Kind::Timeperiods => {
                (0..cfg.timeperiods.len()).for_each(|idx| emit(Ctx { idx, ..base }))
            }
            Kind::Comments => (0..s.comments.len()).for_each(|idx| emit(Ctx { idx, ..base })),
            Kind::Downtimes => (0..s.downtimes.len()).for_each(|idx| emit(Ctx { idx, ..base })),
            Kind::HostsByGroup => {
                for (hg, g) in cfg.hostgroups.iter().enumerate() {
                    for h in &g.members {
                        emit(Ctx {
                            hg,
                            host: h.0 as usize,
                            ..base
                        });
                    }
                }
            }
            Kind::ServicesByGroup => {
                for (sg, g) in cfg.servicegroups.iter().enumerate() {
                    for sv in &g.members {
                        emit(Ctx {
                            sg,
                            svc: sv.0 as usize,
                            host: cfg.service(*sv).host.0 as usize,
                            ..base
                        });
                    }
                }
            }
            Kind::ServicesByHostGroup => {
                for (svc, sv) in cfg.services.iter().enumerate() {
                    for hg in &cfg.host(sv.host).hostgroups {
                        emit(Ctx {
                            svc,
                            host: sv.host.0 as usize,
                            hg: hg.0 as usize,
                            ..base
                        });
                    }
                }
            }
        }
    }

    fn object_filter(&self, object: &str) -> Option<Filter> {
        let eq = |column: &str, value: &str| Filter::Cmp {
            column: column.to_owned(),
            op: Op::Equal,
            negate: false,
            value: value.to_owned(),
        };
        match self.kind {
            Kind::Hosts | Kind::HostsByGroup => {
                self.s.cfg.host_by_name(object)?;
                Some(eq("name", object))
            }
            Kind::Services | Kind::ServicesByGroup | Kind::ServicesByHostGroup => {
                // `host;service`, or `host service` (naemon accepts both).
                let (h, d) = object.split_once(';').or_else(|| object.split_once(' '))?;
                self.s.cfg.service_by_name(h, d)?;
                Some(Filter::And(vec![eq("host_name", h), eq("description", d)]))
            }
            Kind::HostGroups
            | Kind::ServiceGroups
            | Kind::Contacts
            | Kind::ContactGroups
            | Kind::Commands
            | Kind::Timeperiods => Some(eq("name", object)),
            Kind::Comments | Kind::Downtimes => Some(eq("id", object)),
            Kind::Status => Some(Filter::all()),
        }
    }
}

/// The `columns` table: every column of every table.
pub(crate) struct ColumnsTable {
    rows: Vec<(&'static str, &'static ColumnDef)>,
}

const COLUMNS_COLS: [ColumnDef; 4] = [
    ColumnDef::new(
        "description",
        ColumnType::String,
        "A description of the column",
    ),
    ColumnDef::new(
        "name",
        ColumnType::String,
        "The name of the column within the table",
    ),
    ColumnDef::new("table", ColumnType::String, "The name of the table"),
    ColumnDef::new(
        "type",
        ColumnType::String,
        "The data type of the column (int, float, string, list)",
    ),
];

impl ColumnsTable {
    pub(crate) fn new() -> ColumnsTable {
        let mut rows = Vec::new();
        for (name, kind) in TABLES {
            for d in &schema(kind).defs {
                rows.push((name, d));
            }
        }
        for d in super::log::COLUMNS.iter() {
            rows.push(("log", d));
        }
        for d in COLUMNS_COLS.iter() {
            rows.push(("columns", d));
        }
        ColumnsTable { rows }
    }
}

struct ColumnRow<'a>(&'static str, &'a ColumnDef);

impl Row for ColumnRow<'_> {
    fn value(&self, column: usize) -> Value {
        match column {
            0 => Value::str(self.1.description),
            1 => Value::str(self.1.name),
            2 => Value::str(self.0),
            _ => Value::str(self.1.kind.as_str()),
        }
    }
}

impl Table for ColumnsTable {
    fn columns(&self) -> &[ColumnDef] {
        &COLUMNS_COLS
    }
    fn scan(&self, _hint: &ScanHint, f: &mut dyn FnMut(&dyn Row)) {
        for (t, d) in &self.rows {
            f(&ColumnRow(t, d));
        }
    }
}
