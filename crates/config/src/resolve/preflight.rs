//! Pre-flight checks (`base/config.c:pre_flight_object_check`, `pre_flight_circular_check`): what Nagios verifies before starting (missing commands and periods, contacts, circular parents and dependencies).

use super::*;

pub(super) fn preflight(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    if cfg.services.is_empty() {
        if ctx.dialect == Dialect::Shinken {
            ctx.diags
                .warning(Kind::Check, None, None, "there are no services defined");
        } else {
            ctx.diags
                .error(Kind::Check, None, None, "there are no services defined");
        }
    }
    if cfg.hosts.is_empty() {
        ctx.diags
            .error(Kind::Check, None, None, "there are no hosts defined");
    }
    if cfg.contacts.is_empty() && ctx.dialect == Dialect::Nagios {
        ctx.diags
            .error(Kind::Check, None, None, "there are no contacts defined");
    }
    for s in &cfg.services {
        let host = &cfg.hosts[s.host.index()];
        let what = || format!("service '{}' on host '{}'", s.description, host.name);
        if s.common.max_check_attempts == 0 {
            ctx.diags.error(
                Kind::Missing,
                Some(s.location.clone()),
                Some(what()),
                "max_check_attempts must be set and greater than 0",
            );
        }
        if s.common.notification_contacts.is_empty() {
            ctx.diags.warning(
                Kind::Check,
                Some(s.location.clone()),
                Some(what()),
                "no contacts or contact groups defined",
            );
        }
        if s.common.check_period.is_none() {
            ctx.diags.warning(
                Kind::Check,
                Some(s.location.clone()),
                Some(what()),
                "no check_period defined",
            );
        }
        if s.common.notification_period.is_none() {
            ctx.diags.warning(
                Kind::Check,
                Some(s.location.clone()),
                Some(what()),
                "no notification_period defined",
            );
        }
    }
    for h in &cfg.hosts {
        let what = || format!("host '{}'", h.name);
        if h.common.max_check_attempts == 0 {
            ctx.diags.error(
                Kind::Missing,
                Some(h.location.clone()),
                Some(what()),
                "max_check_attempts must be set and greater than 0",
            );
        }
        if h.services.is_empty() {
            ctx.diags.warning(
                Kind::Check,
                Some(h.location.clone()),
                Some(what()),
                "host has no services associated with it",
            );
        }
        if h.common.notification_contacts.is_empty() {
            ctx.diags.warning(
                Kind::Check,
                Some(h.location.clone()),
                Some(what()),
                "no contacts or contact groups defined",
            );
        }
    }
    for c in &cfg.contacts {
        let what = || format!("contact '{}'", c.name);
        let has_svc = c
            .ways
            .iter()
            .any(|w| !w.service_notification_commands.is_empty());
        let has_host = c
            .ways
            .iter()
            .any(|w| !w.host_notification_commands.is_empty());
        if !has_svc {
            ctx.diags.error(
                Kind::Missing,
                Some(c.location.clone()),
                Some(what()),
                "no service notification commands defined",
            );
        }
        if !has_host {
            ctx.diags.error(
                Kind::Missing,
                Some(c.location.clone()),
                Some(what()),
                "no host notification commands defined",
            );
        }
        if c.ways
            .iter()
            .any(|w| w.service_notification_period.is_none())
        {
            ctx.diags.warning(
                Kind::Check,
                Some(c.location.clone()),
                Some(what()),
                "no service notification time period defined",
            );
        }
        if c.ways.iter().any(|w| w.host_notification_period.is_none()) {
            ctx.diags.warning(
                Kind::Check,
                Some(c.location.clone()),
                Some(what()),
                "no host notification time period defined",
            );
        }
    }
    for (key, v) in [
        (
            "global_host_event_handler",
            ctx.main.global_host_event_handler.clone(),
        ),
        (
            "global_service_event_handler",
            ctx.main.global_service_event_handler.clone(),
        ),
    ] {
        if let Some(v) = v {
            let (name, _) = split_command_call(&v);
            if !name.is_empty() && !cfg.command_index.contains_key(name) {
                ctx.diags.error(
                    Kind::Undefined,
                    None,
                    None,
                    format!("{key} command '{name}' is not defined"),
                );
            }
        }
    }
    // Circular host parents.
    for id in find_cycles(cfg.hosts.len(), |i| {
        cfg.hosts[i].parents.iter().map(|p| p.index()).collect()
    }) {
        let h = &cfg.hosts[id];
        ctx.diags.error(
            Kind::Circular,
            Some(h.location.clone()),
            Some(format!("host '{}'", h.name)),
            "host is part of a circular parent/child chain",
        );
    }
    // Circular timeperiod exclusions.
    for id in find_cycles(cfg.timeperiods.len(), |i| {
        cfg.timeperiods[i]
            .exclude
            .iter()
            .map(|p| p.index())
            .collect()
    }) {
        let t = &cfg.timeperiods[id];
        ctx.diags.error(
            Kind::Circular,
            Some(t.location.clone()),
            Some(format!("timeperiod '{}'", t.name)),
            "timeperiod is part of a circular exclusion chain",
        );
    }
    // Circular dependencies: pre_flight_circular_check looks at the execution and the
    // notification graphs separately (a dependency is in the graph of each non-empty
    // criteria set).
    for (kind, pick) in [("execution", true), ("notification", false)] {
        let mut sdeps: Vec<Vec<usize>> = vec![Vec::new(); cfg.services.len()];
        for d in &cfg.servicedependencies {
            let crit = if pick {
                d.execution_failure
            } else {
                d.notification_failure
            };
            if !crit.is_empty() {
                sdeps[d.dependent.index()].push(d.master.index());
            }
        }
        for id in find_cycles(cfg.services.len(), |i| sdeps[i].clone()) {
            let s = &cfg.services[id];
            ctx.diags.error(
                Kind::Circular,
                Some(s.location.clone()),
                Some(format!(
                    "service '{}' on host '{}'",
                    s.description,
                    cfg.hosts[s.host.index()].name
                )),
                format!("service is part of a circular {kind} dependency chain"),
            );
        }
        let mut hdeps: Vec<Vec<usize>> = vec![Vec::new(); cfg.hosts.len()];
        for d in &cfg.hostdependencies {
            let crit = if pick {
                d.execution_failure
            } else {
                d.notification_failure
            };
            if !crit.is_empty() {
                hdeps[d.dependent.index()].push(d.master.index());
            }
        }
        for id in find_cycles(cfg.hosts.len(), |i| hdeps[i].clone()) {
            let h = &cfg.hosts[id];
            ctx.diags.error(
                Kind::Circular,
                Some(h.location.clone()),
                Some(format!("host '{}'", h.name)),
                format!("host is part of a circular {kind} dependency chain"),
            );
        }
    }
}

/// Nodes that lie on a cycle (reported once per cycle: the first node found on it).
pub(super) fn find_cycles(n: usize, edges: impl Fn(usize) -> Vec<usize>) -> Vec<usize> {
    // Iterative three-colour DFS.
    let mut color = vec![0u8; n];
    let mut out = Vec::new();
    for start in 0..n {
        if color[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, Vec<usize>, usize)> = vec![(start, edges(start), 0)];
        color[start] = 1;
        while let Some((node, succ, i)) = stack.last_mut() {
            if *i < succ.len() {
                let next = succ[*i];
                *i += 1;
                if next >= n {
                    continue;
                }
                match color[next] {
                    0 => {
                        color[next] = 1;
                        let e = edges(next);
                        stack.push((next, e, 0));
                    }
                    1 => out.push(next),
                    _ => {}
                }
            } else {
                color[*node] = 2;
                stack.pop();
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
