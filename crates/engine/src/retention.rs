//! Retention: the state that survives a restart, keyed by object names so it can be
//! applied to a changed configuration.

use serde::{Deserialize, Serialize};

use crate::Engine;
use crate::status::{Comment, ContactStatus, Downtime, FLAP_HISTORY, ProgramStatus, Status};

/// Format version of [`Retention`].
pub const RETENTION_VERSION: u32 = 1;

/// Everything retained: object status (state, type, attempt, output, notification
/// counters, acknowledgements, run-time switches, flap history), downtimes, comments and
/// the program-wide switches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    /// [`RETENTION_VERSION`].
    pub version: u32,
    /// Program-wide switches and id counters.
    pub program: ProgramStatus,
    /// Hosts by name.
    pub hosts: Vec<(String, Status)>,
    /// Services by host name and description.
    pub services: Vec<(String, String, Status)>,
    /// Downtimes.
    pub downtimes: Vec<Downtime>,
    /// Comments.
    pub comments: Vec<Comment>,
    /// Contacts' run-time switches by name (absent in files written before they were
    /// retained).
    #[serde(default)]
    pub contacts: Vec<(String, ContactStatus)>,
}

/// What [`Engine::restore`] applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RestoreStats {
    /// Hosts restored.
    pub hosts: usize,
    /// Services restored.
    pub services: usize,
    /// Entries for objects no longer configured (dropped).
    pub dropped: usize,
}

impl Engine {
    /// The retained state.
    pub fn snapshot(&self) -> Retention {
        let cfg = &self.cfg;
        Retention {
            version: RETENTION_VERSION,
            program: self.prog.clone(),
            hosts: cfg
                .hosts
                .iter()
                .map(|h| (h.name.to_string(), self.hosts[h.id.index()].clone()))
                .collect(),
            services: cfg
                .services
                .iter()
                .map(|s| {
                    (
                        cfg.host(s.host).name.to_string(),
                        s.description.to_string(),
                        self.svcs[s.id.index()].clone(),
                    )
                })
                .collect(),
            downtimes: self.downtimes.values().cloned().collect(),
            comments: self.comments.values().cloned().collect(),
            contacts: cfg
                .contacts
                .iter()
                .filter_map(|c| Some((c.name.to_string(), *self.contacts.get(c.id.index())?)))
                .collect(),
        }
    }

    /// Apply a retained state (call before [`Engine::start`]).
    pub fn restore(&mut self, r: Retention) -> RestoreStats {
        let mut stats = RestoreStats::default();
        self.prog = r.program;
        for (name, mut st) in r.hosts {
            if let Some(h) = self.cfg.host_by_name(&name) {
                if st.flap_history.len() != FLAP_HISTORY {
                    st.flap_history = vec![st.current_state; FLAP_HISTORY];
                    st.flap_index = 0;
                }
                self.hosts[h.index()] = st;
                stats.hosts += 1;
            } else {
                stats.dropped += 1;
            }
        }
        for (host, desc, mut st) in r.services {
            if let Some(s) = self.cfg.service_by_name(&host, &desc) {
                if st.flap_history.len() != FLAP_HISTORY {
                    st.flap_history = vec![st.current_state; FLAP_HISTORY];
                    st.flap_index = 0;
                }
                self.svcs[s.index()] = st;
                stats.services += 1;
            } else {
                stats.dropped += 1;
            }
        }
        self.downtimes.clear();
        for d in r.downtimes {
            if self.cfg.host_by_name(&d.target.host).is_some() {
                self.downtimes.insert(d.id, d);
            } else {
                stats.dropped += 1;
            }
        }
        for (name, cs) in r.contacts {
            match self
                .cfg
                .contact_by_name(&name)
                .and_then(|c| self.contacts.get_mut(c.index()))
            {
                Some(slot) => *slot = cs,
                None => stats.dropped += 1,
            }
        }
        self.comments.clear();
        for c in r.comments {
            if self.cfg.host_by_name(&c.target.host).is_some() {
                self.comments.insert(c.id, c);
            } else {
                stats.dropped += 1;
            }
        }
        stats
    }
}
