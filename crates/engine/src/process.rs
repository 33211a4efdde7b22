//! External commands and check results (`commands.c`, `checks.c` of Nagios 4.4.6).

use std::fmt::Write as _;
use std::sync::Arc;

use picket_config::{HostId, ServiceId};

use crate::commands::{CommandName, LineError, split_line};
use crate::extcmd::{CommandFailed, ExternalCommand};
use crate::obj::Obj;
use crate::output::{ParsedOutput, log_safe, parse_output, unescape_passive};
use crate::status::{AckType, CheckType, StateType, Status, Time, svc_state};
use crate::{Engine, PassiveResult};
use picket_log::Record;

/// Why a command failed (the reason logged as `returned error Command failed`).
pub(crate) type CmdError = CommandFailed;

type CmdResult = Result<(), CmdError>;

impl Engine {
    /// Process one command-file line (with or without its `\n`) received at `now`.
    pub fn process_line(&mut self, now: Time, line: &str) {
        self.process_line_from(now, line, false);
    }

    /// One line of a file named by `PROCESS_FILE`. As in Nagios 4.4.6
    /// (`process_external_commands_from_file()` ignores the result of each command): a
    /// malformed line is skipped silently, an unknown command logs only its `Warning:`
    /// line and a failed one only its `Error: External command failed` line, without the
    /// `External command … returned error …` line of the command file.
    pub fn process_file_line(&mut self, now: Time, line: &str) {
        self.process_line_from(now, line, true);
    }

    fn process_line_from(&mut self, now: Time, line: &str, from_file: bool) {
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            return;
        }
        let cmd = match split_line(line) {
            Ok(c) => c,
            Err(LineError::Malformed) if from_file => return,
            Err(LineError::Malformed) => {
                self.record(
                    now,
                    Record::ExternalCommandError {
                        command: &log_safe(line),
                        error: "Malformed command",
                    },
                );
                return;
            }
        };
        let Some(name) = CommandName::parse(cmd.name) else {
            let nm = log_safe(cmd.name).into_owned();
            let args = log_safe(cmd.args).into_owned();
            let raw = log_safe(cmd.raw).into_owned();
            self.record(
                now,
                Record::Warning {
                    text: &format!("Unrecognized external command -> {nm};{args}"),
                },
            );
            if from_file {
                return;
            }
            self.record(
                now,
                Record::ExternalCommandError {
                    command: &raw,
                    error: "Unknown or unsupported command",
                },
            );
            return;
        };
        let main = &self.cfg.main;
        let log_it = if name.is_check_result() {
            main.log_passive_checks
        } else {
            main.log_external_commands
        };
        if log_it {
            let (n, a) = (log_safe(cmd.name), log_safe(cmd.args));
            self.record(
                now,
                Record::ExternalCommand {
                    name: &n,
                    args: Some(&a),
                },
            );
        }
        let res = ExternalCommand::parse(name, cmd.entry_time, cmd.args)
            .and_then(|c| self.apply_command(now, c));
        if res.is_err() {
            let nm = log_safe(cmd.name).into_owned();
            let args = log_safe(cmd.args).into_owned();
            let raw = log_safe(cmd.raw).into_owned();
            self.record(
                now,
                Record::Error {
                    text: &format!("External command failed -> {nm};{args}"),
                },
            );
            if !from_file {
                self.record(
                    now,
                    Record::ExternalCommandError {
                        command: &raw,
                        error: "Command failed",
                    },
                );
            }
        }
    }

    /// The `EXTERNAL COMMAND:` line of a passive result, as `log_safe` of its
    /// `command_args()` (`log_safe` maps character by character, so the parts can be
    /// made safe one by one) built in one buffer: on the hot path of every NSCA and web
    /// result.
    fn log_passive(&mut self, now: Time, name: CommandName, r: &PassiveResult) {
        if self.replay {
            return;
        }
        let (host, output) = (log_safe(&r.host), log_safe(&r.output));
        let svc = r.service.as_deref().map(log_safe);
        let mut args = String::with_capacity(
            host.len() + output.len() + svc.as_ref().map_or(0, |s| s.len() + 1) + 8,
        );
        args.push_str(&host);
        if let Some(svc) = &svc {
            args.push(';');
            args.push_str(svc);
        }
        args.push(';');
        let _ = write!(args, "{};", r.return_code);
        args.push_str(&output);
        self.record(
            now,
            Record::ExternalCommand {
                name: name.as_str(),
                args: Some(&args),
            },
        );
    }

    /// Process a passive result that did not come through the command file (NSCA, HTTP):
    /// logged and handled exactly as the equivalent `PROCESS_*_CHECK_RESULT` line.
    pub fn process_passive(&mut self, now: Time, r: &PassiveResult) {
        let name = match r.service {
            Some(_) => CommandName::ProcessServiceCheckResult,
            None => CommandName::ProcessHostCheckResult,
        };
        if self.cfg.main.log_passive_checks {
            self.log_passive(now, name, r);
        }
        let rc = i64::from(r.return_code);
        let res = match &r.service {
            Some(svc) => {
                self.passive_service_result(now, &r.host, svc, rc, &r.output, r.check_time)
            }
            None => self.passive_host_result(now, &r.host, rc, &r.output, r.check_time),
        };
        if res.is_err() {
            let args = log_safe(&r.command_args()).into_owned();
            self.record(
                now,
                Record::Error {
                    text: &format!("External command failed -> {};{args}", name.as_str()),
                },
            );
            self.record(
                now,
                Record::ExternalCommandError {
                    command: &format!("[{}] {};{args}", r.check_time, name.as_str()),
                    error: "Command failed",
                },
            );
        }
    }

    /// `process_passive_service_check()`.
    pub(crate) fn passive_service_result(
        &mut self,
        now: Time,
        host: &str,
        svc: &str,
        rc: i64,
        output: &str,
        check_time: Time,
    ) -> CmdResult {
        if !self.prog.accept_passive_service_checks {
            return Err(CommandFailed);
        }
        let Some(hid) = self.find_host(host) else {
            self.record(
                now,
                Record::Warning {
                    text: &format!(
                        " Passive check result was received for service '{}' on host '{}', but the host could not be found!",
                        log_safe(svc),
                        log_safe(host)
                    ),
                },
            );
            return Err(CommandFailed);
        };
        let Some(sid) = self.cfg.find_service(hid, svc) else {
            self.record(
                now,
                Record::Warning {
                    text: &format!(
                        " Passive check result was received for service '{}' on host '{}', but the service could not be found!",
                        log_safe(svc),
                        log_safe(host)
                    ),
                },
            );
            return Err(CommandFailed);
        };
        if !self.svcs[sid.index()].passive_checks_enabled {
            return Err(CommandFailed);
        }
        if self.opts.drop_stale_results {
            let st = &self.svcs[sid.index()];
            if st.has_been_checked && check_time < st.last_check {
                return Ok(());
            }
        }
        let rc = if (0..=3).contains(&rc) {
            rc as u8
        } else {
            svc_state::UNKNOWN
        };
        let text = unescape_passive(output);
        let flags = self.handle_service_result(now, sid, rc, &text, check_time, CheckType::Passive);
        self.after_service_result(
            now,
            sid,
            flags,
            CheckType::Passive,
            (now - check_time).max(0) as f64,
        );
        Ok(())
    }

    /// `process_passive_host_check()`.
    pub(crate) fn passive_host_result(
        &mut self,
        now: Time,
        host: &str,
        rc: i64,
        output: &str,
        check_time: Time,
    ) -> CmdResult {
        // QUIRK kept: process_passive_host_check() tests the service-wide switch.
        if !self.prog.accept_passive_service_checks {
            return Err(CommandFailed);
        }
        if !(0..=2).contains(&rc) {
            return Err(CommandFailed);
        }
        let Some(hid) = self.find_host(host) else {
            self.record(
                now,
                Record::Warning {
                    text: &format!(
                        " Passive check result was received for host '{}', but the host could not be found!",
                        log_safe(host)
                    ),
                },
            );
            return Err(CommandFailed);
        };
        if !self.hosts[hid.index()].passive_checks_enabled {
            return Err(CommandFailed);
        }
        // accept_passive_host_checks is only tested when the queued result is reaped
        // (handle_async_host_check_result): the command itself succeeds and the result
        // is dropped without a log line (oracle i_stale_and_disabled_passive).
        if !self.prog.accept_passive_host_checks {
            return Ok(());
        }
        if self.opts.drop_stale_results {
            let st = &self.hosts[hid.index()];
            if st.has_been_checked && check_time < st.last_check {
                return Ok(());
            }
        }
        let text = unescape_passive(output);
        let flags =
            self.handle_host_result(now, hid, rc as u8, &text, check_time, CheckType::Passive);
        self.after_host_result(
            now,
            hid,
            flags,
            CheckType::Passive,
            (now - check_time).max(0) as f64,
        );
        Ok(())
    }

    /// `handle_async_service_check_result()` for a result already mapped to a state.
    pub(crate) fn handle_service_result(
        &mut self,
        now: Time,
        sid: ServiceId,
        state: u8,
        text: &str,
        check_time: Time,
        check_type: CheckType,
    ) -> ResultFlags {
        let cfg = Arc::clone(&self.cfg);
        let scfg = cfg.service(sid);
        let hid = scfg.host;
        let max_attempts = self.svcs[sid.index()]
            .max_check_attempts
            .unwrap_or(scfg.common.max_check_attempts)
            .max(1);
        let parsed = parse_output(text);
        let (host_state, _host_state_type) = {
            let h = &self.hosts[hid.index()];
            (h.current_state, h.state_type)
        };
        let i = sid.index();

        // Deliberate difference: log the new result, not the previous one.
        if check_type == CheckType::Passive && cfg.main.log_passive_checks {
            let short = log_safe(&parsed.short);
            self.record(
                now,
                Record::PassiveServiceCheck {
                    host: &cfg.host(hid).name,
                    service: &scfg.description,
                    code: state & 3,
                    output: &short,
                },
            );
        }

        let st = &mut self.svcs[i];
        let old_output = record_result(st, parsed, state, check_time, check_type);
        let last_state = st.last_state;
        let new_last_hard_state = st.last_hard_state;
        let entry_state_type = st.state_type;
        let mut state_change = false;
        let mut hard_state_change = false;
        let mut send_notification = false;
        let mut log_event = false;
        let mut handle_event = false;
        let mut ack_removed = false;

        // Host interplay (evaluated on the new state).
        if state == svc_state::OK {
            if host_state != 0 {
                st.host_problem_at_last_check = true;
            }
        } else if host_state == 0 {
            if st.host_problem_at_last_check && st.state_type == StateType::Soft {
                st.current_attempt = 1;
            }
            st.host_problem_at_last_check = false;
        } else {
            st.host_problem_at_last_check = true;
        }
        let mut forced_hard = false;
        if host_state != 0 && state != new_last_hard_state {
            st.state_type = StateType::Hard;
            st.current_attempt = max_attempts;
            hard_state_change = true;
            forced_hard = true;
        }

        // OK / problem logic.
        if last_state == svc_state::OK && state == svc_state::OK {
            st.state_type = StateType::Hard;
            st.current_attempt = 1;
        } else if last_state == svc_state::OK {
            if host_state == 0 && !forced_hard {
                st.state_type = StateType::Soft;
            }
            st.current_attempt = 1;
            handle_event = true;
        } else if state == svc_state::OK {
            handle_event = true;
            if st.state_type == StateType::Hard {
                send_notification = true;
            }
            state_change = true;
        } else if st.state_type == StateType::Soft {
            handle_event = true;
        } else if st.host_problem_at_last_check {
            // nothing: the host was the problem
        } else {
            send_notification = true;
        }

        // `next_check` uses `retry_interval` when the state type is SOFT here (4.4.6).
        let soft_retry = st.state_type == StateType::Soft;
        state_change |=
            state != last_state || (state == svc_state::OK && st.state_type == StateType::Soft);

        if st.state_type == StateType::Soft {
            if last_state != svc_state::OK && st.current_attempt < max_attempts {
                st.current_attempt += 1;
            } else if state_change && state != svc_state::OK {
                st.current_attempt = 1;
            } else if st.current_attempt < max_attempts {
                st.current_attempt += 1;
            }
        }

        if st.current_attempt >= max_attempts
            && (state != new_last_hard_state
                || (st.state_type == StateType::Soft && state != svc_state::OK))
        {
            hard_state_change = true;
            send_notification = true;
        }
        // Deliberate difference: a recovery from a HARD problem is a HARD recovery even
        // when the attempt counter was reset by a host outage (Nagios 4.4.6 logs
        // `OK;SOFT;1` there and loses the RECOVERY notification).
        if state == svc_state::OK
            && last_state != svc_state::OK
            && entry_state_type == StateType::Hard
            && new_last_hard_state != svc_state::OK
        {
            hard_state_change = true;
            send_notification = true;
        }

        if state_change || hard_state_change {
            if state_change {
                st.last_state_change = check_time;
                st.state_type = StateType::Soft;
            }
            if hard_state_change {
                st.last_hard_state_change = check_time;
                st.last_hard_state = state;
                st.state_type = StateType::Hard;
            }
            st.last_notification = 0;
            st.next_notification = 0;
            st.no_more_notifications = false;
            if st.problem_has_been_acknowledged
                && (st.acknowledgement_type == AckType::Normal || state == svc_state::OK)
            {
                st.problem_has_been_acknowledged = false;
                st.acknowledgement_type = AckType::None;
                ack_removed = true;
            }
            log_event = true;
            handle_event = true;
        }
        if st.state_type == StateType::Soft && state != svc_state::OK {
            log_event = true;
        }
        if let Some(slot) = st.last_time_in_state.get_mut(usize::from(state)) {
            *slot = check_time;
        }
        if state_change {
            let ev = self.next_event_id();
            let st = &mut self.svcs[i];
            st.last_event_id = st.current_event_id;
            st.current_event_id = ev;
            if last_state == svc_state::OK {
                let p = self.next_problem_id();
                self.svcs[i].current_problem_id = p;
            }
        }
        if ack_removed {
            self.delete_ack_comments(Obj::Service(sid));
        }
        if (state_change || hard_state_change) && self.svcs[i].pending_flex_downtime > 0 {
            self.check_pending_flex_downtime(now, Obj::Service(sid));
        }

        self.check_flapping(now, Obj::Service(sid));

        let st = &self.svcs[i];
        if state != svc_state::OK && st.state_type == StateType::Hard && scfg.is_volatile {
            send_notification = true;
            log_event = true;
            handle_event = true;
        }
        // Stalking on output changes (HARD, no state change).
        if !log_event
            && st.state_type == StateType::Hard
            && !state_change
            && old_output.as_deref() != st.plugin_output.as_deref()
            && scfg
                .common
                .stalking_options
                .contains(crate::obj::svc_state_option(state))
        {
            log_event = true;
        }

        // Deliberate difference: SERVICE ALERT before the notification lines.
        let mut logged = false;
        if log_event {
            self.log_alert(now, Obj::Service(sid));
            logged = true;
        }
        if send_notification {
            let sent = self.notification(
                now,
                Obj::Service(sid),
                crate::NotificationKind::Normal,
                "",
                "",
                0,
            );
            if sent
                && !logged
                && scfg
                    .common
                    .stalking_options
                    .contains(picket_config::Options::NOTIFICATIONS)
            {
                self.log_alert(now, Obj::Service(sid));
            }
        }
        let st = &mut self.svcs[i];
        if state == svc_state::OK && st.state_type == StateType::Hard && hard_state_change {
            st.current_notification_number = 0;
            st.notified_on = 0;
        }
        if handle_event {
            self.handle_event(now, Obj::Service(sid));
        }
        let st = &mut self.svcs[i];
        if state == svc_state::OK {
            if state_change {
                st.last_problem_id = st.current_problem_id;
                st.current_problem_id = 0;
            }
            if hard_state_change {
                st.current_notification_number = 0;
                st.host_problem_at_last_check = false;
            }
            st.current_attempt = 1;
            st.state_type = StateType::Hard;
        }
        st.last_hard_state = if st.state_type == StateType::Hard {
            state
        } else {
            st.last_hard_state
        };
        ResultFlags {
            state_change,
            hard_state_change,
            soft_retry,
        }
    }

    /// `SERVICE ALERT` / `HOST ALERT` (a SOFT one only with `log_*_retries=1`).
    fn log_alert(&mut self, now: Time, o: Obj) {
        if self.replay {
            return;
        }
        let cfg = Arc::clone(&self.cfg);
        let retries = match o {
            Obj::Host(_) => cfg.main.log_host_retries,
            Obj::Service(_) => cfg.main.log_service_retries,
        };
        let st = self.status(o);
        if st.state_type == StateType::Soft && !retries {
            return;
        }
        let output = log_safe(st.output_or_null()).into_owned();
        let record = o.subject(&cfg).alert(
            st.current_state,
            st.state_type.log(),
            st.current_attempt,
            &output,
        );
        self.record(now, record);
    }

    /// `handle_async_host_check_result()` for passive (and, later, active) results.
    pub(crate) fn handle_host_result(
        &mut self,
        now: Time,
        hid: HostId,
        state: u8,
        text: &str,
        check_time: Time,
        check_type: CheckType,
    ) -> ResultFlags {
        let cfg = Arc::clone(&self.cfg);
        let hcfg = cfg.host(hid);
        let max_attempts = self.hosts[hid.index()]
            .max_check_attempts
            .unwrap_or(hcfg.common.max_check_attempts)
            .max(1);
        let parsed = parse_output(text);
        let i = hid.index();
        // `translate_passive_host_checks=1`: a passive DOWN or UNREACHABLE becomes
        // whatever `determine_host_reachability()` says from the parents' states
        // (active results are translated by the caller) [oracle: s_host_unreachable_parents].
        let state = if check_type == CheckType::Passive
            && cfg.main.translate_passive_host_checks
            && state != 0
        {
            self.determine_host_reachability(hid)
        } else {
            state
        };
        if check_type == CheckType::Passive && cfg.main.log_passive_checks {
            self.record(
                now,
                Record::PassiveHostCheck {
                    host: &hcfg.name,
                    code: state,
                    output: &log_safe(&parsed.short),
                },
            );
        }
        let st = &mut self.hosts[i];
        let old_output = record_result(st, parsed, state, check_time, check_type);
        let last_state = st.last_state;
        let last_hard = st.last_hard_state;
        let mut state_change = state != last_state;
        let mut hard_state_change = false;
        let mut send_notification = false;
        let mut log_event = false;
        let mut handle_event = false;
        let mut ack_removed = false;

        let hard_at_once =
            check_type == CheckType::Passive && !cfg.main.passive_host_checks_are_soft;
        if hard_at_once {
            st.state_type = StateType::Hard;
            st.current_attempt = 1;
            if state != last_hard {
                hard_state_change = true;
            }
        } else if state == 0 {
            if last_state != 0 {
                handle_event = true;
                if st.state_type == StateType::Hard || last_hard != 0 {
                    hard_state_change = last_hard != 0;
                    st.state_type = StateType::Hard;
                } else {
                    st.state_type = StateType::Soft;
                }
                // Unlike services, a host that comes back UP restarts at attempt 1,
                // HARD or SOFT recovery alike (`handle_async_host_check_result()`:
                // `current_attempt = 1` on the HARD recovery, and the attempt
                // adjustment resets it for a SOFT UP) [oracle: q_host_states].
                st.current_attempt = 1;
            } else {
                st.state_type = StateType::Hard;
                st.current_attempt = 1;
            }
        } else {
            if last_state == 0 {
                st.current_attempt = 1;
                st.state_type = StateType::Soft;
            } else if st.state_type == StateType::Soft && st.current_attempt < max_attempts {
                st.current_attempt += 1;
            }
            if st.current_attempt >= max_attempts {
                st.state_type = StateType::Hard;
                if state != last_hard {
                    hard_state_change = true;
                }
            } else {
                log_event = true;
                handle_event = true;
            }
        }
        if st.state_type == StateType::Soft && state == 0 && last_state != 0 {
            state_change = true;
        }
        let soft_retry = st.state_type == StateType::Soft && state != 0;
        if state_change || hard_state_change {
            if state_change {
                st.last_state_change = check_time;
            }
            if hard_state_change {
                st.last_hard_state_change = check_time;
                st.last_hard_state = state;
                send_notification = true;
            }
            st.last_notification = 0;
            st.next_notification = 0;
            st.no_more_notifications = false;
            if st.problem_has_been_acknowledged
                && (st.acknowledgement_type == AckType::Normal || state == 0)
            {
                st.problem_has_been_acknowledged = false;
                st.acknowledgement_type = AckType::None;
                ack_removed = true;
            }
            log_event = true;
            handle_event = true;
        } else if state != 0 && st.state_type == StateType::Hard {
            // a repeated HARD problem: re-notification path
            send_notification = true;
        }
        if let Some(slot) = st.last_time_in_state.get_mut(usize::from(state)) {
            *slot = check_time;
        }
        let stalk = !log_event
            && st.state_type == StateType::Hard
            && old_output.as_deref() != st.plugin_output.as_deref()
            && hcfg
                .common
                .stalking_options
                .contains(crate::obj::host_state_option(state));
        if stalk {
            log_event = true;
        }
        if state_change {
            let ev = self.next_event_id();
            let st = &mut self.hosts[i];
            st.last_event_id = st.current_event_id;
            st.current_event_id = ev;
            if last_state == 0 {
                let p = self.next_problem_id();
                self.hosts[i].current_problem_id = p;
            } else if state == 0 {
                // A host clears its problem id with the state change, before the
                // notification and the event handler see it (a service clears it
                // after them) [oracle: w_event_handler_macros]. Nagios 4.4.6 also
                // clears it on DOWN <-> UNREACHABLE, a bug Picket does not copy.
                let st = &mut self.hosts[i];
                st.last_problem_id = st.current_problem_id;
                st.current_problem_id = 0;
            }
        }
        if ack_removed {
            self.delete_ack_comments(Obj::Host(hid));
        }
        let start_flex =
            (state_change || hard_state_change) && self.hosts[i].pending_flex_downtime > 0;
        self.check_flapping(now, Obj::Host(hid));
        if log_event {
            self.log_alert(now, Obj::Host(hid));
        }
        if send_notification {
            self.notification(
                now,
                Obj::Host(hid),
                crate::NotificationKind::Normal,
                "",
                "",
                0,
            );
        }
        let st = &mut self.hosts[i];
        if state == 0 && hard_state_change {
            st.current_notification_number = 0;
            st.notified_on = 0;
        }
        if handle_event {
            self.handle_event(now, Obj::Host(hid));
        }
        // Unlike a service's, a host's flexible downtime starts only after the result
        // was fully handled: the PROBLEM notification that triggers it still goes out
        // (Nagios 4.4.6 logs HOST NOTIFICATION, HOST ALERT, HOST EVENT HANDLER, then
        // HOST DOWNTIME ALERT ... STARTED) [oracle: v_host_downtime_periods].
        if start_flex {
            self.check_pending_flex_downtime(now, Obj::Host(hid));
        }
        ResultFlags {
            state_change,
            hard_state_change,
            soft_retry,
        }
    }
}

/// Store a result's output, state and check time in the object's status (the first
/// step of both result handlers); returns the previous output (for stalking).
fn record_result(
    st: &mut Status,
    parsed: ParsedOutput,
    state: u8,
    check_time: Time,
    check_type: CheckType,
) -> Option<String> {
    let old_output = st.plugin_output.take();
    st.plugin_output = Some(parsed.short);
    st.long_output = parsed.long;
    st.perf_data = parsed.perf;
    st.check_type = check_type;
    st.last_check = check_time;
    st.has_been_checked = true;
    st.last_state = st.current_state;
    st.current_state = state;
    old_output
}

/// What a result did, for rescheduling (`next_check`) after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ResultFlags {
    pub(crate) state_change: bool,
    pub(crate) hard_state_change: bool,
    /// The state type was SOFT (non-OK) where Nagios picks `retry_interval`.
    pub(crate) soft_retry: bool,
}
