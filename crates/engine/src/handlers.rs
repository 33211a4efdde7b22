//! Event handlers (`sehandlers.c`): the global handler, then the object's own; neither
//! runs when the object's `event_handler_enabled` is off.

use std::sync::Arc;

use picket_config::{HostId, ServiceId};

use crate::macros::MacroCtx;
use crate::status::Time;
use crate::{Engine, Job, JobKind};

impl Engine {
    /// `handle_service_event()`.
    pub(crate) fn handle_service_event(&mut self, now: Time, sid: ServiceId) {
        if !self.prog.enable_event_handlers {
            return;
        }
        let cfg = Arc::clone(&self.cfg);
        let s = cfg.service(sid);
        let host_name = &cfg.host(s.host).name;
        let run =
            |me: &mut Engine, call: &picket_config::CommandCall, shown: &str, prefix: &str| {
                let st = &me.svcs[sid.index()];
                if cfg.main.log_event_handlers && !me.replay {
                    let record = picket_log::Record::ServiceEventHandler {
                        global: !prefix.is_empty(),
                        host: host_name,
                        service: &s.description,
                        state: picket_log::ServiceState::from_code(st.current_state),
                        state_type: st.state_type.log(),
                        attempt: st.current_attempt,
                        command: shown,
                    };
                    me.record(now, record);
                }
                if me.replay {
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
                let command_line = me.expand(&ctx, &cfg.command(call.command).line);
                let env = me.env_macros(&ctx);
                me.push_job(Job {
                    kind: JobKind::EventHandler,
                    command_line,
                    env,
                    timeout_secs: cfg.main.event_handler_timeout,
                    what: format!("{};{};{}", host_name, s.description, shown),
                    notification: None,
                });
            };
        // Nagios 4.4.6 returns before the global handler too when the object's own
        // handler is disabled [oracle: p_event_handlers].
        if !self.svcs[sid.index()].event_handler_enabled {
            return;
        }
        if let Some((call, shown)) = self.global_service_handler.clone() {
            run(self, &call, &shown, "GLOBAL ");
        }
        if let Some(call) = &s.common.event_handler {
            let shown = self.handler_string(call);
            run(self, call, &shown, "");
        }
    }

    /// `handle_host_event()`.
    pub(crate) fn handle_host_event(&mut self, now: Time, hid: HostId) {
        if !self.prog.enable_event_handlers {
            return;
        }
        let cfg = Arc::clone(&self.cfg);
        let h = cfg.host(hid);
        let run =
            |me: &mut Engine, call: &picket_config::CommandCall, shown: &str, prefix: &str| {
                let st = &me.hosts[hid.index()];
                if cfg.main.log_event_handlers && !me.replay {
                    let record = picket_log::Record::HostEventHandler {
                        global: !prefix.is_empty(),
                        host: &h.name,
                        state: picket_log::HostState::from_code(st.current_state),
                        state_type: st.state_type.log(),
                        attempt: st.current_attempt,
                        command: shown,
                    };
                    me.record(now, record);
                }
                if me.replay {
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
                let command_line = me.expand(&ctx, &cfg.command(call.command).line);
                let env = me.env_macros(&ctx);
                me.push_job(Job {
                    kind: JobKind::EventHandler,
                    command_line,
                    env,
                    timeout_secs: cfg.main.event_handler_timeout,
                    what: format!("{};{}", h.name, shown),
                    notification: None,
                });
            };
        if !self.hosts[hid.index()].event_handler_enabled {
            return;
        }
        if let Some((call, shown)) = self.global_host_handler.clone() {
            run(self, &call, &shown, "GLOBAL ");
        }
        if let Some(call) = &h.common.event_handler {
            let shown = self.handler_string(call);
            run(self, call, &shown, "");
        }
    }
}
