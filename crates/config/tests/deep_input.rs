//! Input depth never becomes stack depth: a valid, acyclic configuration with a 10,000
//! deep `use` chain (hosts, services, contacts), 10,000 deep `hostgroup_members`,
//! `servicegroup_members` and `contactgroup_members` nesting, a 10,000 deep `parents`
//! chain and a 10,000 deep service dependency chain loads without errors in a thread
//! with the default 2 MiB stack (`nagios4 -v` accepts the same configuration). Before
//! template resolution had an explicit stack, the `use` chain overflowed the stack
//! (SIGABRT).

use std::fmt::Write as _;

const DEPTH: usize = 10_000;

fn deep_config() -> String {
    let mut t = String::from(
        "define timeperiod {\n timeperiod_name 24x7\n alias always\n \
         monday 00:00-24:00\n}\n\
         define command {\n command_name ok\n command_line /bin/true\n}\n",
    );
    // Template chains: tpl-0 uses tpl-1 … tpl-(DEPTH-1), which holds the values.
    for (kind, extra) in [
        (
            "host",
            " max_check_attempts 3\n check_period 24x7\n notification_period 24x7\n \
             contacts alice\n",
        ),
        (
            "service",
            " max_check_attempts 4\n check_period 24x7\n notification_period 24x7\n \
             check_command ok\n contacts alice\n",
        ),
        (
            "contact",
            " service_notification_period 24x7\n host_notification_period 24x7\n \
             service_notification_commands ok\n host_notification_commands ok\n",
        ),
    ] {
        for i in 0..DEPTH {
            let _ = write!(t, "define {kind} {{\n name {kind}-tpl-{i}\n register 0\n");
            if i + 1 < DEPTH {
                let _ = writeln!(t, " use {kind}-tpl-{}", i + 1);
            } else {
                t.push_str(extra);
            }
            t.push_str("}\n");
        }
    }
    t.push_str("define contact {\n use contact-tpl-0\n contact_name alice\n}\n");
    // A parent chain h0 <- h1 <- … and one service per host, each depending on the one
    // of the host before it (inherits_parent: a chain).
    for i in 0..DEPTH {
        let _ = write!(t, "define host {{\n use host-tpl-0\n host_name h{i}\n");
        if i > 0 {
            let _ = writeln!(t, " parents h{}", i - 1);
        }
        t.push_str("}\n");
        let _ = write!(
            t,
            "define service {{\n use service-tpl-0\n host_name h{i}\n service_description s\n}}\n"
        );
        if i > 0 {
            let _ = write!(
                t,
                "define servicedependency {{\n host_name h{}\n service_description s\n \
                 dependent_host_name h{i}\n dependent_service_description s\n \
                 inherits_parent 1\n notification_failure_criteria c\n}}\n",
                i - 1
            );
        }
    }
    // Group nesting: g0 includes g1 … g(DEPTH-1), which holds the member.
    for i in 0..DEPTH {
        let last = i + 1 == DEPTH;
        let sub = |p: &str| {
            if last {
                String::new()
            } else {
                format!(" {p}_members {p}-{}\n", i + 1)
            }
        };
        let _ = write!(
            t,
            "define hostgroup {{\n hostgroup_name hostgroup-{i}\n alias a\n{}{}}}\n",
            sub("hostgroup"),
            if last { " members h0\n" } else { "" }
        );
        let _ = write!(
            t,
            "define servicegroup {{\n servicegroup_name servicegroup-{i}\n alias a\n{}{}}}\n",
            sub("servicegroup"),
            if last { " members h0,s\n" } else { "" }
        );
        let _ = write!(
            t,
            "define contactgroup {{\n contactgroup_name contactgroup-{i}\n alias a\n{}{}}}\n",
            sub("contactgroup"),
            if last { " members alice\n" } else { "" }
        );
    }
    t
}

#[test]
fn ten_thousand_deep_chains_and_nesting_load_on_a_2_mib_stack() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("deep.cfg"), deep_config()).expect("write objects");
    let main = tmp.path().join("nagios.cfg");
    std::fs::write(
        &main,
        format!(
            "cfg_file={}\nillegal_macro_output_chars=`~$&|'\"<>\n",
            tmp.path().join("deep.cfg").display()
        ),
    )
    .expect("write main");
    let loaded = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            picket_config::load(&main, &picket_config::LoadOptions::default())
                .expect("main config readable")
        })
        .expect("spawn")
        .join()
        .expect("load did not panic");
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.line())
        .collect();
    assert!(errors.is_empty(), "{:#?}", &errors[..errors.len().min(10)]);
    let cfg = &loaded.config;
    let c = cfg.counts();
    assert_eq!((c.hosts, c.services, c.contacts), (DEPTH, DEPTH, 1));
    assert_eq!(c.servicedependencies, DEPTH - 1);
    // The values at the bottom of each chain reach the objects at the top.
    let h = cfg.host(cfg.host_by_name("h0").expect("h0"));
    assert_eq!(h.common.max_check_attempts, 3);
    let s = &cfg.services[h.services[0].index()];
    assert_eq!(s.common.max_check_attempts, 4);
    // The outermost groups hold what the innermost ones hold.
    let hg = &cfg.hostgroups[cfg.hostgroup_by_name("hostgroup-0").expect("hg").index()];
    assert_eq!(hg.members.len(), 1);
    let sg = &cfg.servicegroups[cfg
        .servicegroup_by_name("servicegroup-0")
        .expect("sg")
        .index()];
    assert_eq!(sg.members.len(), 1);
    let cg = cfg
        .contactgroups
        .iter()
        .find(|g| &*g.name == "contactgroup-0")
        .expect("cg");
    assert_eq!(cg.members.len(), 1);
}
