//! Generate a Nagios object configuration for benchmarks.
//!
//! `cargo run --release -p picket-config --example gen_config -- SERVICES OUT_DIR`
//!
//! Shape (per 10 services, one host): hosts use a 3-level template chain
//! (`generic-host` → `linux-server` → `rack-NN`), services a 3-level chain
//! (`generic-service` → `local-service` → `tier-N`) plus custom variables and `+`
//! additive contact groups. Half the services are defined per host (`host_name`), half
//! per hostgroup (`hostgroup_name`, 100 hosts per group), so expansion, membership and
//! inheritance are all exercised. Files: one per 1000 hosts, plus shared ones.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let services: usize = args
        .next()
        .ok_or("usage: gen_config SERVICES OUT_DIR")?
        .parse()?;
    let out = PathBuf::from(args.next().ok_or("usage: gen_config SERVICES OUT_DIR")?);
    let objects = out.join("objects");
    std::fs::create_dir_all(&objects)?;

    let hosts = services.div_ceil(10).max(1);
    let per_group = 100;
    let groups = hosts.div_ceil(per_group);
    let direct_per_host = 5;
    // Hostgroup services: the other half, spread over the groups.
    let group_services = 5;

    std::fs::write(
        out.join("nagios.cfg"),
        format!(
            "log_file={d}/nagios.log\ncfg_dir={d}/objects\nresource_file={d}/resource.cfg\n\
             status_file={d}/status.dat\ncommand_file={d}/nagios.cmd\nlock_file={d}/nagios.lock\n\
             temp_file={d}/nagios.tmp\ntemp_path={d}\ncheck_result_path={d}\n\
             state_retention_file={d}/retention.dat\nobject_cache_file={d}/objects.cache\n\
             precached_object_file={d}/objects.precache\n\
             illegal_object_name_chars=`~!$%^&*|'\"<>?,()=\n\
             illegal_macro_output_chars=`~$&|'\"<>\ncheck_for_updates=0\n",
            d = out.display()
        ),
    )?;
    std::fs::write(
        out.join("resource.cfg"),
        "$USER1$=/usr/lib/nagios/plugins\n",
    )?;

    let mut s = String::new();
    s.push_str(
        "define timeperiod {\n  timeperiod_name 24x7\n  alias always\n  sunday 00:00-24:00\n  monday 00:00-24:00\n  tuesday 00:00-24:00\n  wednesday 00:00-24:00\n  thursday 00:00-24:00\n  friday 00:00-24:00\n  saturday 00:00-24:00\n}\n\
         define timeperiod {\n  timeperiod_name workhours\n  alias work\n  monday 09:00-17:00\n  tuesday 09:00-17:00\n  wednesday 09:00-17:00\n  thursday 09:00-17:00\n  friday 09:00-17:00\n}\n",
    );
    for c in 0..50 {
        writeln!(
            s,
            "define command {{\n  command_name check_{c}\n  command_line $USER1$/check_dummy $ARG1$ \"cmd {c} $HOSTADDRESS$\"\n}}"
        )?;
    }
    s.push_str(
        "define command {\n  command_name notify\n  command_line /bin/true $CONTACTNAME$\n}\n",
    );
    s.push_str("define command {\n  command_name check-host-alive\n  command_line $USER1$/check_dummy 0\n}\n");
    for c in 0..20 {
        writeln!(
            s,
            "define contact {{\n  contact_name user{c}\n  use generic-contact\n  email user{c}@example.org\n}}"
        )?;
    }
    for g in 0..5 {
        let members: Vec<String> = (0..4).map(|i| format!("user{}", g * 4 + i)).collect();
        writeln!(
            s,
            "define contactgroup {{\n  contactgroup_name team{g}\n  alias Team {g}\n  members {}\n}}",
            members.join(",")
        )?;
    }
    std::fs::write(objects.join("00-common.cfg"), &s)?;

    s.clear();
    s.push_str(
        "define contact {\n  name generic-contact\n  register 0\n  service_notification_period 24x7\n  host_notification_period 24x7\n  service_notification_options w,u,c,r\n  host_notification_options d,u,r\n  service_notification_commands notify\n  host_notification_commands notify\n}\n\
         define host {\n  name generic-host\n  register 0\n  notifications_enabled 1\n  event_handler_enabled 1\n  flap_detection_enabled 1\n  process_perf_data 1\n  retain_status_information 1\n  retain_nonstatus_information 1\n  notification_period 24x7\n}\n\
         define host {\n  name linux-server\n  use generic-host\n  register 0\n  check_period 24x7\n  check_interval 5\n  retry_interval 1\n  max_check_attempts 10\n  check_command check-host-alive\n  notification_interval 120\n  notification_options d,u,r\n  contact_groups team0\n}\n\
         define service {\n  name generic-service\n  register 0\n  active_checks_enabled 1\n  passive_checks_enabled 1\n  check_freshness 0\n  notifications_enabled 1\n  event_handler_enabled 1\n  flap_detection_enabled 1\n  process_perf_data 1\n  is_volatile 0\n  check_period 24x7\n  max_check_attempts 3\n  check_interval 10\n  retry_interval 2\n  contact_groups team0\n  notification_options w,u,c,r\n  notification_interval 60\n  notification_period 24x7\n}\n\
         define service {\n  name local-service\n  use generic-service\n  register 0\n  max_check_attempts 4\n  check_interval 5\n  retry_interval 1\n}\n",
    );
    for r in 0..20 {
        writeln!(
            s,
            "define host {{\n  name rack-{r:02}\n  use linux-server\n  register 0\n  _RACK r{r:02}\n}}"
        )?;
    }
    for t in 0..5 {
        writeln!(
            s,
            "define service {{\n  name tier-{t}\n  use local-service\n  register 0\n  contact_groups +team{t}\n  _TIER {t}\n}}"
        )?;
    }
    for g in 0..groups {
        writeln!(
            s,
            "define hostgroup {{\n  hostgroup_name hg{g}\n  alias Host group {g}\n}}"
        )?;
        for k in 0..group_services {
            writeln!(
                s,
                "define service {{\n  use tier-{t}\n  hostgroup_name hg{g}\n  service_description group-svc-{k}\n  check_command check_{c}!{k}\n}}",
                t = k % 5,
                c = (g + k) % 50
            )?;
        }
    }
    std::fs::write(objects.join("01-templates-groups.cfg"), &s)?;

    let mut created = 0usize;
    for chunk in 0..hosts.div_ceil(1000) {
        s.clear();
        for h in chunk * 1000..((chunk + 1) * 1000).min(hosts) {
            writeln!(
                s,
                "define host {{\n  use rack-{r:02}\n  host_name host{h}\n  alias Host {h}\n  address 10.{a}.{b}.{c}\n  hostgroups hg{g}\n  _SERIAL sn{h}\n}}",
                r = h % 20,
                a = (h >> 16) & 255,
                b = (h >> 8) & 255,
                c = h & 255,
                g = h / per_group
            )?;
            for k in 0..direct_per_host {
                if created >= services {
                    break;
                }
                writeln!(
                    s,
                    "define service {{\n  use tier-{t}\n  host_name host{h}\n  service_description svc-{k}\n  check_command check_{c}!{h}\n}}",
                    t = k % 5,
                    c = (h + k) % 50
                )?;
                created += 1;
            }
        }
        std::fs::write(objects.join(format!("hosts-{chunk:04}.cfg")), &s)?;
    }
    let total = created + groups * group_services * per_group.min(hosts);
    eprintln!(
        "wrote {} (hosts {hosts}, hostgroups {groups}, ~{total} services)",
        out.display()
    );
    Ok(())
}
