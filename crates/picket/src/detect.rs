//! Scan detection in the daemon: the glue between the engine thread's inputs and
//! `picket_correlator`.
//!
//! The [`Detect`] is owned by the engine thread beside the [`Engine`] and, like it, is
//! deterministic: every call carries `now`, and `retention::Entry::apply` is the only
//! caller, live and on replay alike, so a replayed journal rebuilds the same holds and
//! incidents.
//!
//! * A passive result of a Denied service (`denied_services=`, the seed's `TCP Wrappers`)
//!   on a known host whose output is `<denied_prefix> <daemon>-<client>` — from the FIFO
//!   (`PROCESS_SERVICE_CHECK_RESULT`), built-in NSCA or `POST /api/results` — becomes a
//!   [`ConnectionEvent`] and is *not* processed at once: the correlator holds it.
//!   *Released* (no incident took it within `hold`): the original result goes through the
//!   engine unchanged, so the seed's alert and notification happen, at most `hold` late.
//!   *Folded* into an incident: a `CONNECTION EVENT` log line instead (contract C1: every
//!   event is in the log exactly once). Allow-listed sources are processed at once.
//! * `POST /api/connection-events` events (the sensors) are observed the same way; one
//!   that is released is submitted as a `Denied <daemon>-<source>` result of its
//!   reporter's Denied service when it is a refusal and the reporter has one, else logged as
//!   a `CONNECTION EVENT` line.
//! * Transitions are logged as `SCAN INCIDENT` lines and drive the incident service
//!   (`incident_host`/`incident_service`, a volatile passive service): *opened* and
//!   *escalated* submit a CRITICAL result (volatile: each one alerts and notifies once);
//!   *updated* is only logged — on a volatile service every non-OK result notifies, so an
//!   update submitted as a result would notify; *closed* submits OK (a recovery) when no
//!   incident is open any more, and is only logged while others are still open (an OK
//!   would recover the service under an open incident).
//!
//! Results of other services, and a configuration without `detection_config_file`, take
//! the engine's path untouched. Not intercepted: the lines of a `PROCESS_FILE` file (they
//! go to the engine as before).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use picket_correlator::{
    Config, ConnectionEvent, Correlator, Disposition, IncidentView, Kind, Snapshot, Source, Stats,
    Transition, TransitionKind,
};
use picket_engine::{CommandName, Engine, PassiveResult, Time};
use serde::{Deserialize, Serialize};

/// Reads and parses a `detection.cfg` (`file:line` errors).
pub(crate) fn read_config(path: &Path) -> anyhow::Result<Config> {
    let text = picket_config::read_config_file(path)
        .with_context(|| format!("detection_config_file {}", path.display()))?;
    Config::parse(&path.display().to_string(), &text).map_err(anyhow::Error::msg)
}

/// Checks a detection configuration against the objects: errors (the incident service
/// must exist and be passive) and warnings (not volatile, no Denied service anywhere).
pub(crate) fn check_objects(d: &Config, cfg: &picket_config::Config) -> (Vec<String>, Vec<String>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    match (&d.incident_host, &d.incident_service) {
        (Some(h), Some(s)) => match cfg.service_by_name(h, s) {
            None if cfg.host_by_name(h).is_none() => errors.push(format!(
                "Error: detection: incident_host '{h}' is not a defined host"
            )),
            None => errors.push(format!(
                "Error: detection: incident_service '{s}' is not a service of host '{h}'"
            )),
            Some(id) => {
                let svc = cfg.service(id);
                if !svc.common.passive_checks_enabled {
                    errors.push(format!(
                        "Error: detection: the incident service '{h};{s}' does not accept passive checks"
                    ));
                }
                if !svc.is_volatile {
                    warnings.push(format!(
                        "Warning: detection: the incident service '{h};{s}' is not volatile: a second incident while it is CRITICAL will not notify"
                    ));
                }
            }
        },
        _ => warnings.push(
            "Warning: detection: no incident_host/incident_service: incidents are only logged (SCAN INCIDENT lines), nobody is notified".to_string(),
        ),
    }
    let denied = cfg
        .services
        .iter()
        .filter(|s| d.denied_services.iter().any(|n| **n == *s.description))
        .count();
    if denied == 0 {
        warnings.push(format!(
            "Warning: detection: no host has a Denied service ({})",
            d.denied_services.join(", ")
        ));
    }
    (errors, warnings)
}

/// One line for `picket -v` and the start-up: what detection does.
pub(crate) fn summary(d: &Config, cfg: &picket_config::Config) -> String {
    let denied = cfg
        .services
        .iter()
        .filter(|s| d.denied_services.iter().any(|n| **n == *s.description))
        .count();
    let target = match (&d.incident_host, &d.incident_service) {
        (Some(h), Some(s)) => format!("incidents notify through '{h};{s}'"),
        _ => "incidents are only logged".to_string(),
    };
    format!(
        "Scan detection: '{} <daemon>-<client>' results of {} ({} service(s)) are held {} s and correlated; {target}; closed after {} s quiet",
        d.denied_prefix,
        d.denied_services.join(", "),
        denied,
        d.hold,
        d.quiet
    )
}

/// A result held by the correlator, kept to be processed unchanged when it is released.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Original {
    /// A command line (FIFO or web), for `Engine::process_line`.
    Line(String),
    /// A built-in NSCA result, for `Engine::process_passive`.
    Passive {
        host: String,
        service: Option<String>,
        return_code: i32,
        output: String,
        check_time: Time,
    },
}

/// What survives a restart: the correlator and the held results (saved with the
/// retention snapshot).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DetectSnapshot {
    correlator: Snapshot,
    pending: Vec<(u64, Original)>,
    next_tag: u64,
}

impl DetectSnapshot {
    /// The held results, for a restart without detection (processed at once then).
    pub(crate) fn release_all(self, engine: &mut Engine, now: Time) -> usize {
        let n = self.pending.len();
        for (_, o) in self.pending {
            process_original(engine, now, o);
        }
        n
    }
}

fn process_original(engine: &mut Engine, now: Time, o: Original) {
    match o {
        Original::Line(l) => engine.process_line(now, &l),
        Original::Passive {
            host,
            service,
            return_code,
            output,
            check_time,
        } => engine.process_passive(
            now,
            &PassiveResult {
                host,
                service,
                return_code,
                output,
                check_time,
            },
        ),
    }
}

/// The counters and gauges for `/metrics` (a copy, taken on the engine thread).
#[derive(Debug, Clone, Default)]
pub(crate) struct DetectStats {
    pub(crate) stats: Stats,
    pub(crate) held: usize,
    pub(crate) open_incidents: usize,
    pub(crate) tracked_sources: usize,
    pub(crate) bad_denied: u64,
}

type Pick = fn(&DetectStats) -> u64;

/// Mirrors [`DetectStats`] into `/metrics` as `picket_correlator_*` (the engine thread
/// calls [`Exporter::update`] about once a second).
pub(crate) struct Exporter {
    counters: Vec<(Pick, picket_web::Counter)>,
    gauges: Vec<(Pick, picket_web::Gauge)>,
    last: DetectStats,
}

impl Exporter {
    pub(crate) fn new(m: &picket_web::Metrics) -> Exporter {
        let c = |name: &str, help: &str, l: &[(&str, &str)]| m.counter(name, help, l);
        let evicted = |what: &str| {
            c(
                "picket_correlator_evictions_total",
                "Correlator state evicted at its memory caps, by what.",
                &[("what", what)],
            )
        };
        let counters: Vec<(Pick, picket_web::Counter)> = vec![
            (
                |d| d.stats.events,
                c(
                    "picket_correlator_events_total",
                    "Connection events given to the correlator.",
                    &[],
                ),
            ),
            (
                |d| d.stats.allowed,
                c(
                    "picket_correlator_allowed_total",
                    "Connection events from allow-listed sources (not correlated).",
                    &[],
                ),
            ),
            (
                |d| d.stats.unknown_source,
                c(
                    "picket_correlator_unknown_source_total",
                    "Connection events whose source address was lost (correlated as 'unknown').",
                    &[],
                ),
            ),
            (
                |d| d.stats.folded,
                c(
                    "picket_correlator_folded_total",
                    "Connection events folded into an incident.",
                    &[],
                ),
            ),
            (
                |d| d.stats.held,
                c(
                    "picket_correlator_held_total",
                    "Lone refusals put on hold.",
                    &[],
                ),
            ),
            (
                |d| d.stats.released,
                c(
                    "picket_correlator_released_total",
                    "Held refusals released after the hold (notified as the seed does).",
                    &[("reason", "hold")],
                ),
            ),
            (
                |d| d.stats.released_overflow,
                c(
                    "picket_correlator_released_total",
                    "Held refusals released after the hold (notified as the seed does).",
                    &[("reason", "overflow")],
                ),
            ),
            (
                |d| d.stats.opened,
                c(
                    "picket_correlator_incidents_opened_total",
                    "Scan incidents opened.",
                    &[],
                ),
            ),
            (
                |d| d.stats.escalated,
                c(
                    "picket_correlator_incidents_escalated_total",
                    "Scan incidents escalated.",
                    &[],
                ),
            ),
            (
                |d| d.stats.closed,
                c(
                    "picket_correlator_incidents_closed_total",
                    "Scan incidents closed.",
                    &[],
                ),
            ),
            (|d| d.stats.evicted_sources, evicted("sources")),
            (|d| d.stats.evicted_prefixes, evicted("prefixes")),
            (|d| d.stats.evicted_entries, evicted("entries")),
            (|d| d.stats.evicted_incidents, evicted("incidents")),
            (|d| d.stats.name_overflow, evicted("names")),
            (
                |d| d.stats.future_events,
                c(
                    "picket_correlator_future_events_total",
                    "Connection events stamped in the future (taken as now).",
                    &[],
                ),
            ),
            (
                |d| d.bad_denied,
                c(
                    "picket_correlator_bad_denied_total",
                    "Denied results whose output is no event (bad client or daemon): processed as ordinary results.",
                    &[],
                ),
            ),
        ];
        let g = |name: &str, help: &str| m.gauge(name, help, &[]);
        let gauges: Vec<(Pick, picket_web::Gauge)> = vec![
            (
                |d| d.held as u64,
                g("picket_correlator_held", "Lone refusals held now."),
            ),
            (
                |d| d.open_incidents as u64,
                g(
                    "picket_correlator_open_incidents",
                    "Scan incidents open now.",
                ),
            ),
            (
                |d| d.tracked_sources as u64,
                g(
                    "picket_correlator_tracked_sources",
                    "Sources the correlator keeps observations of.",
                ),
            ),
        ];
        Exporter {
            counters,
            gauges,
            last: DetectStats::default(),
        }
    }

    pub(crate) fn update(&mut self, d: &Detect) {
        let now = d.export();
        for (pick, c) in &self.counters {
            c.add(pick(&now).saturating_sub(pick(&self.last)));
        }
        for (pick, g) in &self.gauges {
            g.set(i64::try_from(pick(&now)).unwrap_or(i64::MAX));
        }
        self.last = now;
    }
}

/// The detection state of the engine thread.
#[derive(Debug)]
pub(crate) struct Detect {
    corr: Correlator,
    pending: BTreeMap<u64, Original>,
    next_tag: u64,
    /// Denied-looking outputs that are no event (`Denied` with a bad client, …): processed
    /// as ordinary results and counted.
    bad_denied: u64,
}

impl Detect {
    pub(crate) fn new(cfg: Config) -> Detect {
        let mut corr = Correlator::new(cfg);
        corr.report_folds(true);
        Detect {
            corr,
            pending: BTreeMap::new(),
            next_tag: 1,
            bad_denied: 0,
        }
    }

    /// Resumes from a snapshot: open incidents stay open (not notified again), held
    /// results are still released when their hold ends.
    pub(crate) fn restore(cfg: Config, snap: DetectSnapshot) -> Result<Detect, String> {
        let mut corr = Correlator::restore(cfg, snap.correlator)?;
        corr.report_folds(true);
        Ok(Detect {
            corr,
            pending: snap.pending.into_iter().collect(),
            next_tag: snap.next_tag.max(1),
            bad_denied: 0,
        })
    }

    pub(crate) fn snapshot(&self) -> DetectSnapshot {
        DetectSnapshot {
            correlator: self.corr.snapshot(),
            pending: self.pending.iter().map(|(k, v)| (*k, v.clone())).collect(),
            next_tag: self.next_tag,
        }
    }

    pub(crate) fn config(&self) -> &Config {
        self.corr.config()
    }

    /// The counters and gauges for `/metrics`.
    pub(crate) fn export(&self) -> DetectStats {
        let (sources, _, held) = self.corr.tracked();
        DetectStats {
            stats: self.corr.stats().clone(),
            held,
            open_incidents: self.corr.open_count(),
            tracked_sources: sources,
            bad_denied: self.bad_denied,
        }
    }

    /// When the correlator has something due.
    pub(crate) fn next_wakeup(&self) -> Option<Time> {
        self.corr.next_wakeup()
    }

    pub(crate) fn due(&self, now: Time) -> bool {
        self.next_wakeup().is_some_and(|w| w <= now)
    }

    pub(crate) fn tick(&mut self, engine: &mut Engine, now: Time) {
        self.corr.tick(now);
        self.drain(engine, now);
    }

    fn is_denied_service(&self, service: &str) -> bool {
        self.corr
            .config()
            .denied_services
            .iter()
            .any(|s| s == service)
    }

    /// The event of a Denied service's result, if it is one; the host as its object name.
    fn event_of(
        &mut self,
        engine: &Engine,
        host: &str,
        service: &str,
        time: Time,
        output: &str,
    ) -> Option<ConnectionEvent> {
        if !self.is_denied_service(service) {
            return None;
        }
        let cfg = engine.config();
        let hid = engine.find_host(host)?;
        let name = &*cfg.host(hid).name;
        cfg.find_service(hid, service)?;
        match self.corr.config().parse_result(time, name, output) {
            Ok(ev) => Some(ev),
            Err(picket_correlator::DeniedError::NotDenied) => None,
            Err(_) => {
                self.bad_denied += 1;
                None
            }
        }
    }

    /// A command line: true when detection took it (held or folded), false when the
    /// caller processes it as usual.
    pub(crate) fn line(&mut self, engine: &mut Engine, now: Time, line: &str) -> bool {
        let Ok(raw) = picket_engine::commands::split_line(line) else {
            return false;
        };
        if CommandName::parse(raw.name) != Some(CommandName::ProcessServiceCheckResult) {
            return false;
        }
        let mut f = raw.args.splitn(4, ';');
        let (Some(host), Some(service), Some(_rc), Some(output)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            return false;
        };
        let Some(ev) = self.event_of(engine, host, service, raw.entry_time, output) else {
            return false;
        };
        self.take(engine, now, ev, Original::Line(line.to_string()))
    }

    /// A built-in NSCA result: true when detection took it.
    pub(crate) fn passive(&mut self, engine: &mut Engine, now: Time, r: &PassiveResult) -> bool {
        let Some(service) = r.service.as_deref() else {
            return false;
        };
        let Some(ev) = self.event_of(engine, &r.host, service, r.check_time, &r.output) else {
            return false;
        };
        let o = Original::Passive {
            host: r.host.clone(),
            service: r.service.clone(),
            return_code: r.return_code,
            output: r.output.clone(),
            check_time: r.check_time,
        };
        self.take(engine, now, ev, o)
    }

    fn take(&mut self, engine: &mut Engine, now: Time, ev: ConnectionEvent, o: Original) -> bool {
        let tag = self.next_tag;
        self.next_tag += 1;
        let taken = match self.corr.observe_tagged(now, ev, tag) {
            Disposition::Allowed => false,
            Disposition::Held => {
                self.pending.insert(tag, o);
                true
            }
            Disposition::Folded => true,
        };
        self.drain(engine, now);
        taken
    }

    /// Events from `POST /api/connection-events`.
    pub(crate) fn events(&mut self, engine: &mut Engine, now: Time, events: &[ConnectionEvent]) {
        for ev in events {
            if self.corr.observe_tagged(now, ev.clone(), 0) == Disposition::Allowed {
                log_event(engine, now, &ev.clone().bounded());
            }
            self.drain(engine, now);
        }
    }

    fn drain(&mut self, engine: &mut Engine, now: Time) {
        for f in self.corr.take_folded() {
            self.pending.remove(&f.tag);
            log_event(engine, now, &f.event);
        }
        for t in self.corr.take_transitions() {
            self.transition(engine, now, t);
        }
    }

    fn transition(&mut self, engine: &mut Engine, now: Time, t: Transition) {
        if t.kind == TransitionKind::Released {
            match self.pending.remove(&t.tag) {
                Some(o) if t.tag != 0 => process_original(engine, now, o),
                _ => {
                    if let Some(ev) = &t.event {
                        self.release_event(engine, now, ev);
                    }
                }
            }
            return;
        }
        let Some(view) = &t.incident else {
            return;
        };
        engine.log_external(now, &incident_line(&t, view));
        let submit = match t.kind {
            TransitionKind::Opened | TransitionKind::Escalated => true,
            TransitionKind::Closed => t.open_incidents == 0,
            TransitionKind::Updated | TransitionKind::Released => false,
        };
        let cfg = self.corr.config();
        if let (true, Some(host), Some(service)) =
            (submit, &cfg.incident_host, &cfg.incident_service)
        {
            let r = PassiveResult {
                host: host.clone(),
                service: Some(service.clone()),
                return_code: i32::from(t.status.code()),
                output: t.output.clone(),
                check_time: now,
            };
            engine.process_passive(now, &r);
        }
    }

    /// A released sensor event: the seed's Denied result on its reporter when it is a
    /// refusal and the reporter has a Denied service; else its `CONNECTION EVENT` line.
    fn release_event(&mut self, engine: &mut Engine, now: Time, ev: &ConnectionEvent) {
        if ev.kind == Kind::Refused {
            let cfg = engine.config();
            let service = engine.find_host(&ev.reporter).and_then(|h| {
                self.corr
                    .config()
                    .denied_services
                    .iter()
                    .find(|s| cfg.find_service(h, s).is_some())
                    .cloned()
            });
            if let Some(service) = service {
                let r = PassiveResult {
                    host: ev.reporter.clone(),
                    service: Some(service),
                    return_code: 2,
                    output: format!(
                        "{} {}-{}",
                        self.corr.config().denied_prefix,
                        ev.daemon.as_deref().unwrap_or("unknown"),
                        ev.source
                    ),
                    check_time: ev.time.min(now),
                };
                engine.process_passive(now, &r);
                return;
            }
        }
        log_event(engine, now, ev);
    }
}

/// `CONNECTION EVENT: <event_time>;<reporter>;<source>;<proto>;<port>;<daemon>;<kind>;<count>;<raw>`
/// (contract C1; `ev` is bounded: names cleaned, raw capped), rendered by `picket_log`.
pub(crate) fn event_line(ev: &ConnectionEvent) -> String {
    let source = match &ev.source {
        Source::Addr(ip) => ip.to_string(),
        Source::Name(n) => picket_correlator::clean_name(n),
        Source::Unknown => "unknown".to_string(),
    };
    let reporter = picket_correlator::clean_name(&ev.reporter);
    let daemon = ev.daemon.as_deref().map(picket_correlator::clean_name);
    picket_log::Record::ConnectionEvent(picket_log::ConnectionEvent {
        event_time: ev.time,
        reporter: &reporter,
        source: &source,
        proto: ev.proto.map(|p| p.name()),
        port: ev.dest_port,
        daemon: daemon.as_deref(),
        kind: ev.kind.name(),
        count: ev.count.max(1),
        raw: &ev.raw,
    })
    .to_string()
}

/// Logs one event (detection on or off; `log_external` removes line breaks).
pub(crate) fn log_event(engine: &mut Engine, now: Time, ev: &ConnectionEvent) {
    engine.log_external(now, &event_line(ev));
}

fn list(v: &[String]) -> String {
    v.iter()
        .map(|s| picket_correlator::clean_name(s))
        .collect::<Vec<_>>()
        .join(",")
}

/// `SCAN INCIDENT: <id>;<transition>;<key>;<detectors>;<events>;<host_count>;<port_count>;
/// <source_count>;<first_seen>;<last_seen>;<recurrence>;<hosts>;<ports>;<daemons>;<output>`
/// (contract C1), rendered by `picket_log`.
fn incident_line(t: &Transition, v: &IncidentView) -> String {
    let transition = match t.kind {
        TransitionKind::Opened => "opened",
        TransitionKind::Updated => "updated",
        TransitionKind::Escalated => "escalated",
        TransitionKind::Closed => "closed",
        TransitionKind::Released => "released",
    };
    let key = match &v.key {
        picket_correlator::IncidentKey::Source(Source::Name(n)) => picket_correlator::clean_name(n),
        k => k.to_string(),
    };
    let detectors = v
        .detectors
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join(",");
    let (hosts, ports, daemons) = (list(&v.hosts), list(&v.ports), list(&v.daemons));
    picket_log::Record::ScanIncident(picket_log::ScanIncident {
        id: v.id,
        transition,
        key: &key,
        detectors: picket_log::List(&detectors),
        events: v.events,
        host_count: v.host_count as u64,
        port_count: v.port_count as u64,
        source_count: v.source_count as u64,
        first_seen: v.first_seen,
        last_seen: v.last_seen,
        recurrence: v.recurrence,
        hosts: picket_log::List(&hosts),
        ports: picket_log::List(&ports),
        daemons: picket_log::List(&daemons),
        output: &t.output,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::{Entry, Store};

    const HOLD: i64 = 30;

    fn engine() -> Engine {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut objs = String::from(
            "define command {\n command_name n\n command_line /bin/true\n}\n\
             define timeperiod {\n timeperiod_name all\n alias all\n sunday 00:00-24:00\n monday 00:00-24:00\n\
             tuesday 00:00-24:00\n wednesday 00:00-24:00\n thursday 00:00-24:00\n friday 00:00-24:00\n saturday 00:00-24:00\n}\n\
             define contact {\n contact_name c\n service_notification_period all\n\
             host_notification_period all\n service_notification_commands n\n\
             service_notification_options w,u,c,r\n host_notification_options d,r\n\
             host_notification_commands n\n}\n",
        );
        let svc = |h: &str, s: &str| {
            format!(
                "define service {{\n host_name {h}\n service_description {s}\n check_command n\n\
                 max_check_attempts 1\n is_volatile 1\n active_checks_enabled 0\n check_interval 1\n retry_interval 1\n\
                 check_period all\n notification_period all\n notification_interval 0\n contacts c\n}}\n"
            )
        };
        for h in ["w1", "w2", "w3", "w4", "network"] {
            objs.push_str(&format!(
                "define host {{\n host_name {h}\n max_check_attempts 1\n check_period all\n active_checks_enabled 0\n}}\n"
            ));
        }
        for h in ["w1", "w2", "w3", "w4"] {
            objs.push_str(&svc(h, "TCP Wrappers"));
            objs.push_str(&svc(h, "Other"));
        }
        objs.push_str(&svc("network", "Port scans"));
        let cfg = dir.path().join("objects.cfg");
        std::fs::write(&cfg, objs).expect("objects");
        let main = dir.path().join("main.cfg");
        std::fs::write(&main, format!("cfg_file={}\n", cfg.display())).expect("main");
        let loaded =
            picket_config::load(&main, &picket_config::LoadOptions::default()).expect("load");
        assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
        Engine::new(
            std::sync::Arc::new(loaded.config),
            jiff::tz::TimeZone::UTC,
            picket_engine::EngineOptions::default(),
        )
    }

    fn detection() -> Config {
        Config::parse(
            "detection.cfg",
            &format!("hold={HOLD}s\nincident_host=network\nincident_service=Port scans\n"),
        )
        .expect("detection.cfg")
    }

    fn denied(t: i64, host: &str, src: &str) -> String {
        format!("[{t}] PROCESS_SERVICE_CHECK_RESULT;{host};TCP Wrappers;2;Denied sshd-{src}\n")
    }

    fn log(e: &mut Engine) -> Vec<String> {
        e.take_outputs().log.lines().map(str::to_string).collect()
    }

    fn count(log: &[String], what: &str) -> usize {
        log.iter().filter(|l| l.contains(what)).count()
    }

    #[test]
    fn a_sweep_is_one_notification_and_every_refusal_is_logged_once() {
        let (mut e, mut d) = (engine(), Detect::new(detection()));
        for (i, h) in ["w1", "w2", "w3", "w4"].iter().enumerate() {
            let t = 1000 + i as i64;
            Entry::Lines(denied(t, h, "203.0.113.5").as_bytes()).apply_with(
                &mut e,
                Some(&mut d),
                t,
            );
        }
        let l = log(&mut e);
        assert_eq!(count(&l, "] CONNECTION EVENT: "), 4, "{l:#?}");
        assert_eq!(
            count(
                &l,
                "] SCAN INCIDENT: 1;opened;203.0.113.5;horizontal;3;3;1;1;1000;1002;0;w1,w2,w3;sshd;sshd;203.0.113.5 scanned 3 hosts on sshd (w1, w2, w3) since 00:16:40"
            ),
            1,
            "{l:#?}"
        );
        assert_eq!(
            count(&l, "SERVICE NOTIFICATION: c;network;Port scans;CRITICAL;"),
            1
        );
        assert_eq!(count(&l, ";TCP Wrappers;"), 0, "{l:#?}");
        assert!(l.iter().any(|x| x.ends_with(
            "] CONNECTION EVENT: 1003;w4;203.0.113.5;-;-;sshd;refused;1;Denied sshd-203.0.113.5"
        )));
        // Nothing was held: the hold passing changes nothing.
        Entry::Tick.apply_with(&mut e, Some(&mut d), 1003 + HOLD);
        assert!(log(&mut e).is_empty());
        assert_eq!(d.export().stats.opened, 1);
    }

    #[test]
    fn a_lone_refusal_goes_through_unchanged_after_the_hold() {
        let (mut e, mut d) = (engine(), Detect::new(detection()));
        let line = denied(1000, "w1", "198.51.100.7");
        Entry::Lines(line.as_bytes()).apply_with(&mut e, Some(&mut d), 1000);
        assert!(log(&mut e).is_empty(), "held");
        assert!(!d.due(1000 + HOLD - 1));
        crate::retention::tick(&mut e, Some(&mut d), None, 1000 + HOLD - 1).expect("tick");
        assert!(log(&mut e).is_empty(), "still held");
        assert!(d.due(1000 + HOLD));
        crate::retention::tick(&mut e, Some(&mut d), None, 1000 + HOLD).expect("tick");
        let with = log(&mut e);
        // The same line processed at the release time without detection.
        let mut plain = engine();
        Entry::Lines(line.as_bytes()).apply(&mut plain, 1000 + HOLD);
        let without = log(&mut plain);
        assert_eq!(with, without);
        assert_eq!(
            count(&with, "SERVICE NOTIFICATION: c;w1;TCP Wrappers;CRITICAL;"),
            1
        );
    }

    #[test]
    fn other_results_take_the_engine_path_at_once() {
        let (mut e, mut d) = (engine(), Detect::new(detection()));
        let mut plain = engine();
        let lines = "[1000] PROCESS_SERVICE_CHECK_RESULT;w1;TCP Wrappers;0;OK all quiet\n\
                     [1000] PROCESS_SERVICE_CHECK_RESULT;w1;Other;2;Denied sshd-198.51.100.7\n\
                     [1000] PROCESS_SERVICE_CHECK_RESULT;w1;TCP Wrappers;2;Denied sshd-;rm\n\
                     [1000] PROCESS_SERVICE_CHECK_RESULT;nosuch;TCP Wrappers;2;Denied sshd-1.2.3.4\n";
        Entry::Lines(lines.as_bytes()).apply_with(&mut e, Some(&mut d), 1000);
        Entry::Lines(lines.as_bytes()).apply(&mut plain, 1000);
        assert_eq!(log(&mut e), log(&mut plain));
        assert_eq!(d.export().bad_denied, 1);
        let r = PassiveResult {
            host: "w2".into(),
            service: Some("Other".into()),
            return_code: 1,
            output: "Denied x-1.2.3.4".into(),
            check_time: 1000,
        };
        Entry::Passive(std::slice::from_ref(&r)).apply_with(&mut e, Some(&mut d), 1001);
        Entry::Passive(std::slice::from_ref(&r)).apply(&mut plain, 1001);
        assert_eq!(log(&mut e), log(&mut plain));
    }

    #[test]
    fn events_without_detection_are_logged() {
        let mut e = engine();
        let ev: ConnectionEvent = serde_json::from_str(
            r#"{"time": 990, "reporter": "web1", "source": {"addr": "203.0.113.5"},
                "dest_port": 22, "proto": "tcp", "daemon": "sshd", "kind": "auth_fail",
                "raw": "Failed password\nfor root; x"}"#,
        )
        .expect("event");
        Entry::Events(&[ev]).apply(&mut e, 1000);
        assert_eq!(
            log(&mut e),
            [
                "[1000] CONNECTION EVENT: 990;web1;203.0.113.5;tcp;22;sshd;auth_fail;1;Failed password for root; x"
            ]
        );
    }

    /// A refusal of sshd on `host` from the scanner 203.0.113.9, as the sensor posts it.
    fn ev(t: i64, host: &str) -> ConnectionEvent {
        serde_json::from_str(&format!(
            r#"{{"time": {t}, "reporter": "{host}", "source": {{"addr": "203.0.113.9"}}, "daemon": "sshd", "kind": "refused"}}"#
        ))
        .expect("event")
    }

    #[test]
    fn kill_9_mid_incident_neither_loses_nor_renotifies_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = dir.path().join("retention.dat");
        {
            let (mut e, mut d) = (engine(), Some(Detect::new(detection())));
            let (mut st, _) = Store::open_with(&snap, &mut e, &mut d).expect("open");
            st.save_with(&e, d.as_ref(), 999).expect("save");
            // A refusal from another source, held across the restart.
            let lone = denied(1000, "w4", "198.51.100.7");
            let entry = Entry::Lines(lone.as_bytes());
            st.append(1000, &entry).expect("journal");
            entry.apply_with(&mut e, d.as_mut(), 1000);
            let events = [ev(1000, "w1"), ev(1001, "w2"), ev(1002, "w3")];
            let entry = Entry::Events(&events);
            st.append(1002, &entry).expect("journal");
            entry.apply_with(&mut e, d.as_mut(), 1002);
            let l = log(&mut e);
            assert_eq!(count(&l, ";opened;203.0.113.9;"), 1, "{l:#?}");
            assert_eq!(count(&l, "SERVICE NOTIFICATION: c;network;Port scans;"), 1);
            // Half in the snapshot, half in the journal.
            st.save_with(&e, d.as_ref(), 1002).expect("save");
            let events = [ev(1003, "w4")];
            let entry = Entry::Events(&events);
            st.append(1003, &entry).expect("journal");
            entry.apply_with(&mut e, d.as_mut(), 1003);
            st.flush().expect("flush");
            st.mark_logged().expect("mark");
            assert_eq!(count(&log(&mut e), "] CONNECTION EVENT: 1003;w4;"), 1);
            // kill -9: no shutdown save.
        }
        let (mut e, mut d) = (engine(), Some(Detect::new(detection())));
        let (_st, replayed) = Store::open_with(&snap, &mut e, &mut d).expect("reopen");
        assert_eq!(replayed.records, 1);
        assert!(
            log(&mut e).is_empty(),
            "the replay logs and notifies nothing"
        );
        let d = d.as_mut().expect("detect");
        assert_eq!(d.export().open_incidents, 1);
        // The scanner again: folded, not a new incident nor a notification.
        Entry::Events(&[ev(1010, "w1")]).apply_with(&mut e, Some(d), 1010);
        let l = log(&mut e);
        assert_eq!(l.len(), 1, "{l:#?}");
        assert!(
            l[0].contains("] CONNECTION EVENT: 1010;w1;203.0.113.9;"),
            "{l:#?}"
        );
        // The held refusal from before the restart is still released, once.
        crate::retention::tick(&mut e, Some(d), None, 1000 + HOLD).expect("tick");
        let l = log(&mut e);
        assert_eq!(
            count(
                &l,
                "SERVICE ALERT: w4;TCP Wrappers;CRITICAL;HARD;1;Denied sshd-198.51.100.7"
            ),
            1,
            "{l:#?}"
        );
        assert_eq!(count(&l, "SERVICE NOTIFICATION: "), 1, "{l:#?}");
    }

    /// Retention is JSON: a snapshot taken after an incident closed must be written (the
    /// closed incidents' times once were a map with non-string keys, which serde_json
    /// refuses), and after a restart a new scan by the same source is a recurrence.
    #[test]
    fn a_closed_incident_is_saved_and_its_recurrence_known_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let snap = dir.path().join("retention.dat");
        {
            let (mut e, mut d) = (engine(), Some(Detect::new(detection())));
            let (mut st, _) = Store::open_with(&snap, &mut e, &mut d).expect("open");
            let events = [ev(1000, "w1"), ev(1001, "w2"), ev(1002, "w3")];
            Entry::Events(&events).apply_with(&mut e, d.as_mut(), 1002);
            assert_eq!(count(&log(&mut e), ";opened;203.0.113.9;"), 1);
            // Quiet for the default 30 minutes: closed (an OK result of the service).
            crate::retention::tick(&mut e, d.as_mut(), None, 1002 + 31 * 60).expect("tick");
            let l = log(&mut e);
            assert_eq!(count(&l, ";closed;203.0.113.9;"), 1, "{l:#?}");
            assert_eq!(d.as_ref().expect("detect").export().open_incidents, 0);
            st.save_with(&e, d.as_ref(), 1002 + 31 * 60)
                .expect("a snapshot with a closed incident is written");
        }
        let (mut e, mut d) = (engine(), Some(Detect::new(detection())));
        let (_st, _) = Store::open_with(&snap, &mut e, &mut d).expect("reopen");
        let t = 1002 + 40 * 60;
        let events = [ev(t, "w1"), ev(t + 1, "w2"), ev(t + 2, "w3")];
        Entry::Events(&events).apply_with(&mut e, d.as_mut(), t + 2);
        let l = log(&mut e);
        assert_eq!(count(&l, ";opened;203.0.113.9;"), 1, "{l:#?}");
        assert!(
            l.iter()
                .any(|x| x.contains("SCAN INCIDENT: ") && x.ends_with("(recurrence)")),
            "{l:#?}"
        );
        assert_eq!(count(&l, "SERVICE NOTIFICATION: "), 1, "{l:#?}");
    }
}
