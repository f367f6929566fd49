#!/usr/bin/env bash
# The original bash sidecar loop, for scripts/bench.sh to measure against
# `hb-write --sidecar`: each tick forks sleep, then the freshness test of
# bench/bash-defer-check.sh (date and stat, only when a marker exists) and
# the beat of bench/bash-beat.sh (date, mv). Bounded by TICKS so it ends.
# Usage: bench/bash-sidecar.sh DIR NAME PID INTERVAL TICKS
set -euo pipefail
dir=$1 name=$2 pid=$3 interval=$4 ticks=$5
marker="$dir/$name.hb.native"
tick=0
while ((tick++ < ticks)) && sleep "$interval"; do
    if [[ -f $marker ]] && (($(date +%s) - $(stat -c %Y "$marker") < 2 * interval)); then
        continue
    fi
    printf 'ts=%s\npid=%s\nstatus=ok\n' "$(date +%s)" "$pid" >"$dir/.$name.hb.$$"
    mv -f "$dir/.$name.hb.$$" "$dir/$name.hb"
done
