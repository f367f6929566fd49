#!/usr/bin/env bash
# A pretend hook-driven agent, for `make demo`: like Claude Code or Codex,
# it writes its heartbeat only on events, through `hb-write --hook claude`
# and the payloads those runtimes send. It starts a session, takes a prompt,
# starts a tool, then is silent for a long "tool call" (the sidecar carries
# its busy state on: SRC carried), then asks the operator for permission
# and is silent again (waiting is carried just the same). The hook's parent
# is this script, the pane's process, so the beats name it.
# Usage: demo-hook-agent.sh HB_WRITE MODEL
set -euo pipefail

hb_write=${1:?usage: demo-hook-agent.sh HB_WRITE MODEL}
model=${2:?usage: demo-hook-agent.sh HB_WRITE MODEL}
name=${MOSAIC_AGENT_NAME:?not started by start-agent-session.sh}

hook() {
    "$hb_write" --hook claude <<<"$1"
}

trap 'hook "{\"hook_event_name\":\"SessionEnd\",\"reason\":\"exit\"}"; exit 0' HUP INT TERM

hook "{\"hook_event_name\":\"SessionStart\",\"source\":\"startup\",\"model\":\"$model\"}"
hook '{"hook_event_name":"UserPromptSubmit","prompt":"run the test suite"}'
hook '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"make test"}}'
printf '%s: busy: a long tool call, no event for 9 s\n' "$name"
sleep 9
hook '{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"Claude needs your permission to use Bash"}'
printf '%s: waiting for the operator, no event from now on\n' "$name"
sleep 600 &
wait $!
