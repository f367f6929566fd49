#!/usr/bin/env bash
# Proves the static binaries run on a minimal host with no libc at all: in
# an empty root that holds only them (no libc, no /proc, no /etc, no /tmp),
# they write, defer-check and read beats. Binaries for another machine run
# under a static user-mode emulator (qemu-aarch64-static) copied into the
# root beside them, so the root still holds nothing else.
# Usage: scripts/check-static.sh DIR_WITH_STATIC_BINARIES [EMULATOR]
set -euo pipefail

bin=${1:?usage: check-static.sh DIR [EMULATOR]}
emu=${2:-}
if [[ $(id -u) -ne 0 ]]; then
    echo "check-static: skipped: chroot needs root" >&2
    exit 0
fi
root=$(mktemp -d)
trap 'rm -rf -- "$root"' EXIT
fail() { echo "check-static: $*" >&2; exit 1; }
for b in hb-write hb-defer-check hb-read; do
    # No program interpreter and no NEEDED libraries: nothing to load.
    if readelf -lW "$bin/$b" | grep -q INTERP || readelf -d "$bin/$b" | grep -q NEEDED; then
        fail "$bin/$b is dynamically linked"
    fi
    if command -v file >/dev/null && [[ $(file -b "$bin/$b") != *"statically linked"* ]]; then
        fail "file does not say $bin/$b is statically linked: $(file -b "$bin/$b")"
    fi
    cp "$bin/$b" "$root/"
done
# Only the three binaries (and the emulator), and the empty environment a
# bare init would give.
chroot=$(command -v chroot)
files=3
if [[ -n $emu ]]; then
    emu=$(command -v -- "$emu") || fail "no emulator ${2}: install qemu-user-static"
    if readelf -lW "$emu" | grep -q INTERP; then fail "$emu is not static: it cannot run in an empty root"; fi
    cp "$emu" "$root/emulator"
    files=4
    run() { env -i "$chroot" "$root" /emulator "$@"; }
else
    run() { env -i "$chroot" "$root" "$@"; }
fi
[[ $(find "$root" -mindepth 1 | wc -l) -eq $files ]] || fail "the root holds more than the binaries"

# A native beat, then the sidecar's tick defers to its fresh marker.
run /hb-write --dir /hb --native --status busy --model m --pid 1 w-static
run /hb-defer-check --dir /hb w-static || fail "hb-defer-check: a fresh marker should defer (exit $?)"
run /hb-write --dir /hb --fallback --pid 1 w-static
out=$(run /hb-read --dir /hb --json w-static)
case $out in
    *'"health":"healthy","native":true'*'"status":"busy","model":"m"'*) ;;
    *) fail "unexpected listing after the deferred tick: $out" ;;
esac
# The native writer leaves: the tick writes the fallback beat, and a
# reader with no /proc still judges it (pid 1 answers kill(1, 0)).
run /hb-write --dir /hb --clear-native w-static
if run /hb-defer-check --dir /hb w-static; then fail "hb-defer-check: no marker should not defer"; fi
run /hb-write --dir /hb --fallback --pid 1 w-static
run /hb-read --dir /hb --check w-static >/dev/null || fail "hb-read --check: the fallback beat is not healthy"
out=$(run /hb-read --dir /hb --json)
case $out in
    *'"native":false'*'"status":"ok","model":null'*) ;;
    *) fail "unexpected listing after the fallback tick: $out" ;;
esac
[[ ! -e $root/proc && ! -e $root/etc ]] || fail "a binary created /proc or /etc"
size=$(du -cb "$root"/hb-* | tail -n1 | cut -f1)
arch=$(file -b "$bin/hb-write" 2>/dev/null | cut -d, -f2 | sed 's/^ *//') || arch=
echo "check-static: ok: the three binaries in $bin (${arch:+$arch, }$size bytes together) write, defer-check and read beats in an empty root${emu:+ under ${emu##*/}}"
