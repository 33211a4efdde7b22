//! The active-check scheduler, after Nagios 4.4.6 (`events.c:init_timing_loop()`,
//! `checks.c`: `schedule_service_check()`, `check_service_check_viability()`,
//! `handle_async_*_check_result()` rescheduling, `check_service_result_freshness()`,
//! `is_service_result_fresh()`, `determine_host_reachability()`).
//!
//! Sans I/O like the rest of the engine: [`Engine::tick`] runs what is due at `now` and
//! appends [`CheckJob`]s to the outputs; [`Engine::next_wakeup`] says when the next one
//! is due. The queue is a binary heap with lazy deletion (a generation number per
//! object), so rescheduling is O(log n) and 10,000s of objects cost nothing while idle.
//!
//! Where Nagios draws a random number (a check that would fall outside its window at
//! start-up, a next check pushed by a timeperiod), a hash of the object id is used
//! instead: the schedule is a pure function of the configuration and the inputs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use picket_config::{Config, HostId, ServiceId, TimeperiodId};

use crate::Engine;
use crate::active::{CheckJob, CheckOutcome, CheckTarget, check_options as opt};
use crate::macros::MacroCtx;
use crate::obj::{DepKind, Obj};
use crate::process::ResultFlags;
use crate::status::{CheckType, StateType, Time, host_state, svc_state};

/// Scheduling state of one host or service (not retained: rebuilt at start-up).
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot {
    /// A check event is queued (at the status' `next_check`).
    queued: bool,
    /// Options of the queued event.
    options: u8,
    /// Generation of the queued event (older heap entries are stale).
    generation: u32,
    /// A check job was handed out and its result has not come back.
    pub(crate) executing: bool,
    /// A freshness check is under way.
    pub(crate) being_freshened: bool,
}

type Entry = Reverse<(Time, u64, u64, u32)>;

/// The check queue and everything derived from the configuration for it.
#[derive(Debug, Default)]
pub(crate) struct Scheduler {
    pub(crate) svcs: Vec<Slot>,
    pub(crate) hosts: Vec<Slot>,
    /// `(due, insertion sequence, object code, generation)`, earliest first.
    heap: BinaryHeap<Entry>,
    seq: u64,
    pub(crate) svc_exec_deps: Vec<Vec<u32>>,
    pub(crate) host_exec_deps: Vec<Vec<u32>>,
    svc_freshness: Vec<ServiceId>,
    host_freshness: Vec<HostId>,
    next_svc_freshness: Time,
    next_host_freshness: Time,
    /// When the scheduler started (`event_start`).
    event_start: Time,
    started: bool,
}

fn code(t: CheckTarget) -> u64 {
    match t {
        CheckTarget::Host(h) => u64::from(h.0) << 1,
        CheckTarget::Service(s) => (u64::from(s.0) << 1) | 1,
    }
}

fn target(code: u64) -> CheckTarget {
    let id = (code >> 1) as u32;
    if code & 1 == 1 {
        CheckTarget::Service(ServiceId(id))
    } else {
        CheckTarget::Host(HostId(id))
    }
}

/// A deterministic stand-in for Nagios' `ranged_urand(0, window)`.
fn spread(id: u32, window: Time) -> Time {
    if window <= 0 {
        return 0;
    }
    let h = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
    (h % (window as u64 + 1)) as Time
}

/// `%dd %dh %dm %ds` as `get_time_breakdown()` prints it.
fn breakdown(secs: Time) -> String {
    let s = secs.max(0);
    format!(
        "{}d {}h {}m {}s",
        s / 86400,
        (s % 86400) / 3600,
        (s % 3600) / 60,
        s % 60
    )
}

impl Scheduler {
    pub(crate) fn new(cfg: &Config) -> Scheduler {
        let mut svc_exec_deps = vec![Vec::new(); cfg.services.len()];
        for (i, d) in cfg.servicedependencies.iter().enumerate() {
            if !d.execution_failure.is_empty() {
                if let Some(v) = svc_exec_deps.get_mut(d.dependent.index()) {
                    v.push(i as u32);
                }
            }
        }
        let mut host_exec_deps = vec![Vec::new(); cfg.hosts.len()];
        for (i, d) in cfg.hostdependencies.iter().enumerate() {
            if !d.execution_failure.is_empty() {
                if let Some(v) = host_exec_deps.get_mut(d.dependent.index()) {
                    v.push(i as u32);
                }
            }
        }
        Scheduler {
            svcs: vec![Slot::default(); cfg.services.len()],
            hosts: vec![Slot::default(); cfg.hosts.len()],
            svc_exec_deps,
            host_exec_deps,
            svc_freshness: cfg
                .services
                .iter()
                .filter(|s| s.common.check_freshness)
                .map(|s| s.id)
                .collect(),
            host_freshness: cfg
                .hosts
                .iter()
                .filter(|h| h.common.check_freshness)
                .map(|h| h.id)
                .collect(),
            ..Scheduler::default()
        }
    }

    pub(crate) fn slot_mut(&mut self, t: CheckTarget) -> &mut Slot {
        match t {
            CheckTarget::Host(h) => &mut self.hosts[h.index()],
            CheckTarget::Service(s) => &mut self.svcs[s.index()],
        }
    }

    fn slot(&self, t: CheckTarget) -> &Slot {
        match t {
            CheckTarget::Host(h) => &self.hosts[h.index()],
            CheckTarget::Service(s) => &self.svcs[s.index()],
        }
    }
}

impl Engine {
    /// Apply time: start and end downtimes that are due, check freshness, and hand out
    /// the active checks that are due (drained with [`Engine::drain_checks`] or
    /// [`Engine::take_outputs`]). Idempotent for a given `now`.
    pub fn tick(&mut self, now: Time) {
        self.tick_downtimes(now);
        self.run_schedule(now);
    }

    /// Move the check jobs produced so far to `out`.
    pub fn drain_checks(&mut self, out: &mut Vec<CheckJob>) {
        out.append(&mut self.out.checks);
    }

    /// Number of checks handed out whose results have not come back.
    pub fn checks_executing(&self) -> usize {
        self.sched.svcs.iter().filter(|s| s.executing).count()
            + self.sched.hosts.iter().filter(|s| s.executing).count()
    }

    pub(crate) fn schedule_wakeup(&self) -> Option<Time> {
        if !self.sched.started {
            return None;
        }
        let mut w = self.sched.heap.peek().map(|Reverse(e)| e.0);
        let mut add = |t: Time| w = Some(w.map_or(t, |x| x.min(t)));
        if self.prog.check_service_freshness && !self.sched.svc_freshness.is_empty() {
            add(self.sched.next_svc_freshness);
        }
        if self.prog.check_host_freshness && !self.sched.host_freshness.is_empty() {
            add(self.sched.next_host_freshness);
        }
        w
    }

    fn il(&self) -> Time {
        Time::from(self.cfg.main.interval_length.max(1))
    }

    fn next_valid(&self, tp: Option<TimeperiodId>, t: Time) -> Option<Time> {
        match tp {
            None => Some(t),
            Some(id) => {
                if self.cfg.in_period(id, Self::ts(t), &self.tz) {
                    Some(t)
                } else {
                    self.cfg
                        .next_valid_time(id, Self::ts(t), &self.tz)
                        .map(|x| x.as_second().max(t))
                }
            }
        }
    }

    /// `check_window()`: the retry interval in a SOFT problem, else the check interval.
    fn svc_window(&self, sid: ServiceId) -> Time {
        let c = &self.cfg.service(sid).common;
        let st = &self.svcs[sid.index()];
        let units = if st.state_type == StateType::Soft && st.current_state != svc_state::OK {
            c.retry_interval
        } else {
            c.check_interval
        };
        (units * self.il() as f64) as Time
    }

    fn host_window(&self, hid: HostId) -> Time {
        let c = &self.cfg.host(hid).common;
        let st = &self.hosts[hid.index()];
        let units = if st.state_type == StateType::Soft && st.current_state != host_state::UP {
            c.retry_interval
        } else {
            c.check_interval
        };
        (units * self.il() as f64) as Time
    }

    fn svc_should_be_scheduled(&self, sid: ServiceId) -> bool {
        self.svcs[sid.index()].active_checks_enabled
            && self.cfg.service(sid).common.check_interval > 0.0
    }

    fn host_should_be_scheduled(&self, hid: HostId) -> bool {
        self.hosts[hid.index()].active_checks_enabled
            && self.cfg.host(hid).common.check_interval > 0.0
    }

    /// `init_timing_loop()`: the first check of every object, spread over its interval
    /// with Nagios' "smart" inter-check delay and interleaving (no thundering herd).
    /// Checks retained for the near future keep their time.
    pub(crate) fn init_timing_loop(&mut self, now: Time) {
        let cfg = Arc::clone(&self.cfg);
        let il = self.il() as f64;
        let main = &cfg.main;
        let s = &mut self.sched;
        s.event_start = now;
        s.started = true;
        s.heap.clear();
        for slot in s.svcs.iter_mut().chain(s.hosts.iter_mut()) {
            let generation = slot.generation.wrapping_add(1);
            *slot = Slot {
                generation,
                ..Slot::default()
            };
        }
        s.next_svc_freshness = now + Time::from(main.service_freshness_check_interval.max(1));
        s.next_host_freshness = now + Time::from(main.host_freshness_check_interval.max(1));

        // Services.
        let scheduled: Vec<ServiceId> = cfg
            .services
            .iter()
            .map(|s| s.id)
            .filter(|&id| self.svc_should_be_scheduled(id))
            .collect();
        if !scheduled.is_empty() {
            let total = scheduled.len() as f64;
            let interval_total: f64 = scheduled
                .iter()
                .map(|&id| cfg.service(id).common.check_interval * il)
                .sum();
            let mut delay = interval_total / total / total;
            let max_delay = f64::from(main.max_service_check_spread) * 60.0 / total;
            if delay > max_delay {
                delay = max_delay;
            }
            let factor = (total / cfg.hosts.len().max(1) as f64).ceil().max(1.0) as usize;
            let blocks = (total / factor as f64).ceil() as usize;
            let mut it = scheduled.iter().copied();
            let mut block = 0usize;
            let mut done = false;
            while !done {
                let mut index = 0usize;
                while index < factor {
                    let Some(sid) = it.next() else {
                        done = true;
                        break;
                    };
                    let window = self.svc_window(sid);
                    let retained = self.svcs[sid.index()].next_check - now;
                    if retained > 0 && retained < window {
                        let t = self.svcs[sid.index()].next_check;
                        self.queue_check(CheckTarget::Service(sid), t, 0);
                        continue;
                    }
                    index += 1;
                    let mult = block + index * blocks;
                    let mut check_delay = (mult as f64 * delay) as Time;
                    if check_delay > window {
                        check_delay = spread(sid.0, window);
                    }
                    let mut t = now + check_delay;
                    let period = cfg.service(sid).common.check_period;
                    if !self.in_period(period, t) {
                        match self.next_valid(period, t) {
                            Some(v) => t = v + check_delay,
                            None => continue,
                        }
                    }
                    self.queue_check(CheckTarget::Service(sid), t, 0);
                }
                block += 1;
            }
        }

        // Hosts.
        let scheduled: Vec<HostId> = cfg
            .hosts
            .iter()
            .map(|h| h.id)
            .filter(|&id| self.host_should_be_scheduled(id))
            .collect();
        if !scheduled.is_empty() {
            let total = scheduled.len() as f64;
            let interval_total: f64 = scheduled
                .iter()
                .map(|&id| cfg.host(id).common.check_interval * il)
                .sum();
            let mut delay = interval_total / total / total;
            let max_delay = f64::from(main.max_host_check_spread) * 60.0 / total;
            if delay > max_delay {
                delay = max_delay;
            }
            let mut mult = 0usize;
            for hid in scheduled {
                let retained = self.hosts[hid.index()].next_check;
                if retained > now {
                    self.queue_check(CheckTarget::Host(hid), retained, 0);
                    continue;
                }
                let window = self.host_window(hid);
                let mut check_delay = (mult as f64 * delay) as Time;
                if check_delay > window {
                    check_delay = spread(hid.0, window);
                }
                let mut t = now + check_delay;
                let period = cfg.host(hid).common.check_period;
                if !self.in_period(period, t) {
                    match self.next_valid(period, t) {
                        Some(v) => t = v + check_delay,
                        None => continue,
                    }
                }
                self.queue_check(CheckTarget::Host(hid), t, 0);
                mult += 1;
            }
        }
    }

    /// Put a check event in the queue (replacing any queued one).
    fn queue_check(&mut self, t: CheckTarget, time: Time, options: u8) {
        let seq = self.sched.seq;
        self.sched.seq += 1;
        let slot = self.sched.slot_mut(t);
        slot.generation = slot.generation.wrapping_add(1);
        slot.queued = true;
        slot.options = options;
        let entry = Reverse((time, seq, code(t), slot.generation));
        self.sched.heap.push(entry);
        self.status_mut(t).next_check = time;
    }

    fn unqueue_check(&mut self, t: CheckTarget) {
        let slot = self.sched.slot_mut(t);
        slot.generation = slot.generation.wrapping_add(1);
        slot.queued = false;
        self.status_mut(t).next_check = 0;
    }

    /// `schedule_service_check()` / `schedule_host_check()`: queue a check at `time`
    /// unless an earlier (or forced) one is already queued.
    pub(crate) fn schedule_check(&mut self, t: CheckTarget, time: Time, options: u8) {
        let horizon = match t {
            CheckTarget::Host(_) => self.cfg.main.cached_host_check_horizon,
            CheckTarget::Service(_) => self.cfg.main.cached_service_check_horizon,
        };
        let st = self.status(t);
        let (enabled, last_check, queued_at) =
            (st.active_checks_enabled, st.last_check, st.next_check);
        if !enabled && options & opt::FORCE == 0 {
            return;
        }
        if options == opt::DEPENDENCY && last_check + Time::from(horizon) > time {
            return;
        }
        let slot = self.sched.slot_mut(t);
        if slot.queued {
            let replace = if slot.options & opt::FORCE != 0 {
                options & opt::FORCE != 0 && time < queued_at
            } else {
                options & opt::FORCE != 0 || time < queued_at
            };
            if !replace {
                return;
            }
        }
        self.queue_check(t, time, options);
    }

    /// Run everything due at `now`.
    fn run_schedule(&mut self, now: Time) {
        if !self.sched.started {
            return;
        }
        if self.prog.check_service_freshness
            && !self.sched.svc_freshness.is_empty()
            && now >= self.sched.next_svc_freshness
        {
            self.check_service_freshness(now);
            self.sched.next_svc_freshness =
                now + Time::from(self.cfg.main.service_freshness_check_interval.max(1));
        }
        if self.prog.check_host_freshness
            && !self.sched.host_freshness.is_empty()
            && now >= self.sched.next_host_freshness
        {
            self.check_host_freshness(now);
            self.sched.next_host_freshness =
                now + Time::from(self.cfg.main.host_freshness_check_interval.max(1));
        }
        while let Some(&Reverse((due, _, c, generation))) = self.sched.heap.peek() {
            if due > now {
                break;
            }
            self.sched.heap.pop();
            let t = target(c);
            let slot = self.sched.slot_mut(t);
            if !slot.queued || slot.generation != generation {
                continue;
            }
            slot.queued = false;
            let options = slot.options;
            self.status_mut(t).next_check = 0;
            match t {
                CheckTarget::Service(sid) => self.run_scheduled_service(now, sid, options, due),
                CheckTarget::Host(hid) => self.run_scheduled_host(now, hid, options, due),
            }
        }
    }

    /// A scheduled check that may not run now goes to its preferred time, or a whole
    /// `check_interval` (5 minutes when 0) from now when that has passed, moved to the
    /// next valid time of its `check_period` (spread over the interval when none).
    fn requeue_unviable(&mut self, now: Time, t: CheckTarget, preferred: Time, options: u8) {
        let cfg = std::sync::Arc::clone(&self.cfg);
        let (c, id, window) = match t {
            CheckTarget::Service(sid) => (&*cfg.service(sid).common, sid.0, self.svc_window(sid)),
            CheckTarget::Host(hid) => (&cfg.host(hid).common, hid.0, self.host_window(hid)),
        };
        let preferred = if now >= preferred {
            now + if c.check_interval <= 0.0 {
                300
            } else {
                (c.check_interval * self.il() as f64) as Time
            }
        } else {
            preferred
        };
        let next = self
            .next_valid(c.check_period, preferred)
            .unwrap_or_else(|| preferred + spread(id, window));
        self.queue_check(t, next.max(now + 1), options);
    }

    /// `run_scheduled_service_check()`.
    fn run_scheduled_service(&mut self, now: Time, sid: ServiceId, options: u8, due: Time) {
        let t = CheckTarget::Service(sid);
        if self.sched.svcs[sid.index()].executing {
            // One check at a time per object: try again when the running one is done.
            self.queue_check(t, now + 1, options);
            return;
        }
        if options & opt::FORCE == 0 && !self.prog.execute_service_checks {
            let next = due + self.svc_window(sid).max(1);
            self.queue_check(t, next.max(now + 1), options);
            return;
        }
        match self.service_viability(now, sid, options) {
            Ok(()) => self.emit_service_check(now, sid, options, due),
            Err(preferred) => {
                if !self.svc_should_be_scheduled(sid) {
                    self.svcs[sid.index()].next_check = 0;
                    return;
                }
                self.requeue_unviable(now, t, preferred, options);
            }
        }
    }

    /// `run_scheduled_host_check()`.
    fn run_scheduled_host(&mut self, now: Time, hid: HostId, options: u8, due: Time) {
        let t = CheckTarget::Host(hid);
        if self.sched.hosts[hid.index()].executing {
            self.queue_check(t, now + 1, options);
            return;
        }
        if options & opt::FORCE == 0 && !self.prog.execute_host_checks {
            let next = due + self.host_window(hid).max(1);
            self.queue_check(t, next.max(now + 1), options);
            return;
        }
        // `run_async_host_check()` of 4.4.6: a non-forced check within
        // cached_host_check_horizon of the last one is aborted before anything else, and
        // `run_scheduled_host_check()` puts it off by check_interval, even a SOFT retry
        // [oracle: z_host_check_horizon].
        if options & opt::FORCE == 0
            && self.hosts[hid.index()].last_check
                + Time::from(self.cfg.main.cached_host_check_horizon)
                > now
        {
            if self.host_should_be_scheduled(hid) {
                self.requeue_unviable(now, t, now, options);
            } else {
                self.hosts[hid.index()].next_check = 0;
            }
            return;
        }
        match self.host_viability(now, hid, options) {
            Ok(()) => self.emit_host_check(now, hid, options, due),
            Err(preferred) => {
                if !self.host_should_be_scheduled(hid) {
                    self.hosts[hid.index()].next_check = 0;
                    return;
                }
                self.requeue_unviable(now, t, preferred, options);
            }
        }
    }

    /// `check_service_check_viability()`: `Err(preferred next time)` when it cannot run.
    fn service_viability(&self, now: Time, sid: ServiceId, options: u8) -> Result<(), Time> {
        let c = &self.cfg.service(sid).common;
        let st = &self.svcs[sid.index()];
        let interval = self.svc_window(sid);
        let mut preferred = now;
        let mut ok = true;
        if options & opt::FORCE == 0 {
            if !st.active_checks_enabled {
                preferred = now + interval;
                ok = false;
            }
            if !self.in_period(c.check_period, now) {
                preferred = now;
                ok = false;
            }
            if self.dependencies_failed(Obj::Service(sid), DepKind::Execution, now, 0) {
                preferred = now + interval;
                ok = false;
            }
        }
        if self.svc_parents_failed(sid, 0) {
            preferred = now + interval;
            ok = false;
        }
        if ok { Ok(()) } else { Err(preferred) }
    }

    /// `check_host_check_viability()`.
    fn host_viability(&self, now: Time, hid: HostId, options: u8) -> Result<(), Time> {
        let c = &self.cfg.host(hid).common;
        let st = &self.hosts[hid.index()];
        let interval = self.host_window(hid);
        if options & opt::FORCE == 0 {
            if !st.active_checks_enabled {
                return Err(now + interval);
            }
            if !self.in_period(c.check_period, now) {
                return Err(now);
            }
            if self.dependencies_failed(Obj::Host(hid), DepKind::Execution, now, 0) {
                return Err(now + interval);
            }
        }
        Ok(())
    }

    /// `check_service_parents()`: a parent whose last HARD state is CRITICAL or UNKNOWN
    /// stops the check (recursively).
    fn svc_parents_failed(&self, sid: ServiceId, depth: u32) -> bool {
        if depth > 16 {
            return false;
        }
        for &p in &self.cfg.service(sid).parents {
            let s = self.svcs[p.index()].last_hard_state;
            if s == svc_state::CRITICAL || s == svc_state::UNKNOWN {
                return true;
            }
            if self.svc_parents_failed(p, depth + 1) {
                return true;
            }
        }
        false
    }

    /// `determine_host_reachability()` for a host that is not UP: DOWN when it has no
    /// parents or at least one parent is UP, UNREACHABLE when every parent is down.
    pub(crate) fn determine_host_reachability(&self, hid: HostId) -> u8 {
        let parents = &self.cfg.host(hid).parents;
        if parents.is_empty()
            || parents
                .iter()
                .any(|p| self.hosts[p.index()].current_state == host_state::UP)
        {
            host_state::DOWN
        } else {
            host_state::UNREACHABLE
        }
    }

    fn emit_service_check(&mut self, now: Time, sid: ServiceId, options: u8, due: Time) {
        let cfg = Arc::clone(&self.cfg);
        let s = cfg.service(sid);
        let Some(call) = &s.common.check_command else {
            return;
        };
        if self.replay {
            return;
        }
        let ctx = MacroCtx {
            host: Some(s.host),
            svc: Some(sid),
            contact: None,
            notif: None,
            args: &call.args,
            now,
        };
        let command_line = self.expand(&ctx, &cfg.command(call.command).line);
        let env = self.env_macros(&ctx);
        self.sched.svcs[sid.index()].executing = true;
        self.out.checks.push(CheckJob {
            target: CheckTarget::Service(sid),
            host: cfg.host(s.host).name.to_string(),
            service: Some(s.description.to_string()),
            command_line,
            env,
            timeout_secs: cfg.main.service_check_timeout.max(1),
            options,
            due,
        });
    }

    fn emit_host_check(&mut self, now: Time, hid: HostId, options: u8, due: Time) {
        let cfg = Arc::clone(&self.cfg);
        let h = cfg.host(hid);
        let Some(call) = &h.common.check_command else {
            // No check command: the host is assumed to be UP.
            let r = CheckOutcome {
                host: h.name.to_string(),
                service: None,
                options,
                start_time: now,
                execution_time: 0.0,
                latency: (now - due).max(0) as f64,
                exit: crate::CheckExit::Code(0),
                output: "(Host assumed to be UP)".to_owned(),
            };
            self.process_check_result(now, &r);
            return;
        };
        if self.replay {
            return;
        }
        let ctx = MacroCtx {
            host: Some(hid),
            svc: None,
            contact: None,
            notif: None,
            args: &call.args,
            now,
        };
        let command_line = self.expand(&ctx, &cfg.command(call.command).line);
        let env = self.env_macros(&ctx);
        self.sched.hosts[hid.index()].executing = true;
        self.out.checks.push(CheckJob {
            target: CheckTarget::Host(hid),
            host: h.name.to_string(),
            service: None,
            command_line,
            env,
            timeout_secs: cfg.main.host_check_timeout.max(1),
            options,
            due,
        });
    }

    /// After any service result (active or passive): on-demand host checks and the next
    /// check time (`handle_async_service_check_result()`).
    pub(crate) fn after_service_result(
        &mut self,
        now: Time,
        sid: ServiceId,
        flags: ResultFlags,
        check_type: CheckType,
        latency: f64,
    ) {
        let cfg = Arc::clone(&self.cfg);
        let s = cfg.service(sid);
        let hid = s.host;
        if check_type == CheckType::Passive {
            self.svcs[sid.index()].latency = latency;
        }
        let st = &self.svcs[sid.index()];
        let host = &self.hosts[hid.index()];
        let horizon = Time::from(cfg.main.cached_host_check_horizon);
        let check_host = if st.current_state == svc_state::OK {
            if !host.has_been_checked {
                true
            } else if host.current_state != host_state::UP {
                !(st.last_state == svc_state::OK && now - host.last_check < horizon)
            } else {
                false
            }
        } else if host.current_state == host_state::UP {
            self.prog.execute_host_checks
                && st.last_state != st.current_state
                && host.last_check + horizon < now
        } else {
            false
        };
        if check_host {
            self.schedule_check(CheckTarget::Host(hid), now, opt::DEPENDENCY);
        }

        self.schedule_next_check(now, Obj::Service(sid), flags);
    }

    /// After any host result: checks of parents and children whose state may follow, and
    /// the next check time (`handle_async_host_check_result()`).
    pub(crate) fn after_host_result(
        &mut self,
        now: Time,
        hid: HostId,
        flags: ResultFlags,
        check_type: CheckType,
        latency: f64,
    ) {
        let cfg = Arc::clone(&self.cfg);
        let h = cfg.host(hid);
        if check_type == CheckType::Passive {
            self.hosts[hid.index()].latency = latency;
        }
        let (last, cur) = {
            let st = &self.hosts[hid.index()];
            (st.last_state, st.current_state)
        };
        let up = host_state::UP;
        if last == up && cur != up {
            for &p in &h.parents {
                if self.hosts[p.index()].current_state == up {
                    self.schedule_check(CheckTarget::Host(p), now, opt::DEPENDENCY);
                }
            }
            for &c in &h.children {
                if self.hosts[c.index()].current_state != host_state::UNREACHABLE {
                    self.schedule_check(CheckTarget::Host(c), now, opt::DEPENDENCY);
                }
            }
        } else if last != up && cur == up {
            for &p in h.parents.iter().chain(&h.children) {
                if self.hosts[p.index()].current_state != up {
                    self.schedule_check(CheckTarget::Host(p), now, opt::DEPENDENCY);
                }
            }
        }
        self.schedule_next_check(now, Obj::Host(hid), flags);
    }

    /// The next regular check after a result: `check_interval` after a HARD change,
    /// `retry_interval` in a SOFT problem, else `check_interval` after the last check;
    /// none when active checks are off or the object is not checked regularly.
    fn schedule_next_check(&mut self, now: Time, o: Obj, flags: ResultFlags) {
        let st = self.status(o);
        let c = o.common(&self.cfg);
        // OK and UP are both 0.
        if !st.active_checks_enabled
            || (c.check_interval <= 0.0
                && (st.state_type == StateType::Hard || st.current_state == 0))
        {
            return;
        }
        let il = self.il() as f64;
        let mut next = if flags.hard_state_change {
            now + (c.check_interval * il) as Time
        } else if flags.soft_retry {
            now + (c.retry_interval * il) as Time
        } else {
            st.last_check + (c.check_interval * il) as Time
        };
        if next < now {
            next = now;
        }
        let (id, window) = match o {
            Obj::Service(s) => (s.0, self.svc_window(s)),
            Obj::Host(h) => (h.0, self.host_window(h)),
        };
        let next = match self.next_valid(c.check_period, next) {
            Some(v) if v > next => v + spread(id, window),
            Some(v) => v,
            None => return,
        };
        self.schedule_check(o, next, 0);
    }

    /// `check_service_result_freshness()`.
    fn check_service_freshness(&mut self, now: Time) {
        let list = std::mem::take(&mut self.sched.svc_freshness);
        for &sid in &list {
            self.check_freshness(now, Obj::Service(sid));
        }
        self.sched.svc_freshness = list;
    }

    /// `check_host_result_freshness()`.
    fn check_host_freshness(&mut self, now: Time) {
        let list = std::mem::take(&mut self.sched.host_freshness);
        for &hid in &list {
            self.check_freshness(now, Obj::Host(hid));
        }
        self.sched.host_freshness = list;
    }

    /// One object of the freshness pass: a forced freshness check when its last result
    /// is stale.
    fn check_freshness(&mut self, now: Time, o: Obj) {
        let slot = self.sched.slot(o);
        let st = self.status(o);
        let c = o.common(&self.cfg);
        if slot.executing
            || slot.being_freshened
            || (!st.active_checks_enabled && !st.passive_checks_enabled)
            || !self.in_period(c.check_period, now)
            || (c.check_interval <= 0.0 && c.freshness_threshold == 0)
        {
            return;
        }
        if !self.is_fresh(now, o, true) {
            self.sched.slot_mut(o).being_freshened = true;
            self.schedule_check(o, now, opt::FORCE | opt::FRESHNESS);
        }
    }

    /// `is_service_result_fresh()` / `is_host_result_fresh()`.
    pub(crate) fn is_fresh(&mut self, now: Time, o: Obj, log: bool) -> bool {
        match o {
            Obj::Service(sid) => self.is_service_fresh(now, sid, log),
            Obj::Host(hid) => self.is_host_fresh(now, hid, log),
        }
    }

    /// `is_service_result_fresh()`: the automatic threshold (when `freshness_threshold`
    /// is 0) is the check (or, in a SOFT problem, retry) interval plus the last latency
    /// plus `additional_freshness_latency`.
    pub(crate) fn is_service_fresh(&mut self, now: Time, sid: ServiceId, log: bool) -> bool {
        let c = &self.cfg.service(sid).common;
        let st = &self.svcs[sid.index()];
        let threshold = self.freshness_threshold(
            c.freshness_threshold,
            st.state_type == StateType::Hard || st.current_state == svc_state::OK,
            c.check_interval,
            c.retry_interval,
            st.latency,
        );
        let spread = Time::from(self.cfg.main.max_service_check_spread) * self.il();
        let expires = self.expiration(st, c.freshness_threshold, threshold, spread);
        if expires < now {
            if log {
                let cfg = Arc::clone(&self.cfg);
                let s = cfg.service(sid);
                self.record(
                    now,
                    picket_log::Record::Warning {
                        text: &format!(
                            "The results of service '{}' on host '{}' are stale by {} (threshold={}).  I'm forcing an immediate check of the service.",
                            s.description,
                            cfg.host(s.host).name,
                            breakdown(now - expires),
                            breakdown(threshold)
                        ),
                    },
                );
            }
            return false;
        }
        true
    }

    /// `is_host_result_fresh()`.
    pub(crate) fn is_host_fresh(&mut self, now: Time, hid: HostId, log: bool) -> bool {
        let c = &self.cfg.host(hid).common;
        let st = &self.hosts[hid.index()];
        let threshold = self.freshness_threshold(
            c.freshness_threshold,
            st.state_type == StateType::Hard || st.current_state == host_state::UP,
            c.check_interval,
            c.retry_interval,
            st.latency,
        );
        let spread = Time::from(self.cfg.main.max_host_check_spread) * self.il();
        let expires = self.expiration(st, c.freshness_threshold, threshold, spread);
        if expires < now {
            if log {
                let name = self.cfg.host(hid).name.to_string();
                self.record(
                    now,
                    picket_log::Record::Warning {
                        text: &format!(
                            "The results of host '{name}' are stale by {} (threshold={}).  I'm forcing an immediate check of the host.",
                            breakdown(now - expires),
                            breakdown(threshold)
                        ),
                    },
                );
            }
            return false;
        }
        true
    }

    fn freshness_threshold(
        &self,
        configured: u32,
        hard_or_ok: bool,
        check_interval: f64,
        retry_interval: f64,
        latency: f64,
    ) -> Time {
        if configured != 0 {
            return Time::from(configured);
        }
        let units = if hard_or_ok {
            check_interval
        } else {
            retry_interval
        };
        (units * self.il() as f64 + latency + f64::from(self.cfg.main.additional_freshness_latency))
            as Time
    }

    fn expiration(
        &self,
        st: &crate::Status,
        configured: u32,
        threshold: Time,
        spread: Time,
    ) -> Time {
        let event_start = self.sched.event_start;
        let mut expires = if !st.has_been_checked {
            event_start + threshold
        } else if st.active_checks_enabled && event_start > st.last_check && configured == 0 {
            event_start + threshold + spread
        } else {
            st.last_check + threshold
        };
        // A passive object whose last result predates this start: Nagios was down for
        // "a long time" (61.8 % of the threshold); do not call it stale at once.
        if st.check_type == CheckType::Passive
            && st.last_check < event_start
            && (event_start as f64) > threshold as f64 * 0.618
        {
            expires = event_start + threshold;
        }
        expires
    }

    /// `enable_service_checks()` / `disable_service_checks()` and the host equivalents:
    /// enabling schedules a check now (or at the next valid time); disabling drops the
    /// queued check unless it is forced.
    pub(crate) fn set_active_checks(&mut self, now: Time, t: CheckTarget, on: bool) {
        let (was, period, interval) = match t {
            CheckTarget::Service(s) => (
                std::mem::replace(&mut self.svcs[s.index()].active_checks_enabled, on),
                self.cfg.service(s).common.check_period,
                self.cfg.service(s).common.check_interval,
            ),
            CheckTarget::Host(h) => (
                std::mem::replace(&mut self.hosts[h.index()].active_checks_enabled, on),
                self.cfg.host(h).common.check_period,
                self.cfg.host(h).common.check_interval,
            ),
        };
        if was == on || !self.sched.started {
            return;
        }
        if on {
            if interval > 0.0 {
                if let Some(at) = self.next_valid(period, now) {
                    self.schedule_check(t, at, 0);
                }
            }
        } else {
            let slot = self.sched.slot_mut(t);
            if slot.queued && slot.options & opt::FORCE == 0 {
                self.unqueue_check(t);
            }
        }
    }
}
