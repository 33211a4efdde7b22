//! `define contact` and its notification ways.

use super::*;

pub(super) fn build_way(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    name: &str,
    what: &str,
) -> NotificationWay {
    let hno = match r.get(Key::HostNotificationOptions).cloned() {
        Some(p) if p.value != "null" => ctx.opts_of(&p, what, "durfs").unwrap_or_default(),
        _ => Options::parse("a", "durfs").unwrap_or_default(),
    };
    let sno = match r.get(Key::ServiceNotificationOptions).cloned() {
        Some(p) if p.value != "null" => ctx.opts_of(&p, what, "wucrfs").unwrap_or_default(),
        _ => Options::parse("a", "wucrfs").unwrap_or_default(),
    };
    let min_bi = match r.get(Key::MinBusinessImpact).cloned() {
        Some(p) => ctx.num_of(&p, what).unwrap_or(0),
        None => 0,
    };
    NotificationWay {
        name: name.into(),
        host_notification_period: tp_ref(ctx, cfg, r, Key::HostNotificationPeriod, what),
        service_notification_period: tp_ref(ctx, cfg, r, Key::ServiceNotificationPeriod, what),
        host_notification_options: hno,
        service_notification_options: sno,
        host_notification_commands: cmd_list(ctx, cfg, r, Key::HostNotificationCommands, what),
        service_notification_commands: cmd_list(
            ctx,
            cfg,
            r,
            Key::ServiceNotificationCommands,
            what,
        ),
        min_business_impact: min_bi,
    }
}

pub(super) fn build_ways(ctx: &mut Ctx<'_>, cfg: &Config) -> HashMap<String, NotificationWay> {
    let mut ways = HashMap::new();
    if ctx.dialect != Dialect::Shinken {
        return ways;
    }
    let objs = registered(ctx, ObjectKind::NotificationWay);
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let Some(name) = r.val(Key::NotificationwayName).map(str::to_owned) else {
            let loc = ctx.def_loc(d);
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "notificationway has no 'notificationway_name'",
            );
            continue;
        };
        let what = format!("notificationway '{name}'");
        let w = build_way(ctx, cfg, &r, &name, &what);
        ways.insert(name, w);
    }
    ways
}

pub(super) fn build_contacts(
    ctx: &mut Ctx<'_>,
    cfg: &mut Config,
    ways: &HashMap<String, NotificationWay>,
) {
    let objs = registered(ctx, ObjectKind::Contact);
    let mut groups_of: Vec<(ContactId, P<'_>)> = Vec::new();
    for d in objs {
        let Some(r) = resolved(ctx, d) else {
            continue;
        };
        let loc = ctx.def_loc(d);
        let Some(name) = r.val(Key::ContactName) else {
            ctx.diags.error(
                Kind::Missing,
                loc,
                Some(ctx.describe(d)),
                "contact has no 'contact_name'",
            );
            continue;
        };
        let name = name.to_owned();
        let what = format!("contact '{name}'");
        ctx.check_name(&name, &what, loc.clone());
        if let Some(&prev) = cfg.contact_index.get(name.as_str()) {
            let prev_loc = cfg.contacts[prev.index()].location.to_string();
            ctx.diags.error(
                Kind::Duplicate,
                loc,
                Some(what),
                format!("duplicate definition (first defined at {prev_loc})"),
            );
            continue;
        }
        let id = ContactId(u32::try_from(cfg.contacts.len()).unwrap_or(u32::MAX));
        let mut c = Contact {
            id,
            name: name.as_str().into(),
            alias: r.val(Key::Alias).unwrap_or(&name).into(),
            email: r.val(Key::Email).map(Into::into),
            pager: r.val(Key::Pager).map(Into::into),
            addresses: Default::default(),
            host_notifications_enabled: true,
            service_notifications_enabled: true,
            can_submit_commands: true,
            retain_status_information: true,
            retain_nonstatus_information: true,
            minimum_importance: 0,
            ways: Vec::new(),
            contactgroups: Vec::new(),
            custom_vars: r
                .custom
                .iter()
                .map(|c| (c.name.clone(), Box::from(&*c.value)))
                .collect(),
            location: loc.clone().unwrap_or_else(dummy_loc),
        };
        for (i, k) in [
            Key::Address1,
            Key::Address2,
            Key::Address3,
            Key::Address4,
            Key::Address5,
            Key::Address6,
        ]
        .into_iter()
        .enumerate()
        {
            c.addresses[i] = r.val(k).map(Into::into);
        }
        for p in r.props.iter().filter(|p| p.value != "null") {
            match p.key {
                Key::HostNotificationsEnabled => {
                    c.host_notifications_enabled = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::ServiceNotificationsEnabled => {
                    c.service_notifications_enabled = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::CanSubmitCommands => {
                    c.can_submit_commands = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::RetainStatusInformation => {
                    c.retain_status_information = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::RetainNonstatusInformation => {
                    c.retain_nonstatus_information = ctx.bool_of(p, &what).unwrap_or(true)
                }
                Key::MinimumImportance => c.minimum_importance = ctx.num_of(p, &what).unwrap_or(0),
                Key::Contactgroups => groups_of.push((id, p.clone())),
                _ => {}
            }
        }
        let own = build_way(ctx, cfg, &r, &name, &what);
        let has_own = !own.host_notification_commands.is_empty()
            || !own.service_notification_commands.is_empty();
        if has_own || r.get(Key::Notificationways).is_none() {
            c.ways.push(own);
        }
        if let Some(p) = r.get(Key::Notificationways).cloned() {
            if ctx.dialect == Dialect::Shinken {
                for w in list(&p.value) {
                    match ways.get(w) {
                        Some(way) => c.ways.push(way.clone()),
                        None => {
                            let l = ctx.p_loc(&p);
                            ctx.diags.error(
                                Kind::Undefined,
                                l,
                                Some(what.clone()),
                                format!("notificationway '{w}' is not defined"),
                            );
                        }
                    }
                }
            }
        }
        cfg.contact_index.insert(name.as_str().into(), id);
        cfg.contacts.push(c);
    }
    // Contacts' own `contactgroups` are linked in build_contactgroups.
    ctx.contact_groups_of = groups_of
        .into_iter()
        .map(|(id, p)| (id, p.value.into_owned(), p.file, p.line))
        .collect();
}
