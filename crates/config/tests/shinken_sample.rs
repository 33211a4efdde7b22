//! Shinken's sample configuration (`etc/` of Shinken 2.4) loads with the object counts
//! Shinken 2.4 itself would load.
//!
//! Shinken's files are not the project's to copy, so they are not in the repository and
//! these tests are `#[ignore]`d: the README's test command does not run them. `.ci/run`
//! runs them in a step of their own, `cargo test -p picket-config --test shinken_sample
//! -- --ignored`, with `PICKET_SHINKEN_SAMPLE` naming the directory that holds Shinken's
//! `shinken.cfg.in`; without it they fail and say so.
//!
//! How the expected numbers were derived (Shinken 2.4 arbiter on `shinken.cfg`, the
//! installed name of `shinken.cfg.in`; it reads every `*.cfg` below each `cfg_dir`):
//!
//! * hosts: 1 — `hosts/localhost.cfg`. `templates/generic-host.cfg` and the `poll_*`
//!   templates in `templates/time_templates.cfg` are `register 0`. The `sample/` tree is
//!   not loaded: only `sample.cfg` points at it (`cfg_dir=sample`) and `shinken.cfg`
//!   does not include `sample.cfg` or `dev.cfg`.
//! * services: 0 — `services/services.cfg` holds only comments, `packs/` only
//!   `readme.cfg` (comments); every service definition in `templates/` is a template.
//! * contacts: 2 — `admin` and `guest` (`generic-contact` is a template).
//! * commands: 20 — one per file in `commands/`. Shinken's arbiter adds three internal
//!   "ghost" commands on top (`Config.add_ghost_objects()`: `bp_rule`,
//!   `_internal_host_up`, `_echo`), so Shinken's own list has 23; Picket does not invent
//!   them, so it reports the 20 that the files define.
//! * contact groups: 3 — `admins`, `users`, and `admin`, which Shinken creates on the
//!   fly because contact `admin` says `contactgroups admin,users`
//!   (`ContactGroups.add_member()` creates unknown groups). Picket does the same in the
//!   Shinken dialect, with a warning.
//! * host groups 1 (`linux`), time periods 4 (`24x7`, `none`, `us-holidays`,
//!   `workhours`).

use std::path::PathBuf;

use picket_config::{Dialect, Kind, LoadOptions, Options};

const IGNORED: &str = "needs Shinken's sample configuration, not in the repository: \
                       PICKET_SHINKEN_SAMPLE=DIR cargo test -p picket-config \
                       --test shinken_sample -- --ignored";

/// The directory named by `PICKET_SHINKEN_SAMPLE`; a clear failure without it.
fn shinken_dir() -> PathBuf {
    let Some(dir) = std::env::var_os("PICKET_SHINKEN_SAMPLE") else {
        panic!("PICKET_SHINKEN_SAMPLE is not set: {IGNORED}");
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("shinken.cfg.in").is_file(),
        "PICKET_SHINKEN_SAMPLE={}: no shinken.cfg.in there",
        dir.display()
    );
    dir
}

#[test]
#[ignore = "needs Shinken's sample configuration: PICKET_SHINKEN_SAMPLE=DIR, --ignored"]
fn shinken_sample_verifies_with_shinken_counts() {
    let main = shinken_dir().join("shinken.cfg.in");
    let loaded = picket_config::load(&main, &LoadOptions::default()).expect("readable");
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.line())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let cfg = &loaded.config;
    assert_eq!(
        cfg.dialect,
        Dialect::Shinken,
        "detected from shinken.cfg keys"
    );
    let c = cfg.counts();
    assert_eq!(c.hosts, 1);
    assert_eq!(c.services, 0);
    assert_eq!(c.contacts, 2);
    assert_eq!(c.commands, 20);
    assert_eq!(c.contactgroups, 3);
    assert_eq!(c.hostgroups, 1);
    assert_eq!(c.timeperiods, 4);

    // Shinken extensions are warnings, not errors, and name file:line.
    let unsupported: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.kind == Kind::Unsupported)
        .map(|d| d.line())
        .collect();
    assert!(
        unsupported
            .iter()
            .any(|l| l.contains("realms/all.cfg:3") && l.contains("'realm'")),
        "{unsupported:#?}"
    );
    assert!(
        unsupported
            .iter()
            .any(|l| l.contains("contacts/admin.cfg:10") && l.contains("'password'")),
        "{unsupported:#?}"
    );

    // Notification ways give the contacts their commands.
    let admin = &cfg.contacts[cfg.contact_by_name("admin").expect("admin").index()];
    assert_eq!(admin.ways.len(), 1);
    let way = &admin.ways[0];
    assert_eq!(&*way.name, "email");
    let cmd = way.service_notification_commands[0].command;
    assert_eq!(&*cfg.command(cmd).name, "notify-service-by-email");
    assert!(way.service_notification_options.contains(Options::CRITICAL));
    assert!(!way.service_notification_options.contains(Options::UNKNOWN));

    // Host inherits from generic-host; its own contact_groups win.
    let h = cfg.host(cfg.host_by_name("localhost").expect("localhost"));
    assert_eq!(h.common.max_check_attempts, 2);
    assert_eq!(h.common.notification_interval, 1440.0);
    assert_eq!(h.common.contact_groups.len(), 1);
    assert_eq!(
        &*cfg.contactgroups[h.common.contact_groups[0].index()].name,
        "admins"
    );
    let check = h.common.check_command.as_ref().expect("check_host_alive");
    assert_eq!(&*cfg.command(check.command).name, "check_host_alive");

    // resource.d macros (Shinken's $NAME$=value lines in cfg_dir files).
    assert_eq!(
        cfg.resource_macros.get("NAGIOSPLUGINSDIR").map(|v| &**v),
        Some("/usr/lib/nagios/plugins")
    );
    // us-holidays keeps its exceptions.
    let tp = cfg.timeperiod(cfg.timeperiod_by_name("us-holidays").expect("tp"));
    assert_eq!(tp.exceptions.len(), 6);
}

#[test]
#[ignore = "needs Shinken's sample configuration: PICKET_SHINKEN_SAMPLE=DIR, --ignored"]
fn shinken_sample_in_nagios_dialect_reports_shinken_only_constructs() {
    let main = shinken_dir().join("shinken.cfg.in");
    let opts = LoadOptions {
        dialect: Some(Dialect::Nagios),
        threads: 1,
    };
    let loaded = picket_config::load(&main, &opts).expect("readable");
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.line())
        .collect();
    // Nagios has no notificationways and no implicit contact groups.
    assert!(
        errors.iter().any(|e| e.contains("contacts/admin.cfg:7")
            && e.contains("contactgroup 'admin' is not defined")),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("there are no services defined")),
        "{errors:#?}"
    );
}
