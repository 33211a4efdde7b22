//! Event handlers (`sehandlers.c`): the global handler, then the object's own; neither
//! runs when the object's `event_handler_enabled` is off.

use std::sync::Arc;

use picket_config::CommandCall;

use crate::macros::MacroCtx;
use crate::obj::Obj;
use crate::status::Time;
use crate::{Engine, Job, JobKind};

impl Engine {
    /// `handle_service_event()` / `handle_host_event()`.
    pub(crate) fn handle_event(&mut self, now: Time, o: Obj) {
        if !self.prog.enable_event_handlers {
            return;
        }
        let cfg = Arc::clone(&self.cfg);
        let subject = o.subject(&cfg);
        let run = |me: &mut Engine, call: &CommandCall, shown: &str, prefix: &str| {
            let st = me.status(o);
            if cfg.main.log_event_handlers && !me.replay {
                let record = subject.event_handler(
                    !prefix.is_empty(),
                    st.current_state,
                    st.state_type.log(),
                    st.current_attempt,
                    shown,
                );
                me.record(now, record);
            }
            if me.replay {
                return;
            }
            let ctx = MacroCtx {
                host: Some(o.host(&cfg)),
                svc: o.service(),
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
                what: format!("{subject};{shown}"),
                notification: None,
            });
        };
        // Nagios 4.4.6 returns before the global handler too when the object's own
        // handler is disabled [oracle: p_event_handlers].
        if !self.status(o).event_handler_enabled {
            return;
        }
        let global = match o {
            Obj::Host(_) => self.global_host_handler.clone(),
            Obj::Service(_) => self.global_service_handler.clone(),
        };
        if let Some((call, shown)) = global {
            run(self, &call, &shown, "GLOBAL ");
        }
        if let Some(call) = &o.common(&cfg).event_handler {
            let shown = self.handler_string(call);
            run(self, call, &shown, "");
        }
    }
}
