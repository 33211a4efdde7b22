//! What hosts and services share: the common checkable settings, and the fast path for objects that only set their name.

use super::*;

/// What the templates of a `use` list give a host or service on their own: the merged
/// properties and the typed settings built from them, shared by every object that
/// uses the same templates and only sets the directives of [`fast_keys`].
pub(super) struct Base<'r> {
    pub(super) r: Resolved<'r>,
    pub(super) common: Checkable,
    pub(super) refs: CheckableRefs,
    pub(super) is_volatile: bool,
    pub(super) parallelize: bool,
}

/// The directives an object may set itself and still take the fast path: those read
/// outside [`build_checkable`] (plus `check_command` and `display_name`, which are
/// applied on top of the base).
pub(super) fn fast_keys(is_host: bool) -> &'static [Key] {
    if is_host {
        &[
            Key::HostName,
            Key::Alias,
            Key::Address,
            Key::DisplayName,
            Key::CheckCommand,
            Key::Parents,
            Key::Hostgroups,
        ]
    } else {
        &[
            Key::HostName,
            Key::HostgroupName,
            Key::ServiceDescription,
            Key::DisplayName,
            Key::CheckCommand,
            Key::Servicegroups,
            Key::Parents,
        ]
    }
}

#[derive(Clone, Copy)]
pub(super) struct CheckableRefs {
    pub(super) has_contacts: bool,
    pub(super) has_notification_interval: bool,
    pub(super) has_notification_period: bool,
}

pub(super) fn build_checkable(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    r: &Resolved<'_>,
    what: &str,
    is_host: bool,
    display_default: &str,
) -> (Checkable, CheckableRefs) {
    let notif_letters = if is_host { "durfs" } else { "wucrfs" };
    let flap_letters = if is_host { "odu" } else { "owcu" };
    let stalk_letters = if is_host { "oduN" } else { "owucN" };
    let mut c = Checkable {
        display_name: r.val(Key::DisplayName).unwrap_or(display_default).into(),
        check_command: None,
        check_period: tp_ref(ctx, cfg, r, Key::CheckPeriod, what),
        event_handler: cmd_ref(ctx, cfg, r, Key::EventHandler, what),
        notification_period: tp_ref(ctx, cfg, r, Key::NotificationPeriod, what),
        initial_state: InitialState::Ok,
        max_check_attempts: 0,
        check_interval: 5.0,
        retry_interval: 1.0,
        active_checks_enabled: true,
        passive_checks_enabled: true,
        obsess: true,
        event_handler_enabled: true,
        check_freshness: false,
        freshness_threshold: 0,
        low_flap_threshold: 0.0,
        high_flap_threshold: 0.0,
        flap_detection_enabled: true,
        flap_detection_options: Options::parse("a", flap_letters).unwrap_or_default(),
        notification_options: Options::parse("a", notif_letters).unwrap_or_default(),
        notifications_enabled: true,
        notification_interval: 30.0,
        first_notification_delay: 0.0,
        stalking_options: Options::NONE,
        process_perf_data: true,
        retain_status_information: true,
        retain_nonstatus_information: true,
        contacts: Vec::new(),
        contact_groups: Vec::new(),
        notification_contacts: Vec::new(),
        notes: r.val(Key::Notes).map(Into::into),
        notes_url: r.val(Key::NotesUrl).map(Into::into),
        action_url: r.val(Key::ActionUrl).map(Into::into),
        icon_image: r.val(Key::IconImage).map(Into::into),
        icon_image_alt: r.val(Key::IconImageAlt).map(Into::into),
        importance: 0,
        custom_vars: r
            .custom
            .iter()
            .map(|c| (c.name.clone(), Box::from(&*c.value)))
            .collect(),
    };
    if let Some(p) = r.get(Key::CheckCommand).cloned() {
        let v = p.value.trim();
        // A leading '!' marks an "important" template command: same command, forced.
        let v = v.strip_prefix('!').unwrap_or(v);
        if v != "null" && !v.is_empty() {
            c.check_command = cmd_call(ctx, cfg, &p, v, what);
        }
    }
    let mut refs = CheckableRefs {
        has_contacts: r.has(Key::Contacts) || r.has(Key::ContactGroups),
        has_notification_interval: r.has(Key::NotificationInterval),
        has_notification_period: r.has(Key::NotificationPeriod),
    };
    for p in r.props.iter().filter(|p| p.value != "null") {
        match p.key {
            Key::InitialState => {
                c.initial_state = match p.value.trim() {
                    "o" | "ok" | "up" => InitialState::Ok,
                    "w" | "warning" if !is_host => InitialState::Warning,
                    "u" | "unknown" | "unreachable" => InitialState::Unknown,
                    "c" | "critical" if !is_host => InitialState::Critical,
                    "d" | "down" if is_host => InitialState::Down,
                    _ => {
                        ctx.invalid(p, what, "unknown initial state");
                        InitialState::Ok
                    }
                }
            }
            Key::MaxCheckAttempts => c.max_check_attempts = ctx.num_of(p, what).unwrap_or(0),
            Key::CheckInterval => c.check_interval = ctx.bounded_f64(p, what, false, 5.0),
            // Nagios rejects a service retry_interval <= 0 and does not check a host's.
            Key::RetryInterval if is_host => {
                c.retry_interval = ctx.f64_of(p, what).unwrap_or(1.0);
                if c.retry_interval < 0.0 {
                    ctx.lenient(p, what, "a non-negative number", 0);
                    c.retry_interval = 0.0;
                }
            }
            Key::RetryInterval => c.retry_interval = ctx.bounded_f64(p, what, true, 1.0),
            Key::ActiveChecksEnabled => {
                c.active_checks_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::PassiveChecksEnabled => {
                c.passive_checks_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::Obsess => c.obsess = ctx.bool_of(p, what).unwrap_or(true),
            Key::EventHandlerEnabled => {
                c.event_handler_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::CheckFreshness => c.check_freshness = ctx.bool_of(p, what).unwrap_or(false),
            Key::FreshnessThreshold => {
                let n = ctx.int_of(p, what);
                c.freshness_threshold = if n >= 0 {
                    u32::try_from(n).unwrap_or(u32::MAX)
                } else if is_host {
                    // add_host() refuses it; add_service() does not check.
                    ctx.invalid(p, what, "expected a non-negative number");
                    0
                } else {
                    ctx.lenient(p, what, "a non-negative number", 0);
                    0
                };
            }
            Key::LowFlapThreshold => c.low_flap_threshold = ctx.f64_of(p, what).unwrap_or(0.0),
            Key::HighFlapThreshold => c.high_flap_threshold = ctx.f64_of(p, what).unwrap_or(0.0),
            Key::FlapDetectionEnabled => {
                c.flap_detection_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::FlapDetectionOptions => {
                c.flap_detection_options = ctx
                    .opts_of(p, what, flap_letters)
                    .unwrap_or(c.flap_detection_options)
            }
            Key::NotificationOptions => {
                c.notification_options = ctx
                    .opts_of(p, what, notif_letters)
                    .unwrap_or(c.notification_options)
            }
            Key::NotificationsEnabled => {
                c.notifications_enabled = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::NotificationInterval => {
                c.notification_interval = ctx.bounded_f64(p, what, false, 30.0)
            }
            Key::FirstNotificationDelay => {
                c.first_notification_delay = ctx.bounded_f64(p, what, false, 0.0)
            }
            Key::StalkingOptions => {
                c.stalking_options = ctx.opts_of(p, what, stalk_letters).unwrap_or_default()
            }
            Key::ProcessPerfData => c.process_perf_data = ctx.bool_of(p, what).unwrap_or(true),
            Key::RetainStatusInformation => {
                c.retain_status_information = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::RetainNonstatusInformation => {
                c.retain_nonstatus_information = ctx.bool_of(p, what).unwrap_or(true)
            }
            Key::Importance => c.importance = ctx.num_of(p, what).unwrap_or(0),
            Key::Contacts => {
                for n in list(&p.value) {
                    match cfg.contact_index.get(n) {
                        Some(&id) => c.contacts.push(id),
                        None => {
                            let loc = ctx.p_loc(p);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.to_owned()),
                                format!("contact '{n}' is not defined"),
                            );
                        }
                    }
                }
            }
            Key::ContactGroups => {
                for n in list(&p.value) {
                    match cfg.contactgroup_index.get(n) {
                        Some(&id) => c.contact_groups.push(id),
                        None => {
                            let loc = ctx.p_loc(p);
                            ctx.diags.error(
                                Kind::Undefined,
                                loc,
                                Some(what.to_owned()),
                                format!("contactgroup '{n}' is not defined"),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if r.get(Key::Contacts).is_some_and(|p| p.value == "null")
        && r.get(Key::ContactGroups).is_none_or(|p| p.value == "null")
    {
        refs.has_contacts = true;
    }
    (c, refs)
}

/// The fast path for a host or service definition that only names templates and sets
/// some of [`fast_keys`]: the template part is resolved and typed once per `use` list.
/// Returns a resolved view holding the object's own directives plus the base's values of
/// the fast keys, or `None` when the definition needs the full path.
pub(super) fn fast_resolved<'r>(
    ctx: &mut Ctx<'r>,
    cfg: &Config,
    d: usize,
    is_host: bool,
) -> Option<(Resolved<'r>, Rc<Base<'r>>)> {
    let keys = fast_keys(is_host);
    let kind = if is_host {
        ObjectKind::Host
    } else {
        ObjectKind::Service
    };
    let def = &ctx.defs[d];
    if def.name.is_some()
        || def.kind != kind
        || !def.tplines.is_empty()
        || def
            .props
            .iter()
            .any(|p| !keys.contains(&p.key) || p.value == "null" || p.value.starts_with('+'))
        || def
            .uses
            .iter()
            .any(|u| !ctx.templates.contains_key(&(kind, *u)))
    {
        return None;
    }
    let slot = usize::from(!is_host);
    let base = match ctx.bases[slot].get(def.uses.as_slice()) {
        Some(Some(b)) => Rc::clone(b),
        Some(None) => return None,
        None => {
            let uses = def.uses.clone();
            let b = build_base(ctx, cfg, d, kind, &uses, is_host).map(Rc::new);
            ctx.bases[slot].insert(uses, b.clone());
            b?
        }
    };
    let def = &ctx.defs[d];
    let mut r = Resolved {
        props: Vec::with_capacity(keys.len()),
        custom: def.custom.clone(),
        ..Resolved::default()
    };
    for p in &def.props {
        r.set(p.key);
        r.props.push(p.clone());
    }
    for &k in keys {
        if !r.has(k) {
            if let Some(p) = base.r.get(k) {
                r.set(k);
                r.props.push(p.clone());
            }
        }
    }
    Some((r, base))
}

/// Resolve and type the templates of a `use` list alone. `None` when that produces any
/// diagnostic: the objects then take the full path, which reports them per object.
pub(super) fn build_base<'r>(
    ctx: &mut Ctx<'r>,
    cfg: &Config,
    d: usize,
    kind: ObjectKind,
    uses: &[&'r str],
    is_host: bool,
) -> Option<Base<'r>> {
    let before = ctx.diags.len();
    let mut r = Resolved::default();
    let mut pending = Vec::new();
    ctx.merge_templates(d, kind, uses, &mut r, &mut pending);
    if ctx.diags.len() != before {
        // Template problems (circular `use`) are reported once, as the full path would.
        return None;
    }
    let (common, refs) = build_checkable(ctx, cfg, &r, "", is_host, "");
    let (is_volatile, parallelize) = if is_host {
        (false, true)
    } else {
        service_flags(ctx, &r, "")
    };
    if ctx.diags.len() != before {
        ctx.diags.truncate(before);
        return None;
    }
    Some(Base {
        r,
        common,
        refs,
        is_volatile,
        parallelize,
    })
}

/// `is_volatile` and `parallelize_check`.
pub(super) fn service_flags(ctx: &mut Ctx<'_>, r: &Resolved<'_>, what: &str) -> (bool, bool) {
    let mut is_volatile = false;
    let mut parallelize = true;
    for p in r.props.iter().filter(|p| p.value != "null") {
        match p.key {
            Key::IsVolatile => is_volatile = ctx.num_of::<u8>(p, what).is_some_and(|v| v > 0),
            Key::ParallelizeCheck => parallelize = ctx.bool_of(p, what).unwrap_or(true),
            _ => {}
        }
    }
    (is_volatile, parallelize)
}

/// The typed settings of a fast-path object: the base's, with the object's own
/// `check_command`, `display_name` and custom variables applied.
pub(super) fn fast_checkable(
    ctx: &mut Ctx<'_>,
    cfg: &Config,
    d: usize,
    base: &Base<'_>,
    r: &Resolved<'_>,
    what: &str,
    display_default: &str,
) -> (Checkable, CheckableRefs) {
    let mut c = base.common.clone();
    c.display_name = r.val(Key::DisplayName).unwrap_or(display_default).into();
    let own_cmd = ctx.defs[d]
        .props
        .iter()
        .find(|p| p.key == Key::CheckCommand)
        .cloned();
    if let Some(p) = own_cmd {
        c.check_command = None;
        let v = p.value.trim();
        let v = v.strip_prefix('!').unwrap_or(v);
        if v != "null" && !v.is_empty() {
            c.check_command = cmd_call(ctx, cfg, &p, v, what);
        }
    }
    let own = &ctx.defs[d].custom;
    if !own.is_empty() {
        let mut vars: CustomVars = Vec::with_capacity(own.len() + c.custom_vars.len());
        vars.extend(
            own.iter()
                .map(|cv| (cv.name.clone(), Box::from(&*cv.value))),
        );
        vars.extend(
            base.common
                .custom_vars
                .iter()
                .filter(|(n, _)| !own.iter().any(|o| o.name == *n))
                .cloned(),
        );
        c.custom_vars = vars;
    }
    (c, base.refs)
}

pub(super) fn finish_contacts(cfg: &Config, c: &mut Checkable) {
    c.notification_contacts = nagios_contact_order(cfg, &c.contacts, &c.contact_groups);
}

/// A cheap value left behind when a prototype's settings are moved into the last copy.
pub(super) fn placeholder_checkable() -> Checkable {
    Checkable {
        display_name: Box::from(""),
        check_command: None,
        check_period: None,
        event_handler: None,
        notification_period: None,
        initial_state: InitialState::Ok,
        max_check_attempts: 0,
        check_interval: 0.0,
        retry_interval: 0.0,
        active_checks_enabled: false,
        passive_checks_enabled: false,
        obsess: false,
        event_handler_enabled: false,
        check_freshness: false,
        freshness_threshold: 0,
        low_flap_threshold: 0.0,
        high_flap_threshold: 0.0,
        flap_detection_enabled: false,
        flap_detection_options: Options::NONE,
        notification_options: Options::NONE,
        notifications_enabled: false,
        notification_interval: 0.0,
        first_notification_delay: 0.0,
        stalking_options: Options::NONE,
        process_perf_data: false,
        retain_status_information: false,
        retain_nonstatus_information: false,
        contacts: Vec::new(),
        contact_groups: Vec::new(),
        notification_contacts: Vec::new(),
        notes: None,
        notes_url: None,
        action_url: None,
        icon_image: None,
        icon_image_alt: None,
        importance: 0,
        custom_vars: Vec::new(),
    }
}
