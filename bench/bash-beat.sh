#!/usr/bin/env bash
# One beat the way the original system wrote it from bash, for
# scripts/bench.sh to measure against `hb-write`: date, a temporary, mv.
# It does not fsync, so it is not even durable (hb-write does).
# Usage: bench/bash-beat.sh DIR NAME PID
set -euo pipefail
dir=$1 name=$2 pid=$3
printf 'ts=%s\npid=%s\nstatus=ok\n' "$(date +%s)" "$pid" >"$dir/.$name.hb.$$"
mv -f "$dir/.$name.hb.$$" "$dir/$name.hb"
