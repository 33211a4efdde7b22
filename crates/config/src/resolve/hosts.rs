//! `define host`, host parents and host lists (`host_name`, `hostgroup_name`, `!` exclusions, regexes).

use super::*;

pub(super) fn build_hosts(
    ctx: &mut Ctx<'_>,
    cfg: &mut Config,
) -> Vec<(HostId, P<'static>, String)> {
    let objs = registered(ctx, ObjectKind::Host);
    let mut parents = Vec::new();
    cfg.hosts.reserve(objs.len());
    for d in objs {
        let (r, base) = match fast_resolved(ctx, cfg, d, true) {
            Some((r, b)) => (r, Some(b)),
            None => match resolved(ctx, d) {
                Some(r) => (r, None),
                None => continue,
            },
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::HostName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "host has no 'host_name'",
            );
            continue;
        };
        let what = format!("host '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.host_index.get(name) {
            let prev_loc = cfg.hosts[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let (mut common, refs) = match &base {
            Some(b) => fast_checkable(ctx, cfg, d, b, &r, &what, name),
            None => build_checkable(ctx, cfg, &r, &what, true, name),
        };
        finish_contacts(cfg, &mut common);
        let id = HostId(u32::try_from(cfg.hosts.len()).unwrap_or(u32::MAX));
        ctx.host_have.push(Have {
            notification_interval: refs.has_notification_interval,
            notification_period: refs.has_notification_period,
        });
        if let Some(p) = r.get(Key::Parents) {
            if p.value != "null" && !p.value.is_empty() {
                parents.push((
                    id,
                    P {
                        key: p.key,
                        value: Cow::Owned(p.value.to_string()),
                        file: p.file,
                        line: p.line,
                    },
                    what.clone(),
                ));
            }
        }
        if let Some(p) = r.get(Key::Hostgroups) {
            if p.value != "null" && !p.value.is_empty() {
                ctx.host_groups_of
                    .push((id, p.value.to_string(), p.file, p.line));
            }
        }
        cfg.host_index.insert(name.into(), id);
        cfg.hosts.push(Host {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            address: r.val(Key::Address).unwrap_or(name).into(),
            parents: Vec::new(),
            children: Vec::new(),
            hostgroups: Vec::new(),
            services: Vec::new(),
            common,
            location: loc.unwrap_or_else(dummy_loc),
        });
    }
    parents
}

pub(super) fn link_host_parents(
    ctx: &mut Ctx<'_>,
    cfg: &mut Config,
    parents: Vec<(HostId, P<'static>, String)>,
) {
    for (id, p, what) in parents {
        for n in list(&p.value) {
            match cfg.host_index.get(n) {
                Some(&pid) if pid == id => {
                    let loc = ctx.p_loc(&p);
                    ctx.diags.error(
                        Kind::Circular,
                        loc,
                        Some(what.clone()),
                        "host is its own parent",
                    );
                }
                Some(&pid) => {
                    cfg.hosts[id.index()].parents.push(pid);
                    cfg.hosts[pid.index()].children.push(id);
                }
                None => {
                    let loc = ctx.p_loc(&p);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(what.clone()),
                        format!("parent host '{n}' is not defined"),
                    );
                }
            }
        }
    }
}

pub(super) fn split_excl(v: &str) -> (Vec<&str>, Vec<&str>) {
    let mut inc = Vec::new();
    let mut exc = Vec::new();
    for t in list(v) {
        match t.strip_prefix('!') {
            Some(x) => exc.push(x.trim()),
            None => inc.push(t),
        }
    }
    (inc, exc)
}

/// Expand `host_name` / `hostgroup_name` lists into hosts. Returns (direct, via groups)
/// or an error message.
pub(super) fn expand_hosts(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    host_names: Option<&str>,
    hostgroup_names: Option<&str>,
) -> Result<(Vec<HostId>, Vec<HostId>), String> {
    // The common case, one plain host name: no lists to build.
    if let (Some(v), None) = (host_names, hostgroup_names) {
        let v = v.trim();
        if !v.is_empty() && !v.contains([',', '!', '*']) && !ctx.is_regex_name(v) {
            if let Some(&h) = cfg.host_index.get(v) {
                return Ok((vec![h], Vec::new()));
            }
        }
    }
    let mut direct = Vec::new();
    let mut excluded: Vec<HostId> = Vec::new();
    if let Some(v) = host_names {
        let (inc, exc) = split_excl(v);
        for m in inc {
            if m == "*" {
                direct.extend(cfg.hosts.iter().map(|h| h.id));
            } else if ctx.is_regex_name(m) {
                let Some(re) = ctx.regex(m) else {
                    return Err(format!("invalid regular expression '{m}'"));
                };
                direct.extend(
                    cfg.hosts
                        .iter()
                        .filter(|h| re.is_match(&h.name))
                        .map(|h| h.id),
                );
            } else {
                match cfg.host_index.get(m) {
                    Some(&h) => direct.push(h),
                    None => return Err(format!("could not find any host matching '{m}'")),
                }
            }
        }
        for m in exc {
            match cfg.host_index.get(m) {
                Some(&h) => excluded.push(h),
                None if m == "*" => excluded.extend(cfg.hosts.iter().map(|h| h.id)),
                None => return Err(format!("could not find any host matching '{m}'")),
            }
        }
    }
    let mut via = Vec::new();
    if let Some(v) = hostgroup_names {
        let (inc, exc) = split_excl(v);
        for g in inc {
            if g == "*" {
                for hg in &cfg.hostgroups {
                    via.extend(hg.members.iter().copied());
                }
                continue;
            }
            if ctx.is_regex_name(g) {
                let Some(re) = ctx.regex(g) else {
                    return Err(format!("invalid regular expression '{g}'"));
                };
                for hg in cfg.hostgroups.iter().filter(|hg| re.is_match(&hg.name)) {
                    via.extend(hg.members.iter().copied());
                }
                continue;
            }
            match cfg.hostgroup_index.get(g) {
                Some(&gid) => {
                    // An empty group is not an error here, whatever
                    // allow_empty_hostgroup_assignment says: nagios4 -v accepts it (the
                    // caller warns when nothing is left).
                    via.extend(cfg.hostgroups[gid.index()].members.iter().copied());
                }
                None => return Err(format!("could not find a hostgroup matching '{g}'")),
            }
        }
        for g in exc {
            match cfg.hostgroup_index.get(g) {
                Some(&gid) => excluded.extend(cfg.hostgroups[gid.index()].members.iter().copied()),
                None => return Err(format!("could not find a hostgroup matching '{g}'")),
            }
        }
    }
    if !excluded.is_empty() {
        let ex: HashSet<HostId> = excluded.into_iter().collect();
        direct.retain(|h| !ex.contains(h));
        via.retain(|h| !ex.contains(h));
    }
    dedup_keep_order(&mut direct);
    dedup_keep_order(&mut via);
    if direct.len() + via.len() > 0 && !via.is_empty() && !direct.is_empty() {
        let d: HashSet<HostId> = direct.iter().copied().collect();
        via.retain(|h| !d.contains(h));
    }
    Ok((direct, via))
}
