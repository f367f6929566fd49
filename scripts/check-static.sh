#!/usr/bin/env bash
# Proves the static binaries run on a host with no libc at all: each one in
# an empty chroot holding only itself and a heartbeat directory.
# Usage: scripts/check-static.sh DIR_WITH_STATIC_BINARIES
set -euo pipefail

bin=${1:?usage: check-static.sh DIR}
if [[ $(id -u) -ne 0 ]]; then
    echo "check-static: skipped: chroot needs root" >&2
    exit 0
fi
root=$(mktemp -d)
trap 'rm -rf -- "$root"' EXIT
mkdir -p "$root/bin" "$root/hb" "$root/proc"
for b in hb-write hb-defer-check hb-read; do
    # No program interpreter and no NEEDED libraries: nothing to load.
    if readelf -lW "$bin/$b" | grep -q INTERP || readelf -d "$bin/$b" | grep -q NEEDED; then
        echo "check-static: $bin/$b is dynamically linked" >&2
        exit 1
    fi
    cp "$bin/$b" "$root/bin/"
done

chroot "$root" /bin/hb-write --dir /hb --native --status busy --model m --pid 1 w-static
chroot "$root" /bin/hb-defer-check --dir /hb w-static
out=$(chroot "$root" /bin/hb-read --dir /hb --json w-static)
case $out in
    *'"status":"busy"'*'"model":"m"'*) ;;
    *) echo "check-static: unexpected listing: $out" >&2; exit 1 ;;
esac
size=$(du -cb "$root"/bin/* | tail -n1 | cut -f1)
echo "check-static: ok: the three binaries ($size bytes together) run in an empty chroot"
