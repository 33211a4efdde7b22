//! Stage 2 output: the immutable, typed object model the engine consumes.
//!
//! Objects live in dense vectors and refer to each other by small typed ids
//! ([`HostId`], [`ServiceId`], …), so the engine can index state arrays with them.
//! Names are kept for logs and macros; lookups by name go through [`Config`]'s maps.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::diag::Location;
use crate::main_cfg::MainConfig;
use crate::timeperiod::Timeperiod;

/// The object types of the Nagios object configuration (plus Shinken's notificationway).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// `define host`.
    Host,
    /// `define hostgroup`.
    HostGroup,
    /// `define service`.
    Service,
    /// `define servicegroup`.
    ServiceGroup,
    /// `define contact`.
    Contact,
    /// `define contactgroup`.
    ContactGroup,
    /// `define timeperiod`.
    Timeperiod,
    /// `define command`.
    Command,
    /// `define hostdependency`.
    HostDependency,
    /// `define servicedependency`.
    ServiceDependency,
    /// `define hostescalation`.
    HostEscalation,
    /// `define serviceescalation`.
    ServiceEscalation,
    /// `define hostextinfo` (deprecated; merged into hosts).
    HostExtInfo,
    /// `define serviceextinfo` (deprecated; merged into services).
    ServiceExtInfo,
    /// Shinken `define notificationway`.
    NotificationWay,
}

impl ObjectKind {
    /// All kinds.
    pub const ALL: [ObjectKind; 15] = [
        ObjectKind::Host,
        ObjectKind::HostGroup,
        ObjectKind::Service,
        ObjectKind::ServiceGroup,
        ObjectKind::Contact,
        ObjectKind::ContactGroup,
        ObjectKind::Timeperiod,
        ObjectKind::Command,
        ObjectKind::HostDependency,
        ObjectKind::ServiceDependency,
        ObjectKind::HostEscalation,
        ObjectKind::ServiceEscalation,
        ObjectKind::HostExtInfo,
        ObjectKind::ServiceExtInfo,
        ObjectKind::NotificationWay,
    ];

    /// The word after `define`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Host => "host",
            ObjectKind::HostGroup => "hostgroup",
            ObjectKind::Service => "service",
            ObjectKind::ServiceGroup => "servicegroup",
            ObjectKind::Contact => "contact",
            ObjectKind::ContactGroup => "contactgroup",
            ObjectKind::Timeperiod => "timeperiod",
            ObjectKind::Command => "command",
            ObjectKind::HostDependency => "hostdependency",
            ObjectKind::ServiceDependency => "servicedependency",
            ObjectKind::HostEscalation => "hostescalation",
            ObjectKind::ServiceEscalation => "serviceescalation",
            ObjectKind::HostExtInfo => "hostextinfo",
            ObjectKind::ServiceExtInfo => "serviceextinfo",
            ObjectKind::NotificationWay => "notificationway",
        }
    }

    /// Parse the word after `define`.
    pub fn from_define(s: &str) -> Option<ObjectKind> {
        ObjectKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The directive that names an object of this kind, if any.
    pub fn name_key(self) -> Option<crate::keys::Key> {
        use crate::keys::Key;
        Some(match self {
            ObjectKind::Host => Key::HostName,
            ObjectKind::HostGroup => Key::HostgroupName,
            ObjectKind::ServiceGroup => Key::ServicegroupName,
            ObjectKind::Contact => Key::ContactName,
            ObjectKind::ContactGroup => Key::ContactgroupName,
            ObjectKind::Timeperiod => Key::TimeperiodName,
            ObjectKind::Command => Key::CommandName,
            ObjectKind::NotificationWay => Key::NotificationwayName,
            _ => return None,
        })
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Object types Shinken defines that Picket parses and ignores (with a warning).
pub fn is_shinken_object_type(s: &str) -> bool {
    matches!(
        s,
        "realm"
            | "arbiter"
            | "scheduler"
            | "poller"
            | "reactionner"
            | "broker"
            | "receiver"
            | "module"
            | "discoveryrule"
            | "discoveryrun"
            | "resultmodulation"
            | "businessimpactmodulation"
            | "macromodulation"
            | "checkmodulation"
            | "escalation"
            | "trigger"
            | "serviceoverride"
            | "hostextinfo_shinken"
    )
}

macro_rules! ids {
    ($($(#[$m:meta])* $name:ident,)*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            /// The dense index into the corresponding [`Config`] vector.
            pub fn index(self) -> usize { self.0 as usize }
        }
    )*};
}

ids! {
    /// Index of a host in [`Config::hosts`].
    HostId,
    /// Index of a service in [`Config::services`].
    ServiceId,
    /// Index of a contact in [`Config::contacts`].
    ContactId,
    /// Index of a contact group in [`Config::contactgroups`].
    ContactGroupId,
    /// Index of a host group in [`Config::hostgroups`].
    HostGroupId,
    /// Index of a service group in [`Config::servicegroups`].
    ServiceGroupId,
    /// Index of a command in [`Config::commands`].
    CommandId,
    /// Index of a timeperiod in [`Config::timeperiods`].
    TimeperiodId,
}

/// A set of option letters (`notification_options`, `flap_detection_options`, …).
///
/// Hosts use `u` for UNREACHABLE and services for UNKNOWN: both map to [`Options::UNKNOWN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Options(pub u16);

impl Options {
    /// `o`: OK / UP.
    pub const OK: Options = Options(1 << 0);
    /// `w`: WARNING.
    pub const WARNING: Options = Options(1 << 1);
    /// `u`: UNKNOWN (services) / UNREACHABLE (hosts).
    pub const UNKNOWN: Options = Options(1 << 2);
    /// `c`: CRITICAL.
    pub const CRITICAL: Options = Options(1 << 3);
    /// `d`: DOWN.
    pub const DOWN: Options = Options(1 << 4);
    /// `r`: RECOVERY.
    pub const RECOVERY: Options = Options(1 << 5);
    /// `f`: FLAPPING start/stop.
    pub const FLAPPING: Options = Options(1 << 6);
    /// `s`: scheduled DOWNTIME start/end.
    pub const DOWNTIME: Options = Options(1 << 7);
    /// `p`: PENDING (dependencies).
    pub const PENDING: Options = Options(1 << 8);
    /// `N`: stalk on notifications (stalking_options).
    pub const NOTIFICATIONS: Options = Options(1 << 9);
    /// Empty set (`n`).
    pub const NONE: Options = Options(0);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Options) -> bool {
        self.0 & other.0 == other.0
    }

    /// Union.
    pub fn union(self, other: Options) -> Options {
        Options(self.0 | other.0)
    }

    /// Whether no option is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Parse a list of option letters. `allowed` lists the letters valid here; `a` means
    /// all of them and `n` none (it clears the letters before it, as in Nagios: `w,n` is
    /// none, `n,w` is `w`). Letters are separated by `,` and/or whitespace; Nagios
    /// also accepts the long words (`warning`, `critical`, …) for some options.
    pub fn parse(value: &str, allowed: &str) -> Result<Options, String> {
        let mut out = Options::NONE;
        for tok in value
            .split([',', ' ', '\t'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let letter = match tok {
                "ok" | "up" => "o",
                "warning" => "w",
                "unknown" | "unreachable" => "u",
                "critical" => "c",
                "down" => "d",
                "recovery" => "r",
                "flapping" => "f",
                "downtime" => "s",
                "pending" => "p",
                "none" => "n",
                "all" => "a",
                t => t,
            };
            match letter {
                "a" => {
                    for c in allowed.chars() {
                        out = out.union(Self::letter(c));
                    }
                }
                // Nagios assigns OPT_NOTHING: an `n` clears the letters before it.
                "n" => out = Options::NONE,
                l if l.len() == 1 && allowed.contains(l) => {
                    out = out.union(l.chars().next().map_or(Options::NONE, Self::letter));
                }
                _ => return Err(format!("invalid option '{tok}' (valid: {allowed}, a, n)")),
            }
        }
        Ok(out)
    }

    fn letter(c: char) -> Options {
        match c {
            'o' => Options::OK,
            'w' => Options::WARNING,
            'u' => Options::UNKNOWN,
            'c' => Options::CRITICAL,
            'd' => Options::DOWN,
            'r' => Options::RECOVERY,
            'f' => Options::FLAPPING,
            's' => Options::DOWNTIME,
            'p' => Options::PENDING,
            'N' => Options::NOTIFICATIONS,
            _ => Options::NONE,
        }
    }
}

/// A command reference such as `check_ping!100.0,20%!500.0,60%`, split on unescaped `!`
/// (`\!` is a literal `!`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandCall {
    /// The command.
    pub command: CommandId,
    /// `$ARG1$`, `$ARG2$`, … in order (unexpanded: they may contain macros).
    pub args: Vec<Box<str>>,
}

/// Split `name!a!b` into the name and arguments; `\!` is a literal `!`.
pub fn split_command_call(s: &str) -> (&str, Vec<Box<str>>) {
    let mut parts = Vec::new();
    let (name, rest) = match find_unescaped_bang(s) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut rest = rest;
    while let Some(r) = rest {
        match find_unescaped_bang(r) {
            Some(i) => {
                parts.push(r[..i].replace("\\!", "!").into_boxed_str());
                rest = Some(&r[i + 1..]);
            }
            None => {
                parts.push(r.replace("\\!", "!").into_boxed_str());
                rest = None;
            }
        }
    }
    (name.trim(), parts)
}

fn find_unescaped_bang(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = s[i..].find('!') {
        let p = i + off;
        if p > 0 && b[p - 1] == b'\\' {
            i = p + 1;
            continue;
        }
        return Some(p);
    }
    None
}

/// One piece of a command line: text, or a `$MACRO$` (name without the dollars).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinePart<'a> {
    /// Literal text.
    Text(&'a str),
    /// A macro name such as `HOSTADDRESS`, `ARG1`, `USER1`, `SERVICESTATE:web01:Disk`.
    Macro(&'a str),
    /// `$$`: a literal dollar.
    Dollar,
}

/// Split a command line into text and macros the way Nagios does (`$` pairs; a lone
/// trailing `$` is text).
pub fn split_macros(line: &str) -> Vec<LinePart<'_>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find('$') {
        if i > 0 {
            out.push(LinePart::Text(&rest[..i]));
        }
        let after = &rest[i + 1..];
        match after.find('$') {
            Some(0) => {
                out.push(LinePart::Dollar);
                rest = &after[1..];
            }
            Some(j) => {
                out.push(LinePart::Macro(&after[..j]));
                rest = &after[j + 1..];
            }
            None => {
                out.push(LinePart::Text(&rest[i..]));
                rest = "";
            }
        }
    }
    if !rest.is_empty() {
        out.push(LinePart::Text(rest));
    }
    out
}

/// Custom variables (`_NAME value`), names upper-cased without the leading underscore.
pub type CustomVars = Vec<(Box<str>, Box<str>)>;

/// `define command`.
#[derive(Debug, Clone)]
pub struct Command {
    /// `command_name`.
    pub name: Box<str>,
    /// `command_line`, verbatim.
    pub line: Box<str>,
    /// Highest `$ARGn$` the line uses (0 if none).
    pub max_arg: u8,
    /// Where it was defined.
    pub location: Location,
}

/// Initial state letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InitialState {
    /// `o`.
    #[default]
    Ok,
    /// `w`.
    Warning,
    /// `u` (UNKNOWN or UNREACHABLE).
    Unknown,
    /// `c`.
    Critical,
    /// `d`.
    Down,
}

/// Settings common to hosts and services (check, notification and flap settings).
#[derive(Debug, Clone)]
pub struct Checkable {
    /// `display_name` (defaults to the name/description).
    pub display_name: Box<str>,
    /// `check_command`.
    pub check_command: Option<CommandCall>,
    /// `check_period`.
    pub check_period: Option<TimeperiodId>,
    /// `event_handler`.
    pub event_handler: Option<CommandCall>,
    /// `notification_period`.
    pub notification_period: Option<TimeperiodId>,
    /// `initial_state`.
    pub initial_state: InitialState,
    /// `max_check_attempts` (≥ 1).
    pub max_check_attempts: u32,
    /// `check_interval` in interval units.
    pub check_interval: f64,
    /// `retry_interval` in interval units.
    pub retry_interval: f64,
    /// `active_checks_enabled`.
    pub active_checks_enabled: bool,
    /// `passive_checks_enabled`.
    pub passive_checks_enabled: bool,
    /// `obsess`.
    pub obsess: bool,
    /// `event_handler_enabled`.
    pub event_handler_enabled: bool,
    /// `check_freshness`.
    pub check_freshness: bool,
    /// `freshness_threshold` in seconds (0 = automatic).
    pub freshness_threshold: u32,
    /// `low_flap_threshold` (0 = program-wide).
    pub low_flap_threshold: f64,
    /// `high_flap_threshold` (0 = program-wide).
    pub high_flap_threshold: f64,
    /// `flap_detection_enabled`.
    pub flap_detection_enabled: bool,
    /// `flap_detection_options`.
    pub flap_detection_options: Options,
    /// `notification_options`.
    pub notification_options: Options,
    /// `notifications_enabled`.
    pub notifications_enabled: bool,
    /// `notification_interval` in interval units (0 = notify once).
    pub notification_interval: f64,
    /// `first_notification_delay` in interval units.
    pub first_notification_delay: f64,
    /// `stalking_options`.
    pub stalking_options: Options,
    /// `process_perf_data`.
    pub process_perf_data: bool,
    /// `retain_status_information`.
    pub retain_status_information: bool,
    /// `retain_nonstatus_information`.
    pub retain_nonstatus_information: bool,
    /// Direct `contacts`.
    pub contacts: Vec<ContactId>,
    /// `contact_groups`.
    pub contact_groups: Vec<ContactGroupId>,
    /// Everyone notified: direct contacts first, then group members, de-duplicated.
    pub notification_contacts: Vec<ContactId>,
    /// `notes`.
    pub notes: Option<Box<str>>,
    /// `notes_url`.
    pub notes_url: Option<Box<str>>,
    /// `action_url`.
    pub action_url: Option<Box<str>>,
    /// `icon_image`.
    pub icon_image: Option<Box<str>>,
    /// `icon_image_alt`.
    pub icon_image_alt: Option<Box<str>>,
    /// `importance` (`hourly_value`).
    pub importance: u32,
    /// Custom variables.
    pub custom_vars: CustomVars,
}

/// `define host`.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its id.
    pub id: HostId,
    /// `host_name`.
    pub name: Box<str>,
    /// `alias` (defaults to the name).
    pub alias: Box<str>,
    /// `address` (defaults to the name).
    pub address: Box<str>,
    /// `parents`.
    pub parents: Vec<HostId>,
    /// Hosts that list this one as parent.
    pub children: Vec<HostId>,
    /// Host groups it belongs to (both directions of membership merged).
    pub hostgroups: Vec<HostGroupId>,
    /// Its services.
    pub services: Vec<ServiceId>,
    /// Check/notification settings.
    pub common: Checkable,
    /// Where it was defined.
    pub location: Location,
}

/// `define service` (one per host after expansion).
#[derive(Debug, Clone)]
pub struct Service {
    /// Its id.
    pub id: ServiceId,
    /// The host.
    pub host: HostId,
    /// `service_description`.
    pub description: Box<str>,
    /// Service groups it belongs to.
    pub servicegroups: Vec<ServiceGroupId>,
    /// `is_volatile`.
    pub is_volatile: bool,
    /// `parallelize_check`.
    pub parallelize_check: bool,
    /// Service `parents` (Nagios 4): a name on the same host, or `host,service` pairs
    /// (`*` and regexes as in Nagios), in configuration order, without repeats or the
    /// service itself.
    pub parents: Vec<ServiceId>,
    /// Check/notification settings. Shared between the services one definition expands
    /// to when they are identical (a `hostgroup_name` service on many hosts); field reads
    /// go through `Deref`, writes through [`Arc::make_mut`].
    pub common: Arc<Checkable>,
    /// Where it was defined.
    pub location: Location,
}

/// One way to notify a contact: periods, options, commands. A Nagios contact has one;
/// a Shinken contact may have several (`notificationways`).
#[derive(Debug, Clone)]
pub struct NotificationWay {
    /// Name (the contact's name for the Nagios way).
    pub name: Box<str>,
    /// `host_notification_period`.
    pub host_notification_period: Option<TimeperiodId>,
    /// `service_notification_period`.
    pub service_notification_period: Option<TimeperiodId>,
    /// `host_notification_options`.
    pub host_notification_options: Options,
    /// `service_notification_options`.
    pub service_notification_options: Options,
    /// `host_notification_commands`.
    pub host_notification_commands: Vec<CommandCall>,
    /// `service_notification_commands`.
    pub service_notification_commands: Vec<CommandCall>,
    /// Shinken `min_business_impact`.
    pub min_business_impact: u32,
}

/// `define contact`.
#[derive(Debug, Clone)]
pub struct Contact {
    /// Its id.
    pub id: ContactId,
    /// `contact_name`.
    pub name: Box<str>,
    /// `alias`.
    pub alias: Box<str>,
    /// `email`.
    pub email: Option<Box<str>>,
    /// `pager`.
    pub pager: Option<Box<str>>,
    /// `address1` … `address6`.
    pub addresses: [Option<Box<str>>; 6],
    /// `host_notifications_enabled`.
    pub host_notifications_enabled: bool,
    /// `service_notifications_enabled`.
    pub service_notifications_enabled: bool,
    /// `can_submit_commands`.
    pub can_submit_commands: bool,
    /// `retain_status_information`.
    pub retain_status_information: bool,
    /// `retain_nonstatus_information`.
    pub retain_nonstatus_information: bool,
    /// `minimum_importance`.
    pub minimum_importance: u32,
    /// Ways to notify: the contact's own directives first (if it has commands), then
    /// Shinken notificationways.
    pub ways: Vec<NotificationWay>,
    /// Contact groups it belongs to (both directions merged).
    pub contactgroups: Vec<ContactGroupId>,
    /// Custom variables.
    pub custom_vars: CustomVars,
    /// Where it was defined.
    pub location: Location,
}

/// `define contactgroup`.
#[derive(Debug, Clone)]
pub struct ContactGroup {
    /// Its id.
    pub id: ContactGroupId,
    /// `contactgroup_name`.
    pub name: Box<str>,
    /// `alias`.
    pub alias: Box<str>,
    /// All members, including those of `contactgroup_members` and contacts' `contactgroups`.
    pub members: Vec<ContactId>,
    /// Where it was defined.
    pub location: Location,
}

/// `define hostgroup`.
#[derive(Debug, Clone)]
pub struct HostGroup {
    /// Its id.
    pub id: HostGroupId,
    /// `hostgroup_name`.
    pub name: Box<str>,
    /// `alias`.
    pub alias: Box<str>,
    /// All members (direct, `hostgroup_members`, hosts' `hostgroups`).
    pub members: Vec<HostId>,
    /// `notes`.
    pub notes: Option<Box<str>>,
    /// `notes_url`.
    pub notes_url: Option<Box<str>>,
    /// `action_url`.
    pub action_url: Option<Box<str>>,
    /// Where it was defined.
    pub location: Location,
}

/// `define servicegroup`.
#[derive(Debug, Clone)]
pub struct ServiceGroup {
    /// Its id.
    pub id: ServiceGroupId,
    /// `servicegroup_name`.
    pub name: Box<str>,
    /// `alias`.
    pub alias: Box<str>,
    /// All members.
    pub members: Vec<ServiceId>,
    /// `notes`.
    pub notes: Option<Box<str>>,
    /// `notes_url`.
    pub notes_url: Option<Box<str>>,
    /// `action_url`.
    pub action_url: Option<Box<str>>,
    /// Where it was defined.
    pub location: Location,
}

/// `define servicedependency` (one per master/dependent pair after expansion).
#[derive(Debug, Clone)]
pub struct ServiceDependency {
    /// The service depended on.
    pub master: ServiceId,
    /// The dependent service.
    pub dependent: ServiceId,
    /// `execution_failure_criteria` (o,w,u,c,p).
    pub execution_failure: Options,
    /// `notification_failure_criteria` (o,w,u,c,p).
    pub notification_failure: Options,
    /// `inherits_parent`.
    pub inherits_parent: bool,
    /// `dependency_period`.
    pub period: Option<TimeperiodId>,
    /// Where it was defined.
    pub location: Location,
}

/// `define hostdependency` (one per pair after expansion).
#[derive(Debug, Clone)]
pub struct HostDependency {
    /// The host depended on.
    pub master: HostId,
    /// The dependent host.
    pub dependent: HostId,
    /// `execution_failure_criteria` (o,d,u,p).
    pub execution_failure: Options,
    /// Whether `execution_failure_criteria` was set at all: Nagios registers (and
    /// counts) a host execution dependency set to `n`, one that never fails.
    pub execution_set: bool,
    /// `notification_failure_criteria` (o,d,u,p).
    pub notification_failure: Options,
    /// `inherits_parent`.
    pub inherits_parent: bool,
    /// `dependency_period`.
    pub period: Option<TimeperiodId>,
    /// Where it was defined.
    pub location: Location,
}

/// Escalation settings shared by host and service escalations.
#[derive(Debug, Clone)]
pub struct Escalation {
    /// `first_notification`.
    pub first_notification: u32,
    /// `last_notification` (0 = no upper bound).
    pub last_notification: u32,
    /// `notification_interval` in interval units (inherited from the object when unset).
    pub notification_interval: f64,
    /// `escalation_period`.
    pub period: Option<TimeperiodId>,
    /// `escalation_options` (empty = all).
    pub options: Options,
    /// Contacts notified (direct, then group members; inherited from the object when
    /// the escalation names none).
    pub contacts: Vec<ContactId>,
    /// Where it was defined.
    pub location: Location,
}

/// `define serviceescalation` (one per service after expansion).
#[derive(Debug, Clone)]
pub struct ServiceEscalation {
    /// The service.
    pub service: ServiceId,
    /// The escalation.
    pub escalation: Escalation,
}

/// `define hostescalation` (one per host after expansion).
#[derive(Debug, Clone)]
pub struct HostEscalation {
    /// The host.
    pub host: HostId,
    /// The escalation.
    pub escalation: Escalation,
}

/// Which configuration language the files are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Nagios Core 4 (also Naemon, Icinga 1).
    #[default]
    Nagios,
    /// Shinken 2.x: more lenient, with extensions.
    Shinken,
}

/// The whole resolved configuration. Immutable once built.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The main configuration (nagios.cfg).
    pub main: MainConfig,
    /// `$USERn$` macros and Shinken resource macros, by name without the dollars.
    pub resource_macros: HashMap<Box<str>, Box<str>>,
    /// The dialect the configuration was read in.
    pub dialect: Dialect,
    /// Hosts by [`HostId`].
    pub hosts: Vec<Host>,
    /// Services by [`ServiceId`].
    pub services: Vec<Service>,
    /// Contacts by [`ContactId`].
    pub contacts: Vec<Contact>,
    /// Contact groups by [`ContactGroupId`].
    pub contactgroups: Vec<ContactGroup>,
    /// Host groups by [`HostGroupId`].
    pub hostgroups: Vec<HostGroup>,
    /// Service groups by [`ServiceGroupId`].
    pub servicegroups: Vec<ServiceGroup>,
    /// Commands by [`CommandId`].
    pub commands: Vec<Command>,
    /// Timeperiods by [`TimeperiodId`].
    pub timeperiods: Vec<Timeperiod>,
    /// Service dependencies.
    pub servicedependencies: Vec<ServiceDependency>,
    /// Host dependencies.
    pub hostdependencies: Vec<HostDependency>,
    /// Service escalations.
    pub serviceescalations: Vec<ServiceEscalation>,
    /// Host escalations.
    pub hostescalations: Vec<HostEscalation>,
    pub(crate) host_index: FastMap<Box<str>, HostId>,
    /// (host, hash of description) → service; rare hash collisions go to the list below.
    pub(crate) service_index: FastMap<(HostId, u64), ServiceId>,
    pub(crate) service_collisions: Vec<ServiceId>,
    pub(crate) contact_index: FastMap<Box<str>, ContactId>,
    pub(crate) command_index: FastMap<Box<str>, CommandId>,
    pub(crate) timeperiod_index: FastMap<Box<str>, TimeperiodId>,
    pub(crate) hostgroup_index: FastMap<Box<str>, HostGroupId>,
    pub(crate) servicegroup_index: FastMap<Box<str>, ServiceGroupId>,
    pub(crate) contactgroup_index: FastMap<Box<str>, ContactGroupId>,
}

impl Config {
    /// The host with this id.
    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id.index()]
    }
    /// The service with this id.
    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.index()]
    }
    /// The contact with this id.
    pub fn contact(&self, id: ContactId) -> &Contact {
        &self.contacts[id.index()]
    }
    /// The command with this id.
    pub fn command(&self, id: CommandId) -> &Command {
        &self.commands[id.index()]
    }
    /// The timeperiod with this id.
    pub fn timeperiod(&self, id: TimeperiodId) -> &Timeperiod {
        &self.timeperiods[id.index()]
    }
    /// Host by `host_name`.
    pub fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.host_index.get(name).copied()
    }
    /// Service by host name and description.
    pub fn service_by_name(&self, host: &str, description: &str) -> Option<ServiceId> {
        let h = self.host_by_name(host)?;
        self.find_service(h, description)
    }
    /// Service by host id and description.
    pub fn find_service(&self, host: HostId, description: &str) -> Option<ServiceId> {
        let id = *self.service_index.get(&(host, fx_hash_str(description)))?;
        let matches = |id: ServiceId| {
            let s = &self.services[id.index()];
            s.host == host && &*s.description == description
        };
        if matches(id) {
            return Some(id);
        }
        self.service_collisions
            .iter()
            .copied()
            .find(|&c| matches(c))
    }
    /// Register `id` (already pushed to `services`) in the name index.
    pub(crate) fn index_service(&mut self, id: ServiceId) {
        let s = &self.services[id.index()];
        let key = (s.host, fx_hash_str(&s.description));
        match self.service_index.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => self.service_collisions.push(id),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
            }
        }
    }
    /// Contact by `contact_name`.
    pub fn contact_by_name(&self, name: &str) -> Option<ContactId> {
        self.contact_index.get(name).copied()
    }
    /// Command by `command_name`.
    pub fn command_by_name(&self, name: &str) -> Option<CommandId> {
        self.command_index.get(name).copied()
    }
    /// Timeperiod by `timeperiod_name`.
    pub fn timeperiod_by_name(&self, name: &str) -> Option<TimeperiodId> {
        self.timeperiod_index.get(name).copied()
    }
    /// Host group by name.
    pub fn hostgroup_by_name(&self, name: &str) -> Option<HostGroupId> {
        self.hostgroup_index.get(name).copied()
    }
    /// Service group by name.
    pub fn servicegroup_by_name(&self, name: &str) -> Option<ServiceGroupId> {
        self.servicegroup_index.get(name).copied()
    }
    /// Contact group by name.
    pub fn contactgroup_by_name(&self, name: &str) -> Option<ContactGroupId> {
        self.contactgroup_index.get(name).copied()
    }
    /// `$USERn$` (n = 1..=256) from the resource file.
    pub fn user_macro(&self, n: u16) -> Option<&str> {
        self.resource_macros
            .get(format!("USER{n}").as_str())
            .map(|v| &**v)
    }
    /// Is `t` inside timeperiod `id`, in time zone `tz`? (Exclusions applied.)
    pub fn in_period(&self, id: TimeperiodId, t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> bool {
        crate::timeperiod::is_valid(&self.timeperiods, id, t, tz)
    }
    /// The first instant ≥ `t` inside timeperiod `id`, if any within the search horizon.
    pub fn next_valid_time(
        &self,
        id: TimeperiodId,
        t: jiff::Timestamp,
        tz: &jiff::tz::TimeZone,
    ) -> Option<jiff::Timestamp> {
        crate::timeperiod::next_valid_time(&self.timeperiods, id, t, tz)
    }
}

/// A fast, non-cryptographic hasher (the `FxHash` mixing function) for name indexes:
/// configuration names are not attacker-controlled the way network input is.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildFx;

/// The hasher built by [`BuildFx`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for BuildFx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(0)
    }
}

/// Hash map with [`BuildFx`].
pub type FastMap<K, V> = HashMap<K, V, BuildFx>;

/// Fx hash of a string (with a length terminator, as `Hash for str` does).
pub fn fx_hash_str(s: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = FxHasher(0);
    h.write(s.as_bytes());
    h.write_u8(0xff);
    h.finish()
}

/// Object counts, as `nagios -v` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Services.
    pub services: usize,
    /// Hosts.
    pub hosts: usize,
    /// Host groups.
    pub hostgroups: usize,
    /// Service groups.
    pub servicegroups: usize,
    /// Contacts.
    pub contacts: usize,
    /// Contact groups.
    pub contactgroups: usize,
    /// Commands.
    pub commands: usize,
    /// Time periods.
    pub timeperiods: usize,
    /// Host escalations.
    pub hostescalations: usize,
    /// Service escalations.
    pub serviceescalations: usize,
    /// Service dependencies, counted as Nagios does (one per execution and one per
    /// notification criteria set).
    pub servicedependencies: usize,
    /// Host dependencies.
    pub hostdependencies: usize,
}

impl Config {
    /// Object counts.
    pub fn counts(&self) -> Counts {
        Counts {
            services: self.services.len(),
            hosts: self.hosts.len(),
            hostgroups: self.hostgroups.len(),
            servicegroups: self.servicegroups.len(),
            contacts: self.contacts.len(),
            contactgroups: self.contactgroups.len(),
            commands: self.commands.len(),
            timeperiods: self.timeperiods.len(),
            hostescalations: self.hostescalations.len(),
            serviceescalations: self.serviceescalations.len(),
            // Nagios registers an execution and a notification dependency separately.
            servicedependencies: self
                .servicedependencies
                .iter()
                .map(|d| {
                    usize::from(!d.execution_failure.is_empty())
                        + usize::from(!d.notification_failure.is_empty())
                })
                .sum(),
            hostdependencies: self
                .hostdependencies
                .iter()
                .map(|d| {
                    usize::from(!d.execution_failure.is_empty() || d.execution_set)
                        + usize::from(!d.notification_failure.is_empty())
                })
                .sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_call_split() {
        let (n, a) = split_command_call("notify!first_arg!second\\!with_bang");
        assert_eq!(n, "notify");
        assert_eq!(
            a,
            vec![Box::from("first_arg"), Box::from("second!with_bang")]
        );
        let (n, a) = split_command_call("check_ssh");
        assert_eq!(n, "check_ssh");
        assert!(a.is_empty());
        let (n, a) = split_command_call("x!!b");
        assert_eq!(n, "x");
        assert_eq!(a, vec![Box::from(""), Box::from("b")]);
    }

    #[test]
    fn macros_split() {
        use LinePart::*;
        assert_eq!(
            split_macros("$USER1$/check -H $HOSTADDRESS$ $$x $"),
            vec![
                Macro("USER1"),
                Text("/check -H "),
                Macro("HOSTADDRESS"),
                Text(" "),
                Dollar,
                Text("x "),
                Text("$")
            ]
        );
    }

    #[test]
    fn options_parse() {
        let o = Options::parse("w,u,c r", "wucrfs").unwrap_or_default();
        assert!(o.contains(Options::WARNING.union(Options::RECOVERY)));
        assert!(!o.contains(Options::FLAPPING));
        assert_eq!(
            Options::parse("a", "durfs").unwrap_or_default(),
            Options(
                Options::DOWN.0
                    | Options::UNKNOWN.0
                    | Options::RECOVERY.0
                    | Options::FLAPPING.0
                    | Options::DOWNTIME.0
            )
        );
        assert!(Options::parse("x", "wucr").is_err());
        assert_eq!(Options::parse("n", "wucr"), Ok(Options::NONE));
    }
}
