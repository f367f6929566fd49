#!/usr/bin/env bash
# The original bash freshness test of the native marker, for
# scripts/bench.sh to measure against `hb-defer-check`: exit 0 when the
# marker is younger than 2 x INTERVAL (defer), else 1.
# Usage: bench/bash-defer-check.sh DIR NAME INTERVAL
set -euo pipefail
dir=$1 name=$2 interval=$3
marker="$dir/$name.hb.native"
[[ -f $marker ]] && (($(date +%s) - $(stat -c %Y "$marker") < 2 * interval))
