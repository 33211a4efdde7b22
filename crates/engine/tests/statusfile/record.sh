#!/bin/sh
# Re-record the key skeletons of status.dat and objects.cache from the real nagios4
# (Debian nagios4-core 4.4.6) for objects.cfg + steps.txt in this directory:
#   crates/engine/tests/statusfile/record.sh
# writes nagios4-status.keys and nagios4-objects.keys (section/define lines and keys,
# values dropped). Uses the oracle harness' nagios.cfg.in and common.cfg.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
lib="$here/../../../../tests/oracle/nagios/lib"
w=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$w"' EXIT
mkdir -p "$w/tmp" "$w/checkresults" "$w/archives"
sed -e "s#@W@#$w#g" -e "s#@USER@#$(id -un)#" -e "s#@GROUP@#$(id -gn)#" "$lib/nagios.cfg.in" > "$w/nagios.cfg"
cp "$lib/common.cfg" "$lib/capture.sh" "$here/objects.cfg" "$w/"
printf '$USER1$=/usr/lib/nagios/plugins\n$USER2$=%s\n' "$w" > "$w/resource.cfg"
/usr/sbin/nagios4 "$w/nagios.cfg" > "$w/engine.out" 2>&1 &
pid=$!
while [ ! -p "$w/nagios.cmd" ]; do sleep 0.1; done
now=$(date +%s)
sed -e "s/\${NOW+100}/$((now+100))/g" -e "s/\${NOW+600}/$((now+600))/g" -e "s/\${NOW}/$now/g" \
    -e "s/^/[$now] /" "$here/steps.txt" > "$w/nagios.cmd"
# status_update_interval=5: wait for a file written after the commands
sleep 7
skel() { sed -n -e 's/^\([a-z]* {\)$/\1/p' -e 's/^define \([a-z]*\) {$/define \1 {/p' \
    -e 's/^\t\([A-Za-z0-9_]*\)[=\t].*/\t\1/p' -e 's/^\t}$/\t}/p' "$1"; }
skel "$w/status.dat" > "$here/nagios4-status.keys"
skel "$w/objects.cache" > "$here/nagios4-objects.keys"
echo "recorded from $(/usr/sbin/nagios4 --version | sed -n 's/^Nagios Core \(.*\)/\1/p' | head -1)"
