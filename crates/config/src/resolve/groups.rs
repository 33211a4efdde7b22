//! Host, service and contact groups: one builder ([`build_groups`]) for the three, with
//! what really differs between them as the methods of [`GroupKind`]:
//!
//! * definitions: the group's name, duplicates, `register 0` groups that still gather
//!   members (host and service groups, as Nagios 4.4.6 reads them);
//! * members: the `members` directive (hosts: `*`, regexes, `!` exclusions; services:
//!   `host,service` pairs; contacts: `*`), and the objects that name the group in their own
//!   `hostgroups` / `servicegroups` / `contactgroups`;
//! * nesting: `*_members` entries, include loops (an error naming the group and where it
//!   was defined), and the order members come out in (contact groups keep Nagios' walk
//!   order, which decides the notification order);
//! * the reverse lists (a host's `hostgroups`, …).

use super::*;

/// The members a group gathers before nesting: from the `members` directive (`direct`)
/// and from the objects that name it themselves (`back`), each indexed by group.
pub(super) struct Gathered<M> {
    direct: Vec<Vec<M>>,
    back: Vec<Vec<M>>,
}

/// What differs between host, service and contact groups.
pub(super) trait GroupKind {
    /// The group's id.
    type Id: Copy + Eq + std::hash::Hash;
    /// A member's id.
    type Member: Copy + Eq + std::hash::Hash;
    /// `hostgroup`, … (messages say `hostgroup 'x'`, `hostgroup_members entry …`).
    const NOUN: &'static str;
    /// The definitions read.
    const OBJECT: ObjectKind;
    /// `hostgroup_name`, …
    const NAME: Key;
    /// `hostgroup_members`, …
    const NESTING: Key;
    /// Whether `register 0` definitions that name a group gather members too.
    const GATHERS_UNREGISTERED: bool;
    /// Whether a `*_members` value of `null` means none (host and service groups) or is
    /// read as a group name (contact groups, as before).
    const NULL_NESTING_IS_EMPTY: bool;

    fn id(index: usize) -> Self::Id;
    fn index(id: Self::Id) -> usize;
    fn count(cfg: &Config) -> usize;
    fn lookup(cfg: &Config, name: &str) -> Option<Self::Id>;
    fn name_and_location(cfg: &Config, id: Self::Id) -> (&str, &Location);
    /// Add a group (and its name to the index); `r` is its definition (`None`: created
    /// implicitly, named `name` with that alias).
    fn push(cfg: &mut Config, id: Self::Id, name: &str, r: Option<&Resolved<'_>>, loc: Location);
    fn members_mut(cfg: &mut Config, id: Self::Id) -> &mut Vec<Self::Member>;
    /// Record a `register 0` group (dropped before pre-flight).
    fn unregistered(_ctx: &mut Ctx<'_>, _id: Self::Id) {}
    /// The groups recorded by [`GroupKind::unregistered`].
    fn take_unregistered(_ctx: &mut Ctx<'_>) -> Vec<Self::Id> {
        Vec::new()
    }
    /// Drop the groups at the indices `drop` and renumber the rest (see [`renumber`]).
    fn renumber(cfg: &mut Config, drop: &HashSet<usize>) -> Vec<Option<Self::Id>>;
    /// Renumber every member's own group list with `map` (see [`remapped`]).
    fn remap_links(cfg: &mut Config, map: &[Option<Self::Id>]);
    /// The `members` directive of group `what`, at `file:line`.
    fn members_directive(
        ctx: &mut Ctx<'_>,
        cfg: &Config,
        value: &str,
        file: u32,
        line: u32,
        what: &str,
    ) -> Vec<Self::Member>;
    /// The objects' own group lists (`hostgroups` of hosts, …), per group in definition
    /// order; an undefined group is an error naming the object.
    fn back_references(ctx: &mut Ctx<'_>, cfg: &mut Config) -> Vec<Vec<Self::Member>>;
    /// Members with nesting expanded (`subs`: `*_members` by group index; `any_loop`: an
    /// include loop was reported).
    fn expand(
        gathered: Gathered<Self::Member>,
        subs: &[Vec<usize>],
        any_loop: bool,
    ) -> Vec<Vec<Self::Member>>;
    /// Add group `g` to member `m`'s own list.
    fn link(cfg: &mut Config, m: Self::Member, g: Self::Id);
}

/// Build every group of kind `K`: definitions, members, nesting, loops, reverse lists.
pub(super) fn build_groups<K: GroupKind>(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    type Value = Option<(String, u32, u32)>;
    let mut pending: Vec<(K::Id, Value, Value, String)> = Vec::new();
    for d in group_defs(ctx, K::OBJECT) {
        let unregistered = !ctx.defs[d].register;
        if unregistered && !K::GATHERS_UNREGISTERED {
            continue;
        }
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        if unregistered && r.val(K::NAME).is_none_or(|n| K::lookup(cfg, n).is_some()) {
            // A pure template, or a name already taken: nothing to gather.
            continue;
        }
        let Some(name) = r.val(K::NAME) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                format!("{} has no '{}_name'", K::NOUN, K::NOUN),
            );
            continue;
        };
        let what = format!("{} '{name}'", K::NOUN);
        ctx.check_name(name, &what, loc.clone());
        if let Some(prev) = K::lookup(cfg, name) {
            let prev_loc = K::name_and_location(cfg, prev).1.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = K::id(K::count(cfg));
        if unregistered {
            K::unregistered(ctx, id);
        }
        K::push(cfg, id, name, Some(&r), loc.unwrap_or_else(dummy_loc));
        let value = |k: Key, null_is_empty: bool| {
            r.get(k)
                .filter(|p| !null_is_empty || p.value != "null")
                .map(|p| (p.value.to_string(), p.file, p.line))
        };
        pending.push((
            id,
            value(Key::Members, true),
            value(K::NESTING, K::NULL_NESTING_IS_EMPTY),
            what,
        ));
    }
    let back = K::back_references(ctx, cfg);
    let n = K::count(cfg);
    let mut direct: Vec<Vec<K::Member>> = vec![Vec::new(); n];
    let mut subs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (id, members, nesting, what) in pending {
        if let Some((v, file, line)) = members {
            direct[K::index(id)] = K::members_directive(ctx, cfg, &v, file, line, &what);
        }
        if let Some((v, file, line)) = nesting {
            let mut sv = Vec::new();
            for m in list(&v) {
                match K::lookup(cfg, m) {
                    Some(g) => sv.push(K::index(g)),
                    None => {
                        let loc = ctx.loc(file, line);
                        ctx.diags.error(
                            Kind::Undefined,
                            loc,
                            Some(what.clone()),
                            format!("{}_members entry '{m}' is not defined", K::NOUN),
                        );
                    }
                }
            }
            subs[K::index(id)] = sv;
        }
    }
    let looped = on_cycle(&subs);
    for (g, &in_loop) in looped.iter().enumerate() {
        if in_loop {
            // xodtemplate_recombobulate_*group_subgroups: an error in Nagios 4.
            let (name, location) = K::name_and_location(cfg, K::id(g));
            let (name, location) = (name.to_owned(), location.clone());
            ctx.diags.error(
                Kind::Circular,
                Some(location),
                Some(format!("{} '{name}'", K::NOUN)),
                format!("{} is part of a {}_members include loop", K::NOUN, K::NOUN),
            );
        }
    }
    let any_loop = looped.contains(&true);
    let expanded = K::expand(Gathered { direct, back }, &subs, any_loop);
    for (g, members) in expanded.into_iter().enumerate() {
        let id = K::id(g);
        for &m in &members {
            K::link(cfg, m, id);
        }
        *K::members_mut(cfg, id) = members;
    }
}

/// Host and service groups: a group's members are those that name it, then its
/// `members`, then its subgroups' (see [`expand_nesting`]); with an include loop (an
/// error), the walk from every group.
fn expand_flat<M: Copy + Eq + std::hash::Hash>(
    gathered: Gathered<M>,
    subs: &[Vec<usize>],
    any_loop: bool,
) -> Vec<Vec<M>> {
    let direct: Vec<Vec<M>> = gathered
        .back
        .into_iter()
        .zip(gathered.direct)
        .map(|(mut b, d)| {
            b.extend(d);
            b
        })
        .collect();
    if !any_loop {
        return expand_nesting(&direct, subs);
    }
    (0..direct.len())
        .map(|start| {
            let mut members = Vec::new();
            let mut seen = HashSet::new();
            let mut stack = vec![start];
            while let Some(x) = stack.pop() {
                if !seen.insert(x) {
                    continue;
                }
                members.extend(direct[x].iter().copied());
                stack.extend(subs[x].iter().copied());
            }
            dedup_keep_order(&mut members);
            members
        })
        .collect()
}

/// An undefined group named by an object's own group list.
fn undefined_group<K: GroupKind>(ctx: &mut Ctx<'_>, file: u32, line: u32, what: String, g: &str) {
    let loc = ctx.loc(file, line);
    ctx.diags.error(
        Kind::Undefined,
        loc,
        Some(what),
        format!("{} '{g}' is not defined", K::NOUN),
    );
}

/// The accessors of one kind's table in [`Config`] (the groups, their name index,
/// members), the same for the three kinds.
macro_rules! group_table {
    ($id:ident, $member:ident, $groups:ident, $index:ident) => {
        type Id = $id;
        type Member = $member;

        fn id(index: usize) -> $id {
            $id(u32::try_from(index).unwrap_or(u32::MAX))
        }
        fn index(id: $id) -> usize {
            id.index()
        }
        fn count(cfg: &Config) -> usize {
            cfg.$groups.len()
        }
        fn lookup(cfg: &Config, name: &str) -> Option<$id> {
            cfg.$index.get(name).copied()
        }
        fn name_and_location(cfg: &Config, id: $id) -> (&str, &Location) {
            let g = &cfg.$groups[id.index()];
            (&g.name, &g.location)
        }
        fn members_mut(cfg: &mut Config, id: $id) -> &mut Vec<$member> {
            &mut cfg.$groups[id.index()].members
        }
        fn renumber(cfg: &mut Config, drop: &HashSet<usize>) -> Vec<Option<$id>> {
            renumber(
                &mut cfg.$groups,
                &mut cfg.$index,
                drop,
                Self::id,
                |g, id| {
                    g.id = id;
                    g.name.clone()
                },
            )
        }
    };
}

/// `push` for host and service groups (the same fields: `notes`, `notes_url`,
/// `action_url`), and the `register 0` groups they gather members for.
macro_rules! group_with_notes {
    ($group:ident, $groups:ident, $index:ident, $unregistered:ident) => {
        fn push(
            cfg: &mut Config,
            id: Self::Id,
            name: &str,
            r: Option<&Resolved<'_>>,
            loc: Location,
        ) {
            let val = |k: Key| r.and_then(|r| r.val(k));
            cfg.$index.insert(name.into(), id);
            cfg.$groups.push($group {
                id,
                name: name.into(),
                alias: val(Key::Alias).unwrap_or(name).into(),
                members: Vec::new(),
                notes: val(Key::Notes).map(Into::into),
                notes_url: val(Key::NotesUrl).map(Into::into),
                action_url: val(Key::ActionUrl).map(Into::into),
                location: loc,
            });
        }
        fn unregistered(ctx: &mut Ctx<'_>, id: Self::Id) {
            ctx.$unregistered.push(id);
        }
        fn take_unregistered(ctx: &mut Ctx<'_>) -> Vec<Self::Id> {
            std::mem::take(&mut ctx.$unregistered)
        }
    };
}

pub(super) struct HostGroups;

impl GroupKind for HostGroups {
    group_table!(HostGroupId, HostId, hostgroups, hostgroup_index);
    group_with_notes!(
        HostGroup,
        hostgroups,
        hostgroup_index,
        unregistered_hostgroups
    );
    const NOUN: &'static str = "hostgroup";
    const OBJECT: ObjectKind = ObjectKind::HostGroup;
    const NAME: Key = Key::HostgroupName;
    const NESTING: Key = Key::HostgroupMembers;
    const GATHERS_UNREGISTERED: bool = true;
    const NULL_NESTING_IS_EMPTY: bool = true;

    fn remap_links(cfg: &mut Config, map: &[Option<HostGroupId>]) {
        for h in &mut cfg.hosts {
            h.hostgroups = remapped::<Self>(&h.hostgroups, map);
        }
    }
    fn members_directive(
        ctx: &mut Ctx<'_>,
        cfg: &Config,
        value: &str,
        file: u32,
        line: u32,
        what: &str,
    ) -> Vec<HostId> {
        let (inc, exc) = split_excl(value);
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
                            Some(what.to_owned()),
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
        add
    }
    fn back_references(ctx: &mut Ctx<'_>, cfg: &mut Config) -> Vec<Vec<HostId>> {
        let mut back = vec![Vec::new(); cfg.hostgroups.len()];
        for (hid, value, file, line) in std::mem::take(&mut ctx.host_groups_of) {
            for g in list(&value) {
                match cfg.hostgroup_index.get(g) {
                    Some(&gid) => back[gid.index()].push(hid),
                    None => {
                        let what = format!("host '{}'", cfg.hosts[hid.index()].name);
                        undefined_group::<Self>(ctx, file, line, what, g);
                    }
                }
            }
        }
        back
    }
    fn expand(gathered: Gathered<HostId>, subs: &[Vec<usize>], any_loop: bool) -> Vec<Vec<HostId>> {
        expand_flat(gathered, subs, any_loop)
    }
    fn link(cfg: &mut Config, m: HostId, g: HostGroupId) {
        cfg.hosts[m.index()].hostgroups.push(g);
    }
}

pub(super) struct ServiceGroups;

impl GroupKind for ServiceGroups {
    group_table!(ServiceGroupId, ServiceId, servicegroups, servicegroup_index);
    group_with_notes!(
        ServiceGroup,
        servicegroups,
        servicegroup_index,
        unregistered_servicegroups
    );
    const NOUN: &'static str = "servicegroup";
    const OBJECT: ObjectKind = ObjectKind::ServiceGroup;
    const NAME: Key = Key::ServicegroupName;
    const NESTING: Key = Key::ServicegroupMembers;
    const GATHERS_UNREGISTERED: bool = true;
    const NULL_NESTING_IS_EMPTY: bool = true;

    fn remap_links(cfg: &mut Config, map: &[Option<ServiceGroupId>]) {
        for s in &mut cfg.services {
            s.servicegroups = remapped::<Self>(&s.servicegroups, map);
        }
    }
    fn members_directive(
        ctx: &mut Ctx<'_>,
        cfg: &Config,
        value: &str,
        file: u32,
        line: u32,
        what: &str,
    ) -> Vec<ServiceId> {
        let items: Vec<&str> = list(value).collect();
        if items.len() % 2 != 0 {
            let loc = ctx.loc(file, line);
            ctx.diags.error(
                Kind::InvalidValue,
                loc,
                Some(what.to_owned()),
                "members must be host,service pairs",
            );
        }
        let mut add = Vec::new();
        for pair in items.chunks_exact(2) {
            match cfg.service_by_name(pair[0], pair[1]) {
                Some(s) => add.push(s),
                None => {
                    let loc = ctx.loc(file, line);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(what.to_owned()),
                        format!(
                            "member service '{}' on host '{}' is not defined",
                            pair[1], pair[0]
                        ),
                    );
                }
            }
        }
        add
    }
    fn back_references(ctx: &mut Ctx<'_>, cfg: &mut Config) -> Vec<Vec<ServiceId>> {
        let mut back = vec![Vec::new(); cfg.servicegroups.len()];
        for (sid, value, file, line) in std::mem::take(&mut ctx.service_groups_of) {
            for g in list(&value) {
                match cfg.servicegroup_index.get(g) {
                    Some(&gid) => back[gid.index()].push(sid),
                    None => {
                        let s = &cfg.services[sid.index()];
                        let what = format!(
                            "service '{}' on host '{}'",
                            s.description,
                            cfg.hosts[s.host.index()].name
                        );
                        undefined_group::<Self>(ctx, file, line, what, g);
                    }
                }
            }
        }
        back
    }
    fn expand(
        gathered: Gathered<ServiceId>,
        subs: &[Vec<usize>],
        any_loop: bool,
    ) -> Vec<Vec<ServiceId>> {
        expand_flat(gathered, subs, any_loop)
    }
    fn link(cfg: &mut Config, m: ServiceId, g: ServiceGroupId) {
        cfg.services[m.index()].servicegroups.push(g);
    }
}

pub(super) struct ContactGroups;

impl GroupKind for ContactGroups {
    group_table!(ContactGroupId, ContactId, contactgroups, contactgroup_index);
    const NOUN: &'static str = "contactgroup";
    const OBJECT: ObjectKind = ObjectKind::ContactGroup;
    const NAME: Key = Key::ContactgroupName;
    const NESTING: Key = Key::ContactgroupMembers;
    const GATHERS_UNREGISTERED: bool = false;
    const NULL_NESTING_IS_EMPTY: bool = false;

    fn push(
        cfg: &mut Config,
        id: ContactGroupId,
        name: &str,
        r: Option<&Resolved<'_>>,
        loc: Location,
    ) {
        cfg.contactgroup_index.insert(name.into(), id);
        cfg.contactgroups.push(ContactGroup {
            id,
            name: name.into(),
            alias: r.and_then(|r| r.val(Key::Alias)).unwrap_or(name).into(),
            members: Vec::new(),
            location: loc,
        });
    }
    fn remap_links(cfg: &mut Config, map: &[Option<ContactGroupId>]) {
        for c in &mut cfg.contacts {
            c.contactgroups = remapped::<Self>(&c.contactgroups, map);
        }
    }
    fn members_directive(
        ctx: &mut Ctx<'_>,
        cfg: &Config,
        value: &str,
        file: u32,
        line: u32,
        what: &str,
    ) -> Vec<ContactId> {
        let mut add = Vec::new();
        for m in list(value) {
            if m == "*" {
                add.extend(cfg.contacts.iter().map(|c| c.id));
                continue;
            }
            match cfg.contact_index.get(m) {
                Some(&c) => add.push(c),
                None => {
                    let loc = ctx.loc(file, line);
                    ctx.diags.error(
                        Kind::Undefined,
                        loc,
                        Some(what.to_owned()),
                        format!("member contact '{m}' is not defined"),
                    );
                }
            }
        }
        add
    }
    fn back_references(ctx: &mut Ctx<'_>, cfg: &mut Config) -> Vec<Vec<ContactId>> {
        let mut back: Vec<Vec<ContactId>> = vec![Vec::new(); cfg.contactgroups.len()];
        for (cid, value, file, line) in std::mem::take(&mut ctx.contact_groups_of) {
            for g in list(&value) {
                let what = || format!("contact '{}'", cfg.contacts[cid.index()].name);
                let gid = match cfg.contactgroup_index.get(g) {
                    Some(&gid) => gid,
                    None if ctx.dialect == Dialect::Shinken => {
                        // Shinken creates the group on the fly (contactgroup.py add_member).
                        let gid = Self::id(cfg.contactgroups.len());
                        let loc = ctx.loc(file, line);
                        ctx.diags.warning(
                            Kind::Undefined,
                            loc.clone(),
                            Some(what()),
                            format!(
                                "contactgroup '{g}' is not defined; created implicitly as Shinken does"
                            ),
                        );
                        Self::push(cfg, gid, g, None, loc.unwrap_or_else(dummy_loc));
                        gid
                    }
                    None => {
                        let what = what();
                        undefined_group::<Self>(ctx, file, line, what, g);
                        continue;
                    }
                };
                if back.len() <= gid.index() {
                    back.resize(gid.index() + 1, Vec::new());
                }
                back[gid.index()].push(cid);
            }
        }
        back
    }
    fn expand(
        gathered: Gathered<ContactId>,
        subs: &[Vec<usize>],
        _any_loop: bool,
    ) -> Vec<Vec<ContactId>> {
        let mut memo = HashMap::new();
        (0..gathered.direct.len())
            .map(|g| {
                let mut visiting = HashSet::new();
                nagios_member_order(
                    g,
                    &gathered.direct,
                    &gathered.back,
                    subs,
                    &mut memo,
                    &mut visiting,
                )
            })
            .collect()
    }
    fn link(cfg: &mut Config, m: ContactId, g: ContactGroupId) {
        cfg.contacts[m.index()].contactgroups.push(g);
    }
}

/// The order in which Nagios 4.4.6 walks a contact group's members (`grp->members`),
/// which decides the notification order and `$NOTIFICATIONRECIPIENTS$`:
/// the `members` directive in reverse, then the contacts that name the group in their
/// own `contactgroups` in reverse definition order, then for each `contactgroup_members`
/// entry (in reverse) that group's members in reverse of its own order. A contact is kept
/// where it first appears. (xodtemplate builds the lists by prepending and
/// add_contact_to_contactgroup() prepends again; recorded in oracle f_contacts_groups.)
/// Groups are indices into `direct`, `back` and `subs`.
pub(super) fn nagios_member_order<M: Copy + Eq + std::hash::Hash>(
    g: usize,
    direct: &[Vec<M>],
    back: &[Vec<M>],
    subs: &[Vec<usize>],
    memo: &mut HashMap<usize, Vec<M>>,
    visiting: &mut HashSet<usize>,
) -> Vec<M> {
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
    let no_subs: Vec<usize> = Vec::new();
    let mut stack: Vec<(usize, usize)> = vec![(g, 0)];
    while let Some(top) = stack.last_mut() {
        let (cur, next) = *top;
        let s = subs.get(cur).unwrap_or(&no_subs);
        if next < s.len() {
            top.1 += 1;
            let sg = s[s.len() - 1 - next];
            if !memo.contains_key(&sg) && visiting.insert(sg) {
                stack.push((sg, 0));
            }
            continue;
        }
        stack.pop();
        let mut out: Vec<M> = Vec::new();
        if let Some(d) = direct.get(cur) {
            out.extend(d.iter().rev().copied());
        }
        if let Some(b) = back.get(cur) {
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
    drop_unregistered::<HostGroups>(ctx, cfg);
    drop_unregistered::<ServiceGroups>(ctx, cfg);
}

fn drop_unregistered<K: GroupKind>(ctx: &mut Ctx<'_>, cfg: &mut Config) {
    let drop: HashSet<usize> = K::take_unregistered(ctx)
        .into_iter()
        .map(K::index)
        .collect();
    if drop.is_empty() {
        return;
    }
    let map = K::renumber(cfg, &drop);
    K::remap_links(cfg, &map);
}

/// A member's group list after [`renumber`]: each group's new id, dropped ones left out.
fn remapped<K: GroupKind>(groups: &[K::Id], map: &[Option<K::Id>]) -> Vec<K::Id> {
    groups
        .iter()
        .filter_map(|&g| map.get(K::index(g)).copied().flatten())
        .collect()
}

/// Drop the groups at the indices `drop` from `groups` and renumber the rest (ids and
/// `index`) in order; each old index's new id.
fn renumber<G, Id: Copy>(
    groups: &mut Vec<G>,
    index: &mut FastMap<Box<str>, Id>,
    drop: &HashSet<usize>,
    id_of: impl Fn(usize) -> Id,
    set_id: impl Fn(&mut G, Id) -> Box<str>,
) -> Vec<Option<Id>> {
    let mut map = vec![None; groups.len()];
    let old = std::mem::take(groups);
    index.clear();
    for (i, mut g) in old.into_iter().enumerate() {
        if drop.contains(&i) {
            continue;
        }
        let id = id_of(groups.len());
        map[i] = Some(id);
        index.insert(set_id(&mut g, id), id);
        groups.push(g);
    }
    map
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
