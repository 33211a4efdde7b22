//! `define service` (expanded over hosts and host groups) and service parents.

use super::*;

pub(super) fn build_services(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::Service);
    // (def, resolved template checkable, refs, description, hosts direct, hosts via groups)
    struct Proto {
        d: usize,
        desc: Box<str>,
        common: Arc<Checkable>,
        refs: CheckableRefs,
        is_volatile: bool,
        parallelize: bool,
        direct: Vec<HostId>,
        via: Vec<HostId>,
        servicegroups: Option<(String, u32, u32)>,
        parents: Option<(String, u32, u32)>,
        from_hostgroup: bool,
    }
    let mut protos: Vec<Proto> = Vec::with_capacity(objs.len());
    for d in objs {
        let (r, base) = match fast_resolved(ctx, cfg, d, false) {
            Some((r, b)) => (r, Some(b)),
            None => match resolved(ctx, d) {
                Some(r) => (r, None),
                None => continue,
            },
        };
        let loc = ctx.def_loc(d);
        let Some(desc) = r.val(Key::ServiceDescription) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "service has no 'service_description'",
            );
            continue;
        };
        let hn = r.val(Key::HostName);
        let hg = r.val(Key::HostgroupName);
        let what = format!("service '{desc}'");
        if hn.is_none() && hg.is_none() {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(what),
                "service has neither 'host_name' nor 'hostgroup_name'",
            );
            continue;
        }
        let (direct, via) = match expand_hosts(ctx, cfg, hn, hg) {
            Ok(x) => x,
            Err(e) => {
                ctx.diags.error(Kind::Undefined, loc, Some(what), e);
                continue;
            }
        };
        if direct.is_empty() && via.is_empty() {
            // Exclusions or empty hostgroups left no host. Nagios 4.4.6 creates no
            // service and accepts the configuration, even with
            // allow_empty_hostgroup_assignment=0.
            if ctx.main.allow_empty_hostgroup_assignment != 1 || hg.is_none() {
                ctx.diags.warning(
                    Kind::Undefined,
                    loc,
                    Some(what),
                    "the host list matches no host; no service created",
                );
            }
            continue;
        }
        ctx.check_name(desc, &what, loc.clone());
        let (common, refs, is_volatile, parallelize) = match &base {
            Some(b) => {
                let (c, refs) = fast_checkable(ctx, cfg, d, b, &r, &what, desc);
                (c, refs, b.is_volatile, b.parallelize)
            }
            None => {
                let (c, refs) = build_checkable(ctx, cfg, &r, &what, false, desc);
                let (v, p) = service_flags(ctx, &r, &what);
                (c, refs, v, p)
            }
        };
        let servicegroups = r
            .get(Key::Servicegroups)
            .filter(|p| p.value != "null" && !p.value.is_empty())
            .map(|p| (p.value.to_string(), p.file, p.line));
        let parents = r
            .get(Key::Parents)
            .filter(|p| p.value != "null" && !p.value.trim().is_empty())
            .map(|p| (p.value.to_string(), p.file, p.line));
        if common.check_command.is_none() && r.val(Key::CheckCommand).is_none() {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(what),
                "service has no 'check_command'",
            );
        }
        let shared =
            refs.has_contacts && refs.has_notification_interval && refs.has_notification_period;
        let mut common = common;
        if shared {
            // Nothing comes from the host: every copy shares one value.
            finish_contacts(cfg, &mut common);
        }
        protos.push(Proto {
            d,
            desc: desc.into(),
            common: Arc::new(common),
            refs,
            is_volatile,
            parallelize,
            direct,
            via,
            servicegroups,
            parents,
            from_hostgroup: hg.is_some(),
        });
    }
    let n_services: usize = protos.iter().map(|p| p.direct.len() + p.via.len()).sum();
    cfg.services.reserve(n_services);
    // Per service while building: its servicegroups directive, and (definition, whether
    // the host is the definition's "original" host) for duplicate resolution.
    let mut sg_of: Vec<Option<(String, u32, u32)>> = Vec::with_capacity(n_services);
    // Per service: its `parents` directive (the winning definition's, for duplicates).
    let mut parents_of: Vec<Option<(String, u32, u32)>> = Vec::with_capacity(n_services);
    let mut origin: Vec<(usize, bool)> = Vec::with_capacity(n_services);
    // Duplicates (same host and description) are resolved as Nagios 4 does
    // (xodtemplate_duplicate_services, checked against nagios4 -v/-p): definitions
    // without `hostgroup_name` are registered first and always beat those with one.
    // Within each class Nagios walks its object list, where a multi-host definition keeps
    // its "original" host (the first `host_name`, the last hostgroup member) at its own
    // place in reverse definition order and gets copies for the other hosts in
    // definition order ahead of all originals; the first registered wins. So a later
    // definition replaces an earlier one exactly when the earlier one was for its
    // original host: two single-host definitions → the last wins.
    let classes: Vec<(usize, bool)> = protos.iter().map(|p| (p.d, p.from_hostgroup)).collect();
    for pass in 0..2 {
        for (pi, pr) in protos.iter_mut().enumerate() {
            if pr.from_hostgroup != (pass == 1) {
                continue;
            }
            let mut hosts = std::mem::take(&mut pr.direct);
            hosts.append(&mut pr.via);
            let original = if pr.from_hostgroup {
                hosts.last().copied()
            } else {
                hosts.first().copied()
            };
            let n_hosts = hosts.len();
            for (hi, h) in hosts.into_iter().enumerate() {
                let last_use = hi + 1 == n_hosts;
                let is_original = Some(h) == original;
                let replace = match cfg.find_service(h, &pr.desc) {
                    Some(prev) => {
                        let (prev_def, prev_original) = origin[prev.index()];
                        let prev_class = classes[prev_def].1;
                        let new_wins = prev_original && prev_class == pr.from_hostgroup;
                        let (lost_d, won_loc) = if new_wins {
                            (classes[prev_def].0, ctx.def_loc(pr.d))
                        } else {
                            (pr.d, Some(cfg.services[prev.index()].location.clone()))
                        };
                        let loc = ctx.def_loc(lost_d);
                        let won = won_loc.map(|l| l.to_string()).unwrap_or_default();
                        ctx.diags.warning(
                            Kind::Duplicate,
                            loc,
                            Some(format!(
                                "service '{}' on host '{}'",
                                pr.desc,
                                cfg.hosts[h.index()].name
                            )),
                            format!(
                                "duplicate definition ignored (the definition at {won} is used)"
                            ),
                        );
                        if !new_wins {
                            continue;
                        }
                        Some(prev)
                    }
                    None => None,
                };
                let common = if pr.refs.has_contacts
                    && pr.refs.has_notification_interval
                    && pr.refs.has_notification_period
                {
                    Arc::clone(&pr.common)
                } else {
                    let mut common = if last_use {
                        Arc::unwrap_or_clone(std::mem::replace(
                            &mut pr.common,
                            Arc::new(placeholder_checkable()),
                        ))
                    } else {
                        Checkable::clone(&pr.common)
                    };
                    let host = &cfg.hosts[h.index()];
                    // Implied inheritance from the host.
                    if !pr.refs.has_contacts {
                        common.contacts = host.common.contacts.clone();
                        common.contact_groups = host.common.contact_groups.clone();
                    }
                    if !pr.refs.has_notification_interval {
                        common.notification_interval = host.common.notification_interval;
                    }
                    if !pr.refs.has_notification_period {
                        common.notification_period = host.common.notification_period;
                    }
                    finish_contacts(cfg, &mut common);
                    Arc::new(common)
                };
                let location = ctx.def_loc(pr.d).unwrap_or_else(dummy_loc);
                let host_have = ctx.host_have.get(h.index()).copied().unwrap_or_default();
                let have = Have {
                    notification_interval: pr.refs.has_notification_interval
                        || host_have.notification_interval,
                    notification_period: pr.refs.has_notification_period
                        || host_have.notification_period,
                };
                if let Some(prev) = replace {
                    if let Some(x) = ctx.service_have.get_mut(prev.index()) {
                        *x = have;
                    }
                    let s = &mut cfg.services[prev.index()];
                    s.is_volatile = pr.is_volatile;
                    s.parallelize_check = pr.parallelize;
                    s.common = common;
                    s.location = location;
                    sg_of[prev.index()] = pr.servicegroups.clone();
                    parents_of[prev.index()] = pr.parents.clone();
                    origin[prev.index()] = (pi, is_original);
                    continue;
                }
                let id = ServiceId(u32::try_from(cfg.services.len()).unwrap_or(u32::MAX));
                sg_of.push(pr.servicegroups.clone());
                parents_of.push(pr.parents.clone());
                origin.push((pi, is_original));
                ctx.service_have.push(have);
                cfg.hosts[h.index()].services.push(id);
                cfg.services.push(Service {
                    id,
                    host: h,
                    description: pr.desc.clone(),
                    servicegroups: Vec::new(),
                    is_volatile: pr.is_volatile,
                    parallelize_check: pr.parallelize,
                    parents: Vec::new(),
                    common,
                    location,
                });
                cfg.index_service(id);
            }
        }
    }
    let sg_back: Vec<(ServiceId, String, u32, u32)> = sg_of
        .into_iter()
        .enumerate()
        .filter_map(|(i, sg)| {
            let (v, f, l) = sg?;
            Some((ServiceId(u32::try_from(i).unwrap_or(u32::MAX)), v, f, l))
        })
        .collect();
    ctx.service_groups_of = sg_back;
    link_service_parents(ctx, cfg, parents_of);
}

/// Resolve service `parents` as Nagios 4.4.6 does (checked against `nagios4 -v` and the
/// `objects.cache` of a running nagios4):
///
/// * a value without a comma names one service on the same host, taken literally
///   (`parents PING`);
/// * otherwise it is a list of `host,description` pairs; the description may be `*` (all
///   services of the host) or, with `use_regexp_matching`, a regular expression, and so
///   may the host name; a pair that matches nothing is an error, so is an odd count;
/// * `!description` pairs are accepted and have no effect (Nagios only rejects them
///   from the match it throws away); Picket warns;
/// * `unknown_host,*` is accepted by Nagios and names nothing; Picket warns;
/// * a service cannot be its own parent; repeated parents count once; cycles between
///   services are not an error (Nagios does not check them).
pub(super) fn link_service_parents(
    ctx: &mut Ctx<'_>,
    cfg: &mut Config,
    parents_of: Vec<Option<(String, u32, u32)>>,
) {
    for (i, directive) in parents_of.into_iter().enumerate() {
        let Some((value, file, line)) = directive else {
            continue;
        };
        let sid = ServiceId(u32::try_from(i).unwrap_or(u32::MAX));
        let Some(svc) = cfg.services.get(i) else {
            continue;
        };
        let host = svc.host;
        let host_name = cfg.hosts[host.index()].name.clone();
        let what = format!("service '{}' on host '{host_name}'", svc.description);
        let mut found: Vec<ServiceId> = Vec::new();
        let mut problems: Vec<(Severity, Kind, String)> = Vec::new();
        if !value.contains(',') {
            let d = value.trim();
            match cfg.find_service(host, d) {
                Some(p) => found.push(p),
                None => problems.push((
                    Severity::Error,
                    Kind::Undefined,
                    format!("parent service '{d}' on host '{host_name}' is not defined"),
                )),
            }
        } else {
            let items: Vec<&str> = list(&value).collect();
            if items.len() % 2 != 0 {
                problems.push((
                    Severity::Error,
                    Kind::InvalidValue,
                    format!(
                        "service description missing from parents list '{}' \
                         (expected host,service pairs)",
                        value.trim()
                    ),
                ));
            }
            for pair in items.chunks_exact(2) {
                let (h, d) = (pair[0], pair[1]);
                if d.starts_with('!') {
                    problems.push((
                        Severity::Warning,
                        Kind::InvalidValue,
                        format!("exclusion '{h},{d}' in parents has no effect (Nagios ignores it)"),
                    ));
                    continue;
                }
                match parent_pair(ctx, cfg, h, d) {
                    Ok(v) => found.extend(v),
                    Err((sev, e)) => problems.push((sev, Kind::Undefined, e)),
                }
            }
        }
        if found.contains(&sid) {
            found.retain(|&p| p != sid);
            problems.push((
                Severity::Error,
                Kind::Circular,
                "service is its own parent".to_owned(),
            ));
        }
        dedup_keep_order(&mut found);
        for (sev, kind, msg) in problems {
            let loc = ctx.loc(file, line);
            match sev {
                Severity::Error => ctx.diags.error(kind, loc, Some(what.clone()), msg),
                Severity::Warning => ctx.diags.warning(kind, loc, Some(what.clone()), msg),
            }
        }
        cfg.services[i].parents = found;
    }
}

/// The services one `host,description` pair of a service `parents` list names. With
/// `use_regexp_matching`, a `*` description is a regular expression, an invalid one, as
/// in Nagios.
pub(super) fn parent_pair(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    h: &str,
    d: &str,
) -> Result<Vec<ServiceId>, (Severity, String)> {
    let invalid = |p: &str| {
        (
            Severity::Error,
            format!("invalid regular expression '{p}' in parents"),
        )
    };
    let host_re = if ctx.is_regex_name(h) {
        Some(ctx.regex(h).ok_or_else(|| invalid(h))?)
    } else {
        None
    };
    let desc_re = if ctx.is_regex_name(d) {
        Some(ctx.regex(d).ok_or_else(|| invalid(d))?)
    } else {
        None
    };
    if host_re.is_none() && desc_re.is_none() && d != "*" {
        return cfg.service_by_name(h, d).map(|s| vec![s]).ok_or_else(|| {
            (
                Severity::Error,
                format!("parent service '{d}' on host '{h}' is not defined"),
            )
        });
    }
    let hosts: Vec<HostId> = match &host_re {
        Some(re) => cfg
            .hosts
            .iter()
            .filter(|x| re.is_match(&x.name))
            .map(|x| x.id)
            .collect(),
        // nagios4 -v accepts `unknown,*` and links nothing.
        None => vec![cfg.host_by_name(h).ok_or_else(|| {
            (
                Severity::Warning,
                format!("parent host '{h}' is not defined; '{h},{d}' names no service"),
            )
        })?],
    };
    let mut out = Vec::new();
    for hid in hosts {
        for &s in &cfg.hosts[hid.index()].services {
            let sd = &*cfg.services[s.index()].description;
            let m = match &desc_re {
                Some(re) => re.is_match(sd),
                None => d == "*" || sd == d,
            };
            if m {
                out.push(s);
            }
        }
    }
    if out.is_empty() && !(host_re.is_none() && d == "*") {
        return Err((
            Severity::Error,
            format!("no service matches host '{h}' and description '{d}' in parents"),
        ));
    }
    Ok(out)
}
