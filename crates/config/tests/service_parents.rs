//! Service `parents` (Nagios 4): the expected links are those of the `objects.cache`
//! written by a running nagios4 4.4.6 for the same objects, the expected errors those
//! `nagios4 -v` reports (in Picket's `file:line: object: message` form).

use picket_config::{Config, LoadOptions};

const OBJECTS: &str = "
define command {
 command_name c
 command_line /bin/true
}
define timeperiod {
 timeperiod_name 24x7
 alias a
 monday 00:00-24:00
}
define contact {
 contact_name me
 service_notification_period 24x7
 host_notification_period 24x7
 service_notification_commands c
 host_notification_commands c
}
define host {
 name th
 register 0
 max_check_attempts 1
 contacts me
 check_period 24x7
 notification_period 24x7
}
define host {
 use th
 host_name h1
}
define host {
 use th
 host_name h2
}
define hostgroup {
 hostgroup_name g
 members h1,h2
}
define service {
 name ts
 register 0
 check_command c
 max_check_attempts 1
 contacts me
 check_period 24x7
 notification_period 24x7
}
define service {
 name ts-par
 use ts
 register 0
 parents a
}
define service {
 use ts
 host_name h1
 service_description a
}
define service {
 use ts
 host_name h2
 service_description a
}
define service {
 use ts
 host_name h1
 service_description b
 parents a
}
define service {
 use ts
 hostgroup_name g
 service_description c
 parents a
}
define service {
 use ts
 host_name h1
 service_description d
 parents h2,a,h1,b
}
define service {
 use ts
 host_name h1
 service_description e
 parents h2 , a , h1, c
}
define service {
 use ts-par
 host_name h2
 service_description t
}
define service {
 use ts
 host_name h2
 service_description x
 parents y
}
define service {
 use ts
 host_name h2
 service_description y
 parents x
}
define service {
 use ts
 host_name h2
 service_description z
 parents h1,!a,h1,*
}
define service {
 use ts
 host_name h2
 service_description w
 parents h1,a
}
define service {
 use ts
 host_name h2
 service_description w
 parents h1,b,h1,b
}
";

fn load(extra: &str) -> (Config, Vec<String>, tempfile::TempDir) {
    load_with(OBJECTS, extra, "")
}

/// Load `objects` + `extra` with `main_extra` lines in nagios.cfg; all diagnostics,
/// paths relative to the temp dir.
fn load_with(
    objects: &str,
    extra: &str,
    main_extra: &str,
) -> (Config, Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("objects.cfg"), format!("{objects}{extra}")).expect("write");
    let main = dir.path().join("nagios.cfg");
    std::fs::write(&main, format!("cfg_file=objects.cfg\n{main_extra}\n")).expect("write main");
    let loaded = picket_config::load(&main, &LoadOptions::default()).expect("load");
    let prefix = format!("{}/", dir.path().display());
    let diags = loaded
        .diagnostics
        .iter()
        .map(|d| d.line().replace(&prefix, ""))
        .collect();
    (loaded.config, diags, dir)
}

fn parents(cfg: &Config, host: &str, desc: &str) -> Vec<String> {
    let s = cfg
        .service_by_name(host, desc)
        .unwrap_or_else(|| panic!("service {host};{desc}"));
    cfg.services[s.index()]
        .parents
        .iter()
        .map(|p| {
            let p = &cfg.services[p.index()];
            format!("{},{}", cfg.hosts[p.host.index()].name, p.description)
        })
        .collect()
}

#[test]
fn parents_resolved_like_nagios() {
    let (cfg, diags, _d) = load("");
    assert_eq!(
        diags,
        vec![
            // nagios4: "Duplicate definition found for service 'w' on host 'h2' (config
            // file '...', starting on line 110)"
            "Warning: objects.cfg:110: service 'w' on host 'h2': duplicate definition ignored \
             (the definition at objects.cfg:116 is used)"
                .to_owned(),
            "Warning: objects.cfg:108: service 'z' on host 'h2': exclusion 'h1,!a' in parents \
             has no effect (Nagios ignores it)"
                .to_owned(),
        ]
    );
    assert!(parents(&cfg, "h1", "a").is_empty());
    // A name without a comma is a service on the same host, for each host of the
    // definition.
    assert_eq!(parents(&cfg, "h1", "b"), ["h1,a"]);
    assert_eq!(parents(&cfg, "h1", "c"), ["h1,a"]);
    assert_eq!(parents(&cfg, "h2", "c"), ["h2,a"]);
    // host,service pairs; spaces around the commas do not matter.
    assert_eq!(parents(&cfg, "h1", "d"), ["h2,a", "h1,b"]);
    assert_eq!(parents(&cfg, "h1", "e"), ["h2,a", "h1,c"]);
    // Inherited from a template (the template fast path keeps it).
    assert_eq!(parents(&cfg, "h2", "t"), ["h2,a"]);
    // Cycles are accepted, as by nagios4 -v.
    assert_eq!(parents(&cfg, "h2", "x"), ["h2,y"]);
    assert_eq!(parents(&cfg, "h2", "y"), ["h2,x"]);
    // `*` is every service of the host; `!a` does not remove h1,a (objects.cache:
    // `parents h1,c,h1,e,h1,d,h1,b,h1,a`).
    let mut z = parents(&cfg, "h2", "z");
    z.sort();
    assert_eq!(z, ["h1,a", "h1,b", "h1,c", "h1,d", "h1,e"]);
    // The duplicate that wins brings its own parents; a repeated parent counts once.
    assert_eq!(parents(&cfg, "h2", "w"), ["h1,b"]);
}

fn errors_for(parents_value: &str) -> Vec<String> {
    let extra = format!(
        "define service {{\n use ts\n host_name h1\n service_description f\n parents {parents_value}\n}}\n"
    );
    let (_cfg, diags, _d) = load(&extra);
    diags
        .into_iter()
        .filter(|d| d.starts_with("Error: "))
        .collect()
}

#[test]
fn unknown_parents_are_errors_with_file_line() {
    let at = "Error: objects.cfg:126: service 'f' on host 'h1': ";
    let cases: [(&str, &str); 5] = [
        // nagios4: "Service 'h1' on host 'zz' is not a valid parent for service ..."
        ("zz", "parent service 'zz' on host 'h1' is not defined"),
        // nagios4: "Could not find a service matching host name 'h2' and description 'zz'"
        ("h2,zz", "parent service 'zz' on host 'h2' is not defined"),
        ("hX,a", "parent service 'a' on host 'hX' is not defined"),
        // nagios4: "Host 'h1' Service 'f' cannot be a child/parent of itself"
        ("f", "service is its own parent"),
        // nagios4: "Service description missing from list 'h1,a,h2'"
        (
            "h1,a,h2",
            "service description missing from parents list 'h1,a,h2' (expected host,service pairs)",
        ),
    ];
    for (value, msg) in cases {
        assert_eq!(
            errors_for(value),
            vec![format!("{at}{msg}")],
            "parents {value}"
        );
    }
    // `*` on the own host includes the service itself.
    assert_eq!(
        errors_for("h1,*"),
        vec![format!("{at}service is its own parent")]
    );
    // `*` as a host name is literal (nagios4: "Could not find a service matching host
    // name '*'").
    assert_eq!(
        errors_for("*,a"),
        vec![format!("{at}parent service 'a' on host '*' is not defined")]
    );
    assert!(errors_for("h1,a,h2,a").is_empty());
    // nagios4 -v accepts an unknown host with `*` (and links nothing): a warning.
    assert!(errors_for("hX,*").is_empty());
    let (cfg, diags, _d) = load(
        "define service {\n use ts\n host_name h1\n service_description f\n parents hX,*,h2,a\n}\n",
    );
    assert!(
        diags.contains(
            &"Warning: objects.cfg:126: service 'f' on host 'h1': parent host 'hX' is not \
              defined; 'hX,*' names no service"
                .to_owned()
        ),
        "{diags:#?}"
    );
    assert_eq!(parents(&cfg, "h1", "f"), ["h2,a"]);
}

/// With `use_regexp_matching=1` (checked against nagios4's objects.cache).
#[test]
fn regex_parents() {
    let objects = OBJECTS.replace(" parents h1,!a,h1,*\n", "");
    let svc = |desc: &str, parents: &str| {
        format!(
            "define service {{\n use ts\n host_name h1\n service_description {desc}\n parents {parents}\n}}\n"
        )
    };
    let extra = format!("{}{}", svc("f", "h.*,a"), svc("f2", "h2,[ac]+"));
    let (cfg, diags, _d) = load_with(&objects, &extra, "use_regexp_matching=1");
    assert!(diags.iter().all(|d| !d.starts_with("Error")), "{diags:#?}");
    let mut f = parents(&cfg, "h1", "f");
    f.sort();
    assert_eq!(f, ["h1,a", "h2,a"]);
    let mut f2 = parents(&cfg, "h1", "f2");
    f2.sort();
    assert_eq!(f2, ["h2,a", "h2,c"]);
    // `*` is a regular expression then, an invalid one (nagios4: "Failed to expand
    // service parents").
    let (_c, diags, _d) = load_with(&objects, &svc("f", "h1,*"), "use_regexp_matching=1");
    let errors: Vec<&String> = diags.iter().filter(|d| d.starts_with("Error")).collect();
    assert_eq!(
        errors,
        [
            "Error: objects.cfg:125: service 'f' on host 'h1': invalid regular expression '*' \
             in parents"
        ],
    );
}
