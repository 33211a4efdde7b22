#!/usr/bin/python3
"""Nagstamon's own Livestatus server class (Debian package `nagstamon`,
Nagstamon.Servers.Livestatus.LivestatusServer) against a Livestatus TCP port,
headless: fetch the problems as Nagstamon does, print them as JSON, then
acknowledge one service through Nagstamon's `set_acknowledge`.

Usage: problems.py HOST:PORT [ACK_HOST ACK_SERVICE]
Used by crates/picket/tests/livestatus_nagstamon.rs.
"""

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, "/usr/lib/python3/dist-packages")

from Nagstamon.Servers.Livestatus import LivestatusServer  # noqa: E402

server = LivestatusServer(name="picket")
server.monitor_url = f"tcp://{sys.argv[1]}/"
server.init_config()
result = server._get_status()
if result.error:
    sys.exit(f"Nagstamon: {result.error}")
out = {}
for name, host in sorted(server.new_hosts.items()):
    out[name] = {
        "status": host.status,
        "status_type": host.status_type,
        "status_information": host.status_information,
        "services": {
            s: {
                "status": svc.status,
                "status_type": svc.status_type,
                "attempt": svc.attempt,
                "status_information": svc.status_information,
                "acknowledged": svc.acknowledged,
                "notifications_disabled": svc.notifications_disabled,
            }
            for s, svc in sorted(host.services.items())
        },
    }
print(json.dumps(out, sort_keys=True))  # the last line of stdout
if len(sys.argv) > 3:
    server.set_acknowledge({"host": sys.argv[2], "service": sys.argv[3], "sticky": True,
                            "notify": False, "persistent": False, "author": "nagstamon",
                            "comment": "seen in Nagstamon"})
