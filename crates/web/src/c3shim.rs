//! TEMPORARY: C3's types until history2 is merged.
#![allow(dead_code)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IncidentRow {
    pub(crate) id: u64,
    pub(crate) key: String,
    pub(crate) detectors: Vec<String>,
    pub(crate) open: bool,
    pub(crate) first_seen: i64,
    pub(crate) last_seen: i64,
    pub(crate) events: u64,
    pub(crate) hosts: Vec<String>,
    pub(crate) host_count: u64,
    pub(crate) ports: Vec<String>,
    pub(crate) port_count: u64,
    pub(crate) daemons: Vec<String>,
    pub(crate) source_count: u64,
    pub(crate) recurrence: bool,
    pub(crate) last_transition: String,
    pub(crate) last_output: String,
    pub(crate) updated: i64,
}
#[derive(Debug, Clone, Default)]
pub(crate) struct IncidentQuery {
    pub(crate) open: Option<bool>,
    pub(crate) key: Option<String>,
    pub(crate) limit: usize,
    pub(crate) before_id: Option<u64>,
}
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConnEventRow {
    pub(crate) time: i64,
    pub(crate) reporter: String,
    pub(crate) source: String,
    pub(crate) proto: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) daemon: Option<String>,
    pub(crate) kind: String,
    pub(crate) count: u32,
    pub(crate) raw: String,
}
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnEventQuery {
    pub(crate) source: Option<String>,
    pub(crate) since: Option<i64>,
    pub(crate) until: Option<i64>,
    pub(crate) limit: usize,
}
pub(crate) trait StoreExt {
    fn incidents(&self, q: &IncidentQuery) -> picket_history::Result<Vec<IncidentRow>>;
    fn incident(&self, id: u64) -> picket_history::Result<Option<IncidentRow>>;
    fn connection_events(&self, q: &ConnEventQuery) -> picket_history::Result<Vec<ConnEventRow>>;
}
impl StoreExt for picket_history::Store {
    fn incidents(&self, _q: &IncidentQuery) -> picket_history::Result<Vec<IncidentRow>> {
        Ok(vec![])
    }
    fn incident(&self, _id: u64) -> picket_history::Result<Option<IncidentRow>> {
        Ok(None)
    }
    fn connection_events(&self, _q: &ConnEventQuery) -> picket_history::Result<Vec<ConnEventRow>> {
        Ok(vec![])
    }
}
