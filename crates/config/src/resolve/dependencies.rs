//! Host and service dependencies and escalations.

use super::*;

pub(super) fn build_dependencies(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::ServiceDependency);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let what = ctx.describe(d);
        // No master host, hostgroup or servicegroup but a dependent host, hostgroup or
        // servicegroup: Nagios takes the master on each dependent's own host
        // (`xodtemplate_duplicate_objects`, "same-host servicedependency services").
        let master_on_dependent_host = r.val(Key::HostName).is_none()
            && r.val(Key::HostgroupName).is_none()
            && r.val(Key::ServicegroupName).is_none()
            && (r.val(Key::DependentHostName).is_some()
                || r.val(Key::DependentHostgroupName).is_some()
                || r.val(Key::DependentServicegroupName).is_some());
        let res = (|| -> Result<(Vec<ServiceId>, Vec<ServiceId>), String> {
            let mut masters = Vec::new();
            if master_on_dependent_host {
                // Masters are found per dependent below.
            } else if r.val(Key::HostName).is_some() || r.val(Key::HostgroupName).is_some() {
                let (a, b) =
                    expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName))?;
                let hosts: Vec<HostId> = a.into_iter().chain(b).collect();
                let desc = r
                    .val(Key::ServiceDescription)
                    .ok_or("missing 'service_description'")?;
                masters.extend(match_services(ctx, cfg, &hosts, desc)?);
            }
            if let Some(sg) = r.val(Key::ServicegroupName) {
                masters.extend(servicegroup_services(cfg, sg)?);
            }
            if masters.is_empty() && !master_on_dependent_host {
                return Err("no master service matches".to_owned());
            }
            let mut deps = Vec::new();
            let dh = r.val(Key::DependentHostName);
            let dhg = r.val(Key::DependentHostgroupName);
            let dsg = r.val(Key::DependentServicegroupName);
            if let Some(sg) = dsg {
                deps.extend(servicegroup_services(cfg, sg)?);
            }
            if dh.is_some() || dhg.is_some() || dsg.is_none() {
                let hosts: Vec<HostId> = if dh.is_none() && dhg.is_none() {
                    // Same-host dependency.
                    masters
                        .iter()
                        .map(|s| cfg.services[s.index()].host)
                        .collect()
                } else {
                    let (a, b) = expand_hosts(ctx, cfg, dh, dhg)?;
                    a.into_iter().chain(b).collect()
                };
                let desc = r
                    .val(Key::DependentServiceDescription)
                    .ok_or("missing 'dependent_service_description'")?;
                deps.extend(match_services(ctx, cfg, &hosts, desc)?);
            }
            Ok((masters, deps))
        })();
        let (masters, deps) = match res {
            Ok(x) => x,
            Err(e) => {
                ctx.diags.error(Kind::Undefined, loc, Some(what), e);
                continue;
            }
        };
        // (master, dependent) pairs.
        let mut pairs: Vec<(ServiceId, ServiceId)> = Vec::new();
        if master_on_dependent_host {
            let Some(desc) = r.val(Key::ServiceDescription) else {
                ctx.diags.error(
                    Kind::Undefined,
                    loc,
                    Some(what),
                    "missing 'service_description'",
                );
                continue;
            };
            let mut failed = None;
            for &dep in &deps {
                let host = cfg.services[dep.index()].host;
                match match_services(ctx, cfg, &[host], desc) {
                    Ok(ms) => pairs.extend(ms.into_iter().map(|m| (m, dep))),
                    Err(e) => {
                        failed = Some(format!(
                            "{e}: no master host is named, so the master is looked up on \
                             the dependent's host '{}'",
                            cfg.hosts[host.index()].name
                        ));
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                ctx.diags.error(Kind::Undefined, loc, Some(what), e);
                continue;
            }
        } else {
            // A same-host dependency only when no dependent host, hostgroup or
            // servicegroup is named.
            let same_host_only = r.val(Key::DependentHostName).is_none()
                && r.val(Key::DependentHostgroupName).is_none()
                && r.val(Key::DependentServicegroupName).is_none();
            for &m in &masters {
                for &dep in &deps {
                    if same_host_only
                        && cfg.services[m.index()].host != cfg.services[dep.index()].host
                    {
                        continue;
                    }
                    pairs.push((m, dep));
                }
            }
        }
        let ef = r
            .get(Key::ExecutionFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "owucp"));
        let nf = r
            .get(Key::NotificationFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "owucp"));
        if matches!(ef, Some(None)) || matches!(nf, Some(None)) {
            // An invalid option letter, already reported.
            continue;
        }
        let ef = ef.flatten().unwrap_or_default();
        let nf = nf.flatten().unwrap_or_default();
        if ef.is_empty() && nf.is_empty() {
            // xodtemplate_register_servicedependency: neither execution nor notification
            // criteria (or only 'n'): Nagios warns and drops it.
            ctx.diags.warning(
                Kind::Check,
                loc,
                Some(what),
                "ignoring lame service dependency (no execution_failure_criteria nor \
                 notification_failure_criteria)",
            );
            continue;
        }
        let inherits = r
            .get(Key::InheritsParent)
            .cloned()
            .and_then(|p| ctx.bool_of(&p, &what))
            .unwrap_or(false);
        let period = tp_ref(ctx, cfg, &r, Key::DependencyPeriod, &what);
        // A pair whose master is its dependent (from group expansion) is kept, as Nagios
        // keeps it: it is counted and reported as a circular dependency below.
        for (m, dep) in pairs {
            cfg.servicedependencies.push(ServiceDependency {
                master: m,
                dependent: dep,
                execution_failure: ef,
                notification_failure: nf,
                inherits_parent: inherits,
                period,
                location: loc.clone().unwrap_or_else(dummy_loc),
            });
        }
    }
    let objs = registered(ctx, ObjectKind::HostDependency);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let what = ctx.describe(d);
        let res = (|| -> Result<(Vec<HostId>, Vec<HostId>), String> {
            let (a, b) = expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName))?;
            let masters: Vec<HostId> = a.into_iter().chain(b).collect();
            let (a, b) = expand_hosts(
                ctx,
                cfg,
                r.val(Key::DependentHostName),
                r.val(Key::DependentHostgroupName),
            )?;
            let deps: Vec<HostId> = a.into_iter().chain(b).collect();
            if masters.is_empty() || deps.is_empty() {
                return Err("master or dependent host list is empty".to_owned());
            }
            Ok((masters, deps))
        })();
        let (masters, deps) = match res {
            Ok(x) => x,
            Err(e) => {
                // Nagios 4.4.6 prints "Error: Could not find any host matching ..." for a
                // host dependency but drops the dependency and does not count the error:
                // `nagios -v` accepts the configuration, so Picket warns.
                ctx.diags.warning(
                    Kind::Undefined,
                    loc,
                    Some(what),
                    format!("{e}; the dependency is ignored (as Nagios does)"),
                );
                continue;
            }
        };
        let ef = r
            .get(Key::ExecutionFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "odup"));
        let nf = r
            .get(Key::NotificationFailureCriteria)
            .cloned()
            .map(|p| ctx.opts_of(&p, &what, "odup"));
        if matches!(ef, Some(None)) || matches!(nf, Some(None)) {
            // An invalid option letter, already reported.
            continue;
        }
        let execution_set = ef.is_some();
        let ef = ef.flatten().unwrap_or_default();
        let nf = nf.flatten().unwrap_or_default();
        if ef.is_empty() && nf.is_empty() && !execution_set {
            // Nagios drops it silently (0 host dependencies counted).
            ctx.diags.warning(
                Kind::Check,
                loc,
                Some(what),
                "ignoring lame host dependency (no execution_failure_criteria nor \
                 notification_failure_criteria)",
            );
            continue;
        }
        let inherits = r
            .get(Key::InheritsParent)
            .cloned()
            .and_then(|p| ctx.bool_of(&p, &what))
            .unwrap_or(false);
        let period = tp_ref(ctx, cfg, &r, Key::DependencyPeriod, &what);
        for &m in &masters {
            for &dep in &deps {
                // Kept when m == dep, as for service dependencies.
                cfg.hostdependencies.push(HostDependency {
                    master: m,
                    dependent: dep,
                    execution_failure: ef,
                    execution_set,
                    notification_failure: nf,
                    inherits_parent: inherits,
                    period,
                    location: loc.clone().unwrap_or_else(dummy_loc),
                });
            }
        }
    }
}

/// What one escalation definition says about itself, for [`build_escalation`].
pub(super) struct EscHead {
    what: String,
    loc: Location,
    letters: &'static str,
    /// Its own `contacts` starts with `+`: add to the object's `contacts`.
    additive_contacts: bool,
    /// Its own `contact_groups` starts with `+`: add to the object's `contact_groups`.
    additive_groups: bool,
}

pub(super) fn build_escalation(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    head: &EscHead,
    obj: &Checkable,
    have: Have,
) -> Escalation {
    let what = head.what.as_str();
    let letters = head.letters;
    let loc = &head.loc;
    let first = r
        .get(Key::FirstNotification)
        .cloned()
        .and_then(|p| ctx.num_of(&p, what))
        .unwrap_or(0);
    let last = r
        .get(Key::LastNotification)
        .cloned()
        .and_then(|p| ctx.num_of(&p, what))
        .unwrap_or(0);
    // xodtemplate_inherit_object_properties: an escalation without notification_interval
    // or escalation_period takes the object's, when the object has one set; otherwise
    // the interval is 0 and there is no period (always).
    let implied_interval = if have.notification_interval {
        obj.notification_interval
    } else {
        0.0
    };
    let interval = match r.get(Key::NotificationInterval).cloned() {
        Some(p) if p.value != "null" => ctx.f64_of(&p, what).unwrap_or(implied_interval),
        _ => implied_interval,
    };
    let options = r
        .get(Key::EscalationOptions)
        .cloned()
        .and_then(|p| ctx.opts_of(&p, what, letters))
        .unwrap_or_default();
    // xodtemplate_inherit_object_properties(): without contacts and contact_groups of
    // its own an escalation takes the object's; a `+` list is the object's list followed
    // by its own, per directive. The lists are then walked like the object's.
    let mut own_contacts = Vec::new();
    let mut own_groups = Vec::new();
    let has_c = r.val(Key::Contacts).is_some() || r.val(Key::ContactGroups).is_some();
    if has_c {
        if head.additive_contacts {
            own_contacts.extend(obj.contacts.iter().copied());
        }
        if head.additive_groups {
            own_groups.extend(obj.contact_groups.iter().copied());
        }
        if let Some(p) = r.get(Key::Contacts).cloned() {
            for n in list(p.value.trim_start_matches('+')) {
                match cfg.contact_index.get(n) {
                    Some(&c) => own_contacts.push(c),
                    None => {
                        let l = ctx.p_loc(&p);
                        ctx.diags.error(
                            Kind::Undefined,
                            l,
                            Some(what.to_owned()),
                            format!("contact '{n}' is not defined"),
                        );
                    }
                }
            }
        }
        if let Some(p) = r.get(Key::ContactGroups).cloned() {
            for n in list(p.value.trim_start_matches('+')) {
                match cfg.contactgroup_index.get(n) {
                    Some(&g) => own_groups.push(g),
                    None => {
                        let l = ctx.p_loc(&p);
                        ctx.diags.error(
                            Kind::Undefined,
                            l,
                            Some(what.to_owned()),
                            format!("contactgroup '{n}' is not defined"),
                        );
                    }
                }
            }
        }
    } else {
        own_contacts.extend(obj.contacts.iter().copied());
        own_groups.extend(obj.contact_groups.iter().copied());
    }
    let contacts = nagios_contact_order(cfg, &own_contacts, &own_groups);
    Escalation {
        first_notification: first,
        last_notification: last,
        notification_interval: interval,
        period: match r.get(Key::EscalationPeriod) {
            Some(p) if p.value != "null" => tp_ref(ctx, cfg, r, Key::EscalationPeriod, what),
            _ if have.notification_period => obj.notification_period,
            _ => None,
        },
        options,
        contacts,
        location: loc.clone(),
    }
}

pub(super) fn esc_head(
    ctx: &Ctx<'_>,
    d: usize,
    what: &str,
    loc: &Location,
    letters: &'static str,
) -> EscHead {
    // The resolver strips a '+' that found no template value; the definition's own
    // directives still have it.
    let additive = |key: Key| {
        ctx.defs[d]
            .props
            .iter()
            .any(|p| p.key == key && p.value.starts_with('+'))
    };
    EscHead {
        what: what.to_owned(),
        loc: loc.clone(),
        letters,
        additive_contacts: additive(Key::Contacts),
        additive_groups: additive(Key::ContactGroups),
    }
}

pub(super) fn build_escalations(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::ServiceEscalation);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d).unwrap_or_else(dummy_loc);
        let what = ctx.describe(d);
        let res = (|| -> Result<Vec<ServiceId>, String> {
            let mut out = Vec::new();
            if r.val(Key::HostName).is_some() || r.val(Key::HostgroupName).is_some() {
                let (a, b) =
                    expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName))?;
                let hosts: Vec<HostId> = a.into_iter().chain(b).collect();
                let desc = r
                    .val(Key::ServiceDescription)
                    .ok_or("missing 'service_description'")?;
                out.extend(match_services(ctx, cfg, &hosts, desc)?);
            }
            if let Some(sg) = r.val(Key::ServicegroupName) {
                out.extend(servicegroup_services(cfg, sg)?);
            }
            dedup_keep_order(&mut out);
            if out.is_empty() {
                return Err("escalation matches no service".to_owned());
            }
            Ok(out)
        })();
        let head = esc_head(ctx, d, &what, &loc, "wucr");
        match res {
            Ok(svcs) => {
                for s in svcs {
                    let common = cfg.services[s.index()].common.clone();
                    let have = ctx.service_have.get(s.index()).copied().unwrap_or_default();
                    let e = build_escalation(ctx, cfg, &r, &head, &common, have);
                    cfg.serviceescalations.push(ServiceEscalation {
                        service: s,
                        escalation: e,
                    });
                }
            }
            Err(e) => ctx.diags.error(Kind::Undefined, Some(loc), Some(what), e),
        }
    }
    let objs = registered(ctx, ObjectKind::HostEscalation);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d).unwrap_or_else(dummy_loc);
        let what = ctx.describe(d);
        let head = esc_head(ctx, d, &what, &loc, "dur");
        match expand_hosts(ctx, cfg, r.val(Key::HostName), r.val(Key::HostgroupName)) {
            Ok((a, b)) if !a.is_empty() || !b.is_empty() => {
                for h in a.into_iter().chain(b) {
                    let common = cfg.hosts[h.index()].common.clone();
                    let have = ctx.host_have.get(h.index()).copied().unwrap_or_default();
                    let e = build_escalation(ctx, cfg, &r, &head, &common, have);
                    cfg.hostescalations.push(HostEscalation {
                        host: h,
                        escalation: e,
                    });
                }
            }
            Ok(_) => ctx.diags.error(
                Kind::Undefined,
                Some(loc),
                Some(what),
                "escalation matches no host",
            ),
            Err(e) => ctx.diags.error(Kind::Undefined, Some(loc), Some(what), e),
        }
    }
}

/// Services named by a description list on the given hosts (`*` = all).
pub(super) fn match_services(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    hosts: &[HostId],
    descs: &str,
) -> Result<Vec<ServiceId>, String> {
    let mut out = Vec::new();
    let (inc, exc) = split_excl(descs);
    for d in inc {
        let re = if d != "*" && ctx.is_regex_name(d) {
            Some(
                ctx.regex(d)
                    .ok_or_else(|| format!("invalid regular expression '{d}'"))?,
            )
        } else {
            None
        };
        let mut found = false;
        for &h in hosts {
            for &s in &cfg.hosts[h.index()].services {
                let sd = &cfg.services[s.index()].description;
                let m = match &re {
                    Some(re) => re.is_match(sd),
                    None => d == "*" || **sd == *d,
                };
                if m {
                    out.push(s);
                    found = true;
                }
            }
        }
        if !found && re.is_none() && d != "*" {
            return Err(format!("could not find service '{d}' on the given host(s)"));
        }
    }
    if !exc.is_empty() {
        out.retain(|s| !exc.contains(&&*cfg.services[s.index()].description));
    }
    dedup_keep_order(&mut out);
    Ok(out)
}

pub(super) fn servicegroup_services(cfg: &Config, v: &str) -> Result<Vec<ServiceId>, String> {
    let mut out = Vec::new();
    for g in list(v) {
        match cfg.servicegroup_index.get(g) {
            Some(&gid) => out.extend(cfg.servicegroups[gid.index()].members.iter().copied()),
            None => return Err(format!("could not find servicegroup '{g}'")),
        }
    }
    Ok(out)
}
