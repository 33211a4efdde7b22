//! The state vocabulary, named and numbered as Nagios 4 logs and reports it
//! (`common/shared.c`, `include/statusdata.h`): the one table of state names in Picket.

use std::fmt;

/// A service's state: `0 OK`, `1 WARNING`, `2 CRITICAL`, `3 UNKNOWN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceState {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl ServiceState {
    /// All states, by code.
    pub const ALL: [ServiceState; 4] = [
        ServiceState::Ok,
        ServiceState::Warning,
        ServiceState::Critical,
        ServiceState::Unknown,
    ];

    /// The state of a code as Nagios names it: anything above 3 is `UNKNOWN`.
    pub fn from_code(code: u8) -> ServiceState {
        match code {
            0 => ServiceState::Ok,
            1 => ServiceState::Warning,
            2 => ServiceState::Critical,
            _ => ServiceState::Unknown,
        }
    }

    /// `0`…`3`.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn name(self) -> &'static str {
        match self {
            ServiceState::Ok => "OK",
            ServiceState::Warning => "WARNING",
            ServiceState::Critical => "CRITICAL",
            ServiceState::Unknown => "UNKNOWN",
        }
    }

    /// Inverse of [`ServiceState::name`].
    pub fn from_name(s: &str) -> Option<ServiceState> {
        Some(match s {
            "OK" => ServiceState::Ok,
            "WARNING" => ServiceState::Warning,
            "CRITICAL" => ServiceState::Critical,
            "UNKNOWN" => ServiceState::Unknown,
            _ => return None,
        })
    }
}

/// A host's state: `0 UP`, `1 DOWN`, `2 UNREACHABLE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostState {
    Up,
    Down,
    Unreachable,
}

impl HostState {
    /// All states, by code.
    pub const ALL: [HostState; 3] = [HostState::Up, HostState::Down, HostState::Unreachable];

    /// The state of a code as Nagios names it: anything above 2 is `UNREACHABLE`.
    pub fn from_code(code: u8) -> HostState {
        match code {
            0 => HostState::Up,
            1 => HostState::Down,
            _ => HostState::Unreachable,
        }
    }

    /// `0`…`2`.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// `UP`, `DOWN`, `UNREACHABLE`.
    pub fn name(self) -> &'static str {
        match self {
            HostState::Up => "UP",
            HostState::Down => "DOWN",
            HostState::Unreachable => "UNREACHABLE",
        }
    }

    /// Inverse of [`HostState::name`].
    pub fn from_name(s: &str) -> Option<HostState> {
        Some(match s {
            "UP" => HostState::Up,
            "DOWN" => HostState::Down,
            "UNREACHABLE" => HostState::Unreachable,
            _ => return None,
        })
    }
}

/// The code of a state name of either kind (`OK`/`UP` 0, `WARNING`/`DOWN` 1,
/// `CRITICAL`/`UNREACHABLE` 2, `UNKNOWN` 3), as Livestatus' `state` columns report it.
pub fn state_code(name: &str) -> Option<u8> {
    ServiceState::from_name(name)
        .map(ServiceState::code)
        .or_else(|| HostState::from_name(name).map(HostState::code))
}

/// `SOFT` (0) or `HARD` (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StateType {
    /// Not yet confirmed by `max_check_attempts` results.
    Soft,
    /// Confirmed.
    #[default]
    Hard,
}

impl StateType {
    /// Nagios' `SOFT_STATE` 0, `HARD_STATE` 1.
    pub fn code(self) -> u8 {
        match self {
            StateType::Soft => 0,
            StateType::Hard => 1,
        }
    }

    /// `SOFT` / `HARD`.
    pub fn name(self) -> &'static str {
        match self {
            StateType::Soft => "SOFT",
            StateType::Hard => "HARD",
        }
    }

    /// Inverse of [`StateType::name`].
    pub fn from_name(s: &str) -> Option<StateType> {
        match s {
            "SOFT" => Some(StateType::Soft),
            "HARD" => Some(StateType::Hard),
            _ => None,
        }
    }
}

/// Why a notification is sent (`$NOTIFICATIONTYPE$`; in the log, the type field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationType {
    /// PROBLEM or RECOVERY, from a check result: logged as the bare state name.
    Normal,
    Acknowledgement,
    FlappingStart,
    FlappingStop,
    FlappingDisabled,
    DowntimeStart,
    DowntimeEnd,
    DowntimeCancelled,
    Custom,
}

impl NotificationType {
    /// Every type but [`NotificationType::Normal`] (those logged as `TYPE (STATE)`).
    const NAMED: [NotificationType; 8] = [
        NotificationType::Acknowledgement,
        NotificationType::FlappingStart,
        NotificationType::FlappingStop,
        NotificationType::FlappingDisabled,
        NotificationType::DowntimeStart,
        NotificationType::DowntimeEnd,
        NotificationType::DowntimeCancelled,
        NotificationType::Custom,
    ];

    /// `$NOTIFICATIONTYPE$`: `PROBLEM`/`RECOVERY` for a normal notification (`ok`: the
    /// object is OK/UP), else `ACKNOWLEDGEMENT`, `FLAPPINGSTART`, ….
    pub fn macro_name(self, ok: bool) -> &'static str {
        match self {
            NotificationType::Normal if ok => "RECOVERY",
            NotificationType::Normal => "PROBLEM",
            NotificationType::Acknowledgement => "ACKNOWLEDGEMENT",
            NotificationType::FlappingStart => "FLAPPINGSTART",
            NotificationType::FlappingStop => "FLAPPINGSTOP",
            NotificationType::FlappingDisabled => "FLAPPINGDISABLED",
            NotificationType::DowntimeStart => "DOWNTIMESTART",
            NotificationType::DowntimeEnd => "DOWNTIMEEND",
            NotificationType::DowntimeCancelled => "DOWNTIMECANCELLED",
            NotificationType::Custom => "CUSTOM",
        }
    }

    /// Whether the log line carries `;author;comment` after the output.
    pub fn has_author(self) -> bool {
        matches!(
            self,
            NotificationType::Acknowledgement | NotificationType::Custom
        )
    }

    fn from_macro_name(s: &str) -> Option<NotificationType> {
        NotificationType::NAMED
            .into_iter()
            .find(|t| t.macro_name(false) == s)
    }
}

/// A state a notification can be about (a [`HostState`] or a [`ServiceState`]).
pub trait NotifiedState: Copy + Sized {
    /// The name as logged.
    fn name(self) -> &'static str;
    /// Inverse of `name`.
    fn from_name(s: &str) -> Option<Self>;
}

impl NotifiedState for ServiceState {
    fn name(self) -> &'static str {
        ServiceState::name(self)
    }
    fn from_name(s: &str) -> Option<Self> {
        ServiceState::from_name(s)
    }
}

impl NotifiedState for HostState {
    fn name(self) -> &'static str {
        HostState::name(self)
    }
    fn from_name(s: &str) -> Option<Self> {
        HostState::from_name(s)
    }
}

/// The type field of a `… NOTIFICATION` line: `CRITICAL`, `ACKNOWLEDGEMENT (CRITICAL)`,
/// `DOWNTIMESTART (UP)`, ….
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Notified<S> {
    pub kind: NotificationType,
    pub state: S,
}

impl<S: NotifiedState> Notified<S> {
    /// Parse the logged field.
    pub fn parse(s: &str) -> Option<Notified<S>> {
        if let Some(state) = S::from_name(s) {
            return Some(Notified {
                kind: NotificationType::Normal,
                state,
            });
        }
        let (kind, rest) = s.split_once(" (")?;
        let state = rest.strip_suffix(')')?;
        Some(Notified {
            kind: NotificationType::from_macro_name(kind)?,
            state: S::from_name(state)?,
        })
    }
}

impl<S: NotifiedState> fmt::Display for Notified<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            NotificationType::Normal => f.write_str(self.state.name()),
            k => {
                f.write_str(k.macro_name(false))?;
                f.write_str(" (")?;
                f.write_str(self.state.name())?;
                f.write_str(")")
            }
        }
    }
}

/// `STARTED`, `STOPPED`, `CANCELLED` of a `… DOWNTIME ALERT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DowntimePhase {
    Started,
    Stopped,
    Cancelled,
}

impl DowntimePhase {
    pub fn name(self) -> &'static str {
        match self {
            DowntimePhase::Started => "STARTED",
            DowntimePhase::Stopped => "STOPPED",
            DowntimePhase::Cancelled => "CANCELLED",
        }
    }

    pub fn from_name(s: &str) -> Option<DowntimePhase> {
        Some(match s {
            "STARTED" => DowntimePhase::Started,
            "STOPPED" => DowntimePhase::Stopped,
            "CANCELLED" => DowntimePhase::Cancelled,
            _ => return None,
        })
    }
}

/// `STARTED`, `STOPPED`, `DISABLED` of a `… FLAPPING ALERT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlappingPhase {
    Started,
    Stopped,
    Disabled,
}

impl FlappingPhase {
    pub fn name(self) -> &'static str {
        match self {
            FlappingPhase::Started => "STARTED",
            FlappingPhase::Stopped => "STOPPED",
            FlappingPhase::Disabled => "DISABLED",
        }
    }

    pub fn from_name(s: &str) -> Option<FlappingPhase> {
        Some(match s {
            "STARTED" => FlappingPhase::Started,
            "STOPPED" => FlappingPhase::Stopped,
            "DISABLED" => FlappingPhase::Disabled,
            _ => return None,
        })
    }
}

/// Which state dump a `… STATE` line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateDump {
    /// `INITIAL … STATE` (start-up).
    Initial,
    /// `CURRENT … STATE` (after a log rotation).
    Current,
}

impl StateDump {
    /// `INITIAL` / `CURRENT`.
    pub fn name(self) -> &'static str {
        match self {
            StateDump::Initial => "INITIAL",
            StateDump::Current => "CURRENT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_agree() {
        for s in ServiceState::ALL {
            assert_eq!(ServiceState::from_code(s.code()), s);
            assert_eq!(ServiceState::from_name(s.name()), Some(s));
            assert_eq!(state_code(s.name()), Some(s.code()));
        }
        for s in HostState::ALL {
            assert_eq!(HostState::from_code(s.code()), s);
            assert_eq!(HostState::from_name(s.name()), Some(s));
            assert_eq!(state_code(s.name()), Some(s.code()));
        }
        assert_eq!(ServiceState::from_code(9), ServiceState::Unknown);
        assert_eq!(HostState::from_code(9), HostState::Unreachable);
        assert_eq!(StateType::from_name("SOFT").map(StateType::code), Some(0));
    }

    #[test]
    fn notification_types() {
        for t in [
            "CRITICAL",
            "ACKNOWLEDGEMENT (WARNING)",
            "DOWNTIMECANCELLED (OK)",
        ] {
            let n = Notified::<ServiceState>::parse(t).expect(t);
            assert_eq!(n.to_string(), t);
        }
        let n = Notified::<HostState>::parse("FLAPPINGSTART (DOWN)").expect("parse");
        assert_eq!(n.kind, NotificationType::FlappingStart);
        assert_eq!(n.state, HostState::Down);
        assert!(Notified::<HostState>::parse("CRITICAL").is_none());
        assert!(Notified::<ServiceState>::parse("PROBLEM (OK)").is_none());
    }
}
