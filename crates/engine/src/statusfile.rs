//! The files Nagios 4.4 writes for its readers (the CGIs, their JSON API, Nagstamon's
//! Nagios mode, pynag, scripts): `status.dat` and `objects.cache`. Sans-I/O: a
//! [`StatusSnapshot`] (copied on the engine thread, [`crate::Engine::status_snapshot`])
//! or a [`Config`] in, the file's text out; the daemon writes it atomically.
//!
//! Layout, field names, order and meanings are Nagios 4.4.6's (`xdata/xsddefault.c`,
//! `common/objects.c` `fcache_*`), checked against the files `nagios4` wrote for the
//! same configuration (`crates/engine/tests/statusfile.rs` holds the field sets the
//! project recorded). Objects are written in name order, as Nagios keeps them; comments
//! and downtimes by id. What Picket does not track is written as Nagios writes it for
//! an object that never had it: `modified_attributes=0`, the `*_check_stats=0,0,0`
//! triples, a contact's `last_*_notification=0`.

use std::fmt::Write as _;
use std::sync::Arc;

use picket_config::{
    CommandCall, Config, ContactGroupId, ContactId, HostId, InitialState, Options, ServiceId,
    TimeperiodId,
    timeperiod::{DateSpec, TimeRange, format_hhmm},
};

use crate::status::{
    AckType, CheckType, Comment, CommentKind, ContactStatus, Downtime, ProgramStatus, StateType,
    Status, Time,
};

/// Everything `status.dat` shows, copied from the engine between batches. Rendering it
/// ([`render_status_dat`]) can then happen on another thread.
#[derive(Debug, Clone)]
pub struct StatusSnapshot {
    /// The configuration the state belongs to.
    pub cfg: Arc<Config>,
    /// When the copy was taken (`created`, `last_update`).
    pub now: Time,
    /// When the engine started (`program_start`).
    pub program_start: Time,
    /// Program-wide switches and id counters.
    pub prog: ProgramStatus,
    /// Host status by [`HostId`].
    pub hosts: Vec<Status>,
    /// Service status by [`ServiceId`].
    pub services: Vec<Status>,
    /// Contact switches by [`ContactId`].
    pub contacts: Vec<ContactStatus>,
    /// Downtimes, by id.
    pub downtimes: Vec<Downtime>,
    /// Comments, by id.
    pub comments: Vec<Comment>,
}

/// What the process around the engine knows (`programstatus`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// `nagios_pid`.
    pub pid: u32,
    /// `daemon_mode`.
    pub daemon_mode: bool,
    /// `last_log_rotation` (0: none yet).
    pub last_log_rotation: Time,
    /// `version` in `info` (Nagios writes its own; the CGIs show it).
    pub version: String,
}

impl crate::Engine {
    /// A copy of everything `status.dat` shows (cheap enough for the engine thread: a
    /// clone of the status vectors).
    pub fn status_snapshot(&self, now: Time) -> StatusSnapshot {
        StatusSnapshot {
            cfg: Arc::clone(&self.cfg),
            now,
            program_start: self.program_start,
            prog: self.prog.clone(),
            hosts: self.hosts.clone(),
            services: self.svcs.clone(),
            contacts: self.contacts.clone(),
            downtimes: self.downtimes.values().cloned().collect(),
            comments: self.comments.values().cloned().collect(),
        }
    }
}

fn b(v: bool) -> u8 {
    u8::from(v)
}

/// A value on one `key=value` line: a line break would start a new key for every
/// reader, so it is written as a space (Picket's outputs never hold one; names from the
/// configuration cannot).
fn v(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(picket_text::is_line_break) {
        std::borrow::Cow::Owned(
            s.chars()
                .map(|c| {
                    if picket_text::is_line_break(c) {
                        ' '
                    } else {
                        c
                    }
                })
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn call(cfg: &Config, c: &CommandCall) -> String {
    let mut s = cfg.command(c.command).name.to_string();
    for a in &c.args {
        s.push('!');
        s.push_str(&a.replace('!', "\\!"));
    }
    s
}

fn opt_call(cfg: &Config, c: Option<&CommandCall>) -> String {
    c.map(|c| call(cfg, c)).unwrap_or_default()
}

fn tp_name(cfg: &Config, t: Option<TimeperiodId>) -> &str {
    t.map(|t| &*cfg.timeperiod(t).name).unwrap_or("")
}

/// Hosts in name order (Nagios keeps its object lists sorted).
fn sorted_hosts(cfg: &Config) -> Vec<HostId> {
    let mut v: Vec<HostId> = cfg.hosts.iter().map(|h| h.id).collect();
    v.sort_by(|a, b| cfg.host(*a).name.cmp(&cfg.host(*b).name));
    v
}

/// Services in (host name, description) order.
fn sorted_services(cfg: &Config) -> Vec<ServiceId> {
    let mut v: Vec<ServiceId> = cfg.services.iter().map(|s| s.id).collect();
    v.sort_by(|a, b| {
        let (sa, sb) = (cfg.service(*a), cfg.service(*b));
        (&*cfg.host(sa.host).name, &*sa.description)
            .cmp(&(&*cfg.host(sb.host).name, &*sb.description))
    });
    v
}

fn state_type(t: StateType) -> u8 {
    match t {
        StateType::Soft => 0,
        StateType::Hard => 1,
    }
}

fn check_type(t: CheckType) -> u8 {
    match t {
        CheckType::Active => 0,
        CheckType::Passive => 1,
    }
}

fn ack_type(t: AckType) -> u8 {
    match t {
        AckType::None => 0,
        AckType::Normal => 1,
        AckType::Sticky => 2,
    }
}

/// Custom variables as `status.dat` writes them: `_NAME=<modified>;<value>`.
fn custom_vars(out: &mut String, vars: &picket_config::CustomVars, changes: &[(String, String)]) {
    for (name, value) in vars {
        match changes.iter().find(|(n, _)| n.as_str() == &**name) {
            Some((_, new)) => {
                let _ = writeln!(out, "\t_{name}=1;{}", v(new));
            }
            None => {
                let _ = writeln!(out, "\t_{name}=0;{}", v(value));
            }
        }
    }
    for (name, new) in changes {
        if !vars.iter().any(|(n, _)| &**n == name.as_str()) {
            let _ = writeln!(out, "\t_{name}=1;{}", v(new));
        }
    }
}

/// `status.dat`, as Nagios 4.4.6 writes it.
pub fn render_status_dat(snap: &StatusSnapshot, info: &ProcessInfo) -> String {
    let cfg = &*snap.cfg;
    let now = snap.now;
    let mut o = String::with_capacity(2048 + 1800 * (snap.hosts.len() + snap.services.len()));
    o.push_str(
        "########################################\n\
         #          NAGIOS STATUS FILE\n\
         #\n\
         # THIS FILE IS AUTOMATICALLY GENERATED\n\
         # BY NAGIOS.  DO NOT MODIFY THIS FILE!\n\
         ########################################\n\n",
    );
    let _ = write!(
        o,
        "info {{\n\tcreated={now}\n\tversion={}\n\tlast_update_check=0\n\tupdate_available=0\n\tlast_version=\n\tnew_version=\n\t}}\n\n",
        v(&info.version)
    );
    let p = &snap.prog;
    let m = &cfg.main;
    let _ = write!(
        o,
        "programstatus {{\n\
         \tmodified_host_attributes=0\n\
         \tmodified_service_attributes=0\n\
         \tnagios_pid={}\n\
         \tdaemon_mode={}\n\
         \tprogram_start={}\n\
         \tlast_log_rotation={}\n\
         \tenable_notifications={}\n\
         \tactive_service_checks_enabled={}\n\
         \tpassive_service_checks_enabled={}\n\
         \tactive_host_checks_enabled={}\n\
         \tpassive_host_checks_enabled={}\n\
         \tenable_event_handlers={}\n\
         \tobsess_over_services=0\n\
         \tobsess_over_hosts=0\n\
         \tcheck_service_freshness={}\n\
         \tcheck_host_freshness={}\n\
         \tenable_flap_detection={}\n\
         \tprocess_performance_data=0\n\
         \tglobal_host_event_handler={}\n\
         \tglobal_service_event_handler={}\n\
         \tnext_comment_id={}\n\
         \tnext_downtime_id={}\n\
         \tnext_event_id={}\n\
         \tnext_problem_id={}\n\
         \tnext_notification_id={}\n",
        info.pid,
        b(info.daemon_mode),
        snap.program_start,
        info.last_log_rotation,
        b(p.enable_notifications),
        b(p.execute_service_checks),
        b(p.accept_passive_service_checks),
        b(p.execute_host_checks),
        b(p.accept_passive_host_checks),
        b(p.enable_event_handlers),
        b(p.check_service_freshness),
        b(p.check_host_freshness),
        b(p.enable_flap_detection),
        v(m.global_host_event_handler.as_deref().unwrap_or("")),
        v(m.global_service_event_handler.as_deref().unwrap_or("")),
        p.next_comment_id,
        p.next_downtime_id,
        p.next_event_id,
        p.next_problem_id,
        p.next_notification_id,
    );
    for k in [
        "active_scheduled_host_check_stats",
        "active_ondemand_host_check_stats",
        "passive_host_check_stats",
        "active_scheduled_service_check_stats",
        "active_ondemand_service_check_stats",
        "passive_service_check_stats",
        "cached_host_check_stats",
        "cached_service_check_stats",
        "external_command_stats",
        "parallel_host_check_stats",
        "serial_host_check_stats",
    ] {
        let _ = writeln!(o, "\t{k}=0,0,0");
    }
    o.push_str("\t}\n\n");

    for id in sorted_hosts(cfg) {
        let h = cfg.host(id);
        let Some(st) = snap.hosts.get(id.index()) else {
            continue;
        };
        let c = &h.common;
        let np = st
            .notification_period
            .map(TimeperiodId)
            .or(c.notification_period);
        let _ = write!(
            o,
            "hoststatus {{\n\
             \thost_name={}\n\
             \tmodified_attributes=0\n\
             \tcheck_command={}\n\
             \tcheck_period={}\n\
             \tnotification_period={}\n\
             \timportance={}\n\
             \tcheck_interval={:.6}\n\
             \tretry_interval={:.6}\n\
             \tevent_handler={}\n",
            h.name,
            opt_call(cfg, c.check_command.as_ref()),
            tp_name(cfg, c.check_period),
            tp_name(cfg, np),
            c.importance,
            c.check_interval,
            c.retry_interval,
            opt_call(cfg, c.event_handler.as_ref()),
        );
        common_status(&mut o, st, c);
        let _ = write!(
            o,
            "\tplugin_output={}\n\
             \tlong_plugin_output={}\n\
             \tperformance_data={}\n\
             \tlast_check={}\n\
             \tnext_check={}\n\
             \tcheck_options=0\n\
             \tcurrent_attempt={}\n\
             \tmax_attempts={}\n\
             \tstate_type={}\n\
             \tlast_state_change={}\n\
             \tlast_hard_state_change={}\n\
             \tlast_time_up={}\n\
             \tlast_time_down={}\n\
             \tlast_time_unreachable={}\n\
             \tlast_notification={}\n\
             \tnext_notification={}\n\
             \tno_more_notifications={}\n\
             \tcurrent_notification_number={}\n\
             \tcurrent_notification_id={}\n\
             \tnotifications_enabled={}\n\
             \tproblem_has_been_acknowledged={}\n\
             \tacknowledgement_type={}\n\
             \tactive_checks_enabled={}\n\
             \tpassive_checks_enabled={}\n\
             \tevent_handler_enabled={}\n\
             \tflap_detection_enabled={}\n\
             \tprocess_performance_data={}\n\
             \tobsess={}\n\
             \tlast_update={now}\n\
             \tis_flapping={}\n\
             \tpercent_state_change={:.2}\n\
             \tscheduled_downtime_depth={}\n",
            v(st.plugin_output.as_deref().unwrap_or("")),
            v(&st.long_output),
            v(&st.perf_data),
            st.last_check,
            st.next_check,
            st.current_attempt,
            st.max_check_attempts.unwrap_or(c.max_check_attempts),
            state_type(st.state_type),
            st.last_state_change,
            st.last_hard_state_change,
            st.last_time_in_state[0],
            st.last_time_in_state[1],
            st.last_time_in_state[2],
            st.last_notification,
            st.next_notification,
            b(st.no_more_notifications),
            st.current_notification_number,
            st.current_notification_id,
            b(st.notifications_enabled),
            b(st.problem_has_been_acknowledged),
            ack_type(st.acknowledgement_type),
            b(st.active_checks_enabled),
            b(st.passive_checks_enabled),
            b(st.event_handler_enabled),
            b(st.flap_detection_enabled),
            b(c.process_perf_data),
            b(c.obsess),
            b(st.is_flapping),
            st.percent_state_change,
            st.scheduled_downtime_depth,
        );
        custom_vars(&mut o, &c.custom_vars, &st.custom_var_changes);
        o.push_str("\t}\n\n");
    }

    for id in sorted_services(cfg) {
        let s = cfg.service(id);
        let Some(st) = snap.services.get(id.index()) else {
            continue;
        };
        let c = &*s.common;
        let np = st
            .notification_period
            .map(TimeperiodId)
            .or(c.notification_period);
        let _ = write!(
            o,
            "servicestatus {{\n\
             \thost_name={}\n\
             \tservice_description={}\n\
             \tmodified_attributes=0\n\
             \tcheck_command={}\n\
             \tcheck_period={}\n\
             \tnotification_period={}\n\
             \timportance={}\n\
             \tcheck_interval={:.6}\n\
             \tretry_interval={:.6}\n\
             \tevent_handler={}\n",
            cfg.host(s.host).name,
            s.description,
            opt_call(cfg, c.check_command.as_ref()),
            tp_name(cfg, c.check_period),
            tp_name(cfg, np),
            c.importance,
            c.check_interval,
            c.retry_interval,
            opt_call(cfg, c.event_handler.as_ref()),
        );
        common_status(&mut o, st, c);
        let _ = write!(
            o,
            "\tcurrent_attempt={}\n\
             \tmax_attempts={}\n\
             \tstate_type={}\n\
             \tlast_state_change={}\n\
             \tlast_hard_state_change={}\n\
             \tlast_time_ok={}\n\
             \tlast_time_warning={}\n\
             \tlast_time_unknown={}\n\
             \tlast_time_critical={}\n\
             \tplugin_output={}\n\
             \tlong_plugin_output={}\n\
             \tperformance_data={}\n\
             \tlast_check={}\n\
             \tnext_check={}\n\
             \tcheck_options=0\n\
             \tcurrent_notification_number={}\n\
             \tcurrent_notification_id={}\n\
             \tlast_notification={}\n\
             \tnext_notification={}\n\
             \tno_more_notifications={}\n\
             \tnotifications_enabled={}\n\
             \tactive_checks_enabled={}\n\
             \tpassive_checks_enabled={}\n\
             \tevent_handler_enabled={}\n\
             \tproblem_has_been_acknowledged={}\n\
             \tacknowledgement_type={}\n\
             \tflap_detection_enabled={}\n\
             \tprocess_performance_data={}\n\
             \tobsess={}\n\
             \tlast_update={now}\n\
             \tis_flapping={}\n\
             \tpercent_state_change={:.2}\n\
             \tscheduled_downtime_depth={}\n",
            st.current_attempt,
            st.max_check_attempts.unwrap_or(c.max_check_attempts),
            state_type(st.state_type),
            st.last_state_change,
            st.last_hard_state_change,
            st.last_time_in_state[0],
            st.last_time_in_state[1],
            st.last_time_in_state[3],
            st.last_time_in_state[2],
            v(st.plugin_output.as_deref().unwrap_or("")),
            v(&st.long_output),
            v(&st.perf_data),
            st.last_check,
            st.next_check,
            st.current_notification_number,
            st.current_notification_id,
            st.last_notification,
            st.next_notification,
            b(st.no_more_notifications),
            b(st.notifications_enabled),
            b(st.active_checks_enabled),
            b(st.passive_checks_enabled),
            b(st.event_handler_enabled),
            b(st.problem_has_been_acknowledged),
            ack_type(st.acknowledgement_type),
            b(st.flap_detection_enabled),
            b(c.process_perf_data),
            b(c.obsess),
            b(st.is_flapping),
            st.percent_state_change,
            st.scheduled_downtime_depth,
        );
        custom_vars(&mut o, &c.custom_vars, &st.custom_var_changes);
        o.push_str("\t}\n\n");
    }

    let mut contacts: Vec<ContactId> = cfg.contacts.iter().map(|c| c.id).collect();
    contacts.sort_by(|a, b| cfg.contact(*a).name.cmp(&cfg.contact(*b).name));
    for id in contacts {
        let ct = cfg.contact(id);
        let Some(cs) = snap.contacts.get(id.index()) else {
            continue;
        };
        let way = ct.ways.first();
        let _ = write!(
            o,
            "contactstatus {{\n\
             \tcontact_name={}\n\
             \tmodified_attributes=0\n\
             \tmodified_host_attributes=0\n\
             \tmodified_service_attributes=0\n\
             \thost_notification_period={}\n\
             \tservice_notification_period={}\n\
             \tlast_host_notification=0\n\
             \tlast_service_notification=0\n\
             \thost_notifications_enabled={}\n\
             \tservice_notifications_enabled={}\n",
            ct.name,
            tp_name(cfg, way.and_then(|w| w.host_notification_period)),
            tp_name(cfg, way.and_then(|w| w.service_notification_period)),
            b(cs.host_notifications_enabled),
            b(cs.service_notifications_enabled),
        );
        custom_vars(&mut o, &ct.custom_vars, &[]);
        o.push_str("\t}\n\n");
    }

    for c in &snap.comments {
        let (entry_type, source) = match c.kind {
            CommentKind::User => (1, 1),
            CommentKind::Downtime => (2, 0),
            CommentKind::Flapping => (3, 0),
            CommentKind::Acknowledgement => (4, 0),
        };
        let section = if c.target.service.is_some() {
            "servicecomment"
        } else {
            "hostcomment"
        };
        let _ = write!(o, "{section} {{\n\thost_name={}\n", v(&c.target.host));
        if let Some(s) = &c.target.service {
            let _ = writeln!(o, "\tservice_description={}", v(s));
        }
        let _ = write!(
            o,
            "\tentry_type={entry_type}\n\
             \tcomment_id={}\n\
             \tsource={source}\n\
             \tpersistent={}\n\
             \tentry_time={}\n\
             \texpires=0\n\
             \texpire_time=0\n\
             \tauthor={}\n\
             \tcomment_data={}\n\
             \t}}\n\n",
            c.id,
            b(c.persistent),
            c.entry_time,
            v(&c.author),
            v(&c.text),
        );
    }

    for d in &snap.downtimes {
        let section = if d.target.service.is_some() {
            "servicedowntime"
        } else {
            "hostdowntime"
        };
        let _ = write!(o, "{section} {{\n\thost_name={}\n", v(&d.target.host));
        if let Some(s) = &d.target.service {
            let _ = writeln!(o, "\tservice_description={}", v(s));
        }
        let flex_start = if d.fixed {
            0
        } else {
            d.started_at.unwrap_or(0)
        };
        let _ = write!(
            o,
            "\tdowntime_id={}\n\
             \tcomment_id={}\n\
             \tentry_time={}\n\
             \tstart_time={}\n\
             \tflex_downtime_start={flex_start}\n\
             \tend_time={}\n\
             \ttriggered_by={}\n\
             \tfixed={}\n\
             \tduration={}\n\
             \tis_in_effect={}\n\
             \tstart_notification_sent={}\n\
             \tauthor={}\n\
             \tcomment={}\n\
             \t}}\n\n",
            d.id,
            d.comment_id,
            d.entry_time,
            d.start,
            d.end,
            d.trigger_id,
            b(d.fixed),
            d.duration,
            b(d.in_effect),
            b(d.in_effect),
            v(&d.author),
            v(&d.comment),
        );
    }
    o
}

/// The fields from `has_been_checked` to `last_problem_id`, the same for hosts and
/// services.
fn common_status(o: &mut String, st: &Status, c: &picket_config::Checkable) {
    let should = st.active_checks_enabled && c.check_interval > 0.0 && c.check_command.is_some();
    let _ = write!(
        o,
        "\thas_been_checked={}\n\
         \tshould_be_scheduled={}\n\
         \tcheck_execution_time={:.3}\n\
         \tcheck_latency={:.3}\n\
         \tcheck_type={}\n\
         \tcurrent_state={}\n\
         \tlast_hard_state={}\n\
         \tlast_event_id={}\n\
         \tcurrent_event_id={}\n\
         \tcurrent_problem_id={}\n\
         \tlast_problem_id={}\n",
        b(st.has_been_checked),
        b(should),
        st.execution_time,
        st.latency,
        check_type(st.check_type),
        st.current_state,
        st.last_hard_state,
        st.last_event_id,
        st.current_event_id,
        st.current_problem_id,
        st.last_problem_id,
    );
}

// ------------------------------------------------------------------ objects.cache

/// Which letters an option field takes, in the order Nagios' `opts2str` writes them
/// (the "ok" letter first: `r` for notifications, `o` otherwise).
#[derive(Clone, Copy)]
enum OptSet {
    HostNotify,
    ServiceNotify,
    HostFlap,
    ServiceFlap,
    HostDep,
    ServiceDep,
    HostEscalation,
    ServiceEscalation,
}

fn opts(o: Options, set: OptSet) -> String {
    use OptSet::*;
    let (ok, ok_bit, rest): (char, Options, &[(char, Options)]) = match set {
        HostNotify => (
            'r',
            Options::RECOVERY,
            &[
                ('d', Options::DOWN),
                ('u', Options::UNKNOWN),
                ('f', Options::FLAPPING),
                ('s', Options::DOWNTIME),
            ],
        ),
        ServiceNotify => (
            'r',
            Options::RECOVERY,
            &[
                ('w', Options::WARNING),
                ('u', Options::UNKNOWN),
                ('c', Options::CRITICAL),
                ('f', Options::FLAPPING),
                ('s', Options::DOWNTIME),
            ],
        ),
        HostFlap => (
            'o',
            Options::OK,
            &[('d', Options::DOWN), ('u', Options::UNKNOWN)],
        ),
        ServiceFlap => (
            'o',
            Options::OK,
            &[
                ('w', Options::WARNING),
                ('u', Options::UNKNOWN),
                ('c', Options::CRITICAL),
            ],
        ),
        HostDep => (
            'o',
            Options::OK,
            &[
                ('d', Options::DOWN),
                ('u', Options::UNKNOWN),
                ('p', Options::PENDING),
            ],
        ),
        ServiceDep => (
            'o',
            Options::OK,
            &[
                ('w', Options::WARNING),
                ('u', Options::UNKNOWN),
                ('c', Options::CRITICAL),
                ('p', Options::PENDING),
            ],
        ),
        HostEscalation => (
            'r',
            Options::RECOVERY,
            &[('d', Options::DOWN), ('u', Options::UNKNOWN)],
        ),
        ServiceEscalation => (
            'r',
            Options::RECOVERY,
            &[
                ('w', Options::WARNING),
                ('u', Options::UNKNOWN),
                ('c', Options::CRITICAL),
            ],
        ),
    };
    let has_ok = o.contains(ok_bit) || (ok == 'r' && o.contains(Options::OK));
    let mut letters: Vec<char> = Vec::new();
    if has_ok {
        letters.push(ok);
    }
    letters.extend(
        rest.iter()
            .filter(|(_, bit)| o.contains(*bit))
            .map(|(c, _)| *c),
    );
    if letters.is_empty() {
        return "n".into();
    }
    if letters.len() == rest.len() + 1 {
        return "a".into();
    }
    let mut s = String::new();
    for (i, c) in letters.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push(*c);
    }
    s
}

fn stalking(o: Options, host: bool) -> String {
    let mut letters = Vec::new();
    if o.contains(Options::OK) {
        letters.push('o');
    }
    let rest: &[(char, Options)] = if host {
        &[('d', Options::DOWN), ('u', Options::UNKNOWN)]
    } else {
        &[
            ('w', Options::WARNING),
            ('u', Options::UNKNOWN),
            ('c', Options::CRITICAL),
        ]
    };
    letters.extend(rest.iter().filter(|(_, b)| o.contains(*b)).map(|(c, _)| *c));
    if o.contains(Options::NOTIFICATIONS) {
        letters.push('N');
    }
    if letters.is_empty() {
        return "n".into();
    }
    letters
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn names<I: IntoIterator<Item = S>, S: AsRef<str>>(it: I) -> String {
    let mut s = String::new();
    for (i, n) in it.into_iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(n.as_ref());
    }
    s
}

fn kv(o: &mut String, k: &str, val: &str) {
    let _ = writeln!(o, "\t{k}\t{}", v(val));
}

fn kv_opt(o: &mut String, k: &str, val: Option<&str>) {
    if let Some(val) = val {
        kv(o, k, val);
    }
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month(m: u8) -> &'static str {
    MONTHS
        .get(usize::from(m).wrapping_sub(1))
        .copied()
        .unwrap_or("january")
}

fn weekday(d: u8) -> &'static str {
    WEEKDAYS.get(usize::from(d)).copied().unwrap_or("sunday")
}

fn ymd(day: i64) -> String {
    let d = jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(day))
        .unwrap_or(jiff::civil::date(1970, 1, 1));
    format!("{}-{:02}-{:02}", d.year(), d.month(), d.day())
}

fn ranges(r: &[TimeRange]) -> String {
    names(
        r.iter()
            .map(|r| format!("{}-{}", format_hhmm(r.start), format_hhmm(r.end))),
    )
}

fn date_spec(spec: &DateSpec, skip: u32) -> String {
    let mut s = match *spec {
        DateSpec::Calendar { start, end } => match end {
            Some(e) if e != start => format!("{} - {}", ymd(start), ymd(e)),
            _ => ymd(start),
        },
        DateSpec::MonthDate {
            smon,
            sday,
            emon,
            eday,
        } => {
            if (smon, sday) == (emon, eday) {
                format!("{} {sday}", month(smon))
            } else {
                format!("{} {sday} - {} {eday}", month(smon), month(emon))
            }
        }
        DateSpec::MonthDay { sday, eday } => {
            if sday == eday {
                format!("day {sday}")
            } else {
                format!("day {sday} - {eday}")
            }
        }
        DateSpec::MonthWeekDay {
            swday,
            soff,
            smon,
            ewday,
            eoff,
            emon,
        } => {
            if (swday, soff, smon) == (ewday, eoff, emon) {
                format!("{} {soff} {}", weekday(swday), month(smon))
            } else {
                format!(
                    "{} {soff} {} - {} {eoff} {}",
                    weekday(swday),
                    month(smon),
                    weekday(ewday),
                    month(emon)
                )
            }
        }
        DateSpec::WeekDay {
            swday,
            soff,
            ewday,
            eoff,
        } => {
            if (swday, soff) == (ewday, eoff) {
                format!("{} {soff}", weekday(swday))
            } else {
                format!("{} {soff} - {} {eoff}", weekday(swday), weekday(ewday))
            }
        }
    };
    if skip > 1 {
        let _ = write!(s, " / {skip}");
    }
    s
}

fn initial_state(s: InitialState, host: bool) -> char {
    match (s, host) {
        (InitialState::Ok, _) => 'o',
        (InitialState::Warning, _) => 'w',
        (InitialState::Unknown, _) => 'u',
        (InitialState::Critical, _) => 'c',
        (InitialState::Down, _) => 'd',
    }
}

fn checkable(o: &mut String, cfg: &Config, c: &picket_config::Checkable, host: bool) {
    kv_opt(
        o,
        "check_period",
        c.check_period.map(|t| &*cfg.timeperiod(t).name),
    );
    if let Some(cc) = &c.check_command {
        kv(o, "check_command", &call(cfg, cc));
    }
    if let Some(eh) = &c.event_handler {
        kv(o, "event_handler", &call(cfg, eh));
    }
    if !c.contacts.is_empty() {
        kv(o, "contacts", &contact_names(cfg, &c.contacts));
    }
    if !c.contact_groups.is_empty() {
        kv(o, "contact_groups", &group_names(cfg, &c.contact_groups));
    }
    kv_opt(
        o,
        "notification_period",
        c.notification_period.map(|t| &*cfg.timeperiod(t).name),
    );
    let _ = writeln!(
        o,
        "\tinitial_state\t{}",
        initial_state(c.initial_state, host)
    );
    let _ = writeln!(o, "\timportance\t{}", c.importance);
    let _ = writeln!(o, "\tcheck_interval\t{:.6}", c.check_interval);
    let _ = writeln!(o, "\tretry_interval\t{:.6}", c.retry_interval);
    let _ = writeln!(o, "\tmax_check_attempts\t{}", c.max_check_attempts);
}

fn checkable_tail(o: &mut String, c: &picket_config::Checkable, host: bool) {
    let _ = write!(
        o,
        "\tactive_checks_enabled\t{}\n\
         \tpassive_checks_enabled\t{}\n\
         \tobsess\t{}\n\
         \tevent_handler_enabled\t{}\n\
         \tlow_flap_threshold\t{:.6}\n\
         \thigh_flap_threshold\t{:.6}\n\
         \tflap_detection_enabled\t{}\n\
         \tflap_detection_options\t{}\n\
         \tfreshness_threshold\t{}\n\
         \tcheck_freshness\t{}\n\
         \tnotification_options\t{}\n\
         \tnotifications_enabled\t{}\n\
         \tnotification_interval\t{:.6}\n\
         \tfirst_notification_delay\t{:.6}\n\
         \tstalking_options\t{}\n\
         \tprocess_perf_data\t{}\n",
        b(c.active_checks_enabled),
        b(c.passive_checks_enabled),
        b(c.obsess),
        b(c.event_handler_enabled),
        c.low_flap_threshold,
        c.high_flap_threshold,
        b(c.flap_detection_enabled),
        opts(
            c.flap_detection_options,
            if host {
                OptSet::HostFlap
            } else {
                OptSet::ServiceFlap
            }
        ),
        c.freshness_threshold,
        b(c.check_freshness),
        opts(
            c.notification_options,
            if host {
                OptSet::HostNotify
            } else {
                OptSet::ServiceNotify
            }
        ),
        b(c.notifications_enabled),
        c.notification_interval,
        c.first_notification_delay,
        stalking(c.stalking_options, host),
        b(c.process_perf_data),
    );
    kv_opt(o, "icon_image", c.icon_image.as_deref());
    kv_opt(o, "icon_image_alt", c.icon_image_alt.as_deref());
    kv_opt(o, "notes", c.notes.as_deref());
    kv_opt(o, "notes_url", c.notes_url.as_deref());
    kv_opt(o, "action_url", c.action_url.as_deref());
    let _ = write!(
        o,
        "\tretain_status_information\t{}\n\tretain_nonstatus_information\t{}\n",
        b(c.retain_status_information),
        b(c.retain_nonstatus_information)
    );
    for (k, val) in &c.custom_vars {
        let _ = writeln!(o, "\t_{k}\t{}", v(val));
    }
    o.push_str("\t}\n\n");
}

fn contact_names(cfg: &Config, ids: &[ContactId]) -> String {
    names(ids.iter().map(|c| &*cfg.contact(*c).name))
}

fn group_names(cfg: &Config, ids: &[ContactGroupId]) -> String {
    names(ids.iter().map(|g| &*cfg.contactgroups[g.index()].name))
}

fn sorted<T, K: Ord>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.sort_by_key(|t| key(t));
    v
}

/// `objects.cache` (and `precached_object_file`): every object, templates resolved, as
/// Nagios 4.4.6 writes it at start-up. `created` and `tz` give the header's time.
pub fn render_objects_cache(cfg: &Config, created: Time, tz: &jiff::tz::TimeZone) -> String {
    let mut o = String::with_capacity(4096 + 1500 * (cfg.hosts.len() + cfg.services.len()));
    let when = jiff::Timestamp::from_second(created)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(tz.clone())
        .strftime("%a %b %e %H:%M:%S %Y")
        .to_string();
    let _ = write!(
        o,
        "########################################\n\
         #       NAGIOS OBJECT CACHE FILE\n\
         #\n\
         # THIS FILE IS AUTOMATICALLY GENERATED\n\
         # BY NAGIOS.  DO NOT MODIFY THIS FILE!\n\
         #\n\
         # Created: {when}\n\
         ########################################\n\n"
    );
    for tp in sorted(&cfg.timeperiods, |t| t.name.clone()) {
        o.push_str("define timeperiod {\n");
        kv(&mut o, "timeperiod_name", &tp.name);
        kv(&mut o, "alias", &tp.alias);
        if !tp.exclude.is_empty() {
            kv(
                &mut o,
                "exclude",
                &names(tp.exclude.iter().map(|t| &*cfg.timeperiod(*t).name)),
            );
        }
        for e in &tp.exceptions {
            let _ = writeln!(o, "\t{}\t{}", date_spec(&e.spec, e.skip), ranges(&e.ranges));
        }
        for (d, r) in tp.weekdays.iter().enumerate() {
            if !r.is_empty() {
                let _ = writeln!(o, "\t{}\t{}", WEEKDAYS[d], ranges(r));
            }
        }
        o.push_str("\t}\n\n");
    }
    for c in sorted(&cfg.commands, |c| c.name.clone()) {
        o.push_str("define command {\n");
        kv(&mut o, "command_name", &c.name);
        kv(&mut o, "command_line", &c.line);
        o.push_str("\t}\n\n");
    }
    for g in sorted(&cfg.contactgroups, |g| g.name.clone()) {
        o.push_str("define contactgroup {\n");
        kv(&mut o, "contactgroup_name", &g.name);
        kv(&mut o, "alias", &g.alias);
        if !g.members.is_empty() {
            let mut m: Vec<&str> = g.members.iter().map(|c| &*cfg.contact(*c).name).collect();
            m.sort_unstable();
            kv(&mut o, "members", &names(m));
        }
        o.push_str("\t}\n\n");
    }
    for g in sorted(&cfg.hostgroups, |g| g.name.clone()) {
        o.push_str("define hostgroup {\n");
        kv(&mut o, "hostgroup_name", &g.name);
        kv(&mut o, "alias", &g.alias);
        if !g.members.is_empty() {
            let mut m: Vec<&str> = g.members.iter().map(|h| &*cfg.host(*h).name).collect();
            m.sort_unstable();
            kv(&mut o, "members", &names(m));
        }
        kv_opt(&mut o, "notes", g.notes.as_deref());
        kv_opt(&mut o, "notes_url", g.notes_url.as_deref());
        kv_opt(&mut o, "action_url", g.action_url.as_deref());
        o.push_str("\t}\n\n");
    }
    for g in sorted(&cfg.servicegroups, |g| g.name.clone()) {
        o.push_str("define servicegroup {\n");
        kv(&mut o, "servicegroup_name", &g.name);
        kv(&mut o, "alias", &g.alias);
        if !g.members.is_empty() {
            let mut m: Vec<(&str, &str)> = g
                .members
                .iter()
                .map(|s| {
                    let s = cfg.service(*s);
                    (&*cfg.host(s.host).name, &*s.description)
                })
                .collect();
            m.sort_unstable();
            kv(
                &mut o,
                "members",
                &names(m.iter().map(|(h, s)| format!("{h},{s}"))),
            );
        }
        kv_opt(&mut o, "notes", g.notes.as_deref());
        kv_opt(&mut o, "notes_url", g.notes_url.as_deref());
        kv_opt(&mut o, "action_url", g.action_url.as_deref());
        o.push_str("\t}\n\n");
    }
    for c in sorted(&cfg.contacts, |c| c.name.clone()) {
        o.push_str("define contact {\n");
        kv(&mut o, "contact_name", &c.name);
        kv(&mut o, "alias", &c.alias);
        if let Some(w) = c.ways.first() {
            kv_opt(
                &mut o,
                "service_notification_period",
                w.service_notification_period
                    .map(|t| &*cfg.timeperiod(t).name),
            );
            kv_opt(
                &mut o,
                "host_notification_period",
                w.host_notification_period.map(|t| &*cfg.timeperiod(t).name),
            );
            kv(
                &mut o,
                "service_notification_options",
                &opts(w.service_notification_options, OptSet::ServiceNotify),
            );
            kv(
                &mut o,
                "host_notification_options",
                &opts(w.host_notification_options, OptSet::HostNotify),
            );
            if !w.service_notification_commands.is_empty() {
                kv(
                    &mut o,
                    "service_notification_commands",
                    &names(w.service_notification_commands.iter().map(|c| call(cfg, c))),
                );
            }
            if !w.host_notification_commands.is_empty() {
                kv(
                    &mut o,
                    "host_notification_commands",
                    &names(w.host_notification_commands.iter().map(|c| call(cfg, c))),
                );
            }
        }
        kv_opt(&mut o, "email", c.email.as_deref());
        kv_opt(&mut o, "pager", c.pager.as_deref());
        for (i, a) in c.addresses.iter().enumerate() {
            if let Some(a) = a {
                let _ = writeln!(o, "\taddress{}\t{}", i + 1, v(a));
            }
        }
        let _ = write!(
            o,
            "\tminimum_importance\t{}\n\
             \thost_notifications_enabled\t{}\n\
             \tservice_notifications_enabled\t{}\n\
             \tcan_submit_commands\t{}\n\
             \tretain_status_information\t{}\n\
             \tretain_nonstatus_information\t{}\n",
            c.minimum_importance,
            b(c.host_notifications_enabled),
            b(c.service_notifications_enabled),
            b(c.can_submit_commands),
            b(c.retain_status_information),
            b(c.retain_nonstatus_information),
        );
        for (k, val) in &c.custom_vars {
            let _ = writeln!(o, "\t_{k}\t{}", v(val));
        }
        o.push_str("\t}\n\n");
    }
    for id in sorted_hosts(cfg) {
        let h = cfg.host(id);
        o.push_str("define host {\n");
        kv(&mut o, "host_name", &h.name);
        if *h.common.display_name != *h.name {
            kv(&mut o, "display_name", &h.common.display_name);
        }
        kv(&mut o, "alias", &h.alias);
        kv(&mut o, "address", &h.address);
        if !h.parents.is_empty() {
            kv(
                &mut o,
                "parents",
                &names(h.parents.iter().map(|p| &*cfg.host(*p).name)),
            );
        }
        checkable(&mut o, cfg, &h.common, true);
        checkable_tail(&mut o, &h.common, true);
    }
    for id in sorted_services(cfg) {
        let s = cfg.service(id);
        let c = &*s.common;
        o.push_str("define service {\n");
        kv(&mut o, "host_name", &cfg.host(s.host).name);
        kv(&mut o, "service_description", &s.description);
        if *c.display_name != *s.description {
            kv(&mut o, "display_name", &c.display_name);
        }
        if !s.parents.is_empty() {
            kv(
                &mut o,
                "parents",
                &names(s.parents.iter().map(|p| {
                    let p = cfg.service(*p);
                    format!("{},{}", cfg.host(p.host).name, p.description)
                })),
            );
        }
        checkable(&mut o, cfg, c, false);
        let _ = write!(
            o,
            "\tis_volatile\t{}\n\tparallelize_check\t{}\n",
            b(s.is_volatile),
            b(s.parallelize_check)
        );
        checkable_tail(&mut o, c, false);
    }
    for d in &cfg.servicedependencies {
        let (m, dep) = (cfg.service(d.master), cfg.service(d.dependent));
        for (key, crit) in [
            ("execution_failure_options", d.execution_failure),
            ("notification_failure_options", d.notification_failure),
        ] {
            if crit.is_empty() {
                continue;
            }
            o.push_str("define servicedependency {\n");
            kv(&mut o, "host_name", &cfg.host(m.host).name);
            kv(&mut o, "service_description", &m.description);
            kv(&mut o, "dependent_host_name", &cfg.host(dep.host).name);
            kv(&mut o, "dependent_service_description", &dep.description);
            kv_opt(
                &mut o,
                "dependency_period",
                d.period.map(|t| &*cfg.timeperiod(t).name),
            );
            let _ = writeln!(o, "\tinherits_parent\t{}", b(d.inherits_parent));
            kv(&mut o, key, &opts(crit, OptSet::ServiceDep));
            o.push_str("\t}\n\n");
        }
    }
    for e in &cfg.serviceescalations {
        let s = cfg.service(e.service);
        o.push_str("define serviceescalation {\n");
        kv(&mut o, "host_name", &cfg.host(s.host).name);
        kv(&mut o, "service_description", &s.description);
        escalation(&mut o, cfg, &e.escalation, OptSet::ServiceEscalation);
    }
    for d in &cfg.hostdependencies {
        for (key, crit, set) in [
            (
                "execution_failure_options",
                d.execution_failure,
                d.execution_set,
            ),
            (
                "notification_failure_options",
                d.notification_failure,
                !d.notification_failure.is_empty(),
            ),
        ] {
            if !set {
                continue;
            }
            o.push_str("define hostdependency {\n");
            kv(&mut o, "host_name", &cfg.host(d.master).name);
            kv(&mut o, "dependent_host_name", &cfg.host(d.dependent).name);
            kv_opt(
                &mut o,
                "dependency_period",
                d.period.map(|t| &*cfg.timeperiod(t).name),
            );
            let _ = writeln!(o, "\tinherits_parent\t{}", b(d.inherits_parent));
            kv(&mut o, key, &opts(crit, OptSet::HostDep));
            o.push_str("\t}\n\n");
        }
    }
    for e in &cfg.hostescalations {
        o.push_str("define hostescalation {\n");
        kv(&mut o, "host_name", &cfg.host(e.host).name);
        escalation(&mut o, cfg, &e.escalation, OptSet::HostEscalation);
    }
    o
}

fn escalation(o: &mut String, cfg: &Config, e: &picket_config::Escalation, set: OptSet) {
    let _ = write!(
        o,
        "\tfirst_notification\t{}\n\tlast_notification\t{}\n\tnotification_interval\t{:.6}\n",
        e.first_notification, e.last_notification, e.notification_interval
    );
    kv_opt(
        o,
        "escalation_period",
        e.period.map(|t| &*cfg.timeperiod(t).name),
    );
    let options = if e.options.is_empty() {
        "a".to_owned()
    } else {
        opts(e.options, set)
    };
    kv(o, "escalation_options", &options);
    if !e.contacts.is_empty() {
        kv(o, "contacts", &contact_names(cfg, &e.contacts));
    }
    o.push_str("\t}\n\n");
}
