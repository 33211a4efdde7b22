//! End-to-end evaluation tests with an injected resolver (no DNS, no files).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use picket_tcpwrap::{
    Access, Cause, DryRun, EventKind, Recorder, Request, Settings, StaticResolver, Table,
    TableKind, Tables, hosts_access,
};

const EVIL: &str = "a;b`c`$(d)";

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn req(last: u8) -> Request {
    let mut r = Request::tcp(
        "in.telnetd",
        SocketAddr::new(ip(last), 40000),
        SocketAddr::new(ip(1), 23),
    );
    r.pid = 4242;
    r
}

fn tables(allow: &str, deny: &str) -> Tables {
    Tables {
        allow: Table::parse("hosts.allow", allow.as_bytes()),
        deny: Table::parse("hosts.deny", deny.as_bytes()),
    }
}

/// A resolver where 127.0.0.8's reverse name is full of shell metacharacters and its
/// forward lookup agrees (so the name is "good", not paranoid), and ident says `x|y`.
fn evil_resolver() -> StaticResolver {
    StaticResolver::new()
        .host(ip(1), "localhost", &[])
        .host(ip(8), EVIL, &[])
        .ident_user(ip(8), "x|y z")
}

#[test]
fn shell_metacharacters_in_reverse_name_are_sanitised_in_every_expansion() {
    // The first rule needs the name (a name pattern), so %h is the name afterwards.
    let t = tables(
        "",
        "ALL: .nowhere.invalid: deny\n\
         ALL: ALL: twist /bin/echo h=%h n=%n c=%c u=%u c2=%c H=%H N=%N s=%s a=%a d=%d\n",
    );
    let mut r = req(8);
    let mut res = evil_resolver();
    let v = hosts_access(&t, &mut r, &mut res, &mut DryRun, Settings::default());
    let twist = v.twist.clone().expect("twisted");
    assert_eq!(
        twist,
        "/bin/echo h=a_b_c___d_ n=a_b_c___d_ c=a_b_c___d_ u=x_y_z c2=x_y_z@a_b_c___d_ \
         H=127.0.0.1 N=localhost s=in.telnetd@localhost a=127.0.0.8 d=in.telnetd"
    );
    for bad in [';', '`', '$', '(', ')', '|', ' '] {
        let expansions: String = twist.split(' ').skip(1).collect();
        assert!(!expansions.contains(bad), "{bad:?} survived in {twist}");
    }
    // The cached values were sanitised in place: the event shows the clean name too.
    let ev = picket_tcpwrap::AccessEvent::new(&mut r, &v);
    assert_eq!(ev.kind, EventKind::Twist);
    assert_eq!(ev.client, "x_y_z@a_b_c___d_");
    assert_eq!(
        ev.log_message(),
        format!("twist x_y_z@a_b_c___d_ to {twist}")
    );
}

#[test]
fn evil_name_in_spawn_setenv_and_banner() {
    let t = tables(
        "",
        "ALL: ALL: setenv WHO %n: spawn /usr/bin/logger %h %c: deny\n",
    );
    let mut r = req(8);
    let mut res = evil_resolver();
    let mut fx = Recorder::default();
    let v = hosts_access(&t, &mut r, &mut res, &mut fx, Settings::default());
    assert_eq!(v.access, Access::Denied);
    assert_eq!(v.cause, Cause::DenyOption);
    assert_eq!(fx.env, vec![("WHO".to_string(), "a_b_c___d_".to_string())]);
    assert_eq!(
        fx.spawned,
        vec!["/usr/bin/logger a_b_c___d_ a_b_c___d_".to_string()]
    );
}

#[test]
fn percent_h_does_not_trigger_a_lookup() {
    let t = tables("", "ALL: ALL: twist /bin/echo %h\n");
    let mut r = req(8);
    let mut res = evil_resolver();
    let v = hosts_access(&t, &mut r, &mut res, &mut DryRun, Settings::default());
    assert_eq!(v.twist.as_deref(), Some("/bin/echo 127.0.0.8"));
    assert_eq!(res.lookups, 0, "no reverse lookup for ALL: ALL and %h");
}

#[test]
fn address_patterns_do_not_look_names_up_but_name_patterns_do() {
    let t = tables("ALL: 127.0.0.0/8 10.0.0.1\n", "");
    let mut res = evil_resolver();
    let v = hosts_access(&t, &mut req(8), &mut res, &mut DryRun, Settings::default());
    assert!(v.is_granted());
    assert_eq!(res.lookups, 0);
    let t = tables("ALL: .example.org\n", "ALL: ALL\n");
    let v = hosts_access(&t, &mut req(8), &mut res, &mut DryRun, Settings::default());
    assert!(!v.is_granted());
    assert!(
        res.lookups >= 2,
        "reverse and forward lookup for the name check"
    );
}

#[test]
fn paranoid_and_known() {
    let res = || {
        StaticResolver::new()
            .host(ip(5), "spoof.example.net", &[])
            .host(ip(6), "real.example.net", &["spoof.example.net"])
    };
    let t = tables("", "ALL: PARANOID\n");
    let mut r = req(5);
    // spoof.example.net's forward lookup is canonically real.example.net: mismatch.
    let mut rr = StaticResolver::new()
        .host(ip(6), "real.example.net", &["spoof.example.net"])
        .host(ip(5), "spoof.example.net", &[]);
    let v = hosts_access(&t, &mut r, &mut rr, &mut DryRun, Settings::default());
    assert!(!v.is_granted());
    assert!(
        r.diag
            .lines()
            .iter()
            .any(|l| l.text.contains("host name/name mismatch"))
    );
    let t = tables("", "ALL: KNOWN\n");
    let v = hosts_access(
        &t,
        &mut req(6),
        &mut res(),
        &mut DryRun,
        Settings::default(),
    );
    assert!(!v.is_granted(), "127.0.0.6 is known as real.example.net");
}

#[test]
fn broken_deny_table_fails_closed_but_broken_allow_falls_through() {
    let t = tables("", "ALL: 10.0.0.1");
    let v = hosts_access(
        &t,
        &mut req(2),
        &mut StaticResolver::new(),
        &mut DryRun,
        Settings::default(),
    );
    assert_eq!(
        (v.access, v.cause),
        (Access::Denied, Cause::BrokenDenyTable)
    );
    let t = tables("ALL: 127.0.0.2", "");
    let v = hosts_access(
        &t,
        &mut req(2),
        &mut StaticResolver::new(),
        &mut DryRun,
        Settings::default(),
    );
    assert_eq!((v.access, v.cause), (Access::Granted, Cause::NoMatch));
    let t = Tables {
        allow: Table::missing("hosts.allow"),
        deny: Table::unreadable("hosts.deny", "Permission denied"),
    };
    let mut r = req(2);
    let v = hosts_access(
        &t,
        &mut r,
        &mut StaticResolver::new(),
        &mut DryRun,
        Settings::default(),
    );
    assert_eq!(v.access, Access::Denied);
    assert_eq!(
        r.diag.lines()[0].text,
        "warning: cannot open hosts.deny: Permission denied"
    );
}

#[test]
fn options_decide_and_errors_name_file_and_line() {
    let t = tables("ALL: ALL: deny\n", "ALL: ALL: allow\n");
    let v = hosts_access(
        &t,
        &mut req(2),
        &mut StaticResolver::new(),
        &mut DryRun,
        Settings::default(),
    );
    assert_eq!(
        (v.access, v.cause.clone()),
        (Access::Denied, Cause::DenyOption)
    );
    let m = v.matched.expect("matched");
    assert_eq!((m.table, m.line), (TableKind::Allow, 1));

    let t = tables("\n\nALL: ALL: spawn x: bogus: allow\n", "");
    let mut r = req(2);
    let mut fx = Recorder::default();
    let v = hosts_access(
        &t,
        &mut r,
        &mut StaticResolver::new(),
        &mut fx,
        Settings::default(),
    );
    assert_eq!(v.access, Access::Denied);
    assert_eq!(fx.spawned, vec!["x"], "options before the bad one have run");
    let texts: Vec<&str> = r.diag.lines().iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "matched:  hosts.allow line 3",
            "option:   spawn x",
            "error: hosts.allow, line 3: bad option name: \"bogus\""
        ]
    );
}

#[test]
fn aclexec_failure_makes_the_table_not_match() {
    let t = tables("", "ALL: ALL: aclexec /bin/false\nALL: ALL\n");
    let mut fx = Recorder {
        aclexec_status: Some(1),
        ..Recorder::default()
    };
    let mut r = req(2);
    let v = hosts_access(
        &t,
        &mut r,
        &mut StaticResolver::new(),
        &mut fx,
        Settings::default(),
    );
    assert!(
        v.is_granted(),
        "Debian: a failed aclexec in hosts.deny grants"
    );
    assert!(
        r.diag
            .lines()
            .iter()
            .any(|l| l.text == "aclexec returned 1")
    );
}

#[test]
fn twist_in_resident_process_is_an_error() {
    let t = tables("", "ALL: ALL: twist /bin/echo hi\n");
    let mut r = req(2);
    let v = hosts_access(
        &t,
        &mut r,
        &mut StaticResolver::new(),
        &mut DryRun,
        Settings { resident: true },
    );
    assert_eq!(v.access, Access::Denied);
    assert!(v.twist.is_none());
    assert!(matches!(v.cause, Cause::OptionError { .. }));
}

#[test]
fn user_at_host_and_netgroups() {
    let mut res = StaticResolver::new()
        .host(ip(2), "client2.example.org", &[])
        .netgroup("trusted", &["client2.example.org"])
        .ident_user(ip(2), "Alice");
    let t = tables("alice@@trusted: ALL: twist /bin/echo %u\n", "");
    let mut r = req(2);
    let v = hosts_access(&t, &mut r, &mut res, &mut DryRun, Settings::default());
    // The daemon list "alice@@trusted" is daemon "alice" at netgroup host: no match.
    assert!(v.twist.is_none());
    let t = tables("ALL: alice@@trusted: twist /bin/echo %u\n", "");
    let v = hosts_access(&t, &mut req(2), &mut res, &mut DryRun, Settings::default());
    assert_eq!(
        v.twist.as_deref(),
        Some("/bin/echo Alice"),
        "user names compare case-insensitively"
    );
}
