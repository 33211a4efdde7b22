"""Shared pieces of the engine benchmarks: the generated object configuration
and the `nagios.cfg` both `picket` and `nagios4` run on, so that every
side-by-side benchmark measures the two daemons on the same settings.

Used by `crates/picket/bench/passive-throughput.sh` and
`bench/pipeline/bench.py`.
"""

import grp
import os
import pwd

# Passive-only hosts and services, notifications and flap detection off: the
# benchmarks measure result processing and logging, not process spawning.
TEMPLATES = """define timeperiod {
 timeperiod_name 24x7
 alias 24x7
 monday 00:00-24:00
 tuesday 00:00-24:00
 wednesday 00:00-24:00
 thursday 00:00-24:00
 friday 00:00-24:00
 saturday 00:00-24:00
 sunday 00:00-24:00
}
define command {
 command_name check_none
 command_line /bin/true
}
define command {
 command_name notify-none
 command_line /bin/true
}
define contact {
 contact_name nobody
 service_notification_period 24x7
 host_notification_period 24x7
 service_notification_options n
 host_notification_options n
 service_notification_commands notify-none
 host_notification_commands notify-none
}
define host {
 name bench-host
 register 0
 max_check_attempts 1
 active_checks_enabled 0
 passive_checks_enabled 1
 check_period 24x7
 notifications_enabled 0
 contacts nobody
}
define service {
 name bench-service
 register 0
 check_command check_none
 active_checks_enabled 0
 passive_checks_enabled 1
 max_check_attempts 1
 check_period 24x7
 notifications_enabled 0
 notification_interval 0
 contacts nobody
}
"""


def write_objects(path, hosts, services, host_name=lambda h: f"h{h}"):
    """`hosts` hosts named `host_name(h)`, each with the services named in
    `services`, all from the passive templates above."""
    with open(path, "w") as f:
        f.write(TEMPLATES)
        for h in range(hosts):
            name = host_name(h)
            f.write(f"define host {{\n use bench-host\n host_name {name}\n"
                    f" address 10.{h // 65536}.{(h // 256) % 256}.{h % 256}\n}}\n")
            for s in services:
                f.write(f"define service {{\n use bench-service\n host_name {name}\n"
                        f" service_description {s}\n}}\n")


def write_main_cfg(w, objects, extra=""):
    """`w/nagios.cfg` for a run in directory `w`: every passive check and
    external command logged, retention on, no rotation, no syslog."""
    for d in ("tmp", "checkresults"):
        os.makedirs(os.path.join(w, d), exist_ok=True)
    path = os.path.join(w, "nagios.cfg")
    with open(path, "w") as f:
        f.write(f"""log_file={w}/nagios.log
cfg_file={objects}
object_cache_file={w}/objects.cache
precached_object_file={w}/objects.precache
status_file={w}/status.dat
status_update_interval=10
nagios_user={pwd.getpwuid(os.getuid()).pw_name}
nagios_group={grp.getgrgid(os.getgid()).gr_name}
check_external_commands=1
command_file={w}/nagios.cmd
lock_file={w}/nagios.lock
temp_file={w}/nagios.tmp
temp_path={w}/tmp
query_socket={w}/nagios.qh
check_result_path={w}/checkresults
state_retention_file={w}/retention.dat
retain_state_information=1
retention_update_interval=60
log_rotation_method=n
log_archive_path={w}
log_passive_checks=1
log_external_commands=1
log_initial_states=0
use_syslog=0
check_for_updates=0
enable_flap_detection=0
interval_length=60
event_broker_options=0
{extra}""")
    return path


if __name__ == "__main__":
    # Command line for the shell benchmarks:
    #   nagios_bench.py objects PATH HOSTS SERVICES_PER_HOST
    #   nagios_bench.py main-cfg DIR OBJECTS
    import sys

    if sys.argv[1] == "objects":
        per = int(sys.argv[4])
        write_objects(sys.argv[2], int(sys.argv[3]), [f"svc{s}" for s in range(per)])
    elif sys.argv[1] == "main-cfg":
        write_main_cfg(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown: {sys.argv[1]}")
