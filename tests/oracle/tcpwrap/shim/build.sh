#!/bin/sh
# Build the LD_PRELOAD syslog-capture shim used by run_case.sh / run_tcpdchk.sh / tcpd_live.py.
#   shim/build.sh [OUT]   OUT defaults to shim/fakesyslog.so (ignored by git); the output is
#                         written to a temporary name and renamed, so concurrent builds are safe.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/fakesyslog.so}
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
gcc -O2 -Wall -fPIC -shared -o "$tmp" "$here/fakesyslog.c"
mv -f "$tmp" "$out"
