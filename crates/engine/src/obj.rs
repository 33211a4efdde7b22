//! One handle for "a host or a service": the code that Nagios writes twice (once in
//! `*_host_*`, once in `*_service_*` functions) is written once over [`Obj`], and what
//! really differs (host states 0..2 against service states 0..3, UNREACHABLE, host
//! dependencies against service dependencies, the object's name in a log line) is a
//! `match` arm here or at the caller.

use std::fmt;

use picket_config::{Checkable, Config, HostId, Options, ServiceId};
use picket_log::{FlappingPhase, HostState, Notified, Record, ServiceState};

use crate::Engine;
use crate::status::{Status, Target, Time};

/// A host or a service (also the target of an active check, [`crate::CheckTarget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Obj {
    /// A host.
    Host(HostId),
    /// A service.
    Service(ServiceId),
}

/// The option bit of a service state (`o`, `w`, `c`, `u`).
pub(crate) fn svc_state_option(state: u8) -> Options {
    match state {
        0 => Options::OK,
        1 => Options::WARNING,
        2 => Options::CRITICAL,
        _ => Options::UNKNOWN,
    }
}

/// The option bit of a host state (`o`, `d`, `u`).
pub(crate) fn host_state_option(state: u8) -> Options {
    match state {
        0 => Options::OK,
        1 => Options::DOWN,
        _ => Options::UNKNOWN,
    }
}

impl Obj {
    /// The host: itself, or the service's host.
    pub(crate) fn host(self, cfg: &Config) -> HostId {
        match self {
            Obj::Host(h) => h,
            Obj::Service(s) => cfg.service(s).host,
        }
    }

    /// The service, if this is one.
    pub(crate) fn service(self) -> Option<ServiceId> {
        match self {
            Obj::Host(_) => None,
            Obj::Service(s) => Some(s),
        }
    }

    /// The settings hosts and services share.
    pub(crate) fn common(self, cfg: &Config) -> &Checkable {
        match self {
            Obj::Host(h) => &cfg.host(h).common,
            Obj::Service(s) => &cfg.service(s).common,
        }
    }

    /// The option bit of a state (`o`, `w`, `c`, `u` / `o`, `d`, `u`).
    pub(crate) fn state_option(self, state: u8) -> Options {
        match self {
            Obj::Host(_) => host_state_option(state),
            Obj::Service(_) => svc_state_option(state),
        }
    }

    /// The notification-option bit of a state: recoveries are `r`.
    pub(crate) fn notif_option(self, state: u8) -> Options {
        if state == 0 {
            Options::RECOVERY
        } else {
            self.state_option(state)
        }
    }

    /// `host;service` or `host`, as log lines name the object.
    pub(crate) fn subject(self, cfg: &Config) -> Subject<'_> {
        match self {
            Obj::Host(h) => Subject {
                host: &cfg.host(h).name,
                service: None,
            },
            Obj::Service(s) => {
                let s = cfg.service(s);
                Subject {
                    host: &cfg.host(s.host).name,
                    service: Some(&s.description),
                }
            }
        }
    }

    /// The names comments and downtimes are kept under.
    pub(crate) fn target(self, cfg: &Config) -> Target {
        let s = self.subject(cfg);
        Target {
            host: s.host.to_owned(),
            service: s.service.map(str::to_owned),
        }
    }
}

/// The object's names as a log line shows them (see [`Obj::subject`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) host: &'a str,
    pub(crate) service: Option<&'a str>,
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.host)?;
        if let Some(s) = self.service {
            f.write_str(";")?;
            f.write_str(s)?;
        }
        Ok(())
    }
}

/// The `nagios.log` records of an object: the host and service lines of one kind differ
/// only in the service field and the state vocabulary (`picket_log` keeps them apart
/// because their text does), so the folded engine code builds them here, one match each.
impl<'a> Subject<'a> {
    /// `SERVICE ALERT` / `HOST ALERT`.
    pub(crate) fn alert(
        self,
        state: u8,
        state_type: picket_log::StateType,
        attempt: u32,
        output: &'a str,
    ) -> Record<'a> {
        let host = self.host;
        match self.service {
            Some(service) => Record::ServiceAlert {
                host,
                service,
                state: ServiceState::from_code(state),
                state_type,
                attempt,
                output,
            },
            None => Record::HostAlert {
                host,
                state: HostState::from_code(state),
                state_type,
                attempt,
                output,
            },
        }
    }

    /// `SERVICE NOTIFICATION` / `HOST NOTIFICATION`.
    pub(crate) fn notification(
        self,
        contact: &'a str,
        kind: picket_log::NotificationType,
        state: u8,
        command: &'a str,
        output: &'a str,
        author: Option<(&'a str, &'a str)>,
    ) -> Record<'a> {
        let host = self.host;
        match self.service {
            Some(service) => Record::ServiceNotification {
                contact,
                host,
                service,
                kind: Notified {
                    kind,
                    state: ServiceState::from_code(state),
                },
                command,
                output,
                author,
            },
            None => Record::HostNotification {
                contact,
                host,
                kind: Notified {
                    kind,
                    state: HostState::from_code(state),
                },
                command,
                output,
                author,
            },
        }
    }

    /// `[GLOBAL ]SERVICE EVENT HANDLER` / `[GLOBAL ]HOST EVENT HANDLER`.
    pub(crate) fn event_handler(
        self,
        global: bool,
        state: u8,
        state_type: picket_log::StateType,
        attempt: u32,
        command: &'a str,
    ) -> Record<'a> {
        let host = self.host;
        match self.service {
            Some(service) => Record::ServiceEventHandler {
                global,
                host,
                service,
                state: ServiceState::from_code(state),
                state_type,
                attempt,
                command,
            },
            None => Record::HostEventHandler {
                global,
                host,
                state: HostState::from_code(state),
                state_type,
                attempt,
                command,
            },
        }
    }

    /// `SERVICE FLAPPING ALERT` / `HOST FLAPPING ALERT`.
    pub(crate) fn flapping(self, phase: FlappingPhase, message: &'a str) -> Record<'a> {
        let host = self.host;
        match self.service {
            Some(service) => Record::ServiceFlappingAlert {
                host,
                service,
                phase,
                message,
            },
            None => Record::HostFlappingAlert {
                host,
                phase,
                message,
            },
        }
    }
}

/// Which failure criteria of a dependency are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    /// `notification_failure_criteria`.
    Notification,
    /// `execution_failure_criteria`.
    Execution,
}

impl Engine {
    /// The status of a host or a service.
    pub(crate) fn status(&self, o: Obj) -> &Status {
        match o {
            Obj::Host(h) => &self.hosts[h.index()],
            Obj::Service(s) => &self.svcs[s.index()],
        }
    }

    /// The status of a host or a service, to change.
    pub(crate) fn status_mut(&mut self, o: Obj) -> &mut Status {
        match o {
            Obj::Host(h) => &mut self.hosts[h.index()],
            Obj::Service(s) => &mut self.svcs[s.index()],
        }
    }

    /// `check_service_dependencies()` / `check_host_dependencies()`: whether a
    /// dependency of `o` (of `kind`) fails, following `inherits_parent` up to 16 deep.
    pub(crate) fn dependencies_failed(&self, o: Obj, kind: DepKind, now: Time, depth: u32) -> bool {
        if depth > 16 {
            return false;
        }
        let list = match (o, kind) {
            (Obj::Service(s), DepKind::Notification) => &self.svc_notify_deps[s.index()],
            (Obj::Service(s), DepKind::Execution) => &self.sched.svc_exec_deps[s.index()],
            (Obj::Host(h), DepKind::Notification) => &self.host_notify_deps[h.index()],
            (Obj::Host(h), DepKind::Execution) => &self.sched.host_exec_deps[h.index()],
        };
        for &di in list {
            let d = match o {
                Obj::Service(_) => self.cfg.servicedependencies.get(di as usize).map(|d| Dep {
                    master: Obj::Service(d.master),
                    period: d.period,
                    notification_failure: d.notification_failure,
                    execution_failure: d.execution_failure,
                    inherits_parent: d.inherits_parent,
                }),
                Obj::Host(_) => self.cfg.hostdependencies.get(di as usize).map(|d| Dep {
                    master: Obj::Host(d.master),
                    period: d.period,
                    notification_failure: d.notification_failure,
                    execution_failure: d.execution_failure,
                    inherits_parent: d.inherits_parent,
                }),
            };
            let Some(d) = d else { continue };
            // 4.4.6 `return FALSE` (= DEPENDENCIES_OK): a dependency outside its
            // dependency_period ends the whole test, later dependencies are not looked at.
            if d.period.is_some() && !self.in_period(d.period, now) {
                return false;
            }
            let m = self.status(d.master);
            let state = if m.state_type == crate::StateType::Soft
                && !self.cfg.main.soft_state_dependencies
            {
                m.last_hard_state
            } else {
                m.current_state
            };
            // `flag_isset(failure_options, 1 << state)`: no PENDING test in 4.4.6, a
            // master that was never checked counts with its initial state
            // (oracle l_dependencies_ondemand).
            let failure = match kind {
                DepKind::Notification => d.notification_failure,
                DepKind::Execution => d.execution_failure,
            };
            if failure.contains(o.state_option(state)) {
                return true;
            }
            if d.inherits_parent && self.dependencies_failed(d.master, kind, now, depth + 1) {
                return true;
            }
        }
        false
    }
}

/// The fields of a host or service dependency that the test reads.
struct Dep {
    master: Obj,
    period: Option<picket_config::TimeperiodId>,
    notification_failure: Options,
    execution_failure: Options,
    inherits_parent: bool,
}
