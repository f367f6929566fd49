#!/usr/bin/env bash
# A pretend agent with a native heartbeat, for `make demo`. It alternates
# turns (busy, 4 s) and pauses at its prompt (ok, 3 s) and reports its
# model, calling `hb-write --native` every second with nothing but what the
# launcher put in its pane: MOSAIC_AGENT_NAME, MOSAIC_HEARTBEAT_DIR and
# MOSAIC_HEARTBEAT_INTERVAL. Its pid is the pane's, and hb-write takes its
# parent's pid, so the beat names this process.
# Usage: demo-agent.sh HB_WRITE MODEL
set -euo pipefail

hb_write=${1:?usage: demo-agent.sh HB_WRITE MODEL}
model=${2:?usage: demo-agent.sh HB_WRITE MODEL}
name=${MOSAIC_AGENT_NAME:?not started by start-agent-session.sh}

# Session over: hand the beat back to the sidecar at once, as a real
# runtime does on shutdown.
trap '"$hb_write" --clear-native -- "$name"; exit 0' HUP INT TERM

phase() {
    local status=$1 secs=$2 i
    printf '%s: %s for %ss\n' "$name" "$status" "$secs"
    for ((i = 0; i < secs; i++)); do
        "$hb_write" --native --status "$status" --model "$model" -- "$name"
        sleep 1
    done
}

while :; do
    phase busy 4
    phase ok 3
done
