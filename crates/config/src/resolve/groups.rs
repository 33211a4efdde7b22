//! Host, service and contact groups: members, `*_members` nesting, cycles, and the group lists objects name themselves in.

use super::*;

/// The host or service group definitions that gather members: the registered ones and,
/// as in Nagios 4.4.6 (whose recombobulation reads every group, registered or not), the
/// `register 0` ones that name a group. Members, `hostgroup_name` / `servicegroup_name`
/// of services, dependencies and escalations can name the latter; they are dropped
/// from the configuration before pre-flight ([`drop_unregistered_groups`]).
pub(super) fn group_defs(ctx: &Ctx<'_>, kind: ObjectKind) -> Vec<usize> {
    (0..ctx.defs.len())
        .filter(|&i| ctx.defs[i].kind == kind)
        .collect()
}

/// Remove the `register 0` host and service groups (kept until here so that members,
/// services, dependencies and escalations could name them, as in Nagios) from the
/// configuration: they are not objects, are not counted, and hosts and services do not
/// list them.
pub(super) fn drop_unregistered_groups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    if !ctx.unregistered_hostgroups.is_empty() {
        let drop: HashSet<u32> = ctx.unregistered_hostgroups.iter().map(|g| g.0).collect();
        let mut map = vec![None; cfg.hostgroups.len()];
        let old = std::mem::take(&mut cfg.hostgroups);
        cfg.hostgroup_index.clear();
        for (i, mut g) in old.into_iter().enumerate() {
            if drop.contains(&(i as u32)) {
                continue;
            }
            let id = HostGroupId(u32::try_from(cfg.hostgroups.len()).unwrap_or(u32::MAX));
            map[i] = Some(id);
            g.id = id;
            cfg.hostgroup_index.insert(g.name.clone(), id);
            cfg.hostgroups.push(g);
        }
        for h in &mut cfg.hosts {
            h.hostgroups = h
                .hostgroups
                .iter()
                .filter_map(|g| map.get(g.index()).copied().flatten())
                .collect();
        }
    }
    if !ctx.unregistered_servicegroups.is_empty() {
        let drop: HashSet<u32> = ctx.unregistered_servicegroups.iter().map(|g| g.0).collect();
        let mut map = vec![None; cfg.servicegroups.len()];
        let old = std::mem::take(&mut cfg.servicegroups);
        cfg.servicegroup_index.clear();
        for (i, mut g) in old.into_iter().enumerate() {
            if drop.contains(&(i as u32)) {
                continue;
            }
            let id = ServiceGroupId(u32::try_from(cfg.servicegroups.len()).unwrap_or(u32::MAX));
            map[i] = Some(id);
            g.id = id;
            cfg.servicegroup_index.insert(g.name.clone(), id);
            cfg.servicegroups.push(g);
        }
        for s in &mut cfg.services {
            s.servicegroups = s
                .servicegroups
                .iter()
                .filter_map(|g| map.get(g.index()).copied().flatten())
                .collect();
        }
    }
}

pub(super) fn build_contactgroups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = registered(ctx, ObjectKind::ContactGroup);
    let mut pending: Vec<(ContactGroupId, Option<P<'_>>, Option<P<'_>>, String)> = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::ContactgroupName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "contactgroup has no 'contactgroup_name'",
            );
            continue;
        };
        let what = format!("contactgroup '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.contactgroup_index.get(name) {
            let prev_loc = cfg.contactgroups[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = ContactGroupId(u32::try_from(cfg.contactgroups.len()).unwrap_or(u32::MAX));
        cfg.contactgroup_index.insert(name.into(), id);
        cfg.contactgroups.push(ContactGroup {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            members: Vec::new(),
            location: loc.unwrap_or_else(dummy_loc),
        });
        pending.push((
            id,
            r.get(Key::Members).cloned(),
            r.get(Key::ContactgroupMembers).cloned(),
            what,
        ));
    }
    // Contacts' `contactgroups` (reverse membership), per group in definition order.
    let back = std::mem::take(&mut ctx.contact_groups_of);
    let mut back_members: Vec<Vec<ContactId>> = vec![Vec::new(); cfg.contactgroups.len()];
    for (cid, value, file, line) in back {
        for g in list(&value) {
            let gid = match cfg.contactgroup_index.get(g) {
                Some(&gid) => gid,
                None if ctx.dialect == Dialect::Shinken => {
                    // Shinken creates the group on the fly (contactgroup.py add_member).
                    let gid =
                        ContactGroupId(u32::try_from(cfg.contactgroups.len()).unwrap_or(u32::MAX));
                    let loc = ctx.loc(file, line);
                    ctx.diags.warning(
                        Kind::Undefined,
                        loc.clone(),
                        Some(format!("contact '{}'", cfg.contacts[cid.index()].name)),
                        format!(
                            "contactgroup '{g}' is not defined; created implicitly as Shinken does"
                        ),
                    );
                    cfg.contactgroup_index.insert(g.into(), gid);
                    cfg.contactgroups.push(ContactGroup {
                        id: gid,
                        name: g.into(),
                        alias: g.into(),
                        members: Vec::new(),
                        location: loc.unwrap_or_else(dummy_loc),
                    });
                    gid
                }
                None => {
                    let loc = ctx.loc(file, line);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(format!("contact '{}'", cfg.contacts[cid.index()].name)),
                        format!("contactgroup '{g}' is not defined"),
                    );
                    continue;
                }
            };
            if back_members.len() <= gid.index() {
                back_members.resize(gid.index() + 1, Vec::new());
            }
            if let Some(v) = back_members.get_mut(gid.index()) {
                v.push(cid);
            }
        }
    }
    let mut sub: Vec<(ContactGroupId, Vec<ContactGroupId>)> = Vec::new();
    for (id, members, subgroups, what) in pending {
        if let Some(p) = members {
            if p.value != "null" {
                for m in list(&p.value) {
                    if m == "*" {
                        let all: Vec<ContactId> = cfg.contacts.iter().map(|c| c.id).collect();
                        cfg.contactgroups[id.index()].members.extend(all);
                        continue;
                    }
                    match cfg.contact_index.get(m) {
                        Some(&c) => cfg.contactgroups[id.index()].members.push(c),
                        None => {
                            let loc = ctx.p_loc(&p);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.clone()),
                                format!("member contact '{m}' is not defined"),
                            );
                        }
                    }
                }
            }
        }
        if let Some(p) = subgroups {
            let mut v = Vec::new();
            for m in list(&p.value) {
                match cfg.contactgroup_index.get(m) {
                    Some(&g) => v.push(g),
                    None => {
                        let loc = ctx.p_loc(&p);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!("contactgroup_members entry '{m}' is not defined"),
                        );
                    }
                }
            }
            sub.push((id, v));
        }
    }
    let direct: Vec<Vec<ContactId>> = cfg
        .contactgroups
        .iter()
        .map(|g| g.members.clone())
        .collect();
    let subs: HashMap<ContactGroupId, Vec<ContactGroupId>> = sub.into_iter().collect();
    let mut memo: HashMap<ContactGroupId, Vec<ContactId>> = HashMap::new();
    let sub_edges: Vec<Vec<usize>> = (0..cfg.contactgroups.len())
        .map(|g| {
            subs.get(&ContactGroupId(u32::try_from(g).unwrap_or(0)))
                .map(|v| v.iter().map(|x| x.index()).collect())
                .unwrap_or_default()
        })
        .collect();
    let looped = on_cycle(&sub_edges);
    for (g, &in_loop) in looped.iter().enumerate() {
        let start = ContactGroupId(u32::try_from(g).unwrap_or(0));
        let mut visiting = HashSet::new();
        let members = nagios_member_order(
            start,
            &direct,
            &back_members,
            &subs,
            &mut memo,
            &mut visiting,
        );
        if in_loop {
            let cg = &cfg.contactgroups[g];
            ctx.diags.error(
                Kind::Circular,
                Some(cg.location.clone()),
                Some(format!("contactgroup '{}'", cg.name)),
                "contactgroup is part of a contactgroup_members include loop",
            );
        }
        cfg.contactgroups[g].members = members;
    }
    for g in &cfg.contactgroups {
        for &c in &g.members {
            cfg.contacts[c.index()].contactgroups.push(g.id);
        }
    }
}

/// For each node of a directed graph, whether it lies on a cycle (it can reach itself):
/// Tarjan's strongly connected components with an explicit stack, so that a nesting as
/// deep as the input costs no stack depth, in time linear in nodes and edges.
pub(super) fn on_cycle(edges: &[Vec<usize>]) -> Vec<bool> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut scc_stack: Vec<usize> = Vec::new();
    let mut out = vec![false; n];
    let mut next_index = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        scc_stack.push(root);
        on_stack[root] = true;
        while let Some(top) = call.last_mut() {
            let (v, i) = *top;
            if let Some(&w) = edges[v].get(i) {
                top.1 += 1;
                if w >= n {
                    continue;
                }
                if w == v {
                    out[v] = true;
                }
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    scc_stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                while let Some(w) = scc_stack.pop() {
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    for w in members {
                        out[w] = true;
                    }
                }
            }
        }
    }
    out
}

/// The members of each group with its nested groups' members, for an acyclic nesting:
/// the group's own members, then each subgroup's (last named first), each member once
/// where it first appears — what walking the nesting from every group gives, computed
/// once per group (post-order, explicit stack) instead of once per group and ancestor.
pub(super) fn expand_nesting<T: Copy + Eq + std::hash::Hash>(
    direct: &[Vec<T>],
    subs: &[Vec<usize>],
) -> Vec<Vec<T>> {
    let n = direct.len();
    let mut done: Vec<Option<Vec<T>>> = vec![None; n];
    for root in 0..n {
        if done[root].is_some() {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = stack.last_mut() {
            let (g, i) = *top;
            if let Some(&sg) = subs[g].get(i) {
                top.1 += 1;
                if sg < n && done[sg].is_none() {
                    stack.push((sg, 0));
                }
                continue;
            }
            stack.pop();
            let mut members = direct[g].clone();
            for &sg in subs[g].iter().rev() {
                if let Some(Some(m)) = done.get(sg) {
                    members.extend(m.iter().copied());
                }
            }
            dedup_keep_order(&mut members);
            done[g] = Some(members);
        }
    }
    done.into_iter().map(Option::unwrap_or_default).collect()
}

/// The order in which Nagios 4.4.6 walks a contact group's members (`grp->members`),
/// which decides the notification order and `$NOTIFICATIONRECIPIENTS$`:
/// the `members` directive in reverse, then the contacts that name the group in their
/// own `contactgroups` in reverse definition order, then for each `contactgroup_members`
/// entry (in reverse) that group's members in reverse of its own order. A contact is kept
/// where it first appears. (xodtemplate builds the lists by prepending and
/// add_contact_to_contactgroup() prepends again; recorded in oracle f_contacts_groups.)
pub(super) fn nagios_member_order(
    g: ContactGroupId,
    direct: &[Vec<ContactId>],
    back: &[Vec<ContactId>],
    subs: &HashMap<ContactGroupId, Vec<ContactGroupId>>,
    memo: &mut HashMap<ContactGroupId, Vec<ContactId>>,
    visiting: &mut HashSet<ContactGroupId>,
) -> Vec<ContactId> {
    if let Some(m) = memo.get(&g) {
        return m.clone();
    }
    if !visiting.insert(g) {
        // An include loop (reported by the caller): stop here.
        return Vec::new();
    }
    // Depth first with an explicit stack (nesting can be as deep as the input): a group
    // is computed when the walk leaves it, its subgroups in the same order as a
    // recursive walk would take them; a subgroup still being walked is a loop and adds
    // nothing.
    let no_subs: Vec<ContactGroupId> = Vec::new();
    let mut stack: Vec<(ContactGroupId, usize)> = vec![(g, 0)];
    while let Some(top) = stack.last_mut() {
        let (cur, next) = *top;
        let s = subs.get(&cur).unwrap_or(&no_subs);
        if next < s.len() {
            top.1 += 1;
            let sg = s[s.len() - 1 - next];
            if !memo.contains_key(&sg) && visiting.insert(sg) {
                stack.push((sg, 0));
            }
            continue;
        }
        stack.pop();
        let mut out: Vec<ContactId> = Vec::new();
        if let Some(d) = direct.get(cur.index()) {
            out.extend(d.iter().rev().copied());
        }
        if let Some(b) = back.get(cur.index()) {
            out.extend(b.iter().rev().copied());
        }
        for sg in s.iter().rev() {
            if let Some(m) = memo.get(sg) {
                out.extend(m.iter().rev().copied());
            }
        }
        dedup_keep_order(&mut out);
        visiting.remove(&cur);
        memo.insert(cur, out);
    }
    memo.get(&g).cloned().unwrap_or_default()
}

/// Contacts of an object (or escalation) in Nagios' notification order: its `contacts`
/// in reverse, then the members of its `contact_groups` (groups in reverse), each
/// contact once (create_notification_list_from_service() / add_notification()).
pub(crate) fn nagios_contact_order(
    cfg: &Config,
    contacts: &[ContactId],
    groups: &[ContactGroupId],
) -> Vec<ContactId> {
    let mut all: Vec<ContactId> = contacts.iter().rev().copied().collect();
    for g in groups.iter().rev() {
        if let Some(cg) = cfg.contactgroups.get(g.index()) {
            all.extend(cg.members.iter().copied());
        }
    }
    dedup_keep_order(&mut all);
    all
}

pub(super) fn dedup_keep_order<T: Copy + Eq + std::hash::Hash>(v: &mut Vec<T>) {
    if v.len() < 2 {
        return;
    }
    if v.len() <= 16 {
        let mut out: Vec<T> = Vec::with_capacity(v.len());
        for &x in v.iter() {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        *v = out;
    } else {
        let mut seen = HashSet::with_capacity(v.len());
        v.retain(|x| seen.insert(*x));
    }
}

pub(super) fn build_hostgroups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = group_defs(ctx, ObjectKind::HostGroup);
    let mut pending = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let unregistered = !ctx.defs[d].register;
        if unregistered
            && r.val(Key::HostgroupName)
                .is_none_or(|n| cfg.hostgroup_index.contains_key(n))
        {
            // A pure template, or a name already taken: nothing to gather.
            continue;
        }
        let Some(name) = r.val(Key::HostgroupName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "hostgroup has no 'hostgroup_name'",
            );
            continue;
        };
        let what = format!("hostgroup '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.hostgroup_index.get(name) {
            let prev_loc = cfg.hostgroups[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = HostGroupId(u32::try_from(cfg.hostgroups.len()).unwrap_or(u32::MAX));
        cfg.hostgroup_index.insert(name.into(), id);
        if unregistered {
            ctx.unregistered_hostgroups.push(id);
        }
        cfg.hostgroups.push(HostGroup {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            members: Vec::new(),
            notes: r.val(Key::Notes).map(Into::into),
            notes_url: r.val(Key::NotesUrl).map(Into::into),
            action_url: r.val(Key::ActionUrl).map(Into::into),
            location: loc.unwrap_or_else(dummy_loc),
        });
        let members = r
            .get(Key::Members)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        let subs = r
            .get(Key::HostgroupMembers)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        pending.push((id, members, subs, what));
    }
    let back = std::mem::take(&mut ctx.host_groups_of);
    for (hid, value, file, line) in back {
        for g in list(&value) {
            match cfg.hostgroup_index.get(g) {
                Some(&gid) => cfg.hostgroups[gid.index()].members.push(hid),
                None => {
                    let loc = ctx.loc(file, line);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(format!("host '{}'", cfg.hosts[hid.index()].name)),
                        format!("hostgroup '{g}' is not defined"),
                    );
                }
            }
        }
    }
    let mut subs_map: HashMap<HostGroupId, Vec<HostGroupId>> = HashMap::new();
    for (id, members, subs, what) in pending {
        if let Some((v, file, line)) = members {
            let (inc, exc) = split_excl(&v);
            let mut add = Vec::new();
            for m in inc {
                if m == "*" {
                    add.extend(cfg.hosts.iter().map(|h| h.id));
                } else if ctx.is_regex_name(m) {
                    if let Some(re) = ctx.regex(m) {
                        add.extend(
                            cfg.hosts
                                .iter()
                                .filter(|h| re.is_match(&h.name))
                                .map(|h| h.id),
                        );
                    }
                } else {
                    match cfg.host_index.get(m) {
                        Some(&h) => add.push(h),
                        None => {
                            let loc = ctx.loc(file, line);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.clone()),
                                format!("member host '{m}' is not defined"),
                            );
                        }
                    }
                }
            }
            let exc: HashSet<HostId> = exc
                .iter()
                .filter_map(|m| cfg.host_index.get(*m).copied())
                .collect();
            add.retain(|h| !exc.contains(h));
            cfg.hostgroups[id.index()].members.extend(add);
        }
        if let Some((v, file, line)) = subs {
            let mut sv = Vec::new();
            for m in list(&v) {
                match cfg.hostgroup_index.get(m) {
                    Some(&g) => sv.push(g),
                    None => {
                        let loc = ctx.loc(file, line);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!("hostgroup_members entry '{m}' is not defined"),
                        );
                    }
                }
            }
            subs_map.insert(id, sv);
        }
    }
    let direct: Vec<Vec<HostId>> = cfg.hostgroups.iter().map(|g| g.members.clone()).collect();
    let sub_edges: Vec<Vec<usize>> = (0..cfg.hostgroups.len())
        .map(|g| {
            subs_map
                .get(&HostGroupId(u32::try_from(g).unwrap_or(0)))
                .map(|v| v.iter().map(|x| x.index()).collect())
                .unwrap_or_default()
        })
        .collect();
    let any_loop = on_cycle(&sub_edges).contains(&true);
    if !any_loop {
        for (g, members) in expand_nesting(&direct, &sub_edges).into_iter().enumerate() {
            cfg.hostgroups[g].members = members;
        }
    }
    // With an include loop (an error): walk from every group, as before.
    let walked = if any_loop { cfg.hostgroups.len() } else { 0 };
    for g in 0..walked {
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        let start = HostGroupId(u32::try_from(g).unwrap_or(0));
        let mut stack = vec![start];
        let mut in_loop = false;
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            members.extend(direct[x.index()].iter().copied());
            if let Some(s) = subs_map.get(&x) {
                in_loop |= s.contains(&start);
                stack.extend(s.iter().copied());
            }
        }
        if in_loop {
            // xodtemplate_recombobulate_hostgroup_subgroups: an error in Nagios 4.
            let hg = &cfg.hostgroups[g];
            ctx.diags.error(
                Kind::Circular,
                Some(hg.location.clone()),
                Some(format!("hostgroup '{}'", hg.name)),
                "hostgroup is part of a hostgroup_members include loop",
            );
        }
        dedup_keep_order(&mut members);
        cfg.hostgroups[g].members = members;
    }
    for gi in 0..cfg.hostgroups.len() {
        let gid = cfg.hostgroups[gi].id;
        for k in 0..cfg.hostgroups[gi].members.len() {
            let h = cfg.hostgroups[gi].members[k];
            cfg.hosts[h.index()].hostgroups.push(gid);
        }
    }
}

pub(super) fn build_servicegroups(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let objs = group_defs(ctx, ObjectKind::ServiceGroup);
    let mut pending = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let unregistered = !ctx.defs[d].register;
        if unregistered
            && r.val(Key::ServicegroupName)
                .is_none_or(|n| cfg.servicegroup_index.contains_key(n))
        {
            // A pure template, or a name already taken: nothing to gather.
            continue;
        }
        let Some(name) = r.val(Key::ServicegroupName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "servicegroup has no 'servicegroup_name'",
            );
            continue;
        };
        let what = format!("servicegroup '{name}'");
        ctx.check_name(name, &what, loc.clone());
        if let Some(&prev) = cfg.servicegroup_index.get(name) {
            let prev_loc = cfg.servicegroups[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = ServiceGroupId(u32::try_from(cfg.servicegroups.len()).unwrap_or(u32::MAX));
        cfg.servicegroup_index.insert(name.into(), id);
        if unregistered {
            ctx.unregistered_servicegroups.push(id);
        }
        cfg.servicegroups.push(ServiceGroup {
            id,
            name: name.into(),
            alias: r.val(Key::Alias).unwrap_or(name).into(),
            members: Vec::new(),
            notes: r.val(Key::Notes).map(Into::into),
            notes_url: r.val(Key::NotesUrl).map(Into::into),
            action_url: r.val(Key::ActionUrl).map(Into::into),
            location: loc.unwrap_or_else(dummy_loc),
        });
        let members = r
            .get(Key::Members)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        let subs = r
            .get(Key::ServicegroupMembers)
            .filter(|p| p.value != "null")
            .map(|p| (p.value.to_string(), p.file, p.line));
        pending.push((id, members, subs, what));
    }
    let back = std::mem::take(&mut ctx.service_groups_of);
    for (sid, value, file, line) in back {
        for g in list(&value) {
            match cfg.servicegroup_index.get(g) {
                Some(&gid) => cfg.servicegroups[gid.index()].members.push(sid),
                None => {
                    let loc = ctx.loc(file, line);
                    let s = &cfg.services[sid.index()];
                    let what = format!(
                        "service '{}' on host '{}'",
                        s.description,
                        cfg.hosts[s.host.index()].name
                    );
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(what),
                        format!("servicegroup '{g}' is not defined"),
                    );
                }
            }
        }
    }
    let mut subs_map: HashMap<ServiceGroupId, Vec<ServiceGroupId>> = HashMap::new();
    for (id, members, subs, what) in pending {
        if let Some((v, file, line)) = members {
            let items: Vec<&str> = list(&v).collect();
            if items.len() % 2 != 0 {
                let loc = ctx.loc(file, line);
                ctx.diags.error(
                    Kind::InvalidValue,
                    loc,
                    Some(what.clone()),
                    "members must be host,service pairs",
                );
            }
            for pair in items.chunks_exact(2) {
                match cfg.service_by_name(pair[0], pair[1]) {
                    Some(s) => cfg.servicegroups[id.index()].members.push(s),
                    None => {
                        let loc = ctx.loc(file, line);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!(
                                "member service '{}' on host '{}' is not defined",
                                pair[1], pair[0]
                            ),
                        );
                    }
                }
            }
        }
        if let Some((v, file, line)) = subs {
            let mut sv = Vec::new();
            for m in list(&v) {
                match cfg.servicegroup_index.get(m) {
                    Some(&g) => sv.push(g),
                    None => {
                        let loc = ctx.loc(file, line);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!("servicegroup_members entry '{m}' is not defined"),
                        );
                    }
                }
            }
            subs_map.insert(id, sv);
        }
    }
    let direct: Vec<Vec<ServiceId>> = cfg
        .servicegroups
        .iter()
        .map(|g| g.members.clone())
        .collect();
    let sub_edges: Vec<Vec<usize>> = (0..cfg.servicegroups.len())
        .map(|g| {
            subs_map
                .get(&ServiceGroupId(u32::try_from(g).unwrap_or(0)))
                .map(|v| v.iter().map(|x| x.index()).collect())
                .unwrap_or_default()
        })
        .collect();
    let any_loop = on_cycle(&sub_edges).contains(&true);
    if !any_loop {
        for (g, members) in expand_nesting(&direct, &sub_edges).into_iter().enumerate() {
            cfg.servicegroups[g].members = members;
        }
    }
    // With an include loop (an error): walk from every group, as before.
    let walked = if any_loop { cfg.servicegroups.len() } else { 0 };
    for g in 0..walked {
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        let start = ServiceGroupId(u32::try_from(g).unwrap_or(0));
        let mut stack = vec![start];
        let mut in_loop = false;
        while let Some(x) = stack.pop() {
            if !seen.insert(x) {
                continue;
            }
            members.extend(direct[x.index()].iter().copied());
            if let Some(s) = subs_map.get(&x) {
                in_loop |= s.contains(&start);
                stack.extend(s.iter().copied());
            }
        }
        if in_loop {
            let sg = &cfg.servicegroups[g];
            ctx.diags.error(
                Kind::Circular,
                Some(sg.location.clone()),
                Some(format!("servicegroup '{}'", sg.name)),
                "servicegroup is part of a servicegroup_members include loop",
            );
        }
        dedup_keep_order(&mut members);
        cfg.servicegroups[g].members = members;
    }
    for gi in 0..cfg.servicegroups.len() {
        let gid = cfg.servicegroups[gi].id;
        for k in 0..cfg.servicegroups[gi].members.len() {
            let s = cfg.servicegroups[gi].members[k];
            cfg.services[s.index()].servicegroups.push(gid);
        }
    }
}

/// Services named by a description list on the given hosts (`*` = all), for dependencies
/// and escalations.
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
