#!/usr/bin/env bash
# `make demo`: a small live fleet on a private tmux socket and a temporary
# heartbeat directory, watched with hb-read for about 15 seconds:
#   w-native   writes native beats: busy during a pretend turn, ok between,
#              with its model (scripts/demo-agent.sh); SRC native
#   w-hooks    a hook-driven runtime (scripts/demo-hook-agent.sh): one busy
#              event, a long silent tool call, then waiting; the sidecar
#              carries each state on (SRC carried) while FOR grows
#   w-sidecar  an agent with only its sidecar: ok, no model; SRC sidecar
#   w-brief    exits after 6 s: its sidecar records status=exited
# All along, `hb-read --follow` prints a line per change as it happens
# (marked `follow>`), from before the directory exists. Then w-native is
# stopped with stop-agent-session.sh, and everything is torn down: no
# process, socket or file is left, also on Ctrl-C.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
HB_BIN=$(cd -- "${HB_BIN:-$here/../target/release}" && pwd -P)
export HB_BIN
for b in hb-write hb-read; do
    [[ -x $HB_BIN/$b ]] || { echo "demo: no $HB_BIN/$b (run: make demo)" >&2; exit 1; }
done
tmux=$(command -v tmux) || { echo "demo: needs tmux 3.2 or newer" >&2; exit 1; }
unset TMUX

# What reaches tmux: the socket name (letters, digits, `-`), and through
# the launcher, which defuses tmux's parsers, the agents' commands (paths in
# this checkout, whatever its name holds), the directory and this checkout
# as the working directory. The socket file is where tmux puts it:
# realpath($TMUX_TMPDIR), else /tmp.
socket=hb-demo-$$
socket_base=$(realpath -e -- "${TMUX_TMPDIR:-/tmp}" 2>/dev/null) || socket_base=/tmp
socket_file=$socket_base/tmux-$(id -u)/$socket
work=$(mktemp -d "${TMPDIR:-/tmp}/hb-demo.XXXXXX")
dir=$work/hb
interval=2
pids=() # panes and sidecars, from the launcher's output
follower=''

# Alive and not a zombie.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != [ZX] ]]
}

cleanup() {
    trap - EXIT INT TERM
    local p left end
    if [[ -n $follower ]]; then
        kill "$follower" 2>/dev/null || true
        wait "$follower" 2>/dev/null || true
    fi
    "$tmux" -L "$socket" kill-server 2>/dev/null || true
    # The sidecars see their panes end and stop by themselves; whatever is
    # still there after 3 s is made to go.
    end=$((SECONDS + 3))
    while :; do
        left=()
        for p in ${pids[@]+"${pids[@]}"}; do
            if alive "$p"; then left+=("$p"); fi
        done
        ((${#left[@]} > 0 && SECONDS < end)) || break
        sleep 0.1
    done
    if ((${#left[@]} > 0)); then kill -KILL -- "${left[@]}" 2>/dev/null || true; fi
    if [[ -S $socket_file ]]; then rm -f -- "$socket_file"; fi
    rm -rf -- "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT
trap 'exit 143' TERM

start() {
    local name=$1 line
    shift
    echo "\$ start-agent-session.sh -L $socket --dir \$DIR --interval $interval $name -- $*"
    while IFS= read -r line; do
        case $line in
            pane_pid=* | sidecar_pid=*) pids+=("${line#*=}") ;;
        esac
        echo "    $line"
    done < <("$here/start-agent-session.sh" -L "$socket" --dir "$dir" --interval "$interval" \
        "$name" -- "$@")
    wait $! # the launcher's status (set -e stops the demo on failure)
}

show() {
    echo
    echo "--- $1 ---"
    "$HB_BIN/hb-read" --dir "$dir" --interval "$interval"
}

cat <<EOF
hb demo: four agents in tmux (private socket $socket), heartbeats in
DIR=$dir, one beat every ${interval}s.

EOF
# The stream of changes, from before the directory exists (it is waited
# for); each of its lines is marked, as it comes.
echo "\$ hb-read --follow --dir \$DIR --interval $interval    # its lines: follow>"
"$HB_BIN/hb-read" --follow --dir "$dir" --interval "$interval" > >(
    while IFS= read -r line; do printf '  follow> %s\n' "$line"; done
) &
follower=$!
start w-native "$here/demo-agent.sh" "$HB_BIN/hb-write" glm-5.2
start w-hooks "$here/demo-hook-agent.sh" "$HB_BIN/hb-write" claude-opus-4
start w-sidecar sleep 600
start w-brief sleep 6

cat <<EOF

Watch: w-native flips busy/ok with its model (SRC native). w-hooks writes
only on events, like Claude Code's hooks: it stays busy through a silent
9 s tool call, then waiting, with its model, FOR growing, SRC carried once
its last event is older than 2 intervals. w-sidecar is the sidecar's plain
ok (SRC sidecar, no model). w-brief ends after 6 s and its sidecar writes
status=exited within a second. The follow> lines come as each change
happens (TIME NAME EVENT STATUS HEALTH WAS FOR PID MODEL); the sidecars'
ticks, which change nothing, give none.
EOF
t0=$SECONDS
for at in 0 3 6 9 12 15; do
    while ((SECONDS - t0 < at)); do sleep 0.2; done
    show "after ${at}s"
done

echo
echo "\$ stop-agent-session.sh -L $socket w-native"
"$here/stop-agent-session.sh" -L "$socket" w-native
show "after stopping w-native: its beat is handed back and says exited"
echo
echo "demo: done; removing the tmux server, the sidecars and $work"
