//! Inheritance, expansion and membership rules of the resolver (Nagios 4 semantics, as
//! `xdata/xodtemplate.c` of Nagios Core 4.4.6 has them).

use std::path::{Path, PathBuf};

use picket_config::{Config, LoadOptions, Options};

const BASE: &str = "
define timeperiod {
    name             24x7
    timeperiod_name  24x7
    alias            always
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define timeperiod {
    timeperiod_name  night
    alias            night
    monday 00:00-06:00
}
define command {
    command_name  ok
    command_line  /bin/true $ARG1$ $ARG2$
}
define contact {
    name                           c-tpl
    register                       0
    service_notification_period    24x7
    host_notification_period       24x7
    service_notification_commands  ok
    host_notification_commands     ok
}
define contact {
    use           c-tpl
    contact_name  alice
    contactgroups ops
}
define contact {
    use           c-tpl
    contact_name  bob
}
define contact {
    use           c-tpl
    contact_name  carol
}
define contactgroup {
    contactgroup_name  ops
    alias              ops
    members            bob
}
define contactgroup {
    contactgroup_name     all
    alias                 all
    members               carol
    contactgroup_members  ops
}
";

/// Write BASE + `objects` (and `main_extra` lines) to a temp dir and load it.
fn load(objects: &str, main_extra: &str) -> (Config, Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let obj = dir.path().join("objects.cfg");
    std::fs::write(&obj, format!("{BASE}\n{objects}")).expect("write objects");
    let main = dir.path().join("nagios.cfg");
    std::fs::write(&main, format!("cfg_file=objects.cfg\n{main_extra}\n")).expect("write main");
    let loaded = picket_config::load(&main, &LoadOptions::default()).expect("load");
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.line())
        .collect();
    (loaded.config, errors, dir)
}

fn svc<'a>(cfg: &'a Config, host: &str, desc: &str) -> &'a picket_config::Service {
    let id = cfg
        .service_by_name(host, desc)
        .unwrap_or_else(|| panic!("service {host}/{desc} missing"));
    cfg.service(id)
}

fn names_c(cfg: &Config, ids: &[picket_config::ContactId]) -> Vec<String> {
    ids.iter()
        .map(|c| cfg.contact(*c).name.to_string())
        .collect()
}

const HOSTS: &str = "
define host {
    name                 h-tpl
    register             0
    max_check_attempts   3
    notification_interval 45
    notification_period  night
    contacts             alice
}
define host {
    use        h-tpl
    host_name  web1
    hostgroups web
}
define host {
    use        h-tpl
    host_name  web2
}
define host {
    use        h-tpl
    host_name  db1
    _RACK      r12
}
define hostgroup {
    hostgroup_name  web
    alias           web
    members         web2
}
define hostgroup {
    hostgroup_name     everything
    alias              everything
    members            db1
    hostgroup_members  web
}
";

#[test]
fn use_order_null_additive_and_custom_vars() {
    let objects = format!(
        "{HOSTS}
define service {{
    name                a-root
    register            0
    check_interval      7
    _SOURCE             from-a-root
}}
define service {{
    name                a
    use                 a-root
    register            0
    max_check_attempts  2
}}
define service {{
    name                b
    register            0
    check_interval      9
    retry_interval      4
    max_check_attempts  9
    contact_groups      ops
    notes               from-b
    _source             from-b
}}
define service {{
    use                  a,b
    host_name            db1
    service_description  s
    check_command        ok!x!y\\!z
    contact_groups       +all
    notes                null
}}"
    );
    let (cfg, errors, _d) = load(&objects, "");
    assert!(errors.is_empty(), "{errors:#?}");
    let s = svc(&cfg, "db1", "s");
    // a's whole ancestry beats b.
    assert_eq!(s.common.check_interval, 7.0);
    assert_eq!(s.common.max_check_attempts, 2);
    assert_eq!(s.common.retry_interval, 4.0);
    // `null` stops inheritance.
    assert_eq!(s.common.notes, None);
    // `+` appends to the inherited list: contact_groups "ops,all". Nagios walks the
    // groups in reverse: all (its member carol, then the nested ops reversed: alice via
    // her contactgroups, bob), then ops (bob, alice: already there).
    assert_eq!(
        names_c(&cfg, &s.common.notification_contacts),
        ["carol", "alice", "bob"]
    );
    // Custom variables: upper-cased, first template in order wins.
    assert_eq!(
        s.common.custom_vars,
        vec![(Box::from("SOURCE"), Box::from("from-a-root"))]
    );
    let cc = s.common.check_command.as_ref().expect("command");
    assert_eq!(&*cfg.command(cc.command).name, "ok");
    assert_eq!(cc.args, vec![Box::from("x"), Box::from("y!z")]);
    assert_eq!(cfg.command(cc.command).max_arg, 2);
    let db1 = cfg.host(cfg.host_by_name("db1").expect("db1"));
    assert_eq!(
        db1.common.custom_vars,
        vec![(Box::from("RACK"), Box::from("r12"))]
    );
}

#[test]
fn implied_inheritance_from_host() {
    let objects = format!(
        "{HOSTS}
define service {{
    host_name            web1
    service_description  implied
    check_command        ok
    max_check_attempts   1
}}
define service {{
    host_name              web1
    service_description    own
    check_command          ok
    max_check_attempts     1
    contacts               carol
    notification_interval  5
    notification_period    24x7
}}"
    );
    let (cfg, errors, _d) = load(&objects, "");
    assert!(errors.is_empty(), "{errors:#?}");
    let s = svc(&cfg, "web1", "implied");
    assert_eq!(names_c(&cfg, &s.common.notification_contacts), ["alice"]);
    assert_eq!(s.common.notification_interval, 45.0);
    assert_eq!(
        s.common.notification_period,
        cfg.timeperiod_by_name("night")
    );
    // Missing notification_options means all.
    assert!(
        s.common.notification_options.contains(
            Options::WARNING
                .union(Options::UNKNOWN)
                .union(Options::CRITICAL)
                .union(Options::RECOVERY)
                .union(Options::FLAPPING)
                .union(Options::DOWNTIME)
        )
    );
    let s = svc(&cfg, "web1", "own");
    assert_eq!(names_c(&cfg, &s.common.notification_contacts), ["carol"]);
    assert_eq!(s.common.notification_interval, 5.0);
    assert_eq!(s.common.notification_period, cfg.timeperiod_by_name("24x7"));
}

#[test]
fn host_lists_groups_exclusions_and_membership_both_ways() {
    let objects = format!(
        "{HOSTS}
define service {{
    hostgroup_name       everything
    host_name            !web2
    service_description  on-group
    check_command        ok
    max_check_attempts   1
}}
define service {{
    host_name            *
    service_description  everywhere
    check_command        ok
    max_check_attempts   1
}}
define service {{
    host_name            web1,web2
    service_description  direct
    check_command        ok
    max_check_attempts   1
}}
define service {{
    hostgroup_name       web
    service_description  direct
    check_command        ok!from-group
    max_check_attempts   1
}}"
    );
    let (cfg, errors, _d) = load(&objects, "");
    assert!(errors.is_empty(), "{errors:#?}");
    // Membership both ways and nested groups.
    let web = cfg.hostgroup_by_name("web").expect("web");
    let everything = cfg.hostgroup_by_name("everything").expect("everything");
    let members = |g: picket_config::HostGroupId| -> Vec<String> {
        let mut v: Vec<String> = cfg.hostgroups[g.index()]
            .members
            .iter()
            .map(|h| cfg.host(*h).name.to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(members(web), ["web1", "web2"]);
    assert_eq!(members(everything), ["db1", "web1", "web2"]);
    let web1 = cfg.host(cfg.host_by_name("web1").expect("web1"));
    assert!(web1.hostgroups.contains(&web) && web1.hostgroups.contains(&everything));
    // `!web2` removes web2 from every route.
    assert!(cfg.service_by_name("web1", "on-group").is_some());
    assert!(cfg.service_by_name("db1", "on-group").is_some());
    assert!(cfg.service_by_name("web2", "on-group").is_none());
    assert_eq!(
        cfg.services
            .iter()
            .filter(|s| &*s.description == "everywhere")
            .count(),
        3
    );
    // Direct definitions win over hostgroup ones.
    let d = svc(&cfg, "web2", "direct");
    assert!(
        d.common
            .check_command
            .as_ref()
            .is_some_and(|c| c.args.is_empty())
    );
    // Contact groups: both ways and nested.
    let all = cfg.contactgroup_by_name("all").expect("all");
    let mut m = names_c(&cfg, &cfg.contactgroups[all.index()].members);
    m.sort();
    assert_eq!(m, ["alice", "bob", "carol"]);
    let alice = cfg.contact(cfg.contact_by_name("alice").expect("alice"));
    assert!(alice.contactgroups.contains(&all));
}

#[test]
fn regex_matching_when_enabled() {
    let objects = format!(
        "{HOSTS}
define service {{
    host_name            web.*
    service_description  rx
    check_command        ok
    max_check_attempts   1
}}"
    );
    let (cfg, errors, _d) = load(&objects, "use_regexp_matching=1");
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(cfg.service_by_name("web1", "rx").is_some());
    assert!(cfg.service_by_name("web2", "rx").is_some());
    assert!(cfg.service_by_name("db1", "rx").is_none());
    // Without regex matching the same name is an unknown host.
    let (_, errors, _d) = load(&objects, "");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("could not find any host matching 'web.*'")),
        "{errors:#?}"
    );
}

#[test]
fn timeperiod_templates_and_exclusions() {
    let objects = format!(
        "{HOSTS}
define service {{
    host_name            db1
    service_description  s
    check_command        ok
    max_check_attempts   1
}}
define timeperiod {{
    name             holidays
    timeperiod_name  holidays
    alias            holidays
    december 25      00:00-00:00
}}
define timeperiod {{
    timeperiod_name  work-sans-holidays
    alias            work
    use              holidays
    friday           09:00-17:00
}}
define timeperiod {{
    timeperiod_name  always-but-night
    alias            x
    use              24x7
    exclude          night
}}"
    );
    let (cfg, errors, _d) = load(&objects, "");
    assert!(errors.is_empty(), "{errors:#?}");
    let utc = jiff::tz::TimeZone::UTC;
    let t = |s: &str| -> jiff::Timestamp { s.parse().expect("timestamp") };
    let w = cfg.timeperiod_by_name("work-sans-holidays").expect("tp");
    // 2026-12-25 is a Friday: the inherited holiday exception wins.
    assert!(!cfg.in_period(w, t("2026-12-25T10:00:00Z"), &utc));
    assert!(cfg.in_period(w, t("2026-12-18T10:00:00Z"), &utc));
    assert_eq!(
        cfg.next_valid_time(w, t("2026-12-25T10:00:00Z"), &utc),
        Some(t("2027-01-01T09:00:00Z"))
    );
    let a = cfg.timeperiod_by_name("always-but-night").expect("tp");
    // Monday 2026-11-23 03:00 is in `night`, excluded.
    assert!(!cfg.in_period(a, t("2026-11-23T03:00:00Z"), &utc));
    assert!(cfg.in_period(a, t("2026-11-23T07:00:00Z"), &utc));
    assert_eq!(
        cfg.next_valid_time(a, t("2026-11-23T03:00:00Z"), &utc),
        Some(t("2026-11-23T06:00:00Z"))
    );
}

/// The Nagios oracle harness (its `lib/common.cfg`) and the recorded scenarios.
fn oracle_dirs() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    (
        root.join("tests/oracle/nagios"),
        root.join("crates/picket/tests/oracle-scenarios"),
    )
}

#[test]
fn oracle_scenario_configs_load_without_errors() {
    let (dir, scenarios_dir) = oracle_dirs();
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(&scenarios_dir)
        .expect("oracle scenarios")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("objects.cfg").exists())
        .collect();
    scenarios.sort();
    assert!(!scenarios.is_empty());
    for sc in scenarios {
        let tmp = tempfile::tempdir().expect("tempdir");
        let main = tmp.path().join("nagios.cfg");
        std::fs::write(
            tmp.path().join("resource.cfg"),
            "$USER1$=/usr/lib/nagios/plugins\n$USER2$=/tmp\n",
        )
        .expect("resource");
        std::fs::write(
            &main,
            format!(
                "cfg_file={}\ncfg_file={}\nresource_file=resource.cfg\ninterval_length=1\n",
                dir.join("lib/common.cfg").display(),
                sc.join("objects.cfg").display()
            ),
        )
        .expect("main");
        let loaded = picket_config::load(&main, &LoadOptions::default()).expect("load");
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.line())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", sc.display());
        assert!(!loaded.config.services.is_empty());
        assert_eq!(loaded.config.user_macro(1), Some("/usr/lib/nagios/plugins"));
    }
}

mod no_panic {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn parser_and_resolver_never_panic(
            lines in proptest::collection::vec(
                prop_oneof![
                    Just("define host {".to_owned()),
                    Just("define service{".to_owned()),
                    Just("define timeperiod {".to_owned()),
                    Just("}".to_owned()),
                    Just("use a,b".to_owned()),
                    Just("name a".to_owned()),
                    Just("register 0".to_owned()),
                    Just("host_name h,!h,*".to_owned()),
                    Just("hostgroup_name g".to_owned()),
                    Just("contacts +x".to_owned()),
                    Just("monday 3 - friday -1 / 2 00:00-24:00".to_owned()),
                    "[ -~]{0,30}",
                ],
                0..40,
            )
        ) {
            let text = lines.join("\n");
            let raw = picket_config::raw::parse_object_file(&text);
            let files = vec![picket_config::resolve::ParsedFile {
                path: std::sync::Arc::from(std::path::Path::new("p.cfg")),
                raw,
            }];
            let _ = picket_config::resolve::resolve(
                &files,
                picket_config::MainConfig::default(),
                Default::default(),
                picket_config::resolve::ResolveOptions::default(),
            );
        }
    }
}

/// Objects that only name templates and set their identity (the resolver's fast path,
/// typed once per `use` list) must come out exactly like objects that also repeat a
/// template value (the full path).
#[test]
fn template_fast_path_matches_full_path() {
    let objects = "
define host {
    name                  hb
    register              0
    max_check_attempts    4
    check_period          24x7
    notification_period   night
    contact_groups        all
    notes                 from-hb
    _RACK                 r1
    _ROW                  row-hb
}
define host {
    name                  hc
    use                   hb
    register              0
    check_command         ok!h!x
    notification_interval 12
}
define host {
    use        hc
    host_name  fast
    alias      Fast
    _ROW       own
}
define host {
    use                 hc
    host_name           slow
    alias               Fast
    _ROW                own
    max_check_attempts  4
}
define service {
    name                 sb
    register             0
    max_check_attempts   2
    check_interval       3
    check_period         night
    notification_period  24x7
    contacts             carol
    contact_groups       +ops
    is_volatile          1
    _TIER                t1
}
define service {
    name                 sc
    use                  sb
    register             0
    notification_options w,c
    display_name         from-template
    check_command        ok!tpl
    _OWN                 tpl
}
define service {
    use                  sc
    host_name            fast
    service_description  s1
    check_command        ok!a!b
    _OWN                 mine
}
define service {
    use                  sc
    host_name            slow
    service_description  s1
    check_command        ok!a!b
    _OWN                 mine
    check_interval       3
}
define service {
    use                  sc
    host_name            fast
    service_description  s2
}
define service {
    use                  sc
    host_name            slow
    service_description  s2
    is_volatile          1
}
";
    let (cfg, errors, _d) = load(objects, "");
    assert!(errors.is_empty(), "{errors:?}");
    let host = |n: &str| cfg.host(cfg.host_by_name(n).unwrap_or_else(|| panic!("host {n}")));
    // Everything but the display name (which defaults to the host name).
    let typed = |c: &picket_config::Checkable| {
        let mut c = c.clone();
        c.display_name = Box::from("");
        format!("{c:?}")
    };
    let (fast, slow) = (host("fast"), host("slow"));
    assert_eq!(typed(&fast.common), typed(&slow.common));
    assert_eq!(&*fast.common.display_name, "fast");
    assert_eq!(fast.alias, slow.alias);
    assert_eq!(fast.common.max_check_attempts, 4);
    assert_eq!(fast.common.notification_interval, 12.0);
    assert_eq!(
        fast.common.custom_vars,
        vec![
            (Box::from("ROW"), Box::from("own")),
            (Box::from("RACK"), Box::from("r1"))
        ]
    );
    for desc in ["s1", "s2"] {
        let (f, s) = (svc(&cfg, "fast", desc), svc(&cfg, "slow", desc));
        assert_eq!(
            format!("{:?}", f.common),
            format!("{:?}", s.common),
            "{desc}"
        );
        assert_eq!(f.is_volatile, s.is_volatile);
        assert!(f.is_volatile);
    }
    let s1 = svc(&cfg, "fast", "s1");
    assert_eq!(&*s1.common.display_name, "from-template");
    let cc = s1.common.check_command.as_ref().expect("check_command");
    assert_eq!(cc.args, vec![Box::from("a"), Box::from("b")]);
    let s2 = svc(&cfg, "fast", "s2");
    let cc = s2.common.check_command.as_ref().expect("check_command");
    assert_eq!(cc.args, vec![Box::from("tpl")]);
    // carol (contacts), then ops: its `members` (bob) before alice, who joins it
    // through her own `contactgroups` (Nagios order, oracle f_contacts_groups).
    assert_eq!(
        names_c(&cfg, &s1.common.notification_contacts),
        ["carol", "bob", "alice"]
    );
    assert_eq!(
        s1.common.custom_vars,
        vec![
            (Box::from("OWN"), Box::from("mine")),
            (Box::from("TIER"), Box::from("t1"))
        ]
    );
}

/// A template whose values are invalid is reported for every object that uses it, as
/// the full path does, even when the objects would qualify for the fast path.
#[test]
fn template_errors_reported_per_object() {
    let objects = "
define service {
    name                 bad
    register             0
    max_check_attempts   1
    check_interval       -1
    check_period         24x7
    notification_period  24x7
    contacts             carol
}
define service {
    use                  bad
    host_name            web1
    service_description  a
    check_command        ok
}
define service {
    use                  bad
    host_name            web2
    service_description  b
    check_command        ok
}
";
    let (_cfg, errors, _d) = load(&format!("{HOSTS}{objects}"), "");
    let bad: Vec<_> = errors
        .iter()
        .filter(|e| e.contains("invalid value '-1' for 'check_interval'"))
        .collect();
    assert_eq!(bad.len(), 2, "{errors:?}");
    assert!(bad[0].contains("service 'a'"), "{}", bad[0]);
    assert!(bad[1].contains("service 'b'"), "{}", bad[1]);
}

/// Which of several definitions of one service a host keeps, as Nagios 4 decides it.
/// The expected winners were read from `nagios4 -vp` (objects.precache) on the same
/// objects: host_name definitions beat hostgroup ones; between two definitions of the
/// same class, a later one replaces an earlier one only on the earlier one's "original"
/// host (its only host, the first `host_name` of a list, the last hostgroup member).
#[test]
fn duplicate_services_resolved_like_nagios() {
    let objects = "
define command {
    command_name  c1
    command_line  /bin/true
}
define command {
    command_name  c2
    command_line  /bin/false
}
define host {
    name                h-tpl
    register            0
    max_check_attempts  3
    contacts            alice
}
define host {
    use        h-tpl
    host_name  zz
}
define host {
    use        h-tpl
    host_name  aa
}
define host {
    use        h-tpl
    host_name  mm
}
define host {
    use        h-tpl
    host_name  bb
}
define hostgroup {
    hostgroup_name  hg
    alias           hg
    members         mm,zz,aa
}
define service {
    name                 s-tpl
    register             0
    max_check_attempts   3
    check_period         24x7
    notification_period  24x7
    contacts             alice
}
define service {
    use                  s-tpl
    host_name            zz
    service_description  S
    check_command        c1
}
define service {
    use                  s-tpl
    host_name            zz
    service_description  S
    check_command        c2
}
define service {
    use                  s-tpl
    hostgroup_name       hg
    service_description  S
    check_command        c1
}
define service {
    use                  s-tpl
    hostgroup_name       hg
    service_description  T
    check_command        c1
}
define service {
    use                  s-tpl
    hostgroup_name       hg
    service_description  T
    check_command        c2
}
define service {
    use                  s-tpl
    host_name            bb,aa
    service_description  U
    check_command        c1
}
define service {
    use                  s-tpl
    host_name            bb,aa
    service_description  U
    check_command        c2
}
";
    let (cfg, errors, _d) = load(objects, "");
    assert!(errors.is_empty(), "{errors:?}");
    let cmd = |h: &str, d: &str| {
        let s = svc(&cfg, h, d);
        let cc = s.common.check_command.as_ref().expect("check_command");
        cfg.command(cc.command).name.to_string()
    };
    // Two single-host definitions: the last one.
    assert_eq!(cmd("zz", "S"), "c2");
    // A hostgroup definition fills the hosts the direct ones leave.
    assert_eq!(cmd("mm", "S"), "c1");
    // Two hostgroup definitions: the last one on the last member, else the first.
    assert_eq!(cmd("aa", "T"), "c2");
    assert_eq!(cmd("mm", "T"), "c1");
    assert_eq!(cmd("zz", "T"), "c1");
    // A host_name list: the last one on the first host, else the first.
    assert_eq!(cmd("bb", "U"), "c2");
    assert_eq!(cmd("aa", "U"), "c1");
    // One service per host and description.
    assert_eq!(cfg.services.len(), 3 + 3 + 2);
}

/// The order Nagios 4.4.6 notifies contacts in (and lists them in
/// `$NOTIFICATIONRECIPIENTS$`), recorded from nagios4 with this configuration: an
/// object's `contacts` in reverse, then its `contact_groups` in reverse; a group's
/// `members` in reverse, then the contacts naming it in `contactgroups` (reverse
/// definition order), then its `contactgroup_members` (reverse), each in reverse of its
/// own order. A contact is kept where it first appears.
#[test]
fn contact_order_matches_nagios() {
    let mut objects = String::from(HOSTS);
    for c in ["c1", "c2", "c3", "c6", "c7", "c8"] {
        objects += &format!("define contact {{\n use c-tpl\n contact_name {c}\n}}\n");
    }
    objects += "
define contact {
    use            c-tpl
    contact_name   c4
    contactgroups  gA,gE
}
define contact {
    use            c-tpl
    contact_name   c5
    contactgroups  gA
}
define contactgroup {
    contactgroup_name  gA
    members            c3,c1,c2
}
define contactgroup {
    contactgroup_name     gB
    members               c6
    contactgroup_members  gA,gC
}
define contactgroup {
    contactgroup_name  gC
    members            c8,c7
}
define contactgroup {
    contactgroup_name     gD
    contactgroup_members  gB
}
define contactgroup {
    contactgroup_name     gE
    members               c2,c1,c7
    contactgroup_members  gC
}
";
    let recorded = [
        ("gA", "c2,c1,c3,c5,c4"),
        ("gB", "c6,c8,c7,c4,c5,c3,c1,c2"),
        ("gC", "c7,c8"),
        ("gD", "c2,c1,c3,c5,c4,c7,c8,c6"),
        ("gE", "c7,c1,c2,c4,c8"),
    ];
    for (g, _) in recorded {
        objects += &format!(
            "define service {{\n host_name db1\n service_description s{g}\n check_command ok\n max_check_attempts 1\n contact_groups {g}\n}}\n"
        );
    }
    objects += "define service {
    host_name            db1
    service_description  mix
    check_command        ok
    max_check_attempts   1
    contacts             c1,c2,c3
    contact_groups       gC,gA
}
";
    let (cfg, errors, _d) = load(&objects, "");
    assert!(errors.is_empty(), "{errors:#?}");
    for (g, want) in recorded {
        let s = svc(&cfg, "db1", &format!("s{g}"));
        assert_eq!(
            names_c(&cfg, &s.common.notification_contacts).join(","),
            want,
            "{g}"
        );
    }
    let s = svc(&cfg, "db1", "mix");
    assert_eq!(
        names_c(&cfg, &s.common.notification_contacts).join(","),
        "c3,c2,c1,c5,c4,c7,c8"
    );
}
